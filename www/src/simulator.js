// The simulator: compose one tools/call and see the decision and what the agent
// receives; run a sequence of identical calls and see which are admitted; see tools/list
// as a grant sees it. Every answer comes from the wasm core (json_api::simulate,
// eval_jsonl, list_tools, and their `_pinned` twins for a gateway's catalogue, whose
// tools carry a pin status); nothing is sent anywhere. Under monitor mode (CONTRACT §7)
// each decision says what the whole policy would have decided instead.

import { h, render, decisionBadge, riskBadge, statusBadge, humanMs, richText, visible } from "./dom.js";
import { argumentsForm, hasProperties, checkArguments } from "./schema.js";
import { timeline } from "./timeline.js";
import { pointerTokens } from "./pointer.js";
import * as core from "./wasm.js";

/** "would have been <decision> by <rule>: <message>", for a decision's `monitor` (CONTRACT §7). */
export function wouldHaveBeen(monitor, { jump } = {}) {
  if (!monitor || typeof monitor !== "object") return null;
  return [
    h("span", { class: "would-label" }, "would have been"),
    " ",
    decisionBadge(monitor.decision),
    monitor.rule
      ? [
          " by ",
          jump
            ? h("button", { type: "button", class: "linklike mono", title: "Show this rule in the editor", onclick: () => jump(monitor.rule) }, visible(monitor.rule))
            : h("code", {}, visible(monitor.rule)),
        ]
      : null,
    monitor.message ? h("span", { class: "would-message" }, `: ${monitor.message}`) : null,
  ];
}

const PIN_PHRASE = { changed: "changed since it was reviewed", new: "new, and not reviewed" };

function pre(value, label) {
  return h("pre", { class: "json", tabindex: "0", "aria-label": label }, typeof value === "string" ? value : JSON.stringify(value, null, 2));
}

/** A first tool worth calling: the first with arguments that the policy lets through. */
function defaultTool(app) {
  const withArgs = app.tools.filter((t) => hasProperties(t.inputSchema));
  const open = withArgs.find((t) => {
    const row = app.statusOf(t.name);
    return row && row.status !== "hidden" && row.status !== "denied";
  });
  return (open || withArgs[0] || app.tools[0] || { name: "" }).name;
}

