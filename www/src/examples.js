// The example policies offered in the page's "Examples" menu. Each file lives in
// www/examples/ and is validated by `cargo test` (tests/catalogue.rs).
export const EXAMPLES = [
  { file: "contract.policy.json", title: "Contract example", about: "The policy from the contract: hide SSH and web-session tools, deny deletes, rate-limit Google, approve invoice runs." },
  { file: "read-only.policy.json", title: "Read-only assistant", about: "Default deny; only searching and reading Odoo, Gmail and Calendar, with per-grant limits." },
  { file: "accounting-guard.policy.json", title: "Accounting guard", about: "Default allow, but no posted-entry edits, no agent payments, approvals for fiscal changes." },
  { file: "sales-assistant.policy.json", title: "Sales assistant", about: "CRM and quotation models only; outgoing mail needs approval and is capped per day." },
  { file: "rate-limits.policy.json", title: "Rate limits", about: "Shared counters across tools, a per-session burst limit and a global AI budget." },
  { file: "lockdown.policy.json", title: "Lockdown", about: "Default allow with every delete denied, shell and proxy tools hidden, runs approved." },
];
