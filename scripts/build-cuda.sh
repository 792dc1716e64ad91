#!/usr/bin/env bash
# Builds fail-lab with the `cuda` feature, kernels really compiled, on a machine that needs
# neither a GPU nor a CUDA toolkit: NVIDIA's CUDA 13.0 pip wheels bring nvcc, the headers and
# (with --with-libs) cuBLAS and NVRTC.
#
#   scripts/build-cuda.sh [--with-libs] [--test]
#
# --test also builds and runs tests/cuda.rs (the GPU against the CPU on short runs of every
# experiment whose networks train there; without a usable GPU it says why and skips).
#
# Leaves target/cuda/dist/, the folder to copy to a GPU machine, with:
#   fail-lab        the launcher: starts fail-lab.bin, or says in one line which CUDA library
#                   is missing (exit code 2); on a machine without the NVIDIA driver it starts
#                   it on the stand-ins of nodriver/, so that the CPU trains (--device cpu or
#                   auto) and --device cuda says "no NVIDIA driver"
#   fail-lab.bin    the binary (runs on the CPU too: --device cpu|cuda[:N]|auto)
#   nodriver/       libcuda.so.1, libcublas.so.13, libnvrtc.so.13 stand-ins whose every call
#                   answers "no device"; the launcher uses them only where no libcuda.so.1 is
#   LIBRARIES.txt   the shared libraries it needs and where they come from
#   gpu-check.sh    the check to run there (scripts/gpu-check.sh)
#   lib/            with --with-libs: libcublas.so.13, libcublasLt.so.13, libnvrtc.so.13 (the
#                   binary looks there first, beside itself), for a GPU machine without them
# and target/cuda/stub/: libcuda.so.1 that answers "no device" to every call (and, without
# --with-libs, stubs of libcublas.so.13, libcublasLt.so.13, libnvrtc.so.13), for tests on
# machines without a GPU only, never on a GPU machine.
#
# Environment:
#   CUDA_COMPUTE_CAP     PTX target, e.g. 90 for an H100 (default 80: the driver compiles that
#                        PTX for any newer GPU when it loads it: A100, H100, ...; below 80 dfdx
#                        0.13's kernels do not compile with CUDA 13's half-precision header)
#   FAIL_LAB_CUDA_CACHE  where the wheels and stubs go (default ~/.cache/fail-lab-cuda)
#   JOBS                 cargo's -j (default: the number of cores)
#
# Without --with-libs only the compiler wheels are fetched (about 105 MB) and cuBLAS and NVRTC
# are linked against stubs with their real sonames: the binary is the same, it needs the real
# libraries where it runs. CUDA 13.0 is pinned: nvcc 13.N writes PTX 9.N, which a driver of
# CUDA 13.0 (driver 580) refuses for N > 0.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

WITH_LIBS=0 TEST=0
for arg in "$@"; do
  case "$arg" in
    --with-libs) WITH_LIBS=1 ;;
    --test) TEST=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-cuda.sh: unknown argument '$arg' (allowed: --with-libs, --test, --help)" >&2; exit 2 ;;
  esac
done

CACHE=${FAIL_LAB_CUDA_CACHE:-$HOME/.cache/fail-lab-cuda}
CAP=${CUDA_COMPUTE_CAP:-80}
JOBS=${JOBS:-$(nproc)}
TARGET_DIR=$ROOT/target/cuda
DIST=$TARGET_DIR/dist
STUB_DIR=$TARGET_DIR/stub
case "$CAP" in
  [0-9][0-9] | [0-9][0-9][0-9]) ;;
  *) echo "build-cuda.sh: CUDA_COMPUTE_CAP='$CAP' is not a compute capability like 80 or 90" >&2; exit 2 ;;
esac
if [ "$CAP" -lt 80 ]; then
  echo "build-cuda.sh: CUDA_COMPUTE_CAP=$CAP: allowed 80 or more (dfdx 0.13 redefines __hmax_nan below 80, which CUDA 13's cuda_fp16.h already defines)" >&2
  exit 2
