#!/usr/bin/env bash
# Benchmark: incremental maintenance of the seed's views against PostgreSQL's own refresh, on
# one sandbox, baseline and engine in the same invocation. Prints:
#   (b) order-transaction throughput with capture triggers off and on (incremental views, not
#       merged meanwhile; with --per-view also capture as engines before generation 6 had it, a
#       trigger per view, table and event, made from the same statements: see per_view in
#       ivm_lib.sh), and with the views merged by each configuration of --merges, in
#       rounds that reverse their order every other round (ABBA); medians and ranges of the
#       ratios to capture off, and each merged configuration's staleness at saturation;
#   (a) sales_hourly_mv: its merge (SELECT htap.refresh_view(..., 'incremental'), as a
#       scheduler runs it) vs REFRESH ... CONCURRENTLY of an equal plain materialized view, both
#       after the same 10,000 new orders, in --arounds rounds alternating which goes first; the
#       ratio per round, median and range; and fact_sales_mv's merge of 10,000 new orders vs
#       its own CONCURRENTLY refresh (when it is still materialized at the start);
#   (c) staleness (age of the oldest unmerged change, sampled 5 times a second) under a steady
#       order rate with each merge configuration: p50, p99, max per view;
#   (e) CPU per order at a fixed rate (--rate), capture off, on, and with each merge
#       configuration, ABBA (not run by default): off's CPU per order over each configuration's
#       is the throughput ratio it would have where the CPU runs out (no saturation needed,
#       only the server's CPU counted);
#   (d) aggregates over joins (not run by default): the seed's revenue by category and by user
#       segment made incremental, the order transaction with only their capture on against all
#       capture off, at 1 and 4 clients in ABBA rounds (ratios: median and range), then a merge
#       of 10,000 new orders against REFRESH ... CONCURRENTLY of the same views kept plain.
#   tests/bench/ivm_bench.sh [--dir SANDBOX] [--seconds N] [--rate ORDERS_PER_S] [--clients N]
#                            [--rounds N] [--arounds N] [--parts abc|d|e] [--merges "fixed adaptive-nice"] [--per-view]
#                            [--capture sql|c|both]
# --capture: the three views' capture mode (htapctl mv capture) in every run with capture on:
# sql (the default, PL/pgSQL statement triggers) or c (the htap_capture extension's row
# triggers); both: parts (b) and (e) run capture on in each mode ("on" and "on-c"), and each
# merge configuration in each ("adaptive" and "adaptive-c"), in the same ABBA rounds.
# Merge configurations, each the three views scheduled and run by `htapctl mv run-schedules`
# (the app's runner): fixed (every 1 s), nice (every 1 s at nice 10), adaptive (freshness
# target 1 s), adaptive-nice (target 1 s at nice 10), adaptive5-nice (target 5 s at nice 10:
# what a looser freshness target buys the writers), mixed-nice (the hourly view at 1 s, the
# fact and daily views at 5 s, nice 10); loop is the earlier reference: one psql
# session merging the three every second.
# Use a sandbox of its own: it leaves the three views incremental. Capture is switched off and
# on between runs (the views are rebuilt afterwards). Views already incremental are used as
# they are (part (a) then has no CONCURRENTLY baseline for the fact view).
# For the README figures:
#   htapctl sandbox start --dir /var/lib/htap-studio/bench50 --scale 50   (about 5M orders)
# Needs pgbench and psql (postgresql-client).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$root/tests/bench/order_script.sh"
bin="$root/build/bin"
. "$root/tests/bench/ivm_lib.sh"
dir="" seconds=30 rate=1000 clients=4 rounds=6 arounds=6 parts=abc merges="fixed adaptive-nice" perview="" capturemode=sql
while [ $# -gt 0 ]; do
    case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2
        # ABBA: as many pairs with capture on second as with it first.
        (( rounds > 0 && rounds % 2 == 0 )) || { echo "--rounds must be a positive even number" >&2; exit 2; } ;;
    --arounds) arounds="$2"; shift 2 ;;
    --merges) merges="$2"; shift 2
        for m in $merges; do [[ "$m" =~ ^(loop|fixed|nice|adaptive|adaptive-nice|adaptive5-nice|mixed-nice)$ ]] || { echo "unknown merge configuration $m" >&2; exit 2; }; done ;;
    --per-view) perview=perview; shift ;;
    --capture) capturemode="$2"; shift 2
        [[ "$capturemode" =~ ^(sql|c|both)$ ]] || { echo "--capture takes sql, c or both" >&2; exit 2; } ;;
    --parts) parts="$2"; shift 2
        [[ "$parts" =~ ^[abcde]+$ ]] || { echo "--parts takes letters among a, b, c, d and e (e.g. bc)" >&2; exit 2; } ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
