// The pieces every generated engine is built from (names, functions, triggers, the rebuild
// procedure, the state swap), shared by the generators of ivmsql.cpp, ivmsqljoin.cpp and
// ivmsqljoinagg.cpp; not part of the library's interface.
#pragma once

#include "ivmsql.h"

#include <QString>
#include <QStringList>

namespace htap::mv::gen {

using Kind = OutputColumn::Kind;

QString q(const QString& name);

/// Everything a generated function needs: no search_path surprises, the owner's rights (writers
/// need no grant on htap_ivm).
extern const QString kFunctionHeader;
/// Merges are short, frequent statements: compiling them with JIT costs more than it saves.
extern const QString kMergeSettings;
/// Where a capture function's text lists the columns it takes from changed rows (see changedRows).
extern const QString kColumnsMarker;
/// Tables whose rows merges update in place: room on each page keeps those updates HOT (no new
/// index entries), three times faster on freshly built tables.
extern const QString kUpdatedInPlace;

struct Names {
    int id;
    QString obj(const QString& suffix) const { return QStringLiteral("htap_ivm.") + q(QStringLiteral("v%1_%2").arg(id).arg(suffix)); }
    QString trigger(const QString& suffix) const { return q(QStringLiteral("htap_ivm_v%1_%2").arg(id).arg(suffix)); }
};

struct Group {
    QString name; ///< quoted column name in state/delta
    QString expr; ///< over the base table
};

QString tableOf(const PlanTable& t);
QString joinList(const QStringList& items, const QString& sep = QStringLiteral(", "));
QString whereAnd(const QString& where, const QString& extra = {});
/// The name of the trigger that captures event (INSERT, UPDATE, DELETE) on table root for all its views.
QString sharedCaptureTrigger(quint32 root, const QString& event);
/// Statements that create capture triggers for one table (and its members) and event set; for
/// INSERT, UPDATE and DELETE the table's shared trigger, registered only (see addCaptureFunction).
void addTrigger(IvmSql& out, const Names& n, int tableIndex, const PlanTable& t, const QString& suffix, const QString& event,
    const QString& referencing, const QString& function);
/// The capture of base table tableIndex in out.captures, made on first use.
CaptureSpec& specFor(IvmSql& out, int tableIndex, const PlanTable& t);
void addFunction(IvmSql& out, const QString& name, const QString& returns, const QString& body,
    const QString& declare = {}, const QString& settings = {});
void truncateTrigger(IvmSql& out, const Names& n, int tableIndex, const PlanTable& t, const QString& suffix);
/// The rebuild: v<id>_rebuild_now() (body, under the view's lock, any isolation level), the
/// transaction v<id>_rebuild_tx() and the procedure v<id>_rebuild() that CALLs it.
void rebuildProcedure(IvmSql& out, const Names& n, const QString& body);
/// A merge function's first statements: its lock (-1 when another merge or a rebuild holds it),
/// then the cost-aware choice: with a large part of the base pending it rebuilds instead
/// (htap.ivm_rebuild_instead), logs why and returns. Needs kMergeStartDeclare and v_started.
QString mergeStart(const Names& n);
extern const QString kMergeStartDeclare;
/// The state is rebuilt beside the live one (bulk load, then indexes), then swapped in: readers
/// keep reading the old state until the rebuild commits. sameSnapshot: data-modifying
/// statements run in the load's own statement (the deletes of pending changes, other loads from
/// the base), so that all of them see one snapshot even at READ COMMITTED (a merge's rebuild).
/// An INSERT whose statement also runs these (data-modifying CTEs): one snapshot for all.
QString sameSnapshotLoad(const QString& insertInto, const QStringList& sameSnapshot);
QString swapRebuild(const Names& n, const QString& insertInto, const QString& with = {}, const QStringList& sameSnapshot = {});
/// Readers go through this view, so that a rebuild can swap the state table under it.
void currentView(IvmSql& out, const Names& n);
/// The changed rows of a transition table as the capture reads them: a sub-query listing the
/// captured columns under the names the view knew them by (kColumnsMarker until rendered). The
/// planner pulls it up, so it costs nothing; after a column is renamed, the DDL event trigger
/// renders the functions again with the new name before any writer runs.
QString changedRows(const QString& transitionTable);
/// The captured columns of t as the marker stands for them: __ivm_r."<current>" AS "<original>".
QString columnsAsCaptured(const PlanTable& t, const QStringList& currentNames);
/// A dollar-quote tag none of texts holds: $ivm$, else $ivm1$, $ivm2$, ...
QString dollarTag(const QStringList& texts);
/// A capture statement of base table tableIndex for event (INSERT, UPDATE or DELETE): one
/// statement over the transition tables, with kColumnsMarker; recorded with its table's capture
/// in out.captures (statements), which the table's shared capture function runs with the other
/// views' (htap.ivm_capture_sync installs it). name is unused since generation 6 (a function each).
void addCaptureFunction(IvmSql& out, int tableIndex, const PlanTable& t, const QString& name, const QString& statement,
    const QString& event);
/// What merges and rebuilds read instead of the base tables: a view per table of the columns the
/// view reads (PostgreSQL keeps views right across renames of tables and columns, and refuses
/// to drop or retype a column one reads, as for the materialized view), and one of the whole
/// definition (its dependencies are the materialized view's; its text stays current).
void addSources(IvmSql& out, const IvmPlan& plan, const Names& n);
QString sourceView(const Names& n, int tableIndex);
/// plan.sourceFromSql with the source views in place of their markers.
QString sourceFrom(const IvmPlan& plan, const Names& n);
/// A statement that drops every capture trigger of the engine.
QString dropTriggers(const Names& n);
QString createTableAs(const QString& name, const QStringList& select, const QString& from, const QString& tail = {},
    const QString& with = {});
void deltaTableSettings(IvmSql& out, const QString& table);

/// The view's query over rows (a query of its plain and aggregate columns, hidden ones
/// included): its columns in order, expressions over aggregates computed, HAVING applied.
/// rows itself when the view has neither.
QString derivedView(const IvmPlan& plan, const QString& rows);

/// An aggregate over the rows of a join (ivmsqljoinagg.cpp): generateAggregate reads them from
/// the join's rows table instead of a base table, writes no capture of its own, and hands its
/// fold to the join's merge, which feeds it the rows it deletes and inserts again.
struct RowsFold {
    QString from; ///< in: the rows table, with the alias the aggregate plan's expressions use
    /// in: the changed rows (every rows-table column and __ivm_sign, -1 gone, +1 new), over the
    /// CTEs __ivm_del and __ivm_ins that the join's merge puts before the fold's
    QString changed;
    QStringList ctes; ///< out: the fold's CTEs
    QString select; ///< out: the SELECT ... INTO that ends the statement, and the statements after it
    QString declare, settings; ///< out: the fold's variables and the merge function's settings
    QString rebuild; ///< out: the aggregate's rebuild from the rows table, once that is loaded
};

IvmSql generateAggregate(const IvmPlan& plan, const Names& n, const QString& viewSchema, const QString& viewName,
    RowsFold* rows = nullptr);
/// With fold: the join's rows are kept in v<N>_rows for an aggregate over them, and every merge
/// and rebuild hands their changes to fold (see RowsFold).
IvmSql generateJoin(const IvmPlan& plan, const Names& n, const QString& viewSchema, const QString& viewName, int batch,
    const RowsFold* fold = nullptr);
IvmSql generateJoinAggregate(const IvmPlan& plan, const Names& n, const QString& viewSchema, const QString& viewName, int batch);
/// Counted views over outer joins (ivmsqlouter.cpp): the merge's CTEs after the consumed changes
/// (__ivm_d<i>), ending with changed (the view's rows, cols, and their count's change).
QString outerChanges(const IvmPlan& plan, const Names& n, const QStringList& selectAs, const QStringList& cols,
    const QStringList& positions);
IvmSql generateCount(const IvmPlan& plan, const Names& n, const QString& viewSchema, const QString& viewName);

} // namespace htap::mv::gen
