// The sequence timeline: one lane of calls, then one lane per rate-limit counter showing
// how many admitted calls lie in its rolling window after each call, against its max.
// Under monitor mode (CONTRACT §7), a second lane of calls shows what the whole policy
// would have decided ("if enforced"), and each monitored counter gets its own lane,
// counting the calls the monitor decision admits. Hand-written SVG, so it needs no
// charting library.

import { s, humanMs } from "./dom.js";

const WINDOW_MS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

function niceStep(span) {
  const steps = [
    100, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
    1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000,
  ];
  // Beyond a day a step, whole days: never more than about eight ticks.
  return steps.find((st) => span / st <= 8) || Math.ceil(span / 8 / 86_400_000) * 86_400_000;
}

/** A time on the axis: `850 ms`, `45 s`, `1:15` (minutes:seconds), `2:30 h`, `1 d 4 h`. */
export function tickLabel(ms, span = ms) {
  const pad = (n) => String(n).padStart(2, "0");
  if (span < 1000) return `${Math.round(ms)} ms`;
  if (span < 60_000) return `${Math.round(ms / 100) / 10} s`;
  // Round to the unit shown, then split, so that a rounded-up part carries.
  if (span < 3_600_000) {
    const seconds = Math.round(ms / 1000);
    return `${Math.floor(seconds / 60)}:${pad(seconds % 60)}`;
  }
  const minutes = Math.round(ms / 60_000);
  if (span < 2 * 86_400_000) return `${Math.floor(minutes / 60)}:${pad(minutes % 60)} h`;
  const hours = Math.round(ms / 3_600_000);
  return hours % 24 ? `${Math.floor(hours / 24)} d ${hours % 24} h` : `${hours / 24} d`;
}

/** The decision the whole policy would have made for a call: its `monitor`, or the same. */
const wouldBe = (c) => (c.decision.monitor ? c.decision.monitor.decision : c.decision.decision);

/**
 * `calls`: `[{ at, decision, counter?, monitorCounter? }]` in order, `counter` naming the
 * counter that refused a rate-limited call (`monitorCounter`, the one that would have);
 * `limits`: the counters the tool counts against (`[{ counter, window, max, scope }]`);
 * `monitorLimits`: those only the monitor decision counts. Returns an `<svg>`.
 */
