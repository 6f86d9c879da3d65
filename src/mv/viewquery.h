#pragma once

#include <QHash>
#include <QList>
#include <QSet>
#include <QString>
#include <QStringList>

#include <memory>

namespace htap::mv {

/// A base table as the view's FROM clause names it.
struct TableRef {
    QString schema; ///< as written (pg_get_viewdef under search_path pg_catalog qualifies it)
    QString name;
    QString refName; ///< what expressions use to qualify its columns: the alias, else the name
};

/// What the catalog says about a base table, looked up by the caller for each TableRef.
struct TableInfo {
    TableInfo(QString key = {}, QString keyType = {}, QStringList referencing = {})
        : primaryKey(std::move(key)), primaryKeyType(std::move(keyType)), referencedBy(std::move(referencing))
    {
    }
    QString primaryKey; ///< the single-column primary key, empty when none or composite
    QString primaryKeyType; ///< its type as format_type() spells it
    /// Columns of other tables that reference this one's primary key through a foreign key,
    /// as "schema.table.column": such a child row cannot exist before its parent row.
    QStringList referencedBy;
    quint32 oid = 0;
    char kind = 'r'; ///< pg_class.relkind: r (a table), p (a partitioned table)
    bool hasChildren = false; ///< inheritance children or partitions (pg_inherits)
    QHash<QString, int> attnums; ///< every column's attribute number; empty: not checked (tests)
    QHash<QString, QString> types; ///< every column's type (a domain's base type); empty: not checked
    QStringList members; ///< its inheritance children or partitions at any depth, quoted qualified
    QList<quint32> memberOids;
    quint32 keyConstraint = 0; ///< the primary key's constraint
    QList<quint32> referencedByConstraints; ///< the foreign keys of referencedBy, in its order
};

/// One output column of a view the engine can maintain.
struct OutputColumn {
    /// Derived: an expression over aggregates (expr is over the view's other columns and its
    /// hidden ones), computed when the view is read.
    enum class Kind { Group, Plain, CountStar, Count, CountDistinct, Sum, Avg, Min, Max, Derived };
    QString name; ///< the view's column name
    Kind kind = Kind::Plain;
    QString expr; ///< SQL over the base tables: the group or plain expression, or the aggregate's argument
    QString type; ///< the view column's type as format_type() spells it (set by the caller)
    QString argColumn; ///< aggregates over a plain column: that column's name
    bool hidden = false; ///< an aggregate a Derived column or HAVING reads, not a column of the view
    /// How count(DISTINCT col) keeps its (group, value) pairs (set by the caller).
    enum class DistinctStore {
        Counts, ///< a reference count per pair (no index on the base table to check against)
        Pairs, ///< a row per pair, a removal checked against the base table's index leading with col
        Bitmaps, ///< as Pairs, integer values: one bitmap row per group and block of 1,024 values
        /// Nothing stored: each merge counts a changed pair's rows in the base table, at its
        /// snapshot, through the index leading with col (a value has few rows: order_id of items)
        Lookup,
    };
    DistinctStore distinctStore = DistinctStore::Counts;
};

/// One base table of a maintained view with what its capture triggers need.
struct PlanTable {
    TableRef ref;
    QString primaryKey;
    QString primaryKeyType;
    bool isFact = false; ///< the table whose rows are the view's rows (join views)
    bool insertsCannotMatch = false; ///< every child joins it through a foreign key: skip INSERT capture
    QStringList columns; ///< the columns the view reads; an UPDATE that changes none is ignored
    QString keyOutput; ///< join views: an output column always equal to the primary key, if any
    quint32 oid = 0;
    char kind = 'r'; ///< r: a table, p: a partitioned table
    bool hasChildren = false; ///< inheritance children or partitions: captured too
    /// What the capture takes from each changed row: the columns the view reads and the primary
    /// key, with their attribute numbers (what a rename leaves unchanged).
    QStringList captured;
    QList<int> attnums;
    /// The table's own members, captured with it: every inheritance child or partition (at any
    /// depth), as quoted qualified names, and their oids.
    QStringList members;
    QList<quint32> memberOids;
    /// The constraints the plan relies on (the primary key of a table whose rows are keyed or
    /// whose updates are filtered by it, the foreign keys that make its inserts harmless):
    /// dropped later, the view cannot stay exact.
    QList<quint32> reliesOn;
    /// Join views, a table other than the fact table reached by exactly one join: the table
    /// whose column holds its key (its child on the way to the fact table) and that column.
    QString reachedFrom;
    QString reachedBy;
    /// The fact rows a changed key of this table touches are found through the base tables
    /// (every join on the way from the fact table has an index on its child's column) instead
    /// of through an index on the state: the state has one index fewer to keep.
    bool foundThroughBase = false;
    /// Counted views over outer joins: the columns this table joins on, each with its class
    /// (the columns the joins' equalities make equal share one), as (class, column); an empty
    /// column stands for a join without an equality (CROSS JOIN), which every row matches.
    QList<QPair<int, QString>> joinKeys;
};

/// How a materialized view is maintained incrementally, derived from its own definition.
struct IvmPlan {
    /// Aggregate: one table's groups; Join: the fact table's rows, keyed by its key;
    /// JoinAggregate: aggregates over such a join (its rows kept by fact key, their changes folded
    /// into groups); Count: the distinct rows of inner joins (tables with or without keys) with
    /// how often each occurs.
    enum class Shape { Aggregate, Join, JoinAggregate, Count };
    Shape shape = Shape::Aggregate;
    bool distinct = false; ///< Count: SELECT DISTINCT (each row once)
    /// Count over outer joins (FULL, RIGHT, LEFT on any equality): a merge recomputes the part of
    /// the view the changes' join values reach (ivmsqlouter.cpp), not inclusion-exclusion.
    bool outer = false;
    QString fromSql; ///< the FROM clause, deparsed (without the keyword)
    /// The same FROM clause over the engine's source views: each table i appears as
    /// htap_ivm.__ivm_src_<i>__ under its own reference name (the generator names the views).
    QString sourceFromSql;
    QString whereSql; ///< the WHERE condition, deparsed; empty when none
    QString havingSql; ///< HAVING over the view's columns and hidden ones, applied when it is read
    QList<PlanTable> tables; ///< the fact table first for join views
    QList<OutputColumn> outputs; ///< in the view's column order
    QString definition; ///< the whole definition, schema-qualified (set by the caller)
    bool grouped = false; ///< has GROUP BY (an aggregate without it yields exactly one row)

