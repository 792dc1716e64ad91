#!/usr/bin/env bash
# E2's per-image network, forward + backward on 64 images, fail-lab against PyTorch on CPU,
# one thread each. The two alternate (ROUNDS times each) so that both see the same load on a
# shared machine; every line is already a median of 7 timings, and the script ends with the
# median of each side. PYTHON names a python3 with torch (default: python3).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
PYTHON=${PYTHON:-python3}
cargo bench --bench conv_e2 --no-run 2>/dev/null
ours=()
theirs=()
for _ in $(seq "$ROUNDS"); do
    line=$(cargo bench --bench conv_e2 -- n1 2>/dev/null | grep 'N1 batch=64')
    echo "$line"
    ours+=("$(echo "$line" | sed -E 's/.*: ([0-9.]+) ms.*/\1/')")
    line=$("$PYTHON" bench/torch_conv_e2.py)
    echo "$line"
    theirs+=("$(echo "$line" | sed -E 's/.*: ([0-9.]+) ms.*/\1/')")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median over $ROUNDS alternating rounds: fail-lab $(median "${ours[@]}") ms, torch $(median "${theirs[@]}") ms"
