// A fake toolgate gateway for the admin page's browser tests: it serves www/ as the Worker
// does, and answers the v2 admin API (CONTRACT §6 and §8) from memory, exactly as the
// spec says and no more. Policies are validated by the real core (the playground's wasm).
// Not a test file itself.
//
// Spec it implements (each answer is JSON; every /admin request needs
// `Authorization: Bearer <admin token>`; without ADMINS, every /admin path is 404):
//   GET  /admin/approvals?status=&limit=&cursor=  {"approvals": [...], "cursor": str|null}, newest first, ≤ 100
//   GET  /admin/approvals/{id}                    {"approval": {... "arguments", "arguments_json"}}
//   POST /admin/approvals/{id}/approve|deny       {"note"} → {"approval": {...}}; 409 when not pending
//   GET  /admin/audit?since=&until=&grant=&tool=&decision=&monitor=refused&limit=&cursor=
//                                                 {"records": [...], "cursor"}, newest first, ≤ 1000
//   GET  /admin/pins                              {"pins": [{tool, status, pinned_sha256, current_sha256}]}
//   GET  /admin/pins/{tool}                       the same fields plus "pinned" and "current"
//   POST /admin/pins/{tool}/accept                {"sha256"} → 200, 409 when it changed again, 404 never seen
//   GET  /admin/catalogue                         {"tools": [... + "pin_status", "warnings"]}
//   GET  /admin/policy, PUT /admin/policy, GET /admin/policy/history   (CONTRACT §6)

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { serve, WWW } from "./harness.js";
import { initSync, check } from "../../www/pkg/toolgate.js";

let coreReady = false;
function validate(text) {
  if (!coreReady) {
    initSync({ module: readFileSync(path.join(WWW, "pkg/toolgate_bg.wasm")) });
    coreReady = true;
  }
  return JSON.parse(check(text));
}

const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const STATUSES = ["pending", "approved", "denied", "used", "expired"];
const ARGS_INLINE_MAX = 4096;

