#!/usr/bin/env bash
# Benchmark: when is rebuilding an incremental view cheaper than merging its pending changes?
# (the cost-aware merge's threshold, htap.ivm_rebuild_instead in sql/htap/ivm.sql). For each
# pending fraction f of the base's rows, on one incremental view:
#   a bulk load of f x orders, then its merge or its rebuild, timed;
#   an archive delete of those orders, then its rebuild or its merge, timed;
# then the same with merge and rebuild swapped, so that every fraction has a merge and a
# rebuild of a load and of a delete, and the base is back to its size after each fraction
# (alternating which comes first from one fraction to the next). Both are timed as a scheduler
# runs them, `SELECT htap_ivm.v<id>_merge()` in a session that has merged before: the merge
# with htap.ivm_rebuild_fraction = 'off', the rebuild by the same merge told to rebuild
# (fraction 0, no floor): the path a merge takes when the threshold is reached. Prints per
# fraction the pending changes, their share of the base (as the merge estimates it), the
# seconds of each, merge/rebuild ratios, the load average, and the crossover: the fraction at
# which merge and rebuild cost the same, interpolated (log scale) between the measured ones.
#   tests/bench/ivm_crossover.sh --host H --port P [--db shop] [--user postgres]
#       [--view sales_hourly_mv] [--items N] [--fractions "0.01 0.03 0.1 0.2 0.3"]
# Needs only psql (postgresql-client) and a server whose view is incremental already (htapctl
# mv enable-incremental, or ivm_bench.sh leaves the seed's views so). --items N gives each
# order N items (views over order_items need them; sales_hourly_mv reads orders only).
set -euo pipefail
host="" port="" db=shop user=postgres view=sales_hourly_mv items=0 fractions="0.01 0.03 0.1 0.2 0.3"
while [ $# -gt 0 ]; do
    case "$1" in
    --host) host="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --db) db="$2"; shift 2 ;;
    --user) user="$2"; shift 2 ;;
    --view) view="$2"; shift 2 ;;
    --items) items="$2"; shift 2 ;;
    --fractions) fractions="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
