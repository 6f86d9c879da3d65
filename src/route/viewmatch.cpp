// Whether a registered view answers a query exactly, and the query rewritten over it: the
// same tables and joins, the view's own conditions among the query's, the query's other
// conditions and groups on the view's group columns, its aggregates derivable from the view's.
#include "viewmatch.h"

#include <pg/identifier.h>

using namespace Qt::StringLiterals;
using namespace htap::pg::parsetree;

namespace htap::route {

namespace {

QString listed(const QStringList& items)
{
    return items.isEmpty() ? u"none"_s : items.join(u", "_s);
}

bool isFloat(const QString& type)
{
    return type == u"double precision"_s || type == u"real"_s;
}

} // namespace

QString answerFrom(SelectShape& query, const RegisteredView& view, const Topology& topology,
    const std::function<bool(const QString&)>& isAggregate, QString* rewritten)
{
    SelectShape def;
    QString error;
    if (!def.parse(view.definition, &error))
        return u"its definition does not parse: %1"_s.arg(error);
    if (const QString r = def.analyze(topology.tables, isAggregate); !r.isEmpty())
        return u"its definition has %1, which the router does not match"_s.arg(r);
    if (def.hasHaving)
        return u"its definition has HAVING"_s;
    if (def.targets.size() != view.columns.size())
        return u"the catalog lists %1 columns but the definition %2"_s.arg(view.columns.size()).arg(def.targets.size());
    if (query.tables != def.tables)
        return u"it reads %1, the query %2"_s.arg(listed(def.tables), listed(query.tables));
    if (query.joins != def.joins) {
        QStringList v = def.joins.values(), q = query.joins.values();
        v.sort();
        q.sort();
        return u"its joins (%1) are not the query's (%2)"_s.arg(listed(v), listed(q));
    }
    const QSet<QString> queryConds(query.conjuncts.cbegin(), query.conjuncts.cend());
    for (const QString& c : std::as_const(def.conjuncts))
        if (!queryConds.contains(c))
            return u"it keeps only the rows where %1, and the query does not filter so"_s.arg(c);

    SelectShape::Substitution sub;
    sub.droppedConjuncts = QSet<QString>(def.conjuncts.cbegin(), def.conjuncts.cend());
    if (!def.aggregated) {
        // A view of rows: every row of the joins it keeps; any query over them reads its columns.
        for (int i = 0; i < def.targets.size(); ++i)
            sub.columns.insert(def.targets[i].text, pg::quoteIdentifier(view.columns[i]));
        QString why;
        *rewritten = query.rewrite(view.schema, view.name, sub, &why);
        return rewritten->isEmpty() ? why : QString();
    }

    if (!query.aggregated)
        return u"it holds groups (%1), the query reads rows"_s.arg(listed(def.groups));
    // The view's group columns, and its aggregates by what they compute.
    struct Column {
        QString name;
        QString type;
    };
    QHash<QString, Column> aggregates;
    for (int i = 0; i < def.targets.size(); ++i) {
        const SelectShape::Target& t = def.targets[i];
        const Column c {pg::quoteIdentifier(view.columns[i]), view.columnTypes.value(i)};
        if (def.groups.contains(t.text))
            sub.columns.insert(t.text, c.name);
        else if (def.isAggregateCall(t.value))
            aggregates.insert(def.aggregateKey(t.value->func_call), c);
    }
    for (const QString& g : std::as_const(def.groups))
        if (!sub.columns.contains(g))
            return u"its GROUP BY %1 is not one of its columns"_s.arg(g);
    for (const QString& g : std::as_const(query.groups))
        if (!sub.columns.contains(g))
            return u"the query groups by %1, which is not among its groups (%2)"_s.arg(g, listed(def.groups));
    const QSet<QString> qGroups(query.groups.cbegin(), query.groups.cend());
    const QSet<QString> vGroups(def.groups.cbegin(), def.groups.cend());
    const bool regroup = qGroups != vGroups;
    sub.keepGroupBy = regroup;

    // count(x) where x is never NULL counts what count(*) counts.
    const auto notNullArg = [&](const PgQuery__FuncCall* fc) {
        if (fc->n_args != 1 || fc->args[0]->node_case != PG_QUERY__NODE__NODE_COLUMN_REF)
            return false;
        const QStringList f = columnRefFields(fc->args[0]->column_ref);
        return f.size() == 2 && topology.tables.value(f[0]).notNull.contains(f[1]);
    };
    const auto rowCount = [&](const PgQuery__FuncCall* fc, Column* c) {
        const QString arg = fc->agg_star ? u"*"_s : fc->n_args == 1 ? query.text(fc->args[0]) : QString();
        if (aggregates.contains(u"count|0|"_s + arg)) {
            *c = aggregates.value(u"count|0|"_s + arg);
            return true;
        }
        if ((fc->agg_star || notNullArg(fc)) && aggregates.contains(u"count|0|*"_s)) {
            *c = aggregates.value(u"count|0|*"_s);
            return true;
        }
        return false;
    };
    sub.aggregate = [&](const PgQuery__FuncCall* fc, QString* why) -> QString {
        const QString key = query.aggregateKey(fc);
        const QString fname = dottedName(fc).toLower();
        const QString arg = fc->n_args == 1 ? query.text(fc->args[0]) : QString();
        const QString shown = fname + u'(' + (fc->agg_distinct ? u"DISTINCT "_s : QString()) + (fc->agg_star ? u"*"_s : arg) + u')';
        if (!regroup && aggregates.contains(key))
            return aggregates.value(key).name;
        if (fc->agg_distinct) {
            *why = regroup ? u"%1 per group of the view cannot be added up to the query's coarser groups"_s.arg(shown)
                           : u"it has no column %1"_s.arg(shown);
            return {};
        }
        Column c;
        if (fname == u"count"_s) {
            if (!rowCount(fc, &c)) {
                *why = u"it has no count to derive %1 from"_s.arg(shown);
                return {};
            }
            return regroup ? u"coalesce(sum(%1), 0)::bigint"_s.arg(c.name) : c.name;
        }
        if (fname == u"sum"_s || fname == u"min"_s || fname == u"max"_s) {
            if (!aggregates.contains(key)) {
                *why = u"it has no column %1"_s.arg(shown);
                return {};
            }
            c = aggregates.value(key);
            if (fname == u"sum"_s && isFloat(c.type)) {
                *why = u"a floating-point %1 added up again is not exactly the same sum"_s.arg(shown);
                return {};
            }
            return fname == u"sum"_s ? u"sum(%1)::%2"_s.arg(c.name, c.type) : u"%1(%2)"_s.arg(fname, c.name);
        }
        if (fname == u"avg"_s) {
            const QString sumKey = u"sum|0|"_s + arg;
            Column count;
            if (!aggregates.contains(sumKey) || !rowCount(fc, &count)) {
                *why = u"%1 needs the view's sum(%2) and a count of the same rows"_s.arg(shown, arg);
                return {};
            }
            c = aggregates.value(sumKey);
            if (isFloat(c.type)) {
                *why = u"a floating-point %1 from sums is not exactly the same average"_s.arg(shown);
                return {};
            }
            return regroup ? u"(sum(%1)::numeric / sum(%2))"_s.arg(c.name, count.name) : u"(%1::numeric / %2)"_s.arg(c.name, count.name);
        }
        *why = u"the aggregate %1 is not derived from a view's columns (sum, count, avg, min and max are)"_s.arg(shown);
        return {};
    };
    QString why;
    *rewritten = query.rewrite(view.schema, view.name, sub, &why);
    return rewritten->isEmpty() ? why : QString();
}

} // namespace htap::route
