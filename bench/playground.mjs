// The playground's wasm (www/pkg, the evaluator the browser runs) on the Cedar
// comparison's calls, in node: `eval_jsonl` over the same 50,000 lines in chunks of
// 5,000, three passes, each pass's output compared line by line with `toolgate eval`'s
// (a difference fails the run). Prints and writes (`--json FILE`) the first pass (V8
// still compiling the module's hot functions) and the best.
//
//   node bench/playground.mjs --work target/cedar-bench/work [--json FILE]
//
// `--work` is the folder benches/cedar writes: policy.json, calls.jsonl, toolgate.out.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: options } = parseArgs({
  options: { work: { type: 'string', default: path.join(ROOT, 'target/cedar-bench/work') }, json: { type: 'string' } },
});
const tg = await import(path.join(ROOT, 'www/pkg/toolgate.js'));
await tg.default({ module_or_path: readFileSync(path.join(ROOT, 'www/pkg/toolgate_bg.wasm')) });

const policy = readFileSync(path.join(options.work, 'policy.json'), 'utf8');
const lines = readFileSync(path.join(options.work, 'calls.jsonl'), 'utf8').split('\n').filter(Boolean);
const native = readFileSync(path.join(options.work, 'toolgate.out'), 'utf8').split('\n').filter(Boolean);
if (native.length !== lines.length) throw new Error(`toolgate.out has ${native.length} lines for ${lines.length} calls`);
const CHUNK = 5000;
const passes = [];
for (let pass = 0; pass < 3; pass++) {
  let ns = 0n;
  const out = [];
  for (let i = 0; i < lines.length; i += CHUNK) {
    const part = lines.slice(i, i + CHUNK).join('\n');
    const t = process.hrtime.bigint();
    const answer = tg.eval_jsonl(policy, part);
    ns += process.hrtime.bigint() - t;
    out.push(...answer.split('\n').filter(Boolean));
  }
  const differs = out.findIndex((line, i) => line !== native[i]);
  if (out.length !== native.length || differs >= 0) {
    const i = differs >= 0 ? differs : Math.min(out.length, native.length);
    console.error(`playground wasm and toolgate eval differ at call ${i + 1}:\n  wasm:   ${out[i]}\n  native: ${native[i]}`);
    process.exit(1);
  }
  passes.push(Number(ns) / 1e3 / lines.length);
}
const result = { calls: lines.length, first_us: passes[0], best_us: Math.min(...passes), passes_us: passes, verdicts_match: true };
console.log(`playground wasm, ${lines.length} calls, outputs equal to toolgate eval's: µs a call by pass ${passes.map((p) => p.toFixed(2)).join(' ')}`);
if (options.json) writeFileSync(options.json, `${JSON.stringify(result)}\n`);
