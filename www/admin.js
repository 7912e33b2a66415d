// toolgate's operator page (CONTRACT §6–§8): pending approvals, tool changes (pins), the
// catalogue, the audit log and the policy, over the admin API of the gateway that serves
// this page. Plain ES module, no build step. Every URL is relative, so the page works
// wherever the gateway serves it.
//
// It stays fast with 10,000 approvals and 100,000 audit records: it never asks for
// everything. Lists come a page at a time with the API's cursors ("Load more", "Older");
// only the first page of pending approvals is polled, at most every 5 s, and nothing is
// polled while the tab is hidden.
//
// The admin token lives in sessionStorage only (this tab, until it closes or the
// operator signs out). Everything the agent or the origin sent (tool names, grants,
// arguments, descriptions) is untrusted text: it is only ever put into the page as text,
// never as HTML. Arguments are shown from the exact JSON text the gateway sent, never
// through JSON.parse, so that an integer beyond 2^53 shows the digits the agent sent.

import { toast } from "./src/dom.js";
import { prettyLines, rawAt } from "./src/jsontext.js";
import { visibleNodes } from "./src/visible.js";

const TOKEN_KEY = "toolgate-admin.token";
const PLAYGROUND_KEY = "toolgate-playground.policy";
/** No list is polled more often than this. */
const POLL_MIN_MS = 5000;
const APPROVALS_EVERY_MS = 5000;
const AUDIT_EVERY_MS = 5000;
const PINS_EVERY_MS = 30000;
const POLICY_EVERY_MS = 15000;
/** Approvals shown a page at a time (the API gives at most 100). */
const APPROVALS_PAGE = 50;
/** Tool changes whose diff is fetched at once; the others on demand. */
const DIFFS_AT_ONCE = 10;

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

/** Replaces `el`'s children, leaving out the null, undefined and false ones. */
function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

/** Untrusted text with its invisible characters (bidi overrides, zero-width) shown by name. */
const shown = (text) => visibleNodes(String(text ?? ""), h);

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

/**
 * `4 s`, `12 min 5 s`, `2 h 3 min`, `3 d 4 h`: whole seconds first, then split into
 * units, so nothing reads `60 s`.
 */
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

const kib = (bytes) => (bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`);

const CLASS = { key: "j-k", string: "j-s", number: "j-n", literal: "j-l", punct: "j-p" };

/**
 * A JSON text pretty-printed into syntax-coloured lines, every number and string exactly
 * as written (jsontext.js), invisible characters in strings shown by name. Text that is
 * not JSON is shown as it is.
 */
function jsonTextView(text) {
  let lines;
  try {
    lines = prettyLines(text);
  } catch {
    return [h("span", { class: "j-bad", title: "not JSON: shown as received" }, ...shown(text))];
  }
  const out = [];
  lines.forEach((line, i) => {
    if (i) out.push("\n");
    for (const piece of line) {
      if (piece.type === "indent") out.push(piece.text);
      else out.push(h("span", { class: CLASS[piece.type] }, ...(piece.type === "string" || piece.type === "key" ? shown(piece.text) : [piece.text])));
    }
  });
  return out;
}

/** A parsed value (no exact numbers needed: audit records, policies) pretty-printed. */
const jsonView = (value) => jsonTextView(JSON.stringify(value));

/** Text with `backticked` parts as <code>. */
function withCode(text) {
  return String(text)
    .split(/(`[^`]*`)/)
    .map((part) => (part.length > 1 && part.startsWith("`") && part.endsWith("`") ? h("code", {}, ...shown(part.slice(1, -1))) : part));
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

const PIN_LABEL = { changed: "changed", new: "new", removed: "removed", pinned: "pinned" };
const pinBadge = (status) => h("span", { class: `badge pin-badge pin-${status}` }, PIN_LABEL[status] || String(status));

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

function urlOf(path, query) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "" && v !== false) params.set(k, String(v));
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  return url;
}

/** One admin API request: `{ data, text }` (the parsed answer and its exact text). */
async function call(path, { method = "GET", body, query } = {}) {
  if (!token) throw new ApiError(401, null, "signed out");
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(urlOf(path, query), { method, headers, body, cache: "no-store", credentials: "omit" });
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
  return { data, text };
}

const api = async (path, options) => (await call(path, options)).data;

// ------------------------------------------------------------------ polling

const tasks = [];

/**
 * Runs `fn` every `ms` (never under POLL_MIN_MS) while signed in and the tab is visible,
 * never two at once: the next run is timed from the end of the last. Returns `run()`,
 * which runs it now (a manual refresh) and restarts the wait.
 */
function every(ms, fn, { when: active = () => true } = {}) {
  const task = { ms: Math.max(ms, POLL_MIN_MS), timer: null, running: false, last: 0, fn, active };
  const schedule = () => {
    clearTimeout(task.timer);
    if (token) task.timer = setTimeout(() => run(), task.ms);
  };
  const run = async ({ force = false } = {}) => {
    clearTimeout(task.timer);
    if (!token) return;
    if (document.hidden || task.running || (!force && !task.active())) {
      if (!document.hidden) schedule();
      return;
    }
    task.running = true;
    task.last = Date.now();
    try {
      await fn();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) console.warn("toolgate admin:", err.message);
    } finally {
      task.running = false;
      schedule();
    }
  };
  task.run = run;
  tasks.push(task);
  return run;
}

