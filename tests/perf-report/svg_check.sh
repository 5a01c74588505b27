#!/usr/bin/env bash
# svg_check.sh xmllint|chromium SAMPLE_EXE WORK_DIR
# Writes the sample chart with SAMPLE_EXE into WORK_DIR and checks it:
#   xmllint   the file parses as XML;
#   chromium  headless Chromium parses it as an SVG document (no <parsererror> in its DOM), logs
#             no console message about it (attribute errors land there), and screenshots it to
#             WORK_DIR/sample.png, which must show the chart (png_check.py, when python3 exists).
# Exits 77, which ctest reports as skipped, when the program is not installed.
set -euo pipefail
mode=$1 sample=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
svg=$work/sample.svg
"$sample" "$svg"

case $mode in
xmllint)
    if ! command -v xmllint >/dev/null; then
        echo "xmllint not found (Debian package libxml2-utils): skipped"
        exit 77
    fi
    xmllint --noout --nonet "$svg"
    echo "xmllint: $svg is well-formed"
    ;;
chromium)
    chrome=""
    for c in chromium chromium-browser; do
        if command -v "$c" >/dev/null; then
            chrome=$(command -v "$c")
            break
        fi
    done
    if [ -z "$chrome" ]; then
        echo "chromium not found (Debian package chromium): skipped"
        exit 77
    fi
    # A profile of its own: no clash with a user's Chromium or another test's.
    flags=(--headless --disable-gpu --no-sandbox --no-first-run --hide-scrollbars
        --user-data-dir="$work/profile" --enable-logging=stderr --v=0)
    url="file://$svg"
    timeout 60 "$chrome" "${flags[@]}" --dump-dom "$url" >"$work/dom.xml" 2>"$work/dom.log"
    timeout 60 "$chrome" "${flags[@]}" --screenshot="$work/sample.png" --window-size=1200,900 \
        "$url" >"$work/screenshot.out" 2>"$work/screenshot.log"
    status=0
    if grep -q "parsererror" "$work/dom.xml"; then
        echo "FAIL: Chromium could not parse the SVG:"
        grep -o "error on line[^<]*" "$work/dom.xml" || head -c 2000 "$work/dom.xml"
        status=1
    elif ! head -c 200 "$work/dom.xml" | grep -q "^<svg"; then
        echo "FAIL: Chromium's DOM does not start with <svg>:"
        head -c 500 "$work/dom.xml"
        status=1
    fi
    # Chromium logs D-Bus and GPU noise on a server; what concerns the page is logged as
    # CONSOLE messages or names the file.
    if grep -E "CONSOLE|sample\.svg" "$work/dom.log" "$work/screenshot.log"; then
        echo "FAIL: Chromium reported the lines above about the SVG"
        status=1
    fi
    if [ ! -s "$work/sample.png" ]; then
        echo "FAIL: no screenshot; Chromium said:"
        tail -n 20 "$work/screenshot.log"
        exit 1
    fi
    size=$(wc -c <"$work/sample.png")
    # A blank or one-colour 1200x900 PNG is a few kB; the chart's text and cells are far more.
    if [ "$size" -lt 30000 ]; then
        echo "FAIL: $work/sample.png is only $size bytes"
        status=1
    fi
    if command -v python3 >/dev/null; then
        python3 "$(dirname "$0")/png_check.py" "$work/sample.png" || status=1
    else
        echo "python3 not found: pixel check skipped, size check only"
    fi
    [ "$status" -eq 0 ] && echo "chromium: $svg rendered to $work/sample.png ($size bytes)"
    exit "$status"
    ;;
*)
    echo "svg_check.sh: unknown check '$mode' (expected xmllint or chromium)" >&2
    exit 2
    ;;
esac
