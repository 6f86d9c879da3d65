#include "mvservice.h"

#include "ivmsql.h"
#include "mvcommon.h"
#include <pg/identifier.h>
#include <pg/sqlfile.h>

#include <QElapsedTimer>
#include <QThread>
#include <QJsonArray>

using namespace Qt::StringLiterals;
using htap::pg::quoteIdentifier;
using htap::pg::quoteQualified;
using htap::pg::Result;

namespace htap::mv {

namespace {

/// The class of the session-level lock that keeps two refreshes of one view apart ("HTMV").
constexpr int kRefreshLockClass = 0x48544d56;

QJsonValue timeJson(const QDateTime& t)
{
    return t.isValid() ? QJsonValue(t.toUTC().toString(Qt::ISODateWithMs)) : QJsonValue();
}

} // namespace

QString modeName(RefreshMode mode)
{
    switch (mode) {
    case RefreshMode::Plain:
        return u"plain"_s;
    case RefreshMode::Concurrent:
        return u"concurrent"_s;
    case RefreshMode::Incremental:
        return u"incremental"_s;
    case RefreshMode::Rebuild:
        return u"rebuild"_s;
    }
    return {};
}

bool parseMode(const QString& text, RefreshMode* mode)
{
    for (RefreshMode m : {RefreshMode::Plain, RefreshMode::Concurrent, RefreshMode::Incremental, RefreshMode::Rebuild}) {
        if (text == modeName(m)) {
            *mode = m;
            return true;
        }
    }
    return false;
}

bool ViewInfo::engineOutdated() const
{
    return incremental && engineVersion < kIvmEngineVersion;
}

QJsonObject ViewInfo::toJson() const
{
    QJsonObject o {
        {u"view"_s, label()},
        {u"schema"_s, schema},
        {u"name"_s, name},
        {u"mode"_s, incremental ? u"incremental"_s : u"materialized"_s},
        {u"populated"_s, populated},
        {u"concurrent_ok"_s, concurrentBlocker.isEmpty()},
        {u"total_bytes"_s, totalBytes},
        {u"last_refresh"_s, timeJson(lastRefresh)},
        {u"last_mode"_s, lastMode.isEmpty() ? QJsonValue() : QJsonValue(lastMode)},
        {u"last_duration_s"_s, lastDurationSeconds < 0 ? QJsonValue() : QJsonValue(lastDurationSeconds)},
        {u"staleness_s"_s, stalenessSeconds < 0 ? QJsonValue() : QJsonValue(stalenessSeconds)},
        {u"refreshing_pid"_s, refreshingPid ? QJsonValue(refreshingPid) : QJsonValue()},
    };
    if (!concurrentBlocker.isEmpty())
        o.insert(u"concurrent_blocker"_s, concurrentBlocker);
    if (incremental) {
        o.insert(u"ivm_state"_s, ivmState);
        if (!ivmReason.isEmpty())
            o.insert(u"ivm_reason"_s, ivmReason);
        o.insert(u"pending_rows"_s, pendingRows);
        o.insert(u"oldest_pending_s"_s, oldestPendingSeconds);
        o.insert(u"last_merge_ms"_s, lastMergeMs);
        o.insert(u"capture_mode"_s, captureMode);
        o.insert(u"capture_shared_with"_s, QJsonArray::fromStringList(captureSharedWith));
        o.insert(u"merges_last_minute"_s, mergesLastMinute);
        o.insert(u"merge_seconds_per_second"_s, mergeSecondsPerSecond);
        o.insert(u"engine_version"_s, engineVersion);
        o.insert(u"engine_outdated"_s, engineOutdated());
    }
    return o;
}

QJsonObject RefreshLogEntry::toJson() const
{
    QJsonObject o {{u"id"_s, id}, {u"view"_s, view}, {u"mode"_s, mode}, {u"started_at"_s, timeJson(started)},
        {u"finished_at"_s, timeJson(finished)}, {u"seconds"_s, seconds() < 0 ? QJsonValue() : QJsonValue(seconds())},
        {u"rows"_s, rows < 0 ? QJsonValue() : QJsonValue(rows)}, {u"outcome"_s, outcome}, {u"by_role"_s, byRole},
        {u"by_app"_s, byApp}};
    if (!sqlstate.isEmpty())
        o.insert(u"sqlstate"_s, sqlstate);
    if (!message.isEmpty())
        o.insert(u"message"_s, message);
    return o;
}

QJsonObject RefreshOutcome::toJson() const
{
    QJsonObject o {{u"ok"_s, ok}, {u"cancelled"_s, cancelled}, {u"seconds"_s, seconds},
        {u"rows"_s, rows < 0 ? QJsonValue() : QJsonValue(rows)}};
    if (!sqlstate.isEmpty())
        o.insert(u"sqlstate"_s, sqlstate);
    if (!message.isEmpty())
        o.insert(u"message"_s, message);
    return o;
}

QJsonObject Schedule::toJson() const
{
    QJsonObject o {{u"view"_s, view}, {u"mode"_s, modeName(mode)}, {u"every_seconds"_s, everySeconds}, {u"runner"_s, runner}};
    if (cronJob)
        o.insert(u"cron_job"_s, cronJob);
    o.insert(u"cadence"_s, cadence);
    o.insert(u"merge_nice"_s, nice);
    return o;
}

QString Schedule::describe() const
{
    const QString every = everySeconds % 3600 == 0 ? u"%1 h"_s.arg(everySeconds / 3600)
        : everySeconds % 60 == 0                   ? u"%1 min"_s.arg(everySeconds / 60)
                                                   : u"%1 s"_s.arg(everySeconds);
    QString text = adaptive() ? u"adaptive, target "_s + every : u"every "_s + every;
    if (nice > 0)
        text += u", nice %1"_s.arg(nice);
    return text;
}

MvService::MvService(pg::Connection& connection) : m_conn(connection) {}

int localServerCores(pg::Connection& connection)
{
    const QString host = connection.effectiveInfo().value(u"host"_s);
    const bool local = host.isEmpty() || host.startsWith(u'/') || host == u"localhost"_s || host == u"127.0.0.1"_s || host == u"::1"_s;
    return local ? QThread::idealThreadCount() : 0;
}

QList<Schedule> MvService::schedules(QString* error)
{
    QList<Schedule> out;
    const Result has = m_conn.exec(u"SELECT to_regclass('htap.refresh_schedule') IS NOT NULL"_s);
    if (!has.ok() || !has.toBool(0, 0))
        return out;
    // A registry before version 11 has no cadence columns (listing never installs).
    const Result r = m_conn.exec(
        u"SELECT s.view_name, s.mode, s.every_seconds, s.runner, coalesce(s.cron_jobid, 0), x.j->>'cadence', (x.j->>'merge_nice')::int "
        u"FROM htap.refresh_schedule s, LATERAL (SELECT to_jsonb(s) AS j) x ORDER BY 1"_s);
    if (!r.ok()) {
        *error = statementError(r);
        return out;
    }
    for (int i = 0; i < r.rowCount(); ++i) {
        Schedule sch;
        sch.view = r.text(i, 0);
        parseMode(r.text(i, 1), &sch.mode);
        sch.everySeconds = int(r.toInt64(i, 2));
        sch.runner = r.text(i, 3);
        sch.cronJob = r.toInt64(i, 4);
        if (!r.isNull(i, 5))
            sch.cadence = r.text(i, 5);
        sch.nice = int(r.toInt64(i, 6));
        out << sch;
    }
    return out;
}

QString MvService::setSchedule(const QString& name, RefreshMode mode, int everySeconds, const QString& runner, const MergeOptions& merge)
{
    Resolved view;
    QString error;
    if (!resolve(name, &view, &error))
        return error;
    const QString label = view.schema + u'.' + view.name;
    if (everySeconds < 1 || everySeconds > 604800)
        return u"a schedule runs every 1 s to 7 days; %1 s is out of range"_s.arg(everySeconds);
    if (mode == RefreshMode::Rebuild)
        return u"rebuilds are not scheduled: they are for repairs"_s;
    if (view.ivmId && mode != RefreshMode::Incremental)
        return u"%1 is maintained incrementally: schedule merges (mode incremental)"_s.arg(label);
    if (!view.ivmId && mode == RefreshMode::Incremental)
        return u"%1 is not maintained incrementally; enable it first"_s.arg(label);
    if (runner != u"app"_s && runner != u"pg_cron"_s)
        return u"runner must be app or pg_cron, not %1"_s.arg(runner);
    if (merge.nice < 0 || merge.nice > 19)
        return u"nice %1 is not a level from 0 (normal) to 19 (lowest)"_s.arg(merge.nice);
    if ((merge.adaptive || merge.nice > 0) && mode != RefreshMode::Incremental)
        return u"an adaptive cadence and a lower priority are for merges of incremental views; %1 is refreshed (%2)"_s.arg(
            label, modeName(mode));
    if ((merge.adaptive || merge.nice > 0) && runner != u"app"_s)
        return u"an adaptive cadence and a lower priority need HTAP Studio's runner (--runner app): pg_cron runs on a clock"_s;
    if (const QString e = ensureRegistry(); !e.isEmpty())
        return e;
    QString cronSchedule;
    if (runner == u"pg_cron"_s) {
        const Result ext = m_conn.exec(u"SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'"_s);
        if (!ext.ok() || ext.rowCount() == 0)
            return u"pg_cron is not installed in this database (CREATE EXTENSION pg_cron, with pg_cron in "
                   u"shared_preload_libraries); let HTAP Studio run the schedule instead"_s;
        const QStringList v = ext.text(0, 0).split(u'.');
        const bool seconds = v.value(0).toInt() > 1 || (v.value(0).toInt() == 1 && v.value(1).toInt() >= 5);
        const int minutes = everySeconds / 60;
        if (everySeconds < 60 && seconds)
            cronSchedule = u"%1 seconds"_s.arg(everySeconds);
        else if (everySeconds % 60 == 0 && minutes < 60 && 60 % minutes == 0)
            cronSchedule = u"*/%1 * * * *"_s.arg(minutes);
        else if (everySeconds % 3600 == 0 && 24 % (everySeconds / 3600) == 0)
            cronSchedule = u"0 */%1 * * *"_s.arg(everySeconds / 3600);
        else
            return u"pg_cron %1 cannot run every %2 s: use a number of minutes that divides an hour or of hours that "
                   u"divides a day%3"_s.arg(ext.text(0, 0)).arg(everySeconds)
                .arg(seconds ? u", or 1 to 59 seconds"_s : u" (seconds need pg_cron 1.5)"_s);
    }
    if (const QString e = clearSchedule(name); !e.isEmpty())
        return e;
    qint64 job = 0;
    if (!cronSchedule.isEmpty()) {
        // The command is built on the server from bound values (format %L), never pasted here.
        const Result r = m_conn.exec(u"SELECT cron.schedule($1, $2, format('SELECT htap.refresh_view(%L::regclass, %L)', $3::text, $4::text))"_s,
            {QVariant(u"htap refresh "_s + label), cronSchedule, quoteQualified(view.schema, view.name), modeName(mode)});
        if (!r.ok())
            return u"pg_cron refused the schedule: %1"_s.arg(statementError(r));
        job = r.toInt64(0, 0);
    }
    const Result r = m_conn.exec(u"INSERT INTO htap.refresh_schedule (view_name, mode, every_seconds, runner, cron_jobid, cadence, merge_nice) "
                                 u"VALUES ($1, $2, $3, $4, $5, $6, $7)"_s,
        {label, modeName(mode), everySeconds, runner, job ? QVariant(job) : QVariant(), merge.adaptive ? u"adaptive"_s : u"fixed"_s,
            merge.nice});
    return r.ok() ? QString() : statementError(r);
}

QString MvService::lowerOwnPriority(int nice)
{
    if (nice < 1 || nice > 19)
        return u"nice %1 is not a level from 1 (a little lower) to 19 (lowest)"_s.arg(nice);
    const Result ext = m_conn.exec(u"SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                                   u"WHERE e.extname = 'prioritize'"_s);
    if (!ext.ok())
        return statementError(ext);
    if (ext.rowCount() == 0)
        return u"the prioritize extension is not created in this database (CREATE EXTENSION prioritize; Debian package "
               u"postgresql-15-prioritize)"_s;
    // A server that runs niced already (started from a niced shell) cannot be raised back: a
    // session at nice 10 or lower priority than asked is what was asked for.
    const Result now = m_conn.exec(u"SELECT %1(pg_backend_pid())"_s.arg(quoteQualified(ext.text(0, 0), u"get_backend_priority"_s)));
    if (now.ok() && now.rowCount() == 1 && !now.isNull(0, 0) && now.toInt64(0, 0) >= nice)
        return {};
    const Result r = m_conn.exec(u"SELECT %1(pg_backend_pid(), $1)"_s.arg(quoteQualified(ext.text(0, 0), u"set_backend_priority"_s)), {nice});
    if (!r.ok())
        return statementError(r);
    return r.toBool(0, 0) ? QString() : u"the server refused nice %1 for this session"_s.arg(nice);
}

QString MvService::clearSchedule(const QString& name)
{
    Resolved view;
    QString error;
    if (!resolve(name, &view, &error))
        return error;
    const Result has = m_conn.exec(u"SELECT to_regclass('htap.refresh_schedule') IS NOT NULL"_s);
    if (!has.ok() || !has.toBool(0, 0))
        return {};
    const Result r = m_conn.exec(u"DELETE FROM htap.refresh_schedule WHERE view_name = $1 RETURNING cron_jobid"_s,
        {QVariant(view.schema + u'.' + view.name)});
    if (!r.ok())
        return statementError(r);
    if (r.rowCount() == 1 && !r.isNull(0, 0)) {
        const Result u = m_conn.exec(u"SELECT cron.unschedule($1::bigint)"_s, {r.text(0, 0)});
        if (!u.ok())
            return u"the schedule is removed, but pg_cron kept its job %1: %2"_s.arg(r.text(0, 0), statementError(u));
    }
    return {};
}

QString MvService::ensureRegistry()
{
    // Installed and current: nothing to do (the scripts take locks and need CREATE rights).
    const Result v = m_conn.exec(u"SELECT CASE WHEN to_regprocedure('htap.registry_version()') IS NULL THEN 0 "
                                 u"ELSE htap.registry_version() END"_s);
    if (v.ok() && v.toInt64(0, 0) >= kRegistryVersion)
        return {};
    for (const QString& file : pg::engineScripts()) {
        const Result r = m_conn.runScript(pg::sqlFile(file));
        if (!r.ok())
            return u"cannot install the app's registry (sql/%1): %2"_s.arg(file, statementError(r));
    }
    return {};
}

bool MvService::resolve(const QString& name, Resolved* out, QString* error)
{
    if (name.trimmed().isEmpty()) {
        *error = u"no view name given"_s;
        return false;
    }
    const Result has = m_conn.exec(u"SELECT to_regclass('htap.ivm_views') IS NOT NULL"_s);
    const bool hasIvm = has.ok() && has.toBool(0, 0);
    // to_regclass parses the name as SQL does: unquoted parts fold to lower case, "Quoted" keep theirs.
    const Result r = m_conn.exec(
        u"SELECT c.oid, n.nspname, c.relname, c.relkind::text, %1 "
        u"FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)"_s.arg(hasIvm
            ? u"CASE WHEN c.relkind = 'v' THEN coalesce((SELECT v.view_id FROM htap.ivm_views v "
              u"WHERE v.view_schema = n.nspname AND v.view_name = c.relname), 0) ELSE 0 END"_s
            : u"0"_s),
        {name});
    if (!r.ok()) {
        // to_regclass raises for malformed names (e.g. an unbalanced quote).
        *error = u"%1 is not a valid view name: %2"_s.arg(name, r.error().message);
        return false;
    }
    if (r.rowCount() == 0) {
        *error = u"no relation named %1 (unquoted names fold to lower case; quote mixed-case ones: \"Sales\")"_s.arg(name);
        return false;
    }
    out->oid = quint32(r.toInt64(0, 0));
    out->schema = r.text(0, 1);
    out->name = r.text(0, 2);
    out->relkind = r.text(0, 3).isEmpty() ? 0 : r.text(0, 3).toLatin1().at(0);
    out->ivmId = int(r.toInt64(0, 4));
    if (out->relkind != 'm' && out->ivmId == 0) {
        *error = u"%1.%2 is not a materialized view"_s.arg(out->schema, out->name);
        return false;
    }
    return true;
}

QList<ViewInfo> MvService::list(QString* error)
{
    QList<ViewInfo> out;
    const Result reg = m_conn.exec(u"SELECT to_regclass('htap.refresh_log') IS NOT NULL, to_regclass('htap.ivm_views') IS NOT NULL, "
                                   u"to_regprocedure('htap.ivm_capture_off(integer)') IS NOT NULL, "
                                   u"to_regprocedure('htap.ivm_blocker(integer)') IS NOT NULL, "
                                   u"EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('htap.ivm_views') "
                                   u"AND attname = 'engine_version' AND NOT attisdropped), "
                                   u"EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('htap.ivm_capture') "
                                   u"AND attname = 'statements' AND NOT attisdropped), "
                                   u"EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('htap.ivm_views') "
                                   u"AND attname = 'capture_mode' AND NOT attisdropped)"_s);
    if (!reg.ok()) {
        *error = statementError(reg);
        return out;
    }
    const bool hasLog = reg.toBool(0, 0), hasIvm = reg.toBool(0, 1);
    QString sql = uR"(
WITH v AS (
  SELECT c.oid, n.nspname, c.relname, c.relkind, m.ispopulated, htap_pg_size(c.oid) AS bytes,
         NULL::text AS definition, NULL::int AS ivm_id,
         (SELECT string_agg(DISTINCT d.refobjid::regclass::text, ', ') FROM pg_rewrite rw
          JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
           AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> rw.ev_class
          WHERE rw.ev_class = c.oid) AS base_tables,
         NULL::text AS capture_off
  FROM pg_matviews m JOIN pg_namespace n ON n.nspname = m.schemaname
  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = m.matviewname
  WHERE m.schemaname <> 'htap_ivm'
  %1
)
SELECT v.nspname, v.relname, v.ivm_id IS NOT NULL AS incremental, v.ispopulated, v.bytes, v.definition,
       CASE WHEN v.ivm_id IS NOT NULL THEN 'it is maintained incrementally'
            WHEN NOT v.ispopulated THEN 'it is not populated (refresh it once without CONCURRENTLY)'
            WHEN NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = v.oid AND i.indisunique AND i.indisvalid
                               AND i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL)
            THEN 'it has no unique index on plain columns without WHERE' ELSE '' END AS concurrent_blocker,
       coalesce((SELECT l.pid FROM pg_locks l WHERE l.relation = v.oid AND l.granted AND l.pid <> pg_backend_pid()
                   AND l.mode IN ('ExclusiveLock', 'AccessExclusiveLock') LIMIT 1), 0) AS refreshing_pid,
       %2,
       v.base_tables, v.capture_off, @ENGINE@, @LOAD@, @CAPTURE@
FROM v ORDER BY 1, 2)"_s;
    QString ivmRows = hasIvm
        ? uR"(UNION ALL
  SELECT c.oid, i.view_schema, i.view_name, c.relkind, i.state <> 'building',
         (SELECT sum(htap_pg_size(st.oid))::bigint FROM pg_class st WHERE st.relnamespace = 'htap_ivm'::regnamespace
            AND st.relkind = 'r' AND st.relname LIKE 'v' || i.view_id || '\_%'),
         i.definition, i.view_id,
         (SELECT string_agg(DISTINCT CASE WHEN trg ~ '^[0-9]+\|' THEN (SELECT c2.oid::regclass::text FROM pg_class c2 WHERE c2.oid = split_part(trg, '|', 1)::oid)
                   ELSE to_regclass(regexp_replace(trg, '\|[^|]*$', ''))::text END, ', ') FROM unnest(i.triggers) trg),
         %3
  FROM htap.ivm_views i JOIN pg_namespace n ON n.nspname = i.view_schema
  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = i.view_name AND c.relkind = 'v')"_s
        : QString();
    const QString ivmCols = hasIvm
        ? uR"(iv.state, iv.reason, iv.last_merge_ms, p.pending, extract(epoch FROM clock_timestamp() - p.oldest)::float8 AS oldest_s)"_s
        : u"NULL::text, NULL::text, NULL::float8, NULL::bigint, NULL::float8"_s;
    const QString lastCols = hasLog
        ? uR"(lr.mode AS last_mode, extract(epoch FROM lr.started_at)::float8 AS last_start,
       extract(epoch FROM lr.finished_at - lr.started_at)::float8 AS last_duration,
       extract(epoch FROM clock_timestamp() - lr.started_at)::float8 AS since_last)"_s
        : u"NULL::text, NULL::float8, NULL::float8, NULL::float8"_s;
    // A registry from an older build has no ivm_blocker() or ivm_capture_off() yet (listing never installs).
    ivmRows.replace(u"%3"_s, reg.toBool(0, 3) ? u"htap.ivm_blocker(i.view_id)"_s
                            : reg.toBool(0, 2) ? u"(SELECT 'capture trigger ' || min(o.trigger_name || ' on ' || o.table_name) || "
                                                 u"' is disabled or dropped' FROM htap.ivm_capture_off(i.view_id) o HAVING count(*) > 0)"_s
                                            : u"NULL::text"_s);
    sql = sql.arg(ivmRows, ivmCols + u",\n       "_s + lastCols);
    sql.replace(u"@ENGINE@"_s, hasIvm && reg.toBool(0, 4) ? u"iv.engine_version"_s : u"NULL::int"_s);
    const bool hasCaptureMode = hasIvm && reg.toBool(0, 6);
    sql.replace(u"@CAPTURE@"_s, hasCaptureMode ? u"iv.capture_mode"_s : u"'sql'::text"_s);
    // Merges log themselves (htap.ivm_merged) when they applied something: their wall time
    // over the last minute (the refresh_log index on view and start finds them).
    sql.replace(u"@LOAD@"_s, hasLog ? u"ml.merges, ml.seconds"_s : u"NULL::bigint, NULL::float8"_s);
    // Sizes take a lock: behind a plain REFRESH (ACCESS EXCLUSIVE, held or queued) the listing
    // would wait, so such a view's size is estimated from pg_class instead. The definition
    // (pg_get_viewdef) would lock the base tables: it is not listed.
    sql.replace(u"htap_pg_size(c.oid)"_s, u"CASE WHEN EXISTS (SELECT 1 FROM pg_locks l WHERE l.relation = c.oid AND l.mode = 'AccessExclusiveLock') "
                                           u"THEN c.relpages::bigint * current_setting('block_size')::bigint ELSE pg_total_relation_size(c.oid) END"_s);
    sql.replace(u"htap_pg_size(st.oid)"_s,
        u"CASE WHEN EXISTS (SELECT 1 FROM pg_locks l WHERE l.relation = st.oid AND l.mode = 'AccessExclusiveLock') "
        u"THEN st.relpages::bigint * current_setting('block_size')::bigint ELSE pg_total_relation_size(st.oid) END"_s);
    QString joins;
    if (hasIvm)
        joins += u" LEFT JOIN htap.ivm_views iv ON iv.view_id = v.ivm_id LEFT JOIN LATERAL htap.ivm_pending(v.ivm_id) p ON v.ivm_id IS NOT NULL"_s;
    if (hasLog)
        joins += u" LEFT JOIN LATERAL (SELECT * FROM htap.refresh_log r WHERE r.view_name = v.nspname || '.' || v.relname "
                 u"AND r.outcome = 'ok' ORDER BY r.started_at DESC LIMIT 1) lr ON true"_s
                 u" LEFT JOIN LATERAL (SELECT count(*) AS merges, sum(extract(epoch FROM least(r.finished_at, clock_timestamp()) - "
                 u"greatest(r.started_at, clock_timestamp() - interval '60 s')))::float8 AS seconds FROM htap.refresh_log r "
                 u"WHERE r.view_name = v.nspname || '.' || v.relname AND r.mode = 'incremental' AND r.outcome = 'ok' "
                 u"AND r.started_at > clock_timestamp() - interval '70 s' AND r.finished_at > clock_timestamp() - interval '60 s') ml "
                 u"ON v.ivm_id IS NOT NULL"_s;
    sql.replace(u"FROM v ORDER BY"_s, u"FROM v"_s + joins + u" ORDER BY"_s);
    const Result r = m_conn.exec(sql);
    if (!r.ok()) {
        *error = statementError(r);
        return out;
    }
    for (int i = 0; i < r.rowCount(); ++i) {
        ViewInfo v;
        v.schema = r.text(i, 0);
        v.name = r.text(i, 1);
        v.incremental = r.toBool(i, 2);
        v.populated = r.toBool(i, 3);
        v.totalBytes = r.toInt64(i, 4);
        v.definition = r.text(i, 5);
        v.concurrentBlocker = r.text(i, 6);
        v.refreshingPid = int(r.toInt64(i, 7));
        v.ivmState = r.text(i, 8);
        v.ivmReason = r.text(i, 9);
        v.lastMergeMs = r.toDouble(i, 10);
        v.pendingRows = r.toInt64(i, 11);
        v.oldestPendingSeconds = r.isNull(i, 12) ? 0 : r.toDouble(i, 12);
        v.lastMode = r.text(i, 13);
        if (!r.isNull(i, 14))
            v.lastRefresh = QDateTime::fromMSecsSinceEpoch(qint64(r.toDouble(i, 14) * 1000), Qt::UTC);
        v.lastDurationSeconds = r.isNull(i, 15) ? -1 : r.toDouble(i, 15);
        v.baseTables = r.text(i, 17);
        v.engineVersion = r.isNull(i, 19) ? 0 : int(r.toInt64(i, 19));
        if (!r.isNull(i, 18)) {
            // Capture is off, or row-level security filters what the owner reads (found even
            // where no event trigger could flag it): the view cannot be exact.
            v.ivmState = u"needs_rebuild"_s;
            v.ivmReason = r.text(i, 18);
        }
        if (v.incremental) {
            v.captureMode = r.text(i, 22) == u"c"_s ? u"c"_s : u"sql"_s;
            v.mergesLastMinute = r.toInt64(i, 20);
            v.mergeSecondsPerSecond = r.isNull(i, 21) ? 0 : r.toDouble(i, 21) / 60.0;
        }
        if (v.incremental)
            v.stalenessSeconds = v.oldestPendingSeconds;
        else
            v.stalenessSeconds = r.isNull(i, 16) ? -1 : r.toDouble(i, 16);
        out << v;
    }
    if (hasIvm && reg.toBool(0, 5)) {
        // Which views share their capture triggers (the registry of generation 6 on keeps each
        // view's capture statements; a view with capture switched off is left out of them).
        const Result shared = m_conn.exec(uR"(
SELECT DISTINCT v.view_schema, v.view_name, v2.view_schema || '.' || v2.view_name AS other
FROM htap.ivm_capture k JOIN htap.ivm_views v ON v.view_id = k.view_id AND v.capture_on
JOIN htap.ivm_capture k2 ON k2.root = k.root AND k2.view_id <> k.view_id AND cardinality(k2.statements) > 0
JOIN htap.ivm_views v2 ON v2.view_id = k2.view_id AND v2.capture_on @SAME_MODE@
WHERE cardinality(k.statements) > 0
ORDER BY 1, 2, 3)"_s.replace(u"@SAME_MODE@"_s, hasCaptureMode ? u"AND v2.capture_mode = v.capture_mode"_s : QString()));
        for (int i = 0; shared.ok() && i < shared.rowCount(); ++i)
            for (ViewInfo& v : out)
                if (v.incremental && v.schema == shared.text(i, 0) && v.name == shared.text(i, 1))
                    v.captureSharedWith << shared.text(i, 2);
    }
    return out;
}

