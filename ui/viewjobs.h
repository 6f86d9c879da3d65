#pragma once

#include <mv/mvservice.h>
#include <mv/schedulerunner.h>
#include <pg/connection.h>
#include <pg/conninfo.h>

#include <QDateTime>
#include <QHash>
#include <QObject>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

class QThreadPool;
class QTimer;

namespace htap::ui {

/// Materialized-view work the operator starts from the Views page (refresh, merge, rebuild,
/// enable or disable incremental maintenance, schedules) and the app-run schedules. Each job
/// runs on a pool thread over a connection of its own; results come back as signals. One job
/// per view at a time; a running job can be cancelled.
class ViewJobs : public QObject
{
    Q_OBJECT
public:
    enum class Kind { Refresh, EnableIncremental, DisableIncremental, SetSchedule, ClearSchedule, SetCaptureMode };
    struct Job {
        Kind kind = Kind::Refresh;
        QString view; ///< schema.name label, as the Views page shows it
        htap::mv::RefreshMode mode = htap::mv::RefreshMode::Concurrent;
        int everySeconds = 0;
        QString runner = QStringLiteral("app");
        htap::mv::MergeOptions merge; ///< SetSchedule: adaptive cadence, lower priority; Refresh: the session's nice
        QString captureMode; ///< SetCaptureMode: "sql" or "c" (MvService::setCaptureMode)
        bool scheduled = false; ///< started by a schedule, not by the operator
        QString describe() const;
    };

    explicit ViewJobs(QObject* parent = nullptr);
    ~ViewJobs() override;

    /// The server to work on (with a typed password, memory only); empty when disconnected.
    void setConnInfo(const htap::pg::ConnInfo& info);
    bool isRunning(const QString& view) const { return m_running.contains(view); }
    /// Running something the operator started (a scheduled merge does not count: an action
    /// asked for meanwhile waits for it and then runs).
    bool isBusy(const QString& view) const;
    /// The backend pid of the view's running job (0 until its connection is up, or none).
    int backendPid(const QString& view) const;
    /// The views with a job running.
    QStringList runningViews() const { return m_running.keys(); }
    /// What runs on the view ("enable incremental maintenance"), empty when nothing.
    QString runningWhat(const QString& view) const;
    /// What runs on the view and since when, empty when nothing.
    QString runningText(const QString& view) const;
    bool start(const Job& job);
    /// Cancels the view's running job (its statement gets a cancel request).
    void cancel(const QString& view);
    /// Reads the refresh log and the schedules; answers with logAvailable / schedulesAvailable.
    void fetchLog(int limit = 500);
    void fetchSchedules();
    const QList<htap::mv::Schedule>& schedules() const { return m_schedules; }

Q_SIGNALS:
    void jobStarted(const QString& view, const QString& what);
    void jobFinished(const QString& view, const QString& what, bool ok, const QString& message, double seconds);
    void logAvailable(const QList<htap::mv::RefreshLogEntry>& entries);
    void schedulesAvailable(const QList<htap::mv::Schedule>& schedules);

private:
    struct Running {
        Job job;
        QDateTime since;
        std::shared_ptr<std::mutex> mutex;
        std::shared_ptr<std::shared_ptr<const htap::pg::Canceller>> canceller;
        std::shared_ptr<std::atomic<bool>> cancelled; ///< asked before its connection was up
        std::shared_ptr<std::atomic<int>> pid;        ///< its backend, once connected
    };
    void tick();

    htap::pg::ConnInfo m_info;
    QHash<QString, Running> m_running;
    QHash<QString, Job> m_queued; ///< the operator's job waiting for a scheduled one to end
    QList<htap::mv::Schedule> m_schedules;
    QHash<QString, QDateTime> m_lastScheduledRun;
    /// Adaptive schedules: here the merges come due by time alone (the page's pending counts
    /// arrive every few seconds only), merged as often as the target less their duration allows.
    QHash<QString, htap::mv::MergeCadence> m_cadence;
    QTimer* m_timer;
    QThreadPool* m_pool; ///< its own: long refreshes must not starve the app's other work
    /// Idle connections kept for the next job: merges every second then run in a warm session
    /// (no connect, plans and PL/pgSQL functions already compiled).
    struct Idle {
        std::mutex mutex;
        /// by the session's nice (0: normal priority; a lowered one cannot be raised again)
        std::map<int, std::vector<std::unique_ptr<htap::pg::Connection>>> connections;
    };
    std::shared_ptr<Idle> m_idle;
    quint64 m_generation = 0;
    bool m_logInFlight = false;
    bool m_logAgain = false;
    QDateTime m_schedulesFetched;
};

} // namespace htap::ui

Q_DECLARE_METATYPE(QList<htap::mv::RefreshLogEntry>)
Q_DECLARE_METATYPE(QList<htap::mv::Schedule>)
