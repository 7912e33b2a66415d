// What a tool's inputSchema tells the page: the argument paths a condition can test, with
// their types, and a form to compose a call's arguments.

import { h } from "./dom.js";

function typeOf(schema) {
  if (!schema || typeof schema !== "object") return "any";
  if (Array.isArray(schema.type)) return schema.type.join(" | ");
  if (schema.type) return schema.type;
  if (schema.enum) return "enum";
  if (schema.anyOf || schema.oneOf) {
    return (schema.anyOf || schema.oneOf).map(typeOf).filter((t) => t !== "null").join(" | ") || "any";
  }
  return "any";
}

/**
 * The paths a condition can test in a call to a tool with `inputSchema`:
 * `[{ path: "args.model", type: "string", description, enum }]`. Nested object properties
 * and the items of arrays of objects (`args.lines.0.amount`) are included, three levels
 * deep.
 */
export function argumentPaths(inputSchema) {
  const out = [];
  const visit = (schema, prefix, depth) => {
    if (!schema || typeof schema !== "object" || depth > 3) return;
    const properties = schema.properties || {};
    const required = new Set(Array.isArray(schema.required) ? schema.required : []);
    for (const [name, prop] of Object.entries(properties)) {
      const path = `${prefix}.${name}`;
      const type = typeOf(prop);
      const itemType = prop && prop.items ? typeOf(prop.items) : null;
      out.push({
        path,
        type: type === "array" && itemType ? `${itemType}[]` : type,
        description: prop && prop.description,
        enum: prop && prop.enum,
        required: depth === 0 && required.has(name),
      });
      if (prop && prop.properties) visit(prop, path, depth + 1);
      if (prop && prop.items && prop.items.properties) visit(prop.items, `${path}.0`, depth + 1);
    }
  };
  visit(inputSchema, "args", 0);
  return out;
}

/** Whether a tool's schema describes its arguments. */
export function hasProperties(inputSchema) {
  return Boolean(inputSchema && inputSchema.properties && Object.keys(inputSchema.properties).length);
}

/**
 * A form for a call's arguments, built from `inputSchema`. Returns `{ element, read,
 * fill }`: `read()` gives the arguments object (empty fields are left out) or throws with
 * a message; `fill(args)` puts values into the fields.
 */
