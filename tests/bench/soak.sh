#!/usr/bin/env bash
# Soak: the product's own processes over a long run, in the situation they exist for.
#   tests/bench/soak.sh [MINUTES]          (default 60)
#
# A sandbox of its own (SOAK_DIR, default /var/lib/htap-studio/soak for root, else
# ~/.local/share/htap-studio/soak) with sales_hourly_mv and fact_sales_mv kept incrementally,
# merged every second by the GUI's app-run schedules; htap-studio (offscreen) monitoring it the
# whole time; `htapctl scenario run steady-mixed` back to back. Every 10 s it records the
# resident memory of htap-studio and of the running htapctl; at the end it prints:
#   - RSS of htap-studio at 5 min, at the end and the most after 5 min, and the growth (goal:
#     under 10 % after the first 5 minutes); the same for each htapctl run's peak;
#   - scenario runs that failed, merges that failed (the refresh log), what htap-studio wrote
#     on stderr;
#   - the incidents the GUI recorded in its history, by kind, for the operator to explain.
# It asserts nothing: the figures go to docs/benchmarks.md. Needs sqlite3 (Debian sqlite3).
# SOAK_BIN: the binaries to use (default build/bin; copy them elsewhere to rebuild meanwhile).
# SOAK_RATE_SCALE: --rate-scale of the scenario runs (default 1).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
minutes="${1:-60}"
bin="${SOAK_BIN:-$root/build/bin}"
rate="${SOAK_RATE_SCALE:-1}"
if [ "$(id -u)" -eq 0 ]; then dir="${SOAK_DIR:-/var/lib/htap-studio/soak}"; else dir="${SOAK_DIR:-$HOME/.local/share/htap-studio/soak}"; fi
out="${SOAK_OUT:-$root/build/soak}"
[ -x "$bin/htapctl" ] && [ -x "$bin/htap-studio" ] || { echo "soak: build first (installer/setup.sh build)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "soak: needs sqlite3 (apt-get install sqlite3)" >&2; exit 1; }
mkdir -p "$out"
home="$out/home"
rm -rf "$home" && mkdir -p "$home/run" && chmod 700 "$home/run"
export HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share" XDG_RUNTIME_DIR="$home/run"
ctl="$bin/htapctl"

say() { printf '%s soak: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

say "sandbox in $dir"
"$ctl" sandbox start --dir "$dir" >/dev/null || exit 1
conn="$("$ctl" sandbox conninfo --dir "$dir")"
for v in sales_hourly_mv fact_sales_mv; do
    "$ctl" mv enable-incremental "$v" --conn "$conn" >/dev/null 2>&1 || true # already incremental: fine
    "$ctl" mv schedule "$v" --mode incremental --every 1s --conn "$conn" >/dev/null || exit 1
done

say "htap-studio (offscreen) monitoring it, running the merges every second"
QT_QPA_PLATFORM=offscreen "$bin/htap-studio" --no-restore --connect "$conn" >"$out/studio.out" 2>"$out/studio.err" &
studio=$!
trap 'kill $studio 2>/dev/null; wait $studio 2>/dev/null' EXIT

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
end=$(( $(date +%s) + minutes * 60 ))
start=$(date +%s)
echo "elapsed_s,studio_rss_kb,htapctl_rss_kb,run" >"$out/rss.csv"
runs=0 failed=0
: >"$out/runs.txt"
while [ "$(date +%s)" -lt "$end" ]; do
    runs=$((runs + 1))
    "$ctl" scenario run steady-mixed --conn "$conn" --rate-scale "$rate" --json >"$out/run-last.json" 2>"$out/run-last.err" &
    run=$!
    peak=0
    while kill -0 "$run" 2>/dev/null; do
        r=$(rss "$run"); [ "${r:-0}" -gt "$peak" ] && peak=$r
        echo "$(( $(date +%s) - start )),$(rss "$studio"),${r:-0},$runs" >>"$out/rss.csv"
        kill -0 "$studio" 2>/dev/null || { say "htap-studio died"; break 2; }
        sleep 10
    done
    wait "$run"; code=$?
    [ "$code" -eq 0 ] || { failed=$((failed + 1)); say "run $runs exited $code: $(tail -1 "$out/run-last.err")"; }
    echo "$runs,$code,$peak" >>"$out/runs.txt"
done
elapsed=$(( $(date +%s) - start ))
history="$XDG_DATA_HOME/htap-studio/history.sqlite"

echo
echo "soak: $minutes min asked, $elapsed s run; $runs steady-mixed runs (rate scale $rate), $failed failed"
awk -F, -v first=300 'NR > 1 && $2 > 0 {
        if ($1 >= first && !at5) at5 = $2;
        if ($1 >= first && $2 > most) most = $2;
        last = $2 }
    END { if (at5) printf "htap-studio RSS: %d kB at 5 min, %d kB at the end, %d kB at most after 5 min: growth %+.1f %% (goal < 10 %%)\n", at5, last, most, (most - at5) * 100 / at5;
          else print "htap-studio RSS: the run was shorter than 5 min" }' "$out/rss.csv"
awk -F, -v first=300 'NR > 1 && $3 > 0 && $1 >= first {
        if (!r0) { r0 = $4 } if ($4 == r0 && $3 > p0) p0 = $3; if ($3 > most) most = $3; if ($4 != lastrun) { lastrun = $4; lastpeak = 0 } if ($3 > lastpeak) lastpeak = $3 }
    END { if (p0) printf "htapctl scenario run peak RSS: %d kB in the first run after 5 min, %d kB in the last, %d kB at most: growth %+.1f %%\n", p0, lastpeak, most, (most - p0) * 100 / p0 }' "$out/rss.csv"
"$ctl" mv log --conn "$conn" --limit 100000 --json 2>/dev/null | python3 -c '
import json, sys
from datetime import datetime, timezone, timedelta
since = datetime.now(timezone.utc) - timedelta(seconds=int(sys.argv[1]))
log = [e for e in json.load(sys.stdin) if datetime.fromisoformat(e["started_at"].replace("Z", "+00:00")) >= since]
bad = [e for e in log if e.get("outcome") != "ok"]
print(f"merges and refreshes in the window: {len(log)}, not ok: {len(bad)}")
for e in bad[:10]:
    print("  ", e.get("view"), e.get("outcome"), e.get("sqlstate"), e.get("message"))
' "$elapsed" 2>/dev/null || echo "merges: could not read the refresh log (python3 needed)"
echo "htap-studio stderr: $(wc -l <"$out/studio.err") lines; the distinct ones:"
sort "$out/studio.err" | uniq -c | sort -rn | head -10 | sed 's/^/   /'
if [ -f "$history" ]; then
    echo "incidents recorded by htap-studio (kind, count, longest in s, example):"
    sqlite3 -separator ' | ' "$history" "SELECT kind, count(*), max(json_extract(body, '$.worstSeconds')),
        (SELECT json_extract(body, '$.title') || ' — ' || json_extract(body, '$.detail') FROM incidents j WHERE j.kind = i.kind
         ORDER BY json_extract(body, '$.worstSeconds') DESC LIMIT 1)
        FROM incidents i GROUP BY kind ORDER BY kind" | sed 's/^/   /'
fi
echo "figures: $out/rss.csv, $out/runs.txt"
