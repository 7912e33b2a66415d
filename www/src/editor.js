// The policy editor: CodeMirror 6 with JSON highlighting, undo history, automatic
// indentation, and the core's errors shown at their place (line highlighted, range
// underlined, message under the line).

import {
  Annotation,
  ChangeSet,
  EditorSelection,
  EditorState,
  StateEffect,
  StateField,
  RangeSetBuilder,
} from "@codemirror/state";
import {
  Decoration,
  EditorView,
  WidgetType,
  drawSelection,
  gutterLineClass,
  GutterMarker,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  hoverTooltip,
  keymap,
  lineNumbers,
  ViewPlugin,
} from "@codemirror/view";
import {
  HighlightStyle,
  bracketMatching,
  foldGutter,
  foldKeymap,
  indentOnInput,
  syntaxHighlighting,
} from "@codemirror/language";
import { json } from "@codemirror/lang-json";
import { tags } from "@lezer/highlight";
import { parseTree } from "./pointer.js";
import { richText, visible } from "./dom.js";

// --- Undo history -------------------------------------------------------------------

const fromHistory = Annotation.define();
const MERGE_MS = 700;

const historyField = StateField.define({
  create: () => ({ done: [], undone: [], time: 0 }),
  update(history, tr) {
    const next = tr.annotation(fromHistory);
    if (next) return next;
    if (!tr.docChanged) return history;
    const inverse = tr.changes.invert(tr.startState.doc);
    const time = Date.now();
    const typing = tr.isUserEvent("input.type") || tr.isUserEvent("delete");
    const top = history.done[history.done.length - 1];
    if (top && typing && top.typing && time - history.time < MERGE_MS) {
      const merged = { changes: inverse.compose(top.changes), selection: top.selection, typing };
      return { done: [...history.done.slice(0, -1), merged], undone: [], time };
    }
    const entry = { changes: inverse, selection: tr.startState.selection, typing };
    return { done: [...history.done, entry].slice(-300), undone: [], time };
  },
});

function step(from, to) {
  return (view) => {
    const history = view.state.field(historyField);
    const entry = history[from][history[from].length - 1];
    if (!entry) return false;
    const back = { changes: entry.changes.invert(view.state.doc), selection: view.state.selection, typing: false };
    const next = {
      [from]: history[from].slice(0, -1),
      [to]: [...history[to], back],
      time: 0,
    };
    view.dispatch({
      changes: entry.changes,
      selection: entry.selection,
      annotations: fromHistory.of(next),
      scrollIntoView: true,
      userEvent: from === "done" ? "undo" : "redo",
    });
    return true;
  };
}

export const undo = step("done", "undone");
export const redo = step("undone", "done");

// --- Selection -------------------------------------------------------------------------
// (The few commands of @codemirror/commands this editor needs, which the browser's own
// contenteditable handling does not do reliably.)

function selectAll(view) {
  view.dispatch({ selection: EditorSelection.range(0, view.state.doc.length), userEvent: "select" });
  return true;
}

/** Deletes the selected text; with nothing selected, lets the browser delete a character. */
function deleteSelection(view) {
  if (view.state.selection.ranges.every((r) => r.empty)) return false;
  view.dispatch(view.state.replaceSelection(""), { userEvent: "delete.selection", scrollIntoView: true });
  return true;
}

// --- Indentation ----------------------------------------------------------------------

function insertNewline(view) {
  const { state } = view;
  const unit = "  ";
  const tr = state.changeByRange((range) => {
    const line = state.doc.lineAt(range.from);
    const indent = /^\s*/.exec(line.text)[0];
    const before = state.sliceDoc(line.from, range.from).trimEnd().slice(-1);
    const after = state.sliceDoc(range.to, line.to).trimStart().slice(0, 1);
    const opens = before === "{" || before === "[";
    if (opens && ((before === "{" && after === "}") || (before === "[" && after === "]"))) {
      const insert = `\n${indent}${unit}\n${indent}`;
      return {
        changes: { from: range.from, to: range.to, insert },
        range: EditorSelection.cursor(range.from + 1 + indent.length + unit.length),
      };
    }
    const insert = `\n${indent}${opens ? unit : ""}`;
    return {
      changes: { from: range.from, to: range.to, insert },
      range: EditorSelection.cursor(range.from + insert.length),
    };
  });
  view.dispatch(state.update(tr, { scrollIntoView: true, userEvent: "input" }));
  return true;
}

