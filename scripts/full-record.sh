#!/usr/bin/env bash
# The full record: every run that Figures 1, 3-7 and the verdict table need, at the paper's
# budgets, three seed sets, trained on every core, then assets/figures/ redrawn from them.
# Cut off, it goes on where it stopped when run again: finished runs are kept, runs cut off
# continue from their last checkpoint (runs/full-record holds them).
#
# Usage: scripts/full-record.sh [--dry-run]   (--dry-run: the plan and its estimated cost)
#
# The new figures replace assets/figures/ only when every figure is drawn in full (the
# command exits 0 only then: a missing curve is an error); until then they are in
# runs/full-record-figures.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin fail-lab
bin=target/release/fail-lab
runs=runs/full-record
out=runs/full-record-figures
if [ "${1:-}" = "--dry-run" ]; then
  exec "$bin" reproduce --full --seeds 3 --save-runs "$runs" --figures "$out" --dry-run
fi
mkdir -p "$runs"
status=0
/usr/bin/time -f "%e s wall, %U s user CPU" -o "$runs.time" \
  "$bin" reproduce --full --seeds 3 --save-runs "$runs" --figures "$out" \
  | tee "$runs.table.md" || status=$?
echo "record: $(cat "$runs.time") on $(nproc) cores of $(lscpu | sed -n 's/^Model name: *//p' | head -1)" >&2
if [ "$status" -ne 0 ] && ! grep -q "checks passed\|checks did not pass" "$runs.table.md"; then
  echo "the record did not end; run $0 again to go on" >&2
  exit "$status"
fi
if grep -q "missing" "$out"/figure-*.svg || grep -qi "drawn in part\|not drawn" "$out/figures.md"; then
  echo "some figure is not drawn in full (see $out/figures.md); assets/figures/ left as it was" >&2
  exit 1
fi
rm -rf assets/figures
cp -r "$out" assets/figures
rm -rf assets/figures/runs
# every run's parameters and final values, and the verdict table, beside the curves' CSV
"$bin" export --summary --runs "$runs" -o assets/figures/data/runs.csv \
  $(find "$runs" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
cp "$runs.table.md" assets/figures/data/verdicts.md
echo "assets/figures/: the full record, from $runs (verdicts: $runs.table.md)" >&2
