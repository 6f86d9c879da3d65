# Sourced by the incremental-view benchmarks (ivm_bench.sh, ivm_capture.sh): the sandbox's
# connection, pgbench, and the helpers they share. Expects $bin (the build's bin folder).
#   ivm_connect [SANDBOX_DIR]: starts (or finds) the sandbox; sets conn, host, port, psqlc, pgbench
ivm_connect() {
    pgbench="$(ls -d /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -n 1)"
    [ -x "$pgbench" ] || { echo "pgbench not found (postgresql-client)" >&2; exit 1; }
    local dirarg=()
    [ -n "${1:-}" ] && dirarg=(--dir "$1")
    conn="$("$bin/htapctl" sandbox start "${dirarg[@]}" 2>/dev/null)"
    host="$(sed -E 's/.*host=([^ ]+).*/\1/' <<< "$conn")"
    port="$(sed -E 's/.*port=([0-9]+).*/\1/' <<< "$conn")"
    psqlc=(psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d shop)
}
htmv() { "$bin/htapctl" mv "$@" --conn "$conn"; }
# set_mode sql|c: the seed's three views' capture mode (htapctl mv capture).
set_mode() {
    local v
    for v in sales_hourly_mv fact_sales_mv daily_sales_summary; do htmv capture "$v" --mode "$1" > /dev/null; done
}
tps() { grep -E '^tps = ' "$1" | head -n 1 | awk '{print $3}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s-%s", lo, hi}'; }
view_id() { "${psqlc[@]}" -Atc "SELECT view_id FROM htap.ivm_views WHERE view_schema = 'public' AND view_name = '$1'"; }
is_incremental() { [ -n "$("${psqlc[@]}" -Atc "SELECT 1 FROM pg_matviews WHERE schemaname = 'public' AND matviewname = '$1'")" ] && return 1 || return 0; }
# capture on|off [VIEW_ID...]: the engines' capture of the views given (else of every
# incremental view) switched on or off: htap.ivm_set_capture (registry version 14 on: a view
# of generation 6 leaves its tables' shared capture functions, older ones get ALTER TABLE ...
# ENABLE ALWAYS / DISABLE TRIGGER on their own triggers); before it, those ALTER TABLEs.
# Switching capture off flags the views for a rebuild: the caller rebuilds them afterwards.
capture() {
    local which="true"
    [ $# -gt 1 ] && which="view_id IN ($(IFS=,; echo "${*:2}"))"
    if [ -n "$("${psqlc[@]}" -Atc "SELECT to_regprocedure('htap.ivm_set_capture(int, boolean)')")" ]; then
        "${psqlc[@]}" -At -c "SELECT htap.ivm_set_capture(view_id, '$1' = 'on') FROM htap.ivm_views WHERE $which ORDER BY view_id" > /dev/null
        return
    fi
    "${psqlc[@]}" -At <<SQL > /dev/null
SELECT format('ALTER TABLE %s %s TRIGGER %I', htap.ivm_rel(regexp_replace(t, '\|[^|]*$', '')),
              CASE WHEN '$1' = 'on' THEN 'ENABLE ALWAYS' ELSE 'DISABLE' END, substring(t FROM '\|([^|]*)$'))
FROM htap.ivm_views, unnest(triggers) t WHERE $which \gexec
SQL
}
# per_view on|off: capture as engines before generation 6 had it, made from the registry of
# generation-5 views: a trigger and a function per view, base table and event, each running
# that view's one statement (the same text the shared function runs, under the same header),
# on the base tables (not their members). With the views' own capture switched off, it is the
# reference the shared trigger is measured against in one invocation (ivm_bench.sh --per-view).
per_view() {
    if [ "$1" = on ]; then
        "${psqlc[@]}" -At <<'SQL' > /dev/null
SELECT format(E'CREATE FUNCTION htap_ivm.%I() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp '
              'AS $htap_bench$\n#variable_conflict use_column\nBEGIN\n%s\n  RETURN NULL;\nEND $htap_bench$', s.fn, s.st),
       format('CREATE TRIGGER %I AFTER %s ON %s %s FOR EACH STATEMENT EXECUTE FUNCTION htap_ivm.%I()', 'htap_' || s.fn, s.ev,
              s.root::regclass, CASE s.ev WHEN 'INSERT' THEN 'REFERENCING NEW TABLE AS __ivm_new'
                                         WHEN 'UPDATE' THEN 'REFERENCING OLD TABLE AS __ivm_old NEW TABLE AS __ivm_new'
                                         ELSE 'REFERENCING OLD TABLE AS __ivm_old' END, s.fn),
       format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', s.root::regclass, 'htap_' || s.fn)
FROM (SELECT k.root, split_part(x.st, '|', 1) AS ev,
             format('bench_v%s_t%s_%s%s', k.view_id, k.table_index, lower(left(split_part(x.st, '|', 1), 3)), x.i) AS fn,
             htap.ivm_render(substr(x.st, strpos(x.st, '|') + 1),
                 (SELECT coalesce(string_agg(format('__ivm_r.%I AS %I', u.cur, u.orig), ', ' ORDER BY u.i), '')
                  FROM unnest(k.current_names, k.names) WITH ORDINALITY u(cur, orig, i))) AS st
      FROM htap.ivm_capture k JOIN pg_class c ON c.oid = k.root, unnest(k.statements) WITH ORDINALITY x(st, i)) s \gexec
SQL
    else
        "${psqlc[@]}" -At <<'SQL' > /dev/null
SELECT format('DROP TRIGGER %I ON %s', t.tgname, t.tgrelid::regclass) FROM pg_trigger t WHERE t.tgname LIKE 'htap\_bench\_v%' \gexec
SELECT format('DROP FUNCTION htap_ivm.%I()', p.proname) FROM pg_proc p
WHERE p.pronamespace = 'htap_ivm'::regnamespace AND p.proname LIKE 'bench\_v%' \gexec
SQL
    fi
}

# CPU per order at a fixed rate (ivm_bench.sh part e, capture_c.sh): the server's CPU time, its
# processes' user and system time from /proc (the postmaster's own, its live children's, and
# those of the children that ended during the run, which the postmaster reaped), over a run of
# the order script at $rate orders/s, divided by the orders done. pgbench's own CPU is left out:
# it is the same in every configuration.
#   cpu_per_order OUT: runs $pgbench (-c $clients, -R $rate, -T $seconds, $work/order.sql),
#   keeps its output in OUT, prints microseconds per order, with * when the run missed the
#   rate by more than 5 % (saturated: then it is not a fixed-rate figure)
server_ticks() {
    local pm
    pm="$("${psqlc[@]}" -Atc "SELECT split_part(pg_read_file('postmaster.pid'), E'\\n', 1)")"
    { cat "/proc/$pm/stat"; for c in $(cat /proc/"$pm"/task/*/children); do cat "/proc/$c/stat" 2>/dev/null; done; } \
        | sed -E 's/^[0-9]+ \([^)]*\) //' | awk '{ t += $12 + $13 + $14 + $15 } END { print t }'
}
cpu_per_order() {
    local b0 b1 n
    b0="$(server_ticks)"
    "$pgbench" -n -M prepared -c "$clients" -j 2 -R "$rate" -T "$seconds" -f "$work/order.sql" -h "$host" -p "$port" \
        -U postgres shop > "$1" 2>&1
    b1="$(server_ticks)"
    n="$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$1")"
    awk -v b="$((b1 - b0))" -v hz="$(getconf CLK_TCK)" -v n="${n:-0}" -v want="$((rate * seconds))" \
        'BEGIN { if (n == 0) { print "0*"; exit } printf "%.0f%s", b * 1e6 / hz / n, (n < 0.95 * want) ? "*" : "" }'
}
