// The incremental engine's life cycle: planning an engine from a view's definition, enabling
// it, settling its new tables, disabling it, and removing engines whose view is gone.
#include "mvservice.h"

#include "ivmsql.h"
#include "mvcommon.h"
#include "viewquery.h"
#include <pg/identifier.h>

#include <QElapsedTimer>
#include <QRegularExpression>
#include <QSet>

#include <utility>

using namespace Qt::StringLiterals;
using htap::pg::quoteIdentifier;
using htap::pg::quoteQualified;
using htap::pg::Result;

namespace htap::mv {

namespace {

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

QString MvService::removeEngine(int ivmId)
{
    // One transaction, so that no half of an engine is ever left: capture triggers without the
    // registry row that says what consumes their changes, or the reverse.
    Result r = m_conn.exec(u"BEGIN"_s);
    // DROP TRIGGER takes ACCESS EXCLUSIVE on a base table: writers queue behind the request,
    // so it waits briefly and the removal is tried again later.
    if (r.ok())
        r = m_conn.exec(u"SELECT set_config('lock_timeout', '2s', true)"_s);
    if (r.ok())
        r = m_conn.exec(u"SELECT s FROM htap.ivm_views v, unnest(v.uninstall) WITH ORDINALITY u(s, i) WHERE v.view_id = $1 "
                        u"ORDER BY i FOR UPDATE OF v"_s,
            {ivmId});
    for (int i = 0; r.ok() && i < r.rowCount(); ++i) {
        if (const Result u = m_conn.exec(r.text(i, 0)); !u.ok()) {
            m_conn.exec(u"ROLLBACK"_s);
            return statementError(u);
        }
    }
    if (r.ok())
        r = m_conn.exec(u"DELETE FROM htap.ivm_views WHERE view_id = $1"_s, {ivmId});
    if (r.ok())
        r = m_conn.exec(u"COMMIT"_s);
    if (!r.ok()) {
        m_conn.exec(u"ROLLBACK"_s);
        return statementError(r);
    }
    return {};
}

QList<Recovery> MvService::recoverInterrupted()
{
    QList<Recovery> out;
    if (m_conn.inTransaction()) // its COMMITs would commit the caller's work
        return out;
    // A standby replays the primary's registry: what is left there is the primary's to clean.
    const Result has = m_conn.exec(u"SELECT to_regclass('htap.ivm_views') IS NOT NULL AND NOT pg_is_in_recovery()"_s);
    if (!has.ok() || !has.toBool(0, 0))
        return out;
    closeInterruptedLog();
    // An enable that never finished leaves its engine 'building' (an older build's, 'ready')
    // beside the materialized view; a view dropped outside the app leaves its engine behind.
    // Both keep capturing changes that nobody will merge.
    const Result r = m_conn.exec(
        u"SELECT v.view_id, v.view_schema || '.' || v.view_name, (SELECT c.relkind::text FROM pg_class c "
        u"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = v.view_schema AND c.relname = v.view_name) "
        u"FROM htap.ivm_views v WHERE v.state = 'building' OR NOT EXISTS (SELECT 1 FROM pg_class c "
        u"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = v.view_schema AND c.relname = v.view_name AND c.relkind = 'v') "
        u"ORDER BY v.view_id"_s);
    for (int i = 0; r.ok() && i < r.rowCount(); ++i) {
        const int id = int(r.toInt64(i, 0));
        // The session enabling it holds the engine's lock until its view is in place.
        const Result free = m_conn.exec(u"SELECT pg_try_advisory_lock($1, $2)"_s, {kIvmLockClass, id});
        if (!free.ok() || !free.toBool(0, 0))
            continue;
        const QString error = removeEngine(id);
        m_conn.exec(u"SELECT pg_advisory_unlock($1, $2)"_s, {kIvmLockClass, id});
        const bool enabling = r.text(i, 2) == u"m"_s;
        Recovery done;
        done.view = r.text(i, 1);
        done.ok = error.isEmpty();
        if (done.ok)
            done.message = enabling ? u"rolled back an interrupted enable-incremental (its session ended before the view was "
                                      u"switched over): it is still a materialized view, and its capture triggers are removed"_s
                                    : u"removed the engine of a maintained view that no longer exists (dropped outside HTAP Studio)"_s;
        else
            done.message = u"the engine left by %1 could not be removed yet, its capture triggers still run (tried again by the "
                           u"next mv command): %2"_s.arg(
                enabling ? u"an interrupted enable-incremental"_s : u"a view dropped outside HTAP Studio"_s, error);
        out << done;
    }
    // A disable by an older build built the materialized view again in htap_ivm before its
    // transaction (one statement each); interrupted, it left that copy behind.
    const Result restores = m_conn.exec(u"SELECT relname FROM pg_class WHERE relnamespace = to_regnamespace('htap_ivm') "
                                        u"AND relkind = 'm' AND relname ~ '^v[0-9]+_restore$'"_s);
    for (int i = 0; restores.ok() && i < restores.rowCount(); ++i) {
        Recovery done;
        done.view = u"htap_ivm."_s + restores.text(i, 0);
        const Result d = m_conn.exec(u"DROP MATERIALIZED VIEW IF EXISTS %1"_s.arg(quoteQualified(u"htap_ivm"_s, restores.text(i, 0))));
        done.ok = d.ok();
        done.message = d.ok() ? u"removed, left by an interrupted disable-incremental"_s
                              : u"left by an interrupted disable-incremental, could not be removed: %1"_s.arg(statementError(d));
        out << done;
    }
    return out;
}

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
    // An earlier enable of this view killed half way holds its name in the registry.
    const QList<Recovery> recovered = recoverInterrupted();
    Resolved view;
    QString error;
    if (!resolve(name, &view, &error))
        return error;
    const QString label = view.schema + u'.' + view.name;
    if (view.ivmId)
        return u"%1 is already maintained incrementally"_s.arg(label);
    for (const Recovery& r : recovered)
        if (r.view == label && !r.ok)
            return r.message;
    const Result other = m_conn.exec(
        u"SELECT (SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.classid = $3::oid AND l.objid = v.view_id "
        u"AND l.objsubid = 2 AND l.granted LIMIT 1) FROM htap.ivm_views v WHERE v.view_schema = $1 AND v.view_name = $2"_s,
        {view.schema, view.name, kIvmLockClass});
    if (other.ok() && other.rowCount() == 1)
        return u"incremental maintenance of %1 is being enabled by another session (pid %2)"_s.arg(label,
            other.isNull(0, 0) ? u"unknown"_s : other.text(0, 0));
    EnginePrep prep;
    if (const QString e = prepareEngine(view, &prep); !e.isEmpty())
        return e;
    if (const QString e = ensureRegistry(); !e.isEmpty())
        return e;
    const auto stopped = [&] { return u"interrupted: %1 is still a materialized view"_s.arg(label); };
    if (interrupted())
        return stopped();

