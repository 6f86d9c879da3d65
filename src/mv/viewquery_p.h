// The parse tree of a view's definition (libpg_query's protobuf form), for the files that
// implement ViewQuery: walking it, reading its nodes, deparsing parts of it. Not part of the
// library's interface.
#pragma once

#include "viewquery.h"

#include <pg/parsetree.h>

#include <QSet>

#include <deque>
#include <functional>

namespace htap::mv {

namespace parsetree {

using namespace htap::pg::parsetree;
using namespace Qt::StringLiterals;

/// The aggregates the engine keeps (PostgreSQL's own: unqualified, or qualified with pg_catalog).
inline const QSet<QString>& supportedAggregates()
{
    static const QSet<QString> names {u"count"_s, u"sum"_s, u"avg"_s, u"min"_s, u"max"_s};
    return names;
}

/// Whether a call is an aggregate: written as one (count(*), DISTINCT, ORDER BY, FILTER,
/// WITHIN GROUP), or named among the aggregates the catalog says the definition calls.
inline bool isAggregateCall(const PgQuery__FuncCall* fc, const QSet<QString>& aggregates)
{
    if (fc->over)
        return false; // a window function
    return fc->agg_star || fc->agg_distinct || fc->n_agg_order || fc->agg_filter || fc->agg_within_group
        || aggregates.contains(dottedName(fc));
}

/// "a JOIN b JOIN c" for messages.
inline QString joinedNames(const QList<TableRef>& refs)
{
    QStringList names;
    for (const TableRef& r : refs)
        names << r.refName;
    return names.join(u" JOIN "_s);
}

/// Columns every table has that changed rows do not bring to a statement trigger: its
/// transition tables carry the user columns only. No user column may have these names.
inline const QSet<QString>& systemColumns()
{
    static const QSet<QString> names {u"ctid"_s, u"xmin"_s, u"xmax"_s, u"cmin"_s, u"cmax"_s, u"tableoid"_s};
    return names;
}


/// The conditions ANDed in a condition (itself when it is no AND).
inline QList<const Node*> conjuncts(const Node* n)
{
    if (n->node_case != PG_QUERY__NODE__NODE_BOOL_EXPR || n->bool_expr->boolop != PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR)
        return {n};
    QList<const Node*> out;
    for (size_t k = 0; k < n->bool_expr->n_args; ++k)
        out << conjuncts(n->bool_expr->args[k]);
    return out;
}

/// A condition "x.a = y.b" between two qualified columns: true with their fields in l and r.
inline bool columnEquality(const Node* q, QStringList* l, QStringList* r)
{
    if (q->node_case != PG_QUERY__NODE__NODE_A_EXPR || q->a_expr->kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP
        || lastName(q->a_expr->name, q->a_expr->n_name) != u"="_s || !q->a_expr->lexpr || !q->a_expr->rexpr
        || q->a_expr->lexpr->node_case != PG_QUERY__NODE__NODE_COLUMN_REF || q->a_expr->rexpr->node_case != PG_QUERY__NODE__NODE_COLUMN_REF)
        return false;
    *l = columnRefFields(q->a_expr->lexpr->column_ref);
    *r = columnRefFields(q->a_expr->rexpr->column_ref);
    return l->size() == 2 && r->size() == 2;
}

/// Sets of names made equal one pair at a time (union-find): find() gives each set's one name.
struct SameSets {
    QHash<QString, QString> parent;
    QString find(const QString& x) const
    {
        const QString p = parent.value(x, x);
        return p == x ? x : find(p);
    }
    void join(const QString& a, const QString& b)
    {
        if (find(a) != find(b))
            parent.insert(find(a), find(b));
    }
};

} // namespace parsetree

using namespace parsetree;

struct ViewQuery::Private {
    PgQueryProtobufParseResult raw {};
    PgQuery__ParseResult* tree = nullptr;
    PgQuery__SelectStmt* select = nullptr;
    QByteArray text; ///< the definition parsed, UTF-8 (parse-tree locations are byte offsets into it)
    QString inlineRefusal; ///< why a sub-query or CTE in FROM could not be inlined (viewqueryinline.cpp)
    /// EXISTS sub-queries read as joins: the table -> the column the sub-query reaches it by,
    /// which must be its primary key.
    QHash<QString, QString> semiKeys;
    QString source; ///< the definition as given to parse()
    /// EXISTS kept as sub-links, not read as joins (an outer-join view's semi-join: analysis
    /// tries this when the sub-query does not reach its table by its key).
    bool keepExists = false;

