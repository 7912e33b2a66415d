// The one table of `make bench` (scripts/bench.sh), from what its parts wrote to DIR:
// core-release.txt and core-size.txt (Criterion's output), cedar-release.jsonl and
// cedar-size.jsonl (benches/cedar's result.jsonl), gateway.jsonl (bench/gateway.mjs).
// A part that did not run is left out. Prints Markdown, as bench/PERFORMANCE.md and the
// README show it.
//
//   node bench/table.mjs [DIR]      (default target/bench)

import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const dir = process.argv[2] ?? 'target/bench';
const read = (name) => {
  const file = path.join(dir, name);
  return existsSync(file) ? { text: readFileSync(file, 'utf8'), at: statSync(file).mtime } : null;
};
const jsonLines = (text) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

const UNITS = { ps: 1e-3, ns: 1, 'µs': 1e3, us: 1e3, ms: 1e6, s: 1e9 };

/** Criterion's `time: [low estimate high]` per benchmark, in ns. */
function criterion(text) {
  const found = new Map();
  let previous = '';
  for (const line of text.split('\n')) {
    const m = line.match(/^(.*?)\s*time:\s+\[([\d.]+) (\S+) ([\d.]+) (\S+) ([\d.]+) (\S+)\]/);
    if (m) {
      const name = m[1].trim() || previous;
      const ns = (i) => Number(m[i]) * UNITS[m[i + 1]];
      found.set(name, { low: ns(2), mid: ns(4), high: ns(6) });
    } else if (line.trim()) {
      previous = line.trim();
    }
  }
  return found;
}

function duration(ns) {
  if (ns < 1e3) return `${ns.toPrecision(3)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toPrecision(3)} µs`;
  return `${(ns / 1e6).toPrecision(3)} ms`;
}

const rows = [];
const row = (what, toolgate, baseline, goal, command) => rows.push({ what, toolgate, baseline, goal, command });

const CORE = [
  ['decide: allowed tools/call, 13 conditions, parsed', 'deciding alone: an allowed `tools/call`, 13 conditions, parsed', 300],
  ['Policy::from_json: 198-tool policy', 'loading the 198-tool policy', 150e3],
  ['filter: tools/list 36 KB, 48 tools', 'filtering a 36 KB `tools/list` answer (48 tools)', 100e3],
  ['filter: tools/list 73 KB, 123 tools', 'filtering a 73 KB `tools/list` answer (123 tools)', 100e3],
];
const release = read('core-release.txt');
const size = read('core-size.txt');
if (release || size) {
  const fast = release ? criterion(release.text) : new Map();
  const small = size ? criterion(size.text) : new Map();
  for (const [name, what, goal] of CORE) {
    const a = fast.get(name);
    const b = small.get(name);
    const shown = (t) => (t ? `${duration(t.mid)} (${duration(t.low)}–${duration(t.high)})` : 'not run');
    row(
      `core, native: ${what}`,
      `${shown(a)}, opt-level 3`,
      `size profile (opt-level z): ${shown(b)}`,
      `< ${duration(goal)}${a ? (a.mid < goal ? ' ✓' : ' ✗') : ''}`,
      `cargo bench --bench decision -- --warm-up-time 1 --measurement-time 3 '${name}'` +
        ` (size: CARGO_PROFILE_BENCH_OPT_LEVEL=z cargo bench --target-dir target/size …)`,
    );
  }
}

for (const [file, profile] of [['cedar-release.jsonl', 'opt-level 3'], ['cedar-size.jsonl', 'opt-level z']]) {
  const part = read(file);
  if (!part) continue;
  const engines = Object.fromEntries(jsonLines(part.text).map((r) => [r.engine, r]));
  const tg = engines.toolgate;
  const us = (r) => `${r.us_per_decision.toFixed(2)} µs`;
  const ok = tg.verdicts_match && tg.checks_pass ? '' : ' (verdicts or checks FAILED)';
  for (const key of ['cedar-tuned', 'cedar-whole']) {
    const c = engines[key];
    if (!c) continue;
    row(
      `decisions, whole process, ${tg.calls} calls: \`toolgate eval\` (${profile}) vs ${c.label}${ok}`,
      `${us(tg)} a decision`,
      `${us(c)} a decision (${c.ratio_to_toolgate.toFixed(2)} × toolgate)`,
      key === 'cedar-tuned' ? `≥ 10× tuned Cedar${c.ratio_to_toolgate >= 10 ? ' ✓' : ' ✗'}` : '—',
      tg.harness + (profile === 'opt-level z' ? ' (with TOOLGATE_BIN=target/size/release/toolgate)' : ''),
    );
  }
}