export function argumentsForm(inputSchema, idPrefix) {
  const fields = [];
  const required = new Set((inputSchema && inputSchema.required) || []);
  const rows = Object.entries((inputSchema && inputSchema.properties) || {}).map(([name, prop]) => {
    const type = typeOf(prop);
    const id = `${idPrefix}-${name}`;
    let control;
    let kind;
    if (prop && Array.isArray(prop.enum)) {
      kind = "enum";
      control = h(
        "select",
        { id, "data-focus": id },
        h("option", { value: "" }, "(not set)"),
        prop.enum.map((v) => h("option", { value: JSON.stringify(v) }, String(v))),
      );
    } else if (type === "boolean") {
      kind = "boolean";
      control = h(
        "select",
        { id, "data-focus": id },
        h("option", { value: "" }, "(not set)"),
        h("option", { value: "true" }, "true"),
        h("option", { value: "false" }, "false"),
      );
    } else if (type === "integer" || type === "number") {
      kind = "number";
      control = h("input", { id, "data-focus": id, type: "number", step: type === "integer" ? "1" : "any" });
    } else if (type === "string") {
      kind = "string";
      control = h("input", { id, "data-focus": id, type: "text", spellcheck: "false" });
    } else {
      kind = "json";
      control = h("input", {
        id,
        "data-focus": id,
        type: "text",
        class: "mono",
        spellcheck: "false",
        placeholder: type.includes("array") ? "[1, 2]" : type.includes("object") ? '{"key": "value"}' : "JSON value",
      });
    }
    fields.push({ name, kind, control });
    const shown = type === "array" && prop && prop.items ? `${typeOf(prop.items)}[]` : type;
    const hint = [shown, prop && prop.default !== undefined ? `default ${JSON.stringify(prop.default)}` : null]
      .filter(Boolean)
      .join(", ");
    return h(
      "div",
      { class: "arg-row" },
      h(
        "label",
        { for: id, title: (prop && prop.description) || "" },
        h("code", {}, name),
        required.has(name) ? h("span", { class: "req", title: "required" }, "*") : null,
      ),
      control,
      h("span", { class: "arg-type" }, hint),
    );
  });

  const read = () => {
    const args = {};
    for (const { name, kind, control } of fields) {
      const raw = control.value;
      if (raw === "") continue;
      if (kind === "enum" || kind === "boolean") args[name] = JSON.parse(raw);
      else if (kind === "number") {
        const n = Number(raw);
        if (!Number.isFinite(n)) throw new Error(`\`${name}\` is not a number`);
        args[name] = n;
      } else if (kind === "string") args[name] = raw;
      else {
        try {
          args[name] = JSON.parse(raw);
        } catch {
          throw new Error(`\`${name}\` is not valid JSON`);
        }
      }
    }
    return args;
  };

  const fill = (args) => {
    for (const { name, kind, control } of fields) {
      const v = args ? args[name] : undefined;
      if (v === undefined) control.value = "";
      else if (kind === "enum" || kind === "boolean") control.value = JSON.stringify(v);
      else if (kind === "string" && typeof v === "string") control.value = v;
      else if (kind === "number" && typeof v === "number") control.value = String(v);
      else control.value = JSON.stringify(v);
    }
  };

  const known = new Set(fields.map((f) => f.name));
  return {
    element: h("div", { class: "arg-form" }, rows),
    read,
    fill,
    /** Whether the form can show every member of `args`. */
    canShow: (args) =>
      args &&
      typeof args === "object" &&
      !Array.isArray(args) &&
      Object.keys(args).every((k) => known.has(k)) &&
      fields.every(({ name, kind }) => {
        const v = args[name];
        if (v === undefined) return true;
        if (kind === "string") return typeof v === "string";
        if (kind === "number") return typeof v === "number";
        return true;
      }),
  };
}

// --- Checking a call's arguments against the schema -------------------------------------

const jsonType = (v) => (v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v);

/** Whether a JSON value has one of a schema's `type`s (`integer` is also a `number`). */
function hasType(value, types) {
  const t = jsonType(value);
  return types.some((want) => want === t || (want === "number" && t === "integer"));
}

/** The types a schema accepts, or null when it says nothing about types. */
function typesOf(schema) {
  if (!schema || typeof schema !== "object") return null;
  if (typeof schema.type === "string") return [schema.type];
  if (Array.isArray(schema.type)) return schema.type;
  const variants = schema.anyOf || schema.oneOf;
  if (Array.isArray(variants)) {
    const all = variants.map(typesOf);
    return all.every(Boolean) ? [...new Set(all.flat())] : null;
  }
  return null;
}

/** Edit distance with transpositions (optimal string alignment), for "did you mean". */
function distance(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The candidate closest to `name` (a typo of it), or null. */
export function closest(name, candidates) {
  let best = null;
  for (const c of candidates) {
    const d = distance(name.toLowerCase(), c.toLowerCase());
    const limit = Math.floor(Math.max(name.length, c.length) / 3);
    if (d <= limit && (!best || d < best.d)) best = { c, d };
  }
  return best && best.c;
}

const article = (t) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);

/**
 * What in `args` the tool's `inputSchema` does not expect: unknown argument names (with
 * the closest known one), missing required ones, values of the wrong JSON type and values
 * outside an `enum`, nested objects and array items included. Returns messages with
 * `backticked` names: warnings only, the call is still evaluated as the gateway would.
 */
