// Editing JSON text in place. The builder changes one value of the policy at a time;
// these functions rewrite only that value's text, so the rest of the document keeps the
// author's layout, and the editor's undo history sees a small change.

import { parseTree } from "./pointer.js";

/** Lines are kept within this many columns when a value is laid out. */
export const WIDTH = 100;

function inline(value) {
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    const items = value.map(inline);
    const nested = value.some((v) => v && typeof v === "object");
    return nested ? `[ ${items.join(", ")} ]` : `[${items.join(", ")}]`;
  }
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 0) return "{}";
    return `{ ${keys.map((k) => `${JSON.stringify(k)}: ${inline(value[k])}`).join(", ")} }`;
  }
  return JSON.stringify(value);
}

/**
 * Lays out `value` as it would be written starting at `column` on a line indented by
 * `indent`: on one line when it fits within WIDTH, otherwise one member or item a line,
 * each laid out the same way. This is the style of the shipped examples.
 */
export function format(value, indent = "", column = indent.length, unit = "  ") {
  const one = inline(value);
  if (column + one.length <= WIDTH || !value || typeof value !== "object") return one;
  const inner = indent + unit;
  if (Array.isArray(value)) {
    const items = value.map((v) => inner + format(v, inner, inner.length, unit));
    return `[\n${items.join(",\n")}\n${indent}]`;
  }
  const members = Object.keys(value).map((k) => {
    const head = `${inner}${JSON.stringify(k)}: `;
    return head + format(value[k], inner, head.length, unit);
  });
  return `{\n${members.join(",\n")}\n${indent}}`;
}

/** Formats a whole document in the examples' style. */
export function formatDocument(value) {
  return format(value, "", 0) + "\n";
}

function lineStartOf(text, offset) {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

function indentAt(text, offset) {
  const start = lineStartOf(text, offset);
  return /^[ \t]*/.exec(text.slice(start))[0];
}

function columnOf(text, offset) {
  return offset - lineStartOf(text, offset);
}

/** The indentation unit the document uses (two spaces when it cannot tell). */
export function indentUnit(text) {
  const m = /\n([ \t]+)\S/.exec(text);
  return m ? m[1] : "  ";
}

function isMultiline(text, node) {
  return text.slice(node.start, node.end).includes("\n");
}

function replace(text, from, to, insert) {
  return { text: text.slice(0, from) + insert + text.slice(to), change: { from, to, insert } };
}

function childOf(node, key) {
  if (node.type === "object") {
    let found = null;
    for (const m of node.members) if (m.key === String(key)) found = m;
    return found ? found.value : null;
  }
  if (node.type === "array" && /^(0|[1-9]\d*)$/.test(String(key))) return node.items[Number(key)] || null;
  return null;
}

/** `value` with the value at `path` set to `next` (deleted when `next` is undefined). */
function applyAt(value, path, next) {
  if (path.length === 0) return next;
  const [key, ...rest] = path;
  const container = value && typeof value === "object" ? value : typeof key === "number" ? [] : {};
  const copy = Array.isArray(container) ? container.slice() : { ...container };
  if (rest.length === 0 && next === undefined) {
    if (Array.isArray(copy)) copy.splice(Number(key), 1);
    else delete copy[key];
    return copy;
  }
  copy[key] = applyAt(copy[key], rest, next);
  return copy;
}

/**
 * Sets (or, with `value` undefined, deletes) the value at `path` (an array of keys and
 * indexes) in the JSON `text`. Returns `{ text, change }`, where `change` is the one
 * `{from, to, insert}` edit made (null when nothing changed), or null when `text` is not
 * JSON.
 *
 * Only the smallest piece of text that can be laid out on its own is rewritten: a value
 * in an object or array laid out one member a line is replaced by itself; a value inside
 * a one-line object or array rewrites that whole one-line container (climbing further
 * while the container is itself inside a one-line container), so layouts never mix.
 */
export function setAt(text, path, value) {
  const root = parseTree(text);
  if (!root) return null;
  const unit = indentUnit(text);
  const remove = value === undefined;
  const chain = [root];
  for (const key of path) {
    const next = childOf(chain[chain.length - 1], key);
    if (!next) break;
    chain.push(next);
  }
  const matched = chain.length - 1;
  if (remove && matched < path.length) return { text, change: null };
  if (remove && path.length === 0) return replace(text, 0, text.length, "");

  // The node whose text changes: the value itself when it exists and is set; otherwise
  // the container that gains or loses a member.
  let depth = matched === path.length && !remove ? path.length : remove ? path.length - 1 : matched;
  const container = chain[depth];
  const inPlace = depth === 0 || isMultiline(text, chain[depth - 1]);

  if (depth === path.length && inPlace) {
    // Replace a value that has its own place.
    const node = chain[depth];
    return replace(text, node.start, node.end, format(value, indentAt(text, node.start), columnOf(text, node.start), unit));
  }
  if (depth < path.length && isMultiline(text, container) && (container.type === "object" || remove)) {
    const key = path[depth];
    if (remove) {
      const siblings = container.type === "object" ? container.members : container.items;
      const index =
        container.type === "object"
          ? siblings.reduce((found, m, i) => (m.key === String(key) ? i : found), -1)
          : Number(key);
      const startOf = (i) => (container.type === "object" ? siblings[i].keyStart : siblings[i].start);
      const endOf = (i) => (container.type === "object" ? siblings[i].value.end : siblings[i].end);
      if (siblings.length === 1) {
        return replace(text, container.start, container.end, container.type === "object" ? "{}" : "[]");
      }
      if (index > 0) return replace(text, endOf(index - 1), endOf(index), "");
      return replace(text, startOf(0), startOf(1), "");
    }
    if (container.members.length) {
      // Add a member to an object laid out one member a line.
      const missing = applyAt(undefined, path.slice(depth + 1), value);
      const last = container.members[container.members.length - 1];
      const indent = indentAt(text, last.keyStart);
      const head = `${indent}${JSON.stringify(String(key))}: `;
      const insert = `,\n${head}${format(missing, indent, head.length, unit)}`;
      return replace(text, last.value.end, last.value.end, insert);
    }
  }
  // Rewrite the nearest container that can be laid out on its own.
  while (depth > 0 && !isMultiline(text, chain[depth - 1])) depth--;
  const node = chain[depth];
  const current = JSON.parse(text.slice(node.start, node.end));
  const next = applyAt(current, path.slice(depth), value);
  const indent = depth === 0 ? "" : indentAt(text, node.start);
  return replace(text, node.start, node.end, format(next, indent, columnOf(text, node.start), unit));
}
