#!/bin/sh
# Opens an xpufleet report in headless Chromium, checks it as the browser test does, and keeps a
# screenshot. Usage: scripts/browser-check.sh [REPORT_DIR] [SCREENSHOT.png]
# (defaults: ./xpufleet-report and REPORT_DIR/screenshot.png). Exit status 1 when the page logged
# errors or a chart did not render. The browser is $XPUFLEET_CHROMIUM, or chromium on the PATH.
set -eu
dir=${1:-xpufleet-report}
shot=${2:-$dir/screenshot.png}
browser=${XPUFLEET_CHROMIUM:-chromium}
page=$(cd "$dir" && pwd)/report.html
[ -f "$page" ] || { echo "no report at $page (run: xpufleet run --out $dir)" >&2; exit 2; }
command -v "$browser" >/dev/null || { echo "no $browser; apt-get install chromium" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags="--headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run --hide-scrollbars --enable-logging=stderr --v=0"
# shellcheck disable=SC2086
"$browser" $flags --user-data-dir="$profile/dom" --dump-dom "file://$page" >"$profile/dom.html" 2>"$profile/err.txt"
# shellcheck disable=SC2086
"$browser" $flags --user-data-dir="$profile/shot" --window-size=1400,3000 --screenshot="$shot" "file://$page" >/dev/null 2>&1
tag=$(grep -o '<html[^>]*>' "$profile/dom.html" | head -n 1)
attr() { printf '%s' "$tag" | sed -n "s/.*$1=\"\([^\"]*\)\".*/\1/p"; }
errors=$(attr data-errors)
charts=$(attr data-charts)
rendered=$(attr data-charts-rendered)
console=$(grep -c ':CONSOLE' "$profile/err.txt" || true)
echo "page errors: ${errors:-?}; console messages: $console; charts rendered: ${rendered:-?} of ${charts:-?}"
echo "screenshot: $shot"
if [ "${errors:-1}" != 0 ] || [ "$console" != 0 ]; then
    grep ':CONSOLE' "$profile/err.txt" >&2 || true
    exit 1
fi
# Charts shown as "not available" have no SVG; they are listed, not failed.
if [ "${rendered:-0}" != "${charts:-1}" ]; then
    echo "charts not drawn (see the report for why):" >&2
    grep -o '<figure class="chart unavailable" id="[^"]*"' "$profile/dom.html" | sed 's/.*id="/  /; s/"$//' >&2
fi