fi

step() { echo "== build-cuda: $*"; }

# -- the wheels, in a virtual environment of the cache ------------------------------------------
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    step "installing python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  else
    echo "build-cuda.sh: python3 with venv and ensurepip is required (Debian: apt-get install python3-venv)" >&2
    exit 1
  fi
fi
for tool in cc cargo readelf; do
  command -v "$tool" >/dev/null || { echo "build-cuda.sh: '$tool' is required" >&2; exit 1; }
done

VENV=$CACHE/venv
WHEELS="nvidia-cuda-nvcc==13.0.88 nvidia-nvvm==13.0.88 nvidia-cuda-crt==13.0.88
        nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85"
LIB_WHEELS="nvidia-cuda-nvrtc==13.0.88 nvidia-cublas==13.0.2.14"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
want=$WHEELS
[ "$WITH_LIBS" = 1 ] && want="$want $LIB_WHEELS"
# shellcheck disable=SC2086
if ! "$VENV/bin/pip" show -q $(echo "$want" | sed 's/==[^ ]*//g') >/dev/null 2>&1; then
  step "installing the CUDA 13.0 wheels into $VENV"
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps $want
fi
CU=$("$VENV/bin/python" -c 'import nvidia, os; print(os.path.join(nvidia.__path__[0], "cu13"))')
[ -x "$CU/bin/nvcc" ] && [ -f "$CU/include/cuda.h" ] || { echo "build-cuda.sh: no nvcc or cuda.h under $CU" >&2; exit 1; }
if ! "$CU/bin/nvcc" --list-gpu-code | grep -qx "sm_$CAP"; then
  echo "build-cuda.sh: nvcc 13.0 cannot target compute capability $CAP; it can: $("$CU/bin/nvcc" --list-gpu-code | tr '\n' ' ')" >&2
  exit 2
fi