[ -n "$host" ] && [ -n "$port" ] || { echo "--host and --port are required" >&2; exit 2; }
psqlc=(psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$user" -d "$db")
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

id="$("${psqlc[@]}" -Atc "SELECT view_id FROM htap.ivm_views WHERE view_schema || '.' || view_name = 'public.$view' OR view_name = '$view' LIMIT 1")"
[ -n "$id" ] || { echo "$view is not maintained incrementally (htapctl mv enable-incremental $view)" >&2; exit 1; }
nuser="$("${psqlc[@]}" -Atc 'SELECT max(user_id) FROM dim_users')"
nprod="$("${psqlc[@]}" -Atc 'SELECT max(product_id) FROM dim_products')"
"${psqlc[@]}" -c 'ANALYZE orders, order_items' -c "SELECT htap_ivm.v${id}_merge()" > /dev/null
# The base's rows as the merge estimates them (pg_class.reltuples of its tables).
base_sql="SELECT round(sum(greatest(c.reltuples, 0)))::bigint FROM htap.ivm_capture k JOIN pg_class c ON c.oid = k.root WHERE k.view_id = $id"
orders0="$("${psqlc[@]}" -Atc 'SELECT reltuples::bigint FROM pg_class WHERE oid = $$orders$$::regclass')"
echo "view:  $view (engine v$id), base $("${psqlc[@]}" -Atc "$base_sql") rows (estimate), orders $orders0; $items items per order"
echo "server: $host:$port; load average $(cut -d' ' -f1-3 /proc/loadavg)"

load_sql() { # n: n completed orders (with $items items each) in one transaction
    echo "BEGIN;"
    if [ "$items" -gt 0 ]; then
        cat <<SQL
WITH o AS (INSERT INTO orders (user_id, total_amount, status, created_at)
           SELECT 1 + (random() * ($nuser - 1))::int, 30.00, 'completed', localtimestamp - random() * interval '20 days' FROM generate_series(1, $1)
           RETURNING order_id)
INSERT INTO order_items (order_id, product_id, quantity, price, created_at)
SELECT o.order_id, 1 + (random() * ($nprod - 1))::int, 1, 10.00, localtimestamp FROM o, generate_series(1, $items);
SQL
    else
        echo "INSERT INTO orders (user_id, total_amount, status, created_at)
              SELECT 1 + (random() * ($nuser - 1))::int, 30.00, 'completed', localtimestamp - random() * interval '20 days' FROM generate_series(1, $1);"
    fi
    echo "COMMIT;"
}
delete_sql() { # mark: the orders after it (and their items)
    echo "BEGIN;"
    [ "$items" -gt 0 ] && echo "DELETE FROM order_items WHERE order_id > $1;"
    echo "DELETE FROM orders WHERE order_id > $1;"
    echo "COMMIT;"
}
timed() { # how (merge|rebuild): one merge of what is pending, timed, in a session that merged before
    local set
    if [ "$1" = merge ]; then set="SET htap.ivm_rebuild_fraction = 'off';"
    else set="SET htap.ivm_rebuild_fraction = '0'; SET htap.ivm_rebuild_min_changes = 0;"; fi
    {
        echo "CHECKPOINT;"
        echo "$set"
        printf '\\timing on\nSELECT htap_ivm.v%s_merge();\n\\timing off\n' "$id"
    } | "${psqlc[@]}" -At > "$work/t.out"
    grep -E '^Time: ' "$work/t.out" | awk '{ printf "%.3f", $2 / 1000 }'
}
pending() { "${psqlc[@]}" -Atc "SELECT pending FROM htap.ivm_pending($id)"; }
base() { "${psqlc[@]}" -Atc "$base_sql"; }

printf '\n%-9s %-7s %10s %8s %10s %10s %8s  %s\n' fraction change pending 'of base' 'merge s' 'rebuild s' 'm/r' load
declare -a fr ratio_load ratio_del
k=0
for f in $fractions; do
    n="$(awk -v f="$f" -v o="$orders0" 'BEGIN { printf "%d", f * o }')"
    # Which comes first alternates by fraction: drift (autovacuum, a growing WAL) hits both.
    if ((k % 2)); then first=rebuild second=merge; else first=merge second=rebuild; fi
    declare -A got=()
    for how in "$first" "$second"; do
        mark="$("${psqlc[@]}" -Atc 'SELECT coalesce(max(order_id), 0) FROM orders')"
        load_sql "$n" | "${psqlc[@]}" > /dev/null
        "${psqlc[@]}" -c 'ANALYZE orders, order_items' > /dev/null
        p="$(pending)"; b="$(base)"
        got[load_$how]="$(timed "$how")"
        got[load_p]="$p"; got[load_b]="$b"
        other="$([ "$how" = merge ] && echo rebuild || echo merge)"
        delete_sql "$mark" | "${psqlc[@]}" > /dev/null
        p="$(pending)"
        got[del_$other]="$(timed "$other")"
        got[del_p]="$p"
    done
    for change in load del; do
        r="$(awk -v m="${got[${change}_merge]}" -v b="${got[${change}_rebuild]}" 'BEGIN { printf "%.2f", m / b }')"
        printf '%-9s %-7s %10s %7.1f%% %10s %10s %8s  %s\n' "$f" "$([ $change = load ] && echo insert || echo delete)" "${got[${change}_p]}" \
            "$(awk -v p="${got[${change}_p]}" -v b="${got[load_b]}" 'BEGIN { print 100 * p / b }')" "${got[${change}_merge]}" \
            "${got[${change}_rebuild]}" "$r" "$(cut -d' ' -f1 /proc/loadavg)"
        if [ $change = load ]; then ratio_load[$k]="$(awk -v p="${got[load_p]}" -v b="${got[load_b]}" 'BEGIN { print p / b }') $r"
        else ratio_del[$k]="$(awk -v p="${got[del_p]}" -v b="${got[load_b]}" 'BEGIN { print p / b }') $r"; fi
    done
    k=$((k + 1))
done
crossover() { # "share ratio" lines: the share where merge/rebuild crosses 1, log-interpolated
    awk '{ s[NR] = $1; r[NR] = $2 } END {
        for (i = 2; i <= NR; i++) if (r[i - 1] < 1 && r[i] >= 1) {
            a = log(r[i - 1]); b = log(r[i]); t = (0 - a) / (b - a)
            printf "%.3f (between %.3f and %.3f of the base)", exp(log(s[i - 1]) + t * (log(s[i]) - log(s[i - 1]))), s[i - 1], s[i]; exit }
        if (NR && r[1] >= 1) { printf "below %.3f of the base (the smallest measured)", s[1]; exit }
        printf "above %.3f of the base (the largest measured)", s[NR] }'
}
echo
echo "crossover, bulk load:     $(printf '%s\n' "${ratio_load[@]}" | crossover)"
echo "crossover, archive delete: $(printf '%s\n' "${ratio_del[@]}" | crossover)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
