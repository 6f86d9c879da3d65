#!/usr/bin/env bash
# Experiment (issue 26): what the capture of the seed's three views costs the writers in each
# form, as the server's CPU per order at a fixed rate (cpu_per_order in ivm_lib.sh), in rounds
# that reverse their order every other round (ABBA):
#   off     no capture
#   on      the engine's capture (PL/pgSQL statement triggers over transition tables, the
#           views' expressions evaluated in the writer's transaction, SET search_path)
#   plcols  PL/pgSQL statement triggers that copy the views' columns only (expressions and
#           filters left to the merge), without SET search_path
#   c       an AFTER ROW trigger in C (capture_c/htap_capture_poc.c) copying the same columns
# plcols and c capture into tables of their own (schema htap_bench_poc), not the engine's deltas:
# they measure what the writers pay, nothing merges them. Off's CPU per order over each form's
# is the throughput ratio that form would have where the CPU runs out.
#   tests/bench/capture_c.sh [--dir SANDBOX] [--seconds N] [--rate ORDERS_PER_S] [--rounds N]
# Builds and installs the C function into the server's library folder: needs root and
# postgresql-server-dev-15 (apt-get install --no-upgrade postgresql-server-dev-15, so that the
# server under running clusters is not upgraded). Leaves the seed's views incremental and
# rebuilt; drops its own schema.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$root/tests/bench/order_script.sh"
bin="$root/build/bin"
. "$root/tests/bench/ivm_lib.sh"
dir="" seconds=20 rate=800 rounds=4 clients=4
while [ $# -gt 0 ]; do
    case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2
        (( rounds > 0 && rounds % 2 == 0 )) || { echo "--rounds must be a positive even number" >&2; exit 2; } ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
pgconfig="$(ls -d /usr/lib/postgresql/*/bin/pg_config 2>/dev/null | sort -V | tail -n 1)"
[ -n "$pgconfig" ] && [ -d "$("$pgconfig" --includedir-server)" ] \
    || { echo "needs the server headers: apt-get install --no-upgrade postgresql-server-dev-15" >&2; exit 1; }
ivm_connect "$dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$root/tests/bench/capture_c/"* "$work/"
make -s -C "$work" PG_CONFIG="$pgconfig" > /dev/null
make -s -C "$work" PG_CONFIG="$pgconfig" install > /dev/null
lib="$("$pgconfig" --pkglibdir)/htap_capture_poc.so"

for v in sales_hourly_mv fact_sales_mv daily_sales_summary; do is_incremental "$v" || htmv enable-incremental "$v" > /dev/null; done
write_order_script "$work/order.sql" "$("${psqlc[@]}" -Atc 'SELECT max(user_id) FROM dim_users')" \
    "$("${psqlc[@]}" -Atc 'SELECT max(product_id) FROM dim_products')" completed
"${psqlc[@]}" -c 'UPDATE inventory SET quantity = 100000000' > /dev/null
# The columns the three views read of each table (their capture statements' __ivm_r columns):
# orders: created_at, status, total_amount, user_id (sales_hourly_mv); order_items: item_id
# (fact_sales_mv's keys), created_at, product_id, price, quantity, order_id (daily_sales_summary).
"${psqlc[@]}" <<SQL > /dev/null
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS htap_bench_poc CASCADE;
CREATE SCHEMA htap_bench_poc;
CREATE FUNCTION htap_bench_poc.capture_row() RETURNS trigger LANGUAGE c AS '$lib', 'htap_capture_poc_row';
CREATE TABLE htap_bench_poc.hourly AS
    SELECT created_at, status, total_amount, user_id, 1::smallint AS sign, clock_timestamp() AS at FROM orders LIMIT 0;
CREATE TABLE htap_bench_poc.fact AS SELECT item_id, 1::smallint AS sign, clock_timestamp() AS at FROM order_items LIMIT 0;
CREATE TABLE htap_bench_poc.daily AS
    SELECT created_at, product_id, price, quantity, order_id, 1::smallint AS sign, clock_timestamp() AS at FROM order_items LIMIT 0;
CREATE FUNCTION htap_bench_poc.cols_orders() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS \$f\$
BEGIN
  INSERT INTO htap_bench_poc.hourly (created_at, status, total_amount, user_id, sign, at)
  SELECT created_at, status, total_amount, user_id, 1, pg_catalog.clock_timestamp() FROM __ivm_new;
  RETURN NULL;
END \$f\$;
CREATE FUNCTION htap_bench_poc.cols_items() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS \$f\$
BEGIN
  INSERT INTO htap_bench_poc.fact (item_id, sign, at) SELECT item_id, 1, pg_catalog.clock_timestamp() FROM __ivm_new;
  INSERT INTO htap_bench_poc.daily (created_at, product_id, price, quantity, order_id, sign, at)
  SELECT created_at, product_id, price, quantity, order_id, 1, pg_catalog.clock_timestamp() FROM __ivm_new;
  RETURN NULL;
END \$f\$;
SQL
attnums() { # table columns...: their column numbers, comma separated
    local t="$1"; shift
    "${psqlc[@]}" -Atc "SELECT string_agg(a.attnum::text, ',' ORDER BY x.i) FROM unnest('{$(IFS=,; echo "$*")}'::text[]) WITH ORDINALITY x(n, i)
                        JOIN pg_attribute a ON a.attrelid = '$t'::regclass AND a.attname = x.n"
}
oids() { "${psqlc[@]}" -Atc "SELECT '$1'::regclass::oid"; }
c_orders="'$(oids htap_bench_poc.hourly)', '$(attnums orders created_at status total_amount user_id)'"
c_items="'$(oids htap_bench_poc.fact)', '$(attnums order_items item_id)', '$(oids htap_bench_poc.daily)', '$(attnums order_items created_at product_id price quantity order_id)'"
form() { # off|on|plcols|c
    capture "$([ "$1" = on ] && echo on || echo off)"
    "${psqlc[@]}" <<SQL > /dev/null
SET client_min_messages = warning;
DROP TRIGGER IF EXISTS htap_bench_poc ON orders;
DROP TRIGGER IF EXISTS htap_bench_poc ON order_items;
TRUNCATE htap_bench_poc.hourly, htap_bench_poc.fact, htap_bench_poc.daily;
SQL
    case "$1" in
    plcols) "${psqlc[@]}" -c "CREATE TRIGGER htap_bench_poc AFTER INSERT ON orders REFERENCING NEW TABLE AS __ivm_new FOR EACH STATEMENT EXECUTE FUNCTION htap_bench_poc.cols_orders()" \
                          -c "CREATE TRIGGER htap_bench_poc AFTER INSERT ON order_items REFERENCING NEW TABLE AS __ivm_new FOR EACH STATEMENT EXECUTE FUNCTION htap_bench_poc.cols_items()" > /dev/null ;;
    c) "${psqlc[@]}" -c "CREATE TRIGGER htap_bench_poc AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION htap_bench_poc.capture_row($c_orders)" \
                     -c "CREATE TRIGGER htap_bench_poc AFTER INSERT ON order_items FOR EACH ROW EXECUTE FUNCTION htap_bench_poc.capture_row($c_items)" > /dev/null ;;
    esac
}
echo "sandbox: $conn"
echo "data:    $("${psqlc[@]}" -Atc 'SELECT count(*) FROM orders') orders; $rate orders/s, $clients clients, ${seconds} s per run, $rounds rounds"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); * = the run missed the rate by more than 5 % (saturated)"
forms=(off on plcols c)
declare -A cpu ratio vson
for ((round = 1; round <= rounds; round++)); do
    order=("${forms[@]}")
    ((round % 2)) || order=(c plcols on off)
    declare -A got=()
    for f in "${order[@]}"; do
        form "$f"
        "${psqlc[@]}" -c CHECKPOINT > /dev/null
        got[$f]="$(cpu_per_order "$work/$f$round.out")"
        if [ "$f" = c ] || [ "$f" = plcols ]; then # it did capture: every item's row
            [ "$("${psqlc[@]}" -Atc 'SELECT count(*) > 0 FROM htap_bench_poc.daily')" = t ] || { echo "form $f captured nothing" >&2; exit 1; }
        fi
    done
    line="round $round ($(cut -d' ' -f1 /proc/loadavg)): off ${got[off]} us"
    cpu[off]+="${got[off]%\*} "
    for f in on plcols c; do
        r="$(awk -v a="${got[off]%\*}" -v b="${got[$f]%\*}" 'BEGIN{printf "%.3f", a/b}')"
        cpu[$f]+="${got[$f]%\*} "; ratio[$f]+="$r "
        vson[$f]+="$(awk -v a="${got[$f]%\*}" -v b="${got[on]%\*}" 'BEGIN{printf "%.3f", a/b}') "
        line+=", $f ${got[$f]} ($r)"
    done
    echo "$line"
