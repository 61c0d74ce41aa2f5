#!/usr/bin/env bash
# Fetches Temporal's time-skipping test server (Java, Maven Central) into .tools/temporal-test-server
# for the engine unit tests, and records a class-data archive of its start so that it starts fast.
# Idempotent: does nothing when the jars of the pom's versions are there.
set -euo pipefail
cd "$(dirname "$0")/.."

pom=scripts/temporal-test-server/pom.xml
dest=.tools/temporal-test-server
if [ -d "$dest/lib" ] && cmp -s "$pom" "$dest/pom.xml"; then
  exit 0
fi
rm -rf "$dest"
mkdir -p "$dest"
mvn -B -q -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$PWD/$dest/lib"

# A training start: the JVM writes the classes it loaded until it is stopped.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
java -XX:ArchiveClassesAtExit="$dest/server.jsa" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$dest/lib/*" \
  io.temporal.testserver.TestServer "$port" >/dev/null &
pid=$!
for _ in $(seq 600); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
kill "$pid" 2>/dev/null || true
wait "$pid" || true
[ -f "$dest/server.jsa" ] || echo "no class-data archive was written; the test server starts without it" >&2

# Recorded last: an interrupted install is done again next time.
cp "$pom" "$dest/pom.xml"
echo "Temporal test server in $dest"
