#pragma once

#include "activitysample.h"

#include <QDateTime>
#include <QHash>
#include <QList>
#include <QMap>
#include <QMetaType>
#include <QString>

#include <optional>

namespace htap::monitor {

/// Which side of the HTAP split a statement or session belongs to.
enum class WorkloadClass { Oltp, Olap, Other };
QString toString(WorkloadClass c);

/// Server-side latency of one role (or one class) over one sample interval, from
/// pg_stat_statements deltas. Statements count when they finish; inFlight* covers the rest.
struct LatencyFigures {
    QString name; ///< role name, or "oltp"/"olap"/"other" for a class
    WorkloadClass workloadClass = WorkloadClass::Other;
    double callsPerSecond = 0;
    qint64 calls = 0;
    double meanExecMs = 0; ///< total execution time / calls over the interval
    double meanPlanMs = 0;
    double rowsPerSecond = 0;
    qint64 tempBlocksWritten = 0;
    int activeNow = 0;           ///< running statements at sample time (pg_stat_activity)
    double oldestActiveSeconds = 0; ///< age of the longest-running statement at sample time
};

struct LatencySample {
    bool hasDeltas = false; ///< false for a baseline (first sample, reset, evictions)
    QString baselineReason; ///< why there are no deltas this time
    QList<LatencyFigures> roles;
    QList<LatencyFigures> classes; ///< Oltp, Olap, Other, in that order
};

struct PreparedXact {
    QString gid;
    QString owner;
    QString database;
    double ageSeconds = 0;
};

/// One session in the blocking graph. pid 0 stands for prepared transactions.
struct LockNode {
    int pid = 0;
    QString role;
    QString application;
    QString database;
    QString state;
    QString wait; ///< wait_event_type:wait_event
    QString lockType; ///< of the lock it waits for, empty for a root
    QString lockMode;
    QString lockTarget; ///< relation, transaction id or virtual xid
    double waitSeconds = 0;
    double transactionSeconds = 0;
    QString query;
    QList<int> blockedBy; ///< pg_blocking_pids(): hard and soft (queued ahead) blockers
    QList<PreparedXact> preparedTransactions; ///< for pid 0
};

struct LockSample {
    QList<LockNode> nodes; ///< every waiter and every blocker, once
    QList<int> roots;      ///< blockers that do not wait themselves (0 = prepared transaction)
    QMap<QString, int> waitingByLockType;
    int waitingSessions = 0;
    const LockNode* node(int pid) const;
    /// Waiters directly blocked by pid.
    QList<int> waitersOf(int pid) const;
    /// Every blocker's direct waiters at once (one pass over the edges).
    QHash<int, QList<int>> waitersByBlocker() const;
    /// Everyone blocked by pid, directly or not.
    int totalWaitersUnder(int pid) const;
};

struct TableVacuum {
    QString table; ///< schema.name
    qint64 liveTuples = 0;
    qint64 deadTuples = 0;
    qint64 deadTrigger = 0;        ///< threshold + scale factor * reltuples (reloptions honoured)
    double pctOfTrigger = 0;       ///< dead tuples as % of the autovacuum trigger
    qint64 insertsSinceVacuum = 0;
    qint64 xidAge = 0;
    double pctOfFreezeMaxAge = 0;
    QDateTime lastVacuum;          ///< manual or auto, whichever is later
    QDateTime lastAnalyze;
    bool autovacuumEnabled = true;
};

/// Something that holds the xmin horizon back, so VACUUM cannot remove dead rows.
struct XminHolder {
    QString kind; ///< backend, prepared_xact, slot_xmin, slot_catalog_xmin, standby_feedback
    QString holder; ///< pid, gid, slot or standby name
    QString database;
    QString role;
    QString application;
    QString state;
    qint64 xidAge = 0;
    double heldSeconds = 0;
    QString detail;
    int pid = 0;
};

struct VacuumProgress {
    int pid = 0;
    QString table;
    QString phase;
    bool autovacuum = false;
    double pctScanned = 0;
    double runningSeconds = 0;
};

struct DatabaseAge {
    QString database;
    qint64 xidAge = 0;
    double pctToWraparound = 0;
    double pctToForcedAutovacuum = 0;
};

struct VacuumSample {
    QList<TableVacuum> tables; ///< most urgent first
    QList<XminHolder> holders; ///< oldest first
    QList<VacuumProgress> running;
    QList<DatabaseAge> databases;
    qint64 horizonAge = 0; ///< xid age of the oldest holder, 0 when none
};

struct ViewState {
    QString view; ///< schema.name
    bool populated = false;
    bool concurrentCapable = false; ///< populated and has a plain unique index
    qint64 totalBytes = 0;
    QString baseTables;
    int refreshingPid = 0;
    bool registryKnown = false; ///< the htap registry has a successful refresh for it
    QDateTime lastRefreshStart;
    QDateTime lastRefreshEnd;
    QString lastMode;
    double lastDurationSeconds = 0;
    double stalenessSeconds = -1; ///< now - last successful refresh start (incremental: oldest unmerged change); -1 unknown
    QString concurrentBlocker; ///< why CONCURRENTLY cannot run, empty when it can
    bool incremental = false; ///< maintained by the app's incremental engine
    QString ivmState; ///< building, ready, needs_rebuild
    QString ivmReason; ///< why it needs a rebuild
    qint64 pendingRows = 0; ///< changes captured, not merged yet
    double oldestPendingSeconds = 0;
    double lastMergeMs = 0;
    bool engineOutdated = false; ///< its engine was generated by an older build (docs/ivm.md, Engine generations)
};

struct ViewSample {
    bool registryInstalled = false;
    QList<ViewState> views;
};

struct StandbyLag {
    QString name;
    QString state;
    double writeLagSeconds = 0;
    double flushLagSeconds = 0;
    double replayLagSeconds = 0;
    qint64 replayLagBytes = 0;
};

struct SlotState {
    QString name;
    QString type;
    bool active = false;
    qint64 retainedWalBytes = 0;
};

struct ReplicationSample {
    bool inRecovery = false;
    QList<StandbyLag> standbys;
    QList<SlotState> replicationSlots;
};

/// Everything one tick of the collector learnt about a server. Sections a probe did not run
/// this tick (slower cadence) are empty; probes that cannot run say why in `unavailable`.
struct ServerSample {
    QDateTime sampledAt;
    ActivitySample activity;
    std::optional<LatencySample> latency;
    std::optional<LockSample> locks;
    std::optional<VacuumSample> vacuum;
    std::optional<ViewSample> views;
    std::optional<ReplicationSample> replication;
    QMap<QString, QString> unavailable; ///< probe name -> reason, e.g. no pg_stat_statements
};

} // namespace htap::monitor

Q_DECLARE_METATYPE(htap::monitor::ServerSample)