done
form on
"${psqlc[@]}" -c 'SET client_min_messages = warning' -c 'DROP SCHEMA htap_bench_poc CASCADE' > /dev/null
rm -rf "$lib" "$("$pgconfig" --pkglibdir)/bitcode/htap_capture_poc"*
for v in sales_hourly_mv fact_sales_mv daily_sales_summary; do htmv refresh "$v" --mode rebuild > /dev/null; done
echo
printf '%-58s %12s %8s  %s\n' "capture form" "us / order" ratio "range (off's CPU per order over the form's)"
printf '%-58s %12.0f %8s\n' "off" "$(median ${cpu[off]})" 1.00
for f in on plcols c; do
    printf '%-58s %12.0f %8.3f  %s\n' "$(case $f in on) echo "on: the engine's (PL/pgSQL, expressions, SET search_path)" ;;
        plcols) echo "PL/pgSQL, columns only, no SET" ;; c) echo "C row trigger, columns only" ;; esac)" \
        "$(median ${cpu[$f]})" "$(median ${ratio[$f]})" "$(range ${ratio[$f]})"
done
# Paired within each round, steadier than either ratio to off: the form's CPU per order over
# the engine's capture's.
for f in plcols c; do
    printf '%-58s %12s %8.3f  %s\n' "$f over on, same round" "" "$(median ${vson[$f]})" "$(range ${vson[$f]})"
done
