#include "mvservice.h"

#include <pg/identifier.h>
#include "ivmsql.h"
#include <pg/sqlfile.h>
#include "viewquery.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QRegularExpression>
#include <QSet>

#include <utility>

using namespace Qt::StringLiterals;
using htap::pg::quoteIdentifier;
using htap::pg::quoteQualified;
using htap::pg::Result;

namespace htap::mv {

namespace {

/// The class of the session-level lock that keeps two refreshes of one view apart ("HTMV").
constexpr int kRefreshLockClass = 0x48544d56;

/// htap.registry_version() of sql/htap/*.sql as this build ships them.
constexpr int kRegistryVersion = 4;

QJsonValue timeJson(const QDateTime& t)
{
    return t.isValid() ? QJsonValue(t.toUTC().toString(Qt::ISODateWithMs)) : QJsonValue();
}

QString statementError(const Result& r)
{
    return r.error().oneLine();
}

/// GRANT statements that give `target` the privileges relation `oid` grants to others (its
/// owner's own excepted): a view keeps its grants when it changes form. Empty on error.
QStringList grantsOf(pg::Connection& conn, quint32 oid, const QString& target, QString* error)
{
    const Result r = conn.exec(u"SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN '' ELSE pg_get_userbyid(a.grantee) END "
                               u"FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = $1::oid AND a.grantee <> c.relowner"_s,
        {oid});
    if (!r.ok()) {
        *error = statementError(r);
        return {};
    }
    QStringList out;
    for (int i = 0; i < r.rowCount(); ++i)
        out << u"GRANT %1 ON %2 TO %3"_s.arg(r.text(i, 0), target, r.text(i, 1).isEmpty() ? u"PUBLIC"_s : quoteIdentifier(r.text(i, 1)));
    return out;
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
    return o;
}

MvService::MvService(pg::Connection& connection) : m_conn(connection) {}

QList<Schedule> MvService::schedules(QString* error)
{
    QList<Schedule> out;
    const Result has = m_conn.exec(u"SELECT to_regclass('htap.refresh_schedule') IS NOT NULL"_s);
    if (!has.ok() || !has.toBool(0, 0))
        return out;
    const Result r = m_conn.exec(u"SELECT view_name, mode, every_seconds, runner, coalesce(cron_jobid, 0) FROM htap.refresh_schedule ORDER BY 1"_s);
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
        out << sch;
    }
    return out;
}

QString MvService::setSchedule(const QString& name, RefreshMode mode, int everySeconds, const QString& runner)
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
    const Result r = m_conn.exec(u"INSERT INTO htap.refresh_schedule (view_name, mode, every_seconds, runner, cron_jobid) "
                                 u"VALUES ($1, $2, $3, $4, $5)"_s,
        {label, modeName(mode), everySeconds, runner, job ? QVariant(job) : QVariant()});
    return r.ok() ? QString() : statementError(r);
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
    for (const QString& file : {u"htap/registry.sql"_s, u"htap/ivm.sql"_s}) {
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

void MvService::dropStaleEngines()
{
    if (m_conn.inTransaction()) // its COMMIT would commit the caller's work
        return;
    // A maintained view dropped behind our back (DROP VIEW, DROP SCHEMA ... CASCADE) leaves its
    // registry row and engine objects: remove them, so that a new view of that name starts clean.
    const Result stale = m_conn.exec(
        u"SELECT v.view_id, v.uninstall FROM htap.ivm_views v WHERE NOT EXISTS (SELECT 1 FROM pg_class c "
        u"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = v.view_schema AND c.relname = v.view_name AND c.relkind = 'v')"_s);
    for (int i = 0; stale.ok() && i < stale.rowCount(); ++i) {
        // An engine being enabled has no view yet: its session holds the view's lock.
        const Result free = m_conn.exec(u"SELECT pg_try_advisory_lock($1, $2)"_s, {kIvmLockClass, stale.toInt64(i, 0)});
        if (!free.ok() || !free.toBool(0, 0))
            continue;
        m_conn.exec(u"SELECT pg_advisory_unlock($1, $2)"_s, {kIvmLockClass, stale.toInt64(i, 0)});
        m_conn.exec(u"BEGIN"_s);
        const Result un = m_conn.exec(u"SELECT unnest($1::text[])"_s, {stale.text(i, 1)});
        for (int k = 0; un.ok() && k < un.rowCount(); ++k)
            m_conn.exec(un.text(k, 0));
        m_conn.exec(u"DELETE FROM htap.ivm_views WHERE view_id = $1"_s, {stale.toInt64(i, 0)});
        m_conn.exec(u"COMMIT"_s);
    }
}

QList<ViewInfo> MvService::list(QString* error)
{
    QList<ViewInfo> out;
    const Result reg = m_conn.exec(u"SELECT to_regclass('htap.refresh_log') IS NOT NULL, to_regclass('htap.ivm_views') IS NOT NULL, "
                                   u"to_regprocedure('htap.ivm_capture_off(integer)') IS NOT NULL, "
                                   u"EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('htap.ivm_views') "
                                   u"AND attname = 'engine_version' AND NOT attisdropped)"_s);
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
       v.base_tables, v.capture_off, @ENGINE@
FROM v ORDER BY 1, 2)"_s;
    QString ivmRows = hasIvm
        ? uR"(UNION ALL
  SELECT c.oid, i.view_schema, i.view_name, c.relkind, i.state <> 'building',
         (SELECT sum(htap_pg_size(st.oid))::bigint FROM pg_class st WHERE st.relnamespace = 'htap_ivm'::regnamespace
            AND st.relkind = 'r' AND st.relname LIKE 'v' || i.view_id || '\_%'),
         i.definition, i.view_id,
         (SELECT string_agg(DISTINCT to_regclass(regexp_replace(trg, '\|[^|]*$', ''))::text, ', ') FROM unnest(i.triggers) trg),
         %3
  FROM htap.ivm_views i JOIN pg_namespace n ON n.nspname = i.view_schema
  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = i.view_name)"_s
        : QString();
    const QString ivmCols = hasIvm
        ? uR"(iv.state, iv.reason, iv.last_merge_ms, p.pending, extract(epoch FROM clock_timestamp() - p.oldest)::float8 AS oldest_s)"_s
        : u"NULL::text, NULL::text, NULL::float8, NULL::bigint, NULL::float8"_s;
    const QString lastCols = hasLog
        ? uR"(lr.mode AS last_mode, extract(epoch FROM lr.started_at)::float8 AS last_start,
       extract(epoch FROM lr.finished_at - lr.started_at)::float8 AS last_duration,
       extract(epoch FROM clock_timestamp() - lr.started_at)::float8 AS since_last)"_s
        : u"NULL::text, NULL::float8, NULL::float8, NULL::float8"_s;
    // A registry from an older build has no ivm_capture_off() yet (listing never installs).
    ivmRows.replace(u"%3"_s, reg.toBool(0, 2) ? u"(SELECT min(o.trigger_name || ' on ' || o.table_name) FROM htap.ivm_capture_off(i.view_id) o)"_s
                                            : u"NULL::text"_s);
    sql = sql.arg(ivmRows, ivmCols + u",\n       "_s + lastCols);
    sql.replace(u"@ENGINE@"_s, hasIvm && reg.toBool(0, 3) ? u"iv.engine_version"_s : u"NULL::int"_s);
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
                 u"AND r.outcome = 'ok' ORDER BY r.started_at DESC LIMIT 1) lr ON true"_s;
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
            // Capture is off (found even where no event trigger could flag it): changes slip by.
            v.ivmState = u"needs_rebuild"_s;
            v.ivmReason = u"capture trigger %1 is disabled or dropped"_s.arg(r.text(i, 18));
        }
        if (v.incremental)
            v.stalenessSeconds = v.oldestPendingSeconds;
        else
            v.stalenessSeconds = r.isNull(i, 16) ? -1 : r.toDouble(i, 16);
        out << v;
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

