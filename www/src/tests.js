// The Tests tab: policy tests in the `toolgate test` format (CONTRACT §4), run against the
// policy in the editor with the same wasm core (json_api::run_tests). Each line is an
// `eval` line with `expect`, an object whose every field must equal the decision's; the
// lines run in order with shared counters, exactly as `toolgate test POLICY CASES` runs
// them. Cases are written here, added from the simulator, loaded from a file and
// downloaded; they are kept in this browser (localStorage).

import { h, render, debounce, decisionBadge, richText, visible, toast } from "./dom.js";
import { createLinesEditor } from "./editor.js";
import { setAt } from "./jsonedit.js";
import { wouldHaveBeen } from "./simulator.js";
import * as core from "./wasm.js";

export const STORAGE_KEY = "toolgate-playground.cases";

function storedCases() {
  try {
    return localStorage.getItem(STORAGE_KEY) || "";
  } catch {
    return "";
  }
}

function storeCases(text) {
  try {
    if (text.trim()) localStorage.setItem(STORAGE_KEY, text);
    else localStorage.removeItem(STORAGE_KEY);
    return true;
  } catch {
    return false;
  }
}

/** What a case line says about itself: its tool and its `expect`, when it can be read. */
function readCase(text) {
  try {
    const value = JSON.parse(text);
    let body = value && value.body;
    if (typeof body === "string") body = JSON.parse(body);
    const tool = body && body.params && typeof body.params.name === "string" ? body.params.name : null;
    const method = body && typeof body.method === "string" ? body.method : null;
    return { tool, method, expect: value && typeof value.expect === "object" ? value.expect : null, grant: value && value.grant };
  } catch {
    return { tool: null, method: null, expect: null };
  }
}

/** A JSON value as compact text, for the expected and actual columns. */
const show = (value) => (value === undefined ? "—" : JSON.stringify(value));

const EXAMPLE = (tool) =>
  [
    { body: { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: tool, arguments: {} } }, grant: "g1", expect: { decision: "allow" } },
    { body: { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "no_such_tool_anywhere", arguments: {} } }, expect: { decision: "hidden" } },
  ]
    .map((c) => JSON.stringify(c))
    .join("\n") + "\n";

