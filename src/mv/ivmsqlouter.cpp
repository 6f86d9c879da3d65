// Counted views over outer joins (FULL, RIGHT and LEFT joins on any equality, over tables with or
// without keys): kept as counted views are (ivmsqlcount.cpp), but merged by recomputing the part
// of the view that the changes reach. Inclusion-exclusion does not hold for outer joins: the rows
// they add for a missing match appear and vanish with the other side's rows.
//
// The part recomputed: each join's equalities make columns equal, and the columns made equal form
// classes; a set K of (class, value) pairs starts from the changed rows' values of their join
// columns, and is closed under "a row (now or changed) with one join column in K brings all its
// join columns into K". A row is touched when one of its join columns is in K. Then a view row is
// made of touched rows only, or of untouched rows only, and the untouched ones are the same before
// and after the changes (the matches of an untouched row are untouched rows, which are unchanged),
// so the change of the view is Q(touched rows now) - Q(touched rows before), where "before" is now
// minus the consumed changes. Values are compared by their type's hash (hash_array_extended), which
// equal values share: a collision only touches a few more rows. A join without an equality (CROSS
// JOIN) is a class whose one value every row of its tables has: a change there touches them all.
#include "ivmsqlparts.h"

using namespace Qt::StringLiterals;

namespace htap::mv::gen {

namespace {

QString keyHash(const QString& row, const QString& column)
{
    return column.isEmpty() ? u"0::bigint"_s : u"pg_catalog.hash_array_extended(ARRAY[%1.%2], 0)"_s.arg(row, q(column));
}

/// The (class, hash) pairs of one row's join columns, as VALUES rows.
QStringList keyPairs(const PlanTable& t, const QString& row)
{
    QStringList out;
    for (const auto& k : t.joinKeys)
        out << u"(%1, %2)"_s.arg(k.first).arg(keyHash(row, k.second));
    return out;
}

QStringList columnsOf(const PlanTable& t)
{
    QStringList cols;
    for (const QString& c : t.columns)
        cols << q(c);
    if (cols.isEmpty()) // a table whose columns the view does not read (a CROSS JOIN's)
        cols << u"0 AS __ivm_z"_s;
    return cols;
}

} // namespace

QString outerChanges(const IvmPlan& plan, const Names& n, const QStringList& selectAs, const QStringList& cols, const QStringList& positions)
{
    QStringList ctes, seeds, edges;
    const int k = int(plan.tables.size());
    for (int i = 0; i < k; ++i) {
        const PlanTable& t = plan.tables[i];
        seeds << u"SELECT __ivm_k.* FROM __ivm_d%1 __ivm_x CROSS JOIN LATERAL (VALUES %2) __ivm_k(cls, h)"_s.arg(i).arg(
            keyPairs(t, u"__ivm_x"_s).join(u", "_s));
        if (t.joinKeys.size() < 2)
            continue;
        // Every row now and every changed row links its join columns' values.
        QStringList pairs;
        for (const auto& a : t.joinKeys)
            for (const auto& b : t.joinKeys)
                if (a != b)
                    pairs << u"(%1, %2, %3, %4)"_s.arg(a.first).arg(keyHash(u"__ivm_x"_s, a.second)).arg(b.first).arg(keyHash(u"__ivm_x"_s, b.second));
        const QString cols = joinList(columnsOf(t));
        edges << u"SELECT __ivm_p.* FROM (SELECT %1 FROM %2 UNION ALL SELECT %1 FROM __ivm_d%3) __ivm_x CROSS JOIN LATERAL (VALUES %4) "
                 u"__ivm_p(c1, h1, c2, h2)"_s.arg(cols, sourceView(n, i)).arg(i).arg(pairs.join(u", "_s));
    }
    ctes << u"__ivm_seed AS (%1)"_s.arg(seeds.join(u" UNION ALL "_s));
    if (edges.isEmpty()) {
        ctes << u"__ivm_k AS (SELECT DISTINCT cls, h FROM __ivm_seed)"_s;
    } else {
        ctes << u"__ivm_e AS (%1)"_s.arg(edges.join(u" UNION ALL "_s));
        ctes << u"__ivm_k(cls, h) AS (SELECT cls, h FROM __ivm_seed UNION SELECT __ivm_e.c2, __ivm_e.h2 FROM __ivm_k JOIN __ivm_e "
                u"ON __ivm_e.c1 = __ivm_k.cls AND __ivm_e.h1 = __ivm_k.h)"_s;
    }
    // Each table's touched rows now (__ivm_n<i>) and before the changes (__ivm_o<i>: now, with
    // the removed rows back and the added ones out; every changed row is touched).
    // (A semi-join's EXISTS reads its table through a marker in the WHERE clause.)
    QString newFrom = plan.sourceFromSql + whereAnd(plan.whereSql), oldFrom = newFrom;
    for (int i = 0; i < k; ++i) {
        const PlanTable& t = plan.tables[i];
        QStringList touched;
        for (const QString& p : keyPairs(t, u"__ivm_x"_s))
            touched << p + u" IN (SELECT cls, h FROM __ivm_k)"_s;
        const QString cols = joinList(columnsOf(t));
        ctes << u"__ivm_n%1 AS (SELECT %2 FROM %3 __ivm_x WHERE %4)"_s.arg(i).arg(cols, sourceView(n, i), touched.join(u" OR "_s));
        ctes << u"__ivm_o%1 AS ((SELECT %2 FROM __ivm_n%1 UNION ALL SELECT %2 FROM __ivm_d%1 WHERE __ivm_sign < 0) "
                u"EXCEPT ALL SELECT %2 FROM __ivm_d%1 WHERE __ivm_sign > 0)"_s.arg(i).arg(cols);
        const QString marker = u"htap_ivm.__ivm_src_%1__"_s.arg(i);
        newFrom.replace(marker, u"__ivm_n%1"_s.arg(i));
        oldFrom.replace(marker, u"__ivm_o%1"_s.arg(i));
    }
    const QString terms = u"SELECT %1, 1 AS __ivm_s FROM %2 UNION ALL SELECT %1, -1 FROM %3"_s.arg(joinList(selectAs), newFrom, oldFrom);
    ctes << u"changed AS (SELECT %1, sum(__ivm_s)::bigint AS __ivm_c FROM (%2) __ivm_x GROUP BY %3 HAVING sum(__ivm_s) <> 0)"_s.arg(
        joinList(cols), terms, positions.join(u", "_s));
    return ctes.join(u",\n  "_s);
}

} // namespace htap::mv::gen