export function createSimulator(root, app) {
  let tool = defaultTool(app);
  let argsMode = "form";
  let form = null;
  let argsText = "{}";
  let lastArgs = {};
  // The policy text each shown result was computed with, to say when it is out of date.
  const shownWith = new Map();

  const toolInput = h("input", {
    id: "sim-tool",
    type: "text",
    class: "mono",
    list: "sim-tools",
    value: tool,
    placeholder: "a tool name",
    spellcheck: "false",
    autocomplete: "off",
    onchange: (e) => setTool(e.target.value.trim()),
  });
  const grantInput = h("input", { id: "sim-grant", type: "text", class: "mono", value: "g1", spellcheck: "false" });
  const sessionInput = h("input", { id: "sim-session", type: "text", class: "mono", value: "", placeholder: "none", spellcheck: "false" });
  const atInput = h("input", { id: "sim-at", type: "number", min: "0", step: "1", value: "0" });
  const argsBox = h("div", { id: "sim-args" });
  const result = h("div", { id: "sim-result", class: "result", "aria-live": "polite" });

  const countInput = h("input", { id: "seq-count", type: "number", min: "1", max: "2000", value: "30" });
  const spacingInput = h("input", { id: "seq-spacing", type: "number", min: "0", step: "any", value: "4" });
  const spanNote = h("span", { class: "muted small", id: "seq-span" });
  const seqResult = h("div", { id: "seq-result", class: "result", "aria-live": "polite" });

  function currentTool() {
    return app.toolByName.get(tool);
  }

  function setTool(name) {
    tool = name;
    toolInput.value = name;
    const schema = currentTool() && currentTool().inputSchema;
    argsMode = hasProperties(schema) ? "form" : "json";
    lastArgs = {};
    argsText = "{}";
    buildArgs();
  }

  function readArgs() {
    if (argsMode === "form" && form) return form.read();
    const text = argsBox.querySelector("textarea") ? argsBox.querySelector("textarea").value : argsText;
    let value;
    try {
      value = JSON.parse(text || "{}");
    } catch (e) {
      throw new Error(`the arguments are not valid JSON: ${e.message}`);
    }
    return value;
  }

  function buildArgs() {
    const schema = currentTool() && currentTool().inputSchema;
    const canForm = hasProperties(schema);
    if (!canForm) argsMode = "json";
    form = canForm ? argumentsForm(schema, "arg") : null;
    const modeSwitch = h(
      "div",
      { class: "seg", role: "radiogroup", "aria-label": "Arguments as" },
      [
        ["form", "Form"],
        ["json", "Raw JSON"],
      ].map(([value, label]) =>
        h(
          "label",
          { class: argsMode === value ? "on" : "" },
          h("input", {
            type: "radio",
            name: "args-mode",
            value,
            checked: argsMode === value,
            disabled: value === "form" && !canForm,
            onchange: () => switchMode(value),
          }),
          label,
        ),
      ),
    );
    let body;
    if (argsMode === "form" && form) {
      if (form.canShow(lastArgs)) form.fill(lastArgs);
      body = form.element;
    } else {
      body = h("textarea", {
        id: "sim-args-json",
        class: "mono",
        rows: "5",
        spellcheck: "false",
        "aria-label": "Arguments (JSON object)",
        value: argsText,
        oninput: (e) => {
          argsText = e.target.value;
        },
      });
    }
    render(
      argsBox,
      h(
        "div",
        { class: "args-head" },
        h("span", { class: "field-label" }, "Arguments"),
        modeSwitch,
        canForm ? null : h("span", { class: "muted small" }, currentTool() ? "this tool's schema lists no arguments" : "tool not in the catalogue"),
      ),
      body,
    );
  }

  function switchMode(mode) {
    try {
      const args = readArgs();
      if (mode === "json") argsText = JSON.stringify(args, null, 2);
      lastArgs = args;
      if (mode === "form" && form && !form.canShow(args)) {
        showError(result, "These arguments do not fit the form (a value of another type or an unknown key); keep editing them as JSON.");
        buildArgs();
        return;
      }
    } catch (e) {
      showError(result, e.message);
      buildArgs();
      return;
    }
    argsMode = mode;
    buildArgs();
  }

  function showError(where, message) {
    shownWith.delete(where);
    where.classList.remove("stale");
    render(where, h("p", { class: "error-text", role: "alert" }, message));
  }

  /** Marks `where` as computed with the current policy text. */
  function shown(where) {
    shownWith.set(where, app.getText());
    where.classList.remove("stale");
  }

  /** The schema warnings for `args`, as a list (empty when there is nothing to say). */
  function warningsFor(args) {
    const t = currentTool();
    if (!t) {
      return app.tools.length
        ? [`\`${tool}\` is not in the catalogue, so its arguments cannot be checked`]
        : [];
    }
    return checkArguments(t.inputSchema, args, t.name);
  }

  function warningList(args, id) {
    const warnings = warningsFor(args);
    if (!warnings.length) return null;
    return h(
      "div",
      { class: "arg-warnings", id },
      h("p", { class: "warn-title" }, "⚠ The arguments do not match the tool's inputSchema (the call is evaluated anyway, as the gateway would):"),
      h("ul", {}, warnings.map((w) => h("li", {}, richText(w)))),
    );
  }

  /** The `toolgate eval` line for the composed call at `at` (ms). */
  function line(args, at, id = 1) {
    const entry = {
      body: { jsonrpc: "2.0", id, method: "tools/call", params: { name: tool, arguments: args } },
      grant: grantInput.value || "anonymous",
      at_ms: at,
    };
    if (sessionInput.value) entry.session = sessionInput.value;
    return JSON.stringify(entry);
  }

  function policyProblem(where) {
    if (app.checkOk) return false;
    showError(where, "The policy has errors; fix them in the editor first (F8 jumps to the next one).");
    return true;
  }

  function evaluate() {
    if (policyProblem(result)) return;
    let args;
    try {
      args = readArgs();
    } catch (e) {
      showError(result, e.message);
      return;
    }
    const at = Math.max(0, Math.floor(Number(atInput.value) || 0));
    const input = line(args, at);
    const out = core.simulate(app.getText(), input, app.pinsText);
    if (!out.ok) {
      showError(result, out.errors.map((e) => `${e.pointer}: ${e.message}`).join("\n"));
      return;
    }
    const d = out.decision;
    const monitor = d.monitor && typeof d.monitor === "object" ? d.monitor : null;
    const pin = app.pins.get(tool);
    const addCase = h(
      "button",
      { type: "button", id: "sim-add-case", class: "small", title: "Append this call to the Tests tab, expecting what toolgate test decides for it" },
      "Add as a test case",
    );
    addCase.addEventListener("click", () => app.addTestCase(input, d));
    render(
      result,
      warningList(args, "sim-warnings"),
      h(
        "div",
        { class: "verdict" },
        decisionBadge(d.decision),
        d.rule
          ? h(
              "button",
              { type: "button", class: "linklike mono", title: "Show this rule in the editor", onclick: () => app.jumpTo(d.rule) },
              visible(d.rule),
            )
          : null,
        d.retry_after_ms !== undefined ? h("span", { class: "retry" }, `retry in ${humanMs(d.retry_after_ms, { up: true })}`) : null,
        monitor ? h("span", { class: "monitor-inline", id: "sim-monitor" }, h("span", { class: "badge monitored" }, "monitor"), " ", wouldHaveBeen(monitor, { jump: app.jumpTo })) : null,
        d.message ? h("p", { class: "message" }, d.message) : null,
        monitor
          ? h(
              "p",
              { class: "monitor-line muted small" },
              "Monitor mode: the enforced decision is what happens; the whole policy, monitored rules included, would have decided otherwise.",
            )
          : null,
        pin && pin !== "pinned"
          ? h(
              "p",
              { class: "pin-line small", id: "sim-pin" },
              h("span", { class: `badge pin pin-${pin}` }, pin),
              ` At the gateway this tool is ${PIN_PHRASE[pin] || pin}; `,
              richText(app.policy && app.policy.pin ? "the policy's `pin` applies to it here as it does there." : "the policy has no `pin`, so that changes nothing."),
            )
          : null,
      ),
      h(
        "div",
        { class: "two" },
        h("div", {}, h("h4", {}, "Decision object"), pre(d, "decision object")),
        h(
          "div",
          {},
          h("h4", {}, "What the agent receives"),
          out.response
            ? [h("p", { class: "muted small" }, `HTTP ${out.response.status}, from toolgate; nothing reaches the origin`), pre(out.response.body, "agent response")]
            : h("p", { class: "muted" }, "The call is forwarded to the origin with the client's original bytes, and the agent receives the origin's own answer."),
        ),
      ),
      h("div", { class: "actions-row" }, addCase, h("span", { class: "muted small" }, "The Tests tab keeps such cases, and reruns them whenever the policy changes.")),
      h("details", { class: "eval-line" }, h("summary", {}, "The same call as a toolgate eval line"), pre(input, "eval line")),
    );
    result.dataset.decision = d.decision;
    shown(result);
  }

  function updateSpan() {
    const n = Math.max(1, Math.floor(Number(countInput.value) || 1));
    const spacing = Math.max(0, Number(spacingInput.value) || 0) * 1000;
    spanNote.textContent = `${n} calls over ${humanMs(Math.round((n - 1) * spacing))}`;
  }

  function runSequence() {
    if (policyProblem(seqResult)) return;
    let args;
    try {
      args = readArgs();
    } catch (e) {
      showError(seqResult, e.message);
      return;
    }
    const n = Math.min(2000, Math.max(1, Math.floor(Number(countInput.value) || 1)));
    const spacing = Math.max(0, Number(spacingInput.value) || 0) * 1000;
    const start = Math.max(0, Math.floor(Number(atInput.value) || 0));
    const lines = [];
    for (let i = 0; i < n; i++) lines.push(line(args, Math.round(start + i * spacing), i + 1));
    const input = lines.join("\n") + "\n";
    const out = core.evalJsonl(app.getText(), input, app.pinsText);
    if (!out.ok) {
      showError(seqResult, out.errors.map((e) => `${e.pointer}: ${e.message}`).join("\n"));
      return;
    }
    // The counter a refusal names: the `counter` of the limit at its rule's pointer.
    const counterAt = (pointer) => {
      let v = app.policy;
      for (const t of pointerTokens(pointer || "")) v = v && typeof v === "object" ? v[t] : undefined;
      return v && typeof v === "object" ? v.counter : undefined;
    };
    const calls = out.decisions.map((decision, i) => ({
      at: Math.round(start + i * spacing),
      decision,
      counter: decision.decision === "rate_limited" ? counterAt(decision.rule) : undefined,
      monitorCounter: decision.monitor && decision.monitor.decision === "rate_limited" ? counterAt(decision.monitor.rule) : undefined,
    }));
    const row = app.statusOf(tool);
    const limits = row ? row.limits : [];
    const monitorLimits = row && Array.isArray(row.monitor_limits) ? row.monitor_limits : [];
    const tally = {};
    for (const c of calls) tally[c.decision.decision] = (tally[c.decision.decision] || 0) + 1;
    const refused = calls.map((c, i) => ({ ...c, n: i + 1 })).filter((c) => c.decision.decision === "rate_limited");
    // Monitor mode: the calls the whole policy would have decided otherwise (CONTRACT §7).
    const differing = calls.map((c, i) => ({ ...c, n: i + 1 })).filter((c) => c.decision.monitor);
    const SHOWN = 8;
    const refusalItem = (c) =>
      h(
        "li",
        {},
        h("strong", {}, `#${c.n} at ${humanMs(c.at - start)}`),
        " — rate limited by ",
        h("code", {}, c.decision.rule || "?"),
        c.decision.retry_after_ms !== undefined ? h("span", { class: "retry" }, `retry in ${humanMs(c.decision.retry_after_ms, { up: true })}`) : null,
      );
    const monitorItem = (c) =>
      h(
        "li",
        {},
        h("strong", {}, `#${c.n} at ${humanMs(c.at - start)}`),
        " — ",
        decisionBadge(c.decision.decision),
        " ",
        wouldHaveBeen(c.decision.monitor),
      );
    const wouldRefuse = differing.filter((c) => c.decision.monitor.decision !== "allow").length;
    render(
      seqResult,
      warningList(args, "seq-warnings"),
      h(
        "p",
        { class: "tally" },
        Object.entries(tally).map(([d, k]) => h("span", { class: "count", "data-decision": d }, decisionBadge(d), ` ${k}`)),
      ),
      differing.length
        ? h(
            "div",
            { class: "monitor-calls", id: "seq-monitor" },
            h(
              "p",
              { class: "monitor-line" },
              h("span", { class: "badge monitored" }, "monitor"),
              wouldRefuse
                ? `The whole policy, monitored rules included, would have refused ${wouldRefuse} of these ${calls.length} calls.`
                : `The whole policy, monitored rules included, would have decided ${differing.length} of these ${calls.length} calls otherwise.`,
            ),
            h("ol", { id: "seq-monitor-calls" }, differing.slice(0, SHOWN).map(monitorItem)),
            differing.length > SHOWN
              ? h("details", {}, h("summary", {}, `${differing.length - SHOWN} more`), h("ol", { start: String(SHOWN + 1) }, differing.slice(SHOWN).map(monitorItem)))
              : null,
          )
        : null,
      limits.length || monitorLimits.length ? null : h("p", { class: "muted small" }, "No rate limit applies to this tool under the policy."),
      timeline(calls, limits, { monitorLimits }),
      h(
        "div",
        { class: "legend muted small" },
        h("span", { class: "lg lg-allow" }, "admitted"),
        h("span", { class: "lg lg-limited" }, "rate limited"),
        h("span", { class: "lg lg-other" }, "denied, hidden or waiting for approval"),
        h("span", { class: "lg lg-line" }, "admitted calls in the counter's rolling window"),
        differing.length ? h("span", { class: "lg lg-monitor" }, "“if enforced” lane: what the whole policy would have decided") : null,
      ),
      refused.length
        ? h(
            "div",
            { class: "refusals" },
            h("div", { class: "field-label" }, `Refused calls (${refused.length}), and when one more would fit`),
            h("ol", { id: "seq-refusals" }, refused.slice(0, SHOWN).map(refusalItem)),
            refused.length > SHOWN
              ? h("details", {}, h("summary", {}, `${refused.length - SHOWN} more`), h("ol", { start: String(SHOWN + 1) }, refused.slice(SHOWN).map(refusalItem)))
              : null,
          )
        : null,
      h(
        "details",
        { class: "eval-line" },
        h("summary", {}, "Input and output as toolgate eval reads and prints them"),
        h("p", { class: "muted small" }, "toolgate eval --policy policy.json < calls.jsonl"),
        pre(input, "eval input"),
        pre(out.text, "eval output"),
      ),
    );
    shown(seqResult);
  }

  /**
   * After every change of the policy text: a result computed with another text is marked
   * out of date; with an invalid policy, results are cleared (they would be wrong).
   */
  function policyChanged() {
    for (const where of [result, seqResult]) {
      const computedWith = shownWith.get(where);
      if (computedWith === undefined) continue;
      if (!app.checkOk) {
        shownWith.delete(where);
        where.classList.remove("stale");
        render(where, h("p", { class: "notice stale-note" }, "The policy has errors, so this result was cleared. Fix the policy, then evaluate again."));
        continue;
      }
      const old = computedWith !== app.getText();
      where.classList.toggle("stale", old);
      const note = where.querySelector(":scope > .stale-banner");
      if (old && !note) {
        where.prepend(
          h(
            "p",
            { class: "notice stale-banner" },
            "The policy changed since this result was computed. ",
            h("button", { type: "button", class: "small", onclick: () => (where === result ? evaluate() : runSequence()) }, "Evaluate again"),
          ),
        );
      } else if (!old && note) note.remove();
    }
  }

  const toolsDatalist = h("datalist", { id: "sim-tools" }, app.tools.map((t) => h("option", { value: t.name })));
  argsBox.addEventListener("input", () => {
    if (result.querySelector("#sim-warnings")) result.querySelector("#sim-warnings").classList.add("stale");
  });
  countInput.addEventListener("input", updateSpan);
  spacingInput.addEventListener("input", updateSpan);

  render(
    root,
    h(
      "section",
      { class: "card", "aria-labelledby": "sim-call-title" },
      h("h3", { id: "sim-call-title" }, "One call"),
      h(
        "p",
        { class: "muted small", id: "sim-call-note" },
        "A single call runs on fresh counters, as if it were the grant's first call: it is never rate limited. To see limits fill up, run a sequence below, whose calls share their counters.",
      ),
      h(
        "div",
        { class: "grid4" },
        h("div", { class: "field wide" }, h("label", { for: "sim-tool" }, "Tool"), toolInput, toolsDatalist),
        h("div", { class: "field" }, h("label", { for: "sim-grant" }, "Grant"), grantInput),
        h("div", { class: "field" }, h("label", { for: "sim-session", title: "The Mcp-Session-Id header; session-scoped limits count per session" }, "Session"), sessionInput),
        h("div", { class: "field" }, h("label", { for: "sim-at" }, "Time (at_ms)"), atInput),
      ),
      argsBox,
      h(
        "div",
        { class: "actions-row" },
        h("button", { type: "button", id: "sim-run", class: "primary", onclick: evaluate }, "Evaluate call"),
        h("span", { class: "muted small" }, h("kbd", {}, "Ctrl"), "+", h("kbd", {}, "Enter")),
      ),
      result,
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "sim-seq-title" },
      h("h3", { id: "sim-seq-title" }, "A sequence of the same call"),
      h(
        "div",
        { class: "seq-form" },
        h("div", { class: "field" }, h("label", { for: "seq-count" }, "Calls"), countInput),
        h("div", { class: "field" }, h("label", { for: "seq-spacing" }, "Every (seconds)"), spacingInput),
        h("button", { type: "button", id: "seq-run", onclick: runSequence }, "Run sequence"),
        spanNote,
      ),
      h(
        "p",
        { class: "muted small", id: "sim-seq-note" },
        "The calls of a sequence share their counters, exactly as the gateway counts them, starting at the time above (each sequence starts from empty counters).",
      ),
      seqResult,
    ),
  );
  buildArgs();
  updateSpan();

  return {
    evaluate,
    runSequence,
    setTool,
    policyChanged,
    /** Picks a first tool worth calling under the current policy (once statuses are known). */
    pickDefault() {
      setTool(defaultTool(app));
    },
    /** For a new catalogue: its tool names, and a tool of it when the current one is not. */
    rebuild() {
      toolsDatalist.replaceChildren(...app.tools.map((t) => h("option", { value: t.name })));
      if (!app.toolByName.has(tool)) setTool(defaultTool(app));
      else buildArgs();
    },
  };
}

