// The tool catalogue: every tool of the current catalogue (see source.js) with its risk
// category, its warnings, and its status under the current policy (all computed by the
// core, see src/catalogue/view.rs, and status.js), searchable and filterable. A gateway's
// catalogue also says where each tool stands against its pin (CONTRACT §8): the status
// applies the policy's `pin` to it. Under monitor mode (CONTRACT §7) the status is the
// enforced one, and what the whole policy would do is shown beside it.

import { h, render, riskBadge, statusBadge, richText, visible, STATUS_LABEL, RISK_LABEL } from "./dom.js";
import { limitPhrase, countsCalls } from "./status.js";

const STATUS_ORDER = ["allowed", "limited", "needs_approval", "denied", "hidden"];

const PIN_LABEL = { new: "new, not reviewed", changed: "changed since reviewed", removed: "removed", pinned: "pinned" };
const PIN_HELP = {
  new: "The gateway first saw this tool after it pinned the catalogue; no operator has accepted it yet.",
  changed: "Its definition at the origin no longer matches the one pinned when it was reviewed; no operator has accepted the change yet.",
};

const FLAGS = [
  ["", "Any tool"],
  ["warnings", "With warnings"],
  ["unreviewed", "Not reviewed (pin)"],
  ["monitored", "Under monitor mode"],
];

/** Whether the policy text enforces pins (`pin` present) and is not wholly monitored. */
function pinRule(policy) {
  if (!policy || typeof policy !== "object" || !policy.pin || typeof policy.pin !== "object") return null;
  return policy.pin.on_change === "deny" ? "deny" : "hide";
}

/** The lines under a status badge: one a limit, `30 per minute · /all_tools/limits/0`. */
function limitLines(row) {
  if (!countsCalls(row.status)) return [];
  return row.limits.map((l) =>
    h(
      "div",
      { class: "limit-line", title: `counter ${l.counter}, per ${l.scope}, defined at ${l.rule}` },
      `${limitPhrase(l)} · `,
      l.all_tools ? h("code", {}, l.rule) : h("code", {}, l.counter),
    ),
  );
}

