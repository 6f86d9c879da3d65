#pragma once

#include <pg/connection.h>

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QString>

#include <algorithm>
#include <atomic>

namespace htap::mv {

enum class RefreshMode { Plain, Concurrent, Incremental, Rebuild };
QString modeName(RefreshMode mode);
/// "plain", "concurrent", "incremental" (merge) or "rebuild"; false for anything else.
bool parseMode(const QString& text, RefreshMode* mode);

/// One materialized view, or one view the engine maintains in its place.
struct ViewInfo {
    QString schema;
    QString name;
    QString label() const { return schema + u'.' + name; }
    bool incremental = false;
    bool populated = false;
    /// Why REFRESH ... CONCURRENTLY cannot run; empty when it can.
    QString concurrentBlocker;
    qint64 totalBytes = 0; ///< with indexes; for an incremental view, all the engine's tables (state, changes, distinct counts)
    QString definition;
    QString baseTables; ///< the tables it reads, comma-separated
    // Incremental views
    QString ivmState; ///< building, ready, needs_rebuild
    QString ivmReason;
    qint64 pendingRows = 0;
    double oldestPendingSeconds = 0; ///< age of the oldest unmerged change, 0 when none
    double lastMergeMs = 0;
    /// The generation of the engine's SQL it runs (kIvmEngineVersion when enabled; 0 before stamps).
    int engineVersion = 0;
    /// How changes are captured, in the writer's transaction (htap.ivm_views.capture_mode): "sql",
    /// the base tables' shared PL/pgSQL statement triggers; "c", the row triggers of the
    /// htap_capture server extension, which cost the writers less (MvService::setCaptureMode).
    QString captureMode;
    /// captureMode as the Views page and mv list say it.
    QString captureModeText() const;
    /// The other views whose capture runs in the same triggers (engines of generation 6 on: one
    /// trigger per base table and event for every view that reads it), as schema.name: their
    /// capture costs one trigger call per statement together, and their triggers stay when
    /// this view is disabled.
    QStringList captureSharedWith;
    /// Merges over the last minute that applied something, and their wall time per second of
    /// that minute: an upper bound of their CPU (it includes I/O waits, and waits for the CPU
    /// when the merges run at lower priority).
    qint64 mergesLastMinute = 0;
    double mergeSecondsPerSecond = 0;
    /// The writers' share of the server's CPU the merges take, estimated as merge time per
    /// second over the server's cores (all CPU-bound, sharing the cores evenly); -1 when the
    /// number of cores is not known (cores <= 0).
    double writersShareLost(int cores) const { return cores > 0 ? std::min(1.0, mergeSecondsPerSecond / cores) : -1; }
    /// Built by an older generation: it lacks later fixes until disabled and enabled again.
    bool engineOutdated() const;
    // The registry's last successful refresh or merge
    QDateTime lastRefresh;
    QString lastMode;
    double lastDurationSeconds = -1;
    /// Seconds since the data was last exact: now - last refresh start, or for incremental views
    /// the age of the oldest unmerged change. -1 when unknown.
    double stalenessSeconds = -1;
    int refreshingPid = 0; ///< a session refreshing it now
    QJsonObject toJson() const;
};

/// One row of htap.refresh_log.
struct RefreshLogEntry {
    qint64 id = 0;
    QString view;
    QString mode;
    QDateTime started;
    QDateTime finished;
    qint64 rows = -1;
    QString outcome; ///< running, ok, failed, cancelled
    QString sqlstate;
    QString message;
    QString byRole;
    QString byApp;
    double seconds() const { return started.isValid() && finished.isValid() ? started.msecsTo(finished) / 1000.0 : -1; }
    QJsonObject toJson() const;
};

struct RefreshOutcome {
    bool ok = false;
    bool cancelled = false;
    QString sqlstate;
    QString message; ///< the error, or for a merge "nothing to merge" and the like
    qint64 rows = -1;
    double seconds = 0;
    QJsonObject toJson() const;
};

/// What recoverInterrupted() did about one view.
struct Recovery {
    QString view; ///< schema.name
    bool ok = false; ///< false: nothing changed, message says why (the next call tries again)
    QString message; ///< what was done, without the view's name
};

/// A view's refresh schedule (htap.refresh_schedule).
struct Schedule {
    QString view; ///< schema.name label
    RefreshMode mode = RefreshMode::Concurrent;
    int everySeconds = 0;
    QString runner; ///< app or pg_cron
    qint64 cronJob = 0;
    /// "fixed" (every everySeconds) or "adaptive" (incremental views, runner app: everySeconds is
    /// the freshness target; merged when the oldest unmerged change needs it, see MergeCadence).
    QString cadence = QStringLiteral("fixed");
    int nice = 0; ///< > 0: merges run in a session at this lower CPU priority (prioritize extension)
    bool adaptive() const { return cadence == QLatin1String("adaptive"); }
    /// "every 5 s", "adaptive, target 1 s, nice 10": as the Views page and mv list show it.
    QString describe() const;
    QJsonObject toJson() const;
};

/// How merges of an incremental view are run, beyond their interval (htapctl mv schedule
/// --target, --nice; the Views page's schedule dialog).
struct MergeOptions {
    bool adaptive = false;
    int nice = 0;
};

/// The server's CPU cores when it runs on this machine (a Unix socket or a loopback address):
/// PostgreSQL does not tell a client; 0 when it is elsewhere.
int localServerCores(pg::Connection& connection);

/// Materialized-view operations over one connection, run synchronously on the caller's thread
/// (a worker thread in the GUI). Names come from the user: they are resolved by the server
/// (to_regclass) and put back into SQL only through quoteIdentifier().
class MvService
{
public:
    explicit MvService(pg::Connection& connection);

