#!/usr/bin/env bash
# Installs the system packages Sophon's tests, test fleet and test packages need. Idempotent: installs
# only what is missing, so CI can call it on every run.
set -euo pipefail

missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
command -v sha256sum >/dev/null 2>&1 || missing+=(coreutils)
command -v pgrep >/dev/null 2>&1 || missing+=(procps)
# The ZooKeeper test packages run on the host's Java.
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
# scripts/install-temporal-test-server.sh fetches Temporal's test server (Java) from Maven Central.
command -v mvn >/dev/null 2>&1 || missing+=(maven)
# scripts/install-schemathesis.sh makes a Python venv for the API fuzzer.
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3 python3-venv)
# scripts/build-packages.sh unpacks Debian packages.
command -v dpkg-deb >/dev/null 2>&1 || missing+=(dpkg)
# test/integration/temporal-ui.test.ts opens the Temporal UI in headless Chromium (driven by playwright-core).
[ -x /usr/bin/chromium ] || missing+=(chromium)

if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing: ${missing[*]}"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "system dependencies present"
fi

# sshd refuses to start without its privilege separation directory.
if [ ! -d /run/sshd ]; then
  if [ "$(id -u)" -ne 0 ]; then sudo mkdir -p /run/sshd; else mkdir -p /run/sshd; fi
fi
