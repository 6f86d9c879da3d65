// A run across the topology (issue 24, item 5): the standby that standby and router workloads
// read from, the router's decision for each of their statements, the lanes the runner drives,
// and once a second the standby's replay lag, data age and recovery conflicts. Internal to
// htap_workload: the runner's coordinator thread owns it.
#pragma once

#include "runner.h"

#include <pg/connection.h>

#include <chrono>
#include <memory>
#include <vector>

namespace htap::monitor {
class HeartbeatWriter;
}

namespace htap::workload {

/// What the runner drives as one workload: a workload whole, or (target router) its statements
/// that went to one target, with its share of the workload's demand and connections.
struct Lane {
    int workload = 0;  ///< index in the scenario
    int ordinal = 0;   ///< among the lanes of its workload
    QString target;    ///< primary, standby or view
    Workload w;        ///< the lane's statements (router: those routed here, rewritten over a view)
    htap::pg::ConnInfo info; ///< where it connects, as the workload's role
    /// The run's scenario with this lane's share of the demand (the run's own when it is whole).
    std::shared_ptr<const Scenario> scenario;
};

/// A phase's replica figures from the run's seconds: lag and data age quantiles, and the
/// conflicts the standby counted from the end of the phase before (previousPhase; empty for
/// the first) to the end of this one.
ReplicaStats replicaStats(const QList<SecondStats>& seconds, const QString& previousPhase, const QString& phase);

class RunTopology
{
public:
    RunTopology();
    ~RunTopology();
    RunTopology(const RunTopology&) = delete;
    RunTopology& operator=(const RunTopology&) = delete;

    /// Some workload targets a standby or the router.
    static bool needed(const Scenario& s);

    /// Reads the primary's topology over admin, chooses the standby (standby when given, else
    /// the streaming sandbox standby with the least lag), connects to it, routes the router
    /// workloads' statements, and starts the heartbeat on the primary. Empty when the run can
    /// start, else why not (with how to add a standby when one is needed and missing).
    QString prepare(htap::pg::Connection& admin, const htap::pg::ConnInfo& primary, const htap::pg::ConnInfo& standby,
        const std::shared_ptr<const Scenario>& scenario);

    /// The lanes of the run: every workload whole on its target, router workloads split by
    /// their statements' targets. Without prepare() (no workload needs it), one lane each on
    /// the primary.
    std::vector<std::unique_ptr<Lane>> lanes(const std::shared_ptr<const Scenario>& scenario, const htap::pg::ConnInfo& primary) const;

    /// This second's figures (sampled false when no standby is watched). Blocks for at most
    /// about a second against a standby that went away.
    ReplicaSample sample(htap::pg::Connection& admin);
    /// Stops the heartbeat.
    void finish();

    bool watchesStandby() const { return !m_standbyName.isEmpty(); }
    QString standbyName() const { return m_standbyName; }
    QString standbyServer() const { return m_standbyServer; }
    QList<StatementRoute> routes() const { return m_routes; }

private:
    bool openStandby(int timeoutMs);

    QString m_standbyName;
    QString m_standbyServer;
    htap::pg::ConnInfo m_standbyInfo;
    htap::pg::Connection m_standby; ///< the sampling connection
    std::chrono::steady_clock::time_point m_lastAttempt {};
    QString m_openError; ///< the last attempt's
    qint64 m_conflictsAtStart = -1;
    QList<StatementRoute> m_routes;
    std::unique_ptr<htap::monitor::HeartbeatWriter> m_heartbeat;
};

} // namespace htap::workload
