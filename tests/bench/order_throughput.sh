#!/usr/bin/env bash
# Benchmark: the seed's order transaction (4.1) driven by pgbench and by htapctl at the same
# client counts, against the same sandbox, alternating runs in one invocation. Prints each
# tool's throughput, the ratio, and client CPU seconds per 1,000 transactions.
#   tests/bench/order_throughput.sh [seconds-per-run] [client counts...]
# ORDER_BENCH_ROUNDS (default 6, even) rounds, each running pgbench, htapctl round trips and htapctl
# pipelined in turn (the order reversed every other round); each figure is the median over the
# rounds, each ratio the median of the rounds' paired ratios, with their range.
# Both tools run the same statements as oltp_user over the sandbox's unix socket: BEGIN,
# insert the order, then per item insert it and take the stock (quantity >= n), COMMIT.
# pgbench cannot loop, so both order 3 items ("items": 3 in the scenario). htapctl runs as many
# client threads as pgbench (-j), each multiplexing its connections.
# Needs pgbench (postgresql-client), psql, python3 (to read the result JSON) and GNU time.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$root/tests/bench/order_script.sh"
bin="$root/build/bin"
seconds="${1:-15}"
rounds="${ORDER_BENCH_ROUNDS:-6}"
# Even, so that each order (pgbench first, pgbench last) comes up as often as the other.
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] && (( rounds % 2 == 0 )) || { echo "ORDER_BENCH_ROUNDS must be a positive even number" >&2; exit 2; }
shift || true
clients=("${@:-4 16}")
read -r -a clients <<< "${clients[*]}"
pgbench="$(ls -d /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -n 1)"
[ -x "$pgbench" ] || { echo "pgbench not found (postgresql-client)" >&2; exit 1; }

conn="$("$bin/htapctl" sandbox start 2>/dev/null)"
host="$(sed -E 's/.*host=([^ ]+).*/\1/' <<< "$conn")"
port="$(sed -E 's/.*port=([0-9]+).*/\1/' <<< "$conn")"
work="$(mktemp -d)"
sql() { psql -h "$host" -p "$port" -U postgres -d shop -v ON_ERROR_STOP=1 -Atq "$@"; }
# Every product has ample stock while the benchmark runs, so that both tools run the same nine
# statements in every order: htapctl rolls an order back at its first short item (the seed's
# 4.1) while pgbench cannot, and the sandbox's low-stock products (2 %, and any the runs drain)
# would otherwise save htapctl about 1 % of its round trips. Their quantities come back at exit.
# A restore that fails keeps the saved quantities in a file and says where.
restock() {
    [ -s "$work/stock.csv" ] || return 0
    sql -c "CREATE TEMP TABLE saved (product_id bigint, quantity int)" \
        -c "\\copy saved FROM '$work/stock.csv' WITH (FORMAT csv)" \
        -c "UPDATE inventory i SET quantity = s.quantity FROM saved s WHERE i.product_id = s.product_id" && return 0
    local kept="${TMPDIR:-/tmp}/order_throughput-stock-$$.csv"
    cp "$work/stock.csv" "$kept"
    echo "could not put the products' stock back: their quantities (product_id, quantity) are in $kept" >&2
}
trap 'restock; rm -rf "$work"' EXIT
# Saved and raised in one transaction: no order comes in between.
sql -1 -c "\\copy (SELECT product_id, quantity FROM inventory WHERE quantity < 100000) TO '$work/stock.csv' WITH (FORMAT csv)" \
    -c "UPDATE inventory SET quantity = 1000000 WHERE quantity < 100000"
nprod="$(sql -c 'SELECT max(product_id) FROM dim_products')"
nuser="$(sql -c 'SELECT max(user_id) FROM dim_users')"

write_order_script "$work/order.sql" "$nuser" "$nprod" pending

scenario() { # clients form
    cat <<JSON
{"format": "htap-scenario", "version": 1, "name": "bench-$1-$2", "seed": 7,
 "workloads": {"orders": {"kind": "order", "form": "$2", "items": 3, "arrival": {"model": "closed"}, "connections": $1, "role": "oltp_user"}},
 "phases": [{"name": "run", "durationSeconds": $seconds, "rates": {"orders": $1}}]}
JSON
}