ivm_connect "$dir"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

orders="$("${psqlc[@]}" -Atc 'SELECT count(*) FROM orders')"
nprod="$("${psqlc[@]}" -Atc 'SELECT max(product_id) FROM dim_products')"
nuser="$("${psqlc[@]}" -Atc 'SELECT max(user_id) FROM dim_users')"
echo "sandbox: $conn"
echo "data:    $orders orders, $("${psqlc[@]}" -Atc 'SELECT count(*) FROM order_items') items"

# The seed's order transaction (4.1), orders completed so that every view sees them.
write_order_script "$work/order.sql" "$nuser" "$nprod" completed
# Stock must not run out during the runs.
"${psqlc[@]}" -c 'UPDATE inventory SET quantity = 100000000'

merge_loop() { # view ids...: merge every second on one session
    local sql=""
    for id in "$@"; do sql+="SELECT htap_ivm.v${id}_merge();"; done
    (while true; do echo "$sql"; sleep 1; done) | "${psqlc[@]}" -At > /dev/null 2>&1 &
    pids+=($!)
}
start_merges() { # configuration: merges of the three views as configured, in the background
    local cfg="$1" v
    if [ "$cfg" = loop ]; then merge_loop "${ids[@]}"; return; fi
    for v in sales_hourly_mv fact_sales_mv daily_sales_summary; do
        case "$cfg" in
        fixed) htmv schedule "$v" --mode incremental --every 1s ;;
        nice) htmv schedule "$v" --mode incremental --every 1s --nice 10 ;;
        adaptive) htmv schedule "$v" --mode incremental --target 1s ;;
        adaptive-nice) htmv schedule "$v" --mode incremental --target 1s --nice 10 ;;
        adaptive5-nice) htmv schedule "$v" --mode incremental --target 5s --nice 10 ;;
        mixed-nice) htmv schedule "$v" --mode incremental --target "$([ "$v" = sales_hourly_mv ] && echo 1s || echo 5s)" --nice 10 ;;
        esac
    done > /dev/null
    "$bin/htapctl" mv run-schedules --conn "$conn" > "$work/runner.out" 2>&1 &
    pids+=($!)
}
stop_merges() { kill "${pids[-1]}" 2>/dev/null || true; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'; }
merge_now() { # fold in what is pending, untimed, so that every merged run starts alike
    "${psqlc[@]}" -At -c "SELECT htap_ivm.v${ids[0]}_merge(), htap_ivm.v${ids[1]}_merge(), htap_ivm.v${ids[2]}_merge()" > /dev/null
}
samplers_start() { # prefix: staleness of the three views, 5 times a second
    local i=0 v
    for v in hourly fact daily; do
        (while true; do echo "SELECT coalesce(round(extract(epoch FROM clock_timestamp() - oldest)::numeric, 3), 0) FROM htap.ivm_pending(${ids[$i]});"; sleep 0.2; done) \
            | "${psqlc[@]}" -At > "$work/$1_$v" 2>/dev/null &
        pids+=($!)
        i=$((i + 1))
    done
}
samplers_stop() { local k; for k in 1 2 3; do kill "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'; done; }
pct() { sort -n "$1" | awk -v p="$2" '{a[NR]=$1} END {i=int(NR*p/100+0.999); if (i<1) i=1; print a[i]}'; }
orders_sql() { # n: n completed orders with 3 items each, in one statement per table
    cat <<SQL
WITH o AS (INSERT INTO orders (user_id, total_amount, status, created_at)
           SELECT 1 + (random() * ($nuser - 1))::int, 30.00, 'completed', localtimestamp FROM generate_series(1, $1)
           RETURNING order_id)
INSERT INTO order_items (order_id, product_id, quantity, price, created_at)
SELECT o.order_id, 1 + (random() * ($nprod - 1))::int, 1, 10.00, localtimestamp FROM o, generate_series(1, 3);
SQL
}
insert_orders() { orders_sql "$1" | "${psqlc[@]}"; }

part() { [[ "$parts" == *"$1"* ]]; }

echo
echo "warming up: ${seconds} s of orders (also the changes REFRESH ... CONCURRENTLY finds)"
"$pgbench" -n -M prepared -c "$clients" -j 2 -T "$seconds" -f "$work/order.sql" -h "$host" -p "$port" -U postgres shop > /dev/null 2>&1
# (a) fact_sales_mv's baseline: its own CONCURRENTLY refresh, before it is made incremental
# (the hourly view's is an equal plain copy, below, measured round by round).
conc_fact=""
if part a; then
    if is_incremental fact_sales_mv; then
        echo "note: fact_sales_mv is already incremental: (a) measures its merge without its CONCURRENTLY baseline"
    else
        echo "(a) REFRESH ... CONCURRENTLY of fact_sales_mv after 10,000 new orders"
        insert_orders 10000 > /dev/null
        conc_fact="$(htmv refresh fact_sales_mv --mode concurrent --json | sed -nE 's/.*"seconds": ([0-9.e+-]+).*/\1/p')"
        printf '    fact_sales_mv   %8.3f s\n' "$conc_fact"
    fi
fi
for v in sales_hourly_mv fact_sales_mv daily_sales_summary; do
    is_incremental "$v" || htmv enable-incremental "$v" | sed 's/^/    /'
done
ids=("$(view_id sales_hourly_mv)" "$(view_id fact_sales_mv)" "$(view_id daily_sales_summary)")
# The configurations of parts (b) and (e) beyond off: capture on, then the merge configurations,
# each in the capture mode(s) asked for; a name ending in -c runs in mode c.
with_modes() {
    local c
    for c in "$@"; do
        case "$capturemode" in sql) echo "$c" ;; c) echo "$c-c" ;; both) echo "$c"; echo "$c-c" ;; esac
    done
}
mode_of() { [[ "$1" == *-c ]] && echo c || echo sql; }
config_label() { # configuration: how the tables name it
    local base="${1%-c}" in=""
    [[ "$1" == *-c ]] && in=", capture in C"
    if [ "$base" = on ]; then echo "capture on (3 views, no merges$in)"; else echo "capture on + merges: $base$in"; fi
}
base_of() { echo "${1%-c}"; }
set_mode "$(mode_of "$(with_modes on | tail -n 1)")"

