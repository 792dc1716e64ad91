#!/usr/bin/env bash
# Checks a CUDA build of fail-lab on a GPU machine, with neither cargo nor a network: short
# E1, E2 and E4 runs on --device cuda and on the CPU, with the same seeds; their metrics
# compared point by point, their steps per second measured; one table on stdout.
#
#   scripts/gpu-check.sh BINARY [DIR]
#
# BINARY is the fail-lab that scripts/build-cuda.sh left in target/cuda/dist, with a copy of
# this script (copy that folder to the GPU machine; the driver's libcuda.so.1 and a CUDA 13
# libcublas.so.13, in its lib/ with --with-libs, must be found).
# DIR keeps the runs (default: a temporary folder, removed at the end). Needs python3 for the
# comparison. GPU_CHECK_SCALE=N multiplies the steps (N >= 1). GPU_CHECK_DEVICE=cpu runs the
# whole check with the CPU in place of the GPU, a test of this script on a machine without
# one: that took 4 min 36 s on two cores shared with other builds (51 s of CPU time); the GPU
# half of a real check replaces half of it. Exit code 0 when every run agrees within the
# tolerance, 1 otherwise, 2 when the GPU cannot be used (the binary says why in one line).
set -euo pipefail
bin=${1:?usage: scripts/gpu-check.sh BINARY [DIR]}
[ -x "$bin" ] || { echo "gpu-check.sh: $bin is not an executable" >&2; exit 2; }
command -v python3 >/dev/null || { echo "gpu-check.sh: python3 is required for the comparison" >&2; exit 2; }
scale=${GPU_CHECK_SCALE:-1}
gpu_device=${GPU_CHECK_DEVICE:-cuda}
case "$scale" in '' | *[!0-9]* | 0) echo "gpu-check.sh: GPU_CHECK_SCALE='$scale': allowed a whole number >= 1" >&2; exit 2 ;; esac
if [ -n "${2:-}" ]; then
  dir=$2
  mkdir -p "$dir"
else
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
fi

# the GPU first: an unusable one stops here with the binary's one-line cause
probe=$dir/probe.toml
printf 'experiment = "E1"\n[params]\nd = 10\nsteps = 1\neval_every = 1\n' >"$probe"
if ! "$bin" run "$probe" --device "$gpu_device" --runs "$dir/probe" >/dev/null 2>"$dir/probe.err"; then
  cat "$dir/probe.err" >&2
  exit 2
fi
gpu=$(sed -n 's/^device: //p' "$dir/probe.err")
gpu=${gpu:-$gpu_device}

# case NAME EXPERIMENT STEPS PARAM=VALUE...: a scenario file with those parameters
cases=()
scenario() {
  local name=$1 exp=$2
  shift 2
  {
    printf 'experiment = "%s"\ntitle = "gpu check %s"\n[params]\n' "$exp" "$name"
    for p in "$@"; do printf '%s\n' "${p/=/ = }"; done
  } >"$dir/$name.toml"
  cases+=("$name")
}
scenario e1 E1 d=30 width=300 optimizer='"sgd"' lr=0.01 batch=128 "steps=$((2000 * scale))" eval_every=100 eval_samples=500
scenario e1-wide E1 d=50 width=1000 optimizer='"sgd"' lr=0.01 batch=512 "steps=$((300 * scale))" eval_every=50 eval_samples=500
scenario e2 E2 k=2 method='"both"' "steps_e2e=$((200 * scale))" "steps_dec=$((200 * scale))" optimizer='"adam99"' lr=0.001 batch=200 eval_every=50 test_size=500
scenario e4 E4 d=1000 k=10 method='"both"' optimizer='"adam99"' lr=0.1 batch=100 "steps=$((500 * scale))" eval_every=50 eval_samples=500 'snr_ks = [2, 10]'

for name in "${cases[@]}"; do
  for pair in cpu:host "$gpu_device:gpu"; do
    device=${pair%:*} tag=${pair##*:}
    out=$dir/$name-$tag
    rm -rf "$out"
    start=$(date +%s.%N)
    if ! "$bin" run "$dir/$name.toml" --seed 7 --device "$device" --runs "$out" \
      >"$out.log" 2>&1; then
      echo "gpu-check.sh: $name on $device did not finish:" >&2
      tail -5 "$out.log" >&2
      exit 1
    fi
    end=$(date +%s.%N)
    echo "$start $end" >"$out.time"
  done
done

python3 - "$dir" "$gpu" "${cases[@]}" <<'EOF'
import glob, json, math, os, sys

d, gpu, cases = sys.argv[1], sys.argv[2], sys.argv[3:]
REL, ABS = 1e-3, 1e-4  # float tolerance: |a - b| <= ABS + REL |b|

def load(name, device):
    run = glob.glob(os.path.join(d, f"{name}-{device}", "*", "summary.json"))[0]
    folder = os.path.dirname(run)
    summary = json.load(open(run))
    points = {}
    for line in open(os.path.join(folder, "metrics.jsonl")):
        m = json.loads(line)
        if isinstance(m.get("value"), (int, float)):
            points[(m["name"], m["step"])] = float(m["value"])
    start, end = map(float, open(os.path.join(d, f"{name}-{device}.time")).read().split())
    return summary, points, end - start

print(f"GPU: {gpu}")
print("| run | steps | CPU steps/s | CUDA steps/s | speed-up | points compared | max difference | agree |")
print("|---|---|---|---|---|---|---|---|")
bad = 0
for name in cases:
    (s_cpu, p_cpu, t_cpu), (s_gpu, p_gpu, t_gpu) = load(name, "host"), load(name, "gpu")
    steps = s_cpu["total"]
    common = sorted(set(p_cpu) & set(p_gpu))
    worst, where, ok = 0.0, "", True
    for k in common:
        a, b = p_gpu[k], p_cpu[k]
        if math.isnan(a) and math.isnan(b):
            continue
        diff = abs(a - b)
        if not diff <= ABS + REL * abs(b):
            ok = False
        if diff > worst:
            worst, where = diff, f"{k[0]} @ {k[1]}"
    missing = len(set(p_cpu) ^ set(p_gpu))
    ok = ok and missing == 0 and s_cpu["status"] == s_gpu["status"] == "finished"
    bad += not ok
    print(f"| {name} | {steps} | {steps / t_cpu:.0f} | {steps / t_gpu:.0f} | {t_cpu / t_gpu:.2f}x "
          f"| {len(common)}{f' ({missing} unmatched)' if missing else ''} "
          f"| {worst:.2e}{f' ({where})' if where else ''} | {'yes' if ok else 'NO'} |")
print(f"steps/s: one run each, wall time of `fail-lab run` (start-up included), default --threads; "
      f"agree: every metric point within {ABS:g} + {REL:g}·|CPU value|")
sys.exit(1 if bad else 0)
EOF
