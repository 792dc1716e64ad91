#!/usr/bin/env bash
# The full record: every run that Figures 1, 3-7 and the verdict table need, at the paper's
# budgets, three seed sets, trained on every core, then assets/figures/ redrawn from them.
# Cut off, it goes on where it stopped when run again: finished runs are kept, runs cut off
# continue from their last checkpoint (runs/full-record holds them).
#
# The record may take more than one sitting (3 h 12 min of wall time on two cores, more than
# a machine may be held). So that a later sitting on another machine goes on from it, the
# finished runs (without their checkpoints) are kept in assets/record/runs/, which is
# committed, with one line per sitting in assets/record/sittings.csv: when it started, the
# commit it ran, the machine, its wall and CPU seconds and the runs it finished. A sitting
# copies the kept runs into runs/full-record before it starts. When every figure is drawn in
# full, the figures and their data go to assets/figures/ (with the sittings, in
# data/sittings.csv) and assets/record/ is removed: the runs themselves are not kept.
#
# Usage: scripts/full-record.sh [--dry-run | --keep]
#   --dry-run  the plan, which runs are finished, and the estimated cost of what is left;
#              trains nothing
#   --keep     copy the finished runs of runs/full-record into assets/record/runs/ and stop
#              (a sitting does this itself when it ends or is stopped with Ctrl-C / SIGTERM)
#
# For its test: FAIL_LAB_BIN (a built binary: no build), RECORD_ROOT (the folder holding runs/
# and assets/, default the repository) and RECORD_PLAN (reproduce's options of the plan, in
# place of `--full --seeds 3`).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${FAIL_LAB_BIN:-}" ]; then
  (cd "$repo" && cargo build --release --bin fail-lab)
fi
bin=${FAIL_LAB_BIN:-$repo/target/release/fail-lab}
cd "${RECORD_ROOT:-$repo}"
runs=runs/full-record
out=runs/full-record-figures
store=assets/record
read -r -a plan <<<"${RECORD_PLAN:---full --seeds 3}"
record=(reproduce "${plan[@]}" --save-runs "$runs" --figures "$out")

# the finished runs of $runs not yet in the store, copied there without their checkpoints;
# prints their names
keep_finished() {
  mkdir -p "$store/runs"
  local d name
  for d in "$runs"/*/; do
    [ -f "$d/summary.json" ] || continue
    grep -q '"status": "finished"' "$d/summary.json" || continue
    name=$(basename "$d")
    [ -d "$store/runs/$name" ] && continue
    mkdir -p "$store/runs/$name"
    find "$d" -maxdepth 1 -type f ! -name 'checkpoint*' ! -name owner.json \
      -exec cp {} "$store/runs/$name/" \;
    echo "$name"
  done
}

# the names of the finished runs of $runs, sorted
finished_runs() {
  local d
  for d in "$runs"/*/; do
    if [ -f "$d/summary.json" ] && grep -q '"status": "finished"' "$d/summary.json"; then
      basename "$d"
    fi
  done | sort
}

# the runs finished in earlier sittings, into runs/
restore_kept() {
  mkdir -p "$runs"
  [ -d "$store/runs" ] || return 0
  local d name
  for d in "$store/runs"/*/; do
    name=$(basename "$d")
    [ -e "$runs/$name" ] || cp -r "$d" "$runs/$name"
  done
}

# the whole run is one function, called on the last line: bash reads all of it before it
# starts, so editing this file during a sitting of hours cannot change what the sitting does
main() {
  case "${1:-}" in
    # the plan, each run finished, unfinished or to start, and the work left
    --dry-run) restore_kept; exec "$bin" "${record[@]}" --dry-run ;;
    --keep)
      mkdir -p "$runs"
      n=$(keep_finished | wc -l)
      echo "kept $n more finished runs in $store/runs ($(ls "$store/runs" | wc -l) in all)" >&2
      exit 0 ;;
    "") ;;
    *) echo "usage: $0 [--dry-run | --keep]" >&2; exit 2 ;;
  esac

  restore_kept

  commit=$(git -C "$repo" rev-parse --short=12 HEAD)$(git -C "$repo" diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo "+changes")
  cpu_model=$({ lscpu 2>/dev/null || true; } | sed -n 's/^Model name: *//p' | head -1)
  started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  # one line per sitting, written however the sitting ends
  end_sitting() {
    local finished wall cpu
    keep_finished >/dev/null
    # the runs this sitting finished (not those it found finished, kept or not)
    finished=$(finished_runs | comm -13 "$runs.before" - | tr '\n' ' ' | sed 's/ $//')
    wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
    children_cpu >"$runs.cpu1"
    cpu=$(awk -v a="$cpu0" -v b="$(cat "$runs.cpu1")" 'BEGIN { printf "%.0f", b - a }')
    [ -f "$store/sittings.csv" ] ||
      echo "started,commit,cores,cpu,wall_s,cpu_s,runs_finished" >"$store/sittings.csv"
    echo "$started,$commit,$(nproc),\"$cpu_model\",$wall,$cpu,$finished" >>"$store/sittings.csv"
    echo "sitting: ${wall} s wall, ${cpu} s CPU; $(wc -w <<<"$finished") runs finished (kept, with the earlier ones, in $store/runs)" >&2
  }
  # CPU seconds (user + system) of this script's finished children
  # (`times` of this shell itself: in a $(...) subshell it would count the subshell's)
  children_cpu() {
    times >"$runs.times"
    awk 'NR == 2 { n = 0; for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]); n += p[1] * 60 + p[2] } print n }' "$runs.times"
  }
  finished_runs >"$runs.before"
  t0=$(date +%s.%N)
  children_cpu >"$runs.cpu0"
  cpu0=$(cat "$runs.cpu0")
  trap end_sitting EXIT
  status=0
  # in the background, so that a Ctrl-C or SIGTERM to this script reaches fail-lab (which
  # stops each running run at a checkpoint, to go on from there in the next sitting); then
  # the sitting is written
  "$bin" "${record[@]}" >"$runs.table.md" &
  pid=$!
  trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM
  while kill -0 "$pid" 2>/dev/null; do
    status=0
    wait "$pid" || status=$?
  done
  cat "$runs.table.md"
  if [ "$status" -ne 0 ] && ! grep -q "checks passed\|checks did not pass" "$runs.table.md"; then
    echo "the record did not end; run $0 again to go on" >&2
    exit "$status"
  fi
  if grep -q "missing" "$out"/figure-*.svg || grep -qi "drawn in part\|not drawn" "$out/figures.md"; then
    echo "some figure is not drawn in full (see $out/figures.md); assets/figures/ left as it was" >&2
    exit 1
  fi
  trap - EXIT
  end_sitting
  rm -rf assets/figures
  cp -r "$out" assets/figures
  rm -rf assets/figures/runs
  # every run's parameters and final values, the verdict table and the sittings that made them,
  # beside the curves' CSV
  "$bin" export --summary --runs "$runs" -o assets/figures/data/runs.csv \
    $(find "$runs" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
  cp "$runs.table.md" assets/figures/data/verdicts.md
  cp "$store/sittings.csv" assets/figures/data/sittings.csv
  rm -rf "$store"
  echo "assets/figures/: the full record, from $runs (verdicts: $runs.table.md)" >&2
}

main "$@"
exit