    /// The EXISTS sub-links among WHERE's top-level conjuncts whose sub-query reads one table
    /// and only filters it (keepExists: what a counted outer-join view keeps as a semi-join).
    QList<const PgQuery__SubLink*> keptExists() const
    {
        QList<const PgQuery__SubLink*> out;
        if (!keepExists || !select || !select->where_clause)
            return out;
        QList<Node*> conj {select->where_clause};
        if (select->where_clause->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR
            && select->where_clause->bool_expr->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR)
            conj = QList<Node*>(select->where_clause->bool_expr->args, select->where_clause->bool_expr->args + select->where_clause->bool_expr->n_args);
        for (const Node* c : std::as_const(conj)) {
            if (c->node_case != PG_QUERY__NODE__NODE_SUB_LINK || c->sub_link->sub_link_type != PG_QUERY__SUB_LINK_TYPE__EXISTS_SUBLINK
                || !c->sub_link->subselect || c->sub_link->subselect->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
                continue;
            const PgQuery__SelectStmt* in = c->sub_link->subselect->select_stmt;
            if (in->n_from_clause != 1 || in->from_clause[0]->node_case != PG_QUERY__NODE__NODE_RANGE_VAR || in->n_group_clause
                || in->having_clause || in->n_distinct_clause || in->limit_count || in->limit_offset || in->with_clause
                || in->n_window_clause || in->op != PG_QUERY__SET_OPERATION__SETOP_NONE)
                continue;
            out << c->sub_link;
        }
        return out;
    }

    /// The definition with its sub-queries and CTEs in FROM that only project and filter inlined;
    /// empty when there are none, or when one cannot be inlined (why says so).
    QString inlined(QString* why);

    /// Where a construct is in the definition, for messages: " (character N: "its text…")";
    /// empty when the parser recorded no position.
    QString at(int location) const
    {
        if (location < 0 || location >= text.size())
            return {};
        const int character = int(QString::fromUtf8(text.left(location)).size()) + 1;
        QString snippet = QString::fromUtf8(text.mid(location, 120)).simplified();
        if (snippet.size() > 40)
            snippet = snippet.left(40) + u"\u2026"_s;
        return u" (character %1: \"%2\")"_s.arg(character).arg(snippet);
    }
    QString at(const ProtobufCMessage* node) const { return at(firstLocation(node)); }

    ~Private()
    {
        if (tree)
            pg_query__parse_result__free_unpacked(tree, nullptr);
        pg_query_free_protobuf_parse_result(raw);
    }

    /// Deparses a statement built around the view's own SELECT with some clauses replaced.
    QString deparse(PgQuery__SelectStmt& stmt) const { return deparseSelect(stmt, tree->version); }

    /// "SELECT <value> [FROM <the view's FROM>]" deparsed.
    QString selectOf(Node* value, bool withFrom) const
    {
        return withFrom ? deparseSelectOf(value, tree->version, select->n_from_clause, select->from_clause)
                        : deparseSelectOf(value, tree->version);
    }

    /// One expression as SQL text.
    QString expression(Node* expr) const { return deparseExpression(expr, tree->version); }

    /// The FROM clause as SQL text, without the keyword.
    QString fromClause() const
    {
        PgQuery__AStar star = PG_QUERY__A__STAR__INIT;
        Node starNode = PG_QUERY__NODE__INIT;
        starNode.node_case = PG_QUERY__NODE__NODE_A_STAR;
        starNode.a_star = &star;
        Node* fields[] = {&starNode};
        PgQuery__ColumnRef ref = PG_QUERY__COLUMN_REF__INIT;
        ref.n_fields = 1;
        ref.fields = fields;
        Node refNode = PG_QUERY__NODE__INIT;
        refNode.node_case = PG_QUERY__NODE__NODE_COLUMN_REF;
        refNode.column_ref = &ref;
        const QString sql = selectOf(&refNode, true);
        const QString prefix = u"SELECT * FROM "_s;
        return sql.startsWith(prefix) ? sql.mid(prefix.size()) : QString();
    }

    /// The FROM clause with every table replaced by htap_ivm.__ivm_src_<i>__ under the table's
    /// own reference name (index[refName] = i), so that its expressions read the same: the
    /// generator puts the names of the engine's source views in those places.
    QString fromClauseOverSources(const QHash<QString, int>& index) const { return overSources(index, [&] { return fromClause(); }); }

    /// The WHERE clause with the tables of its sub-queries (kept EXISTS) replaced as
    /// fromClauseOverSources() replaces FROM's.
    QString whereOverSources(const QHash<QString, int>& index) const
    {
        return select->where_clause ? overSources(index, [&] { return expression(select->where_clause); }) : QString();
    }

    template <typename F>
    QString overSources(const QHash<QString, int>& index, F text) const
    {
        struct Saved {
            PgQuery__RangeVar* rv;
            char* schema;
            char* rel;
            PgQuery__Alias* alias;
            protobuf_c_boolean inh;
        };
        QList<Saved> saved;
        // Deques: the tree points into them, and growing one moves no element.
        std::deque<QByteArray> names;
        std::deque<PgQuery__Alias> aliases;
        static char schema[] = "htap_ivm";
        QList<const ProtobufCMessage*> roots;
        for (size_t i = 0; i < select->n_from_clause; ++i)
            roots << &select->from_clause[i]->base;
        if (select->where_clause)
            roots << &select->where_clause->base;
        for (const ProtobufCMessage* root : std::as_const(roots)) {
            walk(root, [&](const ProtobufCMessage* m) {
                if (!isA(m, pg_query__range_var__descriptor))
                    return true;
                auto* rv = const_cast<PgQuery__RangeVar*>(reinterpret_cast<const PgQuery__RangeVar*>(m));
                const QString ref = rv->alias && rv->alias->aliasname && *rv->alias->aliasname ? str(rv->alias->aliasname) : str(rv->relname);
                if (!index.contains(ref))
                    return false;
                saved << Saved {rv, rv->schemaname, rv->relname, rv->alias, rv->inh};
                names.push_back(u"__ivm_src_%1__"_s.arg(index.value(ref)).toUtf8());
                rv->relname = names.back().data();
                names.push_back(ref.toUtf8());
                PgQuery__Alias alias = PG_QUERY__ALIAS__INIT;
                alias.aliasname = names.back().data();
                aliases.push_back(alias);
                rv->alias = &aliases.back();
                rv->schemaname = schema;
                rv->inh = true;
                return false;
            });
        }
        const QString sql = text();
        for (const Saved& v : std::as_const(saved)) {
            v.rv->schemaname = v.schema;
            v.rv->relname = v.rel;
            v.rv->alias = v.alias;
            v.rv->inh = v.inh;
        }
        return sql;
    }
};

/// Counted views over outer joins (viewqueryouter.cpp): the tables of EXISTS kept as semi-joins
/// appended to refs, with their equalities to the outer tables (or a cross class when none).
void addSemiJoinTables(const QList<const PgQuery__SubLink*>& semi, QList<TableRef>* refs, QList<QPair<QString, QString>>* sameValue,
    QList<QStringList>* crossed);
/// Each table's join keys (PlanTable::joinKeys) from the equalities ("ref.col" pairs) and the
/// joins without one; the reason when the columns of a class cannot be compared by hash.
QString assignJoinClasses(const QList<QPair<QString, QString>>& sameValue, const QList<QStringList>& crossed,
    const QHash<QString, TableInfo>& infos, QList<PlanTable>* tables);

} // namespace htap::mv