# (b) Capture off and on alternate (ALTER TABLE ... DISABLE/ENABLE TRIGGER on the engine's
# triggers), so that drift (tables growing, autovacuum, caches) hits both alike.
run_orders() { # label
    "$pgbench" -n -M prepared -c "$clients" -j 2 -T "$seconds" -f "$work/order.sql" -h "$host" -p "$port" -U postgres shop > "$work/$1.out" 2>&1
    tps "$work/$1.out"
}
if part b; then
    # Rounds of runs, capture off, on, then each merge configuration, the order reversed every
    # other round (ABBA), so that drift (tables growing, checkpoints, autovacuum, caches, the
    # machine's other load) hits all alike; each ratio is the median of the rounds' ratios.
    echo
    echo "(b) order transaction, $clients clients, ${seconds} s per run, $rounds rounds: capture off, on, merged by: $merges"
    echo "    load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    offs=() pratios=() ptps=() sratios=()
    declare -A mtps mratio mstale
    brest=($(with_modes on) $(with_modes $merges))
    configs=(off $perview "${brest[@]}")
    for ((round = 1; round <= rounds; round++)); do
        order=("${configs[@]}")
        if ! ((round % 2)); then order=(); for ((k = ${#configs[@]} - 1; k >= 0; k--)); do order+=("${configs[$k]}"); done; fi
        declare -A got=()
        for cfg in "${order[@]}"; do
            case "$cfg" in
            off) capture off; got[off]="$(run_orders off$round)"; capture on ;;
            on | on-c) set_mode "$(mode_of "$cfg")"; capture on; got[$cfg]="$(run_orders "${cfg}$round")" ;;
            perview) set_mode sql; capture off; per_view on; got[perview]="$(run_orders perview$round)"; per_view off; capture on ;;
            *)
                # Capture was switched off in this round or before: the DDL guard flagged the
                # views for a rebuild, which the runner respects. Merging costs the same on an
                # inexact view; the views are rebuilt at the end.
                set_mode "$(mode_of "$cfg")"
                "${psqlc[@]}" -c "UPDATE htap.ivm_views SET state = 'ready', reason = NULL" > /dev/null
                merge_now
                start_merges "$(base_of "$cfg")"
                samplers_start "sat_${cfg}_$round"
                got[$cfg]="$(run_orders "m_${cfg}_$round")"
                samplers_stop
                stop_merges ;;
            esac
        done
        offs+=("${got[off]}")
        line="    round $round ($(cut -d' ' -f1 /proc/loadavg)): off ${got[off]}"
        if [ -n "$perview" ]; then
            pratios+=("$(awk -v a="${got[perview]}" -v b="${got[off]}" 'BEGIN{print a/b}')"); ptps+=("${got[perview]}")
            line+=", per-view ${got[perview]} (${pratios[-1]})"
            if [ -n "${got[on]:-}" ]; then
                sratios+=("$(awk -v a="${got[on]}" -v b="${got[perview]}" 'BEGIN{print a/b}')")
                line+=" (shared/per-view ${sratios[-1]})"
            fi
        fi
        for m in "${brest[@]}"; do
            r="$(awk -v a="${got[$m]}" -v b="${got[off]}" 'BEGIN{printf "%.3f", a/b}')"
            mtps[$m]+="${got[$m]} "; mratio[$m]+="$r "
            line+=", $m ${got[$m]} ($r"
            [[ "$(base_of "$m")" == on ]] \
                || line+="; p99 $(for v in hourly fact daily; do printf '%s/' "$(pct "$work/sat_${m}_${round}_$v" 99)"; done | sed 's#/$##') s"
            line+=")"
        done
        echo "$line"
    done
    off="$(median "${offs[@]}")"
    for v in sales_hourly_mv fact_sales_mv daily_sales_summary; do htmv unschedule "$v" > /dev/null 2>&1 || true; done
    # Capture was off for a while: part (a) merges views that are not exact (a merge costs the
    # same); they are rebuilt at the end.
    "${psqlc[@]}" -c "UPDATE htap.ivm_views SET state = 'ready', reason = NULL" > /dev/null
