// ViewQuery::structureRefusal(): what the form of a view's statement alone rules out, checked
// before any of its tables is looked up.
#include "viewquery.h"

#include "viewquery_p.h"

using namespace Qt::StringLiterals;

namespace htap::mv {

QString ViewQuery::structureRefusal() const
{
    const PgQuery__SelectStmt* s = d->select;
    if (!s)
        return u"the definition is not a SELECT"_s;
    if (s->op != PG_QUERY__SET_OPERATION__SETOP_NONE) {
        const QString op = s->op == PG_QUERY__SET_OPERATION__SETOP_UNION ? u"UNION"_s
            : s->op == PG_QUERY__SET_OPERATION__SETOP_INTERSECT         ? u"INTERSECT"_s
                                                                        : u"EXCEPT"_s;
        return u"%1 (a set operation) is not maintained"_s.arg(op);
    }
    if (!d->inlineRefusal.isEmpty())
        return d->inlineRefusal;
    if (s->with_clause)
        return u"WITH (a common table expression)%1 is not maintained"_s.arg(d->at(s->with_clause->location));
    if (s->n_distinct_clause) {
        int on = -1;
        for (size_t i = 0; i < s->n_distinct_clause && on < 0; ++i)
            if (s->distinct_clause[i]->node_case != PG_QUERY__NODE__NODE__NOT_SET)
                on = std::max(0, firstLocation(&s->distinct_clause[i]->base));
        if (on >= 0)
            return u"DISTINCT ON%1 is not maintained: it keeps the first row of each key in ORDER BY, and which row that "
                   u"is changes when it is deleted, so the view would need every row of the key; keep it materialized, or "
                   u"select min() or max() of the other columns grouped by the key (not the same rows)"_s.arg(d->at(on));
    }
    if (s->n_window_clause)
        return u"window functions (WINDOW%1) are not maintained"_s.arg(d->at(&s->window_clause[0]->base));
    if (s->limit_count || s->limit_offset)
        return u"LIMIT and OFFSET%1 are not maintained: the rows they keep depend on all the others"_s.arg(
            d->at(s->limit_count ? &s->limit_count->base : &s->limit_offset->base));
    if (s->n_locking_clause)
        return u"FOR UPDATE or FOR SHARE is not maintained"_s;
    if (s->n_values_lists)
        return u"VALUES has nothing to maintain"_s;
    if (s->n_from_clause == 0)
        return u"a view without a FROM clause has nothing to maintain"_s;

    // Anywhere in the statement: what changed rows cannot bring, and what the engine keeps no state for.
    QString refusal;
    const QList<const PgQuery__SubLink*> kept = d->keptExists(); // an outer-join view's semi-joins
    walk(&s->base, [&](const ProtobufCMessage* m) {
        if (!refusal.isEmpty())
            return false;
        if (isA(m, pg_query__sub_link__descriptor) && kept.contains(reinterpret_cast<const PgQuery__SubLink*>(m))) {
            return true;
        } else if (isA(m, pg_query__sub_link__descriptor)) {
            refusal = u"a sub-query%1 is not maintained: the engine follows changes to the tables of the FROM clause only"_s.arg(
                d->at(reinterpret_cast<const PgQuery__SubLink*>(m)->location));
        } else if (isA(m, pg_query__func_call__descriptor)) {
            const auto* fc = reinterpret_cast<const PgQuery__FuncCall*>(m);
            const QString name = dottedName(fc);
            if (fc->over)
                refusal = u"the window function %1%2 is not maintained"_s.arg(name, d->at(fc->location));
            else if (fc->n_agg_order || fc->agg_within_group)
                refusal = u"the ordered aggregate %1%2 is not maintained: its result depends on the order of every row of its group"_s
                              .arg(name, d->at(fc->location));
            else if (fc->agg_filter)
                refusal = u"an aggregate with FILTER%1 is not maintained"_s.arg(d->at(fc->location));
        } else if (isA(m, pg_query__column_ref__descriptor)) {
            const auto* ref = reinterpret_cast<const PgQuery__ColumnRef*>(m);
            const QStringList f = columnRefFields(ref);
            if (f.contains(u"*"_s))
                refusal = u"the whole-row reference %1%2 is not maintained; name the columns it needs"_s.arg(f.join(u'.'), d->at(ref->location));
            else if (!f.isEmpty() && systemColumns().contains(f.last()))
                refusal = u"the system column %1%2 is not maintained: changed rows reach the capture triggers without "
                          u"system columns (ctid, xmin, xmax, cmin, cmax, tableoid)"_s.arg(f.last(), d->at(ref->location));
        } else if (isA(m, pg_query__range_var__descriptor)) {
            const auto* rv = reinterpret_cast<const PgQuery__RangeVar*>(m);
            if (!rv->inh)
                refusal = u"FROM ONLY %1%2 is not maintained: statements on %1 that reach its inheritance children would "
                          u"bring their rows in with its own; read %1 without ONLY"_s.arg(str(rv->relname), d->at(rv->location));
            else if (rv->alias && rv->alias->n_colnames)
                refusal = u"column aliases in FROM (%1 AS %2(...))%3 are not maintained; name the columns in the select list instead"_s
                              .arg(str(rv->relname), str(rv->alias->aliasname), d->at(rv->location));
        } else if (isA(m, pg_query__range_subselect__descriptor)) {
            refusal = u"a sub-query in FROM%1 is not maintained"_s.arg(d->at(m));
        } else if (isA(m, pg_query__range_function__descriptor) || isA(m, pg_query__range_table_func__descriptor)) {
            refusal = u"a function in FROM%1 is not maintained: it has no changes to capture"_s.arg(d->at(m));
        } else if (isA(m, pg_query__join_expr__descriptor)) {
            const auto* j = reinterpret_cast<const PgQuery__JoinExpr*>(m);
            if (j->is_natural)
                refusal = u"NATURAL JOIN%1 is not maintained: the columns it joins on are not named; write JOIN ... USING (...) "
                          u"or JOIN ... ON"_s.arg(d->at(j->rarg ? &j->rarg->base : nullptr));
        }
        return refusal.isEmpty();
    });
    return refusal;
}

} // namespace htap::mv
