#!/usr/bin/env bash
# GPU check (issue 21): a `--features cuda` glassbox against itself on the CPU, hook by hook, on the bundled
# model, a random GPT-2-small-shaped checkpoint and a random Llama (tools/gpu_check.py does the work). Writes
# OUT/gpu-check.json and OUT/gpu-check.md; exits 1 when a parity check fails.
#
#   tools/gpu-check.sh [--device cuda|cpu] [--bin PATH] [--out DIR] [--models bundled,gpt2,llama]
#
# The GPU machine needs no Rust and no network: the binary (built elsewhere, e.g. with
# `export $(tools/cuda_toolchain.sh --libs)` and `CARGO_TARGET_DIR=target/cuda cargo build --release
# --features cuda`), this repository's tools/, models/ and tests/fixtures/llama-a/, a Python with torch,
# transformers, safetensors and numpy, and the CUDA 13 libraries the binary links to (libcublas.so.13,
# libcublasLt.so.13, libcurand.so.10, libnvrtc.so.13, libcudart.so.13; libcuda.so.1 comes with the driver).
# They are looked for, in order, in $GLASSBOX_CUDA_LIBS (folders separated by ':'), the folders
# tools/cuda_toolchain.sh --libs installs, and the nvidia/cu13/lib folder of that Python's CUDA wheels (torch's
# own CUDA 13 build has them).
#
# --device cpu is a dry run for a machine with no GPU: both sides on the CPU, so it shows the script works
# up to the GPU calls. Only then, where no driver is installed, the link stub stands in for libcuda.so.1.
#
# Environment: GLASSBOX_BIN (default target/cuda/release/glassbox), PYTHON (default .venv/bin/python,
# else python3), GLASSBOX_CUDA_LIBS, GLASSBOX_CACHE (as tools/cuda_toolchain.sh uses it).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

say() { printf 'gpu-check: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

bin="${GLASSBOX_BIN:-$root/target/cuda/release/glassbox}"
device=cuda
out="gpu-check-out"
models="bundled,gpt2,llama"
while [ $# -gt 0 ]; do
    case "$1" in
    --bin) bin="${2:?--bin needs a path}"; shift 2 ;;
    --device) device="${2:?--device needs cuda or cpu}"; shift 2 ;;
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    --models) models="${2:?--models needs a list}"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
    *) die "unknown argument $1 (try --help)" ;;
    esac
done
case "$device" in cuda | cpu) ;; *) die "--device must be cuda or cpu, not $device" ;; esac
[ -x "$bin" ] || die "no glassbox binary at $bin (build it with --features cuda, or pass --bin)"

python="${PYTHON:-}"
if [ -z "$python" ]; then
    if [ -x "$root/.venv/bin/python" ]; then python="$root/.venv/bin/python"; else python=python3; fi
fi
"$python" -c 'import torch, transformers, safetensors, numpy' 2>/dev/null ||
    die "$python cannot import torch, transformers, safetensors and numpy (set PYTHON, or run tools/setup_python.sh)"

# The CUDA libraries: every folder that has them goes on LD_LIBRARY_PATH, first found first.
cache_root="${GLASSBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/glassbox}"
wheel_libs="$("$python" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13", "lib"))' 2>/dev/null || true)"
toolchain="$cache_root/cuda/13.0"
lib_path=""
IFS=: read -r -a given <<<"${GLASSBOX_CUDA_LIBS:-}"
for dir in "${given[@]}" "$toolchain-libs/nvidia/cu13/lib" "$toolchain-compiler/nvidia/cu13/lib" "$wheel_libs"; do
    if [ -n "$dir" ] && compgen -G "$dir/lib*.so.*" >/dev/null; then
        lib_path="${lib_path:+$lib_path:}$dir"
    fi
done
export LD_LIBRARY_PATH="${lib_path}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

missing() { ldd "$bin" | awk '/not found/ { print $1 }'; }
if [ "$device" = cpu ] && [[ " $(missing | tr '\n' ' ') " == *" libcuda.so.1 "* ]]; then
    # No driver here: a dry run may take the link stub for libcuda (every call says "stub library").
    stub="$toolchain-libs/nvidia/cu13/lib/stubs/libcuda.so"
    [ -f "$stub" ] || die "no libcuda.so.1 (no NVIDIA driver) and no link stub at $stub: run tools/cuda_toolchain.sh --libs"
    stub_dir="$(mktemp -d)"
    trap 'rm -rf -- "$stub_dir"' EXIT
    ln -s "$stub" "$stub_dir/libcuda.so.1"
    export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$stub_dir"
    say "dry run: no NVIDIA driver here, using the libcuda link stub"
fi
if [ -n "$(missing)" ]; then
    die "the binary cannot start, missing: $(missing | tr '\n' ' ')(set GLASSBOX_CUDA_LIBS to a folder that has them)"
fi
say "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

cd "$root"
"$python" "$here/gpu_check.py" --bin "$bin" --device "$device" --out "$out" --models "$models"
