#!/usr/bin/env bash
# screenshot.sh renders an SVG or HTML file to a PNG, or prints it to a PDF,
# with headless Chromium, for a person to look at what the ladder, chart and
# report renderers draw (and what printing keeps).
#
# Usage: bash scripts/screenshot.sh [--width W] [--height H] [--from Y] in.svg|in.html out.png|out.pdf
#
# A PNG is the browser window: sized from the first width="..." and
# height="..." attributes of the first <svg> element in the file (plus a
# margin for an HTML page), 1280x800 when it has none; --width and
# --height set it instead (a report: --width 1280). --from Y shows the page
# from Y pixels down, to picture a part of a long page (the page is framed
# in a wrapper page that shifts it up). A .pdf is what printing the page
# gives (Chromium's print-to-PDF, US Letter, no header or footer); look at
# its pages with `pdftoppm -png -r 70 out.pdf page` (poppler-utils).
# Chromium (Debian's package) is installed with apt-get when it is missing,
# which needs root.
set -euo pipefail

usage() {
	echo "usage: bash scripts/screenshot.sh [--width W] [--height H] [--from Y] in.svg|in.html out.png|out.pdf" >&2
	exit 2
}
W="" H="" FROM=0
while [ $# -gt 0 ]; do
	case $1 in
	--width) W=${2:?}; shift 2 ;;
	--height) H=${2:?}; shift 2 ;;
	--from) FROM=${2:?}; shift 2 ;;
	--*) usage ;;
	*) break ;;
	esac
done
[ $# -eq 2 ] || usage
for n in "$W" "$H" "$FROM"; do
	case $n in *[!0-9]*) usage ;; esac
done
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

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
	--disable-background-networking --disable-component-update --disable-sync
	--user-data-dir="$profile")

case $abs_out in
*.pdf)
	"$browser" "${flags[@]}" --no-pdf-header-footer --print-to-pdf="$abs_out" "file://$abs_in" >/dev/null 2>&1 || {
		echo "screenshot.sh: $browser failed" >&2
		exit 1
	}
	echo "$abs_out (printed)"
	exit 0
	;;
esac

# The first <svg ...> start tag, on one line, then its width and height.
svgtag=$(tr '\n' ' ' <"$abs_in" | grep -o '<svg[^>]*>' | head -n 1 || true)
w=$(printf '%s' "$svgtag" | sed -n 's/.* width="\([0-9.]*\)".*/\1/p')
h=$(printf '%s' "$svgtag" | sed -n 's/.* height="\([0-9.]*\)".*/\1/p')
w=${w%.*}
h=${h%.*}
: "${w:=1280}"
: "${h:=800}"
case $abs_in in
*.html | *.htm)
	# Room for the page's title, endpoint lines and legend around the SVG.
	w=$((w + 80))
	h=$((h + 400))
	;;
esac
[ -z "$W" ] || w=$W
[ -z "$H" ] || h=$H
# Headless Chromium crops very small windows: keep at least 600x400.
[ "$w" -ge 600 ] || w=600
[ "$h" -ge 400 ] || h=400

page="file://$abs_in"
if [ "$FROM" -gt 0 ]; then
	# A wrapper page showing the file from FROM pixels down, as wide as
	# the window and tall enough for any report.
	cat >"$profile/from.html" <<HTML
<!DOCTYPE html><html><head><style>html,body{margin:0;overflow:hidden}
iframe{border:0;display:block;width:${w}px;height:$((FROM + h + 100000))px;margin-top:-${FROM}px}</style></head>
<body><iframe scrolling="no" src="file://$abs_in"></iframe></body></html>
HTML
	page="file://$profile/from.html"
fi
"$browser" "${flags[@]}" --hide-scrollbars --screenshot="$abs_out" --window-size="$w,$h" "$page" >/dev/null 2>&1 || {
	echo "screenshot.sh: $browser failed" >&2
	exit 1
}
echo "$abs_out (${w}x${h}, from ${FROM} px)"