const playground = read('playground.jsonl');
const nativeRun = read('cedar-release.jsonl');
if (playground) {
  const p = jsonLines(playground.text)[0];
  const tgNative = nativeRun ? jsonLines(nativeRun.text).find((r) => r.engine === 'toolgate') : null;
  const ratio = tgNative ? p.best_us / tgNative.us_per_decision : null;
  row(
    `playground wasm in node: the same ${p.calls} calls (eval_jsonl), outputs equal to \`toolgate eval\`'s`,
    `${p.best_us.toFixed(2)} µs a call (first pass, V8 still tiering up: ${p.first_us.toFixed(2)} µs)`,
    tgNative ? `native \`toolgate eval\`, whole process: ${tgNative.us_per_decision.toFixed(2)} µs (wasm ${ratio.toFixed(2)} ×)` : 'native: cedar part not run',
    `≤ 3× native${ratio === null ? '' : ratio <= 3 ? ' ✓' : ' ✗'}`,
    'node bench/playground.mjs --work target/cedar-bench/work',
  );
}
const sizes = read('sizes.jsonl');
if (sizes) {
  const z = jsonLines(sizes.text)[0];
  const kb = (b) => `${(b / 1000).toFixed(1)} KB`;
  row('Worker wasm (build/index_bg.wasm), gzip -9', `${kb(z.worker_gzip)} (raw ${kb(z.worker_raw)})`, 'v1: 529 KB', `≤ 300 KB${z.worker_gzip <= 300_000 ? ' ✓' : ' ✗'}`, 'bash scripts/build-worker.sh && gzip -9 -c build/index_bg.wasm | wc -c');
  row('playground wasm (www/pkg/toolgate_bg.wasm), gzip -9', `${kb(z.playground_gzip)} (raw ${kb(z.playground_raw)})`, 'v1: 334 KB', '—', 'bash scripts/build-playground.sh && gzip -9 -c www/pkg/toolgate_bg.wasm | wc -c');
}

const gateway = read('gateway.jsonl');
if (gateway) {
  const GOALS = { 'tools/call': 1, 'tools/list 36 KB': 2, 'tools/call, 1 limit': 2 };
  for (const r of jsonLines(gateway.text)) {
    const ms = (x) => x.toFixed(2);
    const goal = GOALS[r.kind];
    row(
      `gateway, wrangler dev: ${r.kind}${r.kind === 'tools/call' ? ' (allowed, no limit)' : ''}, added over the pass-through`,
      `+${ms(r.p50.added)} ms p50, +${ms(r.p90.added)} ms p90 (toolgate ${ms(r.p50.toolgate)} / ${ms(r.p90.toolgate)})`,
      `pass-through Worker ${ms(r.p50.passthrough)} / ${ms(r.p90.passthrough)} ms; origin direct ${ms(r.p50.origin)} / ${ms(r.p90.origin)} ms`,
      goal ? `≤ +${goal} ms p50${r.p50.added <= goal ? ' ✓' : ' ✗'}` : '—',
      `node bench/gateway.mjs --requests ${r.requests} --warmup ${r.warmup}` + (r.load ? ` (load average ${r.load})` : ''),
    );
  }
}

const cpu = (() => {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? os.cpus()[0]?.model;
  } catch {
    return os.cpus()[0]?.model;
  }
})();
const when = [release, size, read('cedar-release.jsonl'), playground, gateway].filter(Boolean).map((p) => p.at);
const date = when.length ? new Date(Math.max(...when)).toISOString().slice(0, 10) : 'never';
console.log(`Measured ${date} on ${os.availableParallelism()} CPUs (${cpu}); load average now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}.\n`);
console.log('| measure | toolgate | baseline | goal | reproduce |');
console.log('|---|---|---|---|---|');
const cell = (s) => String(s).replaceAll('|', '\\|');
for (const r of rows) console.log(`| ${[r.what, r.toolgate, r.baseline, r.goal, r.command].map(cell).join(' | ')} |`);
if (!rows.length) console.log('| (nothing measured yet: run `make bench`) | | | | |');
