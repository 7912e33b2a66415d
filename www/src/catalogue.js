// The tool catalogue: every tool of www/odoo-tools.json with its risk category and its
// effective status under the current policy (both computed by the core, see
// src/catalogue.rs), searchable and filterable.

import { h, render, riskBadge, statusBadge, STATUS_LABEL, RISK_LABEL } from "./dom.js";

const STATUS_ORDER = ["allowed", "limited", "needs_approval", "denied", "hidden"];

function limitText(limit) {
  const per = { second: "s", minute: "min", hour: "h", day: "day" }[limit.window] || limit.window;
  return `${limit.counter} ${limit.max}/${per}`;
}

export function createCatalogue(root, app) {
  const filters = { text: "", status: "", risk: "" };
  const rows = new Map();
  let tbody;
  let summary;
  let statusFilter;
  let riskFilter;
  let counts;
  let stale;

  function matches(tool, row) {
    if (filters.status && (!row || row.status !== filters.status)) return false;
    if (filters.risk && tool.risk !== filters.risk) return false;
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

  function build() {
    const search = h("input", {
      id: "tool-search",
      type: "search",
      placeholder: "Search 198 tools by name or description   ( / )",
      "aria-label": "Search tools",
      autocomplete: "off",
      spellcheck: "false",
      oninput: (e) => {
        filters.text = e.target.value;
        applyFilters();
      },
    });
    search.placeholder = `Search ${app.tools.length} tools by name or description   ( / )`;
    statusFilter = h(
      "select",
      {
        id: "status-filter",
        "aria-label": "Filter by status",
        onchange: (e) => {
          filters.status = e.target.value;
          applyFilters();
        },
      },
      h("option", { value: "" }, "Any status"),
      STATUS_ORDER.map((s) => h("option", { value: s }, STATUS_LABEL[s])),
    );
    riskFilter = h(
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
      Object.entries(RISK_LABEL).map(([value, label]) => h("option", { value }, label)),
    );
    counts = h("div", { class: "counts", role: "group", "aria-label": "Tools by status" });
    const hint = h(
      "p",
      { class: "muted small hint" },
      "Every tool's status follows the policy as you type. Click a tool's name to write its rule in the Builder; hover a badge to see why.",
    );
    summary = h("p", { class: "muted small", id: "catalogue-summary", "aria-live": "polite" });
    stale = h("p", { class: "notice", hidden: true }, "The policy has errors: statuses are those of the last valid policy.");
    tbody = h("tbody");
    for (const tool of app.tools) {
      const statusCell = h("td", { class: "status-cell" });
      const tr = h(
        "tr",
        { "data-tool": tool.name },
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
            tool.name,
          ),
          h("div", { class: "desc", title: tool.description || "" }, tool.description || ""),
        ),
        h("td", { class: "risk-cell" }, riskBadge(tool.risk)),
        statusCell,
      );
      rows.set(tool.name, { tr, statusCell, tool });
      tbody.append(tr);
    }
    render(
      root,
      hint,
      h("div", { class: "toolbar" }, search, statusFilter, riskFilter),
      counts,
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
    let shown = 0;
    for (const { tr, tool } of rows.values()) {
      const visible = matches(tool, app.statusOf(tool.name));
      tr.hidden = !visible;
      if (visible) shown++;
    }
    summary.textContent = `${shown} of ${rows.size} tools shown.`;
  }

  function update() {
    stale.hidden = app.checkOk;
    const tally = {};
    for (const { tool, statusCell } of rows.values()) {
      const row = app.statusOf(tool.name);
      if (!row) {
        statusCell.replaceChildren("—");
        continue;
      }
      tally[row.status] = (tally[row.status] || 0) + 1;
      const own = row.limits.filter((l) => !l.all_tools);
      statusCell.replaceChildren(
        statusBadge(row.status, { title: row.why }),
        row.conditional ? h("span", { class: "badge cond", title: "the call's arguments can change the outcome" }, "conditional") : "",
        own.length && row.status !== "hidden" && row.status !== "denied"
          ? h("div", { class: "limits muted small" }, own.map(limitText).join(" · "))
          : "",
      );
      statusCell.dataset.status = row.status;
    }
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
          h("strong", {}, String(tally[s] || 0)),
        ),
      ),
    );
    applyFilters();
  }

  function setStatus(status) {
    filters.status = status;
    statusFilter.value = status;
    update();
  }

  build();
  return { update, focusSearch: () => root.querySelector("#tool-search").focus() };
}
