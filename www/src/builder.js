// The visual builder. It reads the policy from the editor's text and writes every change
// back into that text (through jsonedit.setAt), so the JSON stays the single source of
// truth: editing the JSON re-renders the builder, and using the builder edits the JSON.
// Monitored rules (CONTRACT §7: the policy's `mode`, or an entry's) are marked as such,
// and the whole policy's `mode` and `pin` (§8) are set here too.

import { h, render, richText, statusBadge, visible, STATUS_LABEL } from "./dom.js";
import { argumentPaths, pathProblem } from "./schema.js";
import { limitPhrase } from "./status.js";
import { toPointer } from "./pointer.js";
import { keyProblem } from "./visible.js";

const OPS = [
  ["eq", "="],
  ["neq", "≠"],
  ["in", "one of"],
  ["not_in", "none of"],
  ["lt", "<"],
  ["lte", "≤"],
  ["gt", ">"],
  ["gte", "≥"],
  ["regex", "matches"],
  ["contains", "substring or item"],
  ["exists", "present or absent"],
];
const WINDOWS = ["second", "minute", "hour", "day"];
const SCOPES = ["grant", "session", "global"];
const MODES = [
  ["default", "No own rule", "Other matching entries, or the default, decide"],
  ["allow", "Allow", "Listed and allowed; all-tools limits still count"],
  ["deny", "Deny", "Listed, but every call is denied"],
  ["hide", "Hide", "Removed from tools/list; calls get “Unknown tool”"],
  ["custom", "Custom", "Conditions, limits, approval and a message"],
];

const isObject = (v) => v && typeof v === "object" && !Array.isArray(v);

/** Whether the rules of `tools[key]` are monitored: its own `mode`, else the policy's. */
export function entryMonitored(policy, key) {
  const rule = isObject(policy.tools) && isObject(policy.tools[key]) ? policy.tools[key] : null;
  if (rule && (rule.mode === "monitor" || rule.mode === "enforce")) return rule.mode === "monitor";
  return policy.mode === "monitor";
}

/** Which of the builder's modes describes `key` in `policy` (an entry's own `mode` aside). */
export function modeOf(policy, key) {
  const hide = Array.isArray(policy.hide) ? policy.hide : [];
  if (hide.includes(key)) return "hide";
  const tools = isObject(policy.tools) ? policy.tools : {};
  if (!Object.prototype.hasOwnProperty.call(tools, key)) return "default";
  const rule = tools[key];
  if (!isObject(rule)) return "custom";
  const keys = Object.keys(rule).filter((k) => k !== "mode");
  if (keys.every((k) => k === "action") && rule.action !== "deny") return "allow";
  if (rule.action === "deny" && keys.every((k) => k === "action" || k === "on_deny")) return "deny";
  return "custom";
}

/** The edits that switch `key` to `mode`: `[[path, value | undefined], ...]`. */
export function modeEdits(policy, key, mode) {
  const hide = Array.isArray(policy.hide) ? policy.hide : [];
  const tools = isObject(policy.tools) ? policy.tools : {};
  const rule = isObject(tools[key]) ? tools[key] : {};
  const edits = [];
  const withoutHide = hide.filter((k) => k !== key);
  if (mode === "hide") {
    if (!hide.includes(key)) edits.push([["hide"], [...hide, key]]);
    if (key in tools) edits.push([["tools", key], undefined]);
    return edits;
  }
  if (hide.includes(key)) edits.push([["hide"], withoutHide.length ? withoutHide : undefined]);
  if (mode === "default") {
    if (key in tools) edits.push([["tools", key], undefined]);
  } else if (mode === "allow") {
    edits.push([["tools", key], rule.mode ? { mode: rule.mode } : {}]);
  } else if (mode === "deny") {
    const next = rule.on_deny ? { action: "deny", on_deny: rule.on_deny } : { action: "deny" };
    if (rule.mode) next.mode = rule.mode;
    edits.push([["tools", key], next]);
  } else if (mode === "custom") {
    const next = { ...rule };
    delete next.action;
    edits.push([["tools", key], next]);
  }
  return edits;
}

