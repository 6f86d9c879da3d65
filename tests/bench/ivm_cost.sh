#!/usr/bin/env bash
# Where incremental maintenance spends its CPU and WAL: the seed's order transaction at a fixed
# rate with the three seed views merged every second, every statement tracked (nested ones
# included: the capture triggers' and the merge functions' own statements) by pg_stat_statements
# and, where the server loads it, pg_stat_kcache (CPU per statement). Prints, per statement:
# calls, rows, time, CPU, WAL bytes and full-page images, and the same per 1,000 changes merged
# into its view and per 1,000 orders; then the merge session's and the server's background
# processes' CPU, and the load average before and after.
#   tests/bench/ivm_cost.sh [--dir SANDBOX] [--seconds N] [--rate ORDERS_PER_S] [--clients N]
# Runs on a sandbox whose three seed views are incremental (ivm_bench.sh leaves them so; they
# are enabled here otherwise). Below saturation, a statement's time is close to its CPU plus
# its I/O waits; pg_stat_kcache separates the CPU. Needs pgbench and psql (postgresql-client).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$root/tests/bench/order_script.sh"
bin="$root/build/bin"
dir="" seconds=60 rate=1000 clients=4
while [ $# -gt 0 ]; do
    case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
pgbench="$(ls -d /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -n 1)"
[ -x "$pgbench" ] || { echo "pgbench not found (postgresql-client)" >&2; exit 1; }
dirarg=()
[ -n "$dir" ] && dirarg=(--dir "$dir")
conn="$("$bin/htapctl" sandbox start "${dirarg[@]}" 2>/dev/null)"
host="$(sed -E 's/.*host=([^ ]+).*/\1/' <<< "$conn")"
port="$(sed -E 's/.*port=([0-9]+).*/\1/' <<< "$conn")"
psqlc=(psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d shop)
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

kcache="$("${psqlc[@]}" -Atc "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_kcache'")"
if [ "$kcache" = 0 ] && "${psqlc[@]}" -Atc "SELECT current_setting('shared_preload_libraries') ~ 'pg_stat_kcache'" | grep -q t; then
    "${psqlc[@]}" -c 'CREATE EXTENSION pg_stat_kcache' && kcache=1
fi
"${psqlc[@]}" -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements'
for v in sales_hourly_mv fact_sales_mv daily_sales_summary; do
    if [ -n "$("${psqlc[@]}" -Atc "SELECT 1 FROM pg_matviews WHERE schemaname = 'public' AND matviewname = '$v'")" ]; then
        "$bin/htapctl" mv enable-incremental "$v" --conn "$conn" | sed 's/^/    /'
    fi
done
ids=()
for v in sales_hourly_mv fact_sales_mv daily_sales_summary; do
    ids+=("$("${psqlc[@]}" -Atc "SELECT view_id FROM htap.ivm_views WHERE view_schema = 'public' AND view_name = '$v'")")
done
nprod="$("${psqlc[@]}" -Atc 'SELECT max(product_id) FROM dim_products')"
nuser="$("${psqlc[@]}" -Atc 'SELECT max(user_id) FROM dim_users')"
write_order_script "$work/order.sql" "$nuser" "$nprod" completed
"${psqlc[@]}" -c 'UPDATE inventory SET quantity = 100000000'

# Every statement, nested ones too, in the sessions of this run only.
export PGOPTIONS="-c pg_stat_statements.track=all$([ "$kcache" != 0 ] && echo ' -c pg_stat_kcache.track=all')"
merge_sql=""
for id in "${ids[@]}"; do merge_sql+="SELECT $id, htap_ivm.v${id}_merge();"; done
"${psqlc[@]}" -Atc "$merge_sql" > /dev/null # pending changes from before: not this run's
# Background processes of the server (checkpointer, WAL writer, ...): CPU ticks by name.
postmaster="$(head -n 1 "$("${psqlc[@]}" -Atc 'SHOW data_directory')/postmaster.pid")"
bg_cpu() { for p in $(pgrep -P "$postmaster"); do
    [ -r "/proc/$p/stat" ] || continue
    name="$(tr '\0' ' ' < "/proc/$p/cmdline" | sed -E 's/^postgres: //; s/ +$//')"
    case "$name" in *shop*|*postgres\ *) continue ;; esac # client backends
    awk -v n="$name" '{ print n "\t" $14 + $15 }' "/proc/$p/stat"; done 2>/dev/null | sort; }
# Every run starts right after a checkpoint: the first change of each page after one writes the
# whole page to the WAL, so where a run falls in the checkpoint cycle moves its WAL by half.
"${psqlc[@]}" -c CHECKPOINT
bg_cpu > "$work/bg0"
wal0="$("${psqlc[@]}" -Atc 'SELECT pg_current_wal_lsn()')"
load0="$(cut -d' ' -f1-3 /proc/loadavg)"
"${psqlc[@]}" -c 'SELECT pg_stat_statements_reset()' > /dev/null
[ "$kcache" != 0 ] && "${psqlc[@]}" -c 'SELECT pg_stat_kcache_reset()' > /dev/null

