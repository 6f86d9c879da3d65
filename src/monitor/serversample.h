#pragma once

#include "activitysample.h"

#include <QDateTime>
#include <QHash>
#include <QList>
#include <QMap>
#include <QJsonObject>
#include <QMetaType>
#include <QString>
#include <QStringList>

#include <optional>
#include <utility>

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
    /// Over the rolling window (the last windowSeconds of samples, default 10 s): a mean of
    /// many statements where one second may hold two. windowCalls 0: nothing finished in it.
    double windowSeconds = 0;
    qint64 windowCalls = 0;
    double windowMeanExecMs = 0;
};

struct LatencySample {
    bool hasDeltas = false; ///< false for a baseline (first sample, reset, evictions)
    QString baselineReason; ///< why there are no deltas this time
    QList<LatencyFigures> roles;
    QList<LatencyFigures> classes; ///< Oltp, Olap, Other, in that order
};

/// One session picked out of its class: the oldest running statement, the oldest open
/// transaction, the longest lock wait. pid 0: none.
struct SessionRef {
    int pid = 0;
    QString role;
    QString application;
    QString state; ///< active, idle in transaction, ...
    QString wait;  ///< wait_event_type:wait_event, empty when not waiting
    double seconds = 0; ///< the statement's, the transaction's or the wait's age
    bool isSet() const { return pid != 0; }
};

/// What the sessions of one class are doing now, from pg_stat_activity (client backends, the
/// monitor's own left out). pg_stat_statements sees a statement only when it ends: these see
/// a class that is stalled.
struct ClassSessions {
    WorkloadClass workloadClass = WorkloadClass::Other;
    int sessions = 0; ///< connected, any state
    int active = 0;   ///< running a statement
    int idleInTransaction = 0;
    int waitingOnLock = 0;
    SessionRef oldestStatement;   ///< among active sessions
    SessionRef oldestTransaction; ///< among sessions inside a transaction
    SessionRef longestLockWait;   ///< the waiter; seconds since its wait began (pg_locks.waitstart)
    /// Root blockers of this class's waiters (from the lock tree), the one holding most first,
    /// with how many of this class's sessions wait behind each.
    QList<std::pair<int, int>> blockers;
};

struct SessionSample {
    QList<ClassSessions> classes; ///< Oltp, Olap, Other, in that order
    int monitorBackends = 0;      ///< the monitor's own, left out above
};

/// One wait event and how long the sessions of a class spent in it over the window.
struct WaitEventFigure {
    QString type;  ///< wait_event_type; "CPU" for samples without one (running, not waiting)
    QString event; ///< wait_event; empty for "CPU"
    qint64 samples = 0;
    double seconds = 0; ///< samples × pg_wait_sampling.profile_period
};

/// What one class's sessions waited on over the rolling window, from pg_wait_sampling's
/// profile: seconds of waiting summed over the class's sessions, so seconds / windowSeconds
/// is the average number of its sessions waiting (on that event) at any moment.
struct ClassWaits {
    WorkloadClass workloadClass = WorkloadClass::Other;
    QMap<QString, double> secondsByType; ///< wait_event_type (or "CPU") -> seconds
    QList<WaitEventFigure> topEvents;    ///< the most waited events, most first (up to 10)
    double totalSeconds = 0;
};

struct WaitProfileSample {
    bool hasDeltas = false; ///< false for a baseline (first sample, a gap)
    QString baselineReason;
    double windowSeconds = 0;   ///< the span the figures cover (contiguous samples, default 10 s)
    double samplePeriodMs = 0;  ///< pg_wait_sampling.profile_period (read, never set)
    QList<ClassWaits> classes;  ///< Oltp, Olap, Other, in that order
};

/// CPU time of a class's finished top-level statements over the window (pg_stat_kcache:
/// getrusage of the backend around each statement, planning included).
struct ClassCpu {
    WorkloadClass workloadClass = WorkloadClass::Other;
    double userSeconds = 0;
    double systemSeconds = 0;
    double cpuPerSecond = 0; ///< (user + system) / windowSeconds: cores' worth of CPU
};