/** Reads a condition's value field as the JSON value it stands for. */
export function parseValue(op, text, type = "any") {
  const t = text.trim();
  const scalar = (s, elementType) => {
    if (elementType.startsWith("string")) return s;
    if (/^(integer|number)/.test(elementType) && s !== "" && Number.isFinite(Number(s))) return Number(s);
    if (elementType.startsWith("boolean") && (s === "true" || s === "false")) return s === "true";
    try {
      return JSON.parse(s);
    } catch {
      return s;
    }
  };
  if (op === "in" || op === "not_in") {
    if (t.startsWith("[")) {
      try {
        return JSON.parse(t);
      } catch {
        // Fall through to a comma-separated list.
      }
    }
    return t === "" ? [] : t.split(",").map((s) => scalar(s.trim(), type));
  }
  if (["lt", "lte", "gt", "gte"].includes(op)) {
    return t !== "" && Number.isFinite(Number(t)) ? Number(t) : t;
  }
  if (op === "regex") return text;
  if (op === "contains") return scalar(text, type.endsWith("[]") ? type.slice(0, -2) : "string");
  return scalar(text, type);
}

/** Shows a condition's value in its field. */
export function showValue(value) {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.every((v) => typeof v === "string" && !v.includes(","))) return value.join(", ");
  if (Array.isArray(value) && value.every((v) => typeof v === "number")) return value.join(", ");
  return JSON.stringify(value);
}