fi

if part a; then
    # (a) sales_hourly_mv: its merge against REFRESH ... CONCURRENTLY of an equal plain
    # materialized view (htap_bench_hourly_plain, made from the view's definition), both after
    # the same 10,000 new orders, both as a scheduler runs them (SELECT htap.refresh_view(...)
    # in a session that has run them before), timed by psql in that one session. Which goes
    # first alternates by round: CONCURRENTLY reads the whole orders table through shared
    # buffers and the next statement starts colder. The ratio per round, its median and range.
    "${psqlc[@]}" -c "SELECT htap_ivm.v${ids[0]}_merge()" > /dev/null
    def="$("${psqlc[@]}" -Atc "SELECT definition FROM htap.ivm_views WHERE view_id = ${ids[0]}")"
    "${psqlc[@]}" <<SQL > /dev/null
SET client_min_messages = warning;
DROP MATERIALIZED VIEW IF EXISTS htap_bench_hourly_plain;
CREATE MATERIALIZED VIEW htap_bench_hourly_plain AS $def;
CREATE UNIQUE INDEX ON htap_bench_hourly_plain (hour);
ANALYZE htap_bench_hourly_plain;
SQL
    new_orders="$(orders_sql 10000)"
    merge_hourly="SELECT htap.refresh_view('sales_hourly_mv', 'incremental');"
    conc_plain="SELECT htap.refresh_view('htap_bench_hourly_plain', 'concurrent');"
    merge_all="SELECT htap_ivm.v${ids[0]}_merge(), htap_ivm.v${ids[1]}_merge(), htap_ivm.v${ids[2]}_merge();"
    {
        echo "$merge_all $merge_hourly $conc_plain"
        for ((r = 1; r <= arounds; r++)); do
            echo "$merge_all"
            echo "$new_orders"
            echo "CHECKPOINT;"
            if ((r % 2)); then printf '\\timing on\n%s\n%s\n\\timing off\n' "$merge_hourly" "$conc_plain"
            else printf '\\timing on\n%s\n%s\n\\timing off\n' "$conc_plain" "$merge_hourly"; fi
            echo "SELECT 'load', (SELECT string_agg(x, ' ') FROM unnest(string_to_array(pg_read_file('/proc/loadavg'), ' ')) WITH ORDINALITY u(x, i) WHERE i = 1);"
        done
        # The fact view: one merge after 10,000 new orders (30,000 items).
        echo "$merge_all"
        echo "$new_orders"
        printf '\\timing on\nSELECT htap_ivm.v%s_merge();\n\\timing off\n' "${ids[1]}"
    } | "${psqlc[@]}" -At > "$work/merge.out"
    times=($(grep -E '^Time: ' "$work/merge.out" | awk '{print $2 / 1000}'))
    loads=($(grep -E '^load\|' "$work/merge.out" | cut -d'|' -f2))
    m_runs=() c_runs=() a_ratios=()
    echo
    echo "(a) sales_hourly_mv after 10,000 new orders, $arounds rounds: merge (htap.refresh_view incremental) vs CONCURRENTLY of an equal plain view"
    for ((r = 1; r <= arounds; r++)); do
        a="${times[$((2 * r - 2))]}" b="${times[$((2 * r - 1))]}"
        if ((r % 2)); then m="$a" c="$b"; else m="$b" c="$a"; fi
        m_runs+=("$m"); c_runs+=("$c")
        a_ratios+=("$(awk -v c="$c" -v m="$m" 'BEGIN { printf "%.1f", c / m }')")
        printf '    round %d (%s first, load %s): merge %.4f s, CONCURRENTLY %.3f s, ratio %s\n' "$r" \
            "$( ((r % 2)) && echo merge || echo CONCURRENTLY)" "${loads[$((r - 1))]}" "$m" "$c" "${a_ratios[-1]}"
    done
    m_fact="${times[$((2 * arounds))]}"
    "${psqlc[@]}" -c 'DROP MATERIALIZED VIEW htap_bench_hourly_plain' > /dev/null

    echo
    printf '%-40s %10s %10s  %s\n' "(a) view: refresh after 10,000 orders" seconds speedup "range"
    printf '%-40s %10.3f %10s\n' "sales_hourly_mv  CONCURRENTLY (plain)" "$(median "${c_runs[@]}")" 1.0
    printf '%-40s %10.4f %10.0f  %s (ratios of the %d rounds)\n' "sales_hourly_mv  merge" "$(median "${m_runs[@]}")" \
        "$(median "${a_ratios[@]}")" "$(range "${a_ratios[@]}")" "$arounds"
    if [ -n "$conc_fact" ]; then
        printf '%-40s %10.3f %10s\n' "fact_sales_mv    CONCURRENTLY" "$conc_fact" 1.0
        printf '%-40s %10.3f %10.0f\n' "fact_sales_mv    merge" "$m_fact" "$(awk -v a="$conc_fact" -v b="$m_fact" 'BEGIN{print a/b}')"
    else
        printf '%-40s %10.3f\n' "fact_sales_mv    merge" "$m_fact"
    fi
