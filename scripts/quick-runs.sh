#!/usr/bin/env bash
# Makes, as ordinary runs in DIR, the runs that `fail-lab reproduce --quick` trains for the
# paper's figures (the same experiments, parameters and seeds as the quick checks in
# src/experiments/*/checks.rs), plus an E1 run at d = 10. Usage: scripts/quick-runs.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: scripts/quick-runs.sh DIR}
bin=${FAIL_LAB:-target/release/fail-lab}
mkdir -p "$dir"
spec="$dir/.base.toml"

# run EXPERIMENT SEED NAME=VALUE...: one run from the experiment's defaults
run() {
  local id=$1 seed=$2
  shift 2
  printf 'experiment = "%s"\ntitle = "%s, quick check"\n[params]\n' "$id" "$id" >"$spec"
  local sets=()
  for s in "$@"; do sets+=(--set "$s"); done
  echo "== $id seed $seed $*" >&2
  "$bin" run "$spec" --seed "$seed" --out "$dir" --threads 1 "${sets[@]}" >/dev/null
}

for seed in 0 1; do
  run E1 "$seed" d=5 steps=5000 eval_every=10 subset_size=3 snr_samples=0
done
run E1 0 d=10 steps=15000 eval_every=50 snr_samples=0
run E1 0 d=30 steps=5000 eval_every=100
e2=(steps_e2e=800 steps_dec=800 batch=64 test_size=500 eval_every=100 snr_samples=0)
run E2 0 k=1 method=e2e "${e2[@]}"
run E2 0 k=3 method=both "${e2[@]}"
run E3 0 'ks=[1,2,3,4]' inits=5 samples=25000
for k in 10 1000; do
  run E4 0 k=$k 'snr_ks=[2]' snr_samples=0
done
run E6 0 steps=10000
run E7 0 steps=50000
run E8 0 steps=500
run E9 0 steps=2000
flat=(eval_every=2500 test_samples=5000)
run E11 0 fix_b_star=true b_star=-0.65 "${flat[@]}"
run E11 0 fix_b_star=true b_star=0 "${flat[@]}"
for id in E12 E13 E14; do
  run "$id" 0 "${flat[@]}"
done
rm -f "$spec"