/** Whether a key of `tools` (an exact name or a `*` pattern) matches a tool name. */
export function keyMatches(key, name) {
  if (!key.includes("*")) return key === name;
  const re = new RegExp("^" + key.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$");
  return re.test(name);
}

export function createBuilder(root, app) {
  let selected = "";
  // Custom with nothing in it yet is `{}` in the JSON, which reads as Allow; remember
  // that the user asked for the Custom forms.
  let forceCustom = null;

  const edit = (edits) => app.edit(edits);

  function conditionRows(rule, basePath, field, paths, focusBase) {
    const list = Array.isArray(rule[field]) ? rule[field] : [];
    const listId = `paths-${focusBase}-${field}`;
    const typeOfPath = (p) => (paths.find((x) => x.path === p) || {}).type || "any";
    const rows = list.map((condition, i) => {
      const path = [...basePath, field, i];
      const fid = `${focusBase}-${field}-${i}`;
      if (!isObject(condition)) {
        return h("li", { class: "cond-row" }, h("span", { class: "muted" }, "not a condition object: edit it in the JSON"));
      }
      const type = typeOfPath(condition.path);
      const write = (next) => edit([[path, next]]);
      const op = condition.op;
      const valueControl =
        op === "exists"
          ? h(
              "select",
              {
                "data-focus": `${fid}-value`,
                "aria-label": "presence",
                onchange: (e) => {
                  const next = { path: condition.path, op: "exists" };
                  if (e.target.value === "absent") next.value = false;
                  write(next);
                },
              },
              h("option", { value: "present", selected: condition.value !== false }, "is present"),
              h("option", { value: "absent", selected: condition.value === false }, "is absent"),
            )
          : h("input", {
              type: "text",
              class: "mono cond-value",
              "data-focus": `${fid}-value`,
              "aria-label": "value",
              value: showValue(condition.value),
              spellcheck: "false",
              placeholder: op === "in" || op === "not_in" ? "a, b, c" : "value",
              onchange: (e) => write({ ...condition, value: parseValue(op, e.target.value, type) }),
            });
      return h(
        "li",
        { class: "cond-row" },
        h("input", {
          type: "text",
          class: "mono cond-path",
          list: listId,
          "data-focus": `${fid}-path`,
          "aria-label": "argument path",
          value: typeof condition.path === "string" ? condition.path : "",
          spellcheck: "false",
          onchange: (e) => write({ ...condition, path: e.target.value.trim() }),
        }),
        h(
          "select",
          {
            "data-focus": `${fid}-op`,
            "aria-label": "operator",
            onchange: (e) => {
              const nextOp = e.target.value;
              const next = { path: condition.path, op: nextOp };
              if (nextOp !== "exists") {
                const text = showValue(condition.value === false && op === "exists" ? "" : condition.value);
                next.value = parseValue(nextOp, text, typeOfPath(condition.path));
              }
              write(next);
            },
          },
          OPS.map(([value, label]) => h("option", { value, selected: value === op }, `${value}  (${label})`)),
        ),
        valueControl,
        h("span", { class: "arg-type", title: "type from the tool's inputSchema" }, type !== "any" ? type : ""),
        h(
          "button",
          {
            type: "button",
            class: "icon",
            "aria-label": `remove condition ${i + 1}`,
            title: "Remove",
            onclick: () => edit([[path, undefined]]),
          },
          "✕",
        ),
        (() => {
          const problem = pathProblem(condition.path, paths);
          return problem ? h("span", { class: "path-warning warn small" }, "⚠ ", richText(problem)) : null;
        })(),
      );
    });
    const first = (paths.find((p) => p.required) || paths[0] || { path: "args.id" }).path;
    return h(
      "div",
      { class: "cond-list" },
      h("datalist", { id: listId }, paths.map((p) => h("option", { value: p.path }, `${p.type}${p.description ? " — " + p.description : ""}`))),
      rows.length ? h("ol", {}, rows) : null,
      h(
        "button",
        {
          type: "button",
          class: "small",
          "data-focus": `${focusBase}-${field}-add`,
          onclick: () => {
            const type = typeOfPath(first);
            const value = type === "integer" || type === "number" ? 0 : "";
            edit([[[...basePath, field, list.length], { path: first, op: "eq", value }]]);
          },
        },
        "+ Add condition",
      ),
    );
  }

  function counters(policy) {
    const out = new Map();
    const add = (limits) => {
      if (!Array.isArray(limits)) return;
      for (const l of limits) if (isObject(l) && typeof l.counter === "string" && !out.has(l.counter)) out.set(l.counter, l);
    };
    if (isObject(policy.all_tools)) add(policy.all_tools.limits);
    if (isObject(policy.tools)) for (const rule of Object.values(policy.tools)) if (isObject(rule)) add(rule.limits);
    return out;
  }

  function limitRows(policy, limits, basePath, focusBase, suggestion) {
    const list = Array.isArray(limits) ? limits : [];
    const known = counters(policy);
    const listId = `counters-${focusBase}`;
    const rows = list.map((limit, i) => {
      const path = [...basePath, i];
      const fid = `${focusBase}-limit-${i}`;
      if (!isObject(limit)) return h("li", {}, h("span", { class: "muted" }, "not a limit object: edit it in the JSON"));
      const write = (next) => edit([[path, next]]);
      return h(
        "li",
        { class: "limit-row" },
        h("input", {
          type: "text",
          class: "mono",
          list: listId,
          "data-focus": `${fid}-counter`,
          "aria-label": "counter",
          value: limit.counter || "",
          spellcheck: "false",
          onchange: (e) => {
            const name = e.target.value.trim();
            const existing = known.get(name);
            // A counter is one budget: reuse its definition when it exists elsewhere.
            if (existing && existing !== limit) write({ ...existing });
            else write({ ...limit, counter: name });
          },
        }),
        h("span", { class: "muted" }, "at most"),
        h("input", {
          type: "number",
          min: "1",
          class: "max",
          "data-focus": `${fid}-max`,
          "aria-label": "max calls",
          value: limit.max ?? "",
          onchange: (e) => write({ ...limit, max: Number(e.target.value) }),
        }),
        h("span", { class: "muted" }, "per"),
        h(
          "select",
          { "data-focus": `${fid}-window`, "aria-label": "window", onchange: (e) => write({ ...limit, window: e.target.value }) },
          WINDOWS.map((w) => h("option", { value: w, selected: w === limit.window }, w)),
        ),
        h(
          "select",
          { "data-focus": `${fid}-scope`, "aria-label": "scope", onchange: (e) => write({ ...limit, scope: e.target.value }) },
          SCOPES.map((s) => h("option", { value: s, selected: s === (limit.scope || "grant") }, `per ${s}`)),
        ),
        h(
          "button",
          { type: "button", class: "icon", "aria-label": `remove limit ${i + 1}`, title: "Remove", onclick: () => edit([[path, undefined]]) },
          "✕",
        ),
      );
    });
    return h(
      "div",
      { class: "limit-list" },
      h("datalist", { id: listId }, [...known.keys()].map((c) => h("option", { value: c }))),
      rows.length ? h("ol", {}, rows) : null,
      h(
        "button",
        {
          type: "button",
          class: "small",
          "data-focus": `${focusBase}-limit-add`,
          onclick: () => {
            let name = suggestion;
            for (let n = 2; known.has(name); n++) name = `${suggestion}_${n}`;
            edit([[[...basePath, list.length], { counter: name, window: "minute", max: 10, scope: "grant" }]]);
          },
        },
        "+ Add limit",
      ),
    );
  }

  function policySettings(policy) {
    const allLimits = isObject(policy.all_tools) ? policy.all_tools.limits : undefined;
    return h(
      "section",
      { class: "card", "aria-labelledby": "b-policy-title" },
      h("h3", { id: "b-policy-title" }, "Whole policy"),
      h(
        "fieldset",
        { class: "inline" },
        h("legend", {}, "Tools that no rule matches"),
        ["allow", "deny"].map((value) =>
          h(
            "label",
            { class: "radio" },
            h("input", {
              type: "radio",
              name: "b-default",
              value,
              "data-focus": `default-${value}`,
              checked: policy.default === value,
              onchange: () => edit([[["default"], value]]),
            }),
            value === "allow" ? "are allowed" : "are hidden (default deny)",
          ),
        ),
      ),
      h(
        "fieldset",
        { class: "inline", id: "b-mode" },
        h("legend", { title: "CONTRACT §7: monitored rules are reported, never enforced" }, "Rules (mode)"),
        [
          ["enforce", "are enforced"],
          ["monitor", "are only monitored: reported, not enforced"],
        ].map(([value, label]) =>
          h(
            "label",
            { class: "radio" },
            h("input", {
              type: "radio",
              name: "b-policy-mode",
              value,
              "data-focus": `policy-mode-${value}`,
              checked: (policy.mode === "monitor" ? "monitor" : "enforce") === value,
              onchange: () => edit([[["mode"], value === "monitor" ? "monitor" : undefined]]),
            }),
            label,
          ),
        ),
      ),
      policy.mode === "monitor"
        ? h(
            "p",
            { class: "monitor-note small", id: "b-mode-note" },
            h("span", { class: "badge monitored" }, "monitor"),
            " Every rule without its own ",
            h("code", {}, '"mode": "enforce"'),
            " is reported, not enforced: nothing is hidden, denied or limited by it, and each decision says what it would have been.",
          )
        : null,
      h(
        "fieldset",
        { class: "inline", id: "b-pin" },
        h("legend", { title: "CONTRACT §8: tool-definition pinning" }, "Tools changed since review (pin)"),
        [
          ["off", "are not held back", "pins are kept by the gateway, but not enforced"],
          ["hide", "are hidden", "removed from tools/list; calls get the hidden answer"],
          ["deny", "are denied", "listed with the reviewed definition; every call is denied"],
        ].map(([value, label, help]) =>
          h(
            "label",
            { class: "radio", title: help },
            h("input", {
              type: "radio",
              name: "b-pin",
              value,
              "data-focus": `pin-${value}`,
              checked: (isObject(policy.pin) ? (policy.pin.on_change === "deny" ? "deny" : "hide") : "off") === value,
              onchange: () => edit([[["pin"], value === "off" ? undefined : { on_change: value }]]),
            }),
            label,
          ),
        ),
      ),
      h(
        "p",
        { class: "muted small" },
        "Hidden: removed from tools/list. Denied: listed with the definition that was reviewed, every call refused. New tools are hidden either way. ",
        app.pins && app.pins.size
          ? `This gateway catalogue has ${[...app.pins.values()].filter((p) => p === "changed").length} changed and ${[...app.pins.values()].filter((p) => p === "new").length} new tools.`
          : "Load a catalogue from a gateway (Tools → Change…) to see which tools are unreviewed.",
      ),
      h("div", { class: "field-label", id: "b-all-limits" }, "Limits on every call (all_tools)"),
      limitRows(policy, allLimits, ["all_tools", "limits"], "all", "all_calls"),
    );
  }

  function ruleList(policy) {
    const tools = isObject(policy.tools) ? Object.keys(policy.tools) : [];
    const hide = Array.isArray(policy.hide) ? policy.hide.filter((x) => typeof x === "string") : [];
    const keys = [...new Set([...tools, ...hide])];
    if (!keys.length) return h("p", { class: "muted" }, "No rules yet: pick a tool or type a pattern above.");
    return h(
      "ul",
      { class: "rule-chips", "aria-label": "rules in the policy" },
      keys.map((key) => {
        const mode = modeOf(policy, key);
        const hidden = mode === "hide";
        const watched = hidden ? policy.mode === "monitor" : entryMonitored(policy, key);
        return h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: `chip mode-${mode}${key === selected ? " selected" : ""}${watched ? " monitored" : ""}`,
              "data-focus": `chip-${key}`,
              "data-monitored": watched ? "true" : null,
              "aria-pressed": key === selected ? "true" : "false",
              title: watched ? "monitored: reported, not enforced" : null,
              onclick: () => select(key),
            },
            h("code", {}, visible(key)),
            h("span", { class: "chip-mode" }, mode === "default" ? "" : mode),
            watched ? h("span", { class: "chip-monitor" }, "monitor") : null,
          ),
        );
      }),
    );
  }

  function matchSummary(key) {
    const names = app.tools.map((t) => t.name).filter((n) => keyMatches(key, n));
    if (!key.includes("*")) {
      const row = app.statusOf(key);
      const unknown = app.tools.length && !app.toolByName.has(key)
        ? h("p", { class: "warn" }, "This tool is not in the catalogue; the rule still applies to it by name.")
        : null;
      if (!row) {
        return [
          unknown,
          h(
            "p",
            { class: "status-line" },
            "Now: ",
            h("span", { class: "muted" }, app.checkOk ? "—" : "— the policy has errors, so there is no status until it is valid."),
          ),
        ];
      }
      return [
        unknown,
        h(
          "p",
          { class: "status-line" },
          "Now: ",
          statusBadge(row.status),
          row.conditional ? h("span", { class: "badge cond" }, "conditional") : null,
          " ",
          h("span", { class: "why" }, richText(row.why)),
          row.own ? h("span", { class: "why own-rules" }, "Own rules: ", richText(row.own)) : null,
          row.monitor
            ? h(
                "span",
                { class: "why monitor-status", id: "b-monitor-status" },
                h("span", { class: "badge monitored" }, "monitor"),
                " would be ",
                statusBadge(row.monitor.status),
                " if enforced: ",
                richText(row.monitor.why),
              )
            : null,
        ),
      ];
    }
    const counts = {};
    for (const n of names) {
      const row = app.statusOf(n);
      if (row) counts[row.status] = (counts[row.status] || 0) + 1;
    }
    return h(
      "p",
      { class: "status-line" },
      `Pattern: matches ${names.length} tool${names.length === 1 ? "" : "s"} in the catalogue`,
      names.length ? ": " : ".",
      Object.entries(counts).map(([status, n]) => h("span", { class: "count" }, statusBadge(status), ` ${n}`)),
      names.length
        ? h("details", { class: "matched" }, h("summary", {}, "show them"), h("p", { class: "mono small" }, names.join(", ")))
        : null,
    );
  }

  /** What one `tools` entry does, in words. */
  function entrySummary(rule, policy) {
    if (!isObject(rule)) return "is not an object: edit it in the JSON";
    const count = (list) => (Array.isArray(list) ? list.length : 0);
    const watched = rule.mode === "monitor" || (rule.mode !== "enforce" && policy && policy.mode === "monitor");
    const monitored = watched ? ` (monitored${rule.mode === "monitor" ? "" : " by the policy's `mode`"}: reported, not enforced)` : "";
    if (rule.action === "deny") return `denies every call${rule.on_deny ? `: “${rule.on_deny}”` : ""}${monitored}`;
    const parts = [];
    if (count(rule.deny_if)) parts.push(`denies a call if ${count(rule.deny_if) === 1 ? "its condition holds" : `any of its ${count(rule.deny_if)} conditions holds`}`);
    if (count(rule.require)) parts.push(`denies a call unless ${count(rule.require) === 1 ? "its condition holds" : `all ${count(rule.require)} conditions hold`}`);
    if (isObject(rule.approval)) {
      parts.push(`${count(rule.approval.if) ? "asks a human to approve calls that meet its `if`" : "asks a human to approve every call"} (ttl ${rule.approval.ttl || "1h"})`);
    }
    for (const l of Array.isArray(rule.limits) ? rule.limits : []) {
      if (isObject(l)) parts.push(`limits calls to ${limitPhrase({ scope: "grant", ...l })} (counter \`${l.counter}\`)`);
    }
    if (isObject(rule.rate_limit)) parts.push(`limits calls to ${rule.rate_limit.max} per ${rule.rate_limit.window} (rate_limit)`);
    return (parts.length ? parts.join("; ") : "lists and allows it") + monitored;
  }

  /** Every entry of the policy that applies to the tool `name`, in the order they count. */
  function appliesList(policy, name) {
    const items = [];
    const hide = Array.isArray(policy.hide) ? policy.hide : [];
    hide.forEach((item, i) => {
      if (typeof item === "string" && keyMatches(item, name)) {
        items.push({
          key: item,
          pointer: `/hide/${i}`,
          where: "hide",
          exact: item === name,
          what: `hides it: removed from tools/list, calls answered as an unknown tool${policy.mode === "monitor" ? " (monitored by the policy's `mode`: reported, not enforced)" : ""}`,
        });
      }
    });
    const tools = isObject(policy.tools) ? policy.tools : {};
    for (const [key, rule] of Object.entries(tools)) {
      if (keyMatches(key, name)) items.push({ key, pointer: toPointer(["tools", key]), where: "tools", exact: key === name, what: entrySummary(rule, policy) });
    }
    const shared = isObject(policy.all_tools) && Array.isArray(policy.all_tools.limits) ? policy.all_tools.limits : [];
    shared.forEach((l, i) => {
      if (isObject(l)) items.push({ key: null, pointer: `/all_tools/limits/${i}`, where: "all_tools", what: `counts every call: ${limitPhrase({ scope: "grant", ...l })} for all tools (counter \`${l.counter}\`)` });
    });
    const pin = app.pins && app.pins.get(name);
    if (isObject(policy.pin) && (pin === "changed" || pin === "new")) {
      const hides = pin === "new" || policy.pin.on_change !== "deny";
      items.push({
        key: null,
        pointer: "/pin",
        where: "pin",
        what: `${pin === "new" ? "new at the gateway, not reviewed" : "changed at the gateway since it was reviewed"}: ${hides ? "hidden" : "every call denied"} until an operator accepts it${policy.mode === "monitor" ? " (monitored by the policy's `mode`: reported, not enforced)" : ""}`,
      });
    }
    const own = items.some((i) => i.where === "tools");
    const list = h(
      "ul",
      { class: "applies-list" },
      items.map((item) =>
        h(
          "li",
          {},
          item.key !== null
            ? h(
                "button",
                { type: "button", class: "linklike mono", title: "Open this entry in the builder", onclick: () => select(item.key) },
                visible(item.key),
              )
            : null,
          item.key !== null ? h("span", { class: `kind kind-${item.exact ? "exact" : "pattern"}` }, item.where === "hide" ? (item.exact ? "hide, exact" : "hide, pattern") : item.exact ? "exact" : "pattern") : null,
          h("button", { type: "button", class: "linklike pointer mono small", title: "Show it in the editor", onclick: () => app.jumpTo(item.pointer) }, item.pointer),
          h("span", { class: "what" }, richText(item.what)),
        ),
      ),
    );
    return h(
      "div",
      { id: "b-applies", class: "applies" },
      h("div", { class: "field-label" }, "What applies to it"),
      items.length ? list : null,
      own || items.some((i) => i.where === "hide")
        ? null
        : h("p", { class: "muted small" }, `No entry of tools matches it, so \`default\` (${JSON.stringify(policy.default)}) decides: ${policy.default === "allow" ? "allowed" : "hidden"}.`.replace(/`([^`]*)`/g, "$1")),
    );
  }

  /** Stops the builder from writing a key no tool can have; says which character is wrong. */
  function keyWarning(policy, key) {
    const problem = keyProblem(key);
    if (!problem) return null;
    // A name the user may have meant: invisible characters dropped, or replaced by `_`;
    // one of the catalogue first.
    const chars = Array.from(key);
    const candidates = [
      chars.map((c) => (/^[A-Za-z0-9_.*-]$/.test(c) ? c : "_")).join(""),
      chars.filter((c) => !/\p{Cf}/u.test(c)).map((c) => (/^[A-Za-z0-9_.*-]$/.test(c) ? c : "_")).join(""),
    ].map((c) => c.slice(0, 128));
    const fixed = candidates.find((c) => app.toolByName.has(c)) || candidates[1];
    const exists = isObject(policy.tools) && Object.prototype.hasOwnProperty.call(policy.tools, key);
    const offer = fixed && !keyProblem(fixed) && fixed !== key;
    return h(
      "div",
      { class: "notice key-problem", id: "b-key-problem", role: "alert" },
      h("p", {}, h("code", {}, visible(key)), " can never match a tool: ", richText(`${problem}. Use only \`A-Z a-z 0-9 _ . -\` and \`*\`.`)),
      offer
        ? h(
            "button",
            {
              type: "button",
              class: "small",
              onclick: () => {
                if (exists) edit([[["tools", key], undefined], [["tools", fixed], policy.tools[key]]]);
                select(fixed);
              },
            },
            exists ? "Rename the rule to " : "Use ",
            h("code", {}, fixed),
          )
        : null,
    );
  }

  function ruleEditor(policy, key) {
    let mode = modeOf(policy, key);
    if (mode === "allow" && forceCustom === key) mode = "custom";
    const rule = isObject(policy.tools) && isObject(policy.tools[key]) ? policy.tools[key] : {};
    const tool = app.toolByName.get(key);
    const paths = tool ? argumentPaths(tool.inputSchema) : commonPaths(key);
    const base = ["tools", key];
    const safe = key.replace(/[^A-Za-z0-9_-]/g, "_");
    const warning = keyWarning(policy, key);
    const locked = Boolean(warning) && mode === "default";
    const modeRadios = h(
      "fieldset",
      { class: "modes" },
      h("legend", {}, key.includes("*") ? "What this pattern does to the tools it matches" : "Its own rule (an exact key in tools)"),
      MODES.map(([value, label, help]) =>
        h(
          "label",
          { class: `mode mode-${value}${mode === value ? " on" : ""}`, title: help },
          h("input", {
            type: "radio",
            name: "b-mode",
            value,
            "data-focus": `mode-${value}`,
            checked: mode === value,
            disabled: locked,
            onchange: () => {
              forceCustom = value === "custom" ? key : null;
              const edits = modeEdits(policy, key, value);
              if (edits.length) edit(edits);
              else update();
            },
          }),
          h("span", { class: "mode-label" }, label),
          h("span", { class: "mode-help" }, help),
        ),
      ),
    );
    const onDeny = h(
      "div",
      { class: "field" },
      h("label", { for: "b-on-deny" }, "Message the agent reads when denied (on_deny)"),
      h("input", {
        id: "b-on-deny",
        type: "text",
        "data-focus": "on-deny",
        value: rule.on_deny || "",
        placeholder: "e.g. deleting records is not allowed",
        onchange: (e) => edit([[[...base, "on_deny"], e.target.value.trim() ? e.target.value : undefined]]),
      }),
    );
    let body = null;
    if (mode === "deny") body = onDeny;
    if (mode === "hide" && isObject(policy.tools) && key in policy.tools) {
      body = h("p", { class: "warn" }, "It also has a rule in tools, which hide overrides.");
    }
    if (mode === "custom") {
      const approval = isObject(rule.approval) ? rule.approval : null;
      body = h(
        "div",
        { class: "custom" },
        rule.action === "deny"
          ? h(
              "p",
              { class: "warn" },
              "“action”: “deny” denies every call, so nothing below applies. ",
              h("button", { type: "button", class: "small", onclick: () => edit([[[...base, "action"], undefined]]) }, "Remove action"),
            )
          : null,
        tool && !paths.length ? h("p", { class: "muted" }, "This tool's inputSchema lists no arguments; type paths yourself (args.name).") : null,
        h("h4", {}, "Deny the call if any of these holds (deny_if)"),
        conditionRows(rule, base, "deny_if", paths, `${safe}`),
        h("h4", {}, "Deny the call unless all of these hold (require)"),
        conditionRows(rule, base, "require", paths, `${safe}`),
        h("h4", {}, "Rate limits (limits)"),
        limitRows(policy, rule.limits, [...base, "limits"], safe, `${safe.replace(/\*/g, "")}_rate`.replace(/^_+/, "")),
        h("h4", {}, "Human approval (approval)"),
        h(
          "label",
          { class: "check" },
          h("input", {
            type: "checkbox",
            "data-focus": "approval-on",
            checked: Boolean(approval),
            onchange: (e) => edit([[[...base, "approval"], e.target.checked ? { ttl: "1h" } : undefined]]),
          }),
          "Calls wait for a human to approve them",
        ),
        approval
          ? h(
              "div",
              { class: "approval" },
              h(
                "div",
                { class: "field inline-field" },
                h("label", { for: "b-ttl" }, "Approval lives for (ttl)"),
                h("input", {
                  id: "b-ttl",
                  type: "text",
                  class: "mono short",
                  list: "ttl-suggestions",
                  "data-focus": "ttl",
                  value: approval.ttl || "",
                  placeholder: "1h",
                  onchange: (e) => edit([[[...base, "approval", "ttl"], e.target.value.trim() || undefined]]),
                }),
                h("datalist", { id: "ttl-suggestions" }, ["15m", "30m", "1h", "4h", "1d"].map((v) => h("option", { value: v }))),
              ),
              h("div", { class: "field-label" }, "Only when all of these hold (if; empty: every call)"),
              conditionRows(approval, [...base, "approval"], "if", paths, `${safe}-approval`),
            )
          : null,
        onDeny,
      );
    }
    const hasEntry = isObject(policy.tools) && Object.prototype.hasOwnProperty.call(policy.tools, key) && mode !== "hide";
    const entryMode = hasEntry
      ? h(
          "div",
          { class: "field inline-field entry-mode" },
          h("label", { for: "b-entry-mode", title: "CONTRACT §7: an entry's mode overrides the policy's" }, "This entry's rules (mode)"),
          h(
            "select",
            {
              id: "b-entry-mode",
              "data-focus": "entry-mode",
              onchange: (e) => edit([[[...base, "mode"], e.target.value || undefined]]),
            },
            h("option", { value: "", selected: !rule.mode }, `as the policy: ${policy.mode === "monitor" ? "monitored" : "enforced"}`),
            h("option", { value: "enforce", selected: rule.mode === "enforce" }, "enforced"),
            h("option", { value: "monitor", selected: rule.mode === "monitor" }, "monitored: reported, not enforced"),
          ),
          entryMonitored(policy, key) ? h("span", { class: "badge monitored" }, "monitor") : null,
        )
      : null;
    return h(
      "section",
      { class: "card", "aria-labelledby": "b-rule-title" },
      h(
        "div",
        { class: "card-head" },
        h("h3", { id: "b-rule-title" }, "Rule for ", h("code", {}, visible(key))),
        key.includes("*")
          ? null
          : h("button", { type: "button", class: "small", onclick: () => app.simulate(key) }, "Try a call →"),
      ),
      tool && tool.description ? h("p", { class: "muted desc" }, tool.description) : null,
      warning,
      warning ? null : matchSummary(key),
      key.includes("*") || warning ? null : appliesList(policy, key),
      modeRadios,
      entryMode,
      body,
    );
  }

  /** Paths offered for a pattern: those common to the tools it matches. */
  function commonPaths(key) {
    const matched = app.tools.filter((t) => keyMatches(key, t.name));
    if (!matched.length) return [];
    const sets = matched.map((t) => argumentPaths(t.inputSchema));
    return sets[0].filter((p) => sets.every((s) => s.some((q) => q.path === p.path)));
  }

  function select(key, focus = false) {
    if (key !== selected) forceCustom = null;
    selected = key;
    update();
    if (focus) {
      const first = root.querySelector('input[name="b-mode"]:checked') || root.querySelector("#b-key");
      if (first) first.focus();
    }
  }

  function update() {
    const policy = app.policy;
    if (!isObject(policy)) {
      render(
        root,
        h(
          "p",
          { class: "notice" },
          "The policy is not valid JSON, so the builder cannot read it. Fix the JSON in the editor (the error is shown at its line).",
        ),
      );
      return;
    }
    const keyInput = h("input", {
      id: "b-key",
      type: "text",
      class: "mono",
      list: "b-key-options",
      "data-focus": "key",
      value: selected,
      placeholder: app.tools.length ? `${app.tools[0].name}, or a pattern with *` : "a tool name, or a pattern such as mail_*",
      spellcheck: "false",
      autocomplete: "off",
      onchange: (e) => select(e.target.value.trim()),
      onkeydown: (e) => {
        if (e.key === "Enter") {
          e.preventDefault();
          select(e.target.value.trim(), true);
        }
      },
    });
    const options = new Set([...(isObject(policy.tools) ? Object.keys(policy.tools) : []), ...app.tools.map((t) => t.name)]);
    render(
      root,
      app.checkOk ? null : h("p", { class: "notice" }, "The policy has errors (see the editor). The builder still edits it."),
      policySettings(policy),
      h(
        "section",
        { class: "card", "aria-labelledby": "b-rules-title" },
        h("h3", { id: "b-rules-title" }, "Rules"),
        h(
          "div",
          { class: "field" },
          h("label", { for: "b-key" }, "Tool or pattern (* matches any run of characters)"),
          h("div", { class: "row" }, keyInput, h("button", { type: "button", onclick: () => select(keyInput.value.trim(), true) }, "Open")),
          h("datalist", { id: "b-key-options" }, [...options].map((n) => h("option", { value: n }))),
        ),
        ruleList(policy),
      ),
      selected ? ruleEditor(policy, selected) : null,
    );
  }

  return { update, select, get selected() { return selected; } };
}

export { STATUS_LABEL };
