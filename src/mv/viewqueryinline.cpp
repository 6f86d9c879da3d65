// Sub-queries and CTEs in FROM that only project and filter are inlined before a definition is
// analysed: "FROM a JOIN (SELECT b.i, b.k FROM b WHERE b.k > 0) x ON a.i = x.i" reads as
// "FROM a JOIN b x ON a.i = x.i WHERE x.k > 0" (the same rows), which the generators take.
// The parse tree is changed in place, deparsed, and changed back (it owns its nodes).
#include "viewquery.h"

#include "viewquery_p.h"

using namespace Qt::StringLiterals;

namespace htap::mv {

namespace {

struct Inliner {
    const QSet<QString>& aggregates = supportedAggregates();
    std::vector<std::function<void()>> undo;
    std::deque<QByteArray> bytes;
    std::deque<Node> nodes;
    std::deque<PgQuery__RangeSubselect> subselects;
    std::deque<PgQuery__Alias> aliases;
    std::deque<PgQuery__BoolExpr> ands;
    std::deque<std::vector<Node*>> lists;
    std::deque<PgQuery__JoinExpr> joins;
    int32_t version = 0;
    QList<PgQueryProtobufParseResult> raws; ///< copies of CTE queries (one per reference)
    QList<PgQuery__ParseResult*> copies;
    QString refusal; ///< why a sub-query or CTE stays (then the definition is refused with it)
    QSet<QString> ctesUsed; ///< CTE names FROM reads somewhere (in a nested sub-query too)
    QHash<QString, QString> semiKeys; ///< EXISTS read as joins: table -> the column it is reached by
    bool changed = false;

    ~Inliner()
    {
        while (!undo.empty()) {
            undo.back()();
            undo.pop_back();
        }
        for (PgQuery__ParseResult* c : std::as_const(copies))
            pg_query__parse_result__free_unpacked(c, nullptr);
        for (const PgQueryProtobufParseResult& r : std::as_const(raws))
            pg_query_free_protobuf_parse_result(r);
    }

    /// A copy of a CTE's query for one reference to it (each is inlined under its own name).
    Node* copyOf(Node* query)
    {
        const QByteArray text = deparseSelect(*query->select_stmt, version).toUtf8();
        PgQueryProtobufParseResult raw = pg_query_parse_protobuf(text.constData());
        raws << raw;
        if (raw.error)
            return nullptr;
        PgQuery__ParseResult* tree = pg_query__parse_result__unpack(nullptr, raw.parse_tree.len, reinterpret_cast<const uint8_t*>(raw.parse_tree.data));
        if (!tree || tree->n_stmts != 1)
            return nullptr;
        copies << tree;
        return tree->stmts[0]->stmt;
    }

    void setNode(Node* at, const Node& value)
    {
        const Node saved = *at;
        undo.push_back([at, saved] { *at = saved; });
        *at = value;
    }
    template<typename T>
    void setField(T& field, T value)
    {
        const T saved = field;
        undo.push_back([&field, saved] { field = saved; });
        field = value;
    }
    char* keep(const QString& s)
    {
        bytes.push_back(s.toUtf8());
        return bytes.back().data();
    }

    static QString refNameOf(const PgQuery__RangeVar* rv)
    {
        return rv->alias && rv->alias->aliasname && *rv->alias->aliasname ? str(rv->alias->aliasname) : str(rv->relname);
    }

