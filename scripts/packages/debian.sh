# Recipe: components built from Debian packages (sourced by scripts/build-packages.sh).
#
# ZooKeeper and Redis are built in two Debian builds each (release and security update) for
# upgrade and rollback tests; node-exporter in two Debian releases (bookworm's and trixie's,
# whose binary needs only glibc 2.34+) for upgrading a bigger fleet quickly. Java comes from the host.

REDIS_VERSIONS=("7.0.15-deb12u7:5:7.0.15-1~deb12u7" "7.0.15-deb12u10:5:7.0.15-1~deb12u10")
ZK_VERSIONS=("3.8.0-deb12u1:3.8.0-11+deb12u1" "3.8.0-deb12u2:3.8.0-11+deb12u2")
NODE_EXPORTER=("1.5.0" "prometheus-node-exporter=1.5.0-1+b6")
NODE_EXPORTER_NEXT=("1.9.0" "prometheus-node-exporter=1.9.0-1+b4")   # from trixie
PROMETHEUS=("2.42.0" "prometheus=2.42.0+ds-5+deb12u1")
ALERTMANAGER=("0.25.0" "prometheus-alertmanager=0.25.0-1+b4")

debs="$work/debs"
mkdir -p "$debs"

# apt-get download into $debs; refreshes the package lists once if they lack the package.
download() {
  if ! (cd "$debs" && apt-get download -q "$@" >/dev/null 2>&1); then
    apt-get update -q >/dev/null
    (cd "$debs" && apt-get download -q "$@" >/dev/null)
  fi
}

