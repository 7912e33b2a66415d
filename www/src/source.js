// Where the playground's tool catalogue comes from: the catalogue shipped with the repo
// (www/odoo-tools.json, only when the page is opened from a checkout: the Worker never
// serves it), a `tools/list` answer the user imports from a file or pastes, or a toolgate
// gateway's `GET /admin/catalogue`. The choice and the tools are kept in localStorage, so
// a reload shows the same catalogue without asking the gateway again.

export const STORAGE_KEY = "toolgate-playground.catalogue";
export const DEFAULT_FILE = "odoo-tools.json";
export const DEFAULT_LABEL = "Odoo Claude MCP, shipped with the repo";

/** Fields the gateway adds to each tool of `/admin/catalogue`; the origin never sent them. */
const GATEWAY_FIELDS = ["pin_status", "warnings"];

/** The `data:` payloads of the events of an SSE body, in order. */
export function sseEvents(text) {
  const events = [];
  let data = null;
  for (const raw of text.split(/\r\n|\r|\n/)) {
    if (raw === "") {
      if (data !== null) events.push(data.join("\n"));
      data = null;
      continue;
    }
    if (raw.startsWith(":")) continue;
    const colon = raw.indexOf(":");
    const field = colon < 0 ? raw : raw.slice(0, colon);
    let value = colon < 0 ? "" : raw.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") (data ??= []).push(value);
  }
  if (data !== null) events.push(data.join("\n"));
  return events;
}

/** The tools array of one JSON value, or null when it holds none. Throws on an error answer. */
function toolsOf(value) {
  if (Array.isArray(value)) return value;
  if (!value || typeof value !== "object") return null;
  if (value.result && typeof value.result === "object" && Array.isArray(value.result.tools)) return value.result.tools;
  if (Array.isArray(value.tools)) return value.tools;
  if (value.error && typeof value.error === "object") {
    throw new Error(`this is a JSON-RPC error answer, not a tool list: ${value.error.message || JSON.stringify(value.error)}`);
  }
  return null;
}

/**
 * Reads a catalogue: a `tools/list` JSON-RPC response (`result.tools`), `{"tools": [...]}`
 * (what `GET /admin/catalogue` answers), a bare array of tools, or an SSE body holding
 * one of these. Returns `{ tools, notes }`; throws an Error that says what is wrong.
 */
export function parseCatalogue(text) {
  const body = String(text).replace(/^\uFEFF/, "").trim();
  if (!body) throw new Error("it is empty");
  let tools = null;
  if (body.startsWith("{") || body.startsWith("[")) {
    let value;
    try {
      value = JSON.parse(body);
    } catch (e) {
      throw new Error(`it is not JSON (${e.message})`);
    }
    tools = toolsOf(value);
    if (!tools) throw new Error("it has no tools: expected a tools/list response (`result.tools`), `{\"tools\": [...]}` or an array of tools");
  } else {
    const events = sseEvents(body);
    if (!events.length) throw new Error("it is neither JSON nor an SSE body (`data:` lines)");
    for (const data of events) {
      let value;
      try {
        value = JSON.parse(data);
      } catch {
        continue;
      }
      tools = toolsOf(value);
      if (tools) break;
    }
    if (!tools) throw new Error(`none of its ${events.length} SSE event${events.length === 1 ? "" : "s"} holds a tools/list answer`);
  }
  const notes = [];
  const seen = new Set();
  const out = [];
  tools.forEach((tool, i) => {
    if (!tool || typeof tool !== "object" || Array.isArray(tool)) throw new Error(`tool ${i + 1} is not an object`);
    if (typeof tool.name !== "string" || !tool.name) throw new Error(`tool ${i + 1} has no \`name\` string`);
    if (seen.has(tool.name)) {
      notes.push(`\`${tool.name}\` is listed twice; the first is kept`);
      return;
    }
    seen.add(tool.name);
    out.push(tool);
  });
  return { tools: out, notes };
}