    /// Why sel cannot be inlined as a FROM item, or empty.
    QString notSimple(const PgQuery__SelectStmt* sel) const
    {
        if (sel->op != PG_QUERY__SET_OPERATION__SETOP_NONE)
            return u"it is a set operation"_s;
        if (sel->n_distinct_clause)
            return u"it has DISTINCT"_s;
        if (sel->n_group_clause || sel->having_clause)
            return u"it groups (GROUP BY, HAVING)"_s;
        if (sel->limit_count || sel->limit_offset)
            return u"it has LIMIT or OFFSET"_s;
        if (sel->n_locking_clause)
            return u"it locks rows (FOR UPDATE)"_s;
        if (sel->n_values_lists || sel->n_from_clause == 0)
            return u"it reads no table"_s;
        if (sel->with_clause)
            return u"it has a WITH clause of its own that is not inlined"_s;
        QString why;
        for (size_t i = 0; i < sel->n_target_list && why.isEmpty(); ++i) {
            walk(&sel->target_list[i]->base, [&](const ProtobufCMessage* m) {
                if (!why.isEmpty())
                    return false;
                if (isA(m, pg_query__func_call__descriptor)) {
                    const auto* fc = reinterpret_cast<const PgQuery__FuncCall*>(m);
                    why = fc->over ? u"it computes a window function"_s
                        : isAggregateCall(fc, aggregates) ? u"it computes an aggregate"_s
                                                          // a set-returning function would change the row count
                                                          : u"its select list calls %1() (only columns and operators are inlined)"_s.arg(dottedName(fc));
                } else if (isA(m, pg_query__sub_link__descriptor)) {
                    why = u"its select list has a sub-query"_s;
                }
                return why.isEmpty();
            });
        }
        return why;
    }

    /// Every FROM item of sel (and of the sub-queries below it) with the CTEs in scope replaced
    /// by their queries and simple sub-queries replaced by their table or joins; the outer
    /// columns that read a sub-query's output in subst ("alias.col" -> its expression).
    void inlineSelect(PgQuery__SelectStmt* sel, QHash<QString, Node*> ctes, bool top)
    {
        if (sel->with_clause) {
            if (sel->with_clause->recursive) {
                refusal = u"WITH RECURSIVE is not maintained"_s;
                return;
            }
            for (size_t i = 0; i < sel->with_clause->n_ctes; ++i) {
                const auto* cte = sel->with_clause->ctes[i]->common_table_expr;
                if (!cte || !cte->ctequery || cte->ctequery->node_case != PG_QUERY__NODE__NODE_SELECT_STMT) {
                    refusal = u"a WITH clause whose query is not a SELECT (INSERT, UPDATE, DELETE) is not maintained"_s;
                    return;
                }
                if (cte->n_aliascolnames) {
                    refusal = u"a WITH query with column names (%1(...)) is not maintained; name the columns in its select list"_s.arg(str(cte->ctename));
                    return;
                }
                ctes.insert(str(cte->ctename), cte->ctequery);
            }
        }
        QHash<QString, Node*> subst;
        QList<Node*> wheres;
        for (size_t i = 0; i < sel->n_from_clause && refusal.isEmpty(); ++i)
            inlineItem(sel->from_clause[i], ctes, &subst, &wheres, false);
        if (!refusal.isEmpty())
            return;
        if (sel->with_clause) {
            for (size_t i = 0; i < sel->with_clause->n_ctes; ++i) {
                const QString name = str(sel->with_clause->ctes[i]->common_table_expr->ctename);
                if (!ctesUsed.contains(name)) {
                    refusal = u"the WITH query %1 is not read in FROM%2; a CTE is maintained where FROM reads it as a table"_s.arg(
                        name, top ? QString() : u" of its own SELECT"_s);
                    return;
                }
            }
            setField(sel->with_clause, static_cast<PgQuery__WithClause*>(nullptr));
            changed = true;
        }
        // The columns read from inlined sub-queries, everywhere in sel but inside the sub-queries.
        if (!subst.isEmpty())
            substitute(&sel->base, subst);
        for (Node* w : std::as_const(wheres)) {
            if (!sel->where_clause) {
                setField(sel->where_clause, w);
                continue;
            }
            lists.push_back({sel->where_clause, w});
            PgQuery__BoolExpr both = PG_QUERY__BOOL_EXPR__INIT;
            both.boolop = PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR;
            both.n_args = 2;
            both.args = lists.back().data();
            both.location = -1;
            ands.push_back(both);
            Node n = PG_QUERY__NODE__INIT;
            n.node_case = PG_QUERY__NODE__NODE_BOOL_EXPR;
            n.bool_expr = &ands.back();
            nodes.push_back(n);
            setField(sel->where_clause, &nodes.back());
        }
    }

