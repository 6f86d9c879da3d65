#!/usr/bin/env bash
# Benchmark: the seed's order transaction (4.1) driven by pgbench and by htapctl at the same
# client counts, against the same sandbox, alternating runs in one invocation. Prints each
# tool's throughput, the ratio, and client CPU seconds per 1,000 transactions.
#   tests/bench/order_throughput.sh [seconds-per-run] [client counts...]
# ORDER_BENCH_ROUNDS (default 6, even) rounds, each running pgbench, htapctl round trips and htapctl
# pipelined in turn (the order reversed every other round); each figure is the median over the
# rounds, each ratio the median of the rounds' paired ratios, with a 95 % confidence interval.
# CPU per transaction is shown two ways. "Whole run": the process's CPU over its transactions,
# which includes what it spends once per run (starting, connecting, writing its result). And
# "per transaction": each tool also runs ORDER_BENCH_SHORT seconds (default 3; 0 skips it) in
# every round, and the difference between the long and the short run's CPU over the difference
# in transactions is what one more transaction costs; what is left of the long run's CPU is the
# tool's cost per run ("fixed", in ms).
# Both tools run the same statements as oltp_user over the sandbox's unix socket: BEGIN,
# insert the order, then per item insert it and take the stock (quantity >= n), COMMIT.
# pgbench cannot loop, so both order 3 items ("items": 3 in the scenario). htapctl runs as many
# client threads as pgbench (-j), each multiplexing its connections.
# Needs pgbench (postgresql-client), psql and python3 (to read the result JSON).
set -euo pipefail
export LC_ALL=C # numbers with a decimal point, whatever the locale
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$root/tests/bench/order_script.sh"
bin="$root/build/bin"
seconds="${1:-15}"
rounds="${ORDER_BENCH_ROUNDS:-6}"
short="${ORDER_BENCH_SHORT:-3}"
# Even, so that each order (pgbench first, pgbench last) comes up as often as the other.
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] && (( rounds % 2 == 0 )) || { echo "ORDER_BENCH_ROUNDS must be a positive even number" >&2; exit 2; }
[[ "$short" =~ ^[0-9]+$ ]] && [[ "$seconds" =~ ^[1-9][0-9]*$ ]] && (( 10#$short < seconds )) \
    || { echo "seconds-per-run must be a positive whole number, and ORDER_BENCH_SHORT a smaller one (or 0)" >&2; exit 2; }
short=$((10#$short))
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

scenario() { # clients form seconds
    cat <<JSON
{"format": "htap-scenario", "version": 1, "name": "bench-$1-$2", "seed": 7,
 "workloads": {"orders": {"kind": "order", "form": "$2", "items": 3, "arrival": {"model": "closed"}, "connections": $1, "role": "oltp_user"}},
 "phases": [{"name": "run", "durationSeconds": $3, "rates": {"orders": $1}}]}
JSON
}

# The tool's user and system CPU seconds, to the millisecond (bash's time). time counts every
# child the shell reaps while the command runs: nothing else may still be running then (no
# process substitution, whose process would be reaped, and counted, in the next run).
TIMEFORMAT='%3U %3S'
cpu() { awk '{printf "%.3f", $1 + $2}' "$1"; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# The median of paired ratios and a 95 % confidence interval for it: "1.04 [0.99-1.07]". The
# interval is distribution-free: the k-th smallest and k-th largest ratio, with k the largest
# number for which fewer than k of n rounds fall below the true median with at most 2.5 %
# probability (binomial, p = 1/2): rounds 3 and 10 of 12, the extremes of 6 to 8. Below 6
# rounds no such k exists, and the brackets hold the range, marked with a "~".
ratio() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END {
    n = NR; m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    k = 0; cdf = 0; c = 1
    for (j = 0; j < n; j++) { cdf += c * 0.5 ^ n; if (cdf > 0.025) break; k = j + 1; c = c * (n - j) / (j + 1) }
    if (k == 0) printf "%.2f ~[%.2f-%.2f]", m, v[1], v[n]; else printf "%.2f [%.2f-%.2f]", m, v[k], v[n + 1 - k] }'; }

# "k of n rounds": how many of the ratios are greater (gt) or less (lt) than 1.
count() { tr ' ' '\n' | grep -v '^$' | awk -v op="$1" '{ n++; if ((op == "gt" && $1 > 1) || (op == "lt" && $1 < 1)) k++ } END { printf "%d of %d rounds", k, n }'; }

# A row's name for a tool.
label() { if [ "$1" = pgbench ]; then echo "pgbench -M prepared"; else echo "htapctl $1"; fi; }

# One run of a tool for d seconds at $c clients: sets t (tps), n (transactions), sec (CPU seconds).
run() { # tool seconds
    local tool=$1 d=$2
    if [ "$tool" = pgbench ]; then
        { time "$pgbench" -n -M prepared -c "$c" -j "$threads" -T "$d" \
            -f "$work/order.sql" -h "$host" -p "$port" -U oltp_user shop > "$work/pgb.out" 2>&1; } 2> "$work/pgb.time"
        t="$(grep -E '^tps = ' "$work/pgb.out" | head -n 1 | awk '{print $3}')"
        n="$(grep -E 'number of transactions actually processed' "$work/pgb.out" | awk -F': ' '{print $2}' | cut -d/ -f1)"
        sec="$(cpu "$work/pgb.time")"
    else
        scenario "$c" "$tool" "$d" > "$work/s.json"
        { time "$bin/htapctl" scenario run "$work/s.json" --threads "$threads" --json > "$work/ht.json" 2>/dev/null; } 2> "$work/ht.time"
        local summary
        summary="$(python3 -c "import json; s=json.load(open('$work/ht.json'))['workloads']['orders']['summary']; n=s['committed']+s['rolledBack']; print(round(n/s['seconds'],1), n)")"
        read -r t n <<< "$summary"
        sec="$(cpu "$work/ht.time")"
    fi
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "$tool ran no transactions in $d s at $c clients" >&2; exit 1; }
}

# Rounds alternate the tools' order (pgbench first, then last) so that the sandbox's drift over
# the invocation (its tables grow) hits every tool alike. Each round gives a
# paired ratio against that round's pgbench run; a row shows the median of each figure and of
# the ratios, with a confidence interval for the median (single runs move by 10-20 % here).
printf '%-8s %-20s %9s %18s %12s %18s   (%d rounds)\n' clients tool tps "tps ratio" "CPU s/1k tx" "CPU ratio" "$rounds"
for c in "${clients[@]}"; do
    threads=$(( c < 2 ? 1 : 2 ))
    declare -A tps=() cpk=() tr=() cr=() mk=() fx=() mp=() mr=()
    for ((r = 1; r <= rounds; r++)); do
        order=(pgbench roundtrip pipeline)
        (( r % 2 == 0 )) && order=(pipeline roundtrip pgbench)
        declare -A t1=() c1=() cs=() ns=() cl=() nl=()
        if (( short > 0 )); then
            for tool in "${order[@]}"; do
                run "$tool" "$short"
                cs[$tool]="$sec"
                ns[$tool]="$n"
            done
        fi
        for tool in "${order[@]}"; do
            run "$tool" "$seconds"
            c1[$tool]="$(awk -v c="$sec" -v n="$n" 'BEGIN { print c * 1000 / n }')"
            cl[$tool]="$sec"
            nl[$tool]="$n"
            t1[$tool]="$t"
        done
        for tool in pgbench roundtrip pipeline; do
            tps[$tool]+=" ${t1[$tool]}"
            cpk[$tool]+=" ${c1[$tool]}"
            tr[$tool]+=" $(awk -v a="${t1[$tool]}" -v b="${t1[pgbench]}" 'BEGIN { print a / b }')"
            cr[$tool]+=" $(awk -v a="${c1[$tool]}" -v b="${c1[pgbench]}" 'BEGIN { print a / b }')"
            if (( short > 0 )); then
                # CPU seconds per 1,000 more transactions, and the rest of the long run's CPU in ms.
                (( nl[$tool] > ns[$tool] )) || { echo "$tool ran no more transactions in $seconds s than in $short s" >&2; exit 1; }
                m="$(awk -v a="${cl[$tool]}" -v b="${cs[$tool]}" -v x="${nl[$tool]}" -v y="${ns[$tool]}" 'BEGIN { print (a - b) * 1000 / (x - y) }')"
                mk[$tool]+=" $m"
                fx[$tool]+=" $(awk -v a="${cl[$tool]}" -v m="$m" -v x="${nl[$tool]}" 'BEGIN { print (a - m * x / 1000) * 1000 }')"
                mp[$tool]="$m"
            fi
        done
        if (( short > 0 )); then
            for tool in pgbench roundtrip pipeline; do
                mr[$tool]+=" $(awk -v a="${mp[$tool]}" -v b="${mp[pgbench]}" 'BEGIN { print a / b }')"
            done
        fi
        unset t1 c1 cs ns cl nl
    done
    for tool in pgbench roundtrip pipeline; do
        printf '%-8s %-20s %9.1f %18s %12.3f %18s\n' "$c" "$(label "$tool")" "$(median <<< "${tps[$tool]}")" \
            "$(ratio <<< "${tr[$tool]}")" "$(median <<< "${cpk[$tool]}")" "$(ratio <<< "${cr[$tool]}")"
    done
    # How often each form beat that round's pgbench run: a median near 1.0 is read with it.
    for tool in roundtrip pipeline; do
        printf '%-8s htapctl %-12s faster in %s, less CPU over the whole run in %s\n' "$c" "$tool" \
            "$(count gt <<< "${tr[$tool]}")" "$(count lt <<< "${cr[$tool]}")"
    done
    if (( short > 0 )); then
        printf '%-8s %-20s %18s %18s %16s   (%d s and %d s runs)\n' "$c" "" "CPU s/1k more tx" "ratio" "fixed CPU ms/run" "$short" "$seconds"
        for tool in pgbench roundtrip pipeline; do
            less="less in $(count lt <<< "${mr[$tool]}")"
            [ "$tool" = pgbench ] && less=""
            printf '%-8s %-20s %18.3f %18s %16.0f   %s\n' "$c" "$(label "$tool")" "$(median <<< "${mk[$tool]}")" \
                "$(ratio <<< "${mr[$tool]}")" "$(median <<< "${fx[$tool]}")" "$less"
        done
    fi
    unset tps cpk tr cr mk fx mp mr
done
echo "(same sandbox, unix socket, closed loop, no think time, $threads client threads each; client CPU = user + sys of the tool's process;"
echo " ratios: the median of the rounds' paired ratios [its 95 % confidence interval, distribution-free; ~[range] below 6 rounds])"