struct CpuSample {
    bool hasDeltas = false;
    QString baselineReason;
    double windowSeconds = 0;
    QList<ClassCpu> classes; ///< Oltp, Olap, Other, in that order
};

/// One statement (a pg_stat_statements entry: query, role, database) among the most costly of
/// its class over the window.
struct TopStatement {
    WorkloadClass workloadClass = WorkloadClass::Other;
    QString queryId; ///< pg_stat_statements.queryid as text (64-bit: a JSON number would round it)
    QString role;
    QString database;
    qint64 calls = 0;
    double totalExecMs = 0;
    double meanExecMs = 0;
    qint64 rows = 0;
    double shareOfClass = 0; ///< its part of the class's total execution time in the window, 0..1
    QString query; ///< normalized by pg_stat_statements, then masked (htap::pg::maskStatement)
};

struct TopStatementsSample {
    bool hasDeltas = false;
    QString baselineReason;
    double windowSeconds = 0;
    QList<TopStatement> statements; ///< per class the most total time first, up to 10 a class
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
    /// Every root and all who wait behind it, directly or not (a waiter behind two roots is
    /// under both).
    QHash<int, QList<int>> waitersByRoot() const;
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
    QString captureMode; ///< incremental: "sql" or "c" (mv::ViewInfo::captureMode)
    QStringList captureSharedWith; ///< incremental: the other views whose capture runs in the same triggers
    qint64 mergesLastMinute = 0;
    double mergeSecondsPerSecond = 0; ///< merges' wall time per second over the last minute (refresh log)
    double writersShareLost = -1;     ///< that over the server's cores, when it runs on this machine; -1 unknown
    int scheduleSeconds = 0; ///< refreshed every this many seconds by a schedule, 0 when none
    QString scheduleRunner;  ///< app or pg_cron
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

/// A standby's WAL receiver (pg_stat_wal_receiver): where it streams from.
struct WalReceiver {
    QString status;            ///< "streaming", "waiting", ...
    QString senderHost;        ///< the primary as the standby reaches it (a socket folder or a host)
    int senderPort = 0;
    QString slot;
    double sinceMessageSeconds = -1; ///< since the last message from the primary, -1 unknown
    double replayAgeSeconds = -1;    ///< now minus the last replayed commit's time, -1 unknown
    qint64 replayGapBytes = 0;       ///< WAL received and not replayed yet
};

/// A standby's recovery conflicts (pg_stat_database_conflicts, all databases): cumulative
/// counts of the queries that recovery cancelled or whose sessions it ended, by cause.
struct RecoveryConflicts {
    qint64 snapshot = 0;   ///< the query needed row versions that a replayed VACUUM removed
    qint64 lock = 0;       ///< it held a lock that replay needed (e.g. for DROP, TRUNCATE)
    qint64 bufferpin = 0;  ///< it pinned a page that replay needed to clean up
    qint64 deadlock = 0;   ///< a deadlock with the startup process
    qint64 tablespace = 0; ///< its temp files lay in a dropped tablespace
    qint64 total() const { return snapshot + lock + bufferpin + deadlock + tablespace; }
};

/// A statement that recovery cancelled (ERROR) or whose session it ended (FATAL), as the
/// standby's log tells it.
struct CancelledStatement {
    QDateTime at;
    int pid = 0;
    QString role;
    QString database;
    bool terminated = false; ///< its session was ended (it sat in a transaction), not just the statement
    QString detail;          ///< the server's reason ("User query might have needed to see row versions ...")
    QString statement;       ///< masked
};

struct ReplicationSample {
    bool inRecovery = false;
    QList<StandbyLag> standbys;
    QList<SlotState> replicationSlots;
    std::optional<WalReceiver> receiver; ///< on a standby that has one
    /// Now minus htap.heartbeat's ts, -1 unknown (no registry). On a standby: the age of the
    /// data its readers see. On a primary: since the heartbeat was last written (high means
    /// no one writes it, not lag).
    double heartbeatAgeSeconds = -1;
    /// On a primary, why this monitor's heartbeat writer does not write; empty while it does.
    QString heartbeatWriter;
    std::optional<RecoveryConflicts> conflicts; ///< on a standby
    /// On a standby: statements that recovery cancelled, found in its log since the last sample.
    QList<CancelledStatement> cancelled;
    /// Why the cancelled statements cannot be read (no logging_collector, no privilege), else empty.
    QString cancelledUnavailable;
};

struct Incident {
    enum class Kind {
        TargetMissed,  ///< a class's oldest statement, transaction or lock wait past its target
        Blocking,      ///< a session blocked others longer than the blocking threshold
        NotResponding, ///< the server did not answer the monitor
        ViewLate,      ///< a view past its freshness target
    };
    Kind kind = Kind::TargetMissed;
    QString subject; ///< the class ("oltp"), the blocker's pid, the view, or the server
    QString title;   ///< one line in the DBA's words
    QDateTime start;
    QDateTime end;   ///< invalid while it lasts
    double worst = 0; ///< seconds: the longest wait, the oldest age, the lateness, the outage
    double target = 0; ///< seconds; 0 when the kind has none
    QString detail;  ///< the worst moment, and how it ended
    int pid = 0;     ///< the culprit session, when there is one
    QString role;
    QString application;
    QString view;
    int waiting = 0; ///< Blocking: the most sessions waiting behind it at once

