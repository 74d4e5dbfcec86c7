#!/usr/bin/env bash
# Install NVIDIA's CUDA compiler (and, with --libs, the libraries a `--features cuda` binary links to) from
# PyPI into a cache folder outside the repository, and print the environment to build with.
#
# No system CUDA toolkit and no GPU are needed: the wheels hold nvcc, its headers and the shared libraries.
#
#   export $(tools/cuda_toolchain.sh)           # enough for `cargo check|clippy --features cuda`
#   export $(tools/cuda_toolchain.sh --libs)    # also links: `cargo build --release --features cuda`
#
# stdout is one VAR=value line per variable (PATH, CUDA_ROOT, CUDA_PATH, CUDA_COMPUTE_CAP,
# CUDARC_CUDA_VERSION, and with --libs LIBRARY_PATH); everything else goes to stderr. Build cuda in a target
# folder of its own (CARGO_TARGET_DIR=target/cuda), so switching between the CPU and the cuda build rebuilds
# nothing. CUDA_ROOT is the same with and without --libs (the libraries go in a folder of their own, found
# through LIBRARY_PATH), as cudarc's build script reruns when CUDA_ROOT changes.
#
# What the pinned set holds (CUDA 13.0, the oldest CUDA 13: its PTX loads on every CUDA 13 driver):
#   nvidia-cuda-nvcc, -crt, -nvvm    nvcc, its C runtime headers and cicc (nvcc finds cicc in ../nvvm)
#   nvidia-cuda-runtime, -cccl       cuda.h, cuda_runtime.h, cuda_fp16.h...; libcudart; thrust/cub
#   --libs: nvidia-cuda-nvrtc, nvidia-cublas, nvidia-curand   libnvrtc, libcublas, libcublasLt, libcurand
# The wheels put everything under nvidia/cu13/{bin,include,lib,nvvm}, which is CUDA_ROOT. They only ship
# versioned libraries (libcublas.so.13), so --libs adds the unversioned names the linker asks for, and a
# link stub for libcuda (the driver's library, which no wheel holds): a shared library named libcuda.so
# (soname libcuda.so.1) defining every function of cuda.h, each returning CUDA_ERROR_STUB_LIBRARY. It is
# only for the linker; at run time the GPU's driver supplies the real libcuda.so.1.
#
# Environment:
#   GLASSBOX_CACHE     cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/glassbox); the toolkit goes in cuda/
#   CUDA_COMPUTE_CAP   GPU architecture the kernels are compiled for (default 90: Hopper only, H100/H200,
#                      as candle builds 90 as sm_90a); 80 for A100, 89 for L4 and RTX 40xx.
#   PYTHON             Python interpreter used for pip (default: python3)
set -euo pipefail

readonly CUDA_VERSION_TAG="13.0"
readonly CUDARC_VERSION="13000"
readonly COMPILER=(
    "nvidia-cuda-nvcc==13.0.88"
    "nvidia-cuda-crt==13.0.88"
    "nvidia-nvvm==13.0.88"
    "nvidia-cuda-runtime==13.0.96"
    "nvidia-cuda-cccl==13.0.85"
)
readonly LIBRARIES=(
    "nvidia-cuda-nvrtc==13.0.88"
    "nvidia-cublas==13.0.2.14"
    "nvidia-curand==10.4.0.35"
)

python="${PYTHON:-python3}"
compute_cap="${CUDA_COMPUTE_CAP:-90}"

say() { printf 'cuda_toolchain: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

libs=0
for arg in "$@"; do
    case "$arg" in
    --libs) libs=1 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
        exit 0
        ;;
    *) die "unknown argument $arg (try --help)" ;;
    esac
done

command -v "$python" >/dev/null 2>&1 || die "$python not found (set PYTHON to a Python 3 interpreter)"
"$python" -m pip --version >/dev/null 2>&1 || die "'$python -m pip' does not work (pip is needed to fetch the wheels)"

cache_root="${GLASSBOX_CACHE:-${XDG_CACHE_HOME:-${HOME:?HOME is not set; set GLASSBOX_CACHE}/.cache}/glassbox}"
mkdir -p "$cache_root/cuda" || die "cannot create $cache_root/cuda"
cache="$(cd "$cache_root/cuda" && pwd -P)"

# One folder per package set: pip --target cannot add packages to a folder that already holds nvidia/
# (it skips what exists), so each set is installed whole, in one pip call, then renamed into place.
compiler_dir="$cache/$CUDA_VERSION_TAG-compiler"
libs_dir="$cache/$CUDA_VERSION_TAG-libs"

