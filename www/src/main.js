// The playground page: loads the wasm evaluator and the tool catalogue, then wires the
// editor, the catalogue, the builder, the simulator and tools/list to one policy text.
// The text in the editor is the only state that matters; every view is computed from it
// and from the current catalogue (source.js).
//
// Opened from the repo (a static server over www/), the page also finds the Odoo
// catalogue and the example policies. The Worker serves neither (they name the origin's
// tools), so every such request may answer 404: the page then starts with an empty
// catalogue and a built-in starting policy, and asks for at most one of those files.

import * as core from "./wasm.js";
import { createEditor } from "./editor.js";
import { locate } from "./pointer.js";
import { setAt, formatDocument } from "./jsonedit.js";
import { createCatalogue } from "./catalogue.js";
import { createBuilder, keyMatches } from "./builder.js";
import { createSimulator, createToolsList } from "./simulator.js";
import { createTests } from "./tests.js";
import { policyFromHash, shareUrl } from "./share.js";
import { EXAMPLES } from "./examples.js";
import { effective } from "./status.js";
import { friendlyMessage } from "./visible.js";
import * as source from "./source.js";
import { h, render, debounce, richText, visible, toast, STATUS_LABEL, RISK_LABEL } from "./dom.js";

const STORAGE_KEY = "toolgate-playground.policy";
const ADMIN_TOKEN_KEY = "toolgate-admin.token";
const $ = (id) => document.getElementById(id);

/** The policy a first visit starts from when the examples are not served. */
const STARTER = `{
  "version": "1",
  "default": "deny",
  "hide": [],
  "tools": {}
}
`;

function storedPolicy() {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

function storePolicy(text) {
  try {
    localStorage.setItem(STORAGE_KEY, text);
  } catch {
    // Storage may be disabled; the page works without it.
  }
}

/** A file that only the repo serves: its text, or null when it is not served (404). */
async function fetchOptional(url) {
  const response = await fetch(url);
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`cannot load ${url}: HTTP ${response.status}`);
  return response.text();
}

/** Whether the repo's own files (catalogue, examples) are served: true, false, or null (not asked yet). */
let repoFiles = null;

/** The default catalogue: the repo's, or none when the page is not opened from the repo. */
async function defaultCatalogue() {
  const text = await fetchOptional(source.DEFAULT_FILE);
  repoFiles = text !== null;
  if (text === null) return { kind: "none", tools: [] };
  return { kind: "default", tools: source.parseCatalogue(text).tools };
}

async function initialPolicy(catalogueReady) {
  const fallback = async () => {
    await catalogueReady;
    if (repoFiles) {
      const text = await fetchOptional("examples/contract.policy.json");
      if (text !== null) return text;
      repoFiles = false;
    }
    return STARTER;
  };
  if (location.hash) {
    try {
      const shared = policyFromHash(location.hash);
      if (shared !== null) {
        history.replaceState(null, "", location.pathname + location.search);
        return { text: shared, from: "link" };
      }
    } catch {
      history.replaceState(null, "", location.pathname + location.search);
      return { text: await fallback(), from: "bad-link" };
    }
  }
  const stored = storedPolicy();
  if (stored !== null && stored.trim()) return { text: stored, from: "storage" };
  return { text: await fallback(), from: "example" };
}

