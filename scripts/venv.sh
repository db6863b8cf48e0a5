#!/usr/bin/env bash
# Creates .tools/venv (git-ignored) with the pinned Python tools of tests/requirements.txt.
# Idempotent: a second run only checks. Prints the venv's python path.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.tools/venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" >&2
fi
STAMP="$VENV/.requirements.sha256"
WANT=$(sha256sum tests/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  "$VENV/bin/pip" install -q --disable-pip-version-check -r tests/requirements.txt >&2
  echo "$WANT" > "$STAMP"
fi
echo "$(pwd)/$VENV/bin/python"