function indentLines(view, delta) {
  const { state } = view;
  const changes = [];
  const seen = new Set();
  for (const range of state.selection.ranges) {
    for (let pos = range.from; pos <= range.to; ) {
      const line = state.doc.lineAt(pos);
      if (!seen.has(line.number)) {
        seen.add(line.number);
        const current = /^ */.exec(line.text)[0].length;
        if (delta > 0) changes.push({ from: line.from, insert: "  " });
        else if (current > 0) changes.push({ from: line.from, to: line.from + Math.min(2, current) });
      }
      pos = line.to + 1;
    }
  }
  if (changes.length) view.dispatch({ changes, userEvent: "input.indent" });
  return true;
}

// --- Errors at their place ------------------------------------------------------------

/** Sets the errors shown: `[{ from, to, line, message, pointer }]`. */
export const setErrors = StateEffect.define();

class MessageWidget extends WidgetType {
  constructor(errors) {
    super();
    this.errors = errors;
  }
  eq(other) {
    return (
      other.errors.length === this.errors.length &&
      other.errors.every((e, i) => e.message === this.errors[i].message && e.pointer === this.errors[i].pointer)
    );
  }
  toDOM() {
    const box = document.createElement("div");
    box.className = "cm-error-message";
    for (const error of this.errors) {
      const row = document.createElement("div");
      const pointer = document.createElement("code");
      pointer.append(...visible(error.pointer || "/"));
      const message = document.createElement("span");
      message.className = "cm-error-text";
      message.append(...richText(error.message));
      row.append(pointer, " ", message);
      box.append(row);
    }
    return box;
  }
  ignoreEvent() {
    return false;
  }
}

const errorLine = Decoration.line({ class: "cm-error-line" });
const errorMark = Decoration.mark({ class: "cm-error-mark" });

class ErrorGutterMarker extends GutterMarker {
  constructor() {
    super();
    this.elementClass = "cm-error-gutter";
  }
}
const errorGutter = new ErrorGutterMarker();

function buildDecorations(doc, errors) {
  const byLine = new Map();
  for (const error of errors) {
    const pos = Math.min(Math.max(0, error.from), doc.length);
    const line = doc.lineAt(pos);
    if (!byLine.has(line.number)) byLine.set(line.number, { line, errors: [] });
    byLine.get(line.number).errors.push({ ...error, from: pos, to: Math.min(Math.max(pos, error.to), doc.length) });
  }
  const ranges = [];
  for (const { line, errors: here } of byLine.values()) {
    ranges.push(errorLine.range(line.from));
    for (const e of here) {
      if (e.to > e.from) ranges.push(errorMark.range(e.from, e.to));
    }
    ranges.push(Decoration.widget({ widget: new MessageWidget(here), block: true, side: 1 }).range(line.to));
  }
  return Decoration.set(ranges, true);
}

const errorsField = StateField.define({
  create: () => ({ errors: [], decorations: Decoration.none }),
  update(value, tr) {
    for (const effect of tr.effects) {
      if (effect.is(setErrors)) {
        return { errors: effect.value, decorations: buildDecorations(tr.state.doc, effect.value) };
      }
    }
    if (tr.docChanged) {
      const errors = value.errors.map((e) => ({
        ...e,
        from: tr.changes.mapPos(e.from),
        to: tr.changes.mapPos(e.to, 1),
      }));
      return { errors, decorations: value.decorations.map(tr.changes) };
    }
    return value;
  },
  provide: (field) => [
    EditorView.decorations.from(field, (v) => v.decorations),
    gutterLineClass.compute([field], (state) => {
      const builder = new RangeSetBuilder();
      const lines = new Set();
      for (const e of state.field(field).errors) {
        const pos = Math.min(Math.max(0, e.from), state.doc.length);
        lines.add(state.doc.lineAt(pos).from);
      }
      for (const from of [...lines].sort((a, b) => a - b)) builder.add(from, from, errorGutter);
      return builder.finish();
    }),
  ],
});

/** Moves the cursor to the next error after it (wrapping around). */
function nextError(view) {
  const { errors } = view.state.field(errorsField);
  if (!errors.length) return false;
  const head = view.state.selection.main.head;
  const sorted = [...errors].sort((a, b) => a.from - b.from);
  const next = sorted.find((e) => e.from > head) || sorted[0];
  view.dispatch({ selection: EditorSelection.range(next.from, next.to), scrollIntoView: true });
  return true;
}

// --- Field documentation on hover -----------------------------------------------------

