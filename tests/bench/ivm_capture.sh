#!/usr/bin/env bash
# Benchmark: what incremental views cost the writers, per view shape. For each shape (a file of
# CREATE MATERIALIZED VIEW statements, its indexes too, over the shop schema; or "seed", the
# seed's three views as the sandbox has them), its views are made incremental, and the seed's
# order transaction (an order with three items, completed) runs with their capture on and off,
# at each number of writer clients, in rounds that alternate which goes first (ABBA); nothing
# is merged meanwhile. Prints each round's orders/s and ratio (on / off), then per shape and
# client count the medians and the ratio's range, with the load average.
#   tests/bench/ivm_capture.sh [--dir SANDBOX] [--seconds N] [--rounds N] [--clients "1 4"]
#                              [seed | SHAPE.sql]...
# tests/bench/shapes/ holds today's shapes (one file each); a new shape is a new file:
#   tests/bench/ivm_capture.sh --dir /tmp/x tests/bench/shapes/*.sql seed
# Every other engine on the server is switched off for the run (each run captures for its
# shape only) and rebuilt at the end; a shape's own views are disabled and dropped after it.
# Needs pgbench and psql (postgresql-client).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$root/tests/bench/order_script.sh"
bin="$root/build/bin"
. "$root/tests/bench/ivm_lib.sh"
dir="" seconds=20 rounds=4 clients="1 4"
while [ $# -gt 0 ]; do
    case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2
        (( rounds > 0 && rounds % 2 == 0 )) || { echo "--rounds must be a positive even number" >&2; exit 2; } ;;
    --clients) clients="$2"; shift 2 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(seed)
for s in "${shapes[@]}"; do
    [ "$s" = seed ] || [ -r "$s" ] || { echo "no such shape file: $s" >&2; exit 2; }
done
ivm_connect "$dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
nprod="$("${psqlc[@]}" -Atc 'SELECT max(product_id) FROM dim_products')"
nuser="$("${psqlc[@]}" -Atc 'SELECT max(user_id) FROM dim_users')"
write_order_script "$work/order.sql" "$nuser" "$nprod" completed
"${psqlc[@]}" -c 'UPDATE inventory SET quantity = 100000000' > /dev/null
echo "sandbox: $conn"
echo "data:    $("${psqlc[@]}" -Atc 'SELECT count(*) FROM orders') orders; ${seconds} s per run, $rounds rounds, clients: $clients"

matviews() { "${psqlc[@]}" -Atc "SELECT quote_ident(schemaname) || '.' || quote_ident(matviewname) FROM pg_matviews ORDER BY 1"; }
seed_views=(sales_hourly_mv fact_sales_mv daily_sales_summary)
# Engines that were there before: off while shapes run, rebuilt at the end.
before=($("${psqlc[@]}" -Atc "SELECT quote_ident(view_schema) || '.' || quote_ident(view_name) FROM htap.ivm_views ORDER BY view_id"))
capture off
summary=()
for shape in "${shapes[@]}"; do
    made=()
    if [ "$shape" = seed ]; then
        name=seed
        for v in "${seed_views[@]}"; do is_incremental "$v" || htmv enable-incremental "$v" > /dev/null; done
        ids=($(for v in "${seed_views[@]}"; do view_id "$v"; done))
    else
        name="$(basename "$shape" .sql)"
        matviews > "$work/mv0"
        "${psqlc[@]}" -f "$shape" > /dev/null
        matviews > "$work/mv1"
        made=($(comm -13 "$work/mv0" "$work/mv1"))
        [ ${#made[@]} -gt 0 ] || { echo "$shape made no materialized view" >&2; exit 1; }
        ids=()
        for v in "${made[@]}"; do
            htmv enable-incremental "$v" > /dev/null
            ids+=("$("${psqlc[@]}" -Atc "SELECT view_id FROM htap.ivm_views WHERE quote_ident(view_schema) || '.' || quote_ident(view_name) = '$v'")")
        done
    fi
    capture off
    echo
    echo "shape $name: views ${made[*]:-${seed_views[*]}} (engines ${ids[*]}); load average $(cut -d' ' -f1-3 /proc/loadavg)"
    for c in $clients; do
        offs=() ons=() ratios=()
        for ((round = 1; round <= rounds; round++)); do
            if ((round % 2)); then order=(off on); else order=(on off); fi
            declare -A got=()
            for how in "${order[@]}"; do
                capture "$how" "${ids[@]}"
                "$pgbench" -n -M prepared -c "$c" -j "$((c < 2 ? c : 2))" -T "$seconds" -f "$work/order.sql" \
                    -h "$host" -p "$port" -U postgres shop > "$work/run.out" 2>&1
                got[$how]="$(tps "$work/run.out")"
            done
            capture off "${ids[@]}"
            offs+=("${got[off]}"); ons+=("${got[on]}")
            ratios+=("$(awk -v a="${got[on]}" -v b="${got[off]}" 'BEGIN { printf "%.3f", a / b }')")
            printf '    %d client(s), round %d (%s first, load %s): off %.0f, on %.0f orders/s, ratio %s\n' "$c" "$round" "${order[0]}" \
                "$(cut -d' ' -f1 /proc/loadavg)" "${got[off]}" "${got[on]}" "${ratios[-1]}"
        done
        summary+=("$(printf '%-24s %7s %10.0f %10.0f %8.3f  %s' "$name" "$c" "$(median "${offs[@]}")" "$(median "${ons[@]}")" \
            "$(median "${ratios[@]}")" "$(range "${ratios[@]}")")")
    done
    for v in "${made[@]}"; do
        htmv disable-incremental "$v" > /dev/null
        "${psqlc[@]}" -c "DROP MATERIALIZED VIEW $v" > /dev/null
    done
done

echo
printf '%-24s %7s %10s %10s %8s  %s\n' shape clients "off tps" "on tps" ratio "range (rounds)"
printf '%s\n' "${summary[@]}"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
# What was incremental before (and the seed's views, if made so here) captures again, rebuilt.
capture on
for v in "${before[@]}" $(printf '%s\n' "${shapes[@]}" | grep -qx seed && printf '%s ' "${seed_views[@]}"); do
    htmv refresh "$v" --mode rebuild > /dev/null
done
