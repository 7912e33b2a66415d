#!/usr/bin/env bash
# Instructions per `toolgate eval` line, counted by callgrind: a figure that does not move
# with the machine's load, for comparing two builds (bench/PERFORMANCE.md, "The core").
#
#   bash scripts/instructions.sh [BIN] [LINES]
#
# Runs BIN (default target/release/toolgate) on the first LINES (default 5000) calls of
# the Cedar comparison's workload and on its first call alone, and prints the difference
# divided by LINES - 1: the cost of a line without the start-up (loading the policy).
# Needs valgrind and the files of one Cedar run (`make bench` or BENCH_PARTS=cedar).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/release/toolgate}"
lines="${2:-5000}"
work=target/cedar-bench/work
if ! command -v valgrind > /dev/null; then
  echo "instructions: valgrind is not installed (apt-get install valgrind)" >&2
  exit 1
fi
if [[ ! -f "$work/policy.json" || ! -f "$work/calls.jsonl" ]]; then
  echo "instructions: no workload in $work; run BENCH_PARTS=cedar bash scripts/bench.sh first" >&2
  exit 1
fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
head -n 1 "$work/calls.jsonl" > "$scratch/one.jsonl"
head -n "$lines" "$work/calls.jsonl" > "$scratch/many.jsonl"
count() {
  valgrind --tool=callgrind --callgrind-out-file="$scratch/out" "$bin" eval \
    --policy "$work/policy.json" < "$1" > /dev/null 2> "$scratch/log"
  awk '/Collected/ {print $4}' "$scratch/log"
}
one="$(count "$scratch/one.jsonl")"
many="$(count "$scratch/many.jsonl")"
echo "$bin: $(( (many - one) / (lines - 1) )) instructions a line ($lines lines; start-up and one line: $one)"
