#!/usr/bin/env bash
# screenshot.sh renders an SVG or HTML file to a PNG with headless Chromium,
# for a person to look at what the ladder and chart renderers draw.
#
# Usage: bash scripts/screenshot.sh in.svg|in.html out.png
#
# The window is sized from the first width="..." and height="..." attributes
# of the first <svg> element in the file (plus a margin for an HTML page),
# and defaults to 1280x800 when it has none. Chromium (Debian's package) is
# installed with apt-get when it is missing, which needs root.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: bash scripts/screenshot.sh in.svg|in.html out.png" >&2
	exit 2
fi
in=$1
out=$2
if [ ! -f "$in" ]; then
	echo "screenshot.sh: $in: no such file" >&2
	exit 2
fi

browser=""
for b in chromium chromium-browser; do
	if command -v "$b" >/dev/null 2>&1; then
		browser=$b
		break
	fi
done
if [ -z "$browser" ]; then
	echo "screenshot.sh: installing chromium with apt-get" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq chromium >/dev/null
	browser=chromium
fi

abs_in=$(cd "$(dirname "$in")" && pwd)/$(basename "$in")
case $out in
/*) abs_out=$out ;;
*) abs_out=$(pwd)/$out ;;
esac

# The first <svg ...> start tag, on one line, then its width and height.
svgtag=$(tr '\n' ' ' <"$abs_in" | grep -o '<svg[^>]*>' | head -n 1 || true)
w=$(printf '%s' "$svgtag" | sed -n 's/.* width="\([0-9.]*\)".*/\1/p')
h=$(printf '%s' "$svgtag" | sed -n 's/.* height="\([0-9.]*\)".*/\1/p')
w=${w%.*}
h=${h%.*}
: "${w:=1280}"
: "${h:=800}"
# Headless Chromium crops very small windows: keep at least 600x400.
[ "$w" -ge 600 ] || w=600
[ "$h" -ge 400 ] || h=400
case $abs_in in
*.html | *.htm)
	# Room for the page's title, endpoint lines and legend around the SVG.
	w=$((w + 80))
	h=$((h + 400))
	;;
esac

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--hide-scrollbars --user-data-dir="$profile" \
	--screenshot="$abs_out" --window-size="$w,$h" "file://$abs_in" >/dev/null 2>&1 || {
	echo "screenshot.sh: $browser failed" >&2
	exit 1
}
echo "$abs_out (${w}x${h})"