    /// A flag another thread sets (with a cancel request through the connection's Canceller) to
    /// stop the step in progress: enable, disable and rebuild then roll back what they did
    /// instead of going on to their next statement. It must outlive the service.
    void setInterruptFlag(const std::atomic<bool>* flag) { m_interrupt = flag; }

    /// Installs (idempotently) the refresh registry and the engine's shared part; needs CREATE
    /// on the database. Returns an empty string or the error.
    QString ensureRegistry();

    /// All materialized views and incrementally maintained views of the database.
    QList<ViewInfo> list(QString* error);
    /// One view by a name as SQL spells it ("Sales", public."Sales MV", sales_hourly_mv).
    bool find(const QString& name, ViewInfo* out, QString* error);

    /// Refreshes (plain or CONCURRENTLY), merges (incremental) or rebuilds a view, recording it in
    /// htap.refresh_log. A plain refresh waits at most lockTimeoutMs for readers to let go.
    RefreshOutcome refresh(const QString& name, RefreshMode mode, int lockTimeoutMs = 5000);

    /// Puts a materialized view under incremental maintenance: generates the engine from its
    /// definition, installs it, builds the state and replaces the materialized view by a view of
    /// the same name, columns, indexes and grants. Returns an empty string or why it cannot.
    /// Until its last transaction (the switch to the view) commits, the engine is registered as
    /// 'building' and the materialized view is untouched: a failure or an interruption removes
    /// the engine again, at once, or through recoverInterrupted() when its session died.
    QString enableIncremental(const QString& name, QString* notes = nullptr);
    /// Puts the materialized view back (built WITH DATA) and removes the engine's objects, in one
    /// transaction: interrupted, it changes nothing.
    QString disableIncremental(const QString& name);
    /// Finishes what interrupted steps left on the server (htapctl killed, the app closed, the
    /// server stopped mid-way): an enable whose session is gone is rolled back (its capture
    /// triggers, state and registry row removed; the materialized view was never touched), an
    /// engine whose view was dropped is removed, and so is a materialized view an older build's
    /// disable left in htap_ivm. An enable still running (its session holds the engine's lock)
    /// is left alone. Called by every htapctl mv command, by the Views page when it connects and
    /// every 30 s, and by enableIncremental(). One entry per view it acted on.
    QList<Recovery> recoverInterrupted();
    /// Checks whether the engine can maintain a view, without changing anything: the shape, then
    /// every statement enable would run, run in a transaction that is rolled back (on samples of
    /// the base tables, on a connection of its own, giving up after 2 s behind a lock), so that
    /// what passes enables. plan: the SQL it would install.
    QString checkIncremental(const QString& name, QString* plan = nullptr);
    /// How to open connections of its own (the check's); by default the service connection's
    /// host, port, user and database, with libpq finding a password (PGPASSWORD, ~/.pgpass).
    void setConnInfo(const pg::ConnInfo& info);

    /// Every schedule of the database.
    QList<Schedule> schedules(QString* error);
    /// Schedules a view: runner "app" (HTAP Studio runs it while connected) or "pg_cron" (the
    /// extension runs htap.refresh_view). Returns an empty string or why not.
    QString setSchedule(const QString& view, RefreshMode mode, int everySeconds, const QString& runner, const MergeOptions& merge = {});
    /// Lowers this session's CPU priority (nice 1..19) through the prioritize extension; for a
    /// session that only merges: a backend cannot be given its priority back. Empty or why not.
    QString lowerOwnPriority(int nice);
    QString clearSchedule(const QString& view);

    /// Switches how an incremental view captures changes: "sql" or "c" (ViewInfo::captureMode).
    /// Mode c creates the htap_capture extension when the server has it and the database does
    /// not (which needs a superuser), and plans the view's capture for every table it reads
    /// before it commits: a view it cannot serve keeps its mode. Writers are never left
    /// without capture: each base table's lock is taken for the switch. Empty or why not.
    QString setCaptureMode(const QString& view, const QString& mode);

    /// The refresh log, newest first; view empty for all views.
    QList<RefreshLogEntry> log(const QString& view, int limit, QString* error);

private:
    struct Resolved {
        quint32 oid = 0;
        QString schema, name;
        char relkind = 0;
        int ivmId = 0; ///< registry id when incremental
    };
    bool resolve(const QString& name, Resolved* out, QString* error);
    bool interrupted() const { return m_interrupt && m_interrupt->load(); }
    /// Removes an engine's objects and its registry row in one transaction; the error otherwise
    /// (a base table's lock not granted within 2 s, a missing right), leaving all of it.
    QString removeEngine(int ivmId);
    /// Closes refresh log rows left 'running' by sessions that ended.
    void closeInterruptedLog();
    RefreshOutcome runLogged(const Resolved& view, RefreshMode mode, const QString& sql, bool rowsFromResult);
    QString prepareEngine(const Resolved& view, struct EnginePrep* prep);
    /// checkIncremental()'s run of the generated SQL; qualified is the view's quoted name.
    QString dryRun(const struct EnginePrep& prep, const struct IvmSql& sql, const QString& qualified);
    /// VACUUM (ANALYZE) of the engine's tables after a build; note says how it went.
    bool settle(int ivmId, QString* note);

    pg::Connection& m_conn;
    pg::ConnInfo m_info;
    const std::atomic<bool>* m_interrupt = nullptr;
};

} // namespace htap::mv
