#pragma once

#include "viewquery.h"

#include <QString>
#include <QStringList>

namespace htap::mv {

/// The advisory-lock class every merge and rebuild takes with the view's id ("HTAP").
constexpr int kIvmLockClass = 0x48544150;

/// One base table's capture as the registry keeps it (htap.ivm_capture), so that the DDL event
/// trigger can install its functions again under the columns' current names.
struct CaptureSpec {
    int tableIndex = 0;
    quint32 root = 0; ///< the table's oid
    QList<int> attnums; ///< the captured columns
    QStringList names; ///< their names when the engine was enabled (what the capture calls them)
    QStringList functions; ///< CREATE OR REPLACE FUNCTION statements with gen::kColumnsMarker in them (before generation 6)
    /// "EVENT|statement" with gen::kColumnsMarker: what the table's shared capture function runs
    /// for this view (generation 6 on; htap.ivm_capture_sync)
    QStringList statements;
    /// Its capture triggers as "name|event|referencing|function": what a member that comes
    /// later gets (CREATE TABLE ... PARTITION OF, ATTACH PARTITION, INHERIT).
    QStringList triggers;
    /// A table that may get inheritance children later: its UPDATE capture (in statements) and
    /// the one that replaces it then, which does not rely on the primary key being unique.
    QString updateFiltered, updateUnfiltered;
    QList<quint32> reliesOn; ///< constraints the plan relies on (PlanTable::reliesOn)
};

/// A capture function's statement as it runs in its trigger (over __ivm_new and __ivm_old), for
/// --check to run against sample rows.
struct CaptureStatement {
    int tableIndex = 0;
    QString event; ///< INSERT, UPDATE or DELETE
    QString sql;
};

/// The SQL that maintains one view incrementally, generated from its plan. Every object lives in
/// schema htap_ivm and is named after the view's registry id, so user names never reach them
/// except through quoteIdentifier().
struct IvmSql {
    /// Creates the state, delta and distinct-count tables, the capture and merge functions, the
    /// rebuild procedure and the capture triggers (enabled ALWAYS). Run in one transaction.
    QStringList install;
    /// The engine's own indexes on state and distinct counts: created after the first build
    /// (bulk loading an unindexed table is several times faster). Merges need them.
    QStringList indexes;
    /// For each of indexes: its one column when another index on that column would do as well
    /// (the view's own), else empty.
    QStringList indexColumns;
    /// Creates the user-facing view over the state (replacing the materialized view).
    QString createView;
    /// Removes everything install created (the user-facing view excepted). Idempotent.
    QStringList uninstall;
    /// The tables that hold changes not yet merged (for pending counts).
    QStringList captureTables;
    /// The capture triggers as (table oid, trigger name as stored in pg_trigger).
    QList<QPair<QString, QString>> triggers;
    QList<CaptureSpec> captures;
    QList<CaptureStatement> captureStatements;
    QString definitionView; ///< htap_ivm.v<N>_def: the definition as a view, current across renames
    QString stateTable; ///< htap_ivm.v<N>_state
    QString currentView; ///< htap_ivm.v<N>_current: what the user-facing view reads (a rebuild swaps the table under it)
    QString mergeFunction; ///< htap_ivm.v<N>_merge, returns rows consumed or -1 when another merge runs
    QString rebuildProcedure; ///< htap_ivm.v<N>_rebuild, CALLed outside a transaction block
    QString rebuildTransaction; ///< htap_ivm.v<N>_rebuild_tx, the rebuild's one transaction (REPEATABLE READ)
};

/// The generation of the SQL generateIvmSql() writes, stored with each engine it builds. Raise
/// it with every change that installed engines should get (a fix, a faster form): views built
/// by an older generation are listed as outdated until disabled and enabled again.
///   1: the first stamped generation (UPDATE capture by record_image_eq, bitmap counts)
///   2: capture that follows renames (columns by attribute number), merges and rebuilds over
///      views of the base tables, triggers found by table oid
///   3: join views follow a changed key of a non-fact table to its fact rows through the base
///      tables' indexes where they have them, and keep no state index on that key (merges write
///      a third less WAL at scale 50)
///   4: cost-aware merges: with a large part of the base pending a merge rebuilds instead
///      (htap.ivm_rebuild_instead), its rebuild's reads of the base and deletes of the pending
///      changes in one statement (exact at READ COMMITTED, where merges run)
///   5: count(DISTINCT col) of a column with few rows per value (order_id of order items) stores
///      nothing: merges count a changed pair's rows in the base table through its index (the
///      daily view's pairs were as many as the items and half of its merge)
///   6: one capture trigger per base table and event for all the views that read it (a
///      function regenerated from the registry, htap.ivm_capture_sync), capture switched off
///      and on per view (htap.ivm_set_capture): 4 trigger calls per seed order instead of 7
constexpr int kIvmEngineVersion = 6;

/// count(DISTINCT x) of an indexed integer column is kept as bitmaps of 2^kDistinctBlockShift
/// values when the pairs are dense enough: at least kBitmapMinDensity of them per (group, block)
/// on average. Sparser pairs stay a row each (a block row costs about two pair rows).
constexpr int kDistinctBlockShift = 10;
constexpr double kBitmapMinDensity = 4.0;
/// count(DISTINCT x) of a column whose values have at most this many rows (counted through its
/// index on a sample) stores nothing: each merge counts a changed pair's rows through x's index.
constexpr double kDistinctLookupMaxRows = 16.0;

/// A query returning the average number of pairs per (group, block) for output j, measured
/// exactly on the 8 blocks with the highest values of x (the newest, for serial keys), read
/// through x's index: a handful of blocks with every group that has values in them keeps the
/// density a full count would see, at a fraction of its cost. NULL when those blocks hold nothing.
QString distinctDensityQuery(const IvmPlan& plan, int j);

/// Why generateIvmSql() cannot write plan's engine, or empty: a capture function lists its
/// columns where its text holds "@ivm_cols@" (rendered again after a rename, sql/htap/ivm.sql),
/// so neither the definition nor a captured column's name (the primary key's too) may hold it.
QString textTheEngineCannotHold(const IvmPlan& plan);

/// Generates the engine for view id (the htap.ivm_views key). The view is schema.name; the
/// plan's outputs carry their types. dimensionBatch caps the keys of each non-fact table one
/// merge consumes, so that a burst of dimension updates cannot stall it.
IvmSql generateIvmSql(const IvmPlan& plan, int id, const QString& viewSchema, const QString& viewName,
    int dimensionBatch = 10000);

} // namespace htap::mv