function stopPolling() {
  for (const t of tasks) clearTimeout(t.timer);
  tasks.length = 0;
}

/** Back on the tab: what is due runs now; while hidden nothing ran. */
function resumePolling() {
  const now = Date.now();
  for (const t of tasks) {
    clearTimeout(t.timer);
    const wait = t.ms - (now - t.last);
    if (wait <= 0) t.run();
    else t.timer = setTimeout(() => t.run(), wait);
  }
}

// ------------------------------------------------------------------ approvals

const approvals = {
  status: "pending",
  first: [], // the first page, refreshed by polling: [{ a, args }]
  more: [], // later pages, loaded with "Load more"
  cursor: null, // the cursor after the last page shown
  firstCursor: null,
  cards: new Map(), // id → { el, signature }
  whole: new Map(), // id → the exact text of the whole arguments, once fetched
};

/** The approvals of an answer, each with the exact text of its arguments (or null). */
function withArguments(data, text) {
  const list = Array.isArray(data?.approvals) ? data.approvals : [];
  return list.map((a, i) => ({
    a,
    args: typeof a.arguments_json === "string" ? a.arguments_json : a.arguments === undefined ? null : rawAt(text, ["approvals", i, "arguments"]),
  }));
}

function approvalCard({ a, args }) {
  const pending = a.status === "pending";
  const whole = approvals.whole.get(a.id);
  const argsText = whole ?? args;
  const truncated = a.arguments_truncated === true && whole === undefined;
  const note = h("input", {
    type: "text",
    class: "note-input",
    id: `note-${a.id}`,
    placeholder: "Note for the agent (optional)",
    title: "Sent with your decision. On a deny, it is the message the agent reads.",
    maxlength: "500",
    "aria-label": `Note for the approval of ${a.tool} by ${a.grant}`,
  });
  const approveButton = h("button", { type: "button", class: "primary approve", "data-action": "approve" }, "Approve");
  const denyButton = h("button", { type: "button", class: "danger deny", "data-action": "deny" }, "Deny");
  if (truncated) {
    approveButton.disabled = true;
    approveButton.title = "Show the whole arguments first: approve only what you have read";
  }
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
      dropApproval(a.id);
      await refreshApprovals();
    } catch (err) {
      if (err.status === 409) toast(`Already decided elsewhere: ${err.message}. The list is refreshed.`, "error");
      else if (err.status === 404) toast("This approval no longer exists (it expired). The list is refreshed.", "error");
      else if (err.status !== 401) toast(`Could not ${verdict}: ${err.message}`, "error");
      if (err.status === 409 || err.status === 404) {
        dropApproval(a.id);
        await refreshApprovals();
      }
      for (const b of card.querySelectorAll("button")) b.disabled = false;
      if (truncated) approveButton.disabled = true;
      button.removeAttribute("aria-busy");
    }
  };
  approveButton.addEventListener("click", () => decide(true, approveButton));
  denyButton.addEventListener("click", () => decide(false, denyButton));
  note.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      decide(false, denyButton);
    }
  });

  const showWhole = async (button) => {
    button.disabled = true;
    try {
      const answer = await call(`admin/approvals/${encodeURIComponent(a.id)}`);
      const full = answer.data?.approval;
      // The exact text: `arguments_json`, else the answer's own text of `arguments`.
      const text = typeof full?.arguments_json === "string" ? full.arguments_json : rawAt(answer.text, ["approval", "arguments"]);
      if (text === null) throw new Error("the gateway sent no arguments");
      approvals.whole.set(a.id, text);
      const entry = approvals.cards.get(a.id);
      const el = approvalCard({ a, args });
      if (entry) {
        entry.el.replaceWith(el);
        entry.el = el;
      }
      el.querySelector("pre.args")?.focus();
    } catch (err) {
      button.disabled = false;
      if (err.status !== 401) toast(`The arguments could not be read: ${err.message}`, "error");
    }
  };

  let argsBlock;
  if (truncated) {
    argsBlock = h(
      "div",
      { class: "approval-args" },
      h("div", { class: "field-label" }, "Arguments"),
      h(
        "p",
        { class: "args-long small" },
        "Over 4 KiB, so not in the list; read them before approving. ",
        h("button", { type: "button", class: "small show-args", onclick: (e) => showWhole(e.currentTarget) }, "Show the whole arguments"),
      ),
    );
  } else if (argsText === null || argsText === undefined) {
    argsBlock = h("p", { class: "muted small args-gone" }, "Arguments are no longer kept for this approval.");
  } else {
    argsBlock = h(
      "div",
      { class: "approval-args" },
      h("div", { class: "field-label" }, "Arguments", h("span", { class: "muted" }, ` · ${kib(new TextEncoder().encode(argsText).length)}, exactly as sent`)),
      h("pre", { class: "json args", tabindex: "0", "aria-label": `Arguments of ${a.tool}` }, jsonTextView(argsText)),
    );
  }

  const card = h(
    "article",
    { class: `approval-card status-${a.status}`, "data-id": a.id, "aria-labelledby": `ap-title-${a.id}` },
    h(
      "header",
      { class: "approval-head" },
      h("h3", { id: `ap-title-${a.id}`, class: "approval-tool mono" }, ...shown(a.tool)),
      statusBadge(a.status),
      h("span", { class: "approval-grant" }, "grant ", h("strong", { class: "mono" }, ...shown(a.grant))),
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
      h("dd", {}, h("code", { title: a.rule || "" }, a.rule || "—"), a.policy_version !== undefined ? h("span", { class: "muted" }, ` · policy version ${a.policy_version}`) : null),
      h("dt", {}, "Approval"),
      h("dd", {}, h("code", { class: "id" }, a.id)),
      h("dt", {}, "SHA-256"),
      h("dd", { title: "SHA-256 of the arguments' canonical JSON (RFC 8785)" }, h("code", { class: "sha" }, a.arguments_sha256)),
      a.decided_by ? [h("dt", {}, "Decided"), h("dd", {}, `by ${a.decided_by}, ${shortWhen(a.decided_at)}`)] : null,
      a.note ? [h("dt", {}, "Note"), h("dd", { class: "note" }, ...shown(a.note))] : null,
    ),
    argsBlock,
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

function dropApproval(id) {
  approvals.first = approvals.first.filter((x) => x.a.id !== id);
  approvals.more = approvals.more.filter((x) => x.a.id !== id);
}

/** Puts the loaded pages on screen, keeping the cards (and their notes) that did not change. */
function renderApprovals() {
  const container = $("approval-list");
  const seen = new Set();
  const list = [];
  for (const item of [...approvals.first, ...approvals.more]) {
    if (seen.has(item.a.id)) continue; // an approval that moved from the first page to the next
    seen.add(item.a.id);
    list.push(item);
  }
  let previous = null;
  for (const item of list) {
    const { a } = item;
    const signature = JSON.stringify([a.status, a.decided_at, a.note, item.args === null, a.arguments_truncated, a.expires_at]);
    let entry = approvals.cards.get(a.id);
    if (!entry || entry.signature !== signature) {
      const el = approvalCard(item);
      if (entry) {
        const hadFocus = entry.el.contains(document.activeElement);
        const typed = entry.el.querySelector(".note-input")?.value;
        entry.el.replaceWith(el);
        if (typed) el.querySelector(".note-input").value = typed;
        if (hadFocus) el.querySelector("button, pre")?.focus();
      }
      entry = { el, signature };
      approvals.cards.set(a.id, entry);
    }
    // Keep the server's order (newest first) without touching cards that did not move.
    const want = previous ? previous.nextElementSibling : container.firstElementChild;
    if (want !== entry.el) container.insertBefore(entry.el, want);
    previous = entry.el;
  }
  for (const [id, entry] of approvals.cards) {
    if (!seen.has(id)) {
      if (entry.el.contains(document.activeElement)) moveFocusFrom(entry.el);
      entry.el.remove();
      approvals.cards.delete(id);
    }
  }
  for (const el of [...container.children]) if (!el.dataset.id) el.remove();
  if (!list.length) {
    container.append(h("p", { class: "empty muted" }, approvals.status === "pending" ? "Nothing is waiting for a decision." : `No ${approvals.status} approvals.`));
  }
  const more = $("approvals-more");
  more.hidden = !approvals.cursor;
  $("approvals-shown").textContent = list.length ? `${list.length} shown${approvals.cursor ? ", newest first; more are older" : ""}` : "";
}

/** The first page of the shown status (pending: the page polled for the count too). */
async function refreshApprovals() {
  const status = approvals.status;
  const { data, text } = await call("admin/approvals", { query: { status, limit: APPROVALS_PAGE } });
  if (status !== approvals.status) return;
  approvals.first = withArguments(data, text);
  approvals.firstCursor = data?.cursor ?? null;
  if (!approvals.more.length) approvals.cursor = approvals.firstCursor;
  renderApprovals();
  if (status === "pending") setPendingCount(approvals.first.length, Boolean(approvals.firstCursor));
  $("approvals-updated").textContent = `updated ${clock(Date.now()).slice(0, 8)}`;
}

/** The pending count for the badge, when another status is shown (same single page). */
async function refreshPendingCount() {
  if (approvals.status === "pending") return;
  const data = await api("admin/approvals", { query: { status: "pending", limit: APPROVALS_PAGE } });
  setPendingCount(data?.approvals?.length ?? 0, Boolean(data?.cursor));
}

async function loadMoreApprovals() {
  if (!approvals.cursor) return;
  const button = $("approvals-more");
  button.disabled = true;
  try {
    const status = approvals.status;
    const { data, text } = await call("admin/approvals", { query: { status, limit: APPROVALS_PAGE, cursor: approvals.cursor } });
    if (status !== approvals.status) return;
    approvals.more.push(...withArguments(data, text));
    approvals.cursor = data?.cursor ?? null;
    renderApprovals();
  } catch (err) {
    if (err.status !== 401) toast(`More approvals could not be loaded: ${err.message}`, "error");
  } finally {
    button.disabled = false;
  }
}

function setPendingCount(n, more = false) {
  const badge = $("pending-count");
  const label = more ? `${n}+` : String(n);
  badge.textContent = label;
  badge.classList.toggle("has-pending", n > 0);
  document.title = n > 0 ? `(${label}) toolgate admin` : "toolgate admin — approvals, tool changes, audit and policy";
}

function tickCountdowns() {
  const now = Date.now();
  for (const el of document.querySelectorAll("[data-expires]")) {
    const at = Number(el.dataset.expires);
    el.textContent = at > now ? relative(at, now) : "expired";
    el.classList.toggle("soon", at - now < 60_000);
  }
}

// ------------------------------------------------------------------ diffs

/**
 * The longest common subsequence diff of two lists: `[{ op: "same" | "del" | "ins",
 * value }]`. Lists too long to compare (over 4 million cells) are shown as removed, then
 * added.
 */
function diff(a, b, same = (x, y) => x === y) {
  const n = a.length;
  const m = b.length;
  if (n * m > 4_000_000) return [...a.map((value) => ({ op: "del", value })), ...b.map((value) => ({ op: "ins", value }))];
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i][j] = same(a[i], b[j]) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (same(a[i], b[j])) {
      out.push({ op: "same", value: a[i] });
      i++;
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push({ op: "del", value: a[i++] });
    else out.push({ op: "ins", value: b[j++] });
  }
  while (i < n) out.push({ op: "del", value: a[i++] });
  while (j < m) out.push({ op: "ins", value: b[j++] });
  return out;
}