    Result r = m_conn.exec(u"SELECT nextval(pg_get_serial_sequence('htap.ivm_views', 'view_id'))"_s);
    if (!r.ok())
        return statementError(r);
    const int id = int(r.toInt64(0, 0));
    const IvmSql sql = generateIvmSql(prep.plan, id, view.schema, view.name);
    const ClientCheck check(m_conn);
    // Held until the view is in place: no merge runs meanwhile, and recoverInterrupted() leaves
    // the engine alone while this session lives. Released on every return.
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
        return interrupted() ? stopped() : why;
    };
    // Once step 1 has committed, a failure or an interruption takes the engine out again. If
    // even that fails (the server went away), the engine stays registered as 'building' and
    // recoverInterrupted() removes it once this session is gone.
    auto abandon = [&](const QString& why) -> QString {
        if (m_conn.inTransaction())
            m_conn.exec(u"ROLLBACK"_s);
        // libpq's own messages can span lines ("server closed the connection unexpectedly ...").
        const QString told = interrupted() ? stopped() : why.simplified();
        const QString e = removeEngine(id);
        return e.isEmpty() ? told + u"; what was installed is removed again"_s
                           : told + u"; what was installed is removed by the next htapctl mv command, or by HTAP Studio "
                                    u"when it connects (now: %1)"_s.arg(e);
    };