# -- link stubs -----------------------------------------------------------------------------------
# cudarc links -lcuda -lnvrtc -lcublas -lcublasLt and looks in $CUDA_ROOT/lib and
# $CUDA_ROOT/lib64/stubs. No wheel has the driver's libcuda: a stub whose every call returns
# CUDA_ERROR_NO_DEVICE (100) links the binary and lets tests run it without a GPU.
cargo fetch -q
CUDARC=$(cargo metadata --format-version 1 --locked --features cuda 2>/dev/null | "$VENV/bin/python" -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "cudarc":
        print(p["manifest_path"].rsplit("/", 1)[0])')
[ -n "$CUDARC" ] || { echo "build-cuda.sh: cudarc not found in the dependency graph" >&2; exit 1; }
STUBS=$CU/lib64/stubs
mkdir -p "$STUBS" "$CACHE/stubsrc"
stub() { # stub LIB SONAME PREFIX SYS_RS: every function of SYS_RS starting with PREFIX returns 100
  local lib=$1 soname=$2 prefix=$3 sys=$4 src=$CACHE/stubsrc/$1.c
  {
    echo 'static const char *msg = "no NVIDIA driver (stub libcuda)";'
    if [ "$lib" = cuda ]; then
      echo 'int cuGetErrorString(int e, const char **p) { (void)e; *p = msg; return 0; }'
      echo 'int cuGetErrorName(int e, const char **p) { (void)e; *p = "CUDA_ERROR_NO_DEVICE"; return 0; }'
    fi
    if [ -n "$sys" ]; then
      grep -oE "^\s*pub fn $prefix[A-Za-z0-9_]+" "$sys" | awk '{print $3}' | sort -u |
        grep -vxE 'cuGetErrorString|cuGetErrorName' | sed 's/.*/int &(void) { return 100; }/'
    fi
  } >"$src"
  cc -shared -fPIC -O0 -Wl,-soname,"$soname" -o "$STUBS/lib$lib.so" "$src"
}
stub cuda libcuda.so.1 cu "$CUDARC/src/driver/sys.rs"
if [ "$WITH_LIBS" = 1 ]; then
  rm -f "$STUBS"/libnvrtc.so "$STUBS"/libcublas.so "$STUBS"/libcublasLt.so
  for l in nvrtc cublas cublasLt; do ln -sf "lib$l.so.13" "$CU/lib/lib$l.so"; done
else
  rm -f "$CU"/lib/libnvrtc.so "$CU"/lib/libcublas.so "$CU"/lib/libcublasLt.so
  stub nvrtc libnvrtc.so.13 nvrtc "$CUDARC/src/nvrtc/sys.rs"
  stub cublas libcublas.so.13 cublas "$CUDARC/src/cublas/sys.rs"
  stub cublasLt libcublasLt.so.13 cublasLt ""
fi

# dfdx's build script asks nvidia-smi for the compute capability (then CUDA_COMPUTE_CAP wins)
mkdir -p "$CACHE/fakebin"
printf '#!/bin/sh\nprintf "compute_cap\\n%s\\n"\n' "${CAP%?}.${CAP: -1}" >"$CACHE/fakebin/nvidia-smi"
chmod +x "$CACHE/fakebin/nvidia-smi"

# -- the build ------------------------------------------------------------------------------------
step "cargo build --release --features cuda (PTX for sm_$CAP, target dir target/cuda)"
start=$(date +%s)
cuda_cargo() {
  PATH="$CACHE/fakebin:$CU/bin:$PATH" CUDA_ROOT="$CU" CUDA_COMPUTE_CAP="$CAP" \
    CARGO_TARGET_DIR="$TARGET_DIR" RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-Wl,-rpath,\$ORIGIN/lib" \
    cargo "$@"
}
cuda_cargo build --release --features cuda -j"$JOBS" --bin fail-lab
step "built in $(($(date +%s) - start)) s"

# -- the kernels: every PTX file non-empty and for the chosen target ------------------------------
mapfile -t ptx < <(ls -t "$TARGET_DIR"/release/build/dfdx-*/out/*.ptx 2>/dev/null)
[ "${#ptx[@]}" -gt 0 ] || { echo "build-cuda.sh: dfdx compiled no PTX kernel" >&2; exit 1; }
dir=$(dirname "${ptx[0]}")
n=0 bytes=0
for f in "$dir"/*.ptx; do
  [ -s "$f" ] || { echo "build-cuda.sh: empty PTX $f" >&2; exit 1; }
  grep -q "^\.target sm_$CAP\b" "$f" || { echo "build-cuda.sh: $f is not for sm_$CAP" >&2; exit 1; }
  n=$((n + 1)) bytes=$((bytes + $(stat -c %s "$f")))
done
step "$n PTX kernels, $((bytes / 1024)) KiB, .target sm_$CAP"

# -- what it leaves -------------------------------------------------------------------------------
rm -rf "$DIST" "$STUB_DIR"
mkdir -p "$DIST/nodriver" "$STUB_DIR"
cp "$TARGET_DIR/release/fail-lab" "$DIST/fail-lab.bin"
cp scripts/gpu-check.sh "$DIST/gpu-check.sh"
cp "$STUBS/libcuda.so" "$STUB_DIR/libcuda.so.1"
if [ "$WITH_LIBS" = 1 ]; then
  mkdir -p "$DIST/lib"
  for l in cublas cublasLt nvrtc; do cp -L "$CU/lib/lib$l.so.13" "$DIST/lib/"; done
else
  for l in cublas cublasLt nvrtc; do cp "$STUBS/lib$l.so" "$STUB_DIR/lib$l.so.13"; done
fi
# the launcher's stand-ins: the driver stub, and stubs of the libraries nothing calls without it
cp "$STUB_DIR/libcuda.so.1" "$DIST/nodriver/"
if [ "$WITH_LIBS" = 1 ]; then
  stub nvrtc libnvrtc.so.13 nvrtc "$CUDARC/src/nvrtc/sys.rs"
  stub cublas libcublas.so.13 cublas "$CUDARC/src/cublas/sys.rs"
  stub cublasLt libcublasLt.so.13 cublasLt ""
  for l in cublas cublasLt nvrtc; do mv "$STUBS/lib$l.so" "$DIST/nodriver/lib$l.so.13"; done
else
  for l in cublas cublasLt nvrtc; do cp "$STUB_DIR/lib$l.so.13" "$DIST/nodriver/"; done
fi
cat >"$DIST/fail-lab" <<'LAUNCHER'
#!/bin/sh
# fail-lab built with CUDA (scripts/build-cuda.sh): starts fail-lab.bin beside this file. Where
# the NVIDIA driver's libcuda.so.1 is not found, it starts it on the stand-ins of nodriver/ (every
# call answers "no device"): the CPU trains, and a GPU asked for is refused with that cause.
here=$(dirname "$(readlink -f "$0")")
missing=$(ldd "$here/fail-lab.bin" 2>/dev/null | sed -n 's/^[[:space:]]*\([^ ]*\) => not found.*/\1/p' | tr '\n' ' ')
case " $missing" in
  *" libcuda.so.1 "*)
    FAIL_LAB_NO_CUDA_DRIVER="libcuda.so.1 not found"
    LD_LIBRARY_PATH="$here/nodriver${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export FAIL_LAB_NO_CUDA_DRIVER LD_LIBRARY_PATH
    ;;
  " ") ;;
  *)
    echo "error: fail-lab (CUDA build) cannot start: ${missing% } not found (see LIBRARIES.txt beside it)" >&2
    exit 2
    ;;