    int factIndex() const { return 0; }
};

/// The shape as the registry records it (htap.ivm_views.shape): a counted view is kept as a
/// count(*) grouped by every output column, and relies on no key, as an aggregate; an
/// aggregate over a join keeps the join's rows by the fact key, as a join view.
inline QString registryShape(IvmPlan::Shape shape)
{
    return shape == IvmPlan::Shape::Join || shape == IvmPlan::Shape::JoinAggregate ? QStringLiteral("join")
                                                                                   : QStringLiteral("aggregate");
}

/// A parsed view definition (libpg_query). Parsing needs no server.
class ViewQuery
{
public:
    ViewQuery();
    ~ViewQuery();
    ViewQuery(ViewQuery&&) noexcept;
    ViewQuery& operator=(ViewQuery&&) noexcept;

    /// Parses one SELECT statement; returns false with the parser's message in *error.
    bool parse(const QString& sql, QString* error);

    /// The base tables the FROM clause names, in order. Empty when the FROM clause has no plain
    /// table list or join tree (the analysis then says why).
    QList<TableRef> tables() const;

    /// What the statement's form alone rules out (set operations, CTEs, DISTINCT, sub-queries,
    /// system columns, outer joins...), before any table is looked up: the reason, or empty.
    /// Every reason names the construct and, where the parser kept it, its position.
    QString structureRefusal() const;

    /// Checks the statement against the class of views the engine maintains and builds the plan.
    /// outputNames are the view's column names (from the catalog), tables the catalog facts for
    /// each TableRef by refName, aggregates the names (schema-qualified outside pg_catalog) of
    /// every aggregate function the definition calls, as the catalog knows them (empty: count,
    /// sum, avg, min and max). Returns an empty string on success, else the reason for refusal.
    QString analyze(const QStringList& outputNames, const QHash<QString, TableInfo>& tables, IvmPlan* plan,
        const QSet<QString>& aggregates = {}) const;

    /// How many columns the SELECT list has.
    int targetCount() const;

    /// An expression node deparsed back to SQL (used by tests and diagnostics).
    QString deparseTarget(int index) const;

private:
    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace htap::mv
