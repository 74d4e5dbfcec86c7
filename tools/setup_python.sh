#!/usr/bin/env bash
# Create (or update) the Python virtualenv used by the tools in this folder.
# The venv lives at <repo>/.venv (gitignored). Safe to run repeatedly.
#
#   tools/setup_python.sh
#   .venv/bin/python tools/make_fixtures.py     # regenerate tests/fixtures/
#   .venv/bin/python tools/check_fixtures.py    # independent NumPy check
#   .venv/bin/python tools/bench_hf.py          # PyTorch reference timings
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv" >&2
    "$python" -m venv "$venv"
fi

# Skip pip entirely when everything pinned is already installed.
if "$venv/bin/python" - "$here/requirements.txt" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version, PackageNotFoundError
ok = True
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, want = line.split("==")
    try:
        have = version(name).split("+", 1)[0]
    except PackageNotFoundError:
        have = None
    ok &= have == want
sys.exit(0 if ok else 1)
PY
then
    echo "requirements already satisfied in $venv" >&2
    exit 0
fi

"$venv/bin/python" -m pip install --upgrade pip >/dev/null
# torch from PyPI is large (it pulls CUDA runtime wheels on Linux x86_64).
"$venv/bin/python" -m pip install -r "$here/requirements.txt"
echo "ok: $venv" >&2