    // Three steps. The materialized view stays as it is until the last one commits; until then
    // the engine is registered as 'building', so that an interrupted enable is rolled back, not
    // taken for a live engine. Writers wait only while step 1 takes their tables' lock (SHARE
    // ROW EXCLUSIVE for CREATE TRIGGER, milliseconds once granted); one transaction for all
    // three would make them wait for the whole build, minutes for a large view.
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
        u"state_table, capture_tables, triggers, merge_function, rebuild_procedure, uninstall, engine_version, state) "
        u"OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6::text[], obj_description($7::oid, 'pg_class'), $8, "
        u"(SELECT relacl::text[] FROM pg_class WHERE oid = $7::oid), $9, $10::text[], $11::text[], $12, $13, $14::text[], $15, "
        u"'building')"_s,
        {id, view.schema, view.name, prep.plan.shape == IvmPlan::Shape::Aggregate ? u"aggregate"_s : u"join"_s,
            prep.definition, QVariant(QStringList(prep.indexDefs)), view.oid, prep.owner, sql.stateTable,
            QVariant(sql.captureTables), QVariant(triggers), sql.mergeFunction, sql.rebuildProcedure, QVariant(sql.uninstall),
            kIvmEngineVersion});
    if (!r.ok())
        return rollback(u"registering %1 failed: %2"_s.arg(label, statementError(r)));
    r = m_conn.exec(u"COMMIT"_s);
    if (!r.ok())
        return abandon(u"installing the engine for %1 failed: %2"_s.arg(label, statementError(r)));
    if (interrupted())
        return abandon(stopped());

    // 2. Build the state at one snapshot (its own transaction, in the rebuild procedure); changes
    //    committed after it stay pending for the merge. It leaves the engine 'building'.
    const RefreshOutcome built = runLogged(view, RefreshMode::Rebuild, u"CALL %1()"_s.arg(sql.rebuildProcedure), false);
    if (!built.ok)
        return abandon(u"building the state of %1 failed: %2"_s.arg(label, built.message));
    if (interrupted())
        return abandon(stopped());

    // 3. Swap: the materialized view gives way to a view of the same name over the state, and the
    //    engine becomes ready, in one transaction. DROP MATERIALIZED VIEW waits for the view's
    //    readers, at most lock_timeout; once granted, readers wait for this short transaction.
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
        if (!r.ok())
            return abandon(u"replacing %1 by the maintained view failed: %2"_s.arg(label, statementError(r)));
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
        if (!r.ok())
            return abandon(u"replacing %1 by the maintained view failed: %2"_s.arg(label, statementError(r)));
    }
    // Changes that slipped by capture since the first build (a TRUNCATE) left their reason.
    r = m_conn.exec(u"UPDATE htap.ivm_views SET state = CASE WHEN reason IS NULL THEN 'ready' ELSE 'needs_rebuild' END "
                    u"WHERE view_id = $1"_s,
        {id});
    if (!r.ok())
        return abandon(u"registering %1 as ready failed: %2"_s.arg(label, statementError(r)));
    if (interrupted())
        return abandon(stopped());
    r = m_conn.exec(u"COMMIT"_s);
    if (!r.ok())
        return abandon(u"replacing %1 failed: %2"_s.arg(label, statementError(r)));
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

    // The grants the view carries now (the ones the materialized view had, and any added since).
    QString grantError;
    const QStringList grants = grantsOf(m_conn, view.oid, qualified, &grantError);
    if (!grantError.isEmpty())
        return u"cannot read the grants of %1: %2"_s.arg(label, grantError);

    // One transaction: interrupted anywhere (htapctl killed, the server stopped), it changes
    // nothing. The materialized view is built first, beside the live view, taking only ACCESS
    // SHARE on the base tables: readers and writers go on meanwhile. Only the swap at the end
    // takes ACCESS EXCLUSIVE on the view and the base tables (dropping the capture triggers),
    // waiting at most lock_timeout for them and holding them until the COMMIT right after.
    const ClientCheck check(m_conn);
    auto fail = [&](const Result& res) {
        m_conn.exec(u"ROLLBACK"_s);
        return interrupted() ? u"interrupted: %1 is still maintained incrementally"_s.arg(label)
                             : u"putting %1 back as a materialized view failed: %2"_s.arg(label, statementError(res));
    };
    Result r = m_conn.exec(u"BEGIN"_s);
    if (!r.ok())
        return statementError(r);
    QElapsedTimer t;
    t.start();
    // First a copy an older build's disable left behind when it was interrupted.
    r = m_conn.exec(u"DROP MATERIALIZED VIEW IF EXISTS %1"_s.arg(restore));
    if (r.ok())
        r = m_conn.exec(u"CREATE MATERIALIZED VIEW %1 AS %2 WITH DATA"_s.arg(restore, reg.text(0, 0)));
    if (!r.ok()) {
        m_conn.exec(u"ROLLBACK"_s);
        return interrupted() ? u"interrupted: %1 is still maintained incrementally"_s.arg(label)
                             : u"rebuilding %1 as a materialized view failed: %2"_s.arg(label, statementError(r));
    }
    const double seconds = t.nsecsElapsed() / 1e9;
    m_conn.exec(u"SELECT set_config('lock_timeout', '10s', true)"_s);
    // A merge or a rebuild running now ends first; later ones skip until the engine is gone.
    r = m_conn.exec(u"SELECT pg_advisory_xact_lock($1, $2)"_s, {kIvmLockClass, view.ivmId});
    if (r.ok())
        r = m_conn.exec(u"DELETE FROM htap.ivm_views WHERE view_id = $1"_s, {view.ivmId});
    if (!r.ok())
        return fail(r);
    QStringList steps;
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
    if (!r.ok() || interrupted())
        return fail(r);
    r = m_conn.exec(u"COMMIT"_s);
    if (!r.ok())
        return fail(r);
    return {};
}

} // namespace htap::mv
