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