/** Words and the spaces between them, so that a diff keeps the text's own spacing. */
const words = (text) => String(text ?? "").match(/\s+|[^\s]+/g) || [];

/** Old and new description side by side, removed words marked in the old, added in the new. */
function descriptionDiff(before, after) {
  const ops = diff(words(before), words(after));
  const left = [];
  const right = [];
  for (const { op, value } of ops) {
    if (op !== "ins") left.push(op === "del" ? h("del", {}, ...shown(value)) : value);
    if (op !== "del") right.push(op === "ins" ? h("ins", {}, ...shown(value)) : value);
  }
  return h(
    "div",
    { class: "desc-diff" },
    h("div", { class: "desc-side" }, h("div", { class: "field-label" }, "Reviewed (pinned)"), before === null ? h("p", { class: "muted small" }, "No reviewed definition: the tool is new.") : h("p", { class: "desc-text old" }, ...(left.length ? left : [h("span", { class: "muted" }, "(no description)")]))),
    h("div", { class: "desc-side" }, h("div", { class: "field-label" }, "Now (current)"), after === null ? h("p", { class: "muted small" }, "The origin no longer lists it.") : h("p", { class: "desc-text new" }, ...(right.length ? right : [h("span", { class: "muted" }, "(no description)")]))),
  );
}

