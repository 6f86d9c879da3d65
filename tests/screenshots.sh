#!/bin/bash
# Every page of htap-studio at 1024x700 and 1600x1000, light and dark, while the seed's mixed
# load runs: the pictures a reviewer looks at before a GUI change lands (issue 23).
#
#   tests/screenshots.sh [OUT]        (default build/screenshots; PNGs named THEME-WxH-PAGE.png)
#
# A sandbox of its own (SHOTS_DIR, default /tmp/htap-shots-sb, port SHOTS_PORT, default 54360,
# scale 0.2), `htapctl scenario run steady-mixed` in the background, and an idle-in-transaction
# session holding one product's inventory row for a while, so that the Locks page and the
# Overview show a blocking episode. Each window is started with --no-restore and its own
# settings and history (XDG folders under OUT), offscreen. BIN (default build/bin) picks the
# binaries. Takes about 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/bin}
OUT=${1:-build/screenshots}
DIR=${SHOTS_DIR:-/tmp/htap-shots-sb}
PORT=${SHOTS_PORT:-54360}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

CONN=$("$BIN/htapctl" sandbox start --dir "$DIR" --port "$PORT" --scale 0.2 | grep '^host=' | tail -1)
[ -n "$CONN" ] || { echo "screenshots: the sandbox did not start" >&2; exit 1; }
echo "sandbox: $CONN"

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

"$BIN/htapctl" scenario run steady-mixed -c "$CONN" --duration-scale 2 >"$OUT/scenario.txt" 2>&1 &
pids+=($!)
# Order entry blocked behind an idle transaction from the 50th second for 90 s.
( sleep 50; psql "$CONN" -q >/dev/null 2>&1 <<'SQL' || true
BEGIN;
UPDATE inventory SET quantity = quantity WHERE product_id = (SELECT product_id FROM inventory ORDER BY product_id LIMIT 1);
\! sleep 90
ROLLBACK;
SQL
) &
pids+=($!)

shoot() { # theme size delay
    local theme=$1 size=$2 delay=$3
    XDG_CONFIG_HOME="$OUT/.config-$theme-$size" XDG_DATA_HOME="$OUT/.data-$theme-$size" QT_QPA_PLATFORM=offscreen \
        "$BIN/htap-studio" --no-restore --connect "$CONN" --theme "$theme" --size "$size" \
        --screenshot "$OUT/$theme-$size-%1.png" --screenshot-delay "$delay" >"$OUT/$theme-$size.log" 2>&1
}
# Two windows at a time on two cores; all four watch the blocking episode (50 s to 140 s).
shoot light 1600x1000 75 & a=$!
shoot dark 1600x1000 80 & b=$!
wait $a $b
shoot light 1024x700 20 & a=$!
shoot dark 1024x700 25 & b=$!
wait $a $b
ls "$OUT"/*.png | wc -l | xargs echo "screenshots:"
echo "in $OUT"