RefreshOutcome MvService::runLogged(const Resolved& view, RefreshMode mode, const QString& sql, bool rowsFromResult)
{
    RefreshOutcome out;
    const QString label = view.schema + u'.' + view.name;
    // Sessions that died mid-refresh leave 'running' rows behind: close them first.
    m_conn.exec(u"UPDATE htap.refresh_log SET outcome = 'failed', finished_at = NULL, message = 'interrupted: its session ended' "
                u"WHERE outcome = 'running' AND pid IS NOT NULL AND pid NOT IN (SELECT pid FROM pg_stat_activity)"_s);
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
        const Result reg = m_conn.exec(u"SELECT merge_function, rebuild_procedure FROM htap.ivm_views WHERE view_id = $1"_s, {view.ivmId});
        if (!reg.ok() || reg.rowCount() != 1) {
            fail.message = reg.ok() ? u"%1 is no longer registered"_s.arg(label) : statementError(reg);
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
        // Capture must run again before the state is rebuilt (a disabled trigger is a common
        // reason for a rebuild): switch it back on, with the caller's rights.
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

// ---------------------------------------------------------------------------------------------
// The incremental engine's life cycle.

struct EnginePrep {
    QString definition; ///< with every name schema-qualified
    QStringList columns, types;
    QStringList indexDefs;
    QString owner;
    QStringList grants; ///< GRANT statements for the view under its own name
    IvmPlan plan;
    QStringList storeNotes; ///< how each count(DISTINCT) keeps its pairs, and why
};

QString MvService::prepareEngine(const Resolved& view, EnginePrep* prep)
{
    const QString label = view.schema + u'.' + view.name;
    if (m_conn.serverVersionNum() < 150000)
        return u"the incremental engine needs PostgreSQL 15 or later (UNIQUE NULLS NOT DISTINCT); this server is %1"_s.arg(
            m_conn.serverVersion());
    // Its steps open and commit their own transactions: inside a caller's they would commit it.
    if (m_conn.inTransaction())
        return u"the incremental engine of %1 cannot be planned or enabled inside a transaction block"_s.arg(label);
    // Under search_path pg_catalog every name in the definition comes out schema-qualified, so
    // the generated functions (which run with that search_path) mean exactly the same objects.
    Result r = m_conn.exec(u"BEGIN"_s);
    if (r.ok())
        r = m_conn.exec(u"SET LOCAL search_path TO pg_catalog, pg_temp"_s);
    if (r.ok())
        r = m_conn.exec(u"SELECT pg_get_viewdef($1::oid), pg_get_userbyid(c.relowner), "
                        u"ARRAY(SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = c.oid ORDER BY i.indexrelid), "
                        u"rw.ev_action "
                        u"FROM pg_class c JOIN pg_rewrite rw ON rw.ev_class = c.oid WHERE c.oid = $1::oid"_s,
            {view.oid});
    m_conn.exec(u"COMMIT"_s);
    if (!r.ok() || r.rowCount() != 1)
        return u"cannot read the definition of %1: %2"_s.arg(label, r.ok() ? u"not found"_s : statementError(r));
    prep->definition = r.text(0, 0).trimmed();
    if (prep->definition.endsWith(u';'))
        prep->definition.chop(1);
    prep->owner = r.text(0, 1);
    const QString indexArray = r.text(0, 2);
    const QString action = r.text(0, 3);

    // Every function the query calls must be immutable: capture and rebuild run at different times.
    QSet<qint64> funcs;
    static const QRegularExpression funcRe(u":(?:funcid|opfuncid) (\\d+)"_s);
    for (auto it = funcRe.globalMatch(action); it.hasNext();)
        funcs.insert(it.next().captured(1).toLongLong());
    if (!funcs.isEmpty()) {
        QStringList ids;
        for (qint64 f : std::as_const(funcs))
            ids << QString::number(f);
        const Result v = m_conn.exec(u"SELECT p.oid::regprocedure::text, p.provolatile FROM pg_proc p "
                                     u"WHERE p.oid = ANY ($1::oid[]) AND p.provolatile <> 'i' ORDER BY 1 LIMIT 1"_s,
            {QVariant(u"{"_s + ids.join(u',') + u"}"_s)});
        if (!v.ok())
            return statementError(v);
        if (v.rowCount() == 1)
            return u"%1 calls %2, which is %3, not immutable: its result could differ between capture and rebuild "
                   u"(e.g. date_trunc on timestamptz depends on the session's TimeZone)"_s.arg(
                       label, v.text(0, 0), v.text(0, 1) == u"s"_s ? u"stable"_s : u"volatile"_s);
    }

    // CURRENT_DATE, LOCALTIMESTAMP and the like have no function to check: they change by themselves.
    if (action.contains(u"{SQLVALUEFUNCTION"_s))
        return u"%1 uses CURRENT_DATE, CURRENT_TIMESTAMP, LOCALTIMESTAMP or a similar value: its rows would age "
               u"without any change to capture"_s.arg(label);
    // A cast through text (e.g. timestamptz::text) runs the types' I/O functions, some of which
    // depend on settings (DateStyle, TimeZone).
    static const QRegularExpression ioRe(u"\\{COERCEVIAIO :arg \\{\\w+ .*?:(?:vartype|consttype|funcresulttype|opresulttype) (\\d+).*?:resulttype (\\d+)"_s);
    for (auto it = ioRe.globalMatch(action); it.hasNext();) {
        const QRegularExpressionMatch m = it.next();
        const Result io = m_conn.exec(
            u"SELECT format_type($1::oid, NULL) || ' to ' || format_type($2::oid, NULL) FROM pg_type s, pg_type d "
            u"JOIN pg_proc pi ON pi.oid = d.typinput WHERE s.oid = $1::oid AND d.oid = $2::oid "
            u"AND (pi.provolatile <> 'i' OR (SELECT provolatile FROM pg_proc WHERE oid = s.typoutput) <> 'i')"_s,
            {m.captured(1), m.captured(2)});
        if (io.ok() && io.rowCount() == 1)
            return u"%1 casts %2 through text, which depends on session settings (DateStyle, TimeZone): not immutable"_s.arg(
                label, io.text(0, 0));
    }

    r = m_conn.exec(u"SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::oid "
                    u"AND attnum > 0 AND NOT attisdropped ORDER BY attnum"_s,
        {view.oid});
    if (!r.ok())
        return statementError(r);
    for (int i = 0; i < r.rowCount(); ++i) {
        prep->columns << r.text(i, 0);
        prep->types << r.text(i, 1);
    }
    QString grantError;
    prep->grants = grantsOf(m_conn, view.oid, quoteQualified(view.schema, view.name), &grantError);
    if (!grantError.isEmpty())
        return grantError;
    r = m_conn.exec(u"SELECT unnest($1::text[])"_s, {indexArray});
    for (int i = 0; r.ok() && i < r.rowCount(); ++i)
        prep->indexDefs << r.text(i, 0);

    // Other views built on this one would have to be dropped with it.
    r = m_conn.exec(u"SELECT DISTINCT rw.ev_class::regclass::text FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid "
                    u"WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = $1::oid AND rw.ev_class <> $1::oid"_s,
        {view.oid});
    if (r.ok() && r.rowCount() > 0) {
        QStringList deps;
        for (int i = 0; i < r.rowCount(); ++i)
            deps << r.text(i, 0);
        return u"%1 is used by %2; the engine replaces the materialized view by a view, which would drop them"_s.arg(
            label, deps.join(u", "_s));
    }

    ViewQuery query;
    QString error;
    if (!query.parse(prep->definition, &error))
        return error;
    QHash<QString, TableInfo> infos;
    for (const TableRef& t : query.tables()) {
        const Result c = m_conn.exec(
            u"SELECT c.oid, c.relkind::text, "
            u"(SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            u"  WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1), "
            u"(SELECT format_type(a.atttypid, a.atttypmod) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            u"  AND a.attnum = i.indkey[0] WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1), "
            u"ARRAY(SELECT quote_ident(cn.nspname) || '.' || quote_ident(cc.relname) || '.' || quote_ident(ca.attname) "
            u"  FROM pg_constraint k JOIN pg_class cc ON cc.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace "
            u"  JOIN pg_attribute ca ON ca.attrelid = k.conrelid AND ca.attnum = k.conkey[1] "
            u"  WHERE k.contype = 'f' AND k.confrelid = c.oid AND cardinality(k.conkey) = 1 AND NOT k.condeferrable "
            u"  AND k.convalidated AND k.confkey[1] = (SELECT i.indkey[0] FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)), "
            u"EXISTS (SELECT 1 FROM pg_subscription_rel sr WHERE sr.srrelid = c.oid) "
            u"FROM pg_class c WHERE c.oid = to_regclass($1)"_s,
            {quoteQualified(t.schema.isEmpty() ? u"public"_s : t.schema, t.name)});
        if (!c.ok())
            return statementError(c);
        if (c.rowCount() != 1)
            return u"base table %1.%2 was not found"_s.arg(t.schema, t.name);
        if (c.text(0, 1) != u"r"_s)
            continue; // not a plain table: analyze() names it
        if (c.toBool(0, 5))
            return u"%1 reads %2.%3, which a logical-replication subscription fills: its apply worker fires no "
                   u"statement triggers, so changes could not be captured"_s.arg(label, t.schema, t.name);
        TableInfo info;
        info.primaryKey = c.text(0, 2);
        info.primaryKeyType = c.text(0, 3);
        const Result fk = m_conn.exec(u"SELECT unnest($1::text[])"_s, {c.text(0, 4)});
        for (int i = 0; fk.ok() && i < fk.rowCount(); ++i) {
            // Compare unquoted, as the plan spells names.
            QString ref = fk.text(i, 0);
            ref.remove(u'"');
            info.referencedBy << ref;
        }
        infos.insert(t.refName, info);
    }
    const QString refusal = query.analyze(prep->columns, infos, &prep->plan);
    if (!refusal.isEmpty())
        return u"the engine cannot maintain %1: %2. It maintains %3."_s.arg(label, refusal, supportedShapes());
    for (int i = 0; i < prep->plan.outputs.size(); ++i)
        prep->plan.outputs[i].type = prep->types.value(i);
    // How each count(DISTINCT col) keeps its (group, value) pairs. With an index leading with col
    // on its table: pairs checked against that index instead of reference counts (a fraction of
    // the merge's cost); for an integer col whose pairs are dense enough (measured on a sample of
    // blocks, at most 10 s; pairs when in doubt), bitmaps (a row written per block, not per pair).
    if (prep->plan.shape == IvmPlan::Shape::Aggregate) {
        using Store = OutputColumn::DistinctStore;
        const TableRef& t = prep->plan.tables.first().ref;
        for (int j = 0; j < prep->plan.outputs.size(); ++j) {
            OutputColumn& o = prep->plan.outputs[j];
            if (o.kind != OutputColumn::Kind::CountDistinct)
                continue;
            const QString arg = o.argColumn.isEmpty() ? o.expr : quoteIdentifier(o.argColumn);
            const Result ix = o.argColumn.isEmpty()
                ? Result()
                : m_conn.exec(u"SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indkey[0] = a.attnum "
                              u"AND i.indisvalid AND i.indpred IS NULL), a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) "
                              u"FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attname = $2"_s,
                      {quoteQualified(t.schema.isEmpty() ? u"public"_s : t.schema, t.name), o.argColumn});
            if (!ix.ok() || ix.rowCount() != 1 || !ix.toBool(0, 0)) {
                prep->storeNotes << u"%1: count(DISTINCT %2) kept as reference counts (an index leading with %2 on its table "
                                    u"would make merges faster)"_s.arg(o.name, arg);
                continue;
            }
            if (!ix.toBool(0, 1)) {
                o.distinctStore = Store::Pairs;
                prep->storeNotes << u"%1: count(DISTINCT %2) kept as pairs checked against its index"_s.arg(o.name, arg);
                continue;
            }
            // In a transaction of its own (there is no caller's: refused above), so that its
            // timeout (10 s, or the session's if lower) ends with it.
            Result d;
            if (m_conn.exec(u"BEGIN"_s).ok()) {
                m_conn.exec(u"SELECT set_config('statement_timeout', '10s', true) FROM pg_settings "
                            u"WHERE name = 'statement_timeout' AND (setting::bigint = 0 OR setting::bigint > 10000)"_s);
                d = m_conn.exec(distinctDensityQuery(prep->plan, j));
                m_conn.exec(u"ROLLBACK"_s);
            }
            const bool measuredDensity = d.ok() && !d.isNull(0, 0);
            const double density = measuredDensity ? d.text(0, 0).toDouble() : 0.0;
            o.distinctStore = density >= kBitmapMinDensity ? Store::Bitmaps : Store::Pairs;
            const QString measured = !d.ok() ? u"density not measured: %1"_s.arg(statementError(d))
                : d.isNull(0, 0)             ? u"no values to measure density on"_s
                                             : u"%1 values per block of %2"_s.arg(density, 0, 'f', 1).arg(1 << kDistinctBlockShift);
            prep->storeNotes << u"%1: count(DISTINCT %2) kept as %3 (%4)"_s.arg(o.name, arg,
                o.distinctStore == Store::Bitmaps ? u"bitmaps"_s
                    : measuredDensity             ? u"pairs, too sparse for bitmaps"_s
                                                  : u"pairs"_s,
                measured);
        }
    }
    if (prep->definition.contains(u"$ivm$"_s))
        return u"the definition contains the text $ivm$, which the generated functions use as their quote"_s;
    return {};
}