export function checkArguments(inputSchema, args, toolName = "the tool") {
  const out = [];
  if (!inputSchema || typeof inputSchema !== "object") return out;
  const visit = (schema, value, where, depth) => {
    if (!schema || typeof schema !== "object" || depth > 8) return;
    const label = where ? `\`${where}\`` : "the arguments";
    const types = typesOf(schema);
    if (types && !hasType(value, types)) {
      out.push(`${label} should be ${types.map(article).join(" or ")}, not ${article(jsonType(value))}`);
      return;
    }
    if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
      out.push(`${label} should be one of ${schema.enum.map((e) => `\`${JSON.stringify(e)}\``).join(", ")}`);
      return;
    }
    if (value && typeof value === "object" && !Array.isArray(value) && schema.properties && typeof schema.properties === "object") {
      const known = Object.keys(schema.properties);
      const owner = where ? `\`${where}\`` : `\`${toolName}\``;
      for (const key of Object.keys(value)) {
        if (known.includes(key)) continue;
        if (schema.additionalProperties && typeof schema.additionalProperties === "object") continue;
        const guess = closest(key, known.filter((k) => !(k in value)));
        const what = where ? `a member of ${owner}'s schema` : `an argument of ${owner}`;
        const extra = schema.additionalProperties === true ? ", though its schema accepts extra ones" : "";
        out.push(`\`${where ? `${where}.${key}` : key}\` is not ${what}${guess ? ` (did you mean \`${guess}\`?)` : extra ? `${extra}` : ""}`);
      }
      for (const key of Array.isArray(schema.required) ? schema.required : []) {
        if (!(key in value)) out.push(`\`${where ? `${where}.${key}` : key}\` is required by ${owner} and missing`);
      }
      for (const key of known) {
        if (key in value) visit(schema.properties[key], value[key], where ? `${where}.${key}` : key, depth + 1);
      }
    }
    if (Array.isArray(value) && schema.items && typeof schema.items === "object" && !Array.isArray(schema.items)) {
      value.forEach((item, i) => visit(schema.items, item, where ? `${where}.${i}` : String(i), depth + 1));
    }
  };
  visit(inputSchema, args, "", 0);
  // Unknown and missing names first: they are the usual typo.
  const rank = (m) => (/is not an argument|is not a member/.test(m) ? 0 : /required/.test(m) ? 1 : 2);
  return out.map((m, i) => [rank(m), i, m]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
}

/**
 * What is wrong with a condition's `path` for a tool whose argument paths are `paths`
 * (from argumentPaths), or null. `*` and digit segments stand for any array item.
 */
export function pathProblem(path, paths) {
  if (typeof path !== "string" || !path) return "a condition needs a `path`";
  if (!path.startsWith("args.")) return "a path starts with `args.`";
  if (!paths.length) return null;
  const norm = (p) => p.split(".").map((seg) => (/^(\d+|\*)$/.test(seg) ? "0" : seg)).join(".");
  const known = new Map(paths.map((x) => [norm(x.path), x]));
  const parts = norm(path).split(".");
  if (known.has(parts.join("."))) return null;
  const unknownUnder = (prefix, shownAs) => {
    const children = paths.filter((x) => norm(x.path).startsWith(`${prefix}.`) && norm(x.path).split(".").length === prefix.split(".").length + 1);
    if (!children.length) return null;
    const guess = closest(path, paths.map((x) => x.path));
    return `\`${shownAs}\` has no member \`${path.split(".")[prefix.split(".").length]}\` in the tool's inputSchema${guess ? ` (did you mean \`${guess}\`?)` : ""}`;
  };
  // The deepest argument the schema describes on the way, and what it says about the rest.
  for (let i = parts.length - 1; i >= 2; i--) {
    const prefix = parts.slice(0, i).join(".");
    const hit = known.get(prefix);
    if (!hit) continue;
    const next = parts[i];
    if (hit.type.endsWith("[]")) {
      if (next !== "0") return `\`${hit.path}\` is an array: the next segment is an index or \`*\``;
      if (i === parts.length - 1) return null;
      const item = hit.type.slice(0, -2);
      if (/object|any|enum|\|/.test(item)) return unknownUnder(`${prefix}.0`, path.split(".").slice(0, i + 1).join("."));
      return `the items of \`${hit.path}\` are ${item}s: they have no \`${parts[i + 1]}\``;
    }
    if (/object|any|enum|\|/.test(hit.type)) return unknownUnder(prefix, hit.path);
    return `\`${hit.path}\` is ${article(hit.type)}: it has no \`${next}\``;
  }
  const guess = closest(path, paths.map((x) => x.path));
  return `\`${path}\` is not in the tool's inputSchema${guess ? ` (did you mean \`${guess}\`?)` : ""}`;
}
