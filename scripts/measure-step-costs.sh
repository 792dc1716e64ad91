#!/usr/bin/env bash
# Measures the CPU seconds per iteration of every kind of run in `reproduce --full`'s plan, at
# the full budget's settings, one compute thread: each kind trained for N and 3N iterations,
# the cost per iteration the difference over 2N (what a run costs once started), the rest the
# cost of starting it (data, test sets). Runs with no iterations (T1, L3, E3) are timed whole.
# Prints one line per kind: `kind  s_per_iteration  s_fixed`, the numbers of
# src/experiments/cost.rs's STEP_COSTS.
#
# Usage: scripts/measure-step-costs.sh [N [KIND]]   (N default 200: about 40 minutes of one
# core; KIND: only the kinds whose name starts with it, e.g. "E1 " at N = 5000, whose steps
# are too short to time at 200)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/fail-lab
n=${1:-200}
only=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# kind | experiment | parameters (toml lines, ; separated) | the iteration parameter
kinds=(
  "E1 d=5|E1|d = 5;eval_every = 10;snr_samples = 0|steps"
  "E1 d=10|E1|d = 10;eval_every = 50|steps"
  "E1 d=30|E1|d = 30|steps"
  "E2 k=1 e2e|E2|k = 1;method = \"e2e\";snr_samples = 0|steps_e2e"
  "E2 k=2 e2e|E2|k = 2;method = \"e2e\";snr_samples = 0|steps_e2e"
  "E2 k=3 e2e|E2|k = 3;method = \"e2e\";snr_samples = 0|steps_e2e"
  "E2 k=4 e2e|E2|k = 4;method = \"e2e\";snr_samples = 0|steps_e2e"
  "E2 k=1 dec|E2|k = 1;method = \"dec\";snr_samples = 0|steps_dec"
  "E2 k=2 dec|E2|k = 2;method = \"dec\";snr_samples = 0|steps_dec"
  "E2 k=3 dec|E2|k = 3;method = \"dec\";snr_samples = 0|steps_dec"
  "E2 k=4 dec|E2|k = 4;method = \"dec\";snr_samples = 0|steps_dec"
  "E4 k=10|E4|k = 10;snr_ks = [2];snr_samples = 0|steps"
  "E4 k=1000|E4|k = 1000;snr_ks = [2];snr_samples = 0|steps"
  "E4 k=2000|E4|k = 2000;snr_ks = [2];snr_samples = 0|steps"
  "E6|E6||steps"
  "E7|E7||steps"
  "E8|E8||steps"
  "E9|E9||steps"
  "E11|E11|eval_every = 1000;test_samples = 20000|steps"
  "E12|E12|eval_every = 1000;test_samples = 20000|steps"
  "E13|E13|eval_every = 1000;test_samples = 20000|steps"
  "E14|E14|eval_every = 1000;test_samples = 20000|steps"
  "T1|T1|d_max = 14|"
  "L3|L3||"
  "E3|E3|samples = 150000|"
)

cpu() { # seconds of CPU (user + system) of one run
  local spec=$1; shift
  /usr/bin/time -f "%U %S" -o "$tmp/time" "$bin" run "$spec" --threads 1 --seed 0 \
    --out "$tmp/runs" --checkpoint-every 0 "$@" >/dev/null 2>&1
  awk '{print $1 + $2}' "$tmp/time"
}

for k in "${kinds[@]}"; do
  IFS='|' read -r kind exp params iter <<<"$k"
  [[ "$kind" == "$only"* ]] || continue
  spec="$tmp/spec.toml"
  { echo "experiment = \"$exp\""; echo 'title = "step cost"'; echo '[params]'
    tr ';' '\n' <<<"$params"; } >"$spec"
  if [ -z "$iter" ]; then
    printf '%-12s %s %s\n' "$kind" 0 "$(cpu "$spec")"
    continue
  fi
  a=$(cpu "$spec" --set "$iter=$n")
  b=$(cpu "$spec" --set "$iter=$((3 * n))")
  awk -v k="$kind" -v a="$a" -v b="$b" -v n="$n" \
    'BEGIN { per = (b - a) / (2 * n); if (per < 0) per = 0; printf "%-12s %.3g %.3g\n", k, per, a - n * per }'
done