/** A JSON text as its pretty lines (strings), every token as written. */
function lines(text) {
  if (text === null || text === undefined) return [];
  try {
    return prettyLines(text).map((l) => l.map((p) => p.text).join(""));
  } catch {
    return String(text).split("\n");
  }
}

/** Two JSON texts diffed line by line, `-` and `+` marked, unchanged runs folded. */
function jsonDiff(before, after, label) {
  const ops = diff(lines(before), lines(after));
  const changed = ops.some((o) => o.op !== "same");
  const rows = [];
  const CONTEXT = 3;
  ops.forEach((o, i) => {
    if (o.op === "same") {
      const near = ops.slice(Math.max(0, i - CONTEXT), i + CONTEXT + 1).some((x) => x.op !== "same");
      if (!near && changed) {
        if (rows.length && rows[rows.length - 1].fold) rows[rows.length - 1].count++;
        else rows.push({ fold: true, count: 1 });
        return;
      }
    }
    rows.push(o);
  });
  return h(
    "div",
    { class: "json-diff" },
    h("div", { class: "field-label" }, label, changed ? null : h("span", { class: "muted" }, " · unchanged")),
    h(
      "pre",
      { class: "json diff-lines", tabindex: "0", "aria-label": `${label}, changes marked` },
      rows.map((r) =>
        r.fold
          ? h("span", { class: "diff-fold" }, `  … ${r.count} unchanged line${r.count === 1 ? "" : "s"}\n`)
          : h("span", { class: `diff-${r.op}` }, r.op === "del" ? "- " : r.op === "ins" ? "+ " : "  ", ...shown(r.value), "\n"),
      ),
    ),
  );
}

// ------------------------------------------------------------------ tool changes (pins)

const pins = {
  list: [],
  cards: new Map(), // tool → { el, sha } for changed and new tools
  warnings: new Map(), // tool → warnings, from the catalogue
};

/** The fields of a tool definition other than its name, description and inputSchema. */
function otherFields(text, path) {
  const def = rawAt(text, path);
  if (def === null) return null;
  let keys;
  try {
    const value = JSON.parse(def);
    if (!value || typeof value !== "object") return null;
    keys = Object.keys(value).filter((k) => !["name", "description", "inputSchema"].includes(k));
  } catch {
    return null;
  }
  return keys.length ? `{${keys.map((k) => `${JSON.stringify(k)}:${rawAt(text, [...path, k])}`).join(",")}}` : "{}";
}