bool MvService::find(const QString& name, ViewInfo* out, QString* error)
{
    Resolved res;
    if (!resolve(name, &res, error))
        return false;
    const QList<ViewInfo> all = list(error);
    for (const ViewInfo& v : all) {
        if (v.schema == res.schema && v.name == res.name) {
            *out = v;
            return true;
        }
    }
    if (error->isEmpty())
        *error = u"%1.%2 is not listed"_s.arg(res.schema, res.name);
    return false;
}

void MvService::closeInterruptedLog()
{
    // Sessions that died mid-refresh leave 'running' rows behind.
    m_conn.exec(u"UPDATE htap.refresh_log SET outcome = 'failed', finished_at = NULL, message = 'interrupted: its session ended' "
                u"WHERE outcome = 'running' AND pid IS NOT NULL AND pid NOT IN (SELECT pid FROM pg_stat_activity)"_s);
}

RefreshOutcome MvService::runLogged(const Resolved& view, RefreshMode mode, const QString& sql, bool rowsFromResult)
{
    RefreshOutcome out;
    const QString label = view.schema + u'.' + view.name;
    closeInterruptedLog();
    const Result start = m_conn.exec(
        u"INSERT INTO htap.refresh_log (view_name, mode, started_at, outcome) VALUES ($1, $2, clock_timestamp(), 'running') RETURNING id"_s,
        {label, modeName(mode)});
    const qint64 logId = start.ok() ? start.toInt64(0, 0) : 0;
    QElapsedTimer timer;
    timer.start();
    const Result r = m_conn.exec(sql);
    out.seconds = timer.nsecsElapsed() / 1e9;
    if (r.ok()) {
        out.ok = true;
        if (rowsFromResult && r.rowCount() == 1)
            out.rows = r.toInt64(0, 0);
        if (out.rows < 0 && mode != RefreshMode::Incremental) {
            const Result n = m_conn.exec(u"SELECT reltuples::bigint FROM pg_class WHERE oid = $1"_s, {view.oid});
            if (n.ok() && n.rowCount() == 1)
                out.rows = n.toInt64(0, 0);
        }
    } else {
        out.cancelled = r.error().kind == pg::PgError::Kind::Cancelled || r.error().sqlstate == u"57014"_s;
        out.sqlstate = r.error().sqlstate;
        out.message = r.error().message;
        if (r.error().sqlstate == u"55P03"_s && mode == RefreshMode::Plain)
            out.message += u" (readers held the view; a plain refresh waits at most the lock timeout so it never queues them all)"_s;
    }
    if (logId) {
        m_conn.exec(u"UPDATE htap.refresh_log SET finished_at = clock_timestamp(), rows = $2, outcome = $3, sqlstate = $4, message = $5 WHERE id = $1"_s,
            {logId, out.rows < 0 ? QVariant() : QVariant(out.rows),
                out.ok ? u"ok"_s : (out.cancelled ? u"cancelled"_s : u"failed"_s),
                out.sqlstate.isEmpty() ? QVariant() : QVariant(out.sqlstate), out.message.isEmpty() ? QVariant() : QVariant(out.message)});
    }
    return out;
}