function resolve(schema, node) {
  let n = node;
  for (let i = 0; n && n.$ref && i < 10; i++) {
    const name = n.$ref.replace(/^#\/(\$defs|definitions)\//, "");
    n = (schema.$defs || schema.definitions || {})[name];
  }
  return n;
}

function schemaAt(schema, path) {
  let node = resolve(schema, schema);
  for (const key of path) {
    if (!node) return null;
    if (node.anyOf) node = resolve(schema, node.anyOf.find((a) => a.type !== "null") || node.anyOf[0]);
    if (!node) return null;
    if (node.type === "array" || node.items) node = resolve(schema, node.items);
    else if (node.properties && key in node.properties) node = resolve(schema, node.properties[key]);
    else if (node.patternProperties) {
      const match = Object.entries(node.patternProperties).find(([re]) => {
        try {
          return new RegExp(re).test(String(key));
        } catch {
          return false;
        }
      });
      node = match ? resolve(schema, match[1]) : null;
    } else if (node.additionalProperties) node = resolve(schema, node.additionalProperties);
    else return null;
    if (node && node.anyOf) node = resolve(schema, node.anyOf.find((a) => a.type !== "null") || node.anyOf[0]) || node;
  }
  return node;
}

function docAt(schema, text, pos, extra) {
  const root = parseTree(text);
  if (!root) return null;
  const path = [];
  let node = root;
  for (;;) {
    if (node.type === "object") {
      const member = node.members.find((m) => pos >= m.keyStart && pos <= m.value.end);
      if (!member) return null;
      path.push(member.key);
      if (pos <= member.keyEnd) {
        const more = extra && extra(path);
        if (more) return { path, node: more, start: member.keyStart, end: member.keyEnd, key: true };
        return { path, node: schemaAt(schema, path), start: member.keyStart, end: member.keyEnd, key: true };
      }
      node = member.value;
    } else if (node.type === "array") {
      const index = node.items.findIndex((item) => pos >= item.start && pos <= item.end);
      if (index < 0) return null;
      path.push(index);
      node = node.items[index];
    } else {
      const more = extra && extra(path, text.slice(node.start, node.end));
      if (more) return { path, node: more, start: node.start, end: node.end, key: true };
      const target = schemaAt(schema, path);
      let value;
      try {
        value = JSON.parse(text.slice(node.start, node.end));
      } catch {
        return null;
      }
      const variants = target && (target.oneOf || target.anyOf);
      const variant = variants && variants.find((v) => v.const === value || (v.enum && v.enum.includes(value)));
      if (!variant || !variant.description) return null;
      return { path, node: variant, start: node.start, end: node.end, key: false, value };
    }
  }
}

const TOP_ANCHORS = new Set(["version", "default", "hide", "all_tools", "tools", "mode", "pin"]);
const ENTRY_ANCHORS = {
  action: "action",
  deny_if: "deny_if",
  require: "require",
  limits: "limits",
  rate_limit: "rate_limit",
  approval: "approval",
  on_deny: "on_deny",
  reason: "on_deny",
  mode: "mode",
};

/** The section of guide.html that explains the value at `path` of a policy. */
export function guideAnchor(path) {
  const [top, key, field, index, member] = path;
  if (!TOP_ANCHORS.has(top)) return "fields";
  if (top === "all_tools") return path.length >= 2 ? "limits" : "all_tools";
  if (top === "pin") return "pin";
  if (top !== "tools" || path.length === 1) return top;
  if (path.length === 2) return "matching";
  const anchor = ENTRY_ANCHORS[field];
  if (!anchor) return "tools";
  if ((field === "deny_if" || field === "require") && path.length >= 5) return member === "path" ? "paths" : "conditions";
  if (field === "approval" && index === "if") return path.length >= 6 && path[5] === "path" ? "paths" : "conditions";
  return anchor;
}

function docsTooltip(schema, extra) {
  return hoverTooltip((view, pos) => {
    if (!schema) return null;
    const found = docAt(schema, view.state.doc.toString(), pos, extra);
    if (!found || !found.node || !found.node.description) return null;
    return {
      pos: found.start,
      end: found.end,
      above: true,
      create() {
        const dom = document.createElement("div");
        dom.className = "cm-doc-tooltip";
        const title = document.createElement("code");
        title.textContent = found.node.title || (found.key ? found.path[found.path.length - 1] : JSON.stringify(found.value));
        const body = document.createElement("p");
        body.append(...richText(found.node.description.replace(/\s*\n\s*/g, " ").replace(/\*\*/g, "")));
        const link = document.createElement("a");
        link.className = "guide-link";
        link.href = `guide.html#${guideAnchor(found.path)}`;
        link.target = "_blank";
        link.rel = "noopener";
        link.textContent = "Read more in the policy guide →";
        dom.append(title, body, link);
        return { dom };
      },
    };
  });
}

// --- Wrapped lines keep their indentation ---------------------------------------------

const hangingIndent = ViewPlugin.fromClass(
  class {
    constructor(view) {
      this.decorations = this.build(view);
    }
    update(update) {
      if (update.docChanged || update.viewportChanged) this.decorations = this.build(update.view);
    }
    build(view) {
      const builder = new RangeSetBuilder();
      for (const { from, to } of view.visibleRanges) {
        for (let pos = from; pos <= to; ) {
          const line = view.state.doc.lineAt(pos);
          const n = /^ */.exec(line.text)[0].length + 2;
          builder.add(
            line.from,
            line.from,
            Decoration.line({ attributes: { style: `padding-left: calc(${n}ch + 6px); text-indent: -${n}ch` } }),
          );
          pos = line.to + 1;
        }
      }
      return builder.finish();
    }
  },
  { decorations: (v) => v.decorations },
);

// --- The editor -----------------------------------------------------------------------

const highlight = HighlightStyle.define([
  { tag: tags.propertyName, color: "var(--syn-key)" },
  { tag: tags.string, color: "var(--syn-string)" },
  { tag: tags.number, color: "var(--syn-number)" },
  { tag: [tags.bool, tags.null], color: "var(--syn-literal)", fontWeight: "600" },
  { tag: [tags.brace, tags.squareBracket, tags.separator], color: "var(--syn-punct)" },
]);

/**
 * Creates the editor in `parent`. `onChange(text)` runs after every change of the text;
 * `describe(path, valueText?)` may give `{ title, description }` for a hovered key or
 * value, before the schema's own documentation.
 * Returns `{ view, getText, setText, replaceText, showErrors, focusRange }`.
 */
export function createEditor(parent, { text, onChange, schema, label, describe }) {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        lineNumbers(),
        foldGutter(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        drawSelection(),
        highlightActiveLine(),
        bracketMatching(),
        indentOnInput(),
        json(),
        syntaxHighlighting(highlight),
        EditorView.lineWrapping,
        hangingIndent,
        EditorState.tabSize.of(2),
        historyField,
        errorsField,
        docsTooltip(schema, describe),
        keymap.of([
          { key: "Mod-a", run: selectAll, preventDefault: true },
          { key: "Backspace", run: deleteSelection },
          { key: "Delete", run: deleteSelection },
          { key: "Mod-z", run: undo, preventDefault: true },
          { key: "Mod-y", run: redo, preventDefault: true },
          { key: "Mod-Shift-z", run: redo, preventDefault: true },
          { key: "Enter", run: insertNewline },
          { key: "Mod-]", run: (v) => indentLines(v, 1) },
          { key: "Mod-[", run: (v) => indentLines(v, -1) },
          { key: "F8", run: nextError },
          ...foldKeymap,
        ]),
        EditorView.contentAttributes.of({ "aria-label": label, "aria-multiline": "true" }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) onChange(update.state.doc.toString(), update);
        }),
      ],
    }),
  });

  const getText = () => view.state.doc.toString();

  /** Replaces the text with the smallest change that turns it into `next`. */
  const replaceText = (next, userEvent = "input.builder") => {
    const current = getText();
    if (current === next) return;
    let start = 0;
    const max = Math.min(current.length, next.length);
    while (start < max && current.charCodeAt(start) === next.charCodeAt(start)) start++;
    let end = 0;
    while (
      end < max - start &&
      current.charCodeAt(current.length - 1 - end) === next.charCodeAt(next.length - 1 - end)
    )
      end++;
    view.dispatch({
      changes: { from: start, to: current.length - end, insert: next.slice(start, next.length - end) },
      userEvent,
    });
  };

  /** Loads a whole new text (import, example, shared link); undo brings the old one back. */
  const setText = (next) => {
    view.dispatch({
      changes: { from: 0, to: view.state.doc.length, insert: next },
      selection: EditorSelection.cursor(0),
      userEvent: "input.load",
      scrollIntoView: true,
    });
  };

  const showErrors = (errors) => view.dispatch({ effects: setErrors.of(errors) });

  const focusRange = (from, to) => {
    const length = view.state.doc.length;
    view.dispatch({
      selection: EditorSelection.range(Math.min(from, length), Math.min(to, length)),
      effects: EditorView.scrollIntoView(Math.min(from, length), { y: "center" }),
    });
    view.focus();
  };

  return { view, getText, setText, replaceText, showErrors, focusRange, nextError: () => nextError(view) };
}

