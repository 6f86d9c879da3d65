#pragma once

#include "classifier.h"
#include "serversample.h"

#include <pg/connection.h>

#include <QHash>
#include <QSet>

#include <atomic>
#include <memory>
#include <vector>

namespace htap::monitor {

/// One thing the collector samples. A probe runs on the collector thread with the collector's
/// connection, fills its section of the sample, and keeps whatever baseline it needs for deltas.
class Probe
{
public:
    virtual ~Probe() = default;
    virtual QString name() const = 0;
    /// Costly probes (per-table statistics, sizes) run on the slow cadence.
    virtual bool slow() const { return false; }
    /// A probe of an optional extension: when it cannot run, its reason goes in the sample
    /// (and the page shows it where its chart would be), not to the error banner.
    virtual bool optional() const { return false; }
    /// Fills its part of sample. Returns false with *unavailable set when it cannot run on this
    /// server (missing extension, privilege); connection loss is seen by the caller.
    virtual bool collect(htap::pg::Connection& conn, ServerSample& sample, QString* unavailable) = 0;
    /// Forget baselines (reconnect: the server may have restarted).
    virtual void reset() {}
    /// Samples further apart than this (seconds, server clock) do not make a rate or a delta:
    /// the next one starts a new baseline instead of pouring a stall into one interval. For a
    /// slow probe, its own samples (every slow tick) are meant.
    double maxGapSeconds = 3;
    /// The rolling window of statement figures (pg_stat_statements deltas), in seconds.
    double windowSeconds = 10;
};

/// The probes every collector runs, in order; activity first (it stamps the sample's time).
/// fieldExtensions false leaves out the probes of pg_wait_sampling and pg_stat_kcache (htapctl
/// bench monitor measures the collector with and without them). otherOwnCommits: commits of the
/// monitor's other connections to the server (the heartbeat), left out of the load like its own.
std::vector<std::unique_ptr<Probe>> makeProbes(const WorkloadClassifier& classifier, bool fieldExtensions = true,
    std::shared_ptr<const std::atomic<qint64>> otherOwnCommits = {});
std::unique_ptr<Probe> makeSessionProbe(const WorkloadClassifier& classifier);
/// The queryids of the monitor's own statements (its role's pg_stat_statements entries whose
/// text carries kMonitorStatementTag), as the top statements probe learns them; the CPU probe
/// leaves them out too. Shared by the probes of one collector, on its thread.
using OwnStatements = std::shared_ptr<QSet<QString>>;

/// The field extensions' probes (docs/monitor-sample.md): pg_wait_sampling's wait-event
/// profile and pg_stat_kcache's CPU time per class; each says what is missing when absent.
std::unique_ptr<Probe> makeWaitProfileProbe(const WorkloadClassifier& classifier);
std::unique_ptr<Probe> makeCpuProbe(const WorkloadClassifier& classifier, OwnStatements own);
/// Each class's most costly statements over the window (pg_stat_statements, slow cadence).
std::unique_ptr<Probe> makeTopStatementsProbe(const WorkloadClassifier& classifier, OwnStatements own);

/// The heartbeat's age (primary and standby) and, on a standby, recovery conflicts by cause and
/// the statements they cancelled, from the standby's log. Runs after the replication probe.
std::unique_ptr<Probe> makeRecoveryProbe();
/// The conflicts in a stretch of a server log (stderr format, any log_line_prefix): whole lines.
QList<CancelledStatement> parseConflictLog(const QString& log);

/// After every probe ran: each class's sessions waiting on a lock, the longest wait, and the
/// root blockers they wait behind, from the lock tree.
void addLockWaitsToClasses(ServerSample& sample, const WorkloadClassifier& classifier);


/// Whether an interval of deltas (ending at `end`, `dt` long) belongs to the rolling window that
/// ends at `now`: when most of it lies inside. A probe on the slow cadence has intervals about as
/// long as the window, and "any part inside" would make its window twice as long now and then.
inline bool insideWindow(double end, double dt, double now, double windowSeconds)
{
    return end - dt / 2 > now - windowSeconds;
}

/// Put before every statement the collector sends (Connection::setStatementTag), as pganalyze
/// marks its collector's: pg_stat_statements keeps it with the text, so the top statements leave
/// the monitor's own out, and a DBA reading pg_stat_statements sees whose they are.
inline constexpr char kMonitorStatementTag[] = "/* htap-studio monitor */";

/// The SQL for a probe: sql/monitor/<name>.pg<major>.sql for the newest major at or below the
/// server's, else sql/monitor/<name>.sql.
QString monitorSql(const QString& name, int serverVersionNum);

} // namespace htap::monitor
