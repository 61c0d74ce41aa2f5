#!/usr/bin/env bash
# Builds Sophon's runnable packages into a package repository: the one entry point for every
# source (Debian, Maven Central, PyPI).
#
#   scripts/build-packages.sh [--only RECIPE[,RECIPE...]] [target-dir]
#   npm run packages [-- --only hadoop] [-- target-dir]
#
# Without a target it builds the repository Sophon reads by default: SOPHON_PACKAGE_REPO when it
# names a directory, else $SOPHON_HOME/packages (./.sophon/packages).
#
# Recipes live in scripts/packages/<recipe>.sh and run in the order of RECIPES below; --only
# builds some of them and keeps the other entries of an existing index.json.
#
# Each component becomes one self-contained tarball <service>-<version>-<arch>.tar.gz that runs
# from its install root, plus an index.json the repository reads.
#
# Integrity: service definitions name packages by file; the sha256 of every tarball lives in the
# repository's index.json written here, and the repository verifies each file against it. The
# tarballs are built reproducibly (sorted entries, fixed mtime and owner, gzip -n), so a rebuild
# from the same inputs gives byte-identical files.
#
# Downloads from Maven Central and PyPI are cached in SOPHON_PACKAGE_CACHE (default
# ~/.cache/sophon/packages): a second build downloads nothing.
set -euo pipefail

RECIPES=(debian kafka spark flink hadoop)
here=$(cd "$(dirname "$0")" && pwd)

only=""
target=""
while [ $# -gt 0 ]; do
  case $1 in
    --only) only=${2:?--only needs a list of recipes: ${RECIPES[*]}}; shift 2 ;;
    --only=*) only=${1#--only=}; shift ;;
    -*) echo "unknown option $1; usage: build-packages.sh [--only RECIPE[,RECIPE...]] [target-dir]" >&2; exit 2 ;;
    *) target=$1; shift ;;
  esac
done
selected=("${RECIPES[@]}")
if [ -n "$only" ]; then
  IFS=, read -r -a selected <<< "$only"
  for r in "${selected[@]}"; do
    [ -e "$here/packages/$r.sh" ] || { echo "no recipe '$r'; recipes: ${RECIPES[*]}" >&2; exit 2; }
  done
fi

if [ -z "$target" ]; then
  if [[ "${SOPHON_PACKAGE_REPO:-}" =~ ^[Hh][Tt][Tt][Pp][Ss]?:// ]]; then
    echo "SOPHON_PACKAGE_REPO is a URL ($SOPHON_PACKAGE_REPO); give the directory to build: build-packages.sh <target-dir>" >&2
    exit 2
  fi
  target=${SOPHON_PACKAGE_REPO:-${SOPHON_HOME:-.sophon}/packages}
fi
mkdir -p "$target"
target=$(cd "$target" && pwd)
cache=${SOPHON_PACKAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sophon/packages}
mkdir -p "$cache"
MTIME="@1700000000"

arch=$(uname -m)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: > "$work/index.txt"

need() { command -v "$1" >/dev/null || apt_install "$2"; }
apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; }
}

# Reproducible tarball of directory $1 as $target/$2; records it in the index.
pack() {
  local stage=$1 file=$2 service=$3 version=$4 parch=$5
  chmod -R u+rwX,go+rX,go-w "$stage"
  tar -C "$stage" --sort=name --mtime="$MTIME" --owner=0 --group=0 --numeric-owner \
    --format=gnu -cf - . | gzip -n -6 > "$target/$file.tmp"
  mv "$target/$file.tmp" "$target/$file"
  echo "$service $version $parch $file $(sha256sum "$target/$file" | cut -d' ' -f1) $(stat -c %s "$target/$file")" >> "$work/index.txt"
  echo "built $file"
}

for recipe in "${selected[@]}"; do
  # shellcheck source=/dev/null
  source "$here/packages/$recipe.sh"
done

# --- index.json: the repository's record of every package and its sha256 ------------------
# Entries built now replace those of the same file; others stay while their file exists.
python3 - "$target" "$work/index.txt" <<'EOF'
import json, os, sys
target, built = sys.argv[1], sys.argv[2]
path = os.path.join(target, 'index.json')
entries = {}
if os.path.exists(path):
    for p in json.load(open(path))['packages']:
        if os.path.exists(os.path.join(target, p['file'])):
            entries[p['file']] = p
for line in open(built):
    service, version, arch, file, sha256, size = line.split()
    entries[file] = {'service': service, 'version': version, 'arch': arch, 'file': file, 'sha256': sha256, 'size': int(size)}
packages = [entries[f] for f in sorted(entries)]
with open(path + '.tmp', 'w') as out:
    out.write('{\n  "packages": [\n' + ',\n'.join('    ' + json.dumps(p) for p in packages) + '\n  ]\n}\n')
os.replace(path + '.tmp', path)
EOF
echo "index: $target/index.json"
