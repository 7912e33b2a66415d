// JSON text positions: a small parser that remembers where every value and key sits in
// the text, and the mapping from a JSON Pointer (RFC 6901) to a range of the text. The
// editor uses it to show each policy error at its place; the builder uses it to edit the
// policy text in place.
//
// Node shapes (offsets are UTF-16 indexes into the text, `end` exclusive):
//   { type: "object", start, end, members: [{ key, keyStart, keyEnd, value }] }
//   { type: "array", start, end, items: [node] }
//   { type: "string" | "number" | "literal", start, end }

/** Parses `text` as JSON and returns its root node, or null when it is not JSON. */
export function parseTree(text) {
  let pos = 0;
  const fail = () => {
    throw new SyntaxError(`unexpected input at ${pos}`);
  };
  const ws = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) pos++;
      else break;
    }
  };
  const string = () => {
    const start = pos;
    if (text[pos] !== '"') fail();
    pos++;
    while (pos < text.length) {
      const c = text[pos];
      if (c === "\\") pos += 2;
      else if (c === '"') {
        pos++;
        return { start, end: pos };
      } else pos++;
    }
    fail();
  };
  const value = (depth) => {
    if (depth > 200) fail();
    ws();
    const start = pos;
    const c = text[pos];
    if (c === "{") {
      pos++;
      const members = [];
      ws();
      if (text[pos] === "}") {
        pos++;
        return { type: "object", start, end: pos, members };
      }
      for (;;) {
        ws();
        const k = string();
        let key;
        try {
          key = JSON.parse(text.slice(k.start, k.end));
        } catch {
          fail();
        }
        ws();
        if (text[pos] !== ":") fail();
        pos++;
        const v = value(depth + 1);
        members.push({ key, keyStart: k.start, keyEnd: k.end, value: v });
        ws();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        if (text[pos] === "}") {
          pos++;
          return { type: "object", start, end: pos, members };
        }
        fail();
      }
    }
    if (c === "[") {
      pos++;
      const items = [];
      ws();
      if (text[pos] === "]") {
        pos++;
        return { type: "array", start, end: pos, items };
      }
      for (;;) {
        items.push(value(depth + 1));
        ws();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        if (text[pos] === "]") {
          pos++;
          return { type: "array", start, end: pos, items };
        }
        fail();
      }
    }
    if (c === '"') {
      const s = string();
      return { type: "string", start: s.start, end: s.end };
    }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(pos, pos + 400));
    if (m && m[0]) {
      pos += m[0].length;
      return { type: "number", start, end: pos };
    }
    for (const word of ["true", "false", "null"]) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return { type: "literal", start, end: pos };
      }
    }
    fail();
  };
  try {
    const root = value(0);
    ws();
    if (pos !== text.length) return null;
    return root;
  } catch {
    return null;
  }
}

/** Splits a JSON Pointer into its unescaped reference tokens. */
export function pointerTokens(pointer) {
  if (!pointer) return [];
  return pointer
    .split("/")
    .slice(1)
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** Builds a JSON Pointer from tokens. */
export function toPointer(tokens) {
  return tokens.map((t) => "/" + String(t).replace(/~/g, "~0").replace(/\//g, "~1")).join("");
}

/**
 * Walks `tokens` from `root`: returns the deepest node reached, the member it is (when it
 * is an object member) and how many tokens were matched.
 */
export function walk(root, tokens) {
  let node = root;
  let member = null;
  let matched = 0;
  for (const token of tokens) {
    let next = null;
    let nextMember = null;
    if (node.type === "object") {
      // The last member with the key wins, as JSON.parse reads it.
      for (const m of node.members) if (m.key === token) nextMember = m;
      next = nextMember && nextMember.value;
    } else if (node.type === "array" && /^(0|[1-9]\d*)$/.test(token)) {
      next = node.items[Number(token)] || null;
    }
    if (!next) break;
    node = next;
    member = nextMember;
    matched++;
  }
  return { node, member, matched };
}

/** 1-based line and column of a text offset. */
export function lineCol(text, offset) {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** The offset of a 1-based line and column (columns count UTF-8 bytes, as the core does). */
export function offsetOf(text, line, column) {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = text.indexOf("\n", offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  // Walk `column - 1` UTF-8 bytes along the line.
  let bytes = column - 1;
  while (bytes > 0 && offset < text.length && text[offset] !== "\n") {
    const code = text.codePointAt(offset);
    bytes -= code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    offset += code >= 0x10000 ? 2 : 1;
  }
  return Math.min(offset, text.length);
}

/**
 * Where a policy error belongs in the text: `{ from, to, line, exact }`.
 *
 * - A syntax error (`message` ends with "at line L column C") goes to that character.
 * - A pointer to an existing value goes to it: scalars are marked whole; for objects and
 *   arrays, the member's key (or the opening bracket) is marked, so a long object does
 *   not turn red from top to bottom.
 * - A pointer to something missing (`missing field`) goes to the nearest existing
 *   ancestor, marked the same way, with `exact: false`.
 */
export function locate(text, pointer, message = "") {
  const at = /at line (\d+) column (\d+)\s*$/.exec(message);
  if (at) {
    const from = offsetOf(text, Number(at[1]), Number(at[2]));
    return { from, to: Math.min(from + 1, text.length), line: Number(at[1]), exact: true };
  }
  const root = parseTree(text);
  if (!root) return { from: 0, to: 0, line: 1, exact: false };
  const tokens = pointerTokens(pointer);
  const { node, member, matched } = walk(root, tokens);
  let from;
  let to;
  if (node.type === "object" || node.type === "array") {
    if (member) {
      from = member.keyStart;
      to = member.keyEnd;
    } else {
      from = node.start;
      to = node.start + 1;
    }
  } else if (member && /unknown field/.test(message)) {
    from = member.keyStart;
    to = node.end;
  } else {
    from = node.start;
    to = node.end;
  }
  return { from, to, line: lineCol(text, from).line, exact: matched === tokens.length };
}