/** The tools as the origin listed them (without the gateway's pin status and warnings). */
export function originTools(tools) {
  return tools.map((tool) => {
    if (!GATEWAY_FIELDS.some((f) => f in tool)) return tool;
    const copy = { ...tool };
    for (const f of GATEWAY_FIELDS) delete copy[f];
    return copy;
  });
}

/** Each tool's pin status at the gateway (`pinned`, `changed`, `new`), by name; empty for other catalogues. */
export function pinStatuses(tools) {
  const out = new Map();
  for (const tool of tools) {
    if (typeof tool.pin_status === "string" && ["pinned", "changed", "new", "removed"].includes(tool.pin_status)) out.set(tool.name, tool.pin_status);
  }
  return out;
}

/** The origin's tools with the gateway's `pin_status` kept (what the core's catalogue view reads). */
export function withPinStatus(tools) {
  return tools.map((tool) => {
    const copy = { ...tool };
    delete copy.warnings;
    return copy;
  });
}

/** A short label for a catalogue's source: `mcp-tools.json`, `pasted`, a gateway's URL. */
export function sourceLabel(source) {
  if (!source || source.kind === "none") return "none yet";
  if (source.kind === "default") return DEFAULT_LABEL;
  if (source.kind === "file") return `file ${source.name}`;
  if (source.kind === "paste") return "pasted";
  if (source.kind === "gateway") return `gateway ${source.url}`;
  return source.kind;
}

/** The stored choice `{ kind, name?, url?, at, tools }`, or null (the default). */
export function storedCatalogue(storage = globalThis.localStorage) {
  try {
    const text = storage.getItem(STORAGE_KEY);
    if (!text) return null;
    const value = JSON.parse(text);
    if (!value || !Array.isArray(value.tools) || !["file", "paste", "gateway"].includes(value.kind)) return null;
    return value;
  } catch {
    return null;
  }
}

/** Keeps the choice across reloads. Returns false when the browser refused to store it. */
export function storeCatalogue(choice, storage = globalThis.localStorage) {
  try {
    if (!choice || choice.kind === "default" || choice.kind === "none") storage.removeItem(STORAGE_KEY);
    else storage.setItem(STORAGE_KEY, JSON.stringify(choice));
    return true;
  } catch {
    return false;
  }
}

/** The `/admin/catalogue` URL of a gateway given as `https://host` or `https://host/x/`. */
export function gatewayCatalogueUrl(base, here = globalThis.location) {
  const url = new URL(base.trim() || "./", here);
  if (!/^https?:$/.test(url.protocol)) throw new Error("the gateway address must start with http:// or https://");
  url.search = "";
  url.hash = "";
  url.pathname = url.pathname.replace(/\/(admin(\/catalogue)?\/?)?$/, "") + "/admin/catalogue";
  return url.href;
}

/**
 * Asks a toolgate gateway for its catalogue. Resolves to the response text; rejects with
 * an Error that says why in the user's terms.
 */
export async function fetchGatewayCatalogue(base, token, fetcher = globalThis.fetch) {
  const url = gatewayCatalogueUrl(base);
  let response;
  try {
    response = await fetcher(url, { headers: { authorization: `Bearer ${token}` }, cache: "no-store", credentials: "omit" });
  } catch {
    const cross = typeof location !== "undefined" && new URL(url).origin !== location.origin;
    throw new Error(
      cross
        ? `no answer from ${new URL(url).origin}: it is unreachable, or it does not let this page's origin read it (CORS). Open the playground from that gateway instead.`
        : `no answer from ${new URL(url).origin}`,
    );
  }
  const text = await response.text();
  if (response.status === 401) throw new Error("the gateway refused this admin token");
  if (response.status === 404) {
    throw new Error(/^\s*\{/.test(text) ? "this gateway's admin API is not enabled (it has no ADMINS) or has no catalogue" : `no toolgate gateway answered at ${new URL(url).origin} (HTTP 404)`);
  }
  if (!response.ok) throw new Error(`the gateway answered HTTP ${response.status}`);
  return { url, text };
}
