// The generator of join views: a fact table joined to tables reached by key, its rows
// recomputed by the fact table's key.
#include "ivmsqlparts.h"

#include <pg/identifier.h>

using namespace Qt::StringLiterals;
using htap::pg::quoteQualified;

namespace htap::mv::gen {

IvmSql generateJoin(const IvmPlan& plan, const Names& n, const QString& viewSchema, const QString& viewName, int batch,
    const RowsFold* fold)
{
    IvmSql out;
    const QString S = n.obj(fold ? u"rows"_s : u"state"_s);
    out.stateTable = S;
    out.mergeFunction = n.obj(u"merge"_s);
    const PlanTable& fact = plan.tables.first();
    const QString factKey = q(fact.ref.refName) + u'.' + q(fact.primaryKey);

    // Each base table's key in the state: an output column equal to it (through the joins) when
    // the view has one, else a hidden column.
    QStringList select, names, viewCols, keyCol;
    for (const OutputColumn& o : plan.outputs) {
        select << o.expr + u" AS "_s + q(o.name);
        names << q(o.name);
        viewCols << q(o.name);
    }
    for (int i = 0; i < plan.tables.size(); ++i) {
        const PlanTable& t = plan.tables[i];
        if (!t.keyOutput.isEmpty()) {
            keyCol << q(t.keyOutput);
            continue;
        }
        keyCol << u"__ivm_k%1"_s.arg(i);
        select << q(t.ref.refName) + u'.' + q(t.primaryKey) + u" AS __ivm_k%1"_s.arg(i);
        names << u"__ivm_k%1"_s.arg(i);
    }
    // Merges and rebuilds read the base tables through their source views.
    addSources(out, plan, n);
    const QString from = sourceFrom(plan, n);
    out.install << createTableAs(S, select, from);
    if (!fold)
        currentView(out, n);
    // Rows kept for an aggregate: not unique, so that a merge can delete and insert a key's row
    // in one statement (neither sees the other's row).
    out.indexes << u"CREATE %1INDEX %2 ON %3 (%4)"_s.arg(fold ? QString() : u"UNIQUE "_s, q(u"v%1_%2_key"_s.arg(n.id).arg(fold ? u"rows"_s : u"state"_s)), S, keyCol[0]);
    out.indexColumns << (fold ? QString() : keyCol[0]);
    // Keys of the other tables are looked up in the state only when the base tables cannot say
    // which fact rows they touch (foundThroughBase, below).
    for (int i = 1; i < plan.tables.size(); ++i) {
        if (plan.tables[i].foundThroughBase)
            continue;
        out.indexes << u"CREATE INDEX %1 ON %2 (%3)"_s.arg(q(u"v%1_state_k%2"_s.arg(n.id).arg(i)), S, keyCol[i]);
        out.indexColumns << (fold ? QString() : keyCol[i]);
    }
    auto tableIndex = [&plan](const QString& ref) {
        for (int i = 0; i < plan.tables.size(); ++i)
            if (plan.tables[i].ref.refName == ref)
                return i;
        return -1;
    };
    out.uninstall << u"DROP TABLE IF EXISTS %1"_s.arg(S);

    QStringList consume, sources, counts;
    QStringList rebuildDeletes;
    for (int i = 0; i < plan.tables.size(); ++i) {
        const PlanTable& t = plan.tables[i];
        const QString tag = u"t%1"_s.arg(i);
        const QString dirty = n.obj(u"dirty%1"_s.arg(i));
        const QString pk = q(t.primaryKey);
        out.install << createTableAs(dirty, {q(t.ref.refName) + u'.' + pk + u" AS __ivm_key"_s},
            sourceView(n, i) + u" AS "_s + q(t.ref.refName));
        deltaTableSettings(out, dirty);
        out.uninstall << u"DROP TABLE IF EXISTS %1"_s.arg(dirty);
        rebuildDeletes << u"DELETE FROM %1"_s.arg(dirty);

        // Capture: the keys of changed rows.
        QStringList oldCols, newCols;
        for (const QString& c : t.columns) {
            oldCols << u"o."_s + q(c);
            newCols << u"n."_s + q(c);
        }
        const QString fnIns = n.obj(tag + u"_ins"_s), fnUpd = n.obj(tag + u"_upd"_s), fnDel = n.obj(tag + u"_del"_s);
        if (!t.insertsCannotMatch) {
            addCaptureFunction(out, i, t, fnIns,
                u"  INSERT INTO %1 (__ivm_key) SELECT %2 FROM %3 __ivm_n;"_s.arg(dirty, pk, changedRows(u"__ivm_new"_s)), u"INSERT"_s);
            addTrigger(out, n, i, t, tag + u"_ins"_s, u"INSERT"_s, u"REFERENCING NEW TABLE AS __ivm_new"_s, fnIns);
        }
        const QString oldRows = changedRows(u"__ivm_old"_s), newRows = changedRows(u"__ivm_new"_s);
        addCaptureFunction(out, i, t, fnUpd,
            u"  INSERT INTO %1 (__ivm_key)\n  SELECT o.%2 FROM %5 o LEFT JOIN %6 n ON n.%2 = o.%2\n"
            u"  WHERE n.%2 IS NULL OR NOT pg_catalog.record_image_eq(ROW(%3), ROW(%4))\n  UNION ALL\n"
            u"  SELECT n.%2 FROM %6 n LEFT JOIN %5 o ON o.%2 = n.%2 WHERE o.%2 IS NULL;"_s.arg(
                dirty, pk, joinList(oldCols), joinList(newCols), oldRows, newRows),
            u"UPDATE"_s);
        addCaptureFunction(out, i, t, fnDel,
            u"  INSERT INTO %1 (__ivm_key) SELECT %2 FROM %3 __ivm_o;"_s.arg(dirty, pk, oldRows), u"DELETE"_s);
        addTrigger(out, n, i, t, tag + u"_upd"_s, u"UPDATE"_s, u"REFERENCING OLD TABLE AS __ivm_old NEW TABLE AS __ivm_new"_s, fnUpd);
        addTrigger(out, n, i, t, tag + u"_del"_s, u"DELETE"_s, u"REFERENCING OLD TABLE AS __ivm_old"_s, fnDel);
        truncateTrigger(out, n, i, t, tag);

        // Merge: which fact keys each consumed key touches.
        if (i == 0) {
            consume << u"k0 AS (DELETE FROM %1 RETURNING __ivm_key)"_s.arg(dirty);
            sources << u"SELECT __ivm_key FROM k0"_s;
        } else {
            // Throttled: a burst of dimension updates is worked off a batch per merge.
            consume << u"k%1 AS (DELETE FROM %2 WHERE ctid = ANY (ARRAY(SELECT ctid FROM %2 LIMIT %3)) RETURNING __ivm_key)"_s
                           .arg(i)
                           .arg(dirty)
                           .arg(batch);
            if (t.foundThroughBase) {
                // The fact rows whose joins reach the key now, through the join columns' indexes,
                // without the table itself (its row may be gone). A state row that still shows
                // the key but no longer reaches it changed on the way: that change's own key (of
                // the fact table or of a table in between) is pending, or was merged and
                // recomputed the row already.
                QString way = sourceView(n, 0) + u" AS "_s + q(fact.ref.refName);
                QStringList chain; // the tables between the fact table and t, nearest to the fact table first
                QString last = t.reachedFrom, column = t.reachedBy;
                for (int c = tableIndex(last); c > 0; c = tableIndex(plan.tables[c].reachedFrom))
                    chain.prepend(plan.tables[c].ref.refName);
                for (const QString& m : std::as_const(chain)) {
                    const PlanTable& mt = plan.tables[tableIndex(m)];
                    way += u" JOIN %1 AS %2 ON %3.%4 = %2.%5"_s.arg(sourceView(n, tableIndex(m)), q(m), q(mt.reachedFrom),
                        q(mt.reachedBy), q(mt.primaryKey));
                }
                sources << u"SELECT %1 FROM %2 WHERE %3.%4 IN (SELECT __ivm_key FROM k%5)"_s.arg(
                    factKey, way, q(last), q(column), QString::number(i));
            } else {
                sources << u"SELECT __ivm_s.%1 FROM %2 __ivm_s WHERE __ivm_s.%3 IN (SELECT __ivm_key FROM k%4)"_s.arg(
                    keyCol[0], S, keyCol[i], QString::number(i));
                sources << u"SELECT %1 FROM %2 WHERE %3.%4 IN (SELECT __ivm_key FROM k%5)"_s.arg(
                    factKey, from, q(t.ref.refName), pk, QString::number(i));
            }
        }
        counts << u"(SELECT count(*) FROM k%1)"_s.arg(i);
    }

    QString declare = u"  v_started timestamptz := clock_timestamp();\n  v_rows bigint;\n  v_keys %1[];\n"_s.arg(fact.primaryKeyType)
        + kMergeStartDeclare.chopped(1);
    QString body = mergeStart(n);
    body += u"  WITH %1\n  SELECT (SELECT array_agg(DISTINCT k) FROM (%2) x(k)), %3 INTO v_keys, v_rows;\n"_s.arg(
        consume.join(u",\n  "_s), sources.join(u" UNION ALL "_s), counts.join(u" + "_s));
    // Recompute those rows from the base tables (idempotent: a key changed again later stays pending).
    // Rows kept for an aggregate are recomputed in batches of new fact rows too (10,000 orders:
    // 30,000 keys), for which "= ANY (v_keys)" was planned as sequential scans with the array
    // hashed; a semi-join with the keys probes the indexes (4.4 s -> 1.9 s at scale 5).
    const QString keys = fold ? u" IN (SELECT unnest(v_keys))"_s : u" = ANY (v_keys)"_s;
    const QString remove = u"DELETE FROM %1 WHERE %2%3"_s.arg(S, keyCol[0], keys);
    const QString insert = u"INSERT INTO %1 (%2) SELECT %3 FROM %4%5"_s.arg(S, joinList(names), joinList(select), from,
        whereAnd(plan.whereSql, factKey + keys));
    if (!fold) {
        body += u"  IF v_keys IS NOT NULL THEN\n    %1;\n    %2;\n  END IF;\n"_s.arg(remove, insert);
    } else {
        // The rows that leave and those that come back are the aggregate's signed changes.
        body += u"  IF v_keys IS NOT NULL THEN\n  WITH __ivm_del AS (%1 RETURNING *, -1::smallint AS __ivm_sign),\n"
                u"  __ivm_ins AS (%2 RETURNING *, 1::smallint AS __ivm_sign),\n  %3\n%4  END IF;\n"_s.arg(
                    remove, insert, fold->ctes.join(u",\n  "_s), fold->select);
        declare += u"\n"_s + fold->declare;
    }
    body += u"  PERFORM htap.ivm_merged(%1, v_started, v_rows, coalesce(cardinality(v_keys), 0), 'incremental', NULL);\n  RETURN v_rows;"_s.arg(n.id);
    addFunction(out, out.mergeFunction, u"bigint"_s, body, declare, fold ? fold->settings : kMergeSettings);

    // The pending keys are consumed in the load's own statement: exact at READ COMMITTED too.
    // Rows kept for an aggregate are reloaded in place (only merges read them, and they wait
    // for the rebuild), then the aggregate is rebuilt from them.
    const QString load = u"  INSERT INTO %1 (%2) SELECT %3 FROM %4%5;"_s.arg(fold ? S : n.obj(u"state_new"_s), joinList(names),
        joinList(select), from, whereAnd(plan.whereSql));
    const QString rb = fold ? u"  TRUNCATE %1;\n%2\n%3"_s.arg(S, sameSnapshotLoad(load, rebuildDeletes), fold->rebuild)
                            : swapRebuild(n, load, {}, rebuildDeletes);
    rebuildProcedure(out, n, rb);

    QStringList typed;
    for (int i = 0; i < plan.outputs.size(); ++i) {
        const OutputColumn& o = plan.outputs[i];
        typed << (o.type.isEmpty() ? viewCols[i] : viewCols[i] + u"::"_s + o.type + u" AS "_s + viewCols[i]);
    }
    out.createView = u"CREATE VIEW %1 AS SELECT %2 FROM %3"_s.arg(quoteQualified(viewSchema, viewName), joinList(typed), out.currentView);
    return out;
}

} // namespace htap::mv::gen