async function boot() {
  const stored = source.storedCatalogue();
  const catalogueReady = stored ? Promise.resolve(stored) : defaultCatalogue();
  const [, firstCatalogue, initial] = await Promise.all([core.load(), catalogueReady, initialPolicy(catalogueReady)]);

  let statuses = new Map();
  let warnings = new Map();
  let editor;
  const app = {
    tools: [],
    toolsText: "[]",
    catalogueText: "[]",
    pins: new Map(),
    pinsText: "",
    toolByName: new Map(),
    source: { kind: "none" },
    policy: null,
    checkOk: false,
    getText: () => editor.getText(),
    statusOf: (name) => statuses.get(name),
    warningsOf: (name) => warnings.get(name) || [],
    sourceLabel: () => source.sourceLabel(app.source),
    openCatalogueDialog: () => openCatalogueDialog(),
    /** Applies builder edits (`[[path, value | undefined], ...]`) to the policy text. */
    edit(edits) {
      let text = editor.getText();
      for (const [path, value] of edits) {
        const result = setAt(text, path, value);
        if (result) text = result.text;
      }
      if (text === editor.getText()) refresh.now();
      else editor.replaceText(text);
    },
    openInBuilder(name) {
      showTab("builder");
      builder.select(name, true);
    },
    /** Appends the simulator's call (an eval line) to the Tests tab as a case. */
    addTestCase(line, decision) {
      tests.addCase(line, decision);
    },
    simulate(name) {
      showTab("simulator");
      simulator.setTool(name);
      document.getElementById("sim-tool").focus();
    },
    jumpTo(pointer) {
      const text = editor.getText();
      const at = locate(text, pointer);
      editor.focusRange(at.from, at.to);
    },
  };

  /** Makes `choice` (`{ kind, tools, name?, url? }`) the catalogue every view shows. */
  function useCatalogue(choice) {
    const origin = source.originTools(choice.tools);
    const toolsText = JSON.stringify(origin);
    const risks = core.risks(toolsText);
    const riskOf = new Map(risks.ok ? risks.tools.map((t) => [t.name, t.risk]) : []);
    app.tools = choice.tools.map((t) => ({ ...t, risk: riskOf.get(t.name) || "other" }));
    app.toolsText = toolsText;
    app.toolByName = new Map(app.tools.map((t) => [t.name, t]));
    app.source = { kind: choice.kind, name: choice.name, url: choice.url, at: choice.at };
    // A gateway's catalogue says where each tool stands against its pin (CONTRACT §8):
    // the core's view, the simulator and tools/list apply the policy's `pin` to it.
    app.pins = source.pinStatuses(choice.tools);
    app.pinsText = app.pins.size ? JSON.stringify(Object.fromEntries(app.pins)) : "";
    app.catalogueText = app.pins.size ? JSON.stringify(source.withPinStatus(choice.tools)) : toolsText;
    // Warnings depend on the definitions only (CONTRACT §8): the core's, for any catalogue.
    const plain = core.catalogue('{"version":"1","default":"allow"}', toolsText);
    const given = new Map(choice.tools.map((t) => [t.name, Array.isArray(t.warnings) ? t.warnings.filter((w) => typeof w === "string") : []]));
    // A gateway's own warnings (its `/admin/catalogue`) come from the same core; keep them.
    const computed = new Map(plain.ok ? plain.tools.map((r) => [r.name, r.warnings]) : []);
    warnings = new Map(choice.tools.map((t) => [t.name, Array.isArray(t.warnings) ? given.get(t.name) : computed.get(t.name) || []]));
  }
  useCatalogue(firstCatalogue);

  // --- Editor and validation ---------------------------------------------------------

  const errorsBox = $("errors");
  const validity = $("validity");

  function showValidation(result, text) {
    if (result.ok) {
      editor.showErrors([]);
      validity.className = "ok";
      validity.textContent = `✓ Valid — ${result.summary.replace(/^ok: /, "")}`;
      errorsBox.hidden = true;
      errorsBox.replaceChildren();
      return;
    }
    const errors = result.errors.map((e) => ({ ...e, message: friendlyMessage(e.message), ...locate(text, e.pointer, e.message) }));
    editor.showErrors(errors);
    validity.className = "bad";
    validity.textContent = `✗ ${errors.length} error${errors.length === 1 ? "" : "s"} — the policy would not be applied`;
    errorsBox.hidden = false;
    render(
      errorsBox,
      h("h3", { class: "sr-only" }, "Errors"),
      h(
        "ol",
        {},
        errors.map((e) =>
          h(
            "li",
            {},
            h(
              "button",
              { type: "button", class: "error-item", onclick: () => editor.focusRange(e.from, e.to) },
              h("span", { class: "error-where" }, h("span", { class: "error-line" }, `Line ${e.line}`), h("code", { class: "error-pointer" }, visible(e.pointer || "/"))),
              h("span", { class: "error-msg" }, richText(e.message)),
            ),
          ),
        ),
      ),
    );
  }

  const refresh = debounce(() => {
    const text = editor.getText();
    const result = core.check(text);
    app.checkOk = result.ok;
    try {
      app.policy = JSON.parse(text);
    } catch {
      app.policy = null;
    }
    showValidation(result, text);
    // Statuses of another policy would be wrong: with errors, there are none.
    statuses = new Map();
    if (result.ok) {
      const cat = core.catalogue(text, app.catalogueText);
      if (cat.ok) statuses = new Map(cat.tools.map((t) => [t.name, effective(t)]));
    }
    catalogue.update();
    simulator.policyChanged();
    tests.policyChanged();
    // Hidden tabs are redrawn when they are shown.
    if (!$("panel-builder").hidden) builder.update();
    if (!$("panel-list").hidden) toolsList.update();
    storePolicy(text);
  }, 150);

  editor = createEditor($("editor"), {
    text: initial.text,
    label: "Policy JSON",
    schema: core.schema(),
    describe: (path, valueText) => {
      // A key of `tools`, or an item of `hide`: what it matches in the catalogue.
      let key = null;
      if (path.length === 2 && path[0] === "tools" && valueText === undefined) key = path[1];
      if (path.length === 2 && path[0] === "hide" && valueText !== undefined) {
        try {
          key = JSON.parse(valueText);
        } catch {
          key = null;
        }
      }
      if (typeof key !== "string") return null;
      const tool = app.toolByName.get(key);
      if (tool) {
        const row = statuses.get(key);
        const status = row ? `${STATUS_LABEL[row.status]}${row.conditional ? " (conditional)" : ""}: ${row.why}. ` : "";
        return { title: `${key} · ${RISK_LABEL[tool.risk]}`, description: `${status}${tool.description || ""}` };
      }
      if (!app.tools.length) return { title: key, description: "No tool catalogue is loaded: import one in the Tools tab to see what this matches." };
      if (key.includes("*")) {
        const names = app.tools.filter((t) => keyMatches(key, t.name)).map((t) => t.name);
        return {
          title: `${key} · pattern`,
          description: names.length
            ? `Matches ${names.length} tool${names.length === 1 ? "" : "s"}: ${names.slice(0, 12).join(", ")}${names.length > 12 ? ", …" : ""}`
            : "Matches no tool in the catalogue.",
        };
      }
      return { title: key, description: "Not a tool of the catalogue; the rule applies to a tool of this name." };
    },
    onChange: (_text, update) => {
      const builderEdit = update.transactions.some((tr) => tr.isUserEvent("input.builder") || tr.isUserEvent("undo") || tr.isUserEvent("redo"));
      if (builderEdit) refresh.now();
      else refresh();
    },
  });

  // --- Views ---------------------------------------------------------------------------

  const catalogue = createCatalogue($("panel-tools"), app);
  const builder = createBuilder($("panel-builder"), app);
  const simulator = createSimulator($("panel-simulator"), app);
  const toolsList = createToolsList($("panel-list"), app);
  const testsBadge = $("tests-badge");
  const tests = createTests($("panel-tests"), app, {
    onResult: (run) => {
      testsBadge.hidden = !run;
      if (!run) return;
      testsBadge.textContent = run.failed ? `${run.failed} failing` : `${run.passed} ✓`;
      testsBadge.className = `tab-badge ${run.failed ? "tab-badge-fail" : "tab-badge-pass"}`;
      testsBadge.title = `${run.passed} passed, ${run.failed} failed`;
    },
  });

  const tabs = ["tools", "builder", "simulator", "list", "tests"];
  function showTab(name, focusTab = false) {
    for (const t of tabs) {
      const tab = $(`tab-${t}`);
      const on = t === name;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      $(`panel-${t}`).hidden = !on;
      if (on && focusTab) tab.focus();
    }
    if (name === "builder") builder.update();
    if (name === "list") toolsList.update();
  }
  for (const t of tabs) {
    const tab = $(`tab-${t}`);
    tab.addEventListener("click", () => showTab(t));
    tab.addEventListener("keydown", (e) => {
      const i = tabs.indexOf(t);
      let next = null;
      if (e.key === "ArrowRight") next = tabs[(i + 1) % tabs.length];
      if (e.key === "ArrowLeft") next = tabs[(i + tabs.length - 1) % tabs.length];
      if (e.key === "Home") next = tabs[0];
      if (e.key === "End") next = tabs[tabs.length - 1];
      if (next) {
        e.preventDefault();
        showTab(next, true);
      }
    });
  }

  // --- File, examples, sharing ---------------------------------------------------------

  const exampleSelect = $("example");
  /** The examples, or, when this copy of the playground does not serve them, why not. */
  function examplesMenu() {
    exampleSelect.replaceChildren(h("option", { value: "" }, "Examples…"));
    if (repoFiles === false) {
      exampleSelect.append(
        h("option", { value: "", disabled: true }, "Example policies are available when the playground is opened from the repo"),
      );
      exampleSelect.title = "The examples name the tools of the repo's Odoo catalogue, so only a copy opened from the repo (a static server over www/) has them.";
      exampleSelect.dataset.available = "false";
      return;
    }
    for (const ex of EXAMPLES) exampleSelect.append(h("option", { value: ex.file, title: ex.about }, ex.title));
    exampleSelect.title = "Load an example policy";
    exampleSelect.dataset.available = repoFiles ? "true" : "unknown";
  }
  examplesMenu();
  exampleSelect.addEventListener("change", async () => {
    const ex = EXAMPLES.find((e) => e.file === exampleSelect.value);
    exampleSelect.value = "";
    if (!ex) return;
    try {
      const text = await fetchOptional(`examples/${ex.file}`);
      if (text === null) {
        repoFiles = false;
        examplesMenu();
        toast("Example policies are available when the playground is opened from the repo.", "error");
        return;
      }
      editor.setText(text);
      refresh.now();
      toast(`Loaded “${ex.title}”: ${ex.about} (Ctrl+Z brings your policy back.)`);
    } catch (e) {
      toast(e.message, "error");
    }
  });

  function importText(text, name) {
    editor.setText(text);
    refresh.now();
    toast(`Imported ${name}. (Ctrl+Z brings the previous policy back.)`);
  }
  const fileInput = $("import-file");
  $("import").addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", async () => {
    const file = fileInput.files && fileInput.files[0];
    if (file) importText(await file.text(), file.name);
    fileInput.value = "";
  });
  const editorBox = $("editor");
  editorBox.addEventListener("dragover", (e) => {
    if (e.dataTransfer && [...e.dataTransfer.types].includes("Files")) {
      e.preventDefault();
      editorBox.classList.add("drop");
    }
  }, true);
  editorBox.addEventListener("dragleave", () => editorBox.classList.remove("drop"));
  editorBox.addEventListener("drop", async (e) => {
    const file = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    editorBox.classList.remove("drop");
    if (!file) return;
    e.preventDefault();
    e.stopPropagation();
    importText(await file.text(), file.name);
  }, true);

  // --- The catalogue ---------------------------------------------------------------------

  const catalogueDialog = $("catalogue-dialog");
  const catalogueError = $("catalogue-error");

  /** Shows a new catalogue everywhere and keeps the choice for the next visit. */
  function applyCatalogue(choice, { notes = [] } = {}) {
    useCatalogue(choice);
    const kept = source.storeCatalogue(choice.kind === "default" || choice.kind === "none" ? null : choice);
    catalogue.rebuild();
    simulator.rebuild();
    refresh.now();
    const n = choice.tools.length;
    const what = choice.kind === "none" ? "No catalogue." : `Catalogue: ${source.sourceLabel(app.source)}, ${n} tool${n === 1 ? "" : "s"}.`;
    const more = [...notes, kept ? "" : "This browser refused to keep it, so a reload will not show it."].filter(Boolean).join(" ");
    toast(`${what} ${more}`.replace(/`/g, ""), kept ? "info" : "error");
  }

  function openCatalogueDialog() {
    catalogueError.textContent = "";
    $("catalogue-now").replaceChildren(
      h("strong", {}, app.sourceLabel()),
      app.tools.length ? ` · ${app.tools.length} tool${app.tools.length === 1 ? "" : "s"}` : "",
      app.source.at ? h("span", { class: "muted" }, ` · loaded ${new Date(app.source.at).toLocaleString()}`) : "",
    );
    const gatewayUrl = $("catalogue-gateway-url");
    if (!gatewayUrl.value) gatewayUrl.value = app.source.kind === "gateway" ? app.source.url.replace(/\/admin\/catalogue$/, "/") : new URL("./", location.href).href;
    const tokenInput = $("catalogue-gateway-token");
    if (!tokenInput.value) {
      try {
        tokenInput.value = sessionStorage.getItem(ADMIN_TOKEN_KEY) || "";
      } catch {
        // No session storage: the token is typed.
      }
    }
    const back = $("catalogue-default");
    back.hidden = app.source.kind === "default" || app.source.kind === "none";
    back.textContent = repoFiles === false ? "Forget this catalogue" : repoFiles ? `Back to the default: ${source.DEFAULT_LABEL}` : "Back to the default catalogue";
    catalogueDialog.showModal();
  }

  /** Reads an imported text; on success uses it and closes the dialog. */
  function importCatalogue(text, choice) {
    let parsed;
    try {
      parsed = source.parseCatalogue(text);
    } catch (e) {
      catalogueError.replaceChildren(...richText(`This is not a tool catalogue: ${e.message}.`));
      return false;
    }
    if (!parsed.tools.length) {
      catalogueError.textContent = "This catalogue has no tools.";
      return false;
    }
    catalogueDialog.close();
    applyCatalogue({ ...choice, at: Date.now(), tools: parsed.tools }, { notes: parsed.notes });
    return true;
  }

  $("catalogue-file").addEventListener("change", async (e) => {
    const file = e.target.files && e.target.files[0];
    e.target.value = "";
    if (file) importCatalogue(await file.text(), { kind: "file", name: file.name });
  });
  $("catalogue-paste-use").addEventListener("click", () => {
    if (importCatalogue($("catalogue-paste").value, { kind: "paste" })) $("catalogue-paste").value = "";
  });
  $("catalogue-gateway-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = $("catalogue-gateway-load");
    button.disabled = true;
    catalogueError.textContent = "Asking the gateway…";
    try {
      const { url, text } = await source.fetchGatewayCatalogue($("catalogue-gateway-url").value, $("catalogue-gateway-token").value.trim());
      importCatalogue(text, { kind: "gateway", url });
    } catch (err) {
      catalogueError.textContent = `Not loaded: ${err.message}.`;
    } finally {
      button.disabled = false;
    }
  });
  $("catalogue-default").addEventListener("click", async () => {
    try {
      // Asked only when not known: the Worker answers 404 for it.
      const choice = repoFiles === false ? { kind: "none", tools: [] } : await defaultCatalogue();
      catalogueDialog.close();
      examplesMenu();
      applyCatalogue(choice);
    } catch (err) {
      catalogueError.textContent = err.message;
    }
  });

  function exportPolicy() {
    const blob = new Blob([editor.getText()], { type: "application/json" });
    const a = h("a", { href: URL.createObjectURL(blob), download: "policy.json" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    toast(app.checkOk ? "Downloaded policy.json." : "Downloaded policy.json. It has errors: toolgate will refuse it until they are fixed.", app.checkOk ? "info" : "error");
  }
  $("export").addEventListener("click", exportPolicy);

  const shareDialog = $("share-dialog");
  $("share").addEventListener("click", () => {
    const url = shareUrl(location, editor.getText());
    $("share-url").value = url;
    shareDialog.showModal();
    $("share-url").select();
  });
  $("share-copy").addEventListener("click", async () => {
    const input = $("share-url");
    try {
      await navigator.clipboard.writeText(input.value);
    } catch {
      input.select();
      document.execCommand("copy");
    }
    toast("Link copied.");
    shareDialog.close();
  });
  window.addEventListener("hashchange", () => {
    try {
      const shared = policyFromHash(location.hash);
      if (shared === null) return;
      history.replaceState(null, "", location.pathname + location.search);
      editor.setText(shared);
      refresh.now();
      toast("Loaded the policy from the link. (Ctrl+Z brings the previous one back.)");
    } catch {
      toast("The link's policy could not be read.", "error");
    }
  });

  function formatPolicy() {
    let value;
    try {
      value = JSON.parse(editor.getText());
    } catch {
      toast("The policy is not valid JSON yet; fix the error first.", "error");
      return;
    }
    editor.replaceText(formatDocument(value), "input.format");
  }
  $("format").addEventListener("click", formatPolicy);

  const helpDialog = $("help-dialog");
  $("help").addEventListener("click", () => helpDialog.showModal());

  // --- Keyboard ------------------------------------------------------------------------

  const typing = (el) => el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  document.addEventListener("keydown", (e) => {
    const mod = e.ctrlKey || e.metaKey;
    if (mod && !e.shiftKey && !e.altKey && e.key.toLowerCase() === "s") {
      e.preventDefault();
      exportPolicy();
    } else if (mod && !e.shiftKey && !e.altKey && e.key.toLowerCase() === "o") {
      e.preventDefault();
      fileInput.click();
    } else if (mod && e.key === "Enter") {
      e.preventDefault();
      if ($("panel-simulator").hidden) showTab("simulator");
      simulator.evaluate();
    } else if (e.shiftKey && e.altKey && (e.key.toLowerCase() === "f" || e.code === "KeyF")) {
      e.preventDefault();
      formatPolicy();
    } else if (e.key === "F8" && !editor.view.hasFocus) {
      e.preventDefault();
      editor.view.focus();
      editor.nextError();
    } else if (!mod && !e.altKey && e.key === "/" && !typing(document.activeElement)) {
      e.preventDefault();
      showTab("tools");
      catalogue.focusSearch();
    } else if (!mod && !e.altKey && e.key === "?" && !typing(document.activeElement)) {
      e.preventDefault();
      helpDialog.showModal();
    }
  });

  refresh.now();
  simulator.pickDefault();
  if (initial.from === "link") toast("Loaded the policy from the link.");
  if (initial.from === "bad-link") toast("The link's policy could not be read; showing the contract example.", "error");

  // Ready once the first frame with the catalogue has been painted.
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  document.documentElement.dataset.ready = "true";
  performance.mark("toolgate-ready");
  window.toolgate = { app, editor, showTab, simulator, builder, tests };
}

boot().catch((error) => {
  const panel = $("panel-tools");
  if (panel) {
    panel.replaceChildren(
      h("p", { class: "error-text", role: "alert" }, `The playground could not start: ${error.message}. Run scripts/build-playground.sh and serve www/ over HTTP.`),
    );
  }
  document.documentElement.dataset.ready = "error";
  throw error;
});