# apt-get download from Debian trixie into $debs, through a private apt configuration on the
# mirror this machine already uses for bookworm: the machine's own sources stay as they are.
download_trixie() {
  local apt="$work/apt-trixie" mirror
  local o=(-o Dir::Etc::sourcelist="$apt/sources.list" -o Dir::Etc::sourceparts=/nonexistent -o APT::Sandbox::User=root
    -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache")
  if [ ! -e "$apt/sources.list" ]; then
    mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' | awk '$2 == "bookworm" {print $1; exit}')
    [ -n "$mirror" ] || { echo "no Debian bookworm source configured to derive trixie's from" >&2; exit 1; }
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" > "$apt/sources.list"
    apt-get "${o[@]}" update -q >/dev/null
  fi
  (cd "$debs" && apt-get "${o[@]}" download -q "$@" >/dev/null 2>&1)
}

# Extracts the downloaded .deb of package $1 at version $2 into directory $3.
extract() {
  local name=$1 version=$2 dest=$3 file="" f
  for f in "$debs/${name}_"*.deb; do
    [ "$(dpkg-deb -f "$f" Version)" = "$version" ] && { file=$f; break; }
  done
  [ -n "$file" ] || { echo "Debian package $name $version could not be downloaded" >&2; exit 1; }
  mkdir -p "$dest"
  dpkg-deb -x "$file" "$dest"
}

need dpkg-deb dpkg
need unzip unzip
# apt-cache answers from the local lists: fetch them once if this machine has none yet.
apt-cache show zookeeper >/dev/null 2>&1 || apt-get update -q >/dev/null

# --- node-exporter, prometheus, alertmanager: static Go binaries ---------------------------
build_go() {
  local service=$1 version=$2 spec=$3; shift 3
  local name=${spec%%=*} debver=${spec#*=} root="$work/x-$service-$version" stage="$work/s-$service-$version"
  if [ "${DOWNLOAD:-}" = trixie ]; then download_trixie "$spec"; else download "$spec"; fi
  extract "$name" "$debver" "$root"
  mkdir -p "$stage/bin"
  while [ $# -gt 0 ]; do cp "$root/usr/bin/$1" "$stage/bin/$2"; shift 2; done
  # Debian's alertmanager reads its notification templates from a fixed path; ship them along.
  if [ "$service" = alertmanager ]; then
    mkdir -p "$stage/share/alertmanager"
    cp -r "$root"/usr/share/prometheus/alertmanager/*.tmpl "$root/usr/share/prometheus/alertmanager/no-ui" "$stage/share/alertmanager/"
  fi
  pack "$stage" "$service-$version-$arch.tar.gz" "$service" "$version" "$arch"
}
build_go node-exporter "${NODE_EXPORTER[@]}" prometheus-node-exporter node_exporter
DOWNLOAD=trixie build_go node-exporter "${NODE_EXPORTER_NEXT[@]}" prometheus-node-exporter node_exporter
build_go prometheus "${PROMETHEUS[@]}" prometheus prometheus promtool promtool
build_go alertmanager "${ALERTMANAGER[@]}" prometheus-alertmanager alertmanager amtool amtool

# --- redis: binaries plus the shared libraries a bare host may lack -----------------------
for entry in "${REDIS_VERSIONS[@]}"; do
  version=${entry%%:*} debver=${entry#*:}
  root="$work/x-redis-$version" stage="$work/s-redis-$version"
  download "redis-server=$debver" "redis-tools=$debver" libjemalloc2 liblzf1
  extract redis-server "$debver" "$root"
  extract redis-tools "$debver" "$root"
  for lib in libjemalloc2 liblzf1; do
    extract "$lib" "$(apt-cache policy "$lib" | awk '/Candidate:/ {print $2}')" "$root"
  done
  mkdir -p "$stage/bin" "$stage/libexec" "$stage/lib"
  # redis-server and redis-check-* are one binary that dispatches on its own name.
  for b in redis-server redis-check-aof redis-check-rdb; do cp "$root/usr/bin/redis-check-rdb" "$stage/libexec/$b"; done
  cp "$root/usr/bin/redis-cli" "$stage/libexec/redis-cli"
  cp "$root/usr/bin/redis-benchmark" "$stage/libexec/redis-benchmark"
  cp -L "$root"/usr/lib/*-linux-gnu/libjemalloc.so.2 "$root"/usr/lib/*-linux-gnu/liblzf.so.1 "$stage/lib/"
  for b in redis-server redis-cli redis-benchmark redis-check-aof redis-check-rdb; do
    cat > "$stage/bin/$b" <<EOF
#!/bin/sh
here=\$(cd "\$(dirname "\$0")/.." && pwd)
LD_LIBRARY_PATH="\$here/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "\$here/libexec/$b" "\$@"
EOF
    chmod 755 "$stage/bin/$b"
  done
  pack "$stage" "redis-$version-$arch.tar.gz" redis "$version" "$arch"
done

# --- zookeeper: its jars plus every jar they reference through their manifests -------------
java_pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances libzookeeper-java 2>/dev/null | grep -v '^ ' | grep -- '-java$' \
  | grep -v -e '^libzookeeper-java$' -e '^ca-certificates-java$' | sort -u)
javaroot="$work/x-java"
# shellcheck disable=SC2086
download $java_pkgs
for p in $java_pkgs; do extract "$p" "$(apt-cache policy "$p" | awk '/Candidate:/ {print $2}')" "$javaroot"; done

# Prints the jar names listed in a jar's manifest Class-Path.
classpath_of() {
  unzip -p "$1" META-INF/MANIFEST.MF 2>/dev/null | tr -d '\r' \
    | awk '/^Class-Path:/ {cp=1; sub(/^Class-Path: /, ""); printf "%s", $0; next}
           cp && /^ / {sub(/^ /, ""); printf "%s", $0; next} {cp=0} END {print ""}' \
    | tr ' ' '\n' | sed -n 's#^/usr/share/java/##p'
}

for entry in "${ZK_VERSIONS[@]}"; do
  version=${entry%%:*} debver=${entry#*:}
  root="$work/x-zk-$version" stage="$work/s-zk-$version"
  download "zookeeper=$debver" "libzookeeper-java=$debver"
  cp -a "$javaroot" "$root"
  extract zookeeper "$debver" "$root"
  extract libzookeeper-java "$debver" "$root"
  mkdir -p "$stage/bin" "$stage/lib" "$stage/conf"
  # Closure over manifest Class-Path entries, starting from the server jar, a logging binding and
  # the servlet API the AdminServer's Jetty needs (Debian's jetty jars do not list it).
  queue=(zookeeper.jar slf4j-simple.jar servlet-api.jar)
  declare -A seen=()
  while [ ${#queue[@]} -gt 0 ]; do
    jar=${queue[0]}; queue=("${queue[@]:1}")
    [ -n "${seen[$jar]:-}" ] && continue
    seen[$jar]=1
    src="$root/usr/share/java/$jar"
    [ -e "$src" ] || continue
    cp -L "$src" "$stage/lib/$jar"
    while read -r dep; do [ -n "$dep" ] && queue+=("$dep"); done < <(classpath_of "$src")
  done
  unset seen
  for s in zkServer.sh zkCli.sh zkCleanup.sh; do cp "$root/usr/share/zookeeper/bin/$s" "$stage/bin/$s"; done
  cp "$root/etc/zookeeper/conf_example/zoo.cfg" "$stage/conf/zoo.cfg.example"
  # zkServer.sh sources zkEnv.sh; this one points it at the install root instead of /etc.
  cat > "$stage/bin/zkEnv.sh" <<'EOF'
#!/bin/sh
ZOOHOME=$(cd "$(dirname "$0")/.." && pwd)
ZOOMAIN=org.apache.zookeeper.server.quorum.QuorumPeerMain
ZOOCFGDIR=${ZOOCFGDIR:-$ZOOHOME/conf}
ZOOCFG=${ZOOCFG:-$ZOOCFGDIR/zoo.cfg}
ZOO_LOG_DIR=${ZOO_LOG_DIR:-$ZOOHOME/logs}
ZOO_LOG4J_PROP=${ZOO_LOG4J_PROP:-INFO,CONSOLE}
JMXLOCALONLY=${JMXLOCALONLY:-true}
JAVA=${JAVA:-java}
CLASSPATH="$ZOOCFGDIR:$ZOOHOME/lib/*"
export ZOOHOME ZOOCFGDIR ZOOCFG ZOO_LOG_DIR ZOO_LOG4J_PROP CLASSPATH
EOF
  chmod 755 "$stage/bin/"*
  pack "$stage" "zookeeper-$version-noarch.tar.gz" zookeeper "$version" noarch
done