    bool isOpen() const { return !end.isValid(); }
    /// Kind and subject and start: the same incident across updates.
    QString key() const;
    QJsonObject toJson() const;
    static Incident fromJson(const QJsonObject& o);
};
QString toString(Incident::Kind kind);

/// A class's state at the last sample: the worst of its oldest running statement, oldest open
/// transaction and longest lock wait, against its target.
struct ClassHealth {
    WorkloadClass workloadClass = WorkloadClass::Other;
    double target = -1;    ///< seconds, -1: none
    double worst = 0;      ///< seconds
    QString measure;       ///< what worst is: "oldest running statement", ...
    bool missed = false;   ///< a TargetMissed incident is open for it
    QString reason;        ///< "7 order sessions waiting 3.0 min behind pid 14438", or how it is
    int pid = 0;           ///< the culprit, 0: none
};

/// The views against their freshness targets, as of the last look at them.
struct ViewsHealth {
    int views = 0;          ///< materialized and incremental views seen
    int withTarget = 0;     ///< those with a freshness target (their own, a schedule, incremental)
    int late = 0;           ///< past it now
    QString worstView;      ///< the latest against its target; without targets, the oldest
    double worstAge = -1;   ///< its staleness in seconds, -1 unknown
    double worstTarget = -1; ///< its target, -1 none
    QString targetFrom;     ///< where the target comes from ("its schedule", ...)
};

/// Everything one tick of the collector learnt about a server. Sections a probe did not run
/// this tick (slower cadence) are empty; probes that cannot run say why in `unavailable`.
struct ServerSample {
    QDateTime sampledAt;
    /// The previous sample is further back than the cadence allows (a stall, a reconnect):
    /// charts break their lines here, and rates and deltas start a new baseline.
    bool gapBefore = false;
    ActivitySample activity;
    SessionSample sessions;
    std::optional<LatencySample> latency;
    std::optional<LockSample> locks;
    std::optional<VacuumSample> vacuum;
    std::optional<ViewSample> views;
    std::optional<ReplicationSample> replication;
    std::optional<WaitProfileSample> waits;            ///< pg_wait_sampling, when present
    std::optional<CpuSample> cpu;                      ///< pg_stat_kcache, when present
    std::optional<TopStatementsSample> topStatements; ///< slow cadence
    QMap<QString, QString> unavailable; ///< probe name -> reason, e.g. no pg_stat_statements
    /// Set by an IncidentDetector after the collector (the GUI's server, htapctl monitor): each
    /// class's health and the incidents open at this sample.
    QList<ClassHealth> health;
    std::optional<ViewsHealth> viewsHealth;
    QList<Incident> incidents;
};

} // namespace htap::monitor

Q_DECLARE_METATYPE(htap::monitor::ServerSample)
