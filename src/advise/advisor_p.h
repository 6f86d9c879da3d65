// Shared by the advisor's check files: what every check reads once, and small helpers.
#pragma once

#include "advisor.h"

#include <pg/connection.h>
#include <pg/result.h>

#include <QHash>

namespace htap::advise::detail {

/// What runAdvisor reads once and every check uses.
struct Context {
    Context(htap::pg::Connection& c, const AdvisorOptions& o)
        : conn(c)
        , options(o)
    {
    }
    htap::pg::Connection& conn;
    const AdvisorOptions& options;
    QHash<QString, QString> sql;  ///< sql/advise/checks.sql by name
    QVariant schemas;             ///< $1 of the checks: a text[] literal, or NULL
    QString user;
    bool superuser = false;
    bool createRole = false;
    bool readAllStats = false;
    double statsHours = 0;
    QString statsSince;
    bool pgss = false;
    QString hypopg;               ///< installed version, empty: not installed
    bool hypopgAvailable = false;
    bool canCreateExtension = false;
    qint64 minParallelBytes = 8 << 20;
    int workersPerGather = 2;
    int maxParallelWorkers = 8;
    double avThreshold = 50, avScale = 0.2, avInsertThreshold = 1000, avInsertScale = 0.2;
    bool autovacuum = true;
    AdviceReport* report = nullptr;

    htap::pg::Result exec(const QString& name, const QVariantList& params = {});
    void note(const QString& text) { report->notes << text; }
};

QString qualified(const QString& schema, const QString& name); ///< quoted, for SQL
QString label(const QString& schema, const QString& name);     ///< schema.name as a person reads it
/// A name of at most 63 bytes made of parts (PostgreSQL truncates longer ones).
QString objectName(const QString& base, const QString& suffix);
Evidence ev(const QString& name, double value, const QString& text);
/// CREATE INDEX ... as pg_get_indexdef gives it, made CONCURRENTLY.
QString concurrently(const QString& indexdef);
/// Statements that read a table's time column over 1 day and 30 days back from its newest row.
QStringList rangeStatements(Context& c, const QString& schema, const QString& table, const QString& column);
/// Finding::guard for a table.
QString tableGuard(Context& c, const QString& schema, const QString& table);

void checkBrin(Context& c);
void checkIndexes(Context& c); ///< unused, duplicate and redundant
void checkAutovacuum(Context& c);
void checkParallel(Context& c);
void checkMatviews(Context& c);
void checkPartitions(Context& c);
/// The partition finding's move: its SQL preview, costs, method (pg_partman or declarative) and
/// what stands in the way (partitionplan.cpp).
void describeMove(Context& c, const QString& schema, const QString& table, const QString& column, bool canChange, qint64 bytes,
    int months, Finding* f);
/// Moves swapped but not finished: a finding that drops the old table when the DBA is satisfied.
void checkUnfinishedMoves(Context& c);
void checkMissingIndexes(Context& c);

} // namespace htap::advise::detail
