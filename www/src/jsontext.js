// JSON as text, never as JavaScript values: what an approver reads must be the exact text
// the agent sent. JSON.parse turns 12345678901234567891 into 12345678901234567000, so the
// admin page pretty-prints the text itself: a tokenizer that keeps every number and every
// string exactly as written, and a layout in the style of JSON.stringify(v, null, 2).

import { parseTree, walk } from "./pointer.js";

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const WS = /[ \t\n\r]+/y;

/** The tokens of a JSON text: `{ type: "punct" | "string" | "number" | "literal", text }`. Throws when it is not JSON. */
export function tokenize(text) {
  const tokens = [];
  let pos = 0;
  const sticky = (re) => {
    re.lastIndex = pos;
    const m = re.exec(text);
    return m ? m[0] : null;
  };
  while (pos < text.length) {
    const c = text[pos];
    let t;
    if ((t = sticky(WS))) {
      pos += t.length;
      continue;
    }
    if ("{}[]:,".includes(c)) {
      tokens.push({ type: "punct", text: c });
      pos++;
    } else if (c === '"') {
      if (!(t = sticky(STRING))) throw new SyntaxError(`bad string at ${pos}`);
      tokens.push({ type: "string", text: t });
      pos += t.length;
    } else if ((t = sticky(NUMBER))) {
      tokens.push({ type: "number", text: t });
      pos += t.length;
    } else {
      const word = ["true", "false", "null"].find((w) => text.startsWith(w, pos));
      if (!word) throw new SyntaxError(`unexpected ${JSON.stringify(c)} at ${pos}`);
      tokens.push({ type: "literal", text: word });
      pos += word.length;
    }
  }
  return tokens;
}

/**
 * Lays out a JSON text one member or item a line, indented by two spaces, keeping each
 * token's text. Returns the lines, each a list of `{ type, text }` pieces (`type` is
 * `key`, `string`, `number`, `literal`, `punct` or `indent`). Throws when it is not JSON.
 */
export function prettyLines(text) {
  const tokens = tokenize(text);
  let i = 0;
  const lines = [];
  let line = [];
  const put = (type, t) => line.push({ type, text: t });
  const newline = (depth) => {
    lines.push(line);
    line = depth ? [{ type: "indent", text: "  ".repeat(depth) }] : [];
  };
  const expect = (t) => {
    if (!tokens[i] || tokens[i].text !== t || tokens[i].type !== "punct") throw new SyntaxError(`expected ${t}`);
    i++;
  };
  const value = (depth) => {
    const tok = tokens[i];
    if (!tok) throw new SyntaxError("unexpected end");
    if (tok.type === "punct" && (tok.text === "{" || tok.text === "[")) {
      const object = tok.text === "{";
      const close = object ? "}" : "]";
      i++;
      if (tokens[i] && tokens[i].type === "punct" && tokens[i].text === close) {
        i++;
        put("punct", object ? "{}" : "[]");
        return;
      }
      put("punct", tok.text);
      for (;;) {
        newline(depth + 1);
        if (object) {
          if (!tokens[i] || tokens[i].type !== "string") throw new SyntaxError("expected a key");
          put("key", tokens[i].text);
          i++;
          expect(":");
          put("punct", ": ");
        }
        value(depth + 1);
        if (tokens[i] && tokens[i].type === "punct" && tokens[i].text === ",") {
          i++;
          put("punct", ",");
          continue;
        }
        expect(close);
        newline(depth);
        put("punct", close);
        return;
      }
    }
    if (tok.type === "punct") throw new SyntaxError(`unexpected ${tok.text}`);
    put(tok.type, tok.text);
    i++;
  };
  value(0);
  if (i !== tokens.length) throw new SyntaxError("trailing data");
  lines.push(line);
  return lines;
}

/** The pretty text of a JSON text, every token kept as written. */
export const prettyText = (text) => prettyLines(text).map((l) => l.map((p) => p.text).join("")).join("\n");

/**
 * The exact text of the value at `tokens` (keys and indexes) inside the JSON `text`, or
 * null when there is none. For reading one member of an API answer without JSON.parse.
 */
export function rawAt(text, tokens) {
  const root = parseTree(text);
  if (!root) return null;
  const { node, matched } = walk(root, tokens.map(String));
  return matched === tokens.length ? text.slice(node.start, node.end) : null;
}
