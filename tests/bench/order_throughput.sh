#!/usr/bin/env bash
# Benchmark: the seed's order transaction (4.1) driven by pgbench and by htapctl at the same
# client counts, against the same sandbox, alternating runs in one invocation. Prints each
# tool's throughput, the ratio, and client CPU seconds per 1,000 transactions.
#   tests/bench/order_throughput.sh [seconds-per-run] [client counts...]
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
shift || true
clients=("${@:-4 16}")
read -r -a clients <<< "${clients[*]}"
pgbench="$(ls -d /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -n 1)"
[ -x "$pgbench" ] || { echo "pgbench not found (postgresql-client)" >&2; exit 1; }

conn="$("$bin/htapctl" sandbox start 2>/dev/null)"
host="$(sed -E 's/.*host=([^ ]+).*/\1/' <<< "$conn")"
port="$(sed -E 's/.*port=([0-9]+).*/\1/' <<< "$conn")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
nprod="$(psql -h "$host" -p "$port" -U postgres -d shop -Atc 'SELECT max(product_id) FROM dim_products')"
nuser="$(psql -h "$host" -p "$port" -U postgres -d shop -Atc 'SELECT max(user_id) FROM dim_users')"

write_order_script "$work/order.sql" "$nuser" "$nprod" pending

scenario() { # clients form
    cat <<JSON
{"format": "htap-scenario", "version": 1, "name": "bench-$1-$2", "seed": 7,
 "workloads": {"orders": {"kind": "order", "form": "$2", "items": 3, "arrival": {"model": "closed"}, "connections": $1, "role": "oltp_user"}},
 "phases": [{"name": "run", "durationSeconds": $seconds, "rates": {"orders": $1}}]}
JSON
}

cpu() { awk '{printf "%.2f", $1 + $2}' "$1"; }

printf '%-8s %-22s %10s %10s %14s\n' clients tool tps ratio "CPU s/1k tx"
for c in "${clients[@]}"; do
    threads=$(( c < 2 ? 1 : 2 ))
    /usr/bin/time -f '%U %S' -o "$work/pgb.time" "$pgbench" -n -M prepared -c "$c" -j "$threads" -T "$seconds" \
        -f "$work/order.sql" -h "$host" -p "$port" -U oltp_user shop > "$work/pgb.out" 2>&1
    pgb_tps="$(grep -E '^tps = ' "$work/pgb.out" | head -n 1 | awk '{print $3}')"
    pgb_tx="$(grep -E 'number of transactions actually processed' "$work/pgb.out" | awk -F': ' '{print $2}' | cut -d/ -f1)"
    for form in roundtrip pipeline; do
        scenario "$c" "$form" > "$work/s.json"
        /usr/bin/time -f '%U %S' -o "$work/ht.time" "$bin/htapctl" scenario run "$work/s.json" --threads "$threads" --json > "$work/ht.json" 2>/dev/null
        ht_tps="$(python3 -c "import json,sys; s=json.load(open('$work/ht.json'))['workloads']['orders']['summary']; print(round((s['committed']+s['rolledBack'])/s['seconds'],1))")"
        ht_tx="$(python3 -c "import json; s=json.load(open('$work/ht.json'))['workloads']['orders']['summary']; print(s['committed']+s['rolledBack'])")"
        if [ "$form" = roundtrip ]; then
            printf '%-8s %-22s %10.1f %10s %14.3f\n' "$c" "pgbench -M prepared" "$pgb_tps" "1.00" \
                "$(awk -v c="$(cpu "$work/pgb.time")" -v n="$pgb_tx" 'BEGIN { print c * 1000 / n }')"
        fi
        printf '%-8s %-22s %10.1f %10.2f %14.3f\n' "$c" "htapctl $form" "$ht_tps" \
            "$(awk -v a="$ht_tps" -v b="$pgb_tps" 'BEGIN { print a / b }')" \
            "$(awk -v c="$(cpu "$work/ht.time")" -v n="$ht_tx" 'BEGIN { print c * 1000 / n }')"
    done
done
echo "(same sandbox, unix socket, closed loop, no think time; client CPU = user + sys of the tool's process)"