QString MvService::checkIncremental(const QString& name, QString* planText)
{
    Resolved view;
    QString error;
    if (!resolve(name, &view, &error))
        return error;
    if (view.ivmId)
        return u"%1.%2 is already maintained incrementally"_s.arg(view.schema, view.name);
    EnginePrep prep;
    if (const QString e = prepareEngine(view, &prep); !e.isEmpty())
        return e;
    if (planText) {
        const IvmSql sql = generateIvmSql(prep.plan, 0, view.schema, view.name);
        QString header;
        for (const QString& note : std::as_const(prep.storeNotes))
            header += u"-- "_s + QString(note).replace(u'\n', u' ') + u'\n';
        *planText = header + (sql.install + sql.indexes + QStringList {sql.createView}).join(u";\n\n"_s) + u";\n"_s;
    }
    return {};
}

QString MvService::enableIncremental(const QString& name, QString* notes)
{
    if (m_conn.exec(u"SELECT to_regclass('htap.ivm_views') IS NOT NULL"_s).toBool(0, 0))
        dropStaleEngines();
    Resolved view;
    QString error;
    if (!resolve(name, &view, &error))
        return error;
    const QString label = view.schema + u'.' + view.name;
    if (view.ivmId)
        return u"%1 is already maintained incrementally"_s.arg(label);
    EnginePrep prep;
    if (const QString e = prepareEngine(view, &prep); !e.isEmpty())
        return e;
    if (const QString e = ensureRegistry(); !e.isEmpty())
        return e;

    Result r = m_conn.exec(u"SELECT nextval(pg_get_serial_sequence('htap.ivm_views', 'view_id'))"_s);
    if (!r.ok())
        return statementError(r);
    const int id = int(r.toInt64(0, 0));
    const IvmSql sql = generateIvmSql(prep.plan, id, view.schema, view.name);
    // Held until the view is in place: no merge runs meanwhile, and no cleanup takes the
    // half-enabled engine for a stale one. Released on every return.
    m_conn.exec(u"SELECT pg_advisory_lock($1, $2)"_s, {kIvmLockClass, id});
    struct Unlock {
        pg::Connection& c;
        int id;
        bool held = true;
        void release()
        {
            if (std::exchange(held, false))
                c.exec(u"SELECT pg_advisory_unlock($1, $2)"_s, {kIvmLockClass, id});
        }
        ~Unlock() { release(); }
    } unlock {m_conn, id};

    auto rollback = [&](const QString& why) {
        m_conn.exec(u"ROLLBACK"_s);
        return why;
    };
    // Undoes step 1; says so when it could not (the view then lists as needing attention).
    auto uninstall = [&]() -> QString {
        QStringList failed;
        for (const QString& s : sql.uninstall)
            if (const Result u = m_conn.exec(s); !u.ok())
                failed << u.error().message;
        m_conn.exec(u"DELETE FROM htap.ivm_views WHERE view_id = $1"_s, {id});
        return failed.isEmpty() ? QString() : u" (cleaning up failed too: %1)"_s.arg(failed.join(u"; "_s));
    };

    // 1. The engine's objects and the capture triggers, in one short transaction. CREATE TRIGGER
    //    waits for the base tables' writers, at most lock_timeout.
    r = m_conn.exec(u"BEGIN"_s);
    m_conn.exec(u"SET LOCAL lock_timeout = '10s'"_s);
    for (const QString& s : sql.install) {
        r = m_conn.exec(s);
        if (!r.ok())
            return rollback(u"installing the engine for %1 failed: %2"_s.arg(label, statementError(r)));
    }
    QStringList triggers;
    for (const auto& t : sql.triggers)
        triggers << t.first + u'|' + t.second;
    r = m_conn.exec(
        u"INSERT INTO htap.ivm_views (view_id, view_schema, view_name, shape, definition, index_defs, comment, owner, acl, "
        u"state_table, capture_tables, triggers, merge_function, rebuild_procedure, uninstall, engine_version) OVERRIDING SYSTEM VALUE "
        u"VALUES ($1, $2, $3, $4, $5, $6::text[], obj_description($7::oid, 'pg_class'), $8, "
        u"(SELECT relacl::text[] FROM pg_class WHERE oid = $7::oid), $9, $10::text[], $11::text[], $12, $13, $14::text[], $15)"_s,
        {id, view.schema, view.name, prep.plan.shape == IvmPlan::Shape::Aggregate ? u"aggregate"_s : u"join"_s,
            prep.definition, QVariant(QStringList(prep.indexDefs)), view.oid, prep.owner, sql.stateTable,
            QVariant(sql.captureTables), QVariant(triggers), sql.mergeFunction, sql.rebuildProcedure, QVariant(sql.uninstall),
            kIvmEngineVersion});
    if (!r.ok())
        return rollback(u"registering %1 failed: %2"_s.arg(label, statementError(r)));
    r = m_conn.exec(u"COMMIT"_s);
    if (!r.ok())
        return u"installing the engine for %1 failed: %2"_s.arg(label, statementError(r));

    // 2. Build the state at one snapshot; changes committed after it stay pending for the merge.
    const RefreshOutcome built = runLogged(view, RefreshMode::Rebuild, u"CALL %1()"_s.arg(sql.rebuildProcedure), false);
    if (!built.ok) {
        return u"building the state of %1 failed: %2"_s.arg(label, built.message) + uninstall();
    }

    // 3. Swap: the materialized view gives way to a view of the same name over the state.
    QStringList skipped;
    r = m_conn.exec(u"BEGIN"_s);
    m_conn.exec(u"SET LOCAL lock_timeout = '10s'"_s);
    const QString qualified = quoteQualified(view.schema, view.name);
    // The engine's key indexes, unless the view brings an index on the same column anyway.
    QStringList engineIndexes;
    for (int i = 0; i < sql.indexes.size(); ++i) {
        const QString col = sql.indexColumns.value(i);
        const bool unique = sql.indexes[i].startsWith(u"CREATE UNIQUE"_s);
        const bool covered = !col.isEmpty() && std::any_of(prep.indexDefs.cbegin(), prep.indexDefs.cend(), [&](const QString& d) {
            QString c = col;
            c.remove(u'"');
            return d.endsWith(u"USING btree ("_s + c + u")"_s) && (!unique || d.startsWith(u"CREATE UNIQUE"_s));
        });
        if (!covered)
            engineIndexes << sql.indexes[i];
    }
    for (const QString& s : engineIndexes + QStringList {u"DROP MATERIALIZED VIEW %1"_s.arg(qualified), sql.createView}) {
        r = m_conn.exec(s);
        if (!r.ok()) {
            const QString why = rollback(u"replacing %1 by the maintained view failed: %2"_s.arg(label, statementError(r)));
            return why + uninstall();
        }
    }
    // The view's indexes move to the state table, named v<id>_<original>.
    static const QRegularExpression indexRe(u"^CREATE (UNIQUE )?INDEX (\\S+|\"(?:[^\"]|\"\")+\") ON (?:ONLY )?(.+?) USING (.*)$"_s);
    for (const QString& def : std::as_const(prep.indexDefs)) {
        const QRegularExpressionMatch m = indexRe.match(def);
        if (!m.hasMatch()) {
            skipped << def;
            continue;
        }
        QString idxName = m.captured(2);
        if (idxName.startsWith(u'"'))
            idxName = idxName.mid(1, idxName.size() - 2).replace(u"\"\""_s, u"\""_s);
        const QString stmt = u"CREATE %1INDEX %2 ON %3 USING %4"_s.arg(m.captured(1),
            quoteIdentifier(u"v%1_%2"_s.arg(id).arg(idxName).left(63)), sql.stateTable, m.captured(4));
        m_conn.exec(u"SAVEPOINT idx"_s);
        if (!m_conn.exec(stmt).ok()) {
            m_conn.exec(u"ROLLBACK TO SAVEPOINT idx"_s);
            skipped << idxName;
        }
        m_conn.exec(u"RELEASE SAVEPOINT idx"_s);
    }
    QStringList post;
    post << prep.grants;
    post << u"ALTER VIEW %1 OWNER TO %2"_s.arg(qualified, quoteIdentifier(prep.owner));
    // A view reads its tables with its owner's rights.
    post << u"GRANT USAGE ON SCHEMA htap_ivm TO %1"_s.arg(quoteIdentifier(prep.owner));
    post << u"GRANT SELECT ON %1 TO %2"_s.arg(sql.currentView, quoteIdentifier(prep.owner));
    // The comment is a value: format() quotes it on the server from the registry row.
    post << u"DO $c$ DECLARE r record; BEGIN SELECT view_schema, view_name, comment INTO r FROM htap.ivm_views WHERE view_id = "_s
            + QString::number(id)
            + u"; IF r.comment IS NOT NULL THEN EXECUTE format('COMMENT ON VIEW %I.%I IS %L', r.view_schema, r.view_name, r.comment); "
              u"END IF; END $c$"_s;
    for (const QString& s : std::as_const(post)) {
        r = m_conn.exec(s);
        if (!r.ok()) {
            const QString why = rollback(u"replacing %1 by the maintained view failed: %2"_s.arg(label, statementError(r)));
            return why + uninstall();
        }
    }
    r = m_conn.exec(u"COMMIT"_s);
    if (!r.ok())
        return u"replacing %1 failed: %2"_s.arg(label, statementError(r)) + uninstall();
    // Merges may run from here on (VACUUM does not block them): holding the view's lock through
    // a VACUUM of gigabytes would make every scheduled merge skip meanwhile.
    unlock.release();
    QString settled;
    settle(id, &settled);
    if (notes) {
        QStringList n;
        n << u"%1 is maintained incrementally (%2 view, state %3); its first build took %4 s"_s.arg(label,
            prep.plan.shape == IvmPlan::Shape::Aggregate ? u"aggregate"_s : u"join"_s, sql.stateTable)
                 .arg(built.seconds, 0, 'f', 2);
        n << settled;
        if (!skipped.isEmpty())
            n << u"indexes not carried over (they index a derived column): %1"_s.arg(skipped.join(u", "_s));
        n << prep.storeNotes;
        *notes = n.join(u'\n');
    }
    return {};
}

