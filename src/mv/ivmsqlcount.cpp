// The generator of counted views: a projection of inner joins (on any condition, tables with or
// without keys, a table more than once) kept as its distinct rows with how many times each
// occurs, as pg_ivm keeps its views. Writers capture signed copies of their changed rows; a merge
// derives the view's change from them by inclusion-exclusion over the tables:
//   Q(now) - Q(before) = sum over non-empty sets T of tables of (-1)^(|T|+1) Q(delta for T, now for the rest)
// where "before" is now minus the consumed changes, all read in one statement (one snapshot).
#include "ivmsqlparts.h"

#include <pg/identifier.h>

using namespace Qt::StringLiterals;
using htap::pg::quoteQualified;

namespace htap::mv::gen {

IvmSql generateCount(const IvmPlan& plan, const Names& n, const QString& viewSchema, const QString& viewName)
{
    IvmSql out;
    const QString S = n.obj(u"state"_s);
    out.stateTable = S;
    out.mergeFunction = n.obj(u"merge"_s);

    QStringList exprs, cols, positions, viewCols;
    for (int j = 0; j < plan.outputs.size(); ++j) {
        const OutputColumn& o = plan.outputs[j];
        exprs << o.expr;
        cols << q(o.name);
        positions << QString::number(j + 1);
        viewCols << (o.type.isEmpty() ? q(o.name) : q(o.name) + u"::"_s + o.type + u" AS "_s + q(o.name));
    }
    QStringList selectAs;
    for (int j = 0; j < exprs.size(); ++j)
        selectAs << exprs[j] + u" AS "_s + cols[j];
    const QString groupBy = u" GROUP BY "_s + positions.join(u", "_s);

    addSources(out, plan, n);
    const QString from = sourceFrom(plan, n);
    out.install << createTableAs(S, selectAs + QStringList {u"count(*) AS __ivm_count"_s}, from, groupBy, kUpdatedInPlace);
    currentView(out, n);
    // NULLS NOT DISTINCT: rows with NULLs are counted like any other (ON CONFLICT needs this index).
    out.indexes << u"CREATE UNIQUE INDEX %1 ON %2 (%3) NULLS NOT DISTINCT"_s.arg(q(u"v%1_state_key"_s.arg(n.id)), S, joinList(cols));
    out.indexColumns << QString();
    out.uninstall << u"DROP TABLE IF EXISTS %1"_s.arg(S);

    // Capture: each table's changed rows, signed, into a delta table of its own (the same table
    // read twice has two).
    QStringList consume, counts;
    QString rebuildDeletes;
    QStringList consumeAll;
    for (int i = 0; i < plan.tables.size(); ++i) {
        const PlanTable& t = plan.tables[i];
        const QString tag = u"t%1"_s.arg(i);
        const QString D = n.obj(u"delta%1"_s.arg(i));
        QStringList dc;
        for (const QString& c : t.columns)
            dc << q(c);
        out.install << createTableAs(D, dc + QStringList {u"1::smallint AS __ivm_sign"_s}, sourceView(n, i));
        deltaTableSettings(out, D);
        out.uninstall << u"DROP TABLE IF EXISTS %1"_s.arg(D);
        rebuildDeletes += u"  DELETE FROM %1;\n"_s.arg(D);
        consumeAll << u"DELETE FROM %1"_s.arg(D);
        const QString ins = joinList(dc + QStringList {u"__ivm_sign"_s});
        const auto rows = [&](const QString& source, int sign) {
            return u"SELECT %1 FROM %2 __ivm_c"_s.arg(joinList(dc + QStringList {QString::number(sign)}), changedRows(source));
        };
        const QString fnIns = n.obj(tag + u"_ins"_s), fnUpd = n.obj(tag + u"_upd"_s), fnDel = n.obj(tag + u"_del"_s);
        addCaptureFunction(out, i, t, fnIns, u"  INSERT INTO %1 (%2) %3;"_s.arg(D, ins, rows(u"__ivm_new"_s, 1)), u"INSERT"_s);
        addTrigger(out, n, i, t, tag + u"_ins"_s, u"INSERT"_s, u"REFERENCING NEW TABLE AS __ivm_new"_s, fnIns);
        if (!t.columns.isEmpty()) { // an UPDATE changes nothing a view that reads no column of t shows
            addCaptureFunction(out, i, t, fnUpd,
                u"  INSERT INTO %1 (%2) %3 UNION ALL %4;"_s.arg(D, ins, rows(u"__ivm_old"_s, -1), rows(u"__ivm_new"_s, 1)), u"UPDATE"_s);
            addTrigger(out, n, i, t, tag + u"_upd"_s, u"UPDATE"_s, u"REFERENCING OLD TABLE AS __ivm_old NEW TABLE AS __ivm_new"_s, fnUpd);
        }
        addCaptureFunction(out, i, t, fnDel, u"  INSERT INTO %1 (%2) %3;"_s.arg(D, ins, rows(u"__ivm_old"_s, -1)), u"DELETE"_s);
        addTrigger(out, n, i, t, tag + u"_del"_s, u"DELETE"_s, u"REFERENCING OLD TABLE AS __ivm_old"_s, fnDel);
        truncateTrigger(out, n, i, t, tag);
        consume << u"__ivm_d%1 AS (DELETE FROM %2 RETURNING %3)"_s.arg(QString::number(i), D, ins);
        counts << u"(SELECT count(*) FROM __ivm_d%1)"_s.arg(i);
    }

    // Merge: one statement (one snapshot) consumes the changes and reads the tables as they are now.
    QStringList terms;
    const int k = int(plan.tables.size());
    for (int set = 1; set < (1 << k); ++set) {
        QString termFrom = plan.sourceFromSql;
        QStringList signs;
        for (int i = 0; i < k; ++i) {
            const QString marker = u"htap_ivm.__ivm_src_%1__"_s.arg(i);
            if (set & (1 << i)) {
                termFrom.replace(marker, u"__ivm_d%1"_s.arg(i));
                signs << q(plan.tables[i].ref.refName) + u".__ivm_sign::bigint"_s;
            } else {
                termFrom.replace(marker, sourceView(n, i));
            }
        }
        const bool negative = signs.size() % 2 == 0;
        terms << u"SELECT %1, %2%3 AS __ivm_s FROM %4%5"_s.arg(joinList(selectAs), negative ? u"-"_s : QString(),
            signs.join(u" * "_s), termFrom, whereAnd(plan.whereSql));
    }
    // Over outer joins (ivmsqlouter.cpp) the merge recomputes what the changes reach, and may
    // rebuild instead when a large part of the base is pending (mergeStart).
    QString body = plan.outer ? mergeStart(n)
                              : u"  IF NOT pg_try_advisory_xact_lock(%1, %2) THEN\n    RETURN -1;\n  END IF;\n"_s.arg(kIvmLockClass).arg(n.id);
    const QString changed = plan.outer
        ? outerChanges(plan, n, selectAs, cols, positions)
        : u"changed AS (SELECT %1, sum(__ivm_s)::bigint AS __ivm_c FROM (%2) __ivm_x GROUP BY %3 HAVING sum(__ivm_s) <> 0)"_s.arg(
              joinList(cols), terms.join(u" UNION ALL "_s), positions.join(u", "_s));
    body += u"  WITH%1 %2,\n  %3,\n"
            u"  folded AS (INSERT INTO %4 AS __ivm_m (%5, __ivm_count) SELECT %5, __ivm_c FROM changed ON CONFLICT (%5) "
            u"DO UPDATE SET __ivm_count = __ivm_m.__ivm_count + excluded.__ivm_count RETURNING __ivm_m.ctid AS __ivm_tid, __ivm_m.__ivm_count)\n"
            u"  SELECT %6, (SELECT count(*) FROM folded), (SELECT array_agg(__ivm_tid) FROM folded WHERE __ivm_count = 0) "
            u"INTO v_rows, v_groups, v_empty;\n"_s.arg(plan.outer ? u" RECURSIVE"_s : QString(), consume.join(u",\n  "_s), changed,
                S, joinList(cols), counts.join(u" + "_s));
    body += u"  IF v_empty IS NOT NULL THEN\n    DELETE FROM %1 WHERE ctid = ANY (v_empty);\n  END IF;\n"_s.arg(S);
    body += u"  PERFORM htap.ivm_merged(%1, v_started, v_rows, v_groups);\n  RETURN v_rows;"_s.arg(n.id);
    addFunction(out, out.mergeFunction, u"bigint"_s, body,
        u"  v_started timestamptz := clock_timestamp();\n  v_rows bigint;\n  v_groups bigint;\n  v_empty tid[];"_s
            + (plan.outer ? u"\n"_s + kMergeStartDeclare.chopped(1) : QString()),
        kMergeSettings);

    // (A semi-join's EXISTS reads its table through a marker in the WHERE clause.)
    QString where = plan.whereSql;
    for (int i = 0; i < plan.tables.size(); ++i)
        where.replace(u"htap_ivm.__ivm_src_%1__"_s.arg(i), sourceView(n, i));
    const QString load = u"  INSERT INTO %1 (%2, __ivm_count) SELECT %3, count(*) FROM %4%5%6;"_s.arg(
        n.obj(u"state_new"_s), joinList(cols), joinList(exprs), from, whereAnd(where), groupBy);
    // A merge that rebuilds instead runs this at READ COMMITTED: the deletes of the pending
    // changes and the reads of the base in one statement (one snapshot).
    QString rb = plan.outer ? swapRebuild(n, load, kUpdatedInPlace, consumeAll) : rebuildDeletes + swapRebuild(n, load, kUpdatedInPlace);
    rebuildProcedure(out, n, rb);

    // Each distinct row as many times as it occurs; once for SELECT DISTINCT.
    out.createView = plan.distinct
        ? u"CREATE VIEW %1 AS SELECT %2 FROM %3 WHERE __ivm_count > 0"_s.arg(quoteQualified(viewSchema, viewName), joinList(viewCols), out.currentView)
        : u"CREATE VIEW %1 AS SELECT %2 FROM %3 CROSS JOIN LATERAL generate_series(1, __ivm_count) __ivm_n"_s.arg(
              quoteQualified(viewSchema, viewName), joinList(viewCols), out.currentView);
    return out;
}

} // namespace htap::mv::gen
