#!/usr/bin/env bash
# Installs schemathesis (PyPI) into .tools/schemathesis-venv for the API fuzzing test
# (test/integration/fuzz.test.ts). Idempotent: does nothing when the venv already has it.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.32.5
venv=.tools/schemathesis-venv
if [ -x "$venv/bin/schemathesis" ] && "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$VERSION"; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
"$venv/bin/schemathesis" --version