bool MvService::settle(int ivmId, QString* note)
{
    // Freshly built tables have no statistics, no visibility map and no hint bits: left alone,
    // autovacuum reads and writes them all (gigabytes for a fact view) soon after, in the middle
    // of the writers' load, and the first merges plan without statistics. Done here instead.
    const Result t = m_conn.exec(u"SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'htap_ivm'::regnamespace "
                                 u"AND c.relkind = 'r' AND c.relname LIKE $1 AND pg_has_role(c.relowner, 'USAGE') ORDER BY c.relname"_s,
        {u"v%1\\_%"_s.arg(ivmId)});
    if (!t.ok()) {
        *note = u"tables not vacuumed: %1"_s.arg(statementError(t));
        return false;
    }
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < t.rowCount(); ++i) {
        const Result v = m_conn.exec(u"VACUUM (ANALYZE) %1"_s.arg(quoteQualified(u"htap_ivm"_s, t.text(i, 0))));
        if (!v.ok()) {
            *note = u"VACUUM (ANALYZE) of htap_ivm.%1 failed, autovacuum will do it: %2"_s.arg(t.text(i, 0), statementError(v));
            return false;
        }
    }
    *note = u"its %1 tables vacuumed and analyzed in %2 s"_s.arg(t.rowCount()).arg(timer.elapsed() / 1000.0, 0, 'f', 2);
    return true;
}

