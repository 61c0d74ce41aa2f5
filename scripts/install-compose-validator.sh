#!/usr/bin/env bash
# Installs docker-compose v1 (PyPI) into .tools/compose-venv: its `config` command validates
# docker-compose.yml offline (schema, interpolation, references) without a Docker engine, for
# test/integration/compose.test.ts. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=1.29.2
venv=.tools/compose-venv
if [ -x "$venv/bin/docker-compose" ] && "$venv/bin/docker-compose" version --short 2>/dev/null | grep -qx "$VERSION"; then
  exit 0
fi
python3 -m venv "$venv"
pip=("$venv/bin/pip" install --quiet --disable-pip-version-check)
# docker-compose 1.29 needs PyYAML 5, whose sdist only builds with Cython < 3 and without build isolation.
"${pip[@]}" "cython<3.0.0" wheel
"${pip[@]}" --no-build-isolation "pyyaml==5.4.1"
"${pip[@]}" "docker-compose==$VERSION"
"$venv/bin/docker-compose" version --short
