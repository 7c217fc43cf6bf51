#!/usr/bin/env bash
# Proves the report page renders (issue 17 item 7): headless Chromium (the Debian package,
# installed here when missing) screenshots the page `leadledger report --html` wrote, and
# scripts/report-html-check.py finds every chart in the screenshot by its colours.
#
# Usage: report-html-check.sh PAGE.html [SCREENSHOT.png]
# `make test` runs it on the page the report test writes (target/tmp/report.html).
set -euo pipefail
cd "$(dirname "$0")/.."
page=${1:?usage: report-html-check.sh PAGE.html [SCREENSHOT.png]}
shot=${2:-${page%.html}.png}
[ -f "$page" ] || { echo "report-html-check: no page at $page" >&2; exit 1; }

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "report-html-check: installing chromium (Debian package)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    browser=$(command -v chromium)
  else
    echo "report-html-check: Chromium is missing: install the chromium package" >&2
    exit 1
  fi
fi

# The page is self-contained: no network is needed, and none is allowed.
rm -f "$shot"
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --disable-background-networking --no-first-run --proxy-server=127.0.0.1:9 \
  --force-device-scale-factor=1 --window-size=1000,14000 \
  --screenshot="$(realpath -m "$shot")" "file://$(realpath "$page")" >/dev/null 2>&1 || true
[ -s "$shot" ] || { echo "report-html-check: Chromium wrote no screenshot" >&2; exit 1; }
python3 scripts/report-html-check.py "$shot"