QString MvService::disableIncremental(const QString& name)
{
    Resolved view;
    QString error;
    if (!resolve(name, &view, &error))
        return error;
    const QString label = view.schema + u'.' + view.name;
    if (!view.ivmId)
        return u"%1 is not maintained incrementally"_s.arg(label);
    if (m_conn.inTransaction())
        return u"incremental maintenance of %1 cannot be disabled inside a transaction block"_s.arg(label);
    const Result reg = m_conn.exec(
        u"SELECT definition, index_defs, owner, acl, uninstall, comment FROM htap.ivm_views WHERE view_id = $1"_s, {view.ivmId});
    if (!reg.ok() || reg.rowCount() != 1)
        return reg.ok() ? u"%1 is no longer registered"_s.arg(label) : statementError(reg);
    const QString restore = u"htap_ivm."_s + quoteIdentifier(u"v%1_restore"_s.arg(view.ivmId));
    const QString restoreName = u"v%1_restore"_s.arg(view.ivmId);
    const QString qualified = quoteQualified(view.schema, view.name);

    // Build the materialized view beside the live view first: readers are not blocked meanwhile.
    m_conn.exec(u"DROP MATERIALIZED VIEW IF EXISTS %1"_s.arg(restore));
    QElapsedTimer t;
    t.start();
    Result r = m_conn.exec(u"CREATE MATERIALIZED VIEW %1 AS %2 WITH DATA"_s.arg(restore, reg.text(0, 0)));
    if (!r.ok())
        return u"rebuilding %1 as a materialized view failed: %2"_s.arg(label, statementError(r));
    const double seconds = t.nsecsElapsed() / 1e9;

    auto fail = [&](const Result& res) {
        m_conn.exec(u"ROLLBACK"_s);
        m_conn.exec(u"DROP MATERIALIZED VIEW IF EXISTS %1"_s.arg(restore));
        return u"putting %1 back as a materialized view failed: %2"_s.arg(label, statementError(res));
    };
    // The grants the view carries now (the ones the materialized view had, and any added since).
    QString grantError;
    const QStringList grants = grantsOf(m_conn, view.oid, qualified, &grantError);
    if (!grantError.isEmpty()) {
        m_conn.exec(u"DROP MATERIALIZED VIEW IF EXISTS %1"_s.arg(restore));
        return u"cannot read the grants of %1: %2"_s.arg(label, grantError);
    }
    m_conn.exec(u"BEGIN"_s);
    m_conn.exec(u"SET LOCAL lock_timeout = '10s'"_s);
    QStringList steps;
    steps << u"DELETE FROM htap.ivm_views WHERE view_id = %1"_s.arg(view.ivmId);
    // Merge schedules make no sense for a materialized view (a pg_cron job goes too, if it can).
    const Result sch = m_conn.exec(u"SELECT to_regclass('htap.refresh_schedule') IS NOT NULL"_s);
    if (sch.ok() && sch.toBool(0, 0)) {
        const Result gone = m_conn.exec(u"DELETE FROM htap.refresh_schedule WHERE view_name = $1 AND mode = 'incremental' "
                                        u"RETURNING cron_jobid"_s, {label});
        if (gone.ok() && gone.rowCount() == 1 && !gone.isNull(0, 0)) {
            m_conn.exec(u"SAVEPOINT cron"_s);
            if (!m_conn.exec(u"SELECT cron.unschedule($1::bigint)"_s, {gone.text(0, 0)}).ok())
                m_conn.exec(u"ROLLBACK TO SAVEPOINT cron"_s);
            m_conn.exec(u"RELEASE SAVEPOINT cron"_s);
        }
    }
    steps << u"DROP VIEW %1"_s.arg(qualified);
    const Result un = m_conn.exec(u"SELECT unnest($1::text[])"_s, {reg.text(0, 4)});
    for (int i = 0; un.ok() && i < un.rowCount(); ++i)
        steps << un.text(i, 0);
    steps << u"ALTER MATERIALIZED VIEW %1 SET SCHEMA %2"_s.arg(restore, quoteIdentifier(view.schema));
    steps << u"ALTER MATERIALIZED VIEW %1 RENAME TO %2"_s.arg(quoteQualified(view.schema, restoreName), quoteIdentifier(view.name));
    const Result idx = m_conn.exec(u"SELECT unnest($1::text[])"_s, {reg.text(0, 1)});
    for (int i = 0; idx.ok() && i < idx.rowCount(); ++i)
        steps << idx.text(i, 0); // the original definitions, captured from the server
    steps << u"ALTER MATERIALIZED VIEW %1 OWNER TO %2"_s.arg(qualified, quoteIdentifier(reg.text(0, 2)));
    for (const QString& s : std::as_const(steps)) {
        r = m_conn.exec(s);
        if (!r.ok())
            return fail(r);
    }
    for (const QString& grant : grants) {
        r = m_conn.exec(grant);
        if (!r.ok())
            return fail(r);
    }
    if (!reg.isNull(0, 5)) {
        // The comment is a value: the server quotes it (format %L) from a bound parameter.
        const Result c = m_conn.exec(u"SELECT format('COMMENT ON MATERIALIZED VIEW %I.%I IS %L', $1::text, $2::text, $3::text)"_s,
            {view.schema, view.name, reg.text(0, 5)});
        r = c.ok() ? m_conn.exec(c.text(0, 0)) : c;
        if (!r.ok())
            return fail(r);
    }
    r = m_conn.exec(u"INSERT INTO htap.refresh_log (view_name, mode, started_at, finished_at, rows, outcome, message) "
                    u"SELECT $1, 'plain', clock_timestamp() - make_interval(secs => $2), clock_timestamp(), reltuples::bigint, 'ok', "
                    u"'rebuilt when incremental maintenance was disabled' FROM pg_class WHERE oid = $3::regclass"_s,
        {label, seconds, qualified});
    if (!r.ok())
        return fail(r);
    r = m_conn.exec(u"COMMIT"_s);
    if (!r.ok())
        return fail(r);
    return {};
}

} // namespace htap::mv
