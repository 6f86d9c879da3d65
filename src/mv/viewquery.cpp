// ViewQuery: parsing a view's definition and checking it against what the engine maintains
// (the statement's form is checked in viewqueryform.cpp).
#include "viewquery.h"

#include "viewquery_p.h"

#include <QScopeGuard>

using namespace Qt::StringLiterals;

namespace htap::mv {

namespace {
/// Set while analyze() parses the definition again with its EXISTS kept as sub-links.
thread_local bool t_keepExists = false;
} // namespace

ViewQuery::ViewQuery() : d(std::make_unique<Private>()) {}
ViewQuery::~ViewQuery() = default;
ViewQuery::ViewQuery(ViewQuery&&) noexcept = default;
ViewQuery& ViewQuery::operator=(ViewQuery&&) noexcept = default;

bool ViewQuery::parse(const QString& sql, QString* error)
{
    d = std::make_unique<Private>();
    d->source = sql;
    d->keepExists = t_keepExists;
    d->text = sql.toUtf8();
    d->raw = pg_query_parse_protobuf(d->text.constData());
    if (d->raw.error) {
        *error = u"cannot parse the view's definition: %1"_s.arg(str(d->raw.error->message));
        return false;
    }
    d->tree = pg_query__parse_result__unpack(nullptr, d->raw.parse_tree.len,
        reinterpret_cast<const uint8_t*>(d->raw.parse_tree.data));
    if (!d->tree) {
        *error = u"cannot read the parse tree of the view's definition"_s;
        return false;
    }
    if (d->tree->n_stmts != 1 || d->tree->stmts[0]->stmt->node_case != PG_QUERY__NODE__NODE_SELECT_STMT) {
        *error = u"the definition is not one SELECT statement"_s;
        return false;
    }
    d->select = d->tree->stmts[0]->stmt->select_stmt;
    // Sub-queries and CTEs that only project and filter are read as the tables they read.
    QString why;
    const QString flat = d->inlined(&why);
    if (!flat.isEmpty()) {
        ViewQuery again;
        const QHash<QString, QString> semiKeys = d->semiKeys;
        if (again.parse(flat, error)) {
            *this = std::move(again);
            d->semiKeys = semiKeys;
            d->source = sql;
            return true;
        }
        *error = u"the definition with its sub-queries inlined cannot be parsed: %1 (%2)"_s.arg(*error, flat);
        return false;
    }
    d->inlineRefusal = why;
    return true;
}

QList<TableRef> ViewQuery::tables() const
{
    QList<TableRef> out;
    if (!d->select)
        return out;
    for (size_t i = 0; i < d->select->n_from_clause; ++i) {
        walk(&d->select->from_clause[i]->base, [&](const ProtobufCMessage* m) {
            if (isA(m, pg_query__range_var__descriptor)) {
                const auto* rv = reinterpret_cast<const PgQuery__RangeVar*>(m);
                TableRef t {str(rv->schemaname), str(rv->relname), {}};
                t.refName = rv->alias && rv->alias->aliasname && *rv->alias->aliasname ? str(rv->alias->aliasname) : t.name;
                out << t;
                return false;
            }
            // Tables inside sub-queries in FROM are not the view's base tables in our sense.
            return !isA(m, pg_query__range_subselect__descriptor);
        });
    }
    return out;
}

int ViewQuery::targetCount() const
{
    return d->select ? int(d->select->n_target_list) : 0;
}

QString ViewQuery::deparseTarget(int index) const
{
    if (!d->select || index < 0 || size_t(index) >= d->select->n_target_list)
        return {};
    return d->expression(d->select->target_list[index]->res_target->val);
}
QString ViewQuery::analyze(const QStringList& outputNames, const QHash<QString, TableInfo>& infos, IvmPlan* plan,
    const QSet<QString>& catalogAggregates) const
{
    if (const QString r = structureRefusal(); !r.isEmpty())
        return r;
    const PgQuery__SelectStmt* s = d->select;
    const QSet<QString>& aggregates = catalogAggregates.isEmpty() ? supportedAggregates() : catalogAggregates;

    // Aggregates the engine keeps no state for (array_agg, string_agg, user-defined ones...).
    QString refusal;
    walk(&s->base, [&](const ProtobufCMessage* m) {
        if (refusal.isEmpty() && isA(m, pg_query__func_call__descriptor)) {
            const auto* fc = reinterpret_cast<const PgQuery__FuncCall*>(m);
            if (isAggregateCall(fc, aggregates) && !supportedAggregates().contains(dottedName(fc)))
                refusal = u"the aggregate %1%2 is not maintained; only count, sum, avg, min and max are"_s.arg(dottedName(fc), d->at(fc->location));
        }
        return refusal.isEmpty();
    });
    if (!refusal.isEmpty())
        return refusal;
    // An aggregate below node, as " <call> (character N: ...)"; empty when none.
    const auto aggregateInside = [&](const Node* node) {
        QString found;
        walk(&node->base, [&](const ProtobufCMessage* m) {
            if (found.isEmpty() && isA(m, pg_query__func_call__descriptor)) {
                const auto* fc = reinterpret_cast<const PgQuery__FuncCall*>(m);
                if (isAggregateCall(fc, aggregates))
                    found = dottedName(fc) + u"(...)"_s + d->at(fc->location);
            }
            return found.isEmpty();
        });
        return found;
    };

    // FROM: a table, or a tree of inner joins on column equalities.
    struct Edge {
        QString leftTable, leftColumn, rightTable, rightColumn;
        QString outer; ///< the table a LEFT JOIN reaches (by this equality), else empty
    };
    QString outerJoin; // where the first LEFT JOIN is, for messages
    QList<Edge> edges;
    QList<TableRef> refs;
    QString keyedFrom; // why the FROM clause is no tree of joins on keys (then the view is counted)
    QHash<QString, QSet<QString>> columnsUsed; // the columns each table's capture must watch
    // For counted views over outer joins: the equalities between the two sides of each join
    // ("ref.col" pairs), and the tables of each join that has none (a CROSS JOIN: every row of
    // one side matches every row of the other).
    QList<QPair<QString, QString>> sameValue;
    QList<QStringList> crossed;
    std::function<void(const Node*)> fromItem = [&](const Node* n) {
        if (!refusal.isEmpty())
            return;
        if (n->node_case == PG_QUERY__NODE__NODE_RANGE_VAR) {
            const auto* rv = n->range_var;
            TableRef t {str(rv->schemaname), str(rv->relname), {}};
            t.refName = rv->alias && rv->alias->aliasname && *rv->alias->aliasname ? str(rv->alias->aliasname) : t.name;
            refs << t;
            return;
        }
        if (n->node_case != PG_QUERY__NODE__NODE_JOIN_EXPR) {
            refusal = u"only tables and joins are maintained in FROM%1"_s.arg(d->at(&n->base));
            return;
        }
        const auto* j = n->join_expr;
        const qsizetype left = refs.size();
        fromItem(j->larg);
        const qsizetype right = refs.size();
        fromItem(j->rarg);
        const qsizetype firstEdge = edges.size();
        const bool outer = j->jointype != PG_QUERY__JOIN_TYPE__JOIN_INNER;
        if (outer && outerJoin.isEmpty())
            outerJoin = d->at(j->quals ? &j->quals->base : &j->rarg->base);
        if (outer && (j->jointype != PG_QUERY__JOIN_TYPE__JOIN_LEFT || j->rarg->node_case != PG_QUERY__NODE__NODE_RANGE_VAR))
            keyedFrom = u"a LEFT JOIN must reach one table"_s;
        // Its equalities, once read: the table the LEFT JOIN reaches is theirs.
        const auto markOuter = qScopeGuard([&] {
            if (outer && !refs.isEmpty())
                for (qsizetype e = firstEdge; e < edges.size(); ++e)
                    edges[e].outer = refs.last().refName;
        });
        // USING (x): an equality of the tables on each side that have x.
        for (size_t u = 0; u < j->n_using_clause && refusal.isEmpty(); ++u) {
            const QString column = str(j->using_clause[u]->string->sval);
            QStringList sides[2];
            for (qsizetype k = left; k < refs.size(); ++k) {
                const TableInfo info = infos.value(refs[k].refName);
                if (info.attnums.isEmpty() || info.attnums.contains(column)) {
                    columnsUsed[refs[k].refName].insert(column);
                    sides[k < right ? 0 : 1] << refs[k].refName;
                }
            }
            for (const QString& l : std::as_const(sides[0]))
                for (const QString& r : std::as_const(sides[1]))
                    sameValue << qMakePair(l + u'.' + column, r + u'.' + column);
            if (sides[0].size() == 1 && sides[1].size() == 1)
                edges << Edge {sides[0][0], column, sides[1][0], column, {}};
            else
                keyedFrom = u"JOIN ... USING (%1) joins more than one table on a side"_s.arg(column);
        }
        const qsizetype firstSame = sameValue.size();
        // A join without an equality between its sides: every row of one side may match every
        // row of the other.
        const auto crossedUnlessEqual = qScopeGuard([&] {
            if (sameValue.size() == firstSame) {
                QStringList both;
                for (qsizetype k = left; k < refs.size(); ++k)
                    both << refs[k].refName;
                crossed << both;
            }
        });
        if (!j->quals) {
            if (!j->n_using_clause)
                keyedFrom = u"a cross join"_s;
            return;
        }
        for (const Node* q : conjuncts(j->quals)) {
            QStringList l, r;
            if (!columnEquality(q, &l, &r) || l[0] == r[0]) {
                keyedFrom = u"the join condition %1 is not an equality of two tables' columns"_s.arg(d->expression(const_cast<Node*>(q)));
                continue;
            }
            edges << Edge {l[0], l[1], r[0], r[1], {}};
            const auto sideOf = [&](const QString& ref) {
                for (qsizetype k = left; k < refs.size(); ++k)
                    if (refs[k].refName == ref)
                        return k < right ? 0 : 1;
                return -1;
            };
            const int ls = sideOf(l[0]), rs = sideOf(r[0]);
            if (ls >= 0 && rs >= 0 && ls != rs)
                sameValue << qMakePair(l[0] + u'.' + l[1], r[0] + u'.' + r[1]);
        }
    };
    for (size_t i = 0; i < s->n_from_clause; ++i)
        fromItem(s->from_clause[i]);
    if (s->n_from_clause > 1) {
        keyedFrom = u"tables listed with commas"_s;
        QStringList all;
        for (const TableRef& r : std::as_const(refs))
            all << r.refName;
        crossed << all;
    }
    // EXISTS kept as semi-joins (viewqueryouter.cpp): their tables, and their equalities.
    const QList<const PgQuery__SubLink*> semi = d->keptExists();
    addSemiJoinTables(semi, &refs, &sameValue, &crossed);
    if (!refusal.isEmpty())
        return refusal;
    QHash<QString, int> byRef;
    QSet<QString> named;
    for (int i = 0; i < refs.size(); ++i) {
        // The same table under two names too: its changes would be captured twice over.
        const QString table = refs[i].schema + u'.' + refs[i].name;
        if (byRef.contains(refs[i].refName))
            return u"the name %1 is used twice in FROM"_s.arg(refs[i].refName);
        if (named.contains(table))
            keyedFrom = u"table %1 appears twice (a self-join)"_s.arg(table);
        named.insert(table);
        if (!infos.contains(refs[i].refName))
            return u"%1 is not a table the engine can capture changes of"_s.arg(refs[i].refName);
        byRef.insert(refs[i].refName, i);
    }

    // EXISTS read as a join (viewqueryinline.cpp) only when it cannot repeat rows.
    // Under SELECT DISTINCT of other tables' columns a repeated match repeats nothing either.
    const auto selects = [&](const QString& ref) {
        bool found = false;
        for (size_t i = 0; i < s->n_target_list && !found; ++i)
            walk(&s->target_list[i]->base, [&](const ProtobufCMessage* m) {
                if (isA(m, pg_query__column_ref__descriptor))
                    found = found || columnRefFields(reinterpret_cast<const PgQuery__ColumnRef*>(m)).value(0) == ref;
                return !found;
            });
        return found;
    };
    for (auto it = d->semiKeys.cbegin(); it != d->semiKeys.cend(); ++it)
        if (infos.value(it.key()).primaryKey != it.value() && !(s->n_distinct_clause && !selects(it.key()))) {
            const QString why = u"a sub-query (EXISTS) is maintained as a join when it reaches its table by that table's primary key "
                                u"(EXISTS (SELECT 1 FROM b WHERE b.id = a.b_id)), or as a semi-join of a view without aggregates, "
                                u"and %1.%2 is not %1's primary key"_s.arg(it.key(), it.value());
            // Without aggregates it is kept as a semi-join, recomputed where changes reach as
            // outer joins are (ivmsqlouter.cpp).
            ViewQuery kept;
            QString error;
            t_keepExists = true;
            const bool parsed = kept.parse(d->source, &error);
            t_keepExists = false;
            IvmPlan semi;
            if (!parsed || kept.d->keptExists().size() != d->semiKeys.size()
                || !kept.analyze(outputNames, infos, &semi, catalogAggregates).isEmpty() || !semi.outer)
                return why;
            *plan = semi;
            return {};
        }
    if (s->where_clause) {
        const QString bad = aggregateInside(s->where_clause);
        if (!bad.isEmpty())
            return u"the WHERE clause uses the aggregate %1, which is not maintained"_s.arg(bad);
    }

    // Columns each table's capture must watch.
    bool unqualified = false;
    walk(&s->base, [&](const ProtobufCMessage* m) {
        if (isA(m, pg_query__column_ref__descriptor)) {
            const QStringList f = columnRefFields(reinterpret_cast<const PgQuery__ColumnRef*>(m));
            if (f.size() == 2)
                columnsUsed[f[0]].insert(f[1]);
            else if (f.size() == 1 && refs.size() == 1)
                columnsUsed[refs[0].refName].insert(f[0]);
            else
                unqualified = true;
        }
        return true;
    });
    if (unqualified)
        return u"a column reference could not be tied to one table"_s;

    // Outputs.
    if (size_t(outputNames.size()) != s->n_target_list)
        return u"the catalog lists %1 columns but the definition %2"_s.arg(outputNames.size()).arg(s->n_target_list);
    QList<OutputColumn> outputs;
    QStringList outputColumnRef; // "ref.col" for outputs that are a plain column
    bool anyAggregate = false;
    QHash<int, const Node*> derivedNodes; // outputs computed over aggregates
    // What an aggregate call keeps (its kind and argument), or why it is not maintained.
    const auto classify = [&](const PgQuery__FuncCall* fc, OutputColumn* out) -> QString {
        const QString fname = dottedName(fc);
        if (fc->func_variadic)
            return u"column %1: VARIADIC in aggregates%2 is not maintained"_s.arg(out->name, d->at(fc->location));
        if (fc->agg_star) {
            out->kind = OutputColumn::Kind::CountStar;
            return {};
        }
        if (fc->n_args != 1)
            return u"column %1: %2 with %3 arguments%4 is not maintained"_s.arg(out->name, fname).arg(fc->n_args).arg(d->at(fc->location));
        const QString bad = aggregateInside(fc->args[0]);
        if (!bad.isEmpty())
            return u"column %1: the argument of %2 uses the aggregate %3"_s.arg(out->name, fname, bad);
        out->expr = d->expression(fc->args[0]);
        if (fc->args[0]->node_case == PG_QUERY__NODE__NODE_COLUMN_REF) {
            const QStringList f = columnRefFields(fc->args[0]->column_ref);
            out->argColumn = f.isEmpty() ? QString() : f.last();
        }
        if (fc->agg_distinct && fname != u"count"_s)
            return u"column %1: %2(DISTINCT ...)%3 is not maintained; only count(DISTINCT ...) is"_s.arg(out->name, fname, d->at(fc->location));
        if (fname == u"count"_s)
            out->kind = fc->agg_distinct ? OutputColumn::Kind::CountDistinct : OutputColumn::Kind::Count;
        else if (fname == u"sum"_s)
            out->kind = OutputColumn::Kind::Sum;
        else if (fname == u"avg"_s)
            out->kind = OutputColumn::Kind::Avg;
        else if (fname == u"min"_s)
            out->kind = OutputColumn::Kind::Min;
        else
            out->kind = OutputColumn::Kind::Max;
        return {};
    };
    // An expression over aggregates as SQL over the view's columns: each aggregate call becomes
    // a hidden output (one per distinct call), each GROUP BY expression its output column.
    const auto overAggregates = [&](const Node* root, QString* why) -> QString {
        std::deque<QByteArray> bytes;
        std::deque<PgQuery__String> strings;
        std::deque<Node> nodes;
        std::deque<PgQuery__ColumnRef> refs;
        QList<QPair<Node*, Node>> saved;
        const auto columnNamed = [&](Node* at, const QString& name) {
            bytes.push_back(name.toUtf8());
            PgQuery__String str = PG_QUERY__STRING__INIT;
            str.sval = bytes.back().data();
            strings.push_back(str);
            Node field = PG_QUERY__NODE__INIT;
            field.node_case = PG_QUERY__NODE__NODE_STRING;
            field.string = &strings.back();
            nodes.push_back(field);
            PgQuery__ColumnRef ref = PG_QUERY__COLUMN_REF__INIT;
            ref.n_fields = 1;
            ref.fields = new Node* [1] { &nodes.back() };
            ref.location = -1;
            refs.push_back(ref);
            saved << qMakePair(at, *at);
            Node replaced = PG_QUERY__NODE__INIT;
            replaced.node_case = PG_QUERY__NODE__NODE_COLUMN_REF;
            replaced.column_ref = &refs.back();
            *at = replaced;
        };
        walk(&root->base, [&](const ProtobufCMessage* m) {
            if (!why->isEmpty())
                return false;
            if (!isA(m, pg_query__node__descriptor))
                return true;
            Node* n = const_cast<Node*>(reinterpret_cast<const Node*>(m));
            if (n->node_case == PG_QUERY__NODE__NODE_FUNC_CALL && isAggregateCall(n->func_call, aggregates)) {
                OutputColumn h;
                h.name = u"__ivm_h%1"_s.arg(outputs.size());
                h.hidden = true;
                if (const QString e = classify(n->func_call, &h); !e.isEmpty()) {
                    *why = e;
                    return false;
                }
                QString name = h.name;
                for (const OutputColumn& o : std::as_const(outputs))
                    if (o.hidden && o.kind == h.kind && o.expr == h.expr)
                        name = o.name;
                if (name == h.name)
                    outputs << h;
                columnNamed(n, name);
                return false;
            }
            const bool column = n->node_case == PG_QUERY__NODE__NODE_COLUMN_REF;
            if (column || n->node_case == PG_QUERY__NODE__NODE_FUNC_CALL || n->node_case == PG_QUERY__NODE__NODE_A_EXPR
                || n->node_case == PG_QUERY__NODE__NODE_TYPE_CAST) {
                const QString text = d->expression(n);
                for (const OutputColumn& o : std::as_const(outputs))
                    if (o.kind == OutputColumn::Kind::Group && o.expr == text) {
                        columnNamed(n, o.name);
                        return false;
                    }
                if (column) {
                    *why = u"reads %1 outside an aggregate, which is not a GROUP BY column of the view"_s.arg(text);
                    return false;
                }
            }
            return true;
        });
        const QString sql = why->isEmpty() ? d->expression(const_cast<Node*>(root)) : QString();
        for (auto it = saved.crbegin(); it != saved.crend(); ++it)
            *it->first = it->second;
        for (const PgQuery__ColumnRef& r : refs)
            delete[] r.fields;
        if (why->isEmpty() && sql.isEmpty())
            *why = u"could not be deparsed"_s;
        return sql;
    };
    for (size_t i = 0; i < s->n_target_list; ++i) {
        const PgQuery__ResTarget* rt = s->target_list[i]->res_target;
        OutputColumn out;
        out.name = outputNames[int(i)];
        {
            QString ref;
            if (rt->val->node_case == PG_QUERY__NODE__NODE_COLUMN_REF) {
                const QStringList f = columnRefFields(rt->val->column_ref);
                if (f.size() == 2)
                    ref = f[0] + u'.' + f[1];
                else if (f.size() == 1 && refs.size() == 1)
                    ref = refs[0].refName + u'.' + f[0];
            }
            outputColumnRef << ref;
        }
        if (out.name.startsWith(u"__ivm"_s))
            return u"column %1: names starting with __ivm are reserved for the engine"_s.arg(out.name);
        const Node* v = rt->val;
        const PgQuery__FuncCall* fc = v->node_case == PG_QUERY__NODE__NODE_FUNC_CALL ? v->func_call : nullptr;
        if (fc && isAggregateCall(fc, aggregates)) {
            anyAggregate = true;
            if (const QString why = classify(fc, &out); !why.isEmpty())
                return why;
        } else if (!aggregateInside(v).isEmpty()) {
            // An expression over aggregates (a margin, a share): derived when the view is read.
            anyAggregate = true;
            out.kind = OutputColumn::Kind::Derived;
            derivedNodes.insert(int(i), v);
            out.expr = d->expression(const_cast<Node*>(v));
        } else {
            out.kind = OutputColumn::Kind::Plain;
            out.expr = d->expression(const_cast<Node*>(v));
        }
        if (out.kind != OutputColumn::Kind::CountStar && out.expr.isEmpty())
            return u"column %1 could not be deparsed"_s.arg(out.name);
        outputs << out;
    }

    const bool grouped = s->n_group_clause > 0;
    // SELECT DISTINCT (DISTINCT ON is refused before) without aggregates: GROUP BY every column.
    const bool distinct = s->n_distinct_clause > 0 && !anyAggregate;
    if (grouped || anyAggregate || distinct) {
        // GROUP BY entries: expressions, or positions in the select list.
        QStringList groupExprs;
        if (distinct && !grouped)
            for (const OutputColumn& o : std::as_const(outputs))
                groupExprs << o.expr;
        for (size_t i = 0; i < s->n_group_clause; ++i) {
            Node* g = s->group_clause[i];
            if (g->node_case == PG_QUERY__NODE__NODE_GROUPING_SET)
                return u"GROUPING SETS, ROLLUP and CUBE are not maintained"_s;
            if (g->node_case == PG_QUERY__NODE__NODE_A_CONST && g->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL) {
                const int pos = g->a_const->ival->ival;
                if (pos < 1 || pos > outputs.size() || outputs[pos - 1].kind != OutputColumn::Kind::Plain)
                    return u"GROUP BY %1 does not name a plain output column"_s.arg(pos);
                groupExprs << outputs[pos - 1].expr;
                continue;
            }
            const QString bad = aggregateInside(g);
            if (!bad.isEmpty())
                return u"GROUP BY uses the aggregate %1"_s.arg(bad);
            groupExprs << d->expression(g);
        }
        for (OutputColumn& o : outputs) {
            if (o.kind != OutputColumn::Kind::Plain)
                continue;
            if (!groupExprs.contains(o.expr))
                return u"column %1 (%2) is neither an aggregate nor a GROUP BY expression; add it to GROUP BY"_s.arg(o.name, o.expr);
            o.kind = OutputColumn::Kind::Group;
        }
        for (const QString& g : std::as_const(groupExprs)) {
            const bool shown = std::any_of(outputs.cbegin(), outputs.cend(),
                [&](const OutputColumn& o) { return o.kind == OutputColumn::Kind::Group && o.expr == g; });
            if (!shown)
                return u"GROUP BY %1 is not in the select list; add it there (the engine keys groups by their output columns)"_s.arg(g);
        }
        // Expressions over aggregates and HAVING: each aggregate in them kept as a hidden output,
        // the expression computed over the state's columns when the view is read.
        for (auto it = derivedNodes.cbegin(); it != derivedNodes.cend(); ++it) {
            QString why;
            outputs[it.key()].expr = overAggregates(it.value(), &why);
            if (!why.isEmpty())
                return u"column %1 %2"_s.arg(outputs[it.key()].name, why);
        }
        if (s->having_clause) {
            QString why;
            plan->havingSql = overAggregates(s->having_clause, &why);
            if (!why.isEmpty())
                return u"HAVING %1"_s.arg(why);
        }
        if (!semi.isEmpty() && anyAggregate) {
            return u"aggregates over a semi-join (EXISTS) not on a key are not maintained"_s;
        } else if (refs.size() != 1 && !anyAggregate && (!outerJoin.isEmpty() || !semi.isEmpty())) {
            // The distinct rows of outer joins: counted, recomputed where the changes reach.
            plan->shape = IvmPlan::Shape::Count;
            plan->distinct = true;
            plan->outer = true;
        } else if (refs.size() != 1 && !anyAggregate) {
            // The distinct rows of joins: counted, each shown once.
            plan->shape = IvmPlan::Shape::Count;
            plan->distinct = true;
        } else if (refs.size() != 1) {
            // Keyed joins only (a LEFT JOIN too when it reaches its table by its key: unmatched
            // fact rows in the NULL group): checked with the tables below.
            plan->shape = IvmPlan::Shape::JoinAggregate;
        } else {
            plan->shape = IvmPlan::Shape::Aggregate;
        }
        plan->grouped = grouped || distinct;
    } else {
        plan->shape = IvmPlan::Shape::Join;
        plan->grouped = false;
    }

    if (s->having_clause && plan->shape != IvmPlan::Shape::Aggregate && plan->shape != IvmPlan::Shape::JoinAggregate)
        return u"HAVING%1 is maintained over aggregates only (of one table, or over joins reached by keys); filter on the view's columns in the queries that "
               u"read it"_s.arg(d->at(&s->having_clause->base));

    // Tables, the fact table and the key paths.
    QList<PlanTable> tables;
    for (const TableRef& r : std::as_const(refs)) {
        PlanTable t;
        t.ref = r;
        t.primaryKey = infos.value(r.refName).primaryKey;
        t.primaryKeyType = infos.value(r.refName).primaryKeyType;
        QStringList cols = columnsUsed.value(r.refName).values();
        cols.sort();
        t.columns = cols;
        tables << t;
    }
    // Join views are keyed by the fact table's key when every table is reached from it by its
    // key; otherwise they are counted (ivmsqlcount.cpp).
    const auto keyedJoin = [&]() -> QString {
        if (!keyedFrom.isEmpty())
            return keyedFrom;
        for (const PlanTable& t : std::as_const(tables)) {
            if (t.primaryKey.isEmpty())
                return u"table %1.%2 has no single-column primary key; a join view's rows are keyed by them"_s.arg(
                    t.ref.schema, t.ref.name);
            const TableInfo& info = infos[t.ref.refName];
            if (info.kind == 'r' && info.hasChildren)
                return u"table %1.%2 has inheritance children, and inheritance does not keep its primary key unique across "
                       u"them: a join view's rows are keyed by it (a partitioned table's key is unique, and is maintained)"_s
                    .arg(t.ref.schema, t.ref.name);
        }
        // parentOf[child] = list of (parent table, child column)
        QHash<QString, QList<QPair<QString, QString>>> parents;
        QSet<QString> isParent;
        for (const Edge& e : std::as_const(edges)) {
            if (!byRef.contains(e.leftTable) || !byRef.contains(e.rightTable))
                return u"a join condition names a table that is not in FROM"_s;
            bool rightIsKey = tables[byRef[e.rightTable]].primaryKey == e.rightColumn;
            const bool leftIsKey = tables[byRef[e.leftTable]].primaryKey == e.leftColumn;
            if (!rightIsKey && !leftIsKey)
                return u"the join %1.%2 = %3.%4 does not reach either table by its primary key"_s.arg(
                    e.leftTable, e.leftColumn, e.rightTable, e.rightColumn);
            // A LEFT JOIN must reach its table by that table's key: one row per fact row still.
            if (!e.outer.isEmpty()) {
                if (!(e.outer == e.rightTable ? rightIsKey : leftIsKey))
                    return u"the LEFT JOIN does not reach %1 by its primary key"_s.arg(e.outer);
                rightIsKey = e.outer == e.rightTable;
            }
            // On a key-to-key (one-to-one) join the right-hand table counts as the parent.
            const QString parent = rightIsKey ? e.rightTable : e.leftTable;
            const QString child = rightIsKey ? e.leftTable : e.rightTable;
            parents[child] << qMakePair(parent, rightIsKey ? e.leftColumn : e.rightColumn);
            isParent.insert(parent);
        }
        QStringList facts;
        for (const PlanTable& t : std::as_const(tables))
            if (!isParent.contains(t.ref.refName))
                facts << t.ref.refName;
        if (facts.size() != 1)
            return u"the joins need exactly one fact table that every other table is reached from by key; found %1"_s.arg(
                facts.isEmpty() ? u"none"_s : facts.join(u", "_s));
        // Every table reachable from the fact along child -> parent edges.
        QSet<QString> reached {facts[0]};
        QStringList queue {facts[0]};
        while (!queue.isEmpty()) {
            const QString c = queue.takeFirst();
            for (const auto& p : parents.value(c)) {
                if (!reached.contains(p.first)) {
                    reached.insert(p.first);
                    queue << p.first;
                }
            }
        }
        if (reached.size() != tables.size())
            return u"not every table is reached from the fact table %1 by primary keys"_s.arg(facts[0]);
        // Inserting a parent row cannot add view rows when every child references it by a foreign key.
        for (PlanTable& t : tables) {
            t.isFact = t.ref.refName == facts[0];
            if (t.isFact)
                continue;
            bool allByForeignKey = true;
            QList<quint32> foreignKeys;
            const TableInfo& info = infos[t.ref.refName];
            for (auto it = parents.cbegin(); it != parents.cend(); ++it) {
                for (const auto& p : it.value()) {
                    if (p.first != t.ref.refName)
                        continue;
                    const PlanTable& child = tables[byRef[it.key()]];
                    const QString fk = child.ref.schema + u'.' + child.ref.name + u'.' + p.second;
                    const int k = int(info.referencedBy.indexOf(fk));
                    if (k < 0)
                        allByForeignKey = false;
                    else
                        foreignKeys << info.referencedByConstraints.value(k);
                }
            }
            t.insertsCannotMatch = allByForeignKey;
            // The one join that reaches it, if one: changed keys can be followed back to the
            // fact rows along such joins (ivmsqljoin.cpp).
            QList<QPair<QString, QString>> into;
            for (auto it = parents.cbegin(); it != parents.cend(); ++it)
                for (const auto& p : it.value())
                    if (p.first == t.ref.refName)
                        into << qMakePair(it.key(), p.second);
            if (into.size() == 1) {
                t.reachedFrom = into[0].first;
                t.reachedBy = into[0].second;
            }
            if (allByForeignKey)
                for (quint32 k : std::as_const(foreignKeys))
                    if (k)
                        t.reliesOn << k;
        }
        // Columns the joins make equal (o.order_id = oi.order_id): an output column equal to a
        // table's key can stand for it in the state.
        SameSets sets;
        for (const Edge& e : std::as_const(edges))
            if (e.outer.isEmpty()) // a LEFT JOIN's column is NULL where the other is not
                sets.join(e.leftTable + u'.' + e.leftColumn, e.rightTable + u'.' + e.rightColumn);
        for (PlanTable& t : tables) {
            const QString key = sets.find(t.ref.refName + u'.' + t.primaryKey);
            // (Hidden outputs, the aggregates of derived columns, have no column reference.)
            for (int i = 0; i < outputs.size() && i < outputColumnRef.size(); ++i)
                if (!outputColumnRef[i].isEmpty() && sets.find(outputColumnRef[i]) == key) {
                    t.keyOutput = outputs[i].name;
                    break;
                }
        }
        std::stable_sort(tables.begin(), tables.end(), [](const PlanTable& a, const PlanTable& b) { return a.isFact && !b.isFact; });
        return {};
    };
    if (plan->shape == IvmPlan::Shape::Join) {
        const QList<PlanTable> unkeyed = tables;
        if (const QString why = keyedJoin(); !why.isEmpty()) {
            if (outputs.isEmpty())
                return u"a view without columns is not maintained"_s;
            tables = unkeyed;
            plan->shape = IvmPlan::Shape::Count;
            plan->outer = !outerJoin.isEmpty() || !semi.isEmpty();
        }
    } else if (plan->shape == IvmPlan::Shape::JoinAggregate) {
        // Aggregates over joins keep the join's rows by the fact key.
        if (const QString why = keyedJoin(); !why.isEmpty())
            return u"aggregates over joins (%1) are maintained when every table is reached from one fact table by its primary "
                   u"key, and here %2; keep this view materialized and refresh it CONCURRENTLY (with a unique index on its "
                   u"GROUP BY columns)"_s.arg(joinedNames(refs), why);
    } else {
        tables[0].isFact = true;
    }

    // Outer joins: the classes of columns the joins make equal (viewqueryouter.cpp).
    if (plan->outer)
        if (const QString why = assignJoinClasses(sameValue, crossed, infos, &tables); !why.isEmpty())
            return why;

    // What each table's capture projects from its changed rows (by attribute number, so that a
    // renamed column can be followed): the columns the view reads and the primary key.
    QHash<QString, int> index;
    for (int i = 0; i < tables.size(); ++i) {
        PlanTable& t = tables[i];
        const TableInfo info = infos.value(t.ref.refName);
        t.oid = info.oid;
        t.kind = info.kind;
        t.hasChildren = info.hasChildren;
        t.members = info.members;
        t.memberOids = info.memberOids;
        // Keyed rows (join views) and filtered updates (a table whose key stays unique: no
        // inheritance children) rely on the primary key.
        if (info.keyConstraint && !t.primaryKey.isEmpty() && plan->shape != IvmPlan::Shape::Count
            && (plan->shape == IvmPlan::Shape::Join || plan->shape == IvmPlan::Shape::JoinAggregate || !(t.kind == 'r' && t.hasChildren)))
            t.reliesOn << info.keyConstraint;
        t.captured = t.columns;
        if (!t.primaryKey.isEmpty() && !t.captured.contains(t.primaryKey))
            t.captured << t.primaryKey;
        for (const QString& c : std::as_const(t.captured)) {
            if (!info.attnums.isEmpty() && !info.attnums.contains(c))
                return u"%1 has no column %2"_s.arg(t.ref.refName, c);
            t.attnums << info.attnums.value(c);
        }
        index.insert(t.ref.refName, i);
    }
    plan->tables = tables;
    plan->outputs = outputs;
    plan->sourceFromSql = d->fromClauseOverSources(index);
    plan->fromSql = d->fromClause();
    // Kept EXISTS read their tables through the engine's sources too (markers, as in FROM).
    plan->whereSql = !s->where_clause ? QString() : semi.isEmpty() ? d->expression(s->where_clause) : d->whereOverSources(index);
    if (plan->fromSql.isEmpty() || plan->sourceFromSql.isEmpty() || (s->where_clause && plan->whereSql.isEmpty()))
        return u"the definition could not be deparsed"_s;
    return {};
}

} // namespace htap::mv
