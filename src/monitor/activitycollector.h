#pragma once

#include "classifier.h"
#include "serversample.h"

#include <pg/connection.h>

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>

#include <atomic>
#include <memory>
#include <mutex>

class QThread;
class QTimer;

namespace htap::monitor {

enum class ConnectionState { Disconnected, Connecting, Connected, NotResponding, Reconnecting, Failed };

/// Facts about the server learnt at connect time.
struct ServerInfo {
    QString version; ///< "15.18"
    int versionNum = 0;
    QString endpoint; ///< user@host:port/db as libpq resolved it
    int backendPid = 0;
    /// A sandbox of this machine, as the server's own system identifier says (loads run
    /// there without asking).
    bool sandbox = false;
};

/// An operator's action on a backend, run on a short-lived connection of its own.
struct BackendAction {
    enum class Kind { Cancel, Terminate, RollbackPrepared };
    Kind kind = Kind::Cancel;
    int pid = 0;          ///< Cancel, Terminate
    QString gid;          ///< RollbackPrepared
    QString database;     ///< RollbackPrepared: it must run in the prepared transaction's database
    QString describe() const;
};

class ActivityWorker;
class HeartbeatWriter;

/// Samples one server every interval (activity, latency, locks, replication; vacuum and views
/// on a slower cadence) on its own thread over its own monitoring connection. Lives in the GUI thread; every call returns at once, the network work happens on
/// the worker thread and comes back as queued signals carrying values.
class ActivityCollector : public QObject
{
    Q_OBJECT
public:
    explicit ActivityCollector(QObject* parent = nullptr);
    ~ActivityCollector() override;

    /// Connects (dropping any earlier connection) and starts sampling.
    void connectTo(const htap::pg::ConnInfo& info);
    void disconnectFromServer();
    /// Gives up a connect in progress (an unreachable host) within about 100 ms.
    void abortConnect();
    void setInterval(int milliseconds);
    /// Costly probes (vacuum, views) run every this many samples (default 10).
    void setSlowEvery(int ticks);
    /// The next sample runs the costly probes too (after an action changed what they show).
    void sampleEverythingNext();
    /// How roles and applications map to OLTP and OLAP (latency per class). Restarts the
    /// latency baseline.
    void setClassifier(const htap::monitor::WorkloadClassifier& classifier);
    /// Whether the probes of the field extensions (pg_wait_sampling, pg_stat_kcache) run; on
    /// by default. Off only to measure what they cost (htapctl bench monitor).
    void setFieldExtensions(bool on);
    /// Whether the collector writes the registry's heartbeat on a primary it monitors (on by
    /// default; see HeartbeatWriter). Takes effect at the next connect.
    void setHeartbeat(bool on) { m_heartbeatOn = on; }
    /// Runs an action against the connected server; the answer comes as actionFinished.
    void runAction(const htap::monitor::BackendAction& action);

    ConnectionState state() const { return m_state; }
    const ServerInfo& server() const { return m_server; }
    const htap::pg::ConnInfo& connInfo() const { return m_info; }
    /// The connection as given, with a typed password (memory only): for work the operator
    /// starts on the same server (actions, scenarios).
    const htap::pg::ConnInfo& connInfoWithPassword() const { return m_actionInfo; }

Q_SIGNALS:
    void stateChanged(htap::monitor::ConnectionState state, const QString& text);
    void connected(const htap::monitor::ServerInfo& server);
    void activityAvailable(const htap::monitor::ActivitySample& sample);
    /// Everything sampled this tick; sections of slow probes only every setSlowEvery() ticks.
    void sampleAvailable(const htap::monitor::ServerSample& sample);
    /// A failure worth telling the operator (connect failed, a probe failed, the link broke).
    void errorOccurred(const htap::pg::PgError& error);
    /// The server wants a password and none was given: ask, then connectTo(info.with("password", ...)).
    void passwordRequired(const htap::pg::ConnInfo& info);
    /// ok: the action took effect as the server shows it (the cancelled statement ended, the
    /// terminated session is gone, the prepared transaction rolled back); otherwise message says
    /// what happened instead in the operator's words (nothing to cancel, a missing privilege).
    /// actedAt: the server's clock when it acted (invalid when it did not get that far); samples
    /// taken from then on show the action's effect.
    void actionFinished(const htap::monitor::BackendAction& action, bool ok, const QString& message, const QDateTime& actedAt);

private:
    void onWorkerState(htap::monitor::ConnectionState state, const QString& text);
    void checkAlive();
    void cancelStuckStatement();

    QThread* m_thread;
    ActivityWorker* m_worker; // lives in m_thread
    /// Bumped by every connect, disconnect and abort; a connect in progress gives up as soon as
    /// the generation it started under is no longer current.
    std::shared_ptr<std::atomic<quint64>> m_generation;
    /// The worker's current canceller, published under the mutex for the watchdog.
    std::shared_ptr<std::mutex> m_cancelMutex;
    std::shared_ptr<std::shared_ptr<const htap::pg::Canceller>> m_canceller;
    QString m_respondingText;
    ConnectionState m_state = ConnectionState::Disconnected;
    std::shared_ptr<std::atomic<qint64>> m_progress; ///< ms epoch of the worker's last answered probe
    QTimer* m_watchdog;
    qint64 m_connectedAtMs = 0;
    bool m_cancelSent = false;
    int m_intervalMs = 1000;
    htap::pg::ConnInfo m_actionInfo;
    bool m_heartbeatOn = true;
    std::unique_ptr<HeartbeatWriter> m_heartbeat;
    /// What the heartbeat committed: the activity probe leaves it out of the load.
    std::shared_ptr<std::atomic<qint64>> m_heartbeatCommits = std::make_shared<std::atomic<qint64>>(0);
    ServerInfo m_server;
    htap::pg::ConnInfo m_info;
};

} // namespace htap::monitor

Q_DECLARE_METATYPE(htap::monitor::ConnectionState)
Q_DECLARE_METATYPE(htap::monitor::ServerInfo)
Q_DECLARE_METATYPE(htap::monitor::BackendAction)
Q_DECLARE_METATYPE(htap::monitor::WorkloadClassifier)
