#!/usr/bin/env bash
# Wall-clock time of a sweep of N tiny E1 runs (1,500 steps each, d = 4 and 6) on the local
# pool and through Slurm (`--slurm --wait`: one run per array task, then N/2 per task), the
# figures of docs/CLUSTER.md. Needs a Slurm (scripts/local-slurm.sh start as root).
# Usage: bench/compare_slurm.sh [ROUNDS] (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/fail-lab
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# one timing: label, then the sweep's arguments
timed() {
  local label=$1 start end
  shift
  rm -rf "$out/runs"
  start=$(date +%s.%N)
  "$bin" sweep scenarios/e1-parity-d5.toml --set steps=1500 --out "$out/runs" "$@" \
    >/dev/null 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
  end=$(date +%s.%N)
  printf '%-34s %6.2f s\n' "$label" "$(echo "$end - $start" | bc)"
}

for round in $(seq "${1:-3}"); do
  echo "round $round"
  for seeds in 3 12; do
    n=$((2 * seeds))
    grid=(--grid d=4,6 --seeds "$seeds")
    timed "$n runs, local" "${grid[@]}"
    timed "$n runs, slurm, 1 per task" "${grid[@]}" --slurm --wait
    timed "$n runs, slurm, $seeds per task" "${grid[@]}" --slurm --runs-per-task "$seeds" --wait
  done
done
