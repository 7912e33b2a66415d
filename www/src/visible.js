// Characters a reader cannot see: spaces, tabs, zero-width and bidirectional controls. A
// message about a bad tool name must show which character is wrong, and an approver must
// see every character of what they approve, so such characters are named and marked.

const NAMES = new Map([
  [0x09, "tab"],
  [0x0a, "line feed"],
  [0x0d, "carriage return"],
  [0x20, "space"],
  [0xa0, "no-break space"],
  [0xad, "soft hyphen"],
  [0x061c, "arabic letter mark"],
  [0x180e, "mongolian vowel separator"],
  [0x200b, "zero width space"],
  [0x200c, "zero width non-joiner"],
  [0x200d, "zero width joiner"],
  [0x200e, "left-to-right mark"],
  [0x200f, "right-to-left mark"],
  [0x2028, "line separator"],
  [0x2029, "paragraph separator"],
  [0x202a, "left-to-right embedding"],
  [0x202b, "right-to-left embedding"],
  [0x202c, "pop directional formatting"],
  [0x202d, "left-to-right override"],
  [0x202e, "right-to-left override"],
  [0x2060, "word joiner"],
  [0x2066, "left-to-right isolate"],
  [0x2067, "right-to-left isolate"],
  [0x2068, "first strong isolate"],
  [0x2069, "pop directional isolate"],
  [0x3000, "ideographic space"],
  [0xfeff, "zero width no-break space"],
]);

const hex = (cp) => `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;

/** Whether a character cannot be seen, or changes how the text around it is shown. */
export function isInvisible(ch) {
  const cp = ch.codePointAt(0);
  if (NAMES.has(cp)) return true;
  // Other control, format, separator and private-use characters.
  return /[\p{Cc}\p{Cf}\p{Zs}\p{Zl}\p{Zp}\p{Co}]/u.test(ch);
}

/**
 * A character as a message can name it: `the space`, `the tab (U+0009)`,
 * `U+200B (zero width space)`, or the character itself in backticks when it can be seen.
 */
export function describeChar(ch) {
  const cp = ch.codePointAt(0);
  if (cp === 0x20) return "the space";
  if (cp === 0x09) return "the tab (U+0009)";
  if (!isInvisible(ch)) return `\`${ch}\``;
  const name = NAMES.get(cp);
  return name ? `${hex(cp)} (${name})` : hex(cp);
}

/** The characters a tool name or a `tools` key may use (`*` in keys only). */
const KEY_CHAR = /^[A-Za-z0-9_.*-]$/;

/**
 * What is wrong with a `tools` key or `hide` item, or null: `the space at position 5 is
 * not allowed`. Positions count characters from 1.
 */
export function keyProblem(key) {
  const chars = Array.from(key);
  if (!chars.length) return "an empty name can never match a tool";
  const bad = chars.findIndex((c) => !KEY_CHAR.test(c));
  if (bad >= 0) return `${describeChar(chars[bad])} at position ${bad + 1} is not allowed`;
  if (chars.length > 128) return `it is ${chars.length} characters long; a tool name has at most 128`;
  return null;
}

/**
 * The core's message for a key that cannot match a tool, with the character it names
 * made visible and placed:
 * "`odoo write` can never match a tool: ` ` is not allowed, …" →
 * "`odoo write` can never match a tool: the space at position 5 is not allowed, …".
 */
export function friendlyMessage(message) {
  const m = /^`([\s\S]*)` can never match a tool: `([\s\S]+?)` is not allowed([\s\S]*)$/.exec(String(message));
  if (!m) return String(message);
  const [, key, ch, rest] = m;
  const chars = Array.from(key);
  const at = chars.indexOf(ch);
  const where = at >= 0 ? ` at position ${at + 1}` : "";
  return `\`${key}\` can never match a tool: ${describeChar(ch)}${where} is not allowed${rest}`;
}

/**
 * Text as DOM nodes, each invisible character (other than a plain space) shown as a
 * marked `U+XXXX` label that names it. `make(tag, attrs, text)` creates an element.
 */
export function visibleNodes(text, make) {
  const out = [];
  let run = "";
  for (const c of Array.from(String(text))) {
    if (c !== " " && isInvisible(c)) {
      if (run) out.push(run);
      run = "";
      const cp = c.codePointAt(0);
      out.push(make("span", { class: "invisible-char", title: NAMES.get(cp) || "invisible character" }, hex(cp)));
    } else run += c;
  }
  if (run) out.push(run);
  return out;
}
