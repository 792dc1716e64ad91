#!/usr/bin/env bash
# Regenerates assets/lab.png, a picture of the lab's screen on the quick budget's runs,
# captured from the binary running in tmux and drawn in the shipped font; the paper's figures
# from those runs go to RUNS_DIR-figures/. (assets/figures/ is the full record, made by
# scripts/full-record.sh; this script leaves it alone.)
#
# Usage: scripts/make-assets.sh [RUNS_DIR]   (needs tmux; the runs take a few minutes on two
# cores; with RUNS_DIR, a folder of such runs made before, they are not made again)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { echo "tmux is needed for the lab's picture" >&2; exit 1; }

cargo build --release --bin fail-lab --example screen_png
bin=target/release/fail-lab
runs=${1:-runs/assets-quick}

# the runs: reproduce's own when it can save them, else the same runs made one by one
if [ -n "${1:-}" ]; then
  [ -d "$runs" ] || { echo "$runs: not a folder of runs" >&2; exit 2; }
elif rm -rf "$runs" && "$bin" reproduce --help | grep -q -- '--save-runs'; then
  # the verdict table goes to the log; the figures are drawn whatever it says
  "$bin" reproduce --quick --save-runs "$runs" >"$runs.log" || true
else
  scripts/quick-runs.sh "$runs" 2>"$runs.log"
fi

rm -rf "$runs-figures"
"$bin" plot --paper "$runs" -o "$runs-figures"

# the lab on a 160 x 45 terminal: the runs pane filtered to E2, its k = 3 run showing
# end-to-end stuck at chance while the decomposition learns
cols=160 rows=45
sock="fail-lab-assets-$$"
capture=$(mktemp)
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -f "$capture"' EXIT
tmux -L "$sock" new-session -d -x "$cols" -y "$rows" \
  "$bin --runs $runs --scenarios scenarios --no-mouse --log /dev/null"
sleep 2
keys() { tmux -L "$sock" send-keys -t 0 "$@"; sleep 0.5; }
keys Tab
keys Tab
# the k = 3 run whatever order the runs were made in (reproduce starts the longest first)
keys / e x p = E 2 Space k = 3 Enter
keys g
tmux -L "$sock" capture-pane -e -p -t 0 >"$capture"
target/release/examples/screen_png "$capture" "$cols" "$rows" assets/lab.png
echo "assets/lab.png from the lab's screen on $runs; the quick figures in $runs-figures" >&2
