#!/usr/bin/env bash
# Builds the bindings and runs their tests (Python under pytest, in a venv).
# Ends with one line "N passed, M failed".
#
#   bindings/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bindings/build.sh >&2

venv=target/bindings-venv
if [ ! -x "$venv/bin/pytest" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check pytest==8.3.5 >&2
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
PYTHONPATH=bindings/generated/python "$venv/bin/pytest" -q -p no:cacheprovider bindings/python/tests 2>&1 | tee "$out" >&2
status=${PIPESTATUS[0]}
set -e
python3 - "$out" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
passed = sum(int(n) for n in re.findall(r"(\d+) passed", text))
failed = sum(int(n) for n in re.findall(r"(\d+) failed", text)) + sum(int(n) for n in re.findall(r"(\d+) errors?", text))
print(f"{passed} passed, {failed} failed")
PY
exit "$status"