export function createCatalogue(root, app) {
  const filters = { text: "", status: "", risk: "", flag: "" };
  let rows = new Map();
  let tbody;
  let summary;
  let statusFilter;
  let counts;
  let flags;
  let stale;

  function matches(tool, row) {
    if (filters.status && (!row || row.status !== filters.status)) return false;
    if (filters.risk && tool.risk !== filters.risk) return false;
    if (filters.flag === "warnings" && !app.warningsOf(tool.name).length) return false;
    if (filters.flag === "unreviewed" && !["changed", "new"].includes(app.pins.get(tool.name))) return false;
    if (filters.flag === "monitored" && !(row && (row.monitored || row.monitor))) return false;
    if (filters.text) {
      const hay = `${tool.name} ${tool.description || ""}`.toLowerCase();
      return filters.text
        .toLowerCase()
        .split(/\s+/)
        .filter(Boolean)
        .every((word) => hay.includes(word));
    }
    return true;
  }

  function sourceBar() {
    const n = app.tools.length;
    return h(
      "div",
      { class: "source-bar", id: "catalogue-source" },
      h("span", { class: "muted" }, "Catalogue: "),
      h("strong", { id: "catalogue-source-label" }, app.sourceLabel()),
      n ? h("span", { class: "muted" }, ` · ${n} tool${n === 1 ? "" : "s"}`) : null,
      h("button", { type: "button", class: "small", id: "catalogue-change", onclick: () => app.openCatalogueDialog() }, n ? "Change…" : "Import…"),
    );
  }

  function emptyState() {
    return h(
      "section",
      { class: "card empty-catalogue", id: "catalogue-empty", "aria-labelledby": "catalogue-empty-title" },
      h("h3", { id: "catalogue-empty-title" }, "Import your MCP server's tools to start"),
      h(
        "p",
        {},
        "The playground shows what a policy does to each tool of a catalogue: the answer of your MCP server to ",
        h("code", {}, "tools/list"),
        ". Import it from a file, paste it, or load it from a toolgate gateway with an admin token. It stays in this browser.",
      ),
      h(
        "div",
        { class: "actions-row" },
        h("button", { type: "button", class: "primary", id: "catalogue-import-cta", onclick: () => app.openCatalogueDialog() }, "Import a catalogue…"),
        h("span", { class: "muted small" }, "You can write and check a policy without one: the editor and the simulator work on any tool name."),
      ),
    );
  }

  function build() {
    rows = new Map();
    if (!app.tools.length) {
      tbody = null;
      render(root, sourceBar(), emptyState());
      return;
    }
    const search = h("input", {
      id: "tool-search",
      type: "search",
      placeholder: `Search ${app.tools.length} tools by name or description   ( / )`,
      "aria-label": "Search tools",
      autocomplete: "off",
      spellcheck: "false",
      value: filters.text,
      oninput: (e) => {
        filters.text = e.target.value;
        applyFilters();
      },
    });
    statusFilter = h(
      "select",
      {
        id: "status-filter",
        "aria-label": "Filter by status",
        onchange: (e) => {
          filters.status = e.target.value;
          update();
        },
      },
      h("option", { value: "" }, "Any status"),
      STATUS_ORDER.map((s) => h("option", { value: s, selected: filters.status === s }, STATUS_LABEL[s])),
    );
    const riskFilter = h(
      "select",
      {
        id: "risk-filter",
        "aria-label": "Filter by risk",
        onchange: (e) => {
          filters.risk = e.target.value;
          applyFilters();
        },
      },
      h("option", { value: "" }, "Any risk"),
      Object.entries(RISK_LABEL).map(([value, label]) => h("option", { value, selected: filters.risk === value }, label)),
    );
    const flagFilter = h(
      "select",
      {
        id: "flag-filter",
        "aria-label": "Show only",
        onchange: (e) => {
          filters.flag = e.target.value;
          applyFilters();
        },
      },
      FLAGS.map(([value, label]) => h("option", { value, selected: filters.flag === value }, label)),
    );
    counts = h("div", { class: "counts", role: "group", "aria-label": "Tools by status" });
    flags = h("div", { class: "flag-summary small", id: "catalogue-flags" });
    const hint = h(
      "p",
      { class: "muted small hint" },
      "Every tool's status follows the policy as you type. Click a tool's name to write its rule in the Builder; hover a badge to see why.",
    );
    summary = h("p", { class: "muted small", id: "catalogue-summary", "aria-live": "polite" });
    stale = h("p", { class: "notice", hidden: true }, "The policy has errors, so no status is shown until it is valid again.");
    tbody = h("tbody");
    for (const tool of app.tools) {
      const statusCell = h("td", { class: "status-cell" });
      const pinCell = h("span", { class: "pin-slot" });
      const warnings = app.warningsOf(tool.name);
      const tr = h(
        "tr",
        { "data-tool": tool.name, class: warnings.length ? "has-warnings" : "" },
        h(
          "td",
          { class: "tool-cell" },
          h(
            "button",
            {
              type: "button",
              class: "tool-name",
              title: "Open in the builder",
              onclick: () => app.openInBuilder(tool.name),
            },
            visible(tool.name),
          ),
          pinCell,
          warnings.length
            ? h("span", { class: "badge warn-badge", title: "This definition has text a reviewer should read: see below" }, `⚠ ${warnings.length} warning${warnings.length === 1 ? "" : "s"}`)
            : null,
          h("div", { class: "desc", title: tool.description || "" }, visible(tool.description || "")),
          warnings.length
            ? h(
                "ul",
                { class: "tool-warnings", "aria-label": `warnings about ${tool.name}` },
                warnings.map((w) => h("li", {}, "⚠ ", richText(w))),
                h("li", { class: "warn-help" }, h("a", { href: "guide.html#warnings", target: "_blank", rel: "noopener" }, "What these warnings mean")),
              )
            : null,
        ),
        h("td", { class: "risk-cell" }, riskBadge(tool.risk)),
        statusCell,
      );
      rows.set(tool.name, { tr, statusCell, pinCell, tool });
      tbody.append(tr);
    }
    render(
      root,
      sourceBar(),
      hint,
      h("div", { class: "toolbar" }, search, statusFilter, riskFilter, flagFilter),
      counts,
      flags,
      stale,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "tools", "aria-describedby": "catalogue-summary" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Tool"), h("th", { scope: "col" }, "Risk"), h("th", { scope: "col" }, "Status under this policy"))),
          tbody,
        ),
      ),
      summary,
    );
  }

  function applyFilters() {
    if (!tbody) return;
    let shown = 0;
    for (const { tr, tool } of rows.values()) {
      const visibleRow = matches(tool, app.statusOf(tool.name));
      tr.hidden = !visibleRow;
      if (visibleRow) shown++;
    }
    summary.textContent = `${shown} of ${rows.size} tools shown.`;
  }

  /** The pin badge of a tool from a gateway's catalogue, and what the policy's `pin` does with it. */
  function pinBadge(name, row) {
    const pin = (row && row.pin_status) || app.pins.get(name);
    if (!pin || pin === "pinned") return null;
    const rule = pinRule(app.policy);
    const note = rule ? null : "not enforced: the policy has no `pin`";
    return [
      h("span", { class: `badge pin pin-${pin}`, title: PIN_HELP[pin] || "pin status at the gateway", "data-pin": pin }, PIN_LABEL[pin] || pin),
      note ? h("span", { class: "pin-note muted small" }, richText(note)) : null,
    ];
  }

  function update() {
    if (!tbody) return;
    const known = app.checkOk;
    stale.hidden = known;
    const tally = {};
    let monitoredCount = 0;
    let differ = 0;
    for (const { tool, statusCell, pinCell } of rows.values()) {
      const row = app.statusOf(tool.name);
      pinCell.replaceChildren(...[pinBadge(tool.name, row)].flat().filter(Boolean));
      delete statusCell.dataset.status;
      delete statusCell.dataset.monitor;
      if (!row) {
        statusCell.replaceChildren(h("span", { class: "muted", title: known ? "" : "the policy has errors" }, "—"));
        continue;
      }
      tally[row.status] = (tally[row.status] || 0) + 1;
      if (row.monitored || row.monitor) monitoredCount++;
      if (row.monitor) differ++;
      statusCell.replaceChildren(
        statusBadge(row.status, { title: row.why.replace(/`/g, "") }),
        row.conditional ? h("span", { class: "badge cond", title: "the call's arguments can change the outcome" }, "conditional") : "",
        row.monitored || row.monitor ? h("span", { class: "badge monitored", title: "a rule that applies to this tool is in monitor mode: reported, not enforced" }, "monitored") : "",
        row.rule === "/pin" ? h("div", { class: "pin-why small" }, richText(row.why)) : "",
        row.monitor
          ? h(
              "div",
              { class: "monitor-status small" },
              "Would be ",
              statusBadge(row.monitor.status),
              row.monitor.conditional ? h("span", { class: "badge cond" }, "conditional") : "",
              " if enforced: ",
              richText(row.monitor.why),
            )
          : "",
        h("div", { class: "limits muted small" }, limitLines(row)),
        row.own ? h("div", { class: "own-rules small" }, "Own rules: ", richText(row.own)) : "",
      );
      statusCell.dataset.status = row.status;
      if (row.monitor) statusCell.dataset.monitor = row.monitor.status;
    }
    const warned = app.tools.filter((t) => app.warningsOf(t.name).length).length;
    const unreviewed = app.tools.filter((t) => ["changed", "new"].includes(app.pins.get(t.name))).length;
    render(
      flags,
      warned ? h("span", { class: "flag warn", id: "flag-warnings" }, `⚠ ${warned} tool${warned === 1 ? "" : "s"} with warnings`) : null,
      unreviewed
        ? h(
            "span",
            { class: "flag", id: "flag-unreviewed" },
            `${unreviewed} not reviewed at the gateway`,
            pinRule(app.policy) ? ` (pin: ${pinRule(app.policy)})` : " (the policy has no `pin`, so they are not held back)".replace(/`/g, ""),
          )
        : null,
      known && monitoredCount
        ? h("span", { class: "flag", id: "flag-monitored" }, `${monitoredCount} under monitor mode, ${differ} of them would be treated differently if enforced`)
        : null,
    );
    render(
      counts,
      h(
        "button",
        {
          type: "button",
          class: `count-chip${filters.status === "" ? " on" : ""}`,
          "aria-pressed": String(filters.status === ""),
          onclick: () => setStatus(""),
        },
        `All ${rows.size}`,
      ),
      STATUS_ORDER.map((s) =>
        h(
          "button",
          {
            type: "button",
            class: `count-chip chip-${s}${filters.status === s ? " on" : ""}`,
            "aria-pressed": String(filters.status === s),
            "data-status": s,
            onclick: () => setStatus(filters.status === s ? "" : s),
          },
          h("span", { class: `dot status-${s}` }),
          `${STATUS_LABEL[s]} `,
          h("strong", {}, known ? String(tally[s] || 0) : "—"),
        ),
      ),
    );
    applyFilters();
  }

  function setStatus(status) {
    filters.status = status;
    if (statusFilter) statusFilter.value = status;
    update();
  }

  build();
  return {
    update,
    /** Redraws every row, for a new catalogue. */
    rebuild() {
      build();
      update();
    },
    focusSearch: () => root.querySelector("#tool-search")?.focus(),
  };
}
