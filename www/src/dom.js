// A few DOM helpers, so that the page's modules build their markup without a framework.

import { visibleNodes } from "./visible.js";

/**
 * Creates an element: `h("button", { class: "x", onclick: f }, "text", child)`. Attribute
 * values of `false`, `null` or `undefined` are left out; `on*` keys add listeners.
 */
export function h(tag, attrs = {}, ...children) {
  const el = tag.includes(":")
    ? document.createElementNS("http://www.w3.org/2000/svg", tag.split(":")[1])
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "value" && "value" in el && !tag.includes(":")) {
      el.value = value;
    } else if (key === "checked" || key === "selected" || key === "disabled" || key === "hidden") {
      el[key] = Boolean(value);
      if (value === true && key !== "checked" && key !== "selected") el.setAttribute(key, "");
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Creates an SVG element. */
export const s = (tag, attrs, ...children) => h("svg:" + tag, attrs, ...children);

/** Replaces the children of `el`, keeping focus on the element with the same `data-focus`. */
export function render(el, ...children) {
  const active = document.activeElement;
  const focusId = active && el.contains(active) ? active.dataset.focus : null;
  let selection = null;
  if (focusId && "selectionStart" in active) {
    try {
      selection = [active.selectionStart, active.selectionEnd];
    } catch {
      selection = null;
    }
  }
  const scroll = el.scrollTop;
  el.replaceChildren();
  append(el, children);
  el.scrollTop = scroll;
  if (focusId) {
    const again = el.querySelector(`[data-focus="${CSS.escape(focusId)}"]`);
    if (again) {
      again.focus({ preventScroll: true });
      if (selection && again.setSelectionRange) {
        try {
          again.setSelectionRange(selection[0], selection[1]);
        } catch {
          // Not a text control.
        }
      }
    }
  }
}

/**
 * Human text for a duration in milliseconds: `850 ms`, `4.2 s`, `2 min 5 s`, `1 h`,
 * `3 d 4 h`. The value is rounded to what is shown first, then split into units, so a
 * rounded-up part carries into the next unit (59.96 s is `1 min`, never `60 s`). With
 * `{ up: true }` it rounds up instead, for waits: "retry in 4.2 s" for 4,110 ms, since
 * retrying after 4.1 s would be too early.
 */
export function humanMs(ms, { up = false } = {}) {
  const round = up ? Math.ceil : Math.round;
  const value = Math.max(0, Number(ms) || 0);
  const whole = round(value);
  if (whole < 1000) return `${whole} ms`;
  const tenths = round(value / 100);
  if (tenths < 600) return `${tenths / 10} s`;
  const seconds = round(value / 1000);
  if (seconds < 3600) return join(Math.floor(seconds / 60), "min", seconds % 60, "s");
  const minutes = round(value / 60_000);
  if (minutes < 24 * 60) return join(Math.floor(minutes / 60), "h", minutes % 60, "min");
  const hours = round(value / 3_600_000);
  return join(Math.floor(hours / 24), "d", hours % 24, "h");
}

function join(big, bigUnit, small, smallUnit) {
  return small ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`;
}

/** Debounces `fn` by `ms`. */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.now = (...args) => {
    clearTimeout(timer);
    fn(...args);
  };
  return wrapped;
}

export const STATUS_LABEL = {
  allowed: "Allowed",
  limited: "Limited",
  needs_approval: "Needs approval",
  denied: "Denied",
  hidden: "Hidden",
};

export const RISK_LABEL = {
  read: "Read",
  write: "Write",
  execute: "Execute",
  destructive: "Destructive",
  financial: "Financial",
  other: "Other",
};

export function statusBadge(status, extra = {}) {
  return h("span", { class: `badge status status-${status}`, ...extra }, STATUS_LABEL[status] || status);
}

export function riskBadge(risk) {
  return h("span", { class: `badge risk risk-${risk}` }, RISK_LABEL[risk] || risk);
}

export const DECISION_LABEL = {
  allow: "allow",
  deny: "deny",
  hidden: "hidden",
  rate_limited: "rate limited",
  approval_required: "approval required",
  invalid: "invalid",
};

export function decisionBadge(decision) {
  return h("span", { class: `badge decision decision-${decision}` }, DECISION_LABEL[decision] || decision);
}

/**
 * A core message with its `backticked` parts as code: `[text, <code>, text, ...]`. In
 * code, characters that cannot be seen (a tab, a zero-width space) are shown by name.
 */
export function richText(message) {
  return String(message)
    .split(/`([^`]*)`/)
    .map((part, i) => (i % 2 ? h("code", {}, visibleNodes(part, h)) : part))
    .filter((part) => part !== "");
}

/** Text with its invisible characters shown by name (for names and pointers). */
export const visible = (text) => visibleNodes(text, h);

/** Shows `message` in the page's `#toast` element for a few seconds. */
export function toast(message, kind = "info") {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.className = `toast toast-${kind}`;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    el.hidden = true;
  }, 4500);
}
