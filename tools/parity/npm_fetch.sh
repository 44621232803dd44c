#!/usr/bin/env bash
# npm_fetch.sh NAME VERSION SRI_SHA512 [DEST_ROOT]
# Fetches one pinned npm package with `npm pack`, checks its tarball against the
# pinned sha512 (SRI form, as `npm view NAME@VERSION dist.integrity` prints it)
# and unpacks it. Idempotent: a verified unpack is reused. Prints the package dir.
# DEST_ROOT defaults to build/npm (git-ignored). Scoped names are fine.
set -euo pipefail
name=${1:?usage: npm_fetch.sh NAME VERSION SRI_SHA512 [DEST_ROOT]}
version=${2:?missing VERSION}
sri=${3:?missing SRI_SHA512}
root=${4:-build/npm}
case $sri in sha512-*) ;; *) echo "npm_fetch: integrity must be sha512-…, got '$sri'" >&2; exit 2 ;; esac

safe=$(printf '%s' "$name" | sed 's,^@,,; s,/,-,g')
dir=$root/$safe-$version
tgz=$root/$safe-$version.tgz
if [ -f "$dir/.verified" ] && [ "$(cat "$dir/.verified")" = "$sri" ]; then
    echo "$dir/package"; exit 0
fi
mkdir -p "$root"
if [ ! -f "$tgz" ]; then
    echo "npm_fetch: npm pack $name@$version" >&2
    tmp=$(mktemp -d "$root/.pack.XXXXXX")
    (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null)
    mv "$tmp"/*.tgz "$tgz.part" && rmdir "$tmp"
    mv "$tgz.part" "$tgz"
fi
got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [ "$got" != "$sri" ]; then
    echo "npm_fetch: integrity MISMATCH for $name@$version" >&2
    echo "  expected $sri" >&2
    echo "  got      $got" >&2
    rm -f "$tgz"
    exit 1
fi
rm -rf "$dir" && mkdir -p "$dir"
tar xzf "$tgz" -C "$dir"
printf '%s' "$sri" > "$dir/.verified"
echo "npm_fetch: $name@$version verified ($sri)" >&2
echo "$dir/package"