/** One changed or new tool: its diff, its warnings, and Accept. */
function pinCard(row) {
  const card = h("article", { class: `pin-card pin-${row.status}`, "data-tool": row.tool, "aria-labelledby": `pin-title-${row.tool}` });
  const body = h("div", { class: "pin-body" }, h("p", { class: "muted small" }, "Loading the definitions…"));
  const head = h(
    "header",
    { class: "pin-head" },
    h("h3", { id: `pin-title-${row.tool}`, class: "mono" }, ...shown(row.tool)),
    pinBadge(row.status),
    h("span", { class: "muted small sha-pair", title: `pinned ${row.pinned_sha256 ?? "—"}\ncurrent ${row.current_sha256 ?? "—"}` }, `${row.pinned_sha256 ? row.pinned_sha256.slice(0, 10) : "none"} → ${row.current_sha256 ? row.current_sha256.slice(0, 10) : "none"}`),
  );
  card.append(head, body);
  const load = async () => {
    body.replaceChildren(h("p", { class: "muted small" }, "Loading the definitions…"));
    try {
      const { data, text } = await call(`admin/pins/${encodeURIComponent(row.tool)}`);
      // The detail is the pin's fields plus `pinned` and `current` (also accepted inside "pin").
      const wrapped = data && typeof data === "object" && data.pin && typeof data.pin === "object";
      const detail = wrapped ? data.pin : data;
      const base = wrapped ? ["pin"] : [];
      const pinnedText = detail.pinned ? rawAt(text, [...base, "pinned"]) : null;
      const currentText = detail.current ? rawAt(text, [...base, "current"]) : null;
      const schemaOf = (t, side) => (t === null ? null : rawAt(text, [...base, side, "inputSchema"]) ?? "{}");
      const warnings = pins.warnings.get(row.tool) || [];
      const sha = detail.current_sha256;
      const accept = h("button", { type: "button", class: "primary accept" }, "Accept this definition");
      accept.addEventListener("click", () => acceptPin(row, sha, card, accept, load));
      const others = [otherFields(text, [...base, "pinned"]), otherFields(text, [...base, "current"])];
      fill(
        body,
        warnings.length ? h("ul", { class: "tool-warnings" }, warnings.map((w) => h("li", {}, "⚠ ", ...withCode(w)))) : null,
        descriptionDiff(pinnedText === null ? null : detail.pinned.description ?? "", currentText === null ? null : detail.current.description ?? ""),
        jsonDiff(schemaOf(pinnedText, "pinned"), schemaOf(currentText, "current"), "Input schema"),
        others[0] !== others[1] && (others[0] || others[1]) && !(others.every((o) => o === null || o === "{}"))
          ? jsonDiff(others[0] === "{}" ? null : others[0], others[1] === "{}" ? null : others[1], "Other fields")
          : null,
        currentText === null
          ? null
          : h(
              "div",
              { class: "decide" },
              accept,
              h("span", { class: "muted small" }, `Pins the current definition (SHA-256 ${String(sha).slice(0, 12)}…) as reviewed.`),
            ),
      );
      card.dataset.current = String(sha);
      pins.cards.set(row.tool, { el: card, sha });
    } catch (err) {
      if (err.status === 401) return;
      body.replaceChildren(
        h("p", { class: "error-text small" }, `The definitions could not be read: ${err.message}. `, h("button", { type: "button", class: "small", onclick: load }, "Try again")),
      );
    }
  };
  card.load = load;
  return card;
}

async function acceptPin(row, sha, card, button, reload) {
  button.disabled = true;
  try {
    await api(`admin/pins/${encodeURIComponent(row.tool)}/accept`, { method: "POST", body: JSON.stringify({ sha256: sha }) });
    toast(`Accepted: ${row.tool} is pinned with the definition you reviewed.`);
    // The catalogue's pin column follows.
    refreshCatalogue().catch((err) => err.status !== 401 && toast(`The catalogue could not be read: ${err.message}`, "error"));
    const next = card.nextElementSibling?.querySelector("button.accept") || card.previousElementSibling?.querySelector("button.accept");
    card.remove();
    pins.cards.delete(row.tool);
    if (next) next.focus();
    else $("pins-title").focus();
    await refreshPins();
  } catch (err) {
    button.disabled = false;
    if (err.status === 409) {
      toast(`${row.tool} changed again while you were reading: here is the new diff. Review it, then accept.`, "error");
      await reload();
      card.querySelector("button.accept")?.focus();
    } else if (err.status === 404) {
      toast(`${row.tool} is no longer known to the gateway.`, "error");
      await refreshPins();
    } else if (err.status !== 401) toast(`Could not accept: ${err.message}`, "error");
  }
}

