// toolgate's operator page (CONTRACT §6): pending approvals, the audit log and the
// policy, over the admin API of the Worker that serves this page. Plain ES module, no
// build step. Every URL is relative, so the page works wherever the Worker serves it.
//
// The admin token lives in sessionStorage only (this tab, until it closes or the
// operator signs out). Everything the agent sent (tool names, grants, arguments) is
// untrusted text: it is only ever put into the page with textContent, never as HTML.

import { toast } from "./src/dom.js";

const TOKEN_KEY = "toolgate-admin.token";
const PLAYGROUND_KEY = "toolgate-playground.policy";
const APPROVALS_EVERY_MS = 3000;
const AUDIT_EVERY_MS = 3000;
const POLICY_EVERY_MS = 10000;

const $ = (id) => document.getElementById(id);

/** `h("button", { class: "x", onclick: f }, "text", child)`: an element, text kept as text. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "value") el.value = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  const add = (list) => {
    for (const child of list) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) add(child);
      else el.append(child instanceof Node ? child : String(child));
    }
  };
  add(children);
  return el;
}

// ------------------------------------------------------------------ small helpers

function pad(n, width = 2) {
  return String(n).padStart(width, "0");
}

/** Local date and time, to the second: `2026-11-23 14:05:09`. */
function when(ms) {
  if (typeof ms !== "number") return "—";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The time alone when `ms` is today, else the date and time. */
function shortWhen(ms) {
  if (typeof ms !== "number") return "—";
  const full = when(ms);
  return full.slice(0, 10) === when(Date.now()).slice(0, 10) ? full.slice(11) : full;
}

/** Local time only, with milliseconds, for the audit table: `14:05:09.123`. */
function clock(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** `4 s`, `12 min 5 s`, `2 h 3 min`, `3 d 4 h`. */
function span(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ""}`;
  if (s < 86400) return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ""}`;
  return `${Math.floor(s / 86400)} d${Math.floor((s % 86400) / 3600) ? ` ${Math.floor((s % 86400) / 3600)} h` : ""}`;
}

function relative(ms, now = Date.now()) {
  return ms >= now ? `in ${span(ms - now)}` : `${span(now - ms)} ago`;
}

/** datetime-local value → epoch ms (or undefined). */
function localToMs(value) {
  if (!value) return undefined;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}


/** JSON pretty-printed into syntax-coloured spans (text nodes only). */
function jsonView(value) {
  const out = [];
  const walk = (v, indent) => {
    const pad1 = "  ".repeat(indent + 1);
    const pad0 = "  ".repeat(indent);
    if (Array.isArray(v)) {
      if (!v.length) return out.push(h("span", { class: "j-p" }, "[]"));
      out.push(h("span", { class: "j-p" }, "["), "\n");
      v.forEach((item, i) => {
        out.push(pad1);
        walk(item, indent + 1);
        out.push(i < v.length - 1 ? h("span", { class: "j-p" }, ",") : "", "\n");
      });
      return out.push(pad0, h("span", { class: "j-p" }, "]"));
    }
    if (v && typeof v === "object") {
      const keys = Object.keys(v);
      if (!keys.length) return out.push(h("span", { class: "j-p" }, "{}"));
      out.push(h("span", { class: "j-p" }, "{"), "\n");
      keys.forEach((k, i) => {
        out.push(pad1, h("span", { class: "j-k" }, JSON.stringify(k)), h("span", { class: "j-p" }, ": "));
        walk(v[k], indent + 1);
        out.push(i < keys.length - 1 ? h("span", { class: "j-p" }, ",") : "", "\n");
      });
      return out.push(pad0, h("span", { class: "j-p" }, "}"));
    }
    const cls = typeof v === "string" ? "j-s" : typeof v === "number" ? "j-n" : "j-l";
    return out.push(h("span", { class: cls }, JSON.stringify(v)));
  };
  walk(value, 0);
  return out;
}

/** Text with `backticked` parts as <code>. */
function withCode(text) {
  return text.split(/(`[^`]*`)/).map((part) => (part.length > 1 && part.startsWith("`") && part.endsWith("`") ? h("code", {}, part.slice(1, -1)) : part));
}

function decisionBadge(decision) {
  const label = { rate_limited: "rate limited", approval_required: "approval required" }[decision] || decision;
  return h("span", { class: `badge decision decision-${decision}` }, label);
}

const STATUS_CLASS = {
  pending: "decision-approval_required",
  approved: "decision-allow",
  used: "decision-hidden",
  denied: "decision-deny",
  expired: "decision-rate_limited",
};

function statusBadge(status) {
  return h("span", { class: `badge decision ${STATUS_CLASS[status] || ""}` }, status);
}

// ------------------------------------------------------------------ JSON Pointer → text

/**
 * The text range of the value at `pointer` in the JSON `text` (or of its deepest existing
 * parent, or of the key when the pointer names a missing member), for showing an error.
 */
function locate(text, pointer) {
  const want = pointer
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
  let pos = 0;
  let best = { from: 0, to: Math.min(text.length, 1) };
  const ws = () => {
    while (pos < text.length && " \t\r\n".includes(text[pos])) pos++;
  };
  const str = () => {
    const start = pos++;
    while (pos < text.length && text[pos] !== '"') pos += text[pos] === "\\" ? 2 : 1;
    pos++;
    return [start, pos];
  };
  // Parses one value; `depth` is how many pointer segments still match along this path.
  const value = (depth) => {
    ws();
    const start = pos;
    const onPath = depth >= 0;
    if (onPath) best = { from: start, to: start + 1 };
    const c = text[pos];
    if (c === "{" || c === "[") {
      const isObject = c === "{";
      pos++;
      let index = 0;
      for (;;) {
        ws();
        if (text[pos] === (isObject ? "}" : "]")) {
          pos++;
          break;
        }
        let segment = String(index);
        let keyRange = null;
        if (isObject) {
          keyRange = str();
          try {
            segment = JSON.parse(text.slice(keyRange[0], keyRange[1]));
          } catch {
            segment = null;
          }
          ws();
          pos++; // ':'
        }
        const next = onPath && depth < want.length && want[depth] === segment ? depth + 1 : -1;
        if (next >= 0 && keyRange) best = { from: keyRange[0], to: keyRange[1] };
        value(next);
        // The member the pointer names: show its key and its value together.
        if (next === want.length && keyRange) best = { from: keyRange[0], to: best.to };
        ws();
        if (text[pos] === ",") pos++;
        index++;
        if (pos >= text.length) break;
      }
      if (onPath && depth === want.length) best = { from: start, to: pos };
    } else if (c === '"') {
      str();
      if (onPath && depth === want.length) best = { from: start, to: pos };
    } else {
      while (pos < text.length && !",]} \t\r\n".includes(text[pos])) pos++;
      if (pos === start) pos++;
      if (onPath && depth === want.length) best = { from: start, to: pos };
    }
    return best;
  };
  try {
    value(0);
    if (!want.length) best = { from: 0, to: Math.min(text.length, 1) }; // the whole document: its start
  } catch {
    // Not JSON: the start of the text is the best place.
  }
  const line = text.slice(0, best.from).split("\n").length;
  return { ...best, line };
}

// ------------------------------------------------------------------ the API

let token = null;

class ApiError extends Error {
  constructor(status, body, message) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function api(path, { method = "GET", body, query } = {}) {
  if (!token) throw new ApiError(401, null, "signed out");
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(url, { method, headers, body, cache: "no-store", credentials: "omit" });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (response.status === 401) {
    signOut("The gateway refused this admin token. Sign in again.");
    throw new ApiError(401, data, "unauthorized");
  }
  if (!response.ok) {
    const why = data && typeof data === "object" && !Array.isArray(data) && data.error ? data.error : `HTTP ${response.status}`;
    throw new ApiError(response.status, data, why);
  }
  return data;
}

// ------------------------------------------------------------------ polling

const timers = [];

/** Runs `fn` now and every `ms` while signed in and the tab is visible; never overlapping. */
function every(ms, fn) {
  let running = false;
  const tick = async () => {
    if (!token || document.hidden || running) return;
    running = true;
    try {
      await fn();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) console.warn("toolgate admin:", err.message);
    } finally {
      running = false;
    }
  };
  timers.push(setInterval(tick, ms));
  return tick;
}

function stopPolling() {
  while (timers.length) clearInterval(timers.pop());
}

// ------------------------------------------------------------------ approvals

const cards = new Map(); // approval id → { el, status, signature }

function approvalCard(a) {
  const note = h("input", {
    type: "text",
    class: "note-input",
    id: `note-${a.id}`,
    placeholder: "Note for the agent (optional)",
    title: "Sent with your decision. On a deny, it is the message the agent reads.",
    maxlength: "500",
    "aria-label": `Note for the approval of ${a.tool} by ${a.grant}`,
  });
  const decide = async (approve, button) => {
    const verdict = approve ? "approve" : "deny";
    for (const b of card.querySelectorAll("button")) b.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      const text = note.value.trim();
      const reply = await api(`admin/approvals/${encodeURIComponent(a.id)}/${verdict}`, {
        method: "POST",
        body: JSON.stringify(text ? { note: text } : {}),
      });
      const status = reply?.approval?.status || (approve ? "approved" : "denied");
      toast(approve ? `Approved: ${a.tool} for ${a.grant}. The identical call passes once.` : `Denied: ${a.tool} for ${a.grant}.`, "info");
      card.classList.add(`decided-${status}`);
      moveFocusFrom(card);
      await refreshApprovals();
    } catch (err) {
      if (err.status === 409) toast(`Too late: ${err.message}`, "error");
      else if (err.status === 404) toast(`This approval no longer exists.`, "error");
      else if (err.status !== 401) toast(`Could not ${verdict}: ${err.message}`, "error");
      if (err.status === 409 || err.status === 404) await refreshApprovals();
      for (const b of card.querySelectorAll("button")) b.disabled = false;
      button.removeAttribute("aria-busy");
    }
  };
  const approveButton = h("button", { type: "button", class: "primary approve", "data-action": "approve" }, "Approve");
  const denyButton = h("button", { type: "button", class: "danger deny", "data-action": "deny" }, "Deny");
  approveButton.addEventListener("click", () => decide(true, approveButton));
  denyButton.addEventListener("click", () => decide(false, denyButton));
  note.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      decide(false, denyButton);
    }
  });

  const pending = a.status === "pending";
  const args = a.arguments;
  const card = h(
    "article",
    { class: `approval-card status-${a.status}`, "data-id": a.id, "aria-labelledby": `ap-title-${a.id}` },
    h(
      "header",
      { class: "approval-head" },
      h("h3", { id: `ap-title-${a.id}`, class: "approval-tool mono" }, a.tool),
      statusBadge(a.status),
      h("span", { class: "approval-grant" }, "grant ", h("strong", { class: "mono" }, a.grant)),
    ),
    h(
      "dl",
      { class: "approval-meta small" },
      h("dt", {}, "Requested"),
      h("dd", { title: when(a.created_at) }, shortWhen(a.created_at)),
      h("dt", {}, "Expires"),
      h(
        "dd",
        { title: when(a.expires_at) },
        shortWhen(a.expires_at),
        pending || a.status === "approved"
          ? [" · ", h("span", { class: "expires", "data-expires": String(a.expires_at) }, relative(a.expires_at))]
          : null,
      ),
      h("dt", {}, "Rule"),
      h("dd", {}, h("code", { title: a.rule || "" }, a.rule || "—")),
      h("dt", {}, "Approval"),
      h("dd", {}, h("code", { class: "id" }, a.id)),
      h("dt", {}, "SHA-256"),
      h("dd", { title: "SHA-256 of the arguments' canonical JSON (RFC 8785)" }, h("code", { class: "sha" }, a.arguments_sha256)),
      a.decided_by ? [h("dt", {}, "Decided"), h("dd", {}, `by ${a.decided_by}, ${shortWhen(a.decided_at)}`)] : null,
      a.note ? [h("dt", {}, "Note"), h("dd", { class: "note" }, a.note)] : null,
    ),
    args === null || args === undefined
      ? h("p", { class: "muted small args-gone" }, "Arguments are no longer kept for this approval.")
      : h(
          "div",
          { class: "approval-args" },
          h("div", { class: "field-label" }, "Arguments"),
          h("pre", { class: "json args", tabindex: "0", "aria-label": `Arguments of ${a.tool}` }, jsonView(args)),
        ),
    pending ? h("div", { class: "decide" }, note, approveButton, denyButton) : null,
  );
  return card;
}

/** After a card's decision, focus the next card's Approve button, or the section title. */
function moveFocusFrom(card) {
  if (!card.contains(document.activeElement)) return;
  let next = card.nextElementSibling;
  while (next && !next.querySelector("button.approve")) next = next.nextElementSibling;
  let prev = card.previousElementSibling;
  while (!next && prev && !prev.querySelector("button.approve")) prev = prev.previousElementSibling;
  const target = (next || prev)?.querySelector("button.approve") || $("approvals-title");
  target.focus();
}

async function refreshApprovals() {
  const status = $("approval-status").value;
  const data = await api("admin/approvals", { query: { status } });
  const list = Array.isArray(data?.approvals) ? data.approvals : [];
  const container = $("approval-list");
  const seen = new Set();
  let previous = null;
  for (const a of list) {
    seen.add(a.id);
    const signature = JSON.stringify([a.status, a.decided_at, a.note, a.arguments === null, a.expires_at]);
    let entry = cards.get(a.id);
    if (!entry || entry.signature !== signature) {
      const el = approvalCard(a);
      if (entry) {
        const hadFocus = entry.el.contains(document.activeElement);
        entry.el.replaceWith(el);
        if (hadFocus) el.querySelector("button, pre")?.focus();
      }
      entry = { el, signature };
      cards.set(a.id, entry);
    }
    // Keep the server's order (newest first) without touching cards that did not move.
    const want = previous ? previous.nextElementSibling : container.firstElementChild;
    if (want !== entry.el) container.insertBefore(entry.el, want);
    previous = entry.el;
  }
  for (const [id, entry] of cards) {
    if (!seen.has(id)) {
      if (entry.el.contains(document.activeElement)) moveFocusFrom(entry.el);
      entry.el.remove();
      cards.delete(id);
    }
  }
  for (const el of [...container.children]) if (!el.dataset.id) el.remove();
  if (!list.length) {
    const label = status ? `${status} approvals` : "approvals";
    container.append(h("p", { class: "empty muted" }, status === "pending" ? "Nothing is waiting for a decision." : `No ${label}.`));
  }
  if (status === "pending") setPendingCount(list.length);
  else api("admin/approvals", { query: { status: "pending" } }).then((d) => setPendingCount(d?.approvals?.length ?? 0), () => {});
  $("approvals-updated").textContent = `updated ${clock(Date.now()).slice(0, 8)}`;
}

function setPendingCount(n) {
  const badge = $("pending-count");
  badge.textContent = String(n);
  badge.classList.toggle("has-pending", n > 0);
  document.title = n > 0 ? `(${n}) toolgate admin` : "toolgate admin — approvals, audit and policy";
}

function tickCountdowns() {
  const now = Date.now();
  for (const el of document.querySelectorAll("[data-expires]")) {
    const at = Number(el.dataset.expires);
    el.textContent = at > now ? relative(at, now) : "expired";
    el.classList.toggle("soon", at - now < 60_000);
  }
}

// ------------------------------------------------------------------ audit

const audit = {
  filters: {},
  cursors: [null], // cursors[i] is the cursor that loads page i
  page: 0,
  next: null,
  shown: "", // signature of what is on screen
  open: new Set(), // record ids whose details are open
};

function readFilters() {
  const form = $("audit-filters");
  const get = (name) => form.elements[name].value.trim();
  return {
    grant: get("grant") || undefined,
    tool: get("tool") || undefined,
    decision: get("decision") || undefined,
    since: localToMs(get("since")),
    until: localToMs(get("until")),
    limit: get("limit") || "50",
  };
}

function auditRow(r) {
  const open = audit.open.has(r.id);
  const toggle = h(
    "button",
    { type: "button", class: "icon row-toggle", "aria-expanded": String(open), "aria-controls": `rec-${r.id}`, title: "Show the whole record" },
    h("span", { "aria-hidden": "true" }, open ? "▾" : "▸"),
    h("span", { class: "sr-only" }, `Details of the ${r.method || "request"} at ${clock(r.at)}`),
  );
  const row = h(
    "tr",
    { class: `rec decision-row-${r.decision}`, "data-id": r.id },
    h("td", { class: "c-toggle" }, toggle),
    h("td", { class: "c-time mono", title: when(r.at) }, clock(r.at)),
    h("td", { class: "c-grant mono", title: r.session ? `session ${r.session}` : "no session" }, r.grant),
    h("td", { class: "c-tool mono", title: r.tool ?? r.method ?? "" }, r.tool ?? h("span", { class: "muted" }, r.method || "—")),
    h("td", { class: "c-decision" }, decisionBadge(r.decision)),
    h("td", { class: "c-rule mono", title: r.rule ?? "" }, r.rule ?? ""),
    h("td", { class: "c-message", title: r.message ?? "" }, r.message ?? ""),
    h("td", { class: "c-keys mono", title: (r.argument_keys || []).join(", ") }, (r.argument_keys || []).join(", ")),
    h("td", { class: "c-origin mono" }, r.origin_status ?? "—"),
    h("td", { class: "c-ms mono" }, String(r.latency_ms ?? "")),
  );
  const detail = h(
    "tr",
    { class: "rec-detail", id: `rec-${r.id}`, hidden: open ? null : true },
    h("td", { colspan: "10" }, h("pre", { class: "json" }, jsonView(r))),
  );
  toggle.addEventListener("click", () => {
    const nowOpen = detail.hidden;
    detail.hidden = !nowOpen;
    toggle.setAttribute("aria-expanded", String(nowOpen));
    toggle.firstElementChild.textContent = nowOpen ? "▾" : "▸";
    if (nowOpen) audit.open.add(r.id);
    else audit.open.delete(r.id);
  });
  return [row, detail];
}

async function loadAudit({ quiet = false } = {}) {
  const cursor = audit.cursors[audit.page];
  let data;
  try {
    data = await api("admin/audit", { query: { ...audit.filters, cursor: cursor ?? undefined } });
    $("audit-error").textContent = "";
  } catch (err) {
    if (err.status !== 401) $("audit-error").textContent = `The audit log could not be read: ${err.message}`;
    if (!quiet) throw err;
    return;
  }
  const records = Array.isArray(data?.records) ? data.records : [];
  audit.next = data?.cursor ?? null;
  const signature = records.map((r) => r.id).join(",");
  if (signature !== audit.shown) {
    audit.shown = signature;
    const body = $("audit-rows");
    const focused = document.activeElement?.closest?.("tr.rec")?.dataset.id;
    body.replaceChildren(
      ...(records.length
        ? records.flatMap(auditRow)
        : [h("tr", {}, h("td", { colspan: "10", class: "empty muted" }, "No records match."))]),
    );
    if (focused) body.querySelector(`tr[data-id="${CSS.escape(focused)}"] button`)?.focus();
  }
  $("audit-newer").disabled = audit.page === 0;
  $("audit-newest").disabled = audit.page === 0;
  $("audit-older").disabled = !audit.next;
  const live = $("audit-live").checked && audit.page === 0;
  $("audit-page").textContent = `Page ${audit.page + 1} · ${records.length} record${records.length === 1 ? "" : "s"}${audit.page > 0 ? " · live updates pause on older pages" : ""}`;
  $("audit-updated").textContent = live ? `updated ${clock(Date.now()).slice(0, 8)}` : "";
}

function applyFilters() {
  audit.filters = readFilters();
  audit.cursors = [null];
  audit.page = 0;
  audit.shown = "";
  return loadAudit({ quiet: true });
}

// ------------------------------------------------------------------ policy

const policy = {
  version: null,
  sourceText: "", // the policy in force, pretty-printed
  dirty: false,
};

async function loadPolicy({ initial = false } = {}) {
  const [current, history] = await Promise.all([api("admin/policy"), api("admin/policy/history")]);
  const text = JSON.stringify(current.policy, null, 2);
  const changed = policy.version !== current.version;
  policy.version = current.version;
  policy.sourceText = text;
  $("policy-version").replaceChildren(
    h("span", { class: "badge version-badge" }, `version ${current.version}`),
    " ",
    h(
      "span",
      { class: "muted small" },
      current.version === 0 ? "the deployed POLICY variable" : `stored ${when(current.updated_at)}`,
    ),
  );
  const textarea = $("policy-text");
  if (initial || (!policy.dirty && changed)) {
    textarea.value = text;
    policy.dirty = false;
    updateDirty();
  }
  const versions = Array.isArray(history?.versions) ? history.versions : [];
  $("policy-history").replaceChildren(
    ...versions.map((v) =>
      h(
        "tr",
        { class: v.version === current.version ? "current" : "" },
        h("td", {}, h("strong", {}, String(v.version)), v.version === current.version ? h("span", { class: "badge in-force" }, "in force") : null),
        h("td", { class: "small" }, v.updated_at ? when(v.updated_at) : h("span", { class: "muted" }, "deployed")),
        h("td", { class: "mono small" }, v.updated_by ?? ""),
        h("td", { class: "mono small sha", title: v.sha256 }, v.sha256 ? `${v.sha256.slice(0, 12)}…` : ""),
      ),
    ),
  );
  $("policy-updated").textContent = `updated ${clock(Date.now()).slice(0, 8)}`;
}

function updateDirty() {
  const text = $("policy-text").value;
  policy.dirty = text !== policy.sourceText;
  $("policy-dirty").textContent = policy.dirty ? "edited — not pushed yet" : "same as the policy in force";
  $("policy-reset").disabled = !policy.dirty;
}

function playgroundPolicy() {
  try {
    const text = localStorage.getItem(PLAYGROUND_KEY);
    return text && text.trim() ? text : null;
  } catch {
    return null;
  }
}

function updatePlaygroundButton() {
  const text = playgroundPolicy();
  const button = $("policy-playground");
  button.disabled = text === null;
  button.title = text === null
    ? "The playground has no policy saved in this browser yet"
    : "Load the policy you last edited in the playground in this browser";
}

function showPolicyErrors(errors, text) {
  const box = $("policy-errors");
  if (!errors.length) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  box.hidden = false;
  box.replaceChildren(
    h("h3", { class: "errors-title" }, `${errors.length} error${errors.length === 1 ? "" : "s"}: the policy was not applied`),
    h(
      "ol",
      {},
      errors.map((e) => {
        const at = locate(text, e.pointer || "");
        return h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: "error-item",
              title: "Show this place in the policy",
              onclick: () => {
                const area = $("policy-text");
                area.focus();
                area.setSelectionRange(at.from, at.to);
                const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
                area.scrollTop = Math.max(0, (at.line - 4) * lineHeight);
              },
            },
            h("span", { class: "error-where" }, h("span", { class: "error-line" }, `Line ${at.line}`), h("code", { class: "error-pointer" }, e.pointer || "/")),
            h("span", { class: "error-msg" }, withCode(String(e.message ?? ""))),
          ),
        );
      }),
    ),
  );
}

async function pushPolicy() {
  const text = $("policy-text").value;
  const status = $("policy-status");
  const button = $("policy-push");
  button.disabled = true;
  status.className = "policy-status small";
  status.textContent = "Validating…";
  try {
    const reply = await api("admin/policy", { method: "PUT", body: text });
    showPolicyErrors([], text);
    status.className = "policy-status small ok";
    status.textContent = `✓ Version ${reply.version} stored (SHA-256 ${String(reply.sha256).slice(0, 12)}…). Every isolate applies it within 5 s.`;
    toast(`Policy version ${reply.version} is in force.`);
    policy.dirty = false;
    await loadPolicy({ initial: true });
  } catch (err) {
    if (err.status === 400 && Array.isArray(err.body)) {
      status.className = "policy-status small bad";
      status.textContent = "✗ Refused: nothing changed. Fix the errors below and push again.";
      showPolicyErrors(err.body, text);
      $("policy-errors").querySelector("button")?.focus();
    } else if (err.status !== 401) {
      status.className = "policy-status small bad";
      status.textContent = `✗ Not pushed: ${err.message}`;
    }
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ signing in and out

let tickers = [];

function showSignedIn(on) {
  $("sign-in").hidden = on;
  $("console").hidden = !on;
  for (const el of document.querySelectorAll(".signed-in-only")) el.hidden = !on;
}

async function start() {
  showSignedIn(true);
  updatePlaygroundButton();
  audit.filters = readFilters();
  const approvalsTick = every(APPROVALS_EVERY_MS, refreshApprovals);
  const auditTick = every(AUDIT_EVERY_MS, () => ($("audit-live").checked && audit.page === 0 ? loadAudit() : null));
  const policyTick = every(POLICY_EVERY_MS, () => loadPolicy());
  tickers = [approvalsTick, auditTick, policyTick];
  timers.push(setInterval(tickCountdowns, 1000));
  await Promise.allSettled([approvalsTick(), loadAudit({ quiet: true }), loadPolicy({ initial: true })]);
}

function signOut(message) {
  token = null;
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage may be disabled.
  }
  stopPolling();
  cards.clear();
  $("approval-list").replaceChildren();
  $("audit-rows").replaceChildren();
  $("policy-history").replaceChildren();
  $("policy-text").value = "";
  $("policy-errors").hidden = true;
  $("policy-status").textContent = "";
  Object.assign(audit, { cursors: [null], page: 0, next: null, shown: "", open: new Set() });
  Object.assign(policy, { version: null, sourceText: "", dirty: false });
  setPendingCount(0);
  showSignedIn(false);
  $("sign-in-error").textContent = message || "";
  $("token").value = "";
  $("token").focus();
}

async function signIn(candidate) {
  const button = $("sign-in-button");
  button.disabled = true;
  $("sign-in-error").textContent = "";
  try {
    const response = await fetch("admin/policy", {
      headers: { authorization: `Bearer ${candidate}` },
      cache: "no-store",
      credentials: "omit",
    });
    await response.text();
    if (response.status === 404) {
      $("sign-in-error").textContent = "The admin API is off on this gateway: set the ADMINS secret to turn it on.";
      return;
    }
    if (response.status === 401) {
      $("sign-in-error").textContent = "That token was refused.";
      $("token").select();
      return;
    }
    if (!response.ok) {
      $("sign-in-error").textContent = `The gateway answered HTTP ${response.status}; try again shortly.`;
      return;
    }
    token = candidate;
    try {
      sessionStorage.setItem(TOKEN_KEY, candidate);
    } catch {
      // Without sessionStorage the token lasts until this page is left.
    }
    $("token").value = "";
    await start();
    $("approvals-title").focus();
  } catch (err) {
    $("sign-in-error").textContent = `The gateway could not be reached: ${err.message}`;
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ wiring

function wire() {
  $("sign-in-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = $("token").value.trim();
    if (value) signIn(value);
  });
  $("sign-out").addEventListener("click", () => {
    signOut("");
    toast("Signed out. The token is forgotten.");
  });

  $("approval-status").addEventListener("change", () => {
    const status = $("approval-status").value;
    $("approvals-title").textContent = status ? `${status[0].toUpperCase()}${status.slice(1)} approvals` : "All approvals";
    $("approvals-note").hidden = status !== "pending";
    cards.clear();
    $("approval-list").replaceChildren();
    tickers[0]?.();
  });
  $("approvals-refresh").addEventListener("click", () => tickers[0]?.());

  $("audit-filters").addEventListener("submit", (e) => {
    e.preventDefault();
    applyFilters();
  });
  $("audit-clear").addEventListener("click", () => {
    $("audit-filters").reset();
    applyFilters();
  });
  $("f-limit").addEventListener("change", applyFilters);
  $("f-decision").addEventListener("change", applyFilters);
  $("audit-older").addEventListener("click", () => {
    if (!audit.next) return;
    audit.cursors[audit.page + 1] = audit.next;
    audit.page++;
    loadAudit({ quiet: true });
  });
  $("audit-newer").addEventListener("click", () => {
    if (audit.page === 0) return;
    audit.page--;
    loadAudit({ quiet: true });
  });
  $("audit-newest").addEventListener("click", () => {
    audit.page = 0;
    loadAudit({ quiet: true });
  });
  $("audit-live").addEventListener("change", () => {
    if ($("audit-live").checked) loadAudit({ quiet: true });
    else $("audit-updated").textContent = "live updates off";
  });

  const area = $("policy-text");
  area.addEventListener("input", updateDirty);
  area.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      pushPolicy();
    }
    // Tab is left alone: it moves focus out of the textarea, so keyboard users are never trapped.
  });
  $("policy-push").addEventListener("click", pushPolicy);
  $("policy-reset").addEventListener("click", () => {
    area.value = policy.sourceText;
    updateDirty();
    showPolicyErrors([], "");
    $("policy-status").textContent = "";
    area.focus();
  });
  $("policy-playground").addEventListener("click", () => {
    const text = playgroundPolicy();
    if (text === null) return;
    let pretty = text;
    try {
      pretty = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // Keep the text as it is: the gateway will say what is wrong with it.
    }
    area.value = pretty;
    updateDirty();
    showPolicyErrors([], "");
    $("policy-status").className = "policy-status small";
    $("policy-status").textContent = "Loaded the playground's policy. Push it to put it in force.";
    area.focus();
  });
  window.addEventListener("storage", (e) => {
    if (e.key === PLAYGROUND_KEY || e.key === null) updatePlaygroundButton();
    if (e.key === TOKEN_KEY && e.newValue === null && token) signOut("");
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) for (const t of tickers) t();
  });
}

wire();
let saved = null;
try {
  saved = sessionStorage.getItem(TOKEN_KEY);
} catch {
  saved = null;
}
if (saved) {
  token = saved;
  start();
} else {
  showSignedIn(false);
  $("token").focus();
}
