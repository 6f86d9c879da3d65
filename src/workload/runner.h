#pragma once

#include "scenario.h"

#include <metrics/latencyhistogram.h>
#include <pg/conninfo.h>

#include <QDateTime>
#include <QObject>

#include <memory>

namespace htap::workload {

/// Latency figures in milliseconds.
struct Percentiles {
    double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
    static Percentiles of(const htap::metrics::LatencyHistogram& h);
};

/// A workload's requests on one target over an interval: "primary", "standby", or "view" (the
/// primary reading the router's rewrite over a view). Kept for workloads that target a standby
/// or the router.
struct TargetStats {
    qint64 committed = 0;
    qint64 failed = 0;
    qint64 conflicts = 0; ///< of failed, cancelled by a recovery conflict
    Percentiles latency;
};

/// One workload over one interval (a second, a phase, the run).
struct WorkloadStats {
    qint64 committed = 0;  ///< includes report/sql requests that succeeded
    qint64 rolledBack = 0; ///< business rollbacks: short stock
    qint64 failed = 0;
    QMap<QString, qint64> failedBySqlstate;
    qint64 retries = 0;         ///< tries again after a serialization failure (40001) or a deadlock (40P01)
    qint64 deadlockRetries = 0; ///< of retries, those after a deadlock
    qint64 late = 0;    ///< started more than 1 ms after its intended time (open loop)
    qint64 skipped = 0; ///< not run: later than skipIfLaterThanMs
    double maxLagMs = 0;
    int inFlight = 0;
    double seconds = 0;    ///< length of the interval
    double targetRate = 0; ///< requests/s asked for (open loop), averaged over the interval
    Percentiles latency;   ///< from the intended start: what a user waiting for it sees
    Percentiles service;   ///< from the actual start: the server's part
    /// Of failed: queries a standby's recovery cancelled ("conflict with recovery"), never
    /// tried again.
    qint64 conflicts = 0;
    QMap<QString, TargetStats> targets; ///< by target, when the workload targets a standby or the router
    double tps() const { return seconds > 0 ? double(committed + rolledBack) / seconds : 0; }
};

/// The standby a run reads from, sampled once a second: its replay lag (the primary's
/// pg_stat_replication), the age of the data its readers see (now - the last heartbeat it
/// replayed) and the recovery conflicts its pg_stat_database_conflicts counted since the start.
struct ReplicaSample {
    bool sampled = false;       ///< the run watches a standby
    bool reachable = false;     ///< the standby answered this second
    double replayLagSeconds = -1; ///< -1 unknown
    qint64 replayGapBytes = -1;
    double dataAgeSeconds = -1;
    qint64 conflicts = -1;      ///< since the start of the run, all causes; -1 unknown
};

/// The same over a phase, from its seconds.
struct ReplicaStats {
    int samples = 0;
    double lagP50 = -1, lagP99 = -1, lagMax = -1;
    double dataAgeP50 = -1, dataAgeP99 = -1, dataAgeMax = -1;
    qint64 conflicts = 0; ///< counted by the standby during the phase
};

/// Where the runner sent one statement of a workload that targets a standby or the router:
/// decided once, before the clock starts.
struct StatementRoute {
    QString workload;
    QString statement; ///< the report's name, or "sql"
    QString target;    ///< primary, standby or view
    QString server;    ///< the primary's name or the standby's
    QString view;      ///< target view: schema.name
    QString reason;
    QString rewrittenSql;
    double budgetSeconds = -1;
};

struct SecondStats {
    int second = 0; ///< since the start of the run
    QDateTime at;
    QString phase;
    QMap<QString, WorkloadStats> workloads;
    /// Staleness in seconds of each view a refresh workload keeps fresh (schema.name), sampled
    /// at the end of the second; -1 when unknown.
    QMap<QString, double> staleness;
    ReplicaSample replica;
};

/// A view's staleness over a phase, from the per-second samples, in seconds.
struct StalenessStats {
    int samples = 0;
    double p50 = 0, p99 = 0, max = 0;
};

struct PhaseResult {
    QString name;
    bool warmup = false;
    QMap<QString, WorkloadStats> workloads;
    QMap<QString, StalenessStats> staleness;
    ReplicaStats replica; ///< when the run watched a standby (ScenarioResult::standby)
};

struct ScenarioResult {
    Scenario scenario;
    QString server;        ///< user@host:port/db, no password
    QString serverVersion;
    QDateTime startedAt;
    QDateTime finishedAt;
    bool partial = false;
    QString stopReason;    ///< why it ended early
    QList<SecondStats> seconds;
    QList<PhaseResult> phases;
    QMap<QString, WorkloadStats> summary; ///< every non-warmup phase together
    qint64 clientCommitted = -1;   ///< transactions our clients committed (orders, reports, sql)
    qint64 serverCommitDelta = -1; ///< pg_stat_database.xact_commit of the database over the run
    qint64 serverDeadlockDelta = -1; ///< pg_stat_database.deadlocks of the database over the run
    double interferenceP99 = -1;   ///< OLTP p99 in mixed phases / in OLTP-only phases; -1: not measured
    double oltpAchievedOverTarget = -1;
    QString standby;               ///< the standby the run read from (its name); empty: none
    QString standbyServer;         ///< how it was reached, user@host:port/db
    QList<StatementRoute> routes;  ///< statements of standby and router workloads, and where they ran

    QJsonObject toJson() const;
    /// One long table: second, phase, workload, then the figures (docs/scenario-result.md).
    QByteArray toCsv() const;
};

class RunCoordinator;

/// Runs a scenario: a few client threads per workload, each driving several connections
/// without blocking (held snapshots and refreshes: a thread per connection); a coordinator
/// thread merges their histograms once a second. Lives in the caller's thread; everything comes
/// back as queued signals carrying values.
class ScenarioRunner : public QObject
{
    Q_OBJECT
public:
    explicit ScenarioRunner(QObject* parent = nullptr);
    ~ScenarioRunner() override;

    void start(const Scenario& scenario, const htap::pg::ConnInfo& info);
    /// The standby for workloads that target one (or the router), used by the next start();
    /// unset: the primary's streaming sandbox standby with the least lag.
    void setStandby(const htap::pg::ConnInfo& standby) { m_standby = standby; }
    /// Stops early: cancels what is in flight; the result is marked partial.
    void stop(const QString& reason = QStringLiteral("stopped by the operator"));
    bool isRunning() const;

Q_SIGNALS:
    void started(const QString& server);
    void secondAvailable(const htap::workload::SecondStats& second);
    void finished(const htap::workload::ScenarioResult& result);
    /// Could not start (a role that does not exist, a statement that does not prepare, ...).
    void failedToStart(const QString& message);

private:
    std::shared_ptr<RunCoordinator> m_run;
    htap::pg::ConnInfo m_standby;
};

} // namespace htap::workload

Q_DECLARE_METATYPE(htap::workload::SecondStats)
Q_DECLARE_METATYPE(htap::workload::ScenarioResult)