async function refreshPins() {
  const data = await api("admin/pins");
  const list = Array.isArray(data?.pins) ? data.pins : [];
  pins.list = list;
  const by = (s) => list.filter((p) => p.status === s);
  const review = [...by("changed"), ...by("new")];
  // A change that has no card yet: its warnings (and the catalogue's pin column) come
  // from the catalogue, so read it again first, unless it was just read.
  const unseen = review.some((row) => {
    const entry = pins.cards.get(row.tool);
    return !(entry && entry.el.dataset.current === String(row.current_sha256));
  });
  if (unseen && !catalogue.fresh) {
    try {
      await refreshCatalogue();
    } catch (err) {
      if (err.status === 401) throw err;
    }
  }
  catalogue.fresh = false;
  const removed = by("removed");
  $("pins-summary").textContent = `${by("changed").length} changed · ${by("new").length} new · ${removed.length} removed · ${by("pinned").length} pinned`;
  const badge = $("pins-count");
  badge.textContent = String(review.length);
  badge.classList.toggle("has-pending", review.length > 0);
  const container = $("pin-list");
  const wanted = new Set(review.map((p) => p.tool));
  for (const [tool, entry] of pins.cards) {
    if (!wanted.has(tool)) {
      entry.el.remove();
      pins.cards.delete(tool);
    }
  }
  for (const el of [...container.children]) if (!el.dataset.tool || !wanted.has(el.dataset.tool)) el.remove();
  let previous = null;
  review.forEach((row, i) => {
    let entry = pins.cards.get(row.tool);
    const current = entry && entry.el.dataset.current === String(row.current_sha256);
    if (!current) {
      const el = pinCard(row);
      el.dataset.current = String(row.current_sha256);
      if (entry) entry.el.replaceWith(el);
      entry = { el, sha: null };
      pins.cards.set(row.tool, entry);
      if (i < DIFFS_AT_ONCE) el.load();
      else {
        el.querySelector(".pin-body").replaceChildren(h("button", { type: "button", class: "small", onclick: () => el.load() }, "Show the change"));
      }
    }
    const want = previous ? previous.nextElementSibling : container.firstElementChild;
    if (want !== entry.el) container.insertBefore(entry.el, want);
    previous = entry.el;
  });
  if (!review.length) container.append(h("p", { class: "empty muted", "data-tool": "" }, "Every tool the gateway has seen is reviewed."));
  if (removed.length) {
    container.append(
      h(
        "p",
        { class: "removed-tools muted small", "data-tool": "" },
        `No longer listed by the origin: `,
        removed.map((p, i) => [i ? ", " : "", h("code", {}, ...shown(p.tool))]),
      ),
    );
  }
  $("pins-updated").textContent = `updated ${clock(Date.now()).slice(0, 8)}`;
}

// ------------------------------------------------------------------ catalogue

const catalogue = {
  tools: [],
  /** Whether it was read since the pins were last read. */
  fresh: false,
};

async function refreshCatalogue() {
  const data = await api("admin/catalogue");
  const tools = Array.isArray(data?.tools) ? data.tools : [];
  catalogue.tools = tools;
  catalogue.fresh = true;
  pins.warnings = new Map(tools.map((t) => [t.name, Array.isArray(t.warnings) ? t.warnings.filter((w) => typeof w === "string") : []]));
  renderCatalogue();
}

function renderCatalogue() {
  const onlyFlagged = $("catalogue-flagged").checked;
  const flagged = (t) => (Array.isArray(t.warnings) && t.warnings.length > 0) || (t.pin_status && t.pin_status !== "pinned");
  const shownTools = onlyFlagged ? catalogue.tools.filter(flagged) : catalogue.tools;
  const warned = catalogue.tools.filter((t) => Array.isArray(t.warnings) && t.warnings.length).length;
  $("catalogue-summary").textContent = `${catalogue.tools.length} tools · ${warned} with warnings`;
  $("catalogue-rows").replaceChildren(
    ...(shownTools.length
      ? shownTools.map((t) => {
          const warnings = Array.isArray(t.warnings) ? t.warnings.filter((w) => typeof w === "string") : [];
          return h(
            "tr",
            { "data-tool": String(t.name), class: warnings.length ? "has-warnings" : "" },
            h("td", { class: "c-name mono" }, ...shown(t.name)),
            h("td", { class: "c-pin" }, t.pin_status ? pinBadge(t.pin_status) : h("span", { class: "muted" }, "—")),
            h(
              "td",
              { class: "c-desc" },
              warnings.length ? h("ul", { class: "tool-warnings" }, warnings.map((w) => h("li", {}, "⚠ ", ...withCode(w)))) : null,
              h("div", { class: "desc", title: String(t.description ?? "") }, ...shown(t.description ?? "")),
            ),
          );
        })
      : [h("tr", {}, h("td", { colspan: "3", class: "empty muted" }, onlyFlagged ? "No tool has a warning, and every tool is reviewed." : "The gateway knows no tool of the origin yet."))]),
  );
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
    monitor: $("f-monitor").checked ? "refused" : undefined,
  };
}

/** What the whole policy would have decided, in monitor mode (CONTRACT §7). */
function monitorNote(m) {
  if (!m || typeof m !== "object" || !m.decision) return null;
  const label = { rate_limited: "rate limited", approval_required: "approval required" }[m.decision] || m.decision;
  const would = { allow: "would be allowed", deny: "would be denied", hidden: "would be hidden", rate_limited: "would be rate limited", approval_required: "would need approval", invalid: "would be invalid" }[m.decision] || `would be ${label}`;
  const refused = m.decision !== "allow";
  return h(
    "span",
    {
      class: `monitor-badge${refused ? " refused" : ""}`,
      title: `Monitor mode: the whole policy would have decided ${label}${m.rule ? ` by ${m.rule}` : ""}${m.message ? `: ${m.message}` : ""}`,
    },
    would,
  );
}