export function createTests(root, app, { onResult } = {}) {
  const resultBox = h("div", { id: "tests-result", "aria-live": "polite" });
  const editorBox = h("div", { id: "tests-editor" });
  const fileInput = h("input", { type: "file", id: "tests-file", accept: ".jsonl,.ndjson,.txt,.json,application/x-ndjson,application/json,text/plain", hidden: true });
  let lastRun = null;

  const editor = createLinesEditor(editorBox, {
    text: storedCases(),
    label: "Test cases, one eval line with expect per line",
    onChange: (text) => {
      storeCases(text);
      rerun();
    },
  });

  /** Runs every case against the current policy and shows the outcome of each. */
  function run() {
    const text = editor.getText();
    const lines = text.split("\n");
    const cases = lines.map((t, i) => ({ n: i + 1, text: t })).filter((c) => c.text.trim());
    if (!cases.length) {
      lastRun = null;
      editor.markLines(new Map());
      render(
        resultBox,
        h(
          "p",
          { class: "muted", id: "tests-empty" },
          "No cases yet. Write one a line above, load a file, or evaluate a call in the Simulator and press “Add as a test case”.",
        ),
      );
      onResult && onResult(null);
      return;
    }
    if (!app.checkOk) {
      lastRun = null;
      editor.markLines(new Map());
      render(resultBox, h("p", { class: "notice", id: "tests-policy-errors" }, "The policy has errors, so no case can run; toolgate test would refuse it too. Fix it in the editor (F8 jumps to the next error)."));
      onResult && onResult(null);
      return;
    }
    const out = core.runTests(app.getText(), text);
    if (!out.ok) {
      render(resultBox, h("p", { class: "error-text" }, out.errors.map((e) => `${e.pointer}: ${e.message}`).join("\n")));
      onResult && onResult(null);
      return;
    }
    lastRun = out;
    const failures = new Map(out.failures.map((f) => [f.line, f]));
    const marks = new Map(cases.map((c) => [c.n, failures.has(c.n) ? "fail" : "pass"]));
    editor.markLines(marks);
    const items = cases.map((c) => caseItem(c, failures.get(c.n)));
    const shownFirst = [...items.filter((i) => i.failed), ...items.filter((i) => !i.failed)];
    render(
      resultBox,
      h(
        "div",
        { class: "tests-summary", id: "tests-summary" },
        h("span", { class: out.failed ? "fail" : "pass" }, out.failed ? "✗" : "✓"),
        h("span", { class: "pass", id: "tests-passed" }, `${out.passed} passed`),
        h("span", { class: out.failed ? "fail" : "muted", id: "tests-failed" }, `${out.failed} failed`),
        h("span", { class: "muted small" }, out.failed ? "Failing cases first." : "Every case holds under this policy."),
      ),
      h("ol", { class: "case-list", id: "case-list" }, shownFirst.map((i) => i.el)),
      h(
        "details",
        { class: "eval-line" },
        h("summary", {}, "The same run as toolgate test prints it"),
        h("p", { class: "muted small" }, "toolgate test policy.json cases.jsonl"),
        h("pre", { class: "json", "aria-label": "toolgate test output" }, out.report),
      ),
    );
    onResult && onResult(out);
  }
  const rerun = debounce(run, 200);

  function caseItem(c, failure) {
    const info = readCase(c.text);
    const jump = h("button", { type: "button", class: "linklike mono case-line", title: "Show this line in the cases editor", onclick: () => editor.focusLine(c.n) }, `line ${c.n}`);
    const what = info.tool ? h("code", {}, visible(info.tool)) : info.method ? h("code", {}, info.method) : h("span", { class: "muted" }, "unreadable line");
    if (!failure) {
      const expect = info.expect || {};
      return {
        failed: false,
        el: h(
          "li",
          { class: "case passed", "data-line": String(c.n) },
          h(
            "div",
            { class: "case-head" },
            h("span", { class: "verdict-mark" }, "✓ pass"),
            jump,
            what,
            h("span", { class: "muted small" }, "expects ", Object.entries(expect).map(([k, v], i) => [i ? ", " : "", h("code", {}, `${k}: ${show(v)}`)])),
          ),
        ),
      };
    }
    const decision = failure.decision || {};
    // A line that could not be read, or a case without `expect`.
    if (failure.expected === null || typeof failure.expected !== "object") {
      const why = failure.actual && failure.actual.error ? failure.actual.error : decision.message || "this line is not a case";
      return {
        failed: true,
        el: h(
          "li",
          { class: "case failed", "data-line": String(c.n) },
          h("div", { class: "case-head" }, h("span", { class: "verdict-mark" }, "✗ fail"), jump, what),
          h("p", { class: "error-text small case-error" }, richText(why)),
        ),
      };
    }
    const keys = Object.keys(failure.expected);
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    const useActual = h(
      "button",
      { type: "button", class: "small case-accept", title: "Rewrite this case's expect with what the policy decides now" },
      "Expect what it does now",
    );
    useActual.addEventListener("click", () => acceptActual(c.n, failure));
    return {
      failed: true,
      el: h(
        "li",
        { class: "case failed", "data-line": String(c.n) },
        h("div", { class: "case-head" }, h("span", { class: "verdict-mark" }, "✗ fail"), jump, what, decisionBadge(decision.decision || "invalid"), useActual),
        h(
          "table",
          { class: "case-diff" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "field"), h("th", { scope: "col" }, "expected"), h("th", { scope: "col" }, "actual"))),
          h(
            "tbody",
            {},
            keys.map((k) => {
              const ok = same(failure.expected[k], failure.actual[k]);
              return h(
                "tr",
                { "data-field": k, class: ok ? "same" : "differs" },
                h("th", { scope: "row" }, h("code", {}, k)),
                h("td", { class: ok ? "" : "good" }, h("code", {}, show(failure.expected[k]))),
                h("td", { class: ok ? "" : "bad" }, h("code", {}, failure.actual[k] === null && !(k in decision) ? "absent" : show(failure.actual[k]))),
              );
            }),
          ),
        ),
        decision.message ? h("p", { class: "muted small" }, "Message: ", decision.message) : null,
        decision.monitor ? h("div", { class: "monitor-inline" }, h("span", { class: "badge monitored" }, "monitor"), " ", wouldHaveBeen(decision.monitor)) : null,
      ),
    };
  }

  /** Rewrites the `expect` of line `n` with the decision's values of the same fields. */
  function acceptActual(n, failure) {
    const lines = editor.getText().split("\n");
    const text = lines[n - 1];
    const next = {};
    for (const k of Object.keys(failure.expected)) if (failure.decision && k in failure.decision) next[k] = failure.decision[k];
    const edited = setAt(text, ["expect"], next);
    if (!edited) return;
    lines[n - 1] = edited.text.replace(/\n\s*/g, " ");
    editor.replaceText(lines.join("\n"));
    run();
    toast(`Line ${n} now expects what the policy decides.`);
  }

  /**
   * Appends a case for the simulator's eval line `line`, expecting what `toolgate test`
   * decides for it after the cases before it (counters are shared from line to line).
   * `shown` is the decision the simulator showed, to say when the two differ.
   */
  function addCase(line, shown) {
    if (!app.checkOk) {
      toast("The policy has errors; fix them before adding a case.", "error");
      return;
    }
    const text = editor.getText();
    const base = text && !text.endsWith("\n") ? `${text}\n` : text;
    const lineNumber = base.split("\n").length;
    // What the case's line decides in the file: run it with an expectation that cannot hold.
    const probe = line.replace(/\}\s*$/, ',"expect":{"decision":"?"}}');
    const out = core.runTests(app.getText(), base + probe + "\n");
    const failure = out.ok ? out.failures.find((f) => f.line === lineNumber) : null;
    const decision = failure && failure.decision && failure.decision.decision ? failure.decision : shown;
    const expect = { decision: decision.decision };
    if (decision.rule) expect.rule = decision.rule;
    if (decision.monitor) expect.monitor = decision.monitor;
    const withExpect = line.replace(/\}\s*$/, `,"expect":${JSON.stringify(expect)}}`);
    editor.replaceText(base + withExpect + "\n", "input.add");
    storeCases(editor.getText());
    run();
    const differs = shown && (shown.decision !== decision.decision || shown.rule !== decision.rule);
    toast(
      differs
        ? `Added as line ${lineNumber} of the Tests tab. It expects ${decision.decision}${decision.rule ? ` by ${decision.rule}` : ""}: in the cases file it runs after the others with shared counters, and toolgate test knows no gateway pins.`
        : `Added as line ${lineNumber} of the Tests tab, expecting ${decision.decision}${decision.rule ? ` by ${decision.rule}` : ""}.`,
    );
  }

  function exportCases() {
    const text = editor.getText();
    const blob = new Blob([text.endsWith("\n") || !text ? text : `${text}\n`], { type: "application/x-ndjson" });
    const a = h("a", { href: URL.createObjectURL(blob), download: "cases.jsonl" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    toast("Downloaded cases.jsonl. Run it with: toolgate test policy.json cases.jsonl");
  }

  fileInput.addEventListener("change", async () => {
    const file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (!file) return;
    const text = await file.text();
    editor.setText(text.replace(/\r\n/g, "\n"));
    storeCases(editor.getText());
    run();
    toast(`Loaded ${file.name}. (Ctrl+Z in the cases brings the previous ones back.)`);
  });

  render(
    root,
    h(
      "section",
      { class: "card", "aria-labelledby": "tests-title" },
      h(
        "div",
        { class: "tests-head" },
        h("h3", { id: "tests-title" }, "Policy tests"),
        h("span", { class: "spacer" }),
        h("button", { type: "button", id: "tests-load", class: "small", onclick: () => fileInput.click() }, "Load a file…"),
        fileInput,
        h("button", { type: "button", id: "tests-export", class: "small", onclick: exportCases }, "Download cases.jsonl"),
        h(
          "button",
          {
            type: "button",
            id: "tests-example",
            class: "small",
            title: "Add two example cases to start from",
            onclick: () => {
              const tool = (app.tools.find((t) => {
                const row = app.statusOf(t.name);
                return row && row.status === "allowed";
              }) || app.tools[0] || { name: "some_tool" }).name;
              const text = editor.getText();
              editor.replaceText((text && !text.endsWith("\n") ? `${text}\n` : text) + EXAMPLE(tool), "input.add");
            },
          },
          "Add examples",
        ),
      ),
      h(
        "p",
        { class: "muted small" },
        "One case a line: a ",
        h("code", {}, "toolgate eval"),
        " line with ",
        h("code", {}, "expect"),
        ", the decision fields it must have (",
        h("code", {}, '{"decision": "deny", "rule": "/tools/x/action"}'),
        "). Cases run in order with shared counters, exactly as ",
        h("code", {}, "toolgate test policy.json cases.jsonl"),
        " runs them, and run again whenever the policy or a case changes.",
      ),
      editorBox,
      resultBox,
    ),
  );

  return {
    run,
    addCase,
    /** After every change of the policy text (already debounced by the page). */
    policyChanged: () => run(),
    editor,
    get last() {
      return lastRun;
    },
  };
}
