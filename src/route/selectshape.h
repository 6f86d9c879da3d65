// One SELECT in a canonical form for matching a query to a view that answers it, and rewriting
// it over that view. The same code reads both sides (a query, a view's definition), so that
// what is compared was written down the same way. Not part of the library's interface.
#pragma once

#include "router.h"

#include <pg/parsetree.h>

#include <QHash>
#include <QList>
#include <QSet>
#include <QString>
#include <QStringList>

#include <deque>
#include <functional>
#include <vector>

namespace htap::route {

using Node = PgQuery__Node;

/// A parsed SELECT. analyze() rewrites its column references in place to a canonical form
/// ("schema.table".column, whatever alias the text used) and drops the casts that change no
/// value (varchar to text, integer to numeric, 'x'::text): the casts pg_get_viewdef() prints
/// where the parser added them. Every change is undone before the tree is freed.
class SelectShape
{
public:
    SelectShape() = default;
    ~SelectShape();
    SelectShape(const SelectShape&) = delete;
    SelectShape& operator=(const SelectShape&) = delete;

    /// Parses exactly one SELECT statement; false with the reason.
    bool parse(const QString& sql, QString* error);
    /// Brings it to the canonical form against the catalog facts of the views' base tables;
    /// returns why it cannot be matched to a view (empty: it can). isAggregate tells an
    /// aggregate function by its name.
    QString analyze(const QHash<QString, TableFacts>& tables, const std::function<bool(const QString&)>& isAggregate);

    struct Target {
        QString name; ///< the output column's name (its alias, else PostgreSQL's default)
        QString text; ///< canonical SQL of the expression
        Node* value = nullptr;
    };
    QStringList tables;  ///< "schema.table", sorted
    QSet<QString> joins; ///< canonical column equalities between two tables, "a = b" with a < b
    QStringList conjuncts; ///< the other conditions of WHERE and ON, canonical
    QList<Node*> conjunctNodes;
    QStringList groups;  ///< GROUP BY expressions, canonical (positions resolved)
    QList<Target> targets;
    bool aggregated = false; ///< GROUP BY or an aggregate call
    bool hasHaving = false;

    /// Canonical SQL of an expression of this statement.
    QString text(Node* node) const;
    /// "sum|0|<arg>" for an aggregate call (count(*): "count|0|*"): what the matcher compares.
    QString aggregateKey(const PgQuery__FuncCall* call) const;
    bool isAggregateCall(const Node* node) const;

    /// How rewrite() replaces parts of the statement.
    struct Substitution {
        /// Canonical expression -> the view's column that holds it (an SQL name).
        QHash<QString, QString> columns;
        /// An aggregate call -> SQL over the view's columns, or empty with *why set. Null:
        /// aggregates stay, their arguments are substituted (a view of rows).
        std::function<QString(const PgQuery__FuncCall*, QString* why)> aggregate;
        QSet<QString> droppedConjuncts; ///< WHERE conditions the view already applies
        bool keepGroupBy = true;        ///< false: one view row per group, HAVING joins WHERE
    };
    /// The statement over the view schema.name instead of its FROM clause, or empty with *why:
    /// the part that the view's columns cannot express. The tree is as before afterwards.
    QString rewrite(const QString& schema, const QString& name, const Substitution& substitution, QString* why);

private:
    bool substitute(Node** slot, const Substitution& s, QString* why);
    Node* fragment(const QString& sql);
    Node* stringNode(const QString& value);
    void replace(Node** slot, Node* with);
    void undoTo(size_t mark);
    /// Which names a lone column name may be besides a table's column.
    enum class Names { InputOnly, InputFirst, OutputFirst };
    QString canonicalize(const QHash<QString, TableFacts>& tables, const QHash<QString, QString>& refs,
        const QStringList& keys, PgQuery__ColumnRef* ref, const QSet<QString>& outputNames, Names names);

    PgQueryProtobufParseResult m_raw {};
    PgQuery__ParseResult* m_tree = nullptr;
    PgQuery__SelectStmt* m_select = nullptr;
    std::function<bool(const QString&)> m_isAggregate;
    std::vector<std::function<void()>> m_undo;
    // What the changed tree points into: deques, since growing one moves no element.
    std::deque<QByteArray> m_bytes;
    std::deque<PgQuery__String> m_strings;
    std::deque<Node> m_nodes;
    std::deque<std::vector<Node*>> m_arrays;
    std::deque<PgQuery__RangeVar> m_rangeVars;
    std::deque<PgQuery__BoolExpr> m_boolExprs;
    QList<PgQueryProtobufParseResult> m_fragmentRaw;
    QList<PgQuery__ParseResult*> m_fragments;
    QHash<const PgQuery__ColumnRef*, QString> m_columnTypes; ///< canonical refs: the column's type
};

} // namespace htap::route
