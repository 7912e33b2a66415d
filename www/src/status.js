// A tool's status as the page shows it, from the core's catalogue row (src/catalogue.rs).
//
// The core calls a tool `allowed` when no rule of its own limits it, even when an
// `all_tools` limit counts every call to it. The page says `limited` then, naming the
// all-tools limit, and keeps the core's sentence about the tool's own rules beside it.

const PER = { second: "second", minute: "minute", hour: "hour", day: "day" };

/** `30 per minute`, `5 per hour, per session`. */
export function limitPhrase(limit) {
  const scope = limit.scope && limit.scope !== "grant" ? `, per ${limit.scope}` : "";
  return `${limit.max} per ${PER[limit.window] || limit.window}${scope}`;
}

/** What the tool's own rules do, from the core's `why` for an allowed tool. */
function ownRules(row) {
  if (row.rule === "/default") return "none, and `default` is `allow`";
  return row.why;
}

/**
 * The row as shown: `{ ...row, status, why, own }`, where `own` is the sentence about the
 * tool's own rules when the shown status is not theirs (null otherwise).
 */
export function effective(row) {
  if (!row) return row;
  const limits = Array.isArray(row.limits) ? row.limits : [];
  const shared = limits.filter((l) => l.all_tools);
  if (row.status === "allowed" && shared.length) {
    const first = shared[0];
    return {
      ...row,
      status: "limited",
      core_status: row.status,
      rule: first.rule,
      why: `limited by \`${first.rule}\`: ${limitPhrase(first)} for all tools (counter \`${first.counter}\`)`,
      own: ownRules(row),
    };
  }
  // The core says `limited` itself when only an all-tools limit applies, with `own`.
  return { ...row, core_status: row.status, own: row.own ?? null };
}

/** Whether calls to a tool with this status ever count against a limit. */
export const countsCalls = (status) => status !== "hidden" && status !== "denied";
