// The tool catalogue: every tool of the current catalogue (see source.js) with its risk
// category and its status under the current policy (both computed by the core, see
// src/catalogue.rs, and status.js), searchable and filterable.

import { h, render, riskBadge, statusBadge, richText, visible, STATUS_LABEL, RISK_LABEL } from "./dom.js";
import { limitPhrase, countsCalls } from "./status.js";

const STATUS_ORDER = ["allowed", "limited", "needs_approval", "denied", "hidden"];

const PIN_LABEL = { new: "new, not reviewed", changed: "changed since reviewed", removed: "removed", pinned: "pinned" };

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
  const filters = { text: "", status: "", risk: "" };
  let rows = new Map();
  let tbody;
  let summary;
  let statusFilter;
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
    counts = h("div", { class: "counts", role: "group", "aria-label": "Tools by status" });
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
      const warnings = Array.isArray(tool.warnings) ? tool.warnings.filter((w) => typeof w === "string") : [];
      const pin = typeof tool.pin_status === "string" && tool.pin_status !== "pinned" ? tool.pin_status : null;
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
            visible(tool.name),
          ),
          pin ? h("span", { class: `badge pin pin-${pin}`, title: "pin status at the gateway" }, PIN_LABEL[pin] || pin) : null,
          h("div", { class: "desc", title: tool.description || "" }, tool.description || ""),
          warnings.length
            ? h("ul", { class: "tool-warnings", "aria-label": `warnings about ${tool.name}` }, warnings.map((w) => h("li", {}, "⚠ ", richText(w))))
            : null,
        ),
        h("td", { class: "risk-cell" }, riskBadge(tool.risk)),
        statusCell,
      );
      rows.set(tool.name, { tr, statusCell, tool });
      tbody.append(tr);
    }
    render(
      root,
      sourceBar(),
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
    if (!tbody) return;
    let shown = 0;
    for (const { tr, tool } of rows.values()) {
      const visibleRow = matches(tool, app.statusOf(tool.name));
      tr.hidden = !visibleRow;
      if (visibleRow) shown++;
    }
    summary.textContent = `${shown} of ${rows.size} tools shown.`;
  }

  function update() {
    if (!tbody) return;
    const known = app.checkOk;
    stale.hidden = known;
    const tally = {};
    for (const { tool, statusCell } of rows.values()) {
      const row = app.statusOf(tool.name);
      delete statusCell.dataset.status;
      if (!row) {
        statusCell.replaceChildren(h("span", { class: "muted", title: known ? "" : "the policy has errors" }, "—"));
        continue;
      }
      tally[row.status] = (tally[row.status] || 0) + 1;
      statusCell.replaceChildren(
        statusBadge(row.status, { title: row.why.replace(/`/g, "") }),
        row.conditional ? h("span", { class: "badge cond", title: "the call's arguments can change the outcome" }, "conditional") : "",
        h("div", { class: "limits muted small" }, limitLines(row)),
        row.own ? h("div", { class: "own-rules small" }, "Own rules: ", richText(row.own)) : "",
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