function auditRow(r) {
  const open = audit.open.has(r.id);
  const toggle = h(
    "button",
    { type: "button", class: "icon row-toggle", "aria-expanded": String(open), "aria-controls": `rec-${r.id}`, title: "Show the whole record" },
    h("span", { "aria-hidden": "true" }, open ? "▾" : "▸"),
    h("span", { class: "sr-only" }, `Details of the ${r.method || "request"} at ${clock(r.at)}`),
  );
  const monitor =
    monitorNote(r.monitor) ||
    (Number.isInteger(r.monitor_hidden) && r.monitor_hidden > 0
      ? h("span", { class: "monitor-badge refused", title: "Monitor mode: the whole policy would have hidden these tools from this tools/list" }, `would hide ${r.monitor_hidden} tool${r.monitor_hidden === 1 ? "" : "s"}`)
      : null);
  const row = h(
    "tr",
    { class: `rec decision-row-${r.decision}${monitor ? " has-monitor" : ""}`, "data-id": r.id },
    h("td", { class: "c-toggle" }, toggle),
    h("td", { class: "c-time mono", title: when(r.at) }, clock(r.at)),
    h("td", { class: "c-grant mono", title: r.session ? `session ${r.session}` : "no session" }, ...shown(r.grant)),
    h("td", { class: "c-tool mono", title: r.tool ?? r.method ?? "" }, r.tool !== undefined && r.tool !== null ? shown(r.tool) : h("span", { class: "muted" }, r.method || "—")),
    h("td", { class: "c-decision" }, decisionBadge(r.decision), monitor),
    h("td", { class: "c-rule mono", title: r.rule ?? "" }, r.rule ?? ""),
    h(
      "td",
      { class: "c-message", title: [r.message, r.monitor?.message ? `monitor: ${r.monitor.message}` : ""].filter(Boolean).join("\n") },
      r.message ?? "",
      r.monitor?.rule ? h("span", { class: "muted monitor-rule" }, `${r.message ? " · " : ""}monitor: ${r.monitor.rule}`) : null,
    ),
    h("td", { class: "c-keys mono", title: (r.argument_keys || []).join(", ") }, (r.argument_keys || []).join(", ")),
    h("td", { class: "c-origin mono" }, r.origin_status ?? "—"),
    h("td", { class: "c-ms mono" }, String(r.latency_ms ?? "")),
  );
  const detail = h(
    "tr",
    { class: "rec-detail", id: `rec-${r.id}`, hidden: open ? null : true },
    h("td", { colspan: "10" }, h("pre", { class: "json" }, open ? jsonView(r) : null)),
  );
  toggle.addEventListener("click", () => {
    const nowOpen = detail.hidden;
    detail.hidden = !nowOpen;
    // The record's JSON is laid out when first opened: a page of 1,000 stays light.
    if (nowOpen && !detail.querySelector("pre").childNodes.length) detail.querySelector("pre").append(...jsonView(r));
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
        : [h("tr", {}, h("td", { colspan: "10", class: "empty muted" }, audit.filters.monitor ? "No record would have been refused by the whole policy." : "No records match."))]),
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
  const [answer, history] = await Promise.all([call("admin/policy"), api("admin/policy/history")]);
  const current = answer.data;
  // Laid out from the answer's text: a condition's number keeps every digit.
  const raw = rawAt(answer.text, ["policy"]);
  const text = raw === null ? JSON.stringify(current.policy, null, 2) : prettyTextOf(raw);
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

function prettyTextOf(raw) {
  try {
    return lines(raw).join("\n");
  } catch {
    return raw;
  }
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

let runs = {};
let countdown = null;

function showSignedIn(on) {
  $("no-script").hidden = true;
  $("sign-in").hidden = on;
  $("console").hidden = !on;
  for (const el of document.querySelectorAll(".signed-in-only")) el.hidden = !on;
}

async function start() {
  showSignedIn(true);
  updatePlaygroundButton();
  audit.filters = readFilters();
  // The first page of pending approvals: the list when it is shown, else the count.
  const pending = every(APPROVALS_EVERY_MS, () => (approvals.status === "pending" ? refreshApprovals() : refreshPendingCount()));
  const auditRun = every(AUDIT_EVERY_MS, () => loadAudit(), { when: () => $("audit-live").checked && audit.page === 0 });
  const pinsRun = every(PINS_EVERY_MS, () => refreshPins());
  const policyRun = every(POLICY_EVERY_MS, () => loadPolicy());
  runs = { pending, audit: auditRun, pins: pinsRun, policy: policyRun };
  clearInterval(countdown);
  countdown = setInterval(tickCountdowns, 1000);
  await Promise.allSettled([
    pending(),
    auditRun({ force: true }),
    loadPolicy({ initial: true }),
    refreshCatalogue()
      .catch((err) => {
        if (err.status !== 401) $("catalogue-rows").replaceChildren(h("tr", {}, h("td", { colspan: "3", class: "error-text small" }, `The catalogue could not be read: ${err.message}`)));
      })
      .then(() => pinsRun()),
  ]);
}

function signOut(message) {
  token = null;
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage may be disabled.
  }
  stopPolling();
  clearInterval(countdown);
  Object.assign(approvals, { first: [], more: [], cursor: null, firstCursor: null, cards: new Map(), whole: new Map() });
  pins.cards.clear();
  $("approval-list").replaceChildren();
  $("pin-list").replaceChildren();
  $("catalogue-rows").replaceChildren();
  $("audit-rows").replaceChildren();
  $("policy-history").replaceChildren();
  $("policy-text").value = "";
  $("policy-errors").hidden = true;
  $("policy-status").textContent = "";
  Object.assign(audit, { cursors: [null], page: 0, next: null, shown: "", open: new Set() });
  Object.assign(policy, { version: null, sourceText: "", dirty: false });
  setPendingCount(0);
  showSignedIn(false);
  showSignInError(message ? { title: message } : null);
  $("token").value = "";
  $("token").focus();
}

function showSignInError(problem) {
  const box = $("sign-in-error");
  if (!problem) {
    box.replaceChildren();
    return;
  }
  fill(box, h("p", { class: "why" }, problem.title), problem.detail ? h("p", { class: "muted small" }, ...withCode(problem.detail)) : null);
}

/**
 * Asks the admin API one small question with `candidate`, and says what answered: a
 * toolgate gateway that accepts the token, one that refuses it, one without an admin
 * API, or something that is not a toolgate gateway at all.
 */
async function probe(candidate) {
  const here = location.origin && location.origin !== "null" ? location.origin : "this address";
  let response;
  try {
    response = await fetch("admin/approvals?status=pending&limit=1", {
      headers: { authorization: `Bearer ${candidate}` },
      cache: "no-store",
      credentials: "omit",
    });
  } catch (err) {
    return {
      title: `No toolgate gateway answered at ${here}.`,
      detail: `The request could not be made (${err.message}). Open this page from the gateway, at https://<your gateway>/admin.html, and check that it is running.`,
    };
  }
  const type = response.headers.get("content-type") || "";
  const text = await response.text();
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    data = undefined;
  }
  const json = data !== undefined && data !== null && typeof data === "object" && /json/.test(type);
  const rpc = json && data.jsonrpc === "2.0";
  if (response.ok && json && Array.isArray(data.approvals)) return null;
  if (response.status === 401 && (rpc || /bearer/i.test(response.headers.get("www-authenticate") || ""))) {
    return { title: "This token was refused.", detail: "The gateway checks the SHA-256 of the token against its `ADMINS`. Check that you pasted the whole admin token, with no space." };
  }
  if (response.status === 404 && json && !rpc && typeof data.error === "string") {
    return {
      title: "This gateway's admin API is not enabled.",
      detail: "A toolgate gateway answered, but it has no `ADMINS` secret, so every `/admin/` path is 404. Add one (`npx wrangler secret put ADMINS`, with `{\"alice\": \"<sha-256 hex of her token>\"}`) and deploy again.",
    };
  }
  if (response.status === 404 && rpc) {
    return { title: "This toolgate gateway has no admin API at /admin/.", detail: "It answered as a toolgate gateway, but not for `/admin/approvals`: it may be an older version." };
  }
  if (response.status === 503 && json && typeof data.error === "string") {
    return { title: "The gateway is not configured correctly.", detail: `It said: ${data.error}` };
  }
  if (response.ok || response.status === 404 || response.status === 405) {
    const what = /html/.test(type) ? "a web page" : json ? "JSON that is not the admin API" : `${type.split(";")[0] || "an answer"} (${response.status === 404 ? "404 not found" : `HTTP ${response.status}`})`;
    return {
      title: `No toolgate gateway answered at ${here}.`,
      detail: `\`/admin/approvals\` was answered with ${what}: this page is served by a plain web server, not by the gateway. Open admin.html from the gateway instead.`,
    };
  }
  return { title: `The gateway answered HTTP ${response.status}.`, detail: json && typeof data.error === "string" ? `It said: ${data.error}` : "Try again shortly." };
}

async function signIn(candidate) {
  const button = $("sign-in-button");
  button.disabled = true;
  showSignInError(null);
  try {
    const problem = await probe(candidate);
    if (problem) {
      showSignInError(problem);
      $("token").select();
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
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ wiring

function resetApprovals() {
  Object.assign(approvals, { first: [], more: [], cursor: null, firstCursor: null });
  for (const entry of approvals.cards.values()) entry.el.remove();
  approvals.cards.clear();
  $("approval-list").replaceChildren();
}

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
    approvals.status = status;
    $("approvals-title").textContent = `${status[0].toUpperCase()}${status.slice(1)} approvals`;
    $("approvals-note").hidden = status !== "pending";
    resetApprovals();
    if (status === "pending") runs.pending?.({ force: true });
    else refreshApprovals().catch((err) => err.status !== 401 && toast(`Approvals could not be read: ${err.message}`, "error"));
  });
  $("approvals-refresh").addEventListener("click", () => {
    if (approvals.status === "pending") runs.pending?.({ force: true });
    else refreshApprovals().catch((err) => err.status !== 401 && toast(`Approvals could not be read: ${err.message}`, "error"));
  });
  $("approvals-more").addEventListener("click", loadMoreApprovals);
  $("pins-refresh").addEventListener("click", () => runs.pins?.({ force: true }));
  $("catalogue-refresh").addEventListener("click", () =>
    refreshCatalogue().then(
      () => runs.pins?.({ force: true }),
      (err) => err.status !== 401 && toast(`The catalogue could not be read: ${err.message}`, "error"),
    ),
  );
  $("catalogue-flagged").addEventListener("change", renderCatalogue);

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
  $("f-monitor").addEventListener("change", applyFilters);
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
    if ($("audit-live").checked) runs.audit?.({ force: true });
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
    // Kept as written: the gateway says what is wrong with it, if anything.
    area.value = text;
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
    if (!document.hidden) resumePolling();
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
