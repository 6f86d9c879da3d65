#!/usr/bin/env bash
# Benchmark: what one writing statement of N rows pays for capture, by capture mode (issue 26):
# the PL/pgSQL statement triggers (mode sql: one call per statement, set-based over the
# transition table) against the htap_capture extension's row triggers (mode c: one call per
# row), and no capture (off). For each N, one INSERT ... SELECT of N order items (the seed's
# fact and daily views capture them), timed by psql in a transaction that is rolled back (the
# tables do not grow), in rounds that reverse the order of off, sql and c every other round
# (ABBA). Prints per N the median statement time of each mode, the microseconds per row over
# off, and c's capture cost over sql's: below 1, row capture in C costs the writers less.
#   tests/bench/capture_bulk.sh [--dir SANDBOX] [--rounds N] [--rows "1 10 100 1000 10000 100000"]
# Needs the seed's views incremental on the sandbox (ivm_bench.sh leaves them so, or htapctl mv
# enable-incremental) and the htap_capture extension on its server (installer/setup.sh). The
# views' capture is switched off and on (they are rebuilt at the end) and their mode is left sql.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$root/build/bin"
. "$root/tests/bench/ivm_lib.sh"
dir="" rounds=6 rows="1 10 100 1000 10000 100000"
while [ $# -gt 0 ]; do
    case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2
        (( rounds > 0 && rounds % 2 == 0 )) || { echo "--rounds must be a positive even number" >&2; exit 2; } ;;
    --rows) rows="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
ivm_connect "$dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
views=(sales_hourly_mv fact_sales_mv daily_sales_summary)
for v in "${views[@]}"; do
    is_incremental "$v" || { echo "$v is not incremental: htapctl mv enable-incremental $v --conn \"$conn\"" >&2; exit 1; }
done
maxorder="$("${psqlc[@]}" -Atc 'SELECT max(order_id) FROM orders')"
nprod="$("${psqlc[@]}" -Atc 'SELECT max(product_id) FROM dim_products')"
echo "sandbox: $conn"
echo "data:    $maxorder orders; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# The statement, N items of existing orders, timed alone (psql's \timing) and rolled back,
# after one untimed item in the same session and transaction: a session's first row capture
# in C plans its statements (a few ms), which is not what a statement of N rows pays.
statement_ms() { # mode n
    local items="INSERT INTO order_items (order_id, product_id, quantity, price, created_at)
              SELECT 1 + (g * 7919) % $maxorder, 1 + g % $nprod, 1, 10.00, localtimestamp FROM generate_series(1, @N@) g;"
    {
        echo "BEGIN;"
        echo "${items//@N@/1}"
        echo "\\timing on"
        echo "${items//@N@/$2}"
        echo "\\timing off"
        echo "ROLLBACK;"
    } | "${psqlc[@]}" -q > "$work/out" 2>&1 || true
    # A failed statement is timed too: it must not pass for a fast one.
    if grep -q ERROR "$work/out"; then echo "mode $1, $2 rows: $(grep ERROR "$work/out" | head -n 1)" >&2; exit 1; fi
    sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' "$work/out"
}
declare -A ms
modes=(off sql c)
for n in $rows; do
    for ((round = 1; round <= rounds; round++)); do
        order=("${modes[@]}")
        ((round % 2)) || order=(c sql off)
        for m in "${order[@]}"; do
            case "$m" in
            off) capture off ;;
            *) set_mode "$m"; capture on ;;
            esac
            ms[$m,$n]+="$(statement_ms "$m" "$n") "
        done
    done
done
set_mode sql
capture on
echo "rebuilding the three views (capture was switched off)"
for v in "${views[@]}"; do htmv refresh "$v" --mode rebuild > /dev/null; done

echo
printf '%-10s %12s %12s %12s %14s %14s %10s\n' "rows" "off ms" "sql ms" "c ms" "sql us/row" "c us/row" "c/sql"
for n in $rows; do
    off="$(median ${ms[off,$n]})" sql="$(median ${ms[sql,$n]})" c="$(median ${ms[c,$n]})"
    awk -v n="$n" -v off="$off" -v sql="$sql" -v c="$c" 'BEGIN {
        s = (sql - off) * 1000 / n; r = (c - off) * 1000 / n
        printf "%-10d %12.3f %12.3f %12.3f %14.2f %14.2f %10s\n", n, off, sql, c, s, r, (sql > off ? sprintf("%.2f", (c - off) / (sql - off)) : "-")
    }'
done
echo "(medians of $rounds rounds, ABBA; us/row: the mode's statement time over off's, per row; c/sql: c's capture cost over sql's)"
