#!/usr/bin/env bash
# E2's per-image network, forward + backward on 64 images, fail-lab against PyTorch on CPU, at
# each thread count of THREADS (default "1 2"; PyTorch with torch.set_num_threads). The two
# alternate (ROUNDS times each, every thread count in every round) so that both see the same
# load on a shared machine; every line is already a median of 7 timings, and the script ends
# with the median of each side at each thread count. PYTHON names a python3 with torch
# (default: python3).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-1 2}
PYTHON=${PYTHON:-python3}
cargo bench --bench conv_e2 --no-run 2>/dev/null
ms() { sed -E 's/.*: ([0-9.]+) ms.*/\1/'; }
declare -A ours theirs
for _ in $(seq "$ROUNDS"); do
    for n in $THREADS; do
        line=$(cargo bench --bench conv_e2 -- n1 --threads "$n" 2>/dev/null | grep 'N1 batch=64')
        echo "$line"
        ours[$n]+="$(echo "$line" | ms) "
        line=$("$PYTHON" bench/torch_conv_e2.py 50 7 "$n" 2>/dev/null | grep 'N1 batch=64')
        echo "$line"
        theirs[$n]+="$(echo "$line" | ms) "
    done
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median over $ROUNDS alternating rounds ($(uptime | sed -E 's/.*(load average)/\1/')):"
for n in $THREADS; do
    # shellcheck disable=SC2086
    a=$(median ${ours[$n]})
    # shellcheck disable=SC2086
    b=$(median ${theirs[$n]})
    echo "  $n thread(s): fail-lab $a ms, torch $b ms (torch / fail-lab = $(awk "BEGIN {printf \"%.2f\", $b / $a}"))"
done
