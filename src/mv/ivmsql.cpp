// The generator of aggregate views (signed deltas folded into per-group state) and the entry
// point that picks a view's generator.
#include "ivmsql.h"
#include "ivmsqlparts.h"

#include <pg/identifier.h>
#include <QHash>

#include <algorithm>

using namespace Qt::StringLiterals;
using htap::pg::quoteIdentifier;
using htap::pg::quoteQualified;

namespace htap::mv {

using namespace gen;

namespace {

using Store = OutputColumn::DistinctStore;

/// Bitmaps of integer values for count(DISTINCT): value v is bit (v & (2^k - 1)) of block v >> k.
constexpr int kBlockShift = kDistinctBlockShift;
const QString kNoBits = u"B'0'::bit(%1)"_s.arg(1 << kBlockShift);
QString blockOf(const QString& v)
{
    return u"(%1) >> %2"_s.arg(v, QString::number(kBlockShift));
}
QString bitOf(const QString& v)
{
    return u"set_bit(%1, ((%2) & %3)::int, 1)"_s.arg(kNoBits, v, QString::number((1 << kBlockShift) - 1));
}

QString distinctIndex(const Names& n, int j, const QString& groupColumns, Store store)
{
    return u"CREATE UNIQUE INDEX %1 ON %2 (%3, %4) NULLS NOT DISTINCT"_s.arg(q(u"v%1_distinct%2_key"_s.arg(n.id).arg(j)),
        n.obj(u"distinct%1"_s.arg(j)), groupColumns, store == Store::Bitmaps ? u"__ivm_b"_s : u"__ivm_v"_s);
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Aggregates over one table: signed deltas, folded into per-group state.

namespace gen {

IvmSql generateAggregate(const IvmPlan& plan, const Names& n, const QString& viewSchema, const QString& viewName, RowsFold* rows)
{
    IvmSql out;
    const PlanTable& t = plan.tables.first();
    const QString ref = q(t.ref.refName);
    const QString S = n.obj(u"state"_s);
    const QString D = n.obj(u"delta"_s);
    out.stateTable = S;
    out.mergeFunction = n.obj(u"merge"_s);

    QList<Group> groups;
    for (const OutputColumn& o : plan.outputs)
        if (o.kind == Kind::Group)
            groups << Group {q(o.name), o.expr};
    if (!plan.grouped)
        groups << Group {u"__ivm_one"_s, u"true"_s};
    QStringList gNames, gExprs, gAs, gPrefixed;
    for (const Group& g : std::as_const(groups)) {
        gNames << g.name;
        gExprs << g.expr;
        gAs << g.expr + u" AS "_s + g.name;
    }
    const QString gl = joinList(gNames);

    // Aggregates: j is the output index.
    bool anyMinMax = false;
    QStringList deltaArgs, deltaArgNames; // captured argument values
    QHash<QString, QString> argColumn; // argument expression -> its delta column
    QStringList stateCols; // CREATE TABLE AS select list after the groups
    // The same as values and names for the rebuild's INSERT: a view column's name may hold " AS ".
    QStringList rebuildVals, rebuildNames;
    auto stateCol = [&](const QString& value, const QString& name) {
        stateCols << value + u" AS "_s + name;
        rebuildVals << value;
        rebuildNames << name;
    };
    for (int j = 0; j < plan.outputs.size(); ++j) {
        const OutputColumn& o = plan.outputs[j];
        const QString col = q(o.name);
        if (o.kind != Kind::Group && o.kind != Kind::CountStar && o.kind != Kind::Derived && !argColumn.contains(o.expr)) {
            // One captured column per distinct argument (sum and avg of one column share it).
            const QString a = u"__ivm_a%1"_s.arg(j);
            argColumn.insert(o.expr, a);
            deltaArgs << o.expr + u" AS "_s + a;
            deltaArgNames << a;
        }
        switch (o.kind) {
        case Kind::Group:
        case Kind::Plain:
        case Kind::Derived:
            break;
        case Kind::CountStar:
            stateCol(u"count(*)"_s, col);
            break;
        case Kind::Count:
            stateCol(u"count(%1)"_s.arg(o.expr), col);
            break;
        case Kind::CountDistinct:
            stateCol(u"count(DISTINCT %1)"_s.arg(o.expr), col);
            break;
        case Kind::Sum:
            stateCol(u"sum(%1)"_s.arg(o.expr), col);
            stateCol(u"count(%1)"_s.arg(o.expr), u"__ivm_nn%1"_s.arg(j));
            break;
        case Kind::Avg:
            stateCol(u"sum(%1)"_s.arg(o.expr), u"__ivm_sum%1"_s.arg(j));
            stateCol(u"count(%1)"_s.arg(o.expr), u"__ivm_nn%1"_s.arg(j));
            break;
        case Kind::Min:
        case Kind::Max:
            anyMinMax = true;
            stateCol(u"%1(%2)"_s.arg(o.kind == Kind::Min ? u"min"_s : u"max"_s, o.expr), col);
            break;
        }
    }
    if (anyMinMax)
        stateCols << u"false AS __ivm_rescan"_s;

    // Tables. Merges and rebuilds read the base table through its source view.
    if (!rows)
        addSources(out, plan, n);
    const QString baseFrom = rows ? rows->from : sourceFrom(plan, n);
    const QString groupBy = plan.grouped ? u" GROUP BY "_s + joinList(gExprs) : QString();
    if (!rows) {
        out.install << createTableAs(D, gAs + deltaArgs + QStringList {u"1::smallint AS __ivm_sign"_s}, baseFrom);
        deltaTableSettings(out, D);
    }
    out.install << createTableAs(S, gAs + QStringList {u"count(*) AS __ivm_count"_s} + stateCols, baseFrom, groupBy, kUpdatedInPlace);
    currentView(out, n);
    out.indexes << u"CREATE UNIQUE INDEX %1 ON %2 (%3) NULLS NOT DISTINCT"_s.arg(q(u"v%1_state_key"_s.arg(n.id)), S, gl);
    out.indexColumns << QString(); // ON CONFLICT needs this very index (NULL keys are one group)
    QList<int> distinctIdx;
    for (int j = 0; j < plan.outputs.size(); ++j) {
        if (plan.outputs[j].kind != Kind::CountDistinct)
            continue;
        distinctIdx << j;
        if (plan.outputs[j].distinctStore == Store::Lookup)
            continue; // nothing stored: the base table's index is the store
        const QString R = n.obj(u"distinct%1"_s.arg(j));
        const QString e = plan.outputs[j].expr;
        if (plan.outputs[j].distinctStore == Store::Bitmaps) // __ivm_del: only carries a merge's bits to clear
            out.install << createTableAs(R, gAs + QStringList {blockOf(e) + u" AS __ivm_b"_s, kNoBits + u" AS __ivm_bits"_s,
                                                     u"0 AS __ivm_dn"_s, u"NULL::bit(%1) AS __ivm_del"_s.arg(1 << kBlockShift)}, baseFrom, {}, kUpdatedInPlace);
        else
            out.install << createTableAs(R, gAs + QStringList {e + u" AS __ivm_v"_s, u"0::bigint AS __ivm_n"_s, u"0::bigint AS __ivm_dn"_s},
                baseFrom, {}, kUpdatedInPlace);
        // Its unique index is (re)built by every rebuild, the first included.
        out.uninstall << u"DROP TABLE IF EXISTS %1"_s.arg(R);
    }
    out.uninstall << u"DROP TABLE IF EXISTS %1"_s.arg(S);
    if (!rows)
        out.uninstall << u"DROP TABLE IF EXISTS %1"_s.arg(D);

    // Capture (an aggregate over a join's rows has the join's).
    if (!rows) {
        const QString insertCols = joinList(gNames + deltaArgNames + QStringList {u"__ivm_sign"_s});
        auto captureSelect = [&](const QString& source, int sign, const QString& extra) {
            QStringList sel = gExprs;
            for (const QString& a : std::as_const(deltaArgs))
                sel << a.left(a.lastIndexOf(u" AS "_s));
            sel << QString::number(sign);
            return u"SELECT %1 FROM %2 AS %3%4"_s.arg(joinList(sel), changedRows(source), ref, whereAnd(plan.whereSql, extra));
        };
        const QString fnIns = n.obj(u"t0_ins"_s), fnUpd = n.obj(u"t0_upd"_s), fnDel = n.obj(u"t0_del"_s);
        addCaptureFunction(out, 0, t, fnIns, u"  INSERT INTO %1 (%2)\n  %3;"_s.arg(D, insertCols, captureSelect(u"__ivm_new"_s, 1, {})), u"INSERT"_s);
        addCaptureFunction(out, 0, t, fnDel, u"  INSERT INTO %1 (%2)\n  %3;"_s.arg(D, insertCols, captureSelect(u"__ivm_old"_s, -1, {})), u"DELETE"_s);
        // Only an UPDATE's rows whose watched columns changed, when the key pairs old and new images
        // one to one: not across inheritance children, which a parent's key does not cover.
        const bool keyUnique = !t.primaryKey.isEmpty() && !(t.kind == 'r' && t.hasChildren);
        QString oldSide, newSide;
        if (keyUnique) {
            // A changed key counts as delete + insert.
            QStringList mine, other;
            for (const QString& c : t.columns) {
                mine << ref + u'.' + q(c);
                other << u"__ivm_x."_s + q(c);
            }
            // Binary image equality: works for every type (json has no =) and sees 1.0 -> 1.00. The
            // function, not the operator *=, which between two ROW() constructors would compare
            // column by column (and text has no *=).
            const QString same = u"NOT EXISTS (SELECT 1 FROM %1 AS __ivm_x WHERE __ivm_x.%2 = %3.%2 AND "
                                 u"pg_catalog.record_image_eq(ROW(%4), ROW(%5)))"_s;
            oldSide = same.arg(changedRows(u"__ivm_new"_s), q(t.primaryKey), ref, joinList(other), joinList(mine));
            newSide = same.arg(changedRows(u"__ivm_old"_s), q(t.primaryKey), ref, joinList(other), joinList(mine));
        }
        addTrigger(out, n, 0, t, u"t0_ins"_s, u"INSERT"_s, u"REFERENCING NEW TABLE AS __ivm_new"_s, fnIns);
        if (!t.columns.isEmpty()) { // a view that reads no column cannot change on UPDATE
            const QString update = u"  INSERT INTO %1 (%2)\n  %3\n  UNION ALL\n  %4;"_s;
            addCaptureFunction(out, 0, t, fnUpd,
                update.arg(D, insertCols, captureSelect(u"__ivm_old"_s, -1, oldSide), captureSelect(u"__ivm_new"_s, 1, newSide)), u"UPDATE"_s);
            if (keyUnique && t.kind == 'r') {
                // Children may come later (CREATE TABLE ... INHERITS): the DDL guard then puts in the
                // capture that emits every old and new image (the merge nets them out).
                CaptureSpec& spec = specFor(out, 0, t);
                spec.updateFiltered = spec.statements.last();
                spec.updateUnfiltered = u"UPDATE|"_s
                    + update.arg(D, insertCols, captureSelect(u"__ivm_old"_s, -1, {}), captureSelect(u"__ivm_new"_s, 1, {}));
            }
            addTrigger(out, n, 0, t, u"t0_upd"_s, u"UPDATE"_s, u"REFERENCING OLD TABLE AS __ivm_old NEW TABLE AS __ivm_new"_s, fnUpd);
        }
        addTrigger(out, n, 0, t, u"t0_del"_s, u"DELETE"_s, u"REFERENCING OLD TABLE AS __ivm_old"_s, fnDel);
        truncateTrigger(out, n, 0, t, u"t0"_s);
    }

    // Merge: one statement consumes exactly the deltas its snapshot sees and folds them in.
    QStringList ctes;
    if (rows)
        ctes << u"consumed AS (SELECT %1 FROM (%2) AS __ivm_j)"_s.arg(joinList(gAs + deltaArgs + QStringList {u"__ivm_sign"_s}), rows->changed);
    else
        ctes << u"consumed AS (DELETE FROM %1 RETURNING %2, __ivm_sign)"_s.arg(D, joinList(gNames + deltaArgNames));
    QStringList agCols {u"sum(__ivm_sign)::bigint AS __ivm_c"_s};
    QStringList unionFirst {u"__ivm_c"_s}, combCols {u"sum(__ivm_c)::bigint AS __ivm_c"_s};
    QStringList insCols {u"__ivm_count"_s}, insVals {u"__ivm_c"_s}, sets {u"__ivm_count = __ivm_m.__ivm_count + excluded.__ivm_count"_s};
    QStringList rescanSets, viewCols;
    // The state's alias: not one a user's table could have (the rescan correlates through it).
    const auto additive = [](const QString& c) { return u"%1 = __ivm_m.%1 + excluded.%1"_s.arg(c); };
    const auto nullableSum = [](const QString& c) {
        return u"%1 = CASE WHEN __ivm_m.%1 IS NULL THEN excluded.%1 WHEN excluded.%1 IS NULL THEN __ivm_m.%1 "
               u"ELSE __ivm_m.%1 + excluded.%1 END"_s.arg(c);
    };
    for (int j = 0; j < plan.outputs.size(); ++j) {
        const OutputColumn& o = plan.outputs[j];
        const QString col = q(o.name);
        const QString a = argColumn.value(o.expr);
        const QString x = u"__ivm_x%1"_s.arg(j), nn = u"__ivm_nn%1"_s.arg(j);
        const QString nonNull = u"sum(CASE WHEN %1 IS NOT NULL THEN __ivm_sign ELSE 0 END)::bigint AS "_s.arg(a);
        const QString cast = o.type.isEmpty() ? QString() : u"::"_s + o.type;
        switch (o.kind) {
        case Kind::Group:
            viewCols << col + cast + u" AS "_s + col;
            break;
        case Kind::Plain:
        case Kind::Derived:
            break;
        case Kind::CountStar:
            insCols << col;
            insVals << u"__ivm_c"_s;
            sets << additive(col);
            viewCols << col;
            break;
        case Kind::Count:
            agCols << nonNull + x;
            unionFirst << x;
            combCols << u"sum(%1)::bigint AS %1"_s.arg(x);
            insCols << col;
            insVals << x;
            sets << additive(col);
            viewCols << col;
            break;
        case Kind::CountDistinct: {
            const QString R = n.obj(u"distinct%1"_s.arg(j));
            const QString dd = u"__ivm_dd%1"_s.arg(j);
            QStringList tg;
            for (const QString& g : std::as_const(gNames))
                tg << u"t."_s + g;
            if (o.distinctStore != Store::Bitmaps) // the net change of each pair
                ctes << u"rcd%1 AS (SELECT %2, %3 AS __ivm_v, sum(__ivm_sign)::bigint AS __ivm_dn FROM consumed WHERE %3 IS NOT NULL "
                        u"GROUP BY %2, %3 HAVING sum(__ivm_sign) <> 0)"_s.arg(j).arg(gl, a);
            QStringList ret, tdMatch, baseMatch;
            for (const Group& g : std::as_const(groups)) {
                ret << u"__ivm_t."_s + g.name;
                tdMatch << u"(__ivm_t.%1 = __ivm_d.%1 OR (__ivm_t.%1 IS NULL AND __ivm_d.%1 IS NULL))"_s.arg(g.name);
                if (g.name != u"__ivm_one"_s)
                    baseMatch << u"((__ivm_d.%1 IS NULL AND (%2) IS NULL) OR (%2) = __ivm_d.%1)"_s.arg(g.name, g.expr);
            }
            baseMatch << u"(%1) = __ivm_d.__ivm_v"_s.arg(o.expr);
            // A pair is gone if the base table, at this statement's snapshot (the one the deltas
            // came from), has no row for it (one indexed lookup).
            const QString gone = u"NOT EXISTS (SELECT 1 FROM %1%2)"_s.arg(baseFrom, whereAnd(plan.whereSql, baseMatch.join(u" AND "_s)));
            if (o.distinctStore == Store::Bitmaps) {
                // Pairs as bits, without netting each pair: a pair that gained a row and lost
                // none exists now; one that lost a row exists if the base table still has one.
                // So each block gets bits to set and bits to clear (gone wins: a row added, then
                // deleted, also in a block not stored yet), then one upsert per (group, block)
                // returns the bits it changed.
                ctes << u"rcn%1 AS (SELECT DISTINCT %2, %3 AS __ivm_v FROM consumed WHERE __ivm_sign < 0 AND %3 IS NOT NULL)"_s.arg(
                    QString::number(j), gl, a);
                ctes << u"rcm%1 AS (SELECT %2, %3 AS __ivm_b, coalesce(bit_or(%4) FILTER (WHERE __ivm_on), %5) & "
                        u"~coalesce(bit_or(%4) FILTER (WHERE NOT __ivm_on), %5) AS __ivm_add, "
                        u"bit_or(%4) FILTER (WHERE NOT __ivm_on) AS __ivm_del FROM (SELECT %2, %6 AS __ivm_v, true AS __ivm_on FROM consumed "
                        u"WHERE __ivm_sign > 0 AND %6 IS NOT NULL UNION ALL SELECT %2, __ivm_v, NOT %7 FROM rcn%1 __ivm_d) __ivm_x GROUP BY %2, %3)"_s
                            .arg(QString::number(j), gl, blockOf(u"__ivm_v"_s), bitOf(u"__ivm_v"_s), kNoBits, a, gone);
                const QString next = u"(__ivm_t.__ivm_bits | excluded.__ivm_bits) & ~coalesce(excluded.__ivm_del, %1)"_s.arg(kNoBits);
                ctes << u"rcu%1 AS (INSERT INTO %2 AS __ivm_t (%3, __ivm_b, __ivm_bits, __ivm_dn, __ivm_del) "
                        u"SELECT %3, __ivm_b, __ivm_add, bit_count(__ivm_add), __ivm_del FROM rcm%1 WHERE __ivm_del IS NOT NULL OR bit_count(__ivm_add) > 0 "
                        u"ON CONFLICT (%3, __ivm_b) DO UPDATE SET __ivm_bits = %4, __ivm_dn = bit_count(%4) - bit_count(__ivm_t.__ivm_bits), __ivm_del = NULL "
                        u"WHERE %4 <> __ivm_t.__ivm_bits RETURNING __ivm_t.ctid AS __ivm_tid, %5, __ivm_t.__ivm_dn, bit_count(__ivm_t.__ivm_bits) AS __ivm_n)"_s
                            .arg(QString::number(j), R, gl, next, joinList(ret));
                ctes << u"rcg%1 AS (SELECT %2, sum(__ivm_dn)::bigint AS %3 FROM rcu%1 GROUP BY %2)"_s.arg(QString::number(j), gl, dd);
            } else if (o.distinctStore == Store::Lookup) {
                // Nothing stored. The base table at this statement's snapshot is the state after
                // the consumed changes, so a pair's rows now less its net change are its rows
                // before: it exists now if it has rows, it existed before if it has more rows now
                // than it gained (always, when it lost some). Its rows now are counted in one
                // pass over the base rows of the changed values (through the index leading with
                // the value, chosen because a value has few rows), grouped with the net changes
                // (GROUP BY holds NULL groups as one, as the state does); pairs that did not
                // change are dropped there.
                QStringList baseCols;
                for (int k = 0; k < groups.size(); ++k)
                    baseCols << groups[k].expr + u" AS "_s + groups[k].name;
                ctes << u"rcl%1 AS (SELECT %2, sum(__ivm_dn)::bigint AS __ivm_dn, sum(__ivm_now)::bigint AS __ivm_now FROM ("
                        u"SELECT %2, __ivm_v, __ivm_dn, 0 AS __ivm_now FROM rcd%1 UNION ALL SELECT %3, (%4), 0, 1 FROM %5%6) __ivm_x "
                        u"GROUP BY %2, __ivm_v HAVING sum(__ivm_dn) <> 0)"_s.arg(QString::number(j), gl, joinList(baseCols), o.expr, baseFrom,
                            whereAnd(plan.whereSql, u"(%1) IN (SELECT __ivm_v FROM rcd%2)"_s.arg(o.expr, QString::number(j))));
                ctes << u"rcg%1 AS (SELECT %2, sum((__ivm_now > 0)::int - (__ivm_now > __ivm_dn)::int)::bigint AS %3 "
                        u"FROM rcl%1 GROUP BY %2)"_s.arg(QString::number(j), gl, dd);
            } else if (o.distinctStore == Store::Pairs) {
                // (group, value) pairs, no counts: a pair whose net change is positive exists
                // now (insert it, a conflict costs one index probe); one whose net change is
                // negative is deleted if gone.
                ctes << u"rci%1 AS (INSERT INTO %2 AS __ivm_t (%3, __ivm_v, __ivm_n, __ivm_dn) SELECT %3, __ivm_v, 0, 0 FROM rcd%1 "
                        u"WHERE __ivm_dn > 0 ON CONFLICT (%3, __ivm_v) DO NOTHING RETURNING %4)"_s.arg(QString::number(j), R, gl, joinList(ret));
                ctes << u"rcx%1 AS (DELETE FROM %2 AS __ivm_t USING rcd%1 __ivm_d WHERE __ivm_d.__ivm_dn < 0 AND %3 "
                        u"AND __ivm_t.__ivm_v = __ivm_d.__ivm_v AND %4 RETURNING %5)"_s.arg(
                            QString::number(j), R, tdMatch.join(u" AND "_s), gone, joinList(ret));
                ctes << u"rcg%1 AS (SELECT %2, sum(__ivm_s)::bigint AS %3 FROM (SELECT %2, 1 AS __ivm_s FROM rci%1 "
                        u"UNION ALL SELECT %2, -1 FROM rcx%1) __ivm_x GROUP BY %2)"_s.arg(QString::number(j), gl, dd);
            } else {
                ctes << u"rcu%1 AS (INSERT INTO %2 AS t (%3, __ivm_v, __ivm_n, __ivm_dn) SELECT %3, __ivm_v, __ivm_dn, __ivm_dn FROM rcd%1 "
                        u"ON CONFLICT (%3, __ivm_v) DO UPDATE SET __ivm_n = t.__ivm_n + excluded.__ivm_n, __ivm_dn = excluded.__ivm_dn "
                        u"RETURNING t.ctid AS __ivm_tid, %4, t.__ivm_n, t.__ivm_dn)"_s.arg(j).arg(R, gl, joinList(tg));
                // A value's count going 0 -> n adds a distinct value to its group, n -> 0 removes one.
                ctes << u"rcg%1 AS (SELECT %2, sum(CASE WHEN __ivm_n > 0 AND __ivm_n = __ivm_dn THEN 1 "
                        u"WHEN __ivm_n = 0 AND __ivm_dn < 0 THEN -1 ELSE 0 END)::bigint AS %3 FROM rcu%1 GROUP BY %2)"_s.arg(j).arg(gl, dd);
            }
            combCols << u"sum(%1)::bigint AS %1"_s.arg(dd);
            insCols << col;
            insVals << u"coalesce(%1, 0)"_s.arg(dd);
            sets << additive(col);
            viewCols << col;
            break;
        }
        case Kind::Sum:
        case Kind::Avg: {
            const QString sumCol = o.kind == Kind::Sum ? col : u"__ivm_sum%1"_s.arg(j);
            agCols << u"sum(__ivm_sign * %1) AS %2"_s.arg(a, x) << nonNull + nn;
            unionFirst << x << nn;
            combCols << u"sum(%1) AS %1"_s.arg(x) << u"sum(%1)::bigint AS %1"_s.arg(nn);
            insCols << sumCol << nn;
            insVals << x << nn;
            sets << nullableSum(sumCol) << additive(nn);
            if (o.kind == Kind::Sum)
                viewCols << u"CASE WHEN %1 > 0 THEN %2 END%3 AS %2"_s.arg(nn, col, cast);
            else
                viewCols << u"(CASE WHEN %1 > 0 THEN %2%3 / %1 END)%3 AS %4"_s.arg(nn, sumCol, cast.isEmpty() ? u"::numeric"_s : cast, col);
            break;
        }
        case Kind::Min:
        case Kind::Max: {
            const bool isMin = o.kind == Kind::Min;
            const QString r = u"__ivm_r%1"_s.arg(j);
            agCols << u"%1(%2) FILTER (WHERE __ivm_sign > 0) AS %3"_s.arg(isMin ? u"min"_s : u"max"_s, a, x)
                   << u"bool_or(__ivm_sign < 0 AND %1 IS NOT NULL) AS %2"_s.arg(a, r);
            unionFirst << x << r;
            combCols << u"%1(%2) AS %2"_s.arg(isMin ? u"min"_s : u"max"_s, x) << u"bool_or(%1) AS %1"_s.arg(r);
            insCols << col;
            insVals << x;
            sets << u"%1 = %2(__ivm_m.%1, excluded.%1)"_s.arg(col, isMin ? u"least"_s : u"greatest"_s);
            QStringList match;
            for (const Group& g : std::as_const(groups))
                if (g.name != u"__ivm_one"_s)
                    match << u"((__ivm_m.%1 IS NULL AND (%2) IS NULL) OR (%2) = __ivm_m.%1)"_s.arg(g.name, g.expr);
            rescanSets << u"%1 = (SELECT %2(%3) FROM %4%5)"_s.arg(col, isMin ? u"min"_s : u"max"_s, o.expr, baseFrom,
                whereAnd(plan.whereSql, match.join(u" AND "_s)));
            viewCols << col;
            break;
        }
        }
    }
    if (anyMinMax) {
        QStringList rs;
        for (int j = 0; j < plan.outputs.size(); ++j)
            if (plan.outputs[j].kind == Kind::Min || plan.outputs[j].kind == Kind::Max)
                rs << u"coalesce(__ivm_r%1, false)"_s.arg(j);
        insCols << u"__ivm_rescan"_s;
        insVals << rs.join(u" OR "_s);
        sets << u"__ivm_rescan = __ivm_m.__ivm_rescan OR excluded.__ivm_rescan"_s;
    }
    ctes << u"ag AS (SELECT %1, %2 FROM consumed GROUP BY %1)"_s.arg(gl, joinList(agCols));
    // Every group's changes in one row: the aggregate deltas and each distinct count's delta.
    QStringList branches;
    {
        QStringList first = gNames + unionFirst;
        for (int j : std::as_const(distinctIdx))
            first << u"NULL::bigint AS __ivm_dd%1"_s.arg(j);
        branches << u"SELECT %1 FROM ag"_s.arg(joinList(first));
        for (int j : std::as_const(distinctIdx)) {
            QStringList b = gNames;
            for (const QString& c : std::as_const(unionFirst))
                b << (c == u"__ivm_c"_s ? u"0"_s : u"NULL"_s);
            for (int k : std::as_const(distinctIdx))
                b << (k == j ? u"__ivm_dd%1"_s.arg(k) : u"NULL"_s);
            branches << u"SELECT %1 FROM rcg%2"_s.arg(joinList(b), QString::number(j));
        }
    }
    ctes << u"comb AS (SELECT %1, %2 FROM (%3) u GROUP BY %1)"_s.arg(gl, joinList(combCols), branches.join(u" UNION ALL "_s));
    ctes << u"up AS (INSERT INTO %1 AS __ivm_m (%2, %3) SELECT %2, %4 FROM comb ON CONFLICT (%2) DO UPDATE SET %5 "
            u"RETURNING __ivm_m.ctid AS __ivm_tid, __ivm_m.__ivm_count%6)"_s.arg(S, gl, joinList(insCols), joinList(insVals),
                joinList(sets), anyMinMax ? u", __ivm_m.__ivm_rescan"_s : QString());
    QStringList intoExprs {u"(SELECT count(*) FROM consumed)"_s, u"(SELECT count(*) FROM up)"_s};
    QStringList intoVars {u"v_rows"_s, u"v_groups"_s};
    QString declare = u"  v_started timestamptz := clock_timestamp();\n  v_rows bigint;\n  v_groups bigint;\n"_s + kMergeStartDeclare;
    if (rows) { // the join's merge counts its own rows, and starts as every merge does
        intoExprs.removeFirst();
        intoVars.removeFirst();
        declare = u"  v_groups bigint;\n"_s;
    }
    if (plan.grouped) {
        intoExprs << u"(SELECT array_agg(__ivm_tid) FROM up WHERE __ivm_count = 0)"_s;
        intoVars << u"v_empty"_s;
        declare += u"  v_empty tid[];\n"_s;
    }
    if (anyMinMax) {
        intoExprs << u"(SELECT array_agg(__ivm_tid) FROM up WHERE __ivm_rescan)"_s;
        intoVars << u"v_rescan"_s;
        declare += u"  v_rescan tid[];\n"_s;
    }
    QList<int> counted; // distinct counts whose rows can become empty: reference counts, bitmaps
    for (int j : std::as_const(distinctIdx))
        if (plan.outputs[j].distinctStore == Store::Counts || plan.outputs[j].distinctStore == Store::Bitmaps)
            counted << j;
    for (int j : std::as_const(counted)) {
        intoExprs << u"(SELECT array_agg(__ivm_tid) FROM rcu%1 WHERE __ivm_n = 0)"_s.arg(j);
        intoVars << u"v_zero%1"_s.arg(j);
        declare += u"  v_zero%1 tid[];\n"_s.arg(j);
    }
    QString body = mergeStart(n);
    // The statement's closing SELECT and what follows it (an aggregate over a join's rows hands
    // them to the join's merge).
    QString fold = u"  SELECT %1 INTO %2;\n"_s.arg(joinList(intoExprs), joinList(intoVars));
    body += u"  WITH %1\n"_s.arg(ctes.join(u",\n  "_s));
    // Empty groups go first: a rescan would move the row and its tid with it.
    if (plan.grouped)
        fold += u"  IF v_empty IS NOT NULL THEN\n    DELETE FROM %1 WHERE ctid = ANY (v_empty);\n  END IF;\n"_s.arg(S);
    if (anyMinMax)
        fold += u"  IF v_rescan IS NOT NULL THEN\n    UPDATE %1 AS __ivm_m SET %2, __ivm_rescan = false WHERE __ivm_m.ctid = ANY (v_rescan);\n  END IF;\n"_s.arg(
            S, joinList(rescanSets));
    for (int j : std::as_const(counted))
        fold += u"  IF v_zero%1 IS NOT NULL THEN\n    DELETE FROM %2 WHERE ctid = ANY (v_zero%1);\n  END IF;\n"_s.arg(j).arg(
            n.obj(u"distinct%1"_s.arg(j)));
    body += fold + u"  PERFORM htap.ivm_merged(%1, v_started, v_rows, v_groups, 'incremental', NULL);\n  RETURN v_rows;"_s.arg(n.id);
    // A bitmap count's groupings are over rows just consumed, in no order: the planner's
    // estimates make it sort them, hashing is two to three times faster (measured on the seed's
    // hourly view). Other merges keep the planner's choice (a pair's anti-join may want a sort).
    const bool anyBitmaps = std::any_of(distinctIdx.cbegin(), distinctIdx.cend(),
        [&](int j) { return plan.outputs[j].distinctStore == Store::Bitmaps; });
    const QString settings = anyBitmaps ? kMergeSettings + u" SET enable_sort = off"_s : kMergeSettings;
    if (rows) { // the fold without the lock and the record: the join's merge has them
        rows->ctes = ctes;
        rows->select = fold;
        rows->declare = declare.chopped(1);
        rows->settings = settings;
    } else {
        addFunction(out, out.mergeFunction, u"bigint"_s, body, declare.chopped(1), settings);
    }

    // Rebuild from the base table at the rebuild's snapshot; later deltas stay pending.
    // One statement consumes the pending changes and reads the base for the state and every
    // distinct-count store (swapRebuild's sameSnapshot): exact at READ COMMITTED too. Over a
    // join's rows, the join's rebuild has consumed them and reloaded the rows read here.
    QStringList sameSnapshot;
    if (!rows)
        sameSnapshot << u"DELETE FROM %1"_s.arg(D);
    QString pre, post;
    const QStringList fullCols = gNames + QStringList {u"__ivm_count"_s} + rebuildNames;
    const QStringList fullVals = gExprs + QStringList {u"count(*)"_s} + rebuildVals;
    const QString stateLoad = u"  INSERT INTO %1 (%2) SELECT %3 FROM %4%5%6;"_s.arg(n.obj(u"state_new"_s), joinList(fullCols),
        joinList(fullVals), baseFrom, whereAnd(plan.whereSql), groupBy);
    for (int j : std::as_const(distinctIdx)) {
        const QString R = n.obj(u"distinct%1"_s.arg(j));
        const QString e = plan.outputs[j].expr;
        const Store store = plan.outputs[j].distinctStore;
        if (store == Store::Lookup)
            continue;
        // Only merges read the pairs, and they wait for this rebuild: bulk-load them and index
        // afterwards (an insert into a unique index of millions of rows is many times slower).
        // Grouped by position: a view without GROUP BY has the constant true as its one group,
        // and GROUP BY true would be read as a position.
        QStringList positions;
        for (int k = 1; k <= gExprs.size() + 1; ++k)
            positions << QString::number(k);
        const QString load = store == Store::Bitmaps
            ? u"INSERT INTO %1 (%2, __ivm_b, __ivm_bits, __ivm_dn) SELECT %3, %4, bit_or(%5), 0 FROM %6%7 GROUP BY %8"_s
            : u"INSERT INTO %1 (%2, __ivm_v, __ivm_n, __ivm_dn) SELECT %3, %4, %5, 0 FROM %6%7 GROUP BY %8"_s;
        pre += u"  DROP INDEX IF EXISTS htap_ivm.%1;\n  TRUNCATE %2;\n"_s.arg(q(u"v%1_distinct%2_key"_s.arg(n.id).arg(j)), R);
        sameSnapshot << load.arg(R, gl, joinList(gExprs), store == Store::Bitmaps ? blockOf(e) : e,
            store == Store::Bitmaps ? bitOf(e) : store == Store::Counts ? u"count(*)"_s : u"0"_s, baseFrom,
            whereAnd(plan.whereSql, u"(%1) IS NOT NULL"_s.arg(e)), positions.join(u", "_s));
        post += u"\n  "_s + distinctIndex(n, j, gl, store) + u";"_s;
    }
    const QString rebuild = pre + swapRebuild(n, stateLoad, kUpdatedInPlace, sameSnapshot) + post;
    if (rows)
        rows->rebuild = rebuild;
    else
        rebuildProcedure(out, n, rebuild);

    out.createView = u"CREATE VIEW %1 AS %2"_s.arg(quoteQualified(viewSchema, viewName),
        derivedView(plan, u"SELECT %1 FROM %2%3"_s.arg(joinList(viewCols), out.currentView, plan.grouped ? u" WHERE __ivm_count > 0"_s : QString())));
    return out;
}

} // namespace gen

IvmSql generateIvmSql(const IvmPlan& plan, int id, const QString& viewSchema, const QString& viewName, int dimensionBatch)
{
    const Names n {id};
    IvmSql out = plan.shape == IvmPlan::Shape::Aggregate ? generateAggregate(plan, n, viewSchema, viewName)
        : plan.shape == IvmPlan::Shape::Join             ? generateJoin(plan, n, viewSchema, viewName, dimensionBatch)
        : plan.shape == IvmPlan::Shape::Count            ? generateCount(plan, n, viewSchema, viewName)
                                                         : generateJoinAggregate(plan, n, viewSchema, viewName, dimensionBatch);
    // The triggers go first: nothing may capture into tables that are gone. The shared capture
    // functions are regenerated without this view (its registry row is deleted first).
    QStringList roots;
    for (const CaptureSpec& c : std::as_const(out.captures))
        if (!c.statements.isEmpty() && !roots.contains(QString::number(c.root)))
            roots << QString::number(c.root);
    if (!roots.isEmpty())
        out.uninstall.prepend(u"SELECT htap.ivm_capture_sync('{%1}'::oid[])"_s.arg(roots.join(u',')));
    out.uninstall.prepend(dropTriggers(n));
    // Readers of the view need nothing on htap_ivm but the state; the writers' capture runs as owner.
    return out;
}

QString textTheEngineCannotHold(const IvmPlan& plan)
{
    if (plan.definition.contains(kColumnsMarker))
        return u"the definition contains the text %1, which the generated functions use as a marker"_s.arg(kColumnsMarker);
    // The key is captured though the definition need not name it: the check above misses it.
    for (const PlanTable& t : plan.tables)
        for (const QString& c : t.captured)
            if (c.contains(kColumnsMarker))
                return u"%1 has a column named %2, which holds the text %3 that the generated functions use as a marker"_s.arg(
                    t.ref.refName, q(c), kColumnsMarker);
    return {};
}

QString distinctDensityQuery(const IvmPlan& plan, int j)
{
    const QString x = plan.outputs.value(j).expr;
    QStringList inner, outer;
    for (const OutputColumn& g : plan.outputs) {
        if (g.kind != Kind::Group)
            continue;
        outer << u"__ivm_g%1"_s.arg(outer.size());
        inner << g.expr + u" AS "_s + outer.last();
    }
    inner << x + u" AS __ivm_v"_s;
    outer << blockOf(u"__ivm_v"_s);
    const QString lowest = u"(SELECT ((max(%1) >> %2) - 7) << %2 FROM %3)"_s.arg(x, QString::number(kBlockShift), plan.fromSql);
    return u"SELECT avg(__ivm_n)::float8 FROM (SELECT count(*) AS __ivm_n FROM (SELECT DISTINCT %1 FROM %2%3) __ivm_p GROUP BY %4) __ivm_b"_s.arg(
        joinList(inner), plan.fromSql, whereAnd(plan.whereSql, u"(%1) >= %2"_s.arg(x, lowest)), joinList(outer));
}

} // namespace htap::mv