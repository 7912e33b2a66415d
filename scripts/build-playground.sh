#!/usr/bin/env bash
# Builds the browser playground into www/:
#   www/pkg/   the evaluator as wasm (cargo --features playground, wasm-bindgen --target web,
#              wasm-opt -Oz);
#   www/dist/  the page's JavaScript, bundled by esbuild from www/src/ and node_modules.
# Both are build outputs (gitignored). Every step is skipped when its inputs have not
# changed, so a second run takes about a second. Needs no network.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/playground}"
WASM_BINDGEN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen || echo "$HOME/.cargo/bin/wasm-bindgen")}"
WASM_OPT="${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}"

for tool in "$WASM_BINDGEN" "$WASM_OPT"; do
  [ -x "$tool" ] || { echo "build-playground: missing $tool (run npm ci; cargo install wasm-bindgen-cli --version 0.2.130)" >&2; exit 1; }
done

# 1. The wasm module. The release profile strips everything, which also drops the
# `target_features` section wasm-bindgen reads; keep it here, wasm-opt strips it later.
export CARGO_PROFILE_RELEASE_STRIP=debuginfo
cargo build --quiet --release --target wasm32-unknown-unknown --lib --features playground
raw="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/toolgate.wasm"

# 2. Bindings and size optimisation, only when the module changed.
stamp="www/pkg/.source-sha256"
sum="$(sha256sum "$raw" | cut -d' ' -f1)"
if [ ! -f www/pkg/toolgate_bg.wasm ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
  tmp="$CARGO_TARGET_DIR/pkg.tmp"
  rm -rf "$tmp"
  "$WASM_BINDGEN" --target web --no-typescript --out-dir "$tmp" "$raw"
  "$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    --strip-debug --strip-producers --strip-target-features "$tmp/toolgate_bg.wasm" -o "$tmp/toolgate_bg.wasm"
  echo "$sum" > "$tmp/.source-sha256"
  rm -rf www/pkg && mkdir -p www && mv "$tmp" www/pkg
fi

# 3. The page's JavaScript (esbuild takes a few hundred milliseconds; it always runs, but a
# file of www/dist/ is rewritten only when its bytes changed: a running `wrangler dev`
# serves www/ and reloads its Worker whenever a file there is written, even unchanged).
node --input-type=module - <<'JS'
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
const result = await build({
  entryPoints: ['www/src/main.js'], bundle: true, format: 'esm', target: 'es2022', minify: true,
  sourcemap: true, logLevel: 'warning', outfile: 'www/dist/main.js', write: false,
});
mkdirSync('www/dist', { recursive: true });
for (const file of result.outputFiles) {
  let old = null;
  try { old = readFileSync(file.path); } catch {}
  if (!old || !old.equals(Buffer.from(file.contents))) writeFileSync(file.path, file.contents);
}
JS

wasm_bytes=$(wc -c < www/pkg/toolgate_bg.wasm)
wasm_gzip=$(gzip -9 -c www/pkg/toolgate_bg.wasm | wc -c)
js_bytes=$(wc -c < www/dist/main.js)
echo "playground: www/pkg/toolgate_bg.wasm ${wasm_bytes} B (gzip ${wasm_gzip} B), www/dist/main.js ${js_bytes} B"