// --- A JSON-lines editor (the Tests tab's cases) ---------------------------------------

/** Sets the marks of whole lines: `Map(line number → "pass" | "fail")`. */
const setLineMarks = StateEffect.define();

class LineMarker extends GutterMarker {
  constructor(kind) {
    super();
    this.elementClass = `case-${kind}`;
  }
}
const lineMarkers = { pass: new LineMarker("pass"), fail: new LineMarker("fail") };
const failLine = Decoration.line({ class: "case-fail-line" });

const lineMarksField = StateField.define({
  create: () => new Map(),
  update(marks, tr) {
    for (const effect of tr.effects) if (effect.is(setLineMarks)) return effect.value;
    // A change of the text makes the marks stale until the next run sets them again.
    return tr.docChanged ? new Map() : marks;
  },
  provide: (field) => [
    gutterLineClass.compute([field], (state) => {
      const builder = new RangeSetBuilder();
      const marks = state.field(field);
      for (const n of [...marks.keys()].sort((a, b) => a - b)) {
        if (n < 1 || n > state.doc.lines) continue;
        const from = state.doc.line(n).from;
        builder.add(from, from, lineMarkers[marks.get(n)]);
      }
      return builder.finish();
    }),
    EditorView.decorations.compute([field], (state) => {
      const builder = new RangeSetBuilder();
      const marks = state.field(field);
      for (const n of [...marks.keys()].sort((a, b) => a - b)) {
        if (n >= 1 && n <= state.doc.lines && marks.get(n) === "fail") builder.add(state.doc.line(n).from, state.doc.line(n).from, failLine);
      }
      return builder.finish();
    }),
  ],
});