export function timeline(calls, limits, { monitorLimits = [] } = {}) {
  const monitored = calls.some((c) => c.decision.monitor);
  const lanes = [...limits.map((l) => ({ ...l, monitored: false })), ...monitorLimits.map((l) => ({ ...l, monitored: true }))];
  const width = 720;
  const left = 176;
  const right = 16;
  const top = 10;
  const callLane = 34;
  const lane = 64;
  const gap = 14;
  const axis = 26;
  const callLanes = monitored ? 2 : 1;
  const height = top + callLanes * callLane + gap + lanes.length * (lane + gap) + axis;
  const t0 = calls.length ? calls[0].at : 0;
  const t1 = calls.length ? calls[calls.length - 1].at : 1;
  const span = Math.max(1, t1 - t0);
  const x = (t) => left + ((t - t0) / span) * (width - left - right);

  const admitted = calls.filter((c) => c.decision.decision === "allow").map((c) => c.at);
  const admittedIfEnforced = calls.filter((c) => wouldBe(c) === "allow").map((c) => c.at);
  const limitedBy = (c, limit) =>
    limit.monitored
      ? wouldBe(c) === "rate_limited" && c.monitorCounter === limit.counter
      : c.decision.decision === "rate_limited" && c.counter === limit.counter;
  const tally = calls.reduce((acc, c) => ((acc[c.decision.decision] = (acc[c.decision.decision] || 0) + 1), acc), {});
  const label = `Timeline of ${calls.length} calls over ${humanMs(span)}: ${tally.allow || 0} admitted, ${tally.rate_limited || 0} rate limited${
    calls.length - (tally.allow || 0) - (tally.rate_limited || 0) ? `, ${calls.length - (tally.allow || 0) - (tally.rate_limited || 0)} otherwise refused` : ""
  }.`;

  const svg = s("svg", {
    class: "timeline",
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": label,
    preserveAspectRatio: "xMinYMin meet",
  });
  svg.append(s("title", {}, label));

  // Grid and axis.
  const stepMs = niceStep(span);
  const axisY = height - axis + 4;
  for (let t = 0; t <= span + 1; t += stepMs) {
    const gx = x(t0 + t);
    svg.append(s("line", { x1: gx, x2: gx, y1: top, y2: axisY, class: "grid" }));
    svg.append(s("text", { x: gx, y: axisY + 14, class: "tick", "text-anchor": "middle" }, tickLabel(t, span)));
  }

  // The calls lane, and under monitor mode what the whole policy would have decided.
  const mark = (decision, cx, cy, title, extra = "") => {
    const m =
      decision === "allow"
        ? s("circle", { cx, cy, r: 5, class: `mark-allow${extra}` })
        : decision === "rate_limited"
          ? s("path", { d: `M${cx - 4.5},${cy - 4.5}L${cx + 4.5},${cy + 4.5}M${cx + 4.5},${cy - 4.5}L${cx - 4.5},${cy + 4.5}`, class: `mark-limited${extra}` })
          : s("rect", { x: cx - 4, y: cy - 4, width: 8, height: 8, class: `mark-other${extra}` });
    m.append(s("title", {}, title));
    return m;
  };
  const cy = top + callLane / 2;
  svg.append(s("text", { x: 8, y: cy + 4, class: "lane-label" }, "calls"));
  svg.append(s("line", { x1: left, x2: width - right, y1: cy, y2: cy, class: "lane-axis" }));
  calls.forEach((c, i) => {
    const d = c.decision;
    const title = `#${i + 1} at ${humanMs(c.at - t0)}: ${d.decision.replace("_", " ")}${d.retry_after_ms ? `, retry in ${humanMs(d.retry_after_ms, { up: true })}` : ""}${d.rule ? ` (${d.rule})` : ""}${
      d.monitor ? `; would have been ${d.monitor.decision.replace("_", " ")}${d.monitor.rule ? ` by ${d.monitor.rule}` : ""}` : ""
    }`;
    svg.append(mark(d.decision, x(c.at), cy, title));
  });
  if (monitored) {
    const my = top + callLane + callLane / 2;
    svg.append(s("text", { x: 8, y: my + 4, class: "lane-label monitor-label" }, "if enforced"));
    svg.append(s("text", { x: 8, y: my + 17, class: "lane-sub" }, "monitor decision"));
    svg.append(s("line", { x1: left, x2: width - right, y1: my, y2: my, class: "lane-axis" }));
    calls.forEach((c, i) => {
      const m = c.decision.monitor;
      const decision = wouldBe(c);
      const title = `#${i + 1} at ${humanMs(c.at - t0)}: ${m ? `would have been ${decision.replace("_", " ")}${m.rule ? ` by ${m.rule}` : ""}` : "the same"}`;
      svg.append(mark(decision, x(c.at), my, title, m ? " would" : " same"));
    });
  }

  // One lane per counter.
  lanes.forEach((limit, li) => {
    const y0 = top + callLanes * callLane + gap + li * (lane + gap);
    const y = (n) => y0 + lane - (Math.min(n, limit.max) / limit.max) * lane;
    const windowMs = WINDOW_MS[limit.window] || 60_000;
    const per = { second: "s", minute: "min", hour: "h", day: "day" }[limit.window];
    svg.append(s("text", { x: 8, y: y0 + 14, class: "lane-label" }, limit.counter.length > 22 ? limit.counter.slice(0, 21) + "…" : limit.counter, s("title", {}, limit.counter)));
    svg.append(s("text", { x: 8, y: y0 + 30, class: "lane-sub" }, `max ${limit.max}/${per}, ${limit.scope}`));
    if (limit.monitored) svg.append(s("text", { x: 8, y: y0 + 44, class: "lane-sub monitor-label" }, "monitored"));
    svg.append(s("rect", { x: left, y: y0, width: width - left - right, height: lane, class: "lane-bg" }));
    svg.append(s("line", { x1: left, x2: width - right, y1: y(limit.max), y2: y(limit.max), class: "max-line" }));
    svg.append(s("text", { x: left + 4, y: y(limit.max) - 3, class: "max-label" }, `max ${limit.max}`));
    // In-window count after each call, as a step line.
    let path = "";
    let prevY = null;
    calls.forEach((c) => {
      const inWindow = (limit.monitored ? admittedIfEnforced : admitted).filter((a) => a <= c.at && a > c.at - windowMs).length;
      const cx = x(c.at);
      const cy2 = y(inWindow);
      path += prevY === null ? `M${cx},${cy2}` : `L${cx},${prevY}L${cx},${cy2}`;
      prevY = cy2;
    });
    if (path) {
      path += `L${width - right},${prevY}`;
      svg.append(s("path", { d: path, class: "count-line" }));
    }
    calls.forEach((c, i) => {
      if (!limitedBy(c, limit)) return;
      const cx = x(c.at);
      const m = s("circle", { cx, cy: y(limit.max), r: 4, class: "mark-limited-dot" });
      m.append(s("title", {}, `#${i + 1} ${limit.monitored ? "would have been refused" : "refused"} by ${limit.counter}`));
      svg.append(m);
    });
  });
  return svg;
}