complete() { [ -f "$1/.complete" ] && [ "$(cat "$1/.complete")" = "$2" ]; }

# install <dir> <packages...>: the wheels into <dir>, unless a complete install of that set is there.
install() {
    local dir="$1"
    shift
    local want="$*"
    if complete "$dir" "$want"; then
        say "already installed: $dir"
        return 0
    fi
    rm -rf -- "$dir"
    local work
    work="$(mktemp -d "$cache/.install.XXXXXX")"
    # shellcheck disable=SC2064 # expand now: the folder to remove is this one
    trap "rm -rf -- '$work'" EXIT
    say "installing from PyPI into $dir: $want"
    "$python" -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --no-warn-script-location --target "$work" "$@" >&2 ||
        die "pip could not install the CUDA wheels (need network access to PyPI)"
    printf '%s' "$want" >"$work/.complete"
    mv -- "$work" "$dir"
    trap - EXIT
}

# unversioned <lib dir>: the names the linker looks for (libcublas.so -> libcublas.so.13).
unversioned() {
    local lib="$1" f base
    for f in "$lib"/lib*.so.*; do
        base="${f##*/}"
        base="${base%%.so.*}.so"
        [ -e "$lib/$base" ] || ln -s "${f##*/}" "$lib/$base"
    done
}

# libcuda_stub <lib dir> <include dir>: <lib dir>/stubs/libcuda.so, for the linker only.
libcuda_stub() {
    local lib="$1" include="$2"
    [ -f "$lib/stubs/libcuda.so" ] && return 0
    command -v cc >/dev/null 2>&1 || die "a C compiler (cc) is needed to make the libcuda link stub"
    mkdir -p "$lib/stubs"
    # Every function cuda.h declares, under the names the preprocessor gives them (cuMemAlloc_v2...).
    local src="$lib/stubs/libcuda_stub.c"
    printf '#include <cuda.h>\n' | cc -E -P -I"$include" -x c - | tr '\n' ' ' |
        grep -oE '\bCUresult +(__attribute__\(\([a-z_]+\)\) +)?cu[A-Za-z0-9_]+ *\(' |
        grep -oE 'cu[A-Za-z0-9_]+ *\($' | tr -d ' (' | sort -u |
        sed 's/.*/int &(void) { return 34; }/' >"$src" # 34: CUDA_ERROR_STUB_LIBRARY
    [ -s "$src" ] || die "found no functions in $include/cuda.h for the libcuda stub"
    cc -shared -fPIC -o "$lib/stubs/libcuda.so" -Wl,-soname,libcuda.so.1 "$src" ||
        die "could not build the libcuda link stub"
    say "made a libcuda link stub with $(wc -l <"$src" | tr -d ' ') functions: $lib/stubs/libcuda.so"
}

install "$compiler_dir" "${COMPILER[@]}"
root="$compiler_dir/nvidia/cu13"
[ -x "$root/bin/nvcc" ] || die "no nvcc in $root/bin: the wheels' layout changed? remove $compiler_dir and retry"
if [ "$libs" = 1 ]; then
    install "$libs_dir" "${LIBRARIES[@]}"
    lib="$libs_dir/nvidia/cu13/lib"
    [ -f "$lib/libcublas.so.13" ] || die "no libcublas.so.13 in $lib: the wheels' layout changed? remove $libs_dir and retry"
    unversioned "$lib"
    libcuda_stub "$lib" "$root/include"
    # libcudart comes with the compiler's runtime wheel: give it its unversioned name there too.
    unversioned "$root/lib"
fi

say "$("$root/bin/nvcc" --version | tail -n 2 | head -n 1)"
if [ "$libs" = 1 ]; then
    say "to run a binary built with these (on a machine with an NVIDIA driver): LD_LIBRARY_PATH=$lib:$root/lib"
fi
printf 'PATH=%s\n' "$root/bin:$PATH"
printf 'CUDA_ROOT=%s\n' "$root"
printf 'CUDA_PATH=%s\n' "$root"
printf 'CUDA_COMPUTE_CAP=%s\n' "$compute_cap"
printf 'CUDARC_CUDA_VERSION=%s\n' "$CUDARC_VERSION"
if [ "$libs" = 1 ]; then
    # The C compiler that links for cargo searches LIBRARY_PATH for -lcublas, -lcuda...
    printf 'LIBRARY_PATH=%s\n' "$lib:$lib/stubs:$root/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
fi
