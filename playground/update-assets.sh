#!/usr/bin/env bash
# update-assets.sh re-downloads the GraphiQL playground assets from npm into
# assets/ (checked in, so `go build` needs no npm). Bump the pinned versions
# below, run this script, then check the page in a browser and run the tests.
set -euo pipefail

REACT=18.3.1      # last major with UMD builds (React 19 dropped them)
GRAPHIQL=3.9.0    # last 3.x; needs React 16.8-18, ships graphiql.min.js UMD
GRAPHQL_WS=6.4.2  # umd/graphql-ws.min.js, global `graphqlWs`

cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fetch PKG VERSION SUBDIR FILE...: copies FILEs and the licence of PKG@VERSION into assets/SUBDIR.
fetch() {
	local pkg=$1 ver=$2 dir=$3
	shift 3
	local tgz
	tgz=$(cd "$tmp" && npm pack --silent "$pkg@$ver" | tail -n1)
	mkdir -p "$tmp/$pkg" "assets/$dir"
	tar -xzf "$tmp/$tgz" -C "$tmp/$pkg"
	local license
	license=$(node -p "require('$tmp/$pkg/package/package.json').license")
	if [ "$license" != MIT ]; then
		echo "$pkg@$ver: licence is $license, not MIT" >&2
		exit 1
	fi
	for f in "$@"; do
		cp "$tmp/$pkg/package/$f" "assets/$dir/"
	done
	cp "$tmp/$pkg/package/"LICENSE* "assets/$dir/LICENSE"
	echo "$pkg@$ver $license" >>"$tmp/VERSIONS"
}

rm -rf assets
fetch react "$REACT" react umd/react.production.min.js
fetch react-dom "$REACT" react-dom umd/react-dom.production.min.js
fetch graphiql "$GRAPHIQL" graphiql graphiql.min.js graphiql.min.css
fetch graphql-ws "$GRAPHQL_WS" graphql-ws umd/graphql-ws.min.js
cp "$tmp/VERSIONS" assets/VERSIONS
du -ab assets | sort -k2