esac
exec "$here/fail-lab.bin" "$@"
LAUNCHER
chmod +x "$DIST/fail-lab"
needed=$(readelf -d "$DIST/fail-lab.bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
{
  echo "fail-lab built with --features cuda: PTX for sm_$CAP, CUDA 13.0 (needs an NVIDIA driver of CUDA 13.0 or newer, 580+)"
  echo "shared libraries it needs:"
  for l in $needed; do
    case "$l" in
      libcuda.so.1) echo "  $l  the NVIDIA driver's (without it, the launcher fail-lab runs fail-lab.bin on the CPU)" ;;
      libcublas.so.13 | libcublasLt.so.13 | libnvrtc.so.13)
        if [ "$WITH_LIBS" = 1 ]; then echo "  $l  CUDA 13.0: in lib/ beside the binary"
        else
          case "$l" in libnvrtc*) wheel=nvidia-cuda-nvrtc==13.0.88 ;; *) wheel=nvidia-cublas==13.0.2.14 ;; esac
          echo "  $l  CUDA 13.0: the GPU machine's (the pip wheel $wheel has it), or build with --with-libs"
        fi ;;
      *) echo "  $l  system" ;;
    esac
  done
  echo "run: ./fail-lab run SCENARIO.toml --device cuda   (or auto: the GPU if usable, else the CPU, said once)"
  echo "check: ./gpu-check.sh ./fail-lab   (E1, E2, E4 on the GPU and the CPU, compared; needs python3)"
} >"$DIST/LIBRARIES.txt"
cat "$DIST/LIBRARIES.txt"
step "done: $DIST/fail-lab ($(($(stat -c %s "$DIST/fail-lab.bin") / 1024)) KiB)"

if [ "$TEST" = 1 ]; then
  step "cargo test --release --features cuda --test cuda"
  # the driver's libcuda where there is one, else the stubs (the test then skips)
  libs=$DIST/lib
  ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 ' || libs=$STUB_DIR:$DIST/lib
  LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    cuda_cargo test --release --features cuda -j"$JOBS" --test cuda -- --nocapture
fi