cpu() { awk '{printf "%.2f", $1 + $2}' "$1"; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# The median of paired ratios and their range: "1.04 [0.98-1.10]".
ratio() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f [%.2f-%.2f]", m, v[1], v[NR] }'; }

# "k of n rounds": how many of the ratios are greater (gt) or less (lt) than 1.
count() { tr ' ' '\n' | grep -v '^$' | awk -v op="$1" '{ n++; if ((op == "gt" && $1 > 1) || (op == "lt" && $1 < 1)) k++ } END { printf "%d of %d rounds", k, n }'; }

# Rounds alternate the tools' order (pgbench first, then last) so that the sandbox's drift over
# the invocation (its tables grow) hits every tool alike. Each round gives a
# paired ratio against that round's pgbench run; a row shows the median of each figure and of
# the ratios, with the ratios' range (single runs move by 10-20 % here).
printf '%-8s %-20s %9s %18s %12s %18s   (%d rounds)\n' clients tool tps "tps ratio" "CPU s/1k tx" "CPU ratio" "$rounds"
for c in "${clients[@]}"; do
    threads=$(( c < 2 ? 1 : 2 ))
    declare -A tps=() cpk=() tr=() cr=()
    for ((r = 1; r <= rounds; r++)); do
        order=(pgbench roundtrip pipeline)
        (( r % 2 == 0 )) && order=(pipeline roundtrip pgbench)
        declare -A t1=() c1=()
        for tool in "${order[@]}"; do
            if [ "$tool" = pgbench ]; then
                /usr/bin/time -f '%U %S' -o "$work/pgb.time" "$pgbench" -n -M prepared -c "$c" -j "$threads" -T "$seconds" \
                    -f "$work/order.sql" -h "$host" -p "$port" -U oltp_user shop > "$work/pgb.out" 2>&1
                t="$(grep -E '^tps = ' "$work/pgb.out" | head -n 1 | awk '{print $3}')"
                n="$(grep -E 'number of transactions actually processed' "$work/pgb.out" | awk -F': ' '{print $2}' | cut -d/ -f1)"
                c1[$tool]="$(awk -v c="$(cpu "$work/pgb.time")" -v n="$n" 'BEGIN { print c * 1000 / n }')"
            else
                scenario "$c" "$tool" > "$work/s.json"
                /usr/bin/time -f '%U %S' -o "$work/ht.time" "$bin/htapctl" scenario run "$work/s.json" --threads "$threads" --json > "$work/ht.json" 2>/dev/null
                read -r t n < <(python3 -c "import json; s=json.load(open('$work/ht.json'))['workloads']['orders']['summary']; n=s['committed']+s['rolledBack']; print(round(n/s['seconds'],1), n)")
                c1[$tool]="$(awk -v c="$(cpu "$work/ht.time")" -v n="$n" 'BEGIN { print c * 1000 / n }')"
            fi
            t1[$tool]="$t"
        done
        for tool in pgbench roundtrip pipeline; do
            tps[$tool]+=" ${t1[$tool]}"
            cpk[$tool]+=" ${c1[$tool]}"
            tr[$tool]+=" $(awk -v a="${t1[$tool]}" -v b="${t1[pgbench]}" 'BEGIN { print a / b }')"
            cr[$tool]+=" $(awk -v a="${c1[$tool]}" -v b="${c1[pgbench]}" 'BEGIN { print a / b }')"
        done
        unset t1 c1
    done
    for tool in pgbench roundtrip pipeline; do
        name="htapctl $tool"
        [ "$tool" = pgbench ] && name="pgbench -M prepared"
        printf '%-8s %-20s %9.1f %18s %12.3f %18s\n' "$c" "$name" "$(median <<< "${tps[$tool]}")" \
            "$(ratio <<< "${tr[$tool]}")" "$(median <<< "${cpk[$tool]}")" "$(ratio <<< "${cr[$tool]}")"
    done
    # How often each form beat that round's pgbench run: a median near 1.0 is read with it.
    for tool in roundtrip pipeline; do
        printf '%-8s htapctl %-12s faster in %s, less CPU per transaction in %s\n' "$c" "$tool" \
            "$(count gt <<< "${tr[$tool]}")" "$(count lt <<< "${cr[$tool]}")"
    done
    unset tps cpk tr cr
done
echo "(same sandbox, unix socket, closed loop, no think time, $threads client threads each; client CPU = user + sys of the tool's process)"
