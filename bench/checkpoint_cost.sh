#!/usr/bin/env bash
# What a checkpoint costs: E1 (the paper's d = 30), E2 at k = 3, E4 at k = 2000 (the
# largest networks: two 1000 x 2000 policies with their Adam moments) and the presets of the
# other experiments that checkpoint (SP, LP, E6, E7, E9, E10, E12-E14) train STEPS steps with
# a checkpoint kept at every step (the preset with keep_checkpoints = [1, ..., STEPS]); each
# run's log says how many checkpoints it wrote, their time in all and the size of the last.
# At the default interval (60 s) a run writes one checkpoint a minute: its share of training
# time is the mean write time / 60 s. The numbers go to docs/PERFORMANCE.md.
# Usage: bench/checkpoint_cost.sh [STEPS] (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-20}
cargo build --release --quiet
bin=target/release/fail-lab
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
one() {
  local label=$1 file=$2
  shift 2
  { echo "keep_checkpoints = [$(seq -s ', ' 1 "$steps")]"; cat "$file"; } > "$out/scenario.toml"
  "$bin" run "$out/scenario.toml" --runs "$out/runs" --threads 1 --checkpoint-every 0 "$@" 2>/dev/null >/dev/null || true
  local dir log line n secs bytes
  dir=$(ls -td "$out"/runs/*/ | head -1)
  log="$dir/log.txt"
  line=$(grep '^checkpoints:' "$log" | tail -1)
  n=$(echo "$line" | sed -E 's/checkpoints: ([0-9]+) written.*/\1/')
  secs=$(echo "$line" | sed -E 's/.* in ([0-9.]+) s in all.*/\1/')
  bytes=$(echo "$line" | sed -E 's/.*the last ([0-9]+) bytes.*/\1/')
  awk -v l="$label" -v n="$n" -v s="$secs" -v b="$bytes" 'BEGIN {
    m = s / n;
    printf "%-34s %3d checkpoints, %8.1f ms each, %9.2f MB, %.3f%% of a minute\n", l, n, 1000 * m, b / 1e6, 100 * m / 60
  }'
}
one "E1 d = 30 (e1-parity)" scenarios/e1-parity.toml --set "steps=$steps"
one "E2 k = 3 (e2-tuples-k3)" scenarios/e2-tuples-k3.toml --set "steps_e2e=$steps" --set "steps_dec=$steps"
one "E4 k = 2000 (e4-portfolio-k2000)" scenarios/e4-portfolio-k2000.toml --set "steps=$steps" --set "snr_ks=2"
one "SP n = 30, k = 3 (sp-n30-k3)" scenarios/sp-n30-k3.toml --set "steps=$steps"
one "LP (lp-linear-periodic)" scenarios/lp-linear-periodic.toml --set "steps=$steps"
one "E6 (e6-pwl-full-linear)" scenarios/e6-pwl-full-linear.toml --set "steps=$steps"
one "E7 (e7-pwl-conv)" scenarios/e7-pwl-conv.toml --set "steps=$steps"
one "E9 (e9-pwl-autoencoder)" scenarios/e9-pwl-autoencoder.toml --set "steps=$steps"
one "E10 (e10-flat-compare)" scenarios/e10-flat-compare.toml --set "steps=$steps" --set "e14_steps=$steps"
one "E12 (e12-flat-regression)" scenarios/e12-flat-regression.toml --set "steps=$steps"
one "E13 (e13-flat-classes)" scenarios/e13-flat-classes.toml --set "steps=$steps"
one "E14 (e14-flat-forward-only)" scenarios/e14-flat-forward-only.toml --set "steps=$steps"