fi
if part b; then
    echo
    printf '%-44s %10s %10s  %s\n' "(b) order transaction ($rounds rounds)" "tps" ratio "ratio range; staleness p99 at saturation, hourly/fact/daily (worst round)"
    printf '%-44s %10.1f %10s\n' "capture off" "$off" 1.00
    if [ -n "$perview" ]; then
        printf '%-44s %10.1f %10.3f  %s\n' "capture per view (before generation 6)" "$(median "${ptps[@]}")" "$(median "${pratios[@]}")" "$(range "${pratios[@]}")"
        [ ${#sratios[@]} -gt 0 ] && printf '%-44s %10s %10.3f  %s\n' "shared / per view, same round" "" "$(median "${sratios[@]}")" "$(range "${sratios[@]}")"
    fi
    for m in "${brest[@]}"; do
        if [[ "$(base_of "$m")" == on ]]; then
            printf '%-44s %10.1f %10.3f  %s\n' "$(config_label "$m")" "$(median ${mtps[$m]})" "$(median ${mratio[$m]})" "$(range ${mratio[$m]})"
            continue
        fi
        worst=""
        for v in hourly fact daily; do
            worst+="$(for ((round = 1; round <= rounds; round++)); do pct "$work/sat_${m}_${round}_$v" 99; done | sort -g | tail -n 1)/"
        done
        printf '%-44s %10.1f %10.3f  %s; %s s\n' "$(config_label "$m")" "$(median ${mtps[$m]})" "$(median ${mratio[$m]})" \
            "$(range ${mratio[$m]})" "${worst%/}"
    done
fi

if part c; then
    echo
    echo "(c) staleness at $rate orders/s for ${seconds} s, by merge configuration (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    printf '%-16s %-22s %8s %8s %8s %8s\n' merges view samples p50 p99 max
    for m in $(with_modes $merges); do
        set_mode "$(mode_of "$m")"
        merge_now
        start_merges "$(base_of "$m")"
        samplers_start "rate_$m"
        "$pgbench" -n -M prepared -c "$clients" -j 2 -R "$rate" -T "$seconds" -f "$work/order.sql" -h "$host" -p "$port" -U postgres shop > "$work/rate_$m.out" 2>&1
        samplers_stop
        stop_merges
        for v in hourly fact daily; do
            f="$work/rate_${m}_$v"
            printf '%-16s %-22s %8d %7.2fs %7.2fs %7.2fs\n' "$m" "$(case $v in hourly) echo sales_hourly_mv ;; fact) echo fact_sales_mv ;; *) echo daily_sales_summary ;; esac)" \
                "$(wc -l < "$f")" "$(pct "$f" 50)" "$(pct "$f" 99)" "$(pct "$f" 100)"
        done
        echo "                 achieved order rate: $(tps "$work/rate_$m.out") tps (target $rate)"
    done
    for v in sales_hourly_mv fact_sales_mv daily_sales_summary; do htmv unschedule "$v" > /dev/null 2>&1 || true; done
fi
if part e; then
    # (e) The server's CPU per order at --rate orders/s (cpu_per_order, ivm_lib.sh), each
    # configuration as in (b), ABBA.
    # Below saturation a run's throughput says nothing, and at saturation on this 2-core box it
    # swings by a sixth between runs (so does this figure, measured: the box itself moves); at
    # saturation, where the CPU is what runs out, order throughput goes as its inverse: off's CPU per order
    # over a configuration's is the throughput ratio that configuration would have there
    # (shown as "ratio"). A run that misses the rate by more than 5 % is marked "saturated".
    echo
    echo "(e) CPU per order at $rate orders/s, $clients clients, ${seconds} s per run, $rounds rounds: capture off, on, merged by: $merges"
    echo "    load average at start: $(cut -d' ' -f1-3 /proc/loadavg); * = the run missed the rate by more than 5 % (saturated)"
    declare -A ecpu eratio
    erest=($(with_modes on) $(with_modes $merges))
    configs=(off "${erest[@]}")
    for ((round = 1; round <= rounds; round++)); do
        order=("${configs[@]}")
        if ! ((round % 2)); then order=(); for ((k = ${#configs[@]} - 1; k >= 0; k--)); do order+=("${configs[$k]}"); done; fi
        declare -A got=()
        for cfg in "${order[@]}"; do
            "${psqlc[@]}" -c CHECKPOINT > /dev/null
            case "$cfg" in
            off) capture off; got[off]="$(cpu_per_order "$work/e_off$round")"; capture on ;;
            on | on-c) set_mode "$(mode_of "$cfg")"; capture on; got[$cfg]="$(cpu_per_order "$work/e_${cfg}$round")" ;;
            *)
                set_mode "$(mode_of "$cfg")"
                "${psqlc[@]}" -c "UPDATE htap.ivm_views SET state = 'ready', reason = NULL" > /dev/null
                merge_now
                start_merges "$(base_of "$cfg")"
                got[$cfg]="$(cpu_per_order "$work/e_${cfg}_$round")"
                stop_merges ;;
            esac
        done
        line="    round $round ($(cut -d' ' -f1 /proc/loadavg)): off ${got[off]} us"
        for cfg in "${erest[@]}"; do
            r="$(awk -v a="${got[off]%\*}" -v b="${got[$cfg]%\*}" 'BEGIN{printf "%.3f", a/b}')"
            ecpu[$cfg]+="${got[$cfg]%\*} "; eratio[$cfg]+="$r "
            line+=", $cfg ${got[$cfg]} ($r)"
        done
        ecpu[off]+="${got[off]%\*} "
        echo "$line"
    done
    for v in sales_hourly_mv fact_sales_mv daily_sales_summary; do htmv unschedule "$v" > /dev/null 2>&1 || true; done
    "${psqlc[@]}" -c "UPDATE htap.ivm_views SET state = 'ready', reason = NULL" > /dev/null
    echo
    printf '%-44s %12s %10s  %s\n' "(e) CPU per order at $rate/s ($rounds rounds)" "us (median)" ratio "ratio range (off's CPU per order over this one's)"
    printf '%-44s %12.0f %10s\n' "capture off" "$(median ${ecpu[off]})" 1.00
    for cfg in "${erest[@]}"; do
        printf '%-44s %12.0f %10.3f  %s\n' "$(config_label "$cfg")" \
            "$(median ${ecpu[$cfg]})" "$(median ${eratio[$cfg]})" "$(range ${eratio[$cfg]})"
    done
fi
if part b || part e; then
    # Capture was off for a while: rebuild so that the views are exact again.
    echo "rebuilding the three views (capture was switched off)"
    for v in sales_hourly_mv fact_sales_mv daily_sales_summary; do htmv refresh "$v" --mode rebuild > /dev/null; done
    for v in sales_hourly_mv fact_sales_mv daily_sales_summary; do htmv refresh "$v" --mode incremental > /dev/null; done
fi

if part d; then
    # (d) The seed's revenue views (its section 5.3) as aggregates over the order joins. Only
    # their capture is on in the "on" runs: the cost of this shape alone.
    rev_cat="SELECT p.category, count(*) AS items, sum(oi.quantity) AS quantity, sum(oi.price * oi.quantity) AS revenue,
             avg(oi.price) AS avg_price, count(DISTINCT o.user_id) AS customers
             FROM order_items oi JOIN orders o ON o.order_id = oi.order_id JOIN dim_products p ON oi.product_id = p.product_id
             WHERE o.status = 'completed' GROUP BY p.category"
    rev_seg="SELECT u.user_segment, count(*) AS items, sum(oi.price * oi.quantity) AS revenue, avg(oi.price * oi.quantity) AS avg_line,
             count(DISTINCT o.user_id) AS customers
             FROM order_items oi JOIN orders o ON o.order_id = oi.order_id JOIN dim_users u ON o.user_id = u.user_id
             WHERE o.status = 'completed' GROUP BY u.user_segment"
    for v in revenue_by_category revenue_by_segment; do
        def="$rev_cat" key=category
        [ "$v" = revenue_by_segment ] && def="$rev_seg" key=user_segment
        # The same view kept plain, for REFRESH ... CONCURRENTLY (a unique index on its group).
        for m in "$v" "${v}_plain"; do
            if [ -z "$("${psqlc[@]}" -Atc "SELECT to_regclass('public.$m')")" ]; then
                "${psqlc[@]}" -c "CREATE MATERIALIZED VIEW $m AS $def" -c "CREATE UNIQUE INDEX ON $m ($key) NULLS NOT DISTINCT"
            fi
        done
        is_incremental "$v" || htmv enable-incremental "$v" | sed 's/^/    /'
    done
    ja=("$(view_id revenue_by_category)" "$(view_id revenue_by_segment)")
    fact_id="$(view_id fact_sales_mv)" # the reference: a join view's capture (the same dirty keys, on 4 tables)
    ja_merge="SELECT htap_ivm.v${ja[0]}_merge(), htap_ivm.v${ja[1]}_merge();"
    echo
    echo "(d) aggregates over joins: order transaction, capture of revenue_by_category and revenue_by_segment on (no"
    echo "    merges meanwhile), and for reference fact_sales_mv's alone, against all capture off, ${seconds} s per run,"
    echo "    $rounds rounds (ABBA), 1 and 4 clients"
    echo "    load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    declare -A dratio dtps fratio
    for c in 1 4; do
        for ((round = 1; round <= rounds; round++)); do
            order=(off on fact)
            ((round % 2)) || order=(fact on off)
            declare -A got=()
            for cfg in "${order[@]}"; do
                capture off
                [ "$cfg" = on ] && capture on "${ja[@]}"
                [ "$cfg" = fact ] && capture on "$fact_id"
                "$pgbench" -n -M prepared -c "$c" -j "$((c < 2 ? c : 2))" -T "$seconds" -f "$work/order.sql" -h "$host" -p "$port" \
                    -U postgres shop > "$work/d_${cfg}_${c}_$round.out" 2>&1
                got[$cfg]="$(tps "$work/d_${cfg}_${c}_$round.out")"
            done
            r="$(awk -v a="${got[on]}" -v b="${got[off]}" 'BEGIN{printf "%.3f", a/b}')"
            f="$(awk -v a="${got[fact]}" -v b="${got[off]}" 'BEGIN{printf "%.3f", a/b}')"
            dratio[$c]+="$r "
            fratio[$c]+="$f "
            dtps[$c]+="$(printf '%.0f/%.0f/%.0f' "${got[off]}" "${got[on]}" "${got[fact]}") "
            echo "    $c client(s), round $round (load $(cut -d' ' -f1 /proc/loadavg)): off ${got[off]}, on ${got[on]} ($r), fact_sales_mv ${got[fact]} ($f)"
            "${psqlc[@]}" -At -c "$ja_merge SELECT htap_ivm.v${fact_id}_merge();" > /dev/null # what the round captured
        done
    done
    # Per capture statement, less exposed to the box's load than throughput: 20,000 single-row
    # item inserts in one DO block (each a statement that fires the capture triggers), rolled
    # back; microseconds per insert with capture off, the two revenue views', fact_sales_mv's.
    per_insert() {
        "${psqlc[@]}" -c "BEGIN" -c "DO \$\$ DECLARE o bigint; t timestamptz := clock_timestamp(); BEGIN
            INSERT INTO orders (user_id, total_amount, status) VALUES (1, 0, 'completed') RETURNING order_id INTO o;
            FOR i IN 1..20000 LOOP
                INSERT INTO order_items (order_id, product_id, quantity, price) VALUES (o, 1 + i % $nprod, 1, 10.00);
            END LOOP;
            RAISE NOTICE 'per insert %', round((extract(epoch FROM clock_timestamp() - t) * 1e6 / 20000)::numeric, 2); END \$\$" \
            -c "ROLLBACK" 2>&1 | sed -nE 's/.*per insert ([0-9.]+).*/\1/p'
    }
    declare -A us
    for ((round = 1; round <= 2 * rounds; round++)); do
        order=(off on fact)
        ((round % 2)) || order=(fact on off)
        for cfg in "${order[@]}"; do
            capture off
            [ "$cfg" = on ] && capture on "${ja[@]}"
            [ "$cfg" = fact ] && capture on "$fact_id"
            us[$cfg]+="$(per_insert) "
        done
    done
    # Capture was off for a while: every view is rebuilt (and merged) to be exact again.
    capture on
    "${psqlc[@]}" -Atc "SELECT view_schema || '.' || view_name FROM htap.ivm_views" | while read -r v; do
        htmv refresh "$v" --mode rebuild > /dev/null
    done
    # The merge of 10,000 new orders as a scheduler runs it (a session that merged before),
    # against REFRESH ... CONCURRENTLY of the plain copies, which see the same orders.
    {
        echo "$ja_merge"
        orders_sql 10000
        printf '\\timing on\nSELECT htap_ivm.v%s_merge();\nSELECT htap_ivm.v%s_merge();\n\\timing off\n' "${ja[0]}" "${ja[1]}"
    } | "${psqlc[@]}" > "$work/d_merge.out"
    mt=($(grep -E '^Time: ' "$work/d_merge.out" | awk '{print $2 / 1000}'))
    ct=()
    for v in revenue_by_category_plain revenue_by_segment_plain; do
        ct+=("$(htmv refresh "$v" --mode concurrent --json | sed -nE 's/.*"seconds": ([0-9.e+-]+).*/\1/p')")
    done
    echo
    printf '%-44s %10s %12s  %s\n' "(d) order transaction, capture on/off" "ratio" "range" "tps off/on/fact per round"
    for c in 1 4; do
        printf '%-44s %10.3f %12s  %s\n' "$c client(s), the two revenue views" "$(median ${dratio[$c]})" "$(range ${dratio[$c]})" "${dtps[$c]}"
        printf '%-44s %10.3f %12s\n' "$c client(s), fact_sales_mv (reference)" "$(median ${fratio[$c]})" "$(range ${fratio[$c]})"
    done
    printf '%-44s %10s %12s  %s\n' "(d) one item insert (statement), capture" "us" "range" "($((2 * rounds)) runs of 20,000, ABBA)"
    for cfg in off on fact; do
        printf '%-44s %10.2f %12s\n' "$(case $cfg in off) echo off ;; on) echo 'the two revenue views' ;; *) echo 'fact_sales_mv (reference)' ;; esac)" \
            "$(median ${us[$cfg]})" "$(range ${us[$cfg]})"
    done
    printf '%-44s %10s %10s\n' "(d) after 10,000 new orders" seconds speedup
    for i in 0 1; do
        v=revenue_by_category
        [ "$i" = 1 ] && v=revenue_by_segment
        printf '%-44s %10.3f %10s\n' "$v CONCURRENTLY (plain copy)" "${ct[$i]}" 1.0
        printf '%-44s %10.3f %10.1f\n' "$v merge" "${mt[$i]}" "$(awk -v a="${ct[$i]}" -v b="${mt[$i]}" 'BEGIN{print a/b}')"
    done
fi