/**
 * An editor for JSON lines, one case a line (the Tests tab): line numbers, JSON
 * highlighting, undo, and a pass or fail mark on each line. Returns `{ view, getText,
 * setText, replaceText, markLines, focusLine }`.
 */
export function createLinesEditor(parent, { text, onChange, label }) {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        drawSelection(),
        highlightActiveLine(),
        bracketMatching(),
        json(),
        syntaxHighlighting(highlight),
        EditorView.lineWrapping,
        EditorState.tabSize.of(2),
        historyField,
        lineMarksField,
        keymap.of([
          { key: "Mod-a", run: selectAll, preventDefault: true },
          { key: "Backspace", run: deleteSelection },
          { key: "Delete", run: deleteSelection },
          { key: "Mod-z", run: undo, preventDefault: true },
          { key: "Mod-y", run: redo, preventDefault: true },
          { key: "Mod-Shift-z", run: redo, preventDefault: true },
        ]),
        EditorView.contentAttributes.of({ "aria-label": label, "aria-multiline": "true" }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) onChange(update.state.doc.toString(), update);
        }),
      ],
    }),
  });
  const getText = () => view.state.doc.toString();
  const setText = (next, userEvent = "input.load") =>
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: next }, selection: EditorSelection.cursor(0), userEvent, scrollIntoView: true });
  const replaceText = (next, userEvent = "input.edit") => {
    const current = getText();
    if (current === next) return;
    let start = 0;
    const max = Math.min(current.length, next.length);
    while (start < max && current.charCodeAt(start) === next.charCodeAt(start)) start++;
    let end = 0;
    while (end < max - start && current.charCodeAt(current.length - 1 - end) === next.charCodeAt(next.length - 1 - end)) end++;
    view.dispatch({ changes: { from: start, to: current.length - end, insert: next.slice(start, next.length - end) }, userEvent });
  };
  const markLines = (marks) => view.dispatch({ effects: setLineMarks.of(marks) });
  const focusLine = (n) => {
    if (n < 1 || n > view.state.doc.lines) return;
    const line = view.state.doc.line(n);
    view.dispatch({ selection: EditorSelection.range(line.from, line.to), effects: EditorView.scrollIntoView(line.from, { y: "center" }) });
    view.focus();
  };
  return { view, getText, setText, replaceText, markLines, focusLine };
}

export { ChangeSet };
