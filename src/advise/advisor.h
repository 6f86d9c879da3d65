#pragma once

#include "finding.h"

namespace htap::pg {
class Connection;
}

namespace htap::advise {

/// Thresholds of the checks. The defaults suit a production server; the tests lower the sizes
/// so that a table of a few thousand rows counts.
struct AdvisorOptions {
    QStringList checks;                   ///< empty: every check
    QStringList schemas;                  ///< empty: every schema but the system ones and htap
    qint64 minTableBytes = 8 << 20;       ///< BRIN, missing-index and parallel candidates (min_parallel_table_scan_size's default)
    qint64 minIndexBytes = 1 << 20;       ///< unused indexes smaller than this are not worth a finding
    qint64 minPartitionBytes = qint64(1) << 30; ///< tables worth monthly partitions
    double minCorrelation = 0.95;         ///< |pg_stats.correlation| of a time-ordered column
    double minTuplesPerScan = 20;         ///< a B-tree read this many rows a scan on average: range scans
    double minStatsHours = 1;             ///< unused indexes only when the counters cover this long
    double autovacuumTargetMinutes = 60;  ///< a hot table should be vacuumed at least this often
    double minChurnPerHour = 1000;        ///< rows updated or deleted an hour that make a table hot
    QStringList olapRoles {QStringLiteral("olap_user")};
    QStringList statements;               ///< statements to try hypothetical indexes on (empty: the top ones)
    int topStatements = 20;               ///< from pg_stat_statements, by total time
    double minCostGain = 2;               ///< a hypothetical index must cut a statement's cost by this factor
};

/// The names of the checks, in the order they run.
QStringList allChecks();

/// Runs the checks on conn (the connection's thread) and returns what they found. A check that
/// cannot run (no privilege, an extension missing) adds a note, or a finding that says how to
/// install what is missing; an error only when the server cannot be read at all.
AdviceReport runAdvisor(htap::pg::Connection& conn, const AdvisorOptions& options, QString* error);

/// What the guarded object looks like now (see Finding::guard): compare with a finding's guard.
QString guardState(htap::pg::Connection& conn, const QString& kind, const QString& object, QString* error);

} // namespace htap::advise
