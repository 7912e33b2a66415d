#!/usr/bin/env bash
# Coverage-guided fuzzing of the pure core (fuzz/: cargo-fuzz, libFuzzer, a nightly Rust).
#   scripts/fuzz.sh [SECONDS]      every target for SECONDS each (default 600), one after
#                                  another, on the committed seeds (fuzz/corpus/TARGET/) and
#                                  a working corpus that grows in target/fuzz-corpus/TARGET/
#   scripts/fuzz.sh --ci           a short fixed run: every target -runs=2000 -seed=1 on the
#                                  committed seeds only (nothing is written to them)
#   scripts/fuzz.sh --regressions  every input of fuzz/regressions/TARGET/ through its
#                                  target once: fails while a bug they reproduce is unfixed
#   FUZZ_TARGETS="json_parse sse_rewrite" scripts/fuzz.sh 60   only some targets
# Known bugs of src/ that are not fixed yet (fuzz/regressions/KNOWN) are stepped over, so
# that a run looks for others and --ci passes; FUZZ_TOLERATE= (empty) checks them too,
# FUZZ_TOLERATE=a,b steps over those. --regressions always checks every one.
# Prints per target: executions, exec/s, corpus size, coverage and crashes; exits 1 when a
# target crashed (its input is in fuzz/artifacts/TARGET/). Installs cargo-fuzz if missing.
# One fuzzer at a time, one job (-jobs=1 -workers=1); builds with CARGO_BUILD_JOBS=1
# unless that is set.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
say() { printf '\033[1mfuzz:\033[0m %s\n' "$*"; }

mode=run
seconds=600
case "${1:-}" in
  --ci) mode=ci ;;
  --regressions) mode=regressions ;;
  "") ;;
  *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS | --ci | --regressions]" >&2; exit 2 ;;
  *) seconds=$1 ;;
esac

targets=${FUZZ_TARGETS:-"json_parse json_differential mcp_parse_message policy_load sse_rewrite"}
if [ "$mode" = regressions ]; then
  export FUZZ_TOLERATE=
elif [ -z "${FUZZ_TOLERATE+set}" ]; then
  FUZZ_TOLERATE=$( (grep -v '^#' fuzz/regressions/KNOWN 2>/dev/null || true) | paste -sd, -)
  export FUZZ_TOLERATE
fi
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  say "installing a nightly toolchain (cargo-fuzz needs -Zsanitizer)"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  say "installing cargo-fuzz 0.13.2 (about a minute, once)"
  cargo install cargo-fuzz --version 0.13.2 --locked
fi

# -a: debug assertions and overflow checks on, as in a test build.
[ -n "${FUZZ_TOLERATE:-}" ] && say "stepping over the known bugs: $FUZZ_TOLERATE"
say "building the targets"
start=$(date +%s)
cargo +nightly fuzz build -a
say "built in $(( $(date +%s) - start ))s"

if [ "$mode" = regressions ]; then
  host=$(rustc +nightly -vV | sed -n 's/^host: //p')
  mkdir -p target
  failed=0
  for t in $targets; do
    dir="$root/fuzz/regressions/$t"
    [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] || continue
    for input in "$dir"/*; do
      if "$root/fuzz/target/$host/release/$t" "$input" >"$root/target/fuzz-regression.log" 2>&1; then
        printf '%-18s %-40s ok\n' "$t" "$(basename "$input")"
      else
        printf '%-18s %-40s FAILS: %s\n' "$t" "$(basename "$input")" \
          "$(grep -m1 -A1 'panicked at' "$root/target/fuzz-regression.log" | tail -1)"
        failed=1
      fi
    done
  done
  exit $failed
fi

mkdir -p target/fuzz-logs
summary=()
crashed=0
for t in $targets; do
  seeds="$root/fuzz/corpus/$t"
  logs="$root/target/fuzz-logs/$t"
  rm -rf "$logs" && mkdir -p "$logs"
  artifacts="$root/fuzz/artifacts/$t"
  mkdir -p "$artifacts"
  stamp="$logs/started"
  touch "$stamp"
  if [ "$mode" = ci ]; then
    work=$(mktemp -d)
    flags=(-runs=2000 -seed=1)
    say "$t: 2000 runs, seed 1, on $(ls "$seeds" | wc -l) seeds"
  else
    work="$root/target/fuzz-corpus/$t"
    mkdir -p "$work"
    flags=(-max_total_time="$seconds" -jobs=1 -workers=1)
    say "$t: ${seconds}s on $(ls "$seeds" | wc -l) seeds and $(ls "$work" | wc -l) inputs of target/fuzz-corpus/$t"
  fi
  # libFuzzer adds new inputs to the first folder only. With -jobs it writes its log to
  # fuzz-0.log in the current folder: run from the log folder.
  status=0
  (cd "$logs" && cargo +nightly fuzz run -a "$t" "$work" "$seeds" -- \
      "${flags[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1) \
      >"$logs/run.log" 2>&1 || status=$?
  log="$logs/run.log"
  [ -f "$logs/fuzz-0.log" ] && log="$logs/fuzz-0.log"
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  last=$(grep -E '^#[0-9]+' "$log" | grep 'cov:' | tail -1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.*corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")
  found=$(find "$artifacts" -type f -newer "$stamp" | sort)
  new=$(grep -c . <<<"$found" || true)
  if [ "$status" -ne 0 ] || [ "$new" -gt 0 ]; then
    crashed=1
    say "$t FAILED (exit $status), log: ${log#"$root"/}"
    grep -m1 -A2 -E 'panicked at|ERROR: libFuzzer|SUMMARY' "$log" || true
    [ -n "$found" ] && sed "s|^$root/|  artifact: |" <<<"$found"
  fi
  summary+=("$(printf '%-18s %12s %8s %12s %6s %7s %7s' "$t" "${execs:-?}" "${rate:-?}" "${corp:-?}" "${cov:-?}" "${ft:-?}" "$new")")
  [ "$mode" = ci ] && rm -rf "$work"
done

echo
printf '%-18s %12s %8s %12s %6s %7s %7s\n' target executions exec/s "corpus" cov ft crashes
printf '%s\n' "${summary[@]}"
echo "(corpus: units/bytes in libFuzzer's corpus at the end; cov and ft: its coverage counters)"
exit $crashed