RefreshOutcome MvService::refresh(const QString& name, RefreshMode mode, int lockTimeoutMs)
{
    RefreshOutcome fail;
    Resolved view;
    QString error;
    if (!resolve(name, &view, &error)) {
        fail.message = error;
        return fail;
    }
    if (const QString e = ensureRegistry(); !e.isEmpty()) {
        fail.message = e;
        return fail;
    }
    const QString label = view.schema + u'.' + view.name;
    const QString qualified = quoteQualified(view.schema, view.name);

    if (view.ivmId) {
        if (mode == RefreshMode::Plain || mode == RefreshMode::Concurrent) {
            fail.message = u"%1 is maintained incrementally: merge it (--mode incremental) or rebuild it (--mode rebuild)"_s.arg(label);
            return fail;
        }
        const Result reg = m_conn.exec(
            u"SELECT merge_function, rebuild_procedure, "
            u"CASE WHEN state = 'needs_rebuild' THEN coalesce(reason, 'flagged') ELSE htap.ivm_blocker(view_id) END "
            u"FROM htap.ivm_views WHERE view_id = $1"_s,
            {view.ivmId});
        if (!reg.ok() || reg.rowCount() != 1) {
            fail.message = reg.ok() ? u"%1 is no longer registered"_s.arg(label) : statementError(reg);
            // Cancelled (or timed out) before the merge started: a cancellation all the same.
            fail.sqlstate = reg.ok() ? QString() : reg.error().sqlstate;
            fail.cancelled = !reg.ok() && (reg.error().kind == pg::PgError::Kind::Cancelled || fail.sqlstate == u"57014"_s);
            return fail;
        }
        if (mode == RefreshMode::Incremental && !reg.isNull(0, 2)) {
            // Changes slipped by capture: a merge would fold in what was captured, report success
            // and leave the view wrong. Rebuilding is the operator's call (it costs a full build).
            fail.sqlstate = u"55000"_s;
            fail.message = u"%1 needs a full rebuild (%2): a merge cannot make it exact; rebuild it (--mode rebuild, or Full "
                           u"rebuild on the Views page)"_s.arg(label, reg.text(0, 2));
            return fail;
        }
        if (mode == RefreshMode::Incremental) {
            // The merge logs itself (so that pg_cron merges are logged too).
            QElapsedTimer t;
            t.start();
            const Result r = m_conn.exec(u"SELECT %1()"_s.arg(reg.text(0, 0)));
            RefreshOutcome out;
            out.seconds = t.nsecsElapsed() / 1e9;
            if (!r.ok()) {
                out.cancelled = r.error().kind == pg::PgError::Kind::Cancelled;
                out.sqlstate = r.error().sqlstate;
                out.message = r.error().message;
                return out;
            }
            out.rows = r.toInt64(0, 0);
            if (out.rows < 0) {
                out.message = u"another merge or a rebuild of %1 is running; this one was skipped"_s.arg(label);
                out.rows = 0;
                return out;
            }
            out.ok = true;
            return out;
        }
        // Capture must run again before the state is rebuilt (a disabled trigger or a view's
        // capture switched off is a common reason for a rebuild): switch it back on, with the
        // caller's rights. Generation 6: its tables' shared capture is regenerated too, which
        // puts back a capture trigger that was dropped.
        // (A registry before version 14 has no per-view switch.)
        Result on = m_conn.exec(u"SELECT to_regprocedure('htap.ivm_set_capture(integer, boolean)') IS NOT NULL"_s);
        if (on.ok() && on.toBool(0, 0))
            on = m_conn.exec(u"SELECT htap.ivm_set_capture(view_id, true) FROM htap.ivm_views WHERE view_id = $1 AND (NOT capture_on "
                             u"OR EXISTS (SELECT 1 FROM htap.ivm_capture k WHERE k.view_id = $1 AND cardinality(k.statements) > 0))"_s,
                {view.ivmId});
        if (!on.ok()) {
            fail.message = u"capture of %1 is switched off and could not be switched on again: %2"_s.arg(label, statementError(on));
            return fail;
        }
        const Result off = m_conn.exec(u"SELECT table_name, trigger_name FROM htap.ivm_capture_off($1)"_s, {view.ivmId});
        for (int i = 0; off.ok() && i < off.rowCount(); ++i) {
            // The table text is the registry's quoted name; it goes through to_regclass first.
            const Result t = m_conn.exec(u"SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                         u"WHERE c.oid = to_regclass($1)"_s, {off.text(i, 0)});
            if (!t.ok() || t.rowCount() != 1) {
                fail.message = u"capture trigger %1 of %2 is missing with its table: disable and enable incremental maintenance again"_s
                                   .arg(off.text(i, 1), label);
                return fail;
            }
            const Result e = m_conn.exec(u"ALTER TABLE %1 ENABLE ALWAYS TRIGGER %2"_s.arg(
                quoteQualified(t.text(0, 0), t.text(0, 1)), quoteIdentifier(off.text(i, 1))));
            if (!e.ok()) {
                fail.message = u"capture trigger %1 on %2 is disabled and could not be enabled again: %3"_s.arg(
                    off.text(i, 1), t.text(0, 1), statementError(e));
                return fail;
            }
        }
        // The rebuild is one transaction (rebuild_tx): interrupted, the old state stays whole.
        if (interrupted()) {
            fail.cancelled = true;
            fail.message = u"interrupted before the rebuild of %1 started"_s.arg(label);
            return fail;
        }
        const ClientCheck check(m_conn);
        RefreshOutcome o = runLogged(view, RefreshMode::Rebuild, u"CALL %1()"_s.arg(reg.text(0, 1)), false);
        if (QString note; o.ok && !settle(view.ivmId, &note))
            o.message = o.message.isEmpty() ? note : o.message + u"; "_s + note;
        return o;
    }

    if (mode == RefreshMode::Incremental || mode == RefreshMode::Rebuild) {
        fail.message = u"%1 is not maintained incrementally; enable it first (htapctl mv enable-incremental)"_s.arg(label);
        return fail;
    }
    if (mode == RefreshMode::Concurrent) {
        const Result c = m_conn.exec(
            u"SELECT m.ispopulated, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = $1 AND i.indisunique AND i.indisvalid "
            u"AND i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL) FROM pg_matviews m "
            u"JOIN pg_namespace n ON n.nspname = m.schemaname JOIN pg_class c ON c.relname = m.matviewname AND c.relnamespace = n.oid "
            u"WHERE c.oid = $1"_s,
            {view.oid});
        if (c.ok() && c.rowCount() == 1) {
            if (!c.toBool(0, 0)) {
                fail.message = u"%1 is not populated: REFRESH ... CONCURRENTLY needs data to compare with; refresh it plain once"_s.arg(label);
                return fail;
            }
            if (!c.toBool(0, 1)) {
                fail.message = u"%1 has no unique index on plain columns without a WHERE clause, which REFRESH ... CONCURRENTLY needs"_s.arg(label);
                return fail;
            }
        }
    }
    // One refresh per view at a time, whoever runs it: our lock, then anyone else's.
    const Result lock = m_conn.exec(u"SELECT pg_try_advisory_lock($1, $2::oid::int)"_s, {kRefreshLockClass, view.oid});
    if (!lock.ok() || !lock.toBool(0, 0)) {
        const Result who = m_conn.exec(
            u"SELECT l.pid, r.started_at FROM pg_locks l LEFT JOIN LATERAL (SELECT started_at FROM htap.refresh_log "
            u"WHERE view_name = $3 AND outcome = 'running' ORDER BY started_at DESC LIMIT 1) r ON true "
            u"WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2::oid AND l.granted LIMIT 1"_s,
            {kRefreshLockClass, view.oid, label});
        fail.message = who.ok() && who.rowCount() == 1
            ? u"a refresh of %1 is already running (pid %2, since %3)"_s.arg(label, who.text(0, 0), who.text(0, 1))
            : u"a refresh of %1 is already running"_s.arg(label);
        return fail;
    }
    const Result other = m_conn.exec(
        u"SELECT pid FROM pg_locks WHERE relation = $1 AND granted AND mode IN ('ExclusiveLock', 'AccessExclusiveLock') "
        u"AND pid <> pg_backend_pid() LIMIT 1"_s,
        {view.oid});
    RefreshOutcome out;
    if (other.ok() && other.rowCount() == 1) {
        out.message = u"%1 is being refreshed by another session (pid %2)"_s.arg(label, other.text(0, 0));
    } else {
        // A plain refresh takes ACCESS EXCLUSIVE: queued behind a long report it would block every
        // later reader, so it gives up after the lock timeout instead.
        const int timeout = mode == RefreshMode::Plain ? lockTimeoutMs : 0;
        m_conn.exec(u"SELECT set_config('lock_timeout', $1, false)"_s, {QString::number(timeout)});
        const ClientCheck check(m_conn);
        out = runLogged(view, mode,
            u"REFRESH MATERIALIZED VIEW %1%2"_s.arg(mode == RefreshMode::Concurrent ? u"CONCURRENTLY "_s : QString(), qualified),
            false);
        m_conn.exec(u"RESET lock_timeout"_s);
    }
    m_conn.exec(u"SELECT pg_advisory_unlock($1, $2::oid::int)"_s, {kRefreshLockClass, view.oid});
    return out;
}

QList<RefreshLogEntry> MvService::log(const QString& view, int limit, QString* error)
{
    QList<RefreshLogEntry> out;
    QString label;
    if (!view.isEmpty()) {
        Resolved res;
        if (!resolve(view, &res, error))
            return out;
        label = res.schema + u'.' + res.name;
    }
    const Result r = m_conn.exec(
        u"SELECT id, view_name, mode, extract(epoch FROM started_at)::float8, extract(epoch FROM finished_at)::float8, rows, "
        u"outcome, sqlstate, message, by_role, by_app FROM htap.refresh_log WHERE ($1::text IS NULL OR view_name = $1) "
        u"ORDER BY started_at DESC, id DESC LIMIT $2"_s,
        {label.isEmpty() ? QVariant() : QVariant(label), limit});
    if (!r.ok()) {
        *error = r.error().sqlstate == u"42P01"_s ? u"no refresh log on this server yet (htap.refresh_log)"_s : statementError(r);
        return out;
    }
    for (int i = 0; i < r.rowCount(); ++i) {
        RefreshLogEntry e;
        e.id = r.toInt64(i, 0);
        e.view = r.text(i, 1);
        e.mode = r.text(i, 2);
        e.started = QDateTime::fromMSecsSinceEpoch(qint64(r.toDouble(i, 3) * 1000), Qt::UTC);
        if (!r.isNull(i, 4))
            e.finished = QDateTime::fromMSecsSinceEpoch(qint64(r.toDouble(i, 4) * 1000), Qt::UTC);
        e.rows = r.isNull(i, 5) ? -1 : r.toInt64(i, 5);
        e.outcome = r.text(i, 6);
        e.sqlstate = r.text(i, 7);
        e.message = r.text(i, 8);
        e.byRole = r.text(i, 9);
        e.byApp = r.text(i, 10);
        out << e;
    }
    return out;
}


} // namespace htap::mv
