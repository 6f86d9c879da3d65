// The generator of aggregates over joins: the join's rows kept by the fact table's key (the join
// generator's capture and recomputation), each merge's recomputed rows turned into signed changes
// (the rows it deletes -1, those it inserts again +1) and folded into per-group state by the
// aggregate generator's fold. A dimension row that changes its group moves its fact rows: they
// leave with the old group and come back with the new one.
#include "ivmsqlparts.h"

#include <QHash>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace htap::mv::gen {

IvmSql generateJoinAggregate(const IvmPlan& plan, const Names& n, const QString& viewSchema, const QString& viewName, int batch)
{
    // The join's rows: each group expression and each aggregate argument of a fact row, under
    // names of the engine's own (an argument shared by sum and avg is kept once).
    IvmPlan rows = plan;
    rows.shape = IvmPlan::Shape::Join;
    rows.outputs.clear();
    for (PlanTable& t : rows.tables)
        t.keyOutput.clear(); // every table's key in a column of its own
    // The aggregate over them: the same outputs, their expressions over the rows table.
    IvmPlan agg = plan;
    agg.shape = IvmPlan::Shape::Aggregate;
    agg.whereSql.clear(); // the join's rows are those the WHERE clause keeps
    QHash<QString, QString> argument; // expression -> its rows-table column
    QStringList groupColumns;
    for (int j = 0; j < plan.outputs.size(); ++j) {
        const OutputColumn& o = plan.outputs[j];
        QString column;
        if (o.kind == OutputColumn::Kind::Group) {
            column = u"__ivm_g%1"_s.arg(j);
            groupColumns << column;
        } else if (o.kind != OutputColumn::Kind::CountStar && o.kind != OutputColumn::Kind::Plain && o.kind != OutputColumn::Kind::Derived) {
            // (A derived column is computed when the view is read, from the hidden aggregates.)
            column = argument.value(o.expr);
            if (column.isEmpty())
                argument.insert(o.expr, column = u"__ivm_a%1"_s.arg(j));
            else
                continue;
        } else {
            continue;
        }
        OutputColumn r;
        r.name = column;
        r.kind = OutputColumn::Kind::Plain;
        r.expr = o.expr;
        rows.outputs << r;
    }
    for (int j = 0; j < agg.outputs.size(); ++j) {
        OutputColumn& o = agg.outputs[j];
        if (o.kind == OutputColumn::Kind::Group)
            o.expr = u"__ivm_j."_s + q(u"__ivm_g%1"_s.arg(j));
        else if (argument.contains(o.expr))
            o.expr = u"__ivm_j."_s + q(argument.value(o.expr));
        // A pair's removal cannot be checked against one base table: reference counts.
        o.distinctStore = OutputColumn::DistinctStore::Counts;
    }

    RowsFold fold;
    fold.from = n.obj(u"rows"_s) + u" AS __ivm_j"_s;
    fold.changed = u"SELECT * FROM __ivm_del UNION ALL SELECT * FROM __ivm_ins"_s;
    IvmSql a = generateAggregate(agg, n, viewSchema, viewName, &fold);
    IvmSql out = generateJoin(rows, n, viewSchema, viewName, batch, &fold);
    // The aggregate's tables are made over the rows table: after it.
    out.install << a.install;
    out.indexes << a.indexes;
    out.indexColumns << a.indexColumns;
    // min and max rescan a group that lost its extreme value in the rows table.
    const bool anyMinMax = std::any_of(plan.outputs.cbegin(), plan.outputs.cend(), [](const OutputColumn& o) {
        return o.kind == OutputColumn::Kind::Min || o.kind == OutputColumn::Kind::Max;
    });
    if (anyMinMax && !groupColumns.isEmpty()) {
        QStringList quoted;
        for (const QString& c : std::as_const(groupColumns))
            quoted << q(c);
        out.indexes << u"CREATE INDEX %1 ON %2 (%3)"_s.arg(q(u"v%1_rows_groups"_s.arg(n.id)), n.obj(u"rows"_s), joinList(quoted));
        out.indexColumns << QString();
    }
    out.uninstall = a.uninstall + out.uninstall;
    out.stateTable = a.stateTable;
    out.currentView = a.currentView;
    out.createView = a.createView;
    return out;
}

} // namespace htap::mv::gen