    void inlineItem(Node* item, const QHash<QString, Node*>& ctes, QHash<QString, Node*>* subst,
        QList<Node*>* wheres, bool underOuter)
    {
        if (!refusal.isEmpty())
            return;
        if (item->node_case == PG_QUERY__NODE__NODE_RANGE_VAR) {
            const PgQuery__RangeVar* rv = item->range_var;
            const QString name = str(rv->relname);
            if (rv->schemaname && *rv->schemaname)
                return;
            if (!ctes.contains(name))
                return;
            ctesUsed.insert(name);
            // FROM cte [AS x]: a sub-query of the CTE's query under x (or the CTE's name).
            PgQuery__Alias alias = PG_QUERY__ALIAS__INIT;
            alias.aliasname = keep(refNameOf(rv));
            if (rv->alias && rv->alias->n_colnames) {
                refusal = u"column aliases in FROM (%1 AS %2(...)) are not maintained; name the columns in the select list instead"_s.arg(
                    name, refNameOf(rv));
                return;
            }
            aliases.push_back(alias);
            PgQuery__RangeSubselect sub = PG_QUERY__RANGE_SUBSELECT__INIT;
            sub.subquery = copyOf(ctes.value(name));
            if (!sub.subquery) {
                refusal = u"the WITH query %1 could not be copied"_s.arg(name);
                return;
            }
            sub.alias = &aliases.back();
            subselects.push_back(sub);
            Node n = PG_QUERY__NODE__INIT;
            n.node_case = PG_QUERY__NODE__NODE_RANGE_SUBSELECT;
            n.range_subselect = &subselects.back();
            setNode(item, n);
            changed = true;
        }
        if (item->node_case == PG_QUERY__NODE__NODE_JOIN_EXPR) {
            auto* j = item->join_expr;
            const bool outer = j->jointype != PG_QUERY__JOIN_TYPE__JOIN_INNER;
            inlineItem(j->larg, ctes, subst, wheres, underOuter || outer);
            inlineItem(j->rarg, ctes, subst, wheres, underOuter || outer);
            return;
        }
        if (item->node_case != PG_QUERY__NODE__NODE_RANGE_SUBSELECT)
            return;
        const PgQuery__RangeSubselect* rs = item->range_subselect;
        if (rs->lateral) {
            refusal = u"a LATERAL sub-query in FROM is not maintained"_s;
            return;
        }
        if (!rs->subquery || rs->subquery->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
            return;
        PgQuery__SelectStmt* inner = rs->subquery->select_stmt;
        const QString alias = rs->alias ? str(rs->alias->aliasname) : QString();
        // Its own sub-queries and CTEs first (the outer CTEs are in scope in it).
        inlineSelect(inner, ctes, false);
        if (!refusal.isEmpty())
            return;
        const QString why = notSimple(inner);
        if (!why.isEmpty() || alias.isEmpty() || (rs->alias && rs->alias->n_colnames) || (underOuter && inner->where_clause)) {
            refusal = u"a sub-query or CTE in FROM%1 is maintained only when it projects and filters: %2"_s.arg(
                alias.isEmpty() ? QString() : u" (" + alias + u")",
                !why.isEmpty()       ? why
                    : alias.isEmpty() ? u"it has no name"_s
                    : underOuter      ? u"its WHERE would move out of an outer join"_s
                                      : u"it renames its columns in FROM"_s);
            return;
        }
        Node* from = inner->from_clause[0];
        // Tables listed with commas: a cross join, filtered by the WHERE that comes along.
        for (size_t i = 1; i < inner->n_from_clause; ++i) {
            PgQuery__JoinExpr cross = PG_QUERY__JOIN_EXPR__INIT;
            cross.jointype = PG_QUERY__JOIN_TYPE__JOIN_INNER;
            cross.larg = from;
            cross.rarg = inner->from_clause[i];
            joins.push_back(cross);
            Node n = PG_QUERY__NODE__INIT;
            n.node_case = PG_QUERY__NODE__NODE_JOIN_EXPR;
            n.join_expr = &joins.back();
            nodes.push_back(n);
            from = &nodes.back();
        }
        // A single table takes the sub-query's name: its columns are then read as alias.col.
        QString innerRef;
        if (from->node_case == PG_QUERY__NODE__NODE_RANGE_VAR) {
            innerRef = refNameOf(from->range_var);
            PgQuery__Alias a = PG_QUERY__ALIAS__INIT;
            a.aliasname = keep(alias);
            aliases.push_back(a);
            setField(from->range_var->alias, &aliases.back());
            requalify(&inner->base, innerRef, alias);
        }
        for (size_t i = 0; i < inner->n_target_list; ++i) {
            const PgQuery__ResTarget* rt = inner->target_list[i]->res_target;
            QString name = str(rt->name);
            if (name.isEmpty() && rt->val->node_case == PG_QUERY__NODE__NODE_COLUMN_REF)
                name = columnRefFields(rt->val->column_ref).value(columnRefFields(rt->val->column_ref).size() - 1);
            if (!name.isEmpty())
                subst->insert(alias + u'.' + name, rt->val);
        }
        if (inner->where_clause)
            *wheres << inner->where_clause;
        setNode(item, *from);
        changed = true;
    }

    /// WHERE EXISTS (SELECT ... FROM b WHERE b.k = a.x AND ...) read as JOIN b ON b.k = a.x, its
    /// WHERE moved out: the same rows when k is b's primary key (at most one match), which
    /// analysis checks (semiKeys: b -> k).
    void semiJoins(PgQuery__SelectStmt* sel)
    {
        if (sel->n_from_clause != 1 || !sel->where_clause)
            return;
        QList<Node*> conj {sel->where_clause};
        if (sel->where_clause->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR && sel->where_clause->bool_expr->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR)
            conj = QList<Node*>(sel->where_clause->bool_expr->args, sel->where_clause->bool_expr->args + sel->where_clause->bool_expr->n_args);
        QSet<QString> outerNames;
        walk(&sel->from_clause[0]->base, [&](const ProtobufCMessage* m) {
            if (isA(m, pg_query__range_var__descriptor))
                outerNames.insert(refNameOf(reinterpret_cast<const PgQuery__RangeVar*>(m)));
            return true;
        });
        for (Node* c : std::as_const(conj)) {
            if (c->node_case != PG_QUERY__NODE__NODE_SUB_LINK || c->sub_link->sub_link_type != PG_QUERY__SUB_LINK_TYPE__EXISTS_SUBLINK
                || !c->sub_link->subselect || c->sub_link->subselect->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
                continue;
            PgQuery__SelectStmt* in = c->sub_link->subselect->select_stmt;
            if (!notSimple(in).isEmpty() || in->n_from_clause != 1 || in->from_clause[0]->node_case != PG_QUERY__NODE__NODE_RANGE_VAR
                || !in->where_clause)
                continue;
            const QString ref = refNameOf(in->from_clause[0]->range_var);
            if (outerNames.contains(ref))
                continue;
            QList<Node*> inner {in->where_clause};
            if (in->where_clause->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR && in->where_clause->bool_expr->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR)
                inner = QList<Node*>(in->where_clause->bool_expr->args, in->where_clause->bool_expr->args + in->where_clause->bool_expr->n_args);
            Node* eq = nullptr;
            QString column;
            for (Node* q : std::as_const(inner)) {
                QStringList l, r;
                if (eq || !columnEquality(q, &l, &r))
                    continue;
                if (l[0] == ref && outerNames.contains(r[0]))
                    column = l[1];
                else if (r[0] == ref && outerNames.contains(l[0]))
                    column = r[1];
                else
                    continue;
                eq = q;
            }
            if (!eq)
                continue;
            nodes.push_back(*sel->from_clause[0]);
            PgQuery__JoinExpr join = PG_QUERY__JOIN_EXPR__INIT;
            join.jointype = PG_QUERY__JOIN_TYPE__JOIN_INNER;
            join.larg = &nodes.back();
            join.rarg = in->from_clause[0];
            join.quals = eq;
            joins.push_back(join);
            Node n = PG_QUERY__NODE__INIT;
            n.node_case = PG_QUERY__NODE__NODE_JOIN_EXPR;
            n.join_expr = &joins.back();
            setNode(sel->from_clause[0], n);
            setNode(c, *in->where_clause); // the equality again, and the sub-query's other conditions
            semiKeys.insert(ref, column);
            outerNames.insert(ref);
            changed = true;
        }
    }

    /// Column references qualified by from become qualified by to (a sub-query's table renamed).
    void requalify(ProtobufCMessage* root, const QString& from, const QString& to)
    {
        char* name = keep(to);
        walk(root, [&](const ProtobufCMessage* m) {
            if (isA(m, pg_query__range_subselect__descriptor) || isA(m, pg_query__sub_link__descriptor))
                return false; // their own scope
            if (!isA(m, pg_query__column_ref__descriptor))
                return true;
            auto* ref = const_cast<PgQuery__ColumnRef*>(reinterpret_cast<const PgQuery__ColumnRef*>(m));
            if (ref->n_fields == 2 && ref->fields[0]->node_case == PG_QUERY__NODE__NODE_STRING && str(ref->fields[0]->string->sval) == from)
                setField(ref->fields[0]->string->sval, name);
            return false;
        });
    }

    /// Column references "alias.col" (or a bare "col" only one sub-query has) replaced by the
    /// expression the sub-query computes for it.
    void substitute(ProtobufCMessage* root, const QHash<QString, Node*>& subst)
    {
        walk(root, [&](const ProtobufCMessage* m) {
            if (isA(m, pg_query__range_subselect__descriptor))
                return false;
            if (!isA(m, pg_query__node__descriptor))
                return true;
            auto* n = const_cast<Node*>(reinterpret_cast<const Node*>(m));
            if (n->node_case != PG_QUERY__NODE__NODE_COLUMN_REF)
                return true;
            const QStringList f = columnRefFields(n->column_ref);
            Node* with = nullptr;
            if (f.size() == 2) {
                with = subst.value(f[0] + u'.' + f[1]);
            } else if (f.size() == 1) {
                for (auto it = subst.cbegin(); it != subst.cend(); ++it)
                    if (it.key().section(u'.', 1) == f[0])
                        with = with ? nullptr : it.value();
            }
            if (with)
                setNode(n, *with);
            return false;
        });
    }
};

} // namespace

QString ViewQuery::Private::inlined(QString* why)
{
    Inliner in;
    in.version = tree->version;
    // A query that reads no sub-query or CTE is left as it is.
    if (!select->with_clause) {
        bool any = false;
        for (size_t i = 0; i < select->n_from_clause && !any; ++i)
            walk(&select->from_clause[i]->base, [&](const ProtobufCMessage* m) {
                any = any || isA(m, pg_query__range_subselect__descriptor);
                return !any;
            });
        if (!any && select->where_clause)
            walk(&select->where_clause->base, [&](const ProtobufCMessage* m) {
                any = any || isA(m, pg_query__sub_link__descriptor);
                return !any;
            });
        if (!any)
            return {};
    }
    in.inlineSelect(select, {}, true);
    if (in.refusal.isEmpty() && !keepExists)
        in.semiJoins(select);
    semiKeys = in.semiKeys;
    if (!in.refusal.isEmpty()) {
        *why = in.refusal;
        return {};
    }
    return in.changed ? deparse(*select) : QString();
}

} // namespace htap::mv
