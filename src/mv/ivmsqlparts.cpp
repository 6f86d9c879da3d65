// The pieces every generated engine is built from; see ivmsqlparts.h.
#include "ivmsqlparts.h"

#include <pg/identifier.h>

#include <algorithm>

using namespace Qt::StringLiterals;
using htap::pg::quoteIdentifier;
using htap::pg::quoteQualified;

namespace htap::mv::gen {

QString q(const QString& name)
{
    return quoteIdentifier(name);
}

/// Everything a generated function needs: no search_path surprises, the owner's rights (writers
/// need no grant on htap_ivm).
const QString kFunctionHeader = u" LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $ivm$\n"_s;

/// Merges are short, frequent statements: compiling them with JIT costs more than it saves.
const QString kMergeSettings = u"SET jit = off"_s;

const QString kColumnsMarker = u"@ivm_cols@"_s;

QString tableOf(const PlanTable& t)
{
    return quoteQualified(t.ref.schema, t.ref.name);
}

QString joinList(const QStringList& items, const QString& sep)
{
    return items.join(sep);
}

QString whereAnd(const QString& where, const QString& extra)
{
    QStringList parts;
    if (!where.isEmpty())
        parts << u"("_s + where + u")"_s;
    if (!extra.isEmpty())
        parts << extra;
    return parts.isEmpty() ? QString() : u" WHERE "_s + parts.join(u" AND "_s);
}

/// The capture of base table tableIndex, as the registry keeps it.
CaptureSpec& specFor(IvmSql& out, int tableIndex, const PlanTable& t)
{
    for (CaptureSpec& c : out.captures)
        if (c.tableIndex == tableIndex)
            return c;
    CaptureSpec spec;
    spec.tableIndex = tableIndex;
    spec.root = t.oid;
    spec.attnums = t.attnums;
    spec.names = t.captured;
    for (quint32 k : t.reliesOn)
        if (k)
            spec.reliesOn << k;
    out.captures << spec;
    return out.captures.last();
}

QString sharedCaptureTrigger(quint32 root, const QString& event)
{
    return u"htap_ivm_c%1_%2"_s.arg(root).arg(event.left(3).toLower());
}

/// Statements that create capture triggers for one table and event set, on the table and on
/// each of its members (a statement fires the triggers of the table it names only). INSERT,
/// UPDATE and DELETE are captured by one trigger per table and event for all the views that
/// read it (htap.ivm_capture_sync, sql/htap/ivm.sql, installs it from the registry): here they
/// are only registered with the view, under the shared trigger's name. TRUNCATE keeps a trigger
/// per view (it only flags the view).
void addTrigger(IvmSql& out, const Names& n, int tableIndex, const PlanTable& t, const QString& suffix, const QString& event,
    const QString& referencing, const QString& function)
{
    const bool shared = event != u"TRUNCATE"_s;
    const QString raw = shared ? sharedCaptureTrigger(t.oid, event) : u"htap_ivm_v%1_%2"_s.arg(n.id).arg(suffix);
    const QString fn = shared ? u"htap_ivm."_s + q(raw.mid(9)) : function; // htap_ivm."c<oid>_ins"
    const QStringList tables = QStringList {tableOf(t)} + t.members;
    QList<quint32> oids = QList<quint32> {t.oid} + t.memberOids;
    for (int i = 0; i < tables.size(); ++i) {
        if (!shared) {
            out.install << u"CREATE TRIGGER %1 AFTER %2 ON %3 %4 FOR EACH STATEMENT EXECUTE FUNCTION %5()"_s.arg(
                q(raw), event, tables[i], referencing, fn);
            // ALWAYS: fires under session_replication_role = replica too (logical apply, restores).
            out.install << u"ALTER TABLE %1 ENABLE ALWAYS TRIGGER %2"_s.arg(tables[i], q(raw));
        }
        // By the table's oid, which a rename leaves alone (the uninstall finds triggers by name).
        out.triggers << qMakePair(QString::number(oids.value(i)), raw);
    }
    // What the DDL guard creates on a member that comes later (CREATE TABLE ... PARTITION OF, ATTACH, INHERIT).
    specFor(out, tableIndex, t).triggers << u"%1|%2|%3|%4"_s.arg(raw, event, referencing, fn);
}

QString changedRows(const QString& transitionTable)
{
    return u"(SELECT %1 FROM %2 __ivm_r)"_s.arg(kColumnsMarker, transitionTable);
}

QString columnsAsCaptured(const PlanTable& t, const QStringList& currentNames)
{
    QStringList cols;
    for (int i = 0; i < t.captured.size(); ++i)
        cols << u"__ivm_r.%1 AS %2"_s.arg(q(currentNames.value(i)), q(t.captured[i]));
    return cols.join(u", "_s);
}

QString dollarTag(const QStringList& texts)
{
    // A body holds the view's own expressions and names (a key the definition need not mention
    // too), which may spell "$ivm$" in a string or a quoted name and would end the quote there.
    QString tag = u"$ivm$"_s;
    for (int i = 1; std::any_of(texts.begin(), texts.end(), [&tag](const QString& t) { return t.contains(tag); }); ++i)
        tag = u"$ivm%1$"_s.arg(i);
    return tag;
}

void addCaptureFunction(IvmSql& out, int tableIndex, const PlanTable& t, const QString& name, const QString& statement,
    const QString& event)
{
    Q_UNUSED(name)
    // Run by the table's shared capture function for this event (htap.ivm_capture_sync), with
    // the other views' statements over the same transition tables.
    specFor(out, tableIndex, t).statements << event + u'|' + statement;
    const QString columns = columnsAsCaptured(t, t.captured);
    out.captureStatements << CaptureStatement {tableIndex, event, QString(statement).replace(kColumnsMarker, columns).trimmed()};
}

QString sourceView(const Names& n, int tableIndex)
{
    return n.obj(u"t%1_src"_s.arg(tableIndex));
}

QString sourceFrom(const IvmPlan& plan, const Names& n)
{
    QString from = plan.sourceFromSql;
    for (int i = 0; i < plan.tables.size(); ++i)
        from.replace(u"htap_ivm.__ivm_src_%1__"_s.arg(i), sourceView(n, i));
    return from;
}

void addSources(IvmSql& out, const IvmPlan& plan, const Names& n)
{
    for (int i = 0; i < plan.tables.size(); ++i) {
        const PlanTable& t = plan.tables[i];
        QStringList cols;
        for (const QString& c : t.captured)
            cols << q(c);
        // A view needs a column: count(*) of a table without a key reads none of its own.
        if (cols.isEmpty())
            cols << u"NULL::boolean AS __ivm_none"_s;
        out.install << u"CREATE VIEW %1 AS SELECT %2 FROM %3"_s.arg(sourceView(n, i), joinList(cols), tableOf(t));
        out.uninstall << u"DROP VIEW IF EXISTS %1"_s.arg(sourceView(n, i));
    }
    out.definitionView = n.obj(u"def"_s);
    out.install << u"CREATE VIEW %1 AS %2"_s.arg(out.definitionView, plan.definition);
    out.uninstall << u"DROP VIEW IF EXISTS %1"_s.arg(out.definitionView);
}

QString dropTriggers(const Names& n)
{
    // Every capture trigger of the engine, on whatever its table is called now.
    return u"DO $ivm$ DECLARE r record; BEGIN FOR r IN SELECT t.tgname, t.tgrelid::regclass AS rel FROM pg_catalog.pg_trigger t "
           u"WHERE t.tgname LIKE 'htap\\_ivm\\_v%1\\_%' AND NOT t.tgisinternal LOOP "
           u"EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS %I ON %s', r.tgname, r.rel); END LOOP; END $ivm$"_s.arg(n.id);
}

void addFunction(IvmSql& out, const QString& name, const QString& returns, const QString& body,
    const QString& declare, const QString& settings)
{
    const QString tag = dollarTag({body, declare});
    QString header = kFunctionHeader;
    header.replace(u"$ivm$"_s, tag);
    if (!settings.isEmpty())
        header.replace(u" AS "_s + tag, u" "_s + settings + u" AS "_s + tag);
    // A view column named like a variable (v_rows) must mean the column.
    out.install << u"CREATE FUNCTION %1() RETURNS %2%3#variable_conflict use_column\n%4BEGIN\n%5\nEND %6"_s.arg(
        name, returns, header, declare.isEmpty() ? QString() : u"DECLARE\n"_s + declare + u"\n"_s, body, tag);
    // Only the engine (its owner) and the triggers call them; nobody else may merge or flag.
    out.install << u"REVOKE ALL ON FUNCTION %1() FROM PUBLIC"_s.arg(name);
    out.uninstall << u"DROP FUNCTION IF EXISTS %1()"_s.arg(name);
}

void truncateTrigger(IvmSql& out, const Names& n, int tableIndex, const PlanTable& t, const QString& suffix)
{
    const QString fn = n.obj(suffix + u"_trunc"_s);
    addFunction(out, fn, u"trigger"_s,
        u"  PERFORM htap.ivm_mark_rebuild(%1, %2);\n  RETURN NULL;"_s.arg(n.id).arg(
            u"'TRUNCATE of ' || %1"_s.arg(u"TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME"_s)));
    addTrigger(out, n, tableIndex, t, suffix + u"_trunc"_s, u"TRUNCATE"_s, QString(), fn);
}

void rebuildProcedure(IvmSql& out, const Names& n, const QString& body)
{
    // The rebuild itself, in one function that both the procedure's transaction and a merge
    // that rebuilds instead (mergeStart) call, holding the view's advisory lock. Its reads of the
    // base and its deletes of the pending changes share one statement (swapRebuild), so that it
    // is exact at READ COMMITTED too, where a merge runs.
    const QString now = n.obj(u"rebuild_now"_s);
    // Rebuilt state is only worth something if it can stay exact: capture runs from now on
    // (a disabled trigger is switched on again first: ALTER TABLE ... ENABLE ALWAYS TRIGGER),
    // and no row-level security filters what the view's owner reads.
    const QString blocker =
        u"  IF htap.ivm_blocker(%1) IS NOT NULL THEN\n"
        u"    RAISE EXCEPTION 'a rebuild would not make this view exact: %', htap.ivm_blocker(%1) "
        u"USING ERRCODE = 'object_not_in_prerequisite_state';\n  END IF;\n"_s.arg(n.id);
    // The first build, while the engine is being enabled, leaves it 'building': it is ready only
    // once its view is in place (the enable's last transaction says so).
    addFunction(out, now, u"void"_s,
        blocker + body
            + u"\n  UPDATE htap.ivm_views SET state = CASE WHEN state = 'building' THEN 'building' ELSE 'ready' END, reason = NULL, "
              u"rebuilt_at = now() WHERE view_id = %1;"_s.arg(n.id));
    const QString tx = n.obj(u"rebuild_tx"_s);
    out.rebuildTransaction = tx;
    const QString checks =
        u"  IF current_setting('transaction_isolation') <> 'repeatable read' THEN\n"
        u"    RAISE EXCEPTION 'a rebuild must run in REPEATABLE READ (use CALL %1)';\n  END IF;\n"
        // The procedure's session lock becomes this transaction's: an error releases it.
        u"  PERFORM pg_advisory_xact_lock(%2, %3);\n  PERFORM pg_advisory_unlock(%2, %3);\n"_s.arg(QString(n.obj(u"rebuild"_s)).replace(u'\'', u"''"_s))
            .arg(kIvmLockClass)
            .arg(n.id);
    addFunction(out, tx, u"void"_s, checks + u"  PERFORM %1();"_s.arg(now));
    // A procedure with SET or SECURITY DEFINER cannot COMMIT: this one only orders the steps.
    // The lock is taken before the REPEATABLE READ snapshot, so the rebuild never sees state
    // that a merge committed after its snapshot; rebuild_tx turns it into a transaction lock.
    out.rebuildProcedure = n.obj(u"rebuild"_s);
    out.install << u"CREATE PROCEDURE %1() LANGUAGE plpgsql AS $ivm$\nBEGIN\n"
                   u"  PERFORM pg_catalog.pg_advisory_lock(%2, %3);\n  COMMIT;\n"
                   u"  SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;\n  PERFORM %4();\n  COMMIT;\nEND $ivm$"_s.arg(out.rebuildProcedure)
                       .arg(kIvmLockClass)
                       .arg(n.id)
                       .arg(tx);
    out.uninstall << u"DROP PROCEDURE IF EXISTS %1()"_s.arg(out.rebuildProcedure);
}

const QString kMergeStartDeclare = u"  v_pending bigint;\n  v_why text;\n"_s;

QString mergeStart(const Names& n)
{
    // One merge or rebuild at a time per view; then the cost-aware choice (sql/htap/ivm.sql,
    // htap.ivm_rebuild_instead): with a large part of the base pending, rebuild instead.
    // A merge's commit need not wait for its WAL to reach the disk: lost in a crash, the merge
    // is lost whole (the state as before, its changes pending again, the writers' commits being
    // durable), and the next merge does it again. Not when the caller's transaction wrote
    // before it: those writes keep their synchronous commit.
    return u"  IF NOT pg_try_advisory_xact_lock(%1, %2) THEN\n    RETURN -1;\n  END IF;\n"
           u"  IF pg_current_xact_id_if_assigned() IS NULL THEN\n"
           u"    PERFORM set_config('synchronous_commit', 'off', true);\n  END IF;\n"
           u"  SELECT pending, why INTO v_pending, v_why FROM htap.ivm_rebuild_instead(%2);\n"
           u"  IF v_why IS NOT NULL THEN\n    PERFORM %3();\n    PERFORM htap.ivm_merged(%2, v_started, v_pending, v_pending, 'rebuild', v_why);\n"
           u"    RETURN v_pending;\n  END IF;\n"_s.arg(kIvmLockClass)
        .arg(n.id)
        .arg(n.obj(u"rebuild_now"_s));
}

/// The state is rebuilt beside the live one (bulk load, then indexes), then swapped in: readers
/// keep reading the old state until the rebuild commits.
QString sameSnapshotLoad(const QString& insertInto, const QStringList& sameSnapshot)
{
    if (sameSnapshot.isEmpty())
        return insertInto;
    QStringList ctes;
    for (const QString& st : sameSnapshot)
        ctes << u"__ivm_s%1 AS (%2)"_s.arg(ctes.size()).arg(st);
    return u"  WITH "_s + ctes.join(u",\n    "_s) + u"\n  "_s + insertInto.trimmed();
}

QString swapRebuild(const Names& n, const QString& insertInto, const QString& with, const QStringList& sameSnapshot)
{
    const QString S = n.obj(u"state"_s), next = n.obj(u"state_new"_s);
    const QString load = sameSnapshotLoad(insertInto, sameSnapshot);
    // The swap takes ACCESS EXCLUSIVE on the old state: never queue readers behind a long report.
    return u"  CREATE TABLE %1 (LIKE %2)%5;\n%3\n  PERFORM set_config('lock_timeout', '10s', true);\n"
           u"  PERFORM htap.ivm_swap_state('%2', '%1', '%4');"_s.arg(next, S, load, n.obj(u"current"_s), with);
}

/// Readers go through this view, so that a rebuild can swap the state table under it.
void currentView(IvmSql& out, const Names& n)
{
    out.currentView = n.obj(u"current"_s);
    out.install << u"CREATE VIEW %1 AS SELECT * FROM %2"_s.arg(out.currentView, n.obj(u"state"_s));
    out.uninstall << u"DROP VIEW IF EXISTS %1"_s.arg(out.currentView);
}

/// Tables whose rows merges update in place: room on each page keeps those updates HOT (no new
/// index entries), three times faster on freshly built tables.
const QString kUpdatedInPlace = u" WITH (fillfactor = 70)"_s;

QString createTableAs(const QString& name, const QStringList& select, const QString& from, const QString& tail,
    const QString& with)
{
    return u"CREATE TABLE %1%5 AS SELECT %2 FROM %3%4 WITH NO DATA"_s.arg(name, joinList(select), from, tail, with);
}

void deltaTableSettings(IvmSql& out, const QString& table)
{
    out.install << u"ALTER TABLE %1 ADD COLUMN __ivm_at timestamptz NOT NULL DEFAULT clock_timestamp()"_s.arg(table);
    // Insert-then-delete churn: vacuum early and often, never index.
    out.install << u"ALTER TABLE %1 SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000, "
                   u"autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 100000)"_s.arg(table);
    out.captureTables << table;
}

QString derivedView(const IvmPlan& plan, const QString& rows)
{
    QStringList cols;
    bool any = !plan.havingSql.isEmpty();
    for (const OutputColumn& o : plan.outputs) {
        if (o.hidden) {
            any = true;
            continue;
        }
        if (o.kind != Kind::Derived) {
            cols << q(o.name);
            continue;
        }
        any = true;
        cols << (o.type.isEmpty() ? u"(%1)"_s.arg(o.expr) : u"(%1)::%2"_s.arg(o.expr, o.type)) + u" AS "_s + q(o.name);
    }
    if (!any)
        return rows;
    return u"SELECT %1 FROM (%2) __ivm_v%3"_s.arg(joinList(cols), rows, plan.havingSql.isEmpty() ? QString() : u" WHERE "_s + plan.havingSql);
}

} // namespace htap::mv::gen
