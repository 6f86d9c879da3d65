// The incremental engine's life cycle: planning an engine from a view's definition, enabling
// it, settling its new tables, disabling it, and removing engines whose view is gone.
#include "mvservice.h"

#include "ivmprepare.h"
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

QString shapeName(IvmPlan::Shape shape)
{
    switch (shape) {
    case IvmPlan::Shape::Aggregate:
        return u"aggregate"_s;
    case IvmPlan::Shape::Join:
        return u"join"_s;
    case IvmPlan::Shape::JoinAggregate:
        return u"join aggregate"_s;
    case IvmPlan::Shape::Count:
        return u"counted"_s;
    }
    return {};
}

} // namespace

QString switchToView(pg::Connection& conn, const QString& qualified, const EnginePrep& prep, const IvmSql& sql, int id,
    QStringList* skipped)
{
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
        if (const Result r = conn.exec(s); !r.ok())
            return statementError(r);
    }
    // The view's indexes move to the state table, named v<id>_<original>.
    static const QRegularExpression indexRe(u"^CREATE (UNIQUE )?INDEX (\\S+|\"(?:[^\"]|\"\")+\") ON (?:ONLY )?(.+?) USING (.*)$"_s);
    for (const QString& def : std::as_const(prep.indexDefs)) {
        const QRegularExpressionMatch m = indexRe.match(def);
        if (!m.hasMatch()) {
            *skipped << def;
            continue;
        }
        QString idxName = m.captured(2);
        if (idxName.startsWith(u'"'))
            idxName = idxName.mid(1, idxName.size() - 2).replace(u"\"\""_s, u"\""_s);
        const QString stmt = u"CREATE %1INDEX %2 ON %3 USING %4"_s.arg(m.captured(1),
            quoteIdentifier(u"v%1_%2"_s.arg(id).arg(idxName).left(63)), sql.stateTable, m.captured(4));
        conn.exec(u"SAVEPOINT idx"_s);
        if (!conn.exec(stmt).ok()) {
            conn.exec(u"ROLLBACK TO SAVEPOINT idx"_s);
            *skipped << idxName;
        }
        conn.exec(u"RELEASE SAVEPOINT idx"_s);
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
        if (const Result r = conn.exec(s); !r.ok())
            return statementError(r);
    }
    return {};
}

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
    // The registry row goes first: the DDL guard refuses to drop what a registered engine reads.
    const Result gone = r.ok() ? m_conn.exec(u"DELETE FROM htap.ivm_views WHERE view_id = $1"_s, {ivmId}) : r;
    for (int i = 0; r.ok() && gone.ok() && i < r.rowCount(); ++i) {
        if (const Result u = m_conn.exec(r.text(i, 0)); !u.ok()) {
            m_conn.exec(u"ROLLBACK"_s);
            return statementError(u);
        }
    }
    if (!gone.ok())
        r = gone;
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
    // Names the DDL guard did not follow (no event trigger without a superuser): the registry
    // knows each maintained view by its oid.
    m_conn.exec(u"UPDATE htap.ivm_views v SET view_schema = n.nspname, view_name = c.relname FROM pg_class c "
                u"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = v.view_oid AND c.relkind = 'v' "
                u"AND (v.view_schema, v.view_name) IS DISTINCT FROM (n.nspname::text, c.relname::text)"_s);
    // An enable that never finished leaves its engine 'building' (an older build's, 'ready')
    // beside the materialized view; a view dropped outside the app leaves its engine behind.
    // Both keep capturing changes that nobody will merge.
    const Result r = m_conn.exec(
        u"SELECT v.view_id, v.view_schema || '.' || v.view_name, (SELECT c.relkind::text FROM pg_class c "
        u"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = v.view_schema AND c.relname = v.view_name) "
        u"FROM htap.ivm_views v WHERE v.state = 'building' OR NOT EXISTS (SELECT 1 FROM pg_class c "
        u"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'v' AND (c.oid = v.view_oid "
        u"OR (v.view_oid IS NULL AND n.nspname = v.view_schema AND c.relname = v.view_name))) "
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
        {id, view.schema, view.name, registryShape(prep.plan.shape),
            prep.definition, QVariant(QStringList(prep.indexDefs)), view.oid, prep.owner, sql.stateTable,
            QVariant(sql.captureTables), QVariant(triggers), sql.mergeFunction, sql.rebuildProcedure, QVariant(sql.uninstall),
            kIvmEngineVersion});
    for (const CaptureSpec& c : sql.captures) {
        if (!r.ok())
            break;
        QStringList attnums;
        for (int a : c.attnums)
            attnums << QString::number(a);
        QStringList reliesOn;
        for (quint32 k : c.reliesOn)
            reliesOn << QString::number(k);
        r = m_conn.exec(u"INSERT INTO htap.ivm_capture (view_id, table_index, root, attnums, names, current_names, functions, triggers, "
                        u"update_filtered, update_unfiltered, relies_on, statements) "
                        u"VALUES ($1, $2, $3::oid, $4::int2[], $5::text[], $5::text[], $6::text[], $7::text[], $8, $9, $10::oid[], "
                        u"$11::text[])"_s,
            {id, c.tableIndex, c.root, QVariant(u"{"_s + attnums.join(u',') + u"}"_s), QVariant(c.names), QVariant(c.functions),
                QVariant(c.triggers), c.updateFiltered.isEmpty() ? QVariant() : QVariant(c.updateFiltered),
                c.updateUnfiltered.isEmpty() ? QVariant() : QVariant(c.updateUnfiltered), QVariant(u"{"_s + reliesOn.join(u',') + u"}"_s),
                QVariant(c.statements)});
    }
    // The base tables' shared capture functions, regenerated with this view's statements, and
    // their triggers where a table had none: under SHARE ROW EXCLUSIVE on each table (what
    // CREATE TRIGGER takes), so that every writer either finished before this transaction
    // commits (its rows are in the first build's snapshot) or runs the new function.
    if (r.ok())
        r = m_conn.exec(u"SELECT htap.ivm_capture_sync(ARRAY(SELECT root FROM htap.ivm_capture WHERE view_id = $1))"_s, {id});
    if (!r.ok())
        return rollback(u"registering %1 failed: %2"_s.arg(label, statementError(r)));
    // A partition or child added since the members were listed would go uncaptured: the
    // triggers just created hold its parent against that now (SHARE ROW EXCLUSIVE), and the DDL
    // guard follows the ones that come after this commits.
    for (const PlanTable& t : prep.plan.tables) {
        QStringList listed;
        for (quint32 m : t.memberOids)
            listed << QString::number(m);
        r = m_conn.exec(u"WITH RECURSIVE m(oid) AS (SELECT inhrelid FROM pg_inherits WHERE inhparent = $1::oid "
                        u"UNION SELECT h.inhrelid FROM pg_inherits h JOIN m ON h.inhparent = m.oid) "
                        u"SELECT count(*) FROM m WHERE m.oid <> ALL ($2::oid[])"_s,
            {t.oid, QVariant(u"{"_s + listed.join(u',') + u"}"_s)});
        if (!r.ok())
            return rollback(u"registering %1 failed: %2"_s.arg(label, statementError(r)));
        if (r.toInt64(0, 0) > 0)
            return rollback(u"a partition or inheritance child of %1.%2 was added while the engine for %3 was being planned: "
                            u"nothing was changed, enable it again"_s.arg(t.ref.schema, t.ref.name, label));
    }
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
    if (const QString e = switchToView(m_conn, qualified, prep, sql, id, &skipped); !e.isEmpty())
        return abandon(u"replacing %1 by the maintained view failed: %2"_s.arg(label, e));
    // Changes that slipped by capture since the first build (a TRUNCATE) left their reason.
    r = m_conn.exec(u"UPDATE htap.ivm_views SET state = CASE WHEN reason IS NULL THEN 'ready' ELSE 'needs_rebuild' END, "
                    u"view_oid = to_regclass($2) WHERE view_id = $1"_s,
        {id, qualified});
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
        n << u"%1 is now kept up to date incrementally: changes to its base tables are captured as their "
             u"transactions commit and folded in by Merge now or a schedule (first build %4 s; %2 view, its state in %3)"_s
                 .arg(label, shapeName(prep.plan.shape), sql.stateTable)
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
    // The definition as it reads now (tables and columns renamed since are followed by the
    // engine's view of it), schema-qualified as the registry keeps it; the registry's text for
    // engines without that view.
    QString definition = reg.text(0, 0);
    if (m_conn.exec(u"BEGIN"_s).ok()) {
        m_conn.exec(u"SET LOCAL search_path TO pg_catalog, pg_temp"_s);
        const Result d = m_conn.exec(u"SELECT rtrim(btrim(pg_get_viewdef(c.oid)), ';') FROM pg_class c "
                                     u"WHERE c.relnamespace = to_regnamespace('htap_ivm') AND c.relname = $1"_s,
            {u"v%1_def"_s.arg(view.ivmId)});
        m_conn.exec(u"COMMIT"_s);
        if (d.ok() && d.rowCount() == 1)
            definition = d.text(0, 0);
    }

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
        r = m_conn.exec(u"CREATE MATERIALIZED VIEW %1 AS %2 WITH DATA"_s.arg(restore, definition));
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
