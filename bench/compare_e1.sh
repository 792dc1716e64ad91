#!/usr/bin/env bash
# E1 training throughput, fail-lab (dfdx) against PyTorch on CPU, one thread each.
# Needs python3 with torch (pip install torch); the numbers go to docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench e1_throughput 2>/dev/null | grep '^e1'
python3 bench/torch_e1.py