# The merges, every second on one session that reports its backend's CPU ticks as it goes.
(echo "SELECT 'pid', pg_backend_pid();"; while true; do echo "$merge_sql"; sleep 1; done) | "${psqlc[@]}" -At -F ' ' > "$work/merges" 2>&1 &
pids+=($!)
sleep 0.5
mpid="$(awk '$1 == "pid" { print $2; exit }' "$work/merges")"
m0="$(awk '{ print $14 + $15 }' "/proc/$mpid/stat")"
"$pgbench" -n -M prepared -c "$clients" -j 2 -R "$rate" -T "$seconds" -f "$work/order.sql" -h "$host" -p "$port" -U postgres shop > "$work/rate.out" 2>&1
sleep 1.5 # the last merge of the run
m1="$(awk '{ print $14 + $15 }' "/proc/$mpid/stat")"
kill "${pids[-1]}" 2>/dev/null || true
unset PGOPTIONS
load1="$(cut -d' ' -f1-3 /proc/loadavg)"
wal1="$("${psqlc[@]}" -Atc 'SELECT pg_current_wal_lsn()')"
bg_cpu > "$work/bg1"
hz="$(getconf CLK_TCK)"
orders="$(grep -E '^number of transactions actually processed' "$work/rate.out" | sed -E 's/.*: ([0-9]+).*/\1/')"

echo "sandbox: $conn"
echo "run:     $orders orders in ${seconds} s at $rate/s target, $clients clients, merges of views ${ids[*]} every second"
echo "load:    ${load0} before, ${load1} after (1, 5, 15 min)"
echo "WAL:     $("${psqlc[@]}" -Atc "SELECT pg_size_pretty(pg_wal_lsn_diff('$wal1', '$wal0')) || ', ' || round(pg_wal_lsn_diff('$wal1', '$wal0') / greatest($orders, 1)) || ' bytes per order'")"
echo "merge session CPU: $(awk -v a="$m0" -v b="$m1" -v hz="$hz" -v o="$orders" 'BEGIN { printf "%.2f s, %.3f ms per order", (b - a) / hz, (b - a) / hz * 1000 / o }')"
echo "background processes' CPU (s):"
join -t $'\t' "$work/bg0" "$work/bg1" | awk -F '\t' -v hz="$hz" '$3 > $2 { printf "    %-40s %6.2f\n", $1, ($3 - $2) / hz }'
echo "changes merged per view (rows the merges returned):"
awk '$1 != "pid" { n[$1] += ($2 > 0 ? $2 : 0) } END { for (v in n) print "    view " v ": " n[v] }' "$work/merges" | sort
changes() { awk -v v="$1" '$1 == v && $2 > 0 { n += $2 } END { print n + 0 }' "$work/merges"; }

kc_join="" kc_cols="NULL::float8 AS cpu_ms"
if [ "$kcache" != 0 ]; then
    kc_join="LEFT JOIN (SELECT queryid, userid, dbid, top, sum(exec_user_time + exec_system_time) * 1000 AS cpu_ms
                        FROM pg_stat_kcache() GROUP BY 1, 2, 3, 4) k USING (queryid, userid, dbid, toplevel)"
    # pg_stat_kcache() names the column top; pg_stat_statements, toplevel.
    kc_join="${kc_join/USING (queryid, userid, dbid, toplevel)/ON k.queryid = s.queryid AND k.userid = s.userid AND k.dbid = s.dbid AND k.top = s.toplevel}"
    kc_cols="k.cpu_ms"
fi
echo
echo "statements (nested ones indented; time and CPU of a statement include its nested ones):"
"${psqlc[@]}" -P pager=off <<SQL
WITH s AS (
    SELECT s.toplevel, s.calls, s.rows, s.total_exec_time AS ms, $kc_cols, s.wal_bytes, s.wal_fpi,
           coalesce(substring(s.query FROM 'v([0-9]+)_'), '') AS view_id,
           regexp_replace(s.query, '\s+', ' ', 'g') AS q
    FROM pg_stat_statements s $kc_join
    WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = 'shop') AND s.query !~* 'pg_stat_(statements|kcache)_reset|pg_backend_pid'
), c(view_id, changes) AS (VALUES ('${ids[0]}', $(changes "${ids[0]}")), ('${ids[1]}', $(changes "${ids[1]}")),
                                  ('${ids[2]}', $(changes "${ids[2]}")))
SELECT s.view_id AS v, CASE WHEN toplevel THEN '' ELSE '  ' END || left(q, 70) AS statement, calls, rows,
       round(ms::numeric, 0) AS ms, round(cpu_ms::numeric, 0) AS cpu_ms, pg_size_pretty(wal_bytes) AS wal, wal_fpi AS fpi,
       round((ms * 1000 / nullif(c.changes, 0))::numeric, 1) AS "ms/1k ch",
       round((cpu_ms * 1000 / nullif(c.changes, 0))::numeric, 1) AS "cpu/1k ch",
       round((wal_bytes / nullif(c.changes, 0))::numeric, 0) AS "B/ch",
       round((ms * 1000 / $orders)::numeric, 1) AS "ms/1k ord",
       round((wal_bytes / $orders)::numeric, 0) AS "B/ord"
FROM s LEFT JOIN c USING (view_id)
WHERE ms > 0.002 * (SELECT sum(ms) FROM s WHERE toplevel)
ORDER BY s.view_id, ms DESC;
SQL