export function createToolsList(root, app) {
  const grant = h("input", { id: "list-grant", type: "text", class: "mono", value: "g1", spellcheck: "false" });
  const out = h("div", { id: "list-result", "aria-live": "polite" });
  grant.addEventListener("input", () => update());

  function update() {
    if (!app.checkOk) {
      render(out, h("p", { class: "notice" }, "The policy has errors; fix them to see tools/list."));
      return;
    }
    if (!app.tools.length) {
      render(out, h("p", { class: "muted" }, "No tool catalogue yet: import one in the Tools tab to see what a grant is shown."));
      return;
    }
    const res = core.listTools(app.getText(), app.toolsText, app.pinsText);
    if (!res.ok) {
      render(out, h("p", { class: "error-text" }, res.errors.map((e) => e.message).join("; ")));
      return;
    }
    // A changed tool under `pin.on_change: "deny"` is listed with its pinned definition,
    // which only the gateway holds: shown here by name.
    const elsewhere = new Set(Array.isArray(res.pinned_elsewhere) ? res.pinned_elsewhere : []);
    const fromOrigin = res.response.result.tools;
    const listed = [...fromOrigin, ...app.tools.filter((t) => elsewhere.has(t.name)).map((t) => ({ name: t.name, pinnedElsewhere: true }))];
    const order = new Map(app.tools.map((t, i) => [t.name, i]));
    listed.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
    const names = new Set(listed.map((t) => t.name));
    const hidden = app.tools.filter((t) => !names.has(t.name));
    render(
      out,
      h(
        "p",
        { class: "list-summary" },
        "Grant ",
        h("code", {}, grant.value || "anonymous"),
        ` sees `,
        h("strong", { id: "list-count" }, String(listed.length)),
        ` of ${app.tools.length} tools.`,
      ),
      h(
        "ul",
        { class: "list-tools", "aria-label": "tools the grant sees" },
        listed.map((t) => {
          const row = app.statusOf(t.name);
          return h(
            "li",
            {},
            riskBadge((app.toolByName.get(t.name) || {}).risk || "other"),
            h("code", {}, t.name),
            row && row.status !== "allowed" ? statusBadge(row.status, { title: row.why }) : null,
            t.pinnedElsewhere ? h("span", { class: "muted small pinned-elsewhere" }, "listed with its reviewed (pinned) definition, which the gateway holds") : null,
          );
        }),
      ),
      res.monitor_hidden
        ? h(
            "p",
            { class: "monitor-line", id: "list-monitor" },
            h("span", { class: "badge monitored" }, "monitor"),
            `Listed only because the policy is monitored: the whole policy would hide ${res.monitor_hidden} of them.`,
          )
        : null,
      hidden.length
        ? h(
            "details",
            {},
            h("summary", {}, `${hidden.length} hidden tools`),
            h("p", { class: "mono small muted" }, hidden.map((t) => t.name).join(", ")),
          )
        : null,
      h("details", {}, h("summary", {}, "The filtered tools/list response"), pre(res.response, "tools/list response")),
    );
  }

  render(
    root,
    h(
      "section",
      { class: "card", "aria-labelledby": "list-title" },
      h("h3", { id: "list-title" }, "tools/list as a grant sees it"),
      h("div", { class: "field narrow" }, h("label", { for: "list-grant" }, "Grant"), grant),
      h(
        "p",
        { class: "muted small" },
        "Hidden tools are removed from the origin's answer (with a gateway's catalogue, so are tools that the policy's pin holds back). In policy version 1, what is hidden does not depend on the grant, so every grant sees the same list.",
      ),
      out,
    ),
  );
  return { update };
}