/** An opaque cursor for keyset paging over items sorted by (time desc, id desc). */
const encodeCursor = (item, time) => Buffer.from(JSON.stringify([item[time], item.id])).toString("base64url");
function decodeCursor(cursor) {
  try {
    const [t, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (typeof t !== "number" || typeof id !== "string") return null;
    return [t, id];
  } catch {
    return null;
  }
}

const newestFirst = (time) => (a, b) => b[time] - a[time] || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
const olderThan = (time, [t, id]) => (x) => x[time] < t || (x[time] === t && x.id < id);

/** One page of `items` (already filtered and sorted), from `cursor`. */
function page(items, time, limit, cursor) {
  let from = items;
  if (cursor) {
    const at = decodeCursor(cursor);
    if (!at) return { error: "bad cursor" };
    from = items.filter(olderThan(time, at));
  }
  const slice = from.slice(0, limit);
  const more = from.length > limit;
  return { slice, cursor: more ? encodeCursor(slice[slice.length - 1], time) : null };
}

function parseLimit(value, max, fallback) {
  if (value === null) return fallback;
  if (!/^\d+$/.test(value)) return null;
  const n = Number(value);
  return n >= 1 ? Math.min(n, max) : null;
}

/**
 * An approval as JSON text. `arguments_json` is the exact text the agent sent, kept as
 * text so that integers beyond 2^53 keep their digits in every answer.
 */
function approvalText(a, { full }) {
  const fields = {
    id: a.id,
    grant: a.grant,
    tool: a.tool,
    status: a.status,
    created_at: a.created_at,
    expires_at: a.expires_at,
    rule: a.rule,
    policy_version: a.policy_version,
    arguments_sha256: sha256(a.arguments_json),
  };
  for (const k of ["decided_by", "decided_at", "note"]) if (a[k] !== undefined) fields[k] = a[k];
  const inline = full || Buffer.byteLength(a.arguments_json) <= ARGS_INLINE_MAX;
  if (!inline) fields.arguments_truncated = true;
  let text = JSON.stringify(fields);
  if (inline) text = `${text.slice(0, -1)},"arguments":${a.arguments_json}}`;
  if (full) text = `${text.slice(0, -1)},"arguments_json":${JSON.stringify(a.arguments_json)}}`;
  return text;
}

export async function startFakeGateway({
  admins = { "admin-token-alice": "alice" },
  approvals = [],
  audit = [],
  pins = [],
  warnings = {},
  policy = { version: "1", default: "deny", tools: {} },
} = {}) {
  const log = [];
  const state = {
    approvals: approvals.map((a) => ({ ...a })).sort(newestFirst("created_at")),
    audit: audit.slice().sort(newestFirst("at")),
    pins: new Map(pins.map((p) => [p.tool, { status: p.status, pinned: p.pinned ?? null, current: p.current ?? null }])),
    policies: [{ version: 0, text: JSON.stringify(policy), updated_at: null, updated_by: null }],
  };

  const pinRow = (tool, p) => ({
    tool,
    status: p.status,
    pinned_sha256: p.pinned ? sha256(JSON.stringify(p.pinned)) : null,
    current_sha256: p.current ? sha256(JSON.stringify(p.current)) : null,
  });

  function reply(res, status, body, headers = {}) {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers });
    res.end(text);
    return true;
  }
  const fail = (res, status, message) => reply(res, status, { error: message });

  async function readBody(req) {
    if (req.bodyText !== undefined) return req.bodyText;
    const chunks = [];
    for await (const c of req) chunks.push(c);
    req.bodyText = Buffer.concat(chunks).toString("utf8");
    return req.bodyText;
  }
  async function readJson(req) {
    const text = await readBody(req);
    if (!text) return {};
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }

  async function admin(req, res, url) {
    const q = url.searchParams;
    const entry = { method: req.method, path: url.pathname, query: Object.fromEntries(q), at: Date.now() };
    if (req.method !== "GET") entry.body = await readBody(req);
    log.push(entry);
    if (!admins) return fail(res, 404, "not found");
    const auth = req.headers.authorization || "";
    const who = auth.startsWith("Bearer ") ? admins[auth.slice(7)] : undefined;
    if (!who) {
      return reply(
        res,
        401,
        { jsonrpc: "2.0", id: null, error: { code: -32001, message: "unauthorized: a valid bearer token is required" } },
        { "www-authenticate": 'Bearer realm="toolgate"' },
      );
    }
    const parts = url.pathname.split("/").slice(2).map(decodeURIComponent); // after "admin"

    if (req.method === "GET" && parts[0] === "approvals" && parts.length === 1) {
      const status = q.get("status");
      if (status !== null && !STATUSES.includes(status)) return fail(res, 400, `unknown status \`${status}\``);
      const limit = parseLimit(q.get("limit"), 100, 100);
      if (limit === null) return fail(res, 400, "bad limit");
      const items = state.approvals.filter((a) => status === null || a.status === status);
      const p = page(items, "created_at", limit, q.get("cursor"));
      if (p.error) return fail(res, 400, p.error);
      return reply(res, 200, `{"approvals":[${p.slice.map((a) => approvalText(a, { full: false })).join(",")}],"cursor":${JSON.stringify(p.cursor)}}`);
    }
    if (parts[0] === "approvals" && parts.length >= 2) {
      const a = state.approvals.find((x) => x.id === parts[1]);
      if (req.method === "GET" && parts.length === 2) {
        if (!a) return fail(res, 404, "no such approval");
        return reply(res, 200, `{"approval":${approvalText(a, { full: true })}}`);
      }
      if (req.method === "POST" && parts.length === 3 && (parts[2] === "approve" || parts[2] === "deny")) {
        const body = await readJson(req);
        if (body === undefined || typeof body !== "object" || Array.isArray(body)) return fail(res, 400, "the body must be a JSON object");
        if (!a) return fail(res, 404, "no such approval");
        if (a.status !== "pending") return fail(res, 409, `approval is ${a.status}, not pending`);
        a.status = parts[2] === "approve" ? "approved" : "denied";
        a.decided_by = who;
        a.decided_at = Date.now();
        if (typeof body.note === "string" && body.note) a.note = body.note;
        return reply(res, 200, `{"approval":${approvalText(a, { full: false })}}`);
      }
    }
    if (req.method === "GET" && parts[0] === "audit" && parts.length === 1) {
      const limit = parseLimit(q.get("limit"), 1000, 100);
      if (limit === null) return fail(res, 400, "bad limit");
      const num = (k) => (q.get(k) === null || q.get(k) === "" ? null : Number(q.get(k)));
      const since = num("since");
      const until = num("until");
      const monitor = q.get("monitor");
      if (monitor !== null && monitor !== "refused") return fail(res, 400, "monitor must be `refused`");
      const items = state.audit.filter(
        (r) =>
          (since === null || r.at >= since) &&
          (until === null || r.at <= until) &&
          (!q.get("grant") || r.grant === q.get("grant")) &&
          (!q.get("tool") || r.tool === q.get("tool")) &&
          (!q.get("decision") || r.decision === q.get("decision")) &&
          (monitor === null || (r.monitor && r.monitor.decision !== "allow")),
      );
      const p = page(items, "at", limit, q.get("cursor"));
      if (p.error) return fail(res, 400, p.error);
      return reply(res, 200, { records: p.slice, cursor: p.cursor });
    }
    if (req.method === "GET" && parts[0] === "pins" && parts.length === 1) {
      const rows = [...state.pins].map(([tool, p]) => pinRow(tool, p)).sort((a, b) => (a.tool < b.tool ? -1 : 1));
      return reply(res, 200, { pins: rows });
    }
    if (parts[0] === "pins" && parts.length >= 2) {
      const p = state.pins.get(parts[1]);
      if (!p) return fail(res, 404, "this tool was never seen");
      if (req.method === "GET" && parts.length === 2) return reply(res, 200, { ...pinRow(parts[1], p), pinned: p.pinned, current: p.current });
      if (req.method === "POST" && parts.length === 3 && parts[2] === "accept") {
        const body = await readJson(req);
        if (body === undefined) return fail(res, 400, "the body must be JSON");
        const row = pinRow(parts[1], p);
        if (!p.current) return fail(res, 409, "the tool is gone: there is nothing to accept");
        if (body.sha256 !== undefined && body.sha256 !== row.current_sha256) return fail(res, 409, "the definition changed again");
        p.pinned = p.current;
        p.status = "pinned";
        return reply(res, 200, pinRow(parts[1], p));
      }
    }
    if (req.method === "GET" && parts[0] === "catalogue" && parts.length === 1) {
      const tools = [...state.pins]
        .filter(([, p]) => p.current)
        .map(([tool, p]) => ({ ...p.current, pin_status: p.status, warnings: warnings[tool] || [] }));
      return reply(res, 200, { tools });
    }
    if (parts[0] === "policy") {
      const current = state.policies[state.policies.length - 1];
      if (req.method === "GET" && parts.length === 1) {
        return reply(res, 200, `{"version":${current.version},"policy":${current.text},"updated_at":${JSON.stringify(current.updated_at)}}`);
      }
      if (req.method === "PUT" && parts.length === 1) {
        const text = await readBody(req);
        const checked = validate(text);
        if (!checked.ok) return reply(res, 400, checked.errors);
        const next = { version: current.version + 1, text, updated_at: Date.now(), updated_by: who };
        state.policies.push(next);
        return reply(res, 200, { version: next.version, sha256: sha256(text), updated_at: next.updated_at });
      }
      if (req.method === "GET" && parts[1] === "history" && parts.length === 2) {
        const versions = state.policies
          .slice()
          .reverse()
          .map((v) => ({ version: v.version, updated_at: v.updated_at, updated_by: v.updated_by, sha256: sha256(v.text) }));
        return reply(res, 200, { versions });
      }
    }
    return fail(res, 404, "not found");
  }

  const server = await serve(WWW, {
    handle: (req, res, url) => (url.pathname === "/admin" || url.pathname.startsWith("/admin/") ? admin(req, res, url) : false),
  });
  return {
    ...server,
    log,
    state,
    /** The origin changed a tool's definition (again). */
    setCurrent(tool, def) {
      const p = state.pins.get(tool);
      p.current = def;
      if (p.status === "pinned") p.status = "changed";
    },
    /** The warnings `/admin/catalogue` gives for `tool` from now on. */
    setWarnings(tool, list) {
      warnings[tool] = list;
    },
    /** A new pending approval arrives. */
    addApproval(a) {
      state.approvals.unshift({ ...a });
      state.approvals.sort(newestFirst("created_at"));
    },
  };
}
