#include "activitycollector.h"

#include <pg/sandbox.h>

#include "heartbeat.h"
#include "probes.h"


#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QLoggingCategory>
#include <QFutureWatcher>
#include <QThread>
#include <QtConcurrent>

#include <mutex>
#include <thread>
#include <QTimer>

#include <algorithm>
#include <functional>

namespace htap::monitor {

namespace {
Q_LOGGING_CATEGORY(lcCollector, "htap.monitor.collector")
}

using namespace Qt::StringLiterals;
using htap::pg::PgError;

/// The part that lives on the collector thread and owns the monitoring connection.
class ActivityWorker : public QObject
{
    Q_OBJECT
public:
    ActivityWorker(std::shared_ptr<std::atomic<quint64>> generation, std::shared_ptr<std::mutex> cancelMutex,
        std::shared_ptr<std::shared_ptr<const htap::pg::Canceller>> canceller, std::shared_ptr<std::atomic<qint64>> progress,
        std::shared_ptr<const std::atomic<qint64>> heartbeatCommits)
        : m_generation(std::move(generation))
        , m_cancelMutex(std::move(cancelMutex))
        , m_publishedCanceller(std::move(canceller))
        , m_progress(std::move(progress))
        , m_heartbeatCommits(std::move(heartbeatCommits))
        , m_probes(makeProbes(WorkloadClassifier(), true, m_heartbeatCommits))
    {
    }

    void open(const htap::pg::ConnInfo& info, quint64 generation)
    {
        Q_ASSERT(QThread::currentThread() == thread());
        m_openedGeneration = generation;
        if (superseded())
            return; // a newer connect or a disconnect came after this one was queued
        ensureTimer();
        m_timer->stop();
        m_conn.close();
        m_info = info;
        configureProbes();
        resetProbes();
        m_reconnectDelayMs = 1000;
        Q_EMIT stateChanged(ConnectionState::Connecting, u"Connecting to %1 …"_s.arg(info.displayName()));
        if (!connectNow(ConnectionState::Failed))
            return;
        sample();
    }

    void close()
    {
        Q_ASSERT(QThread::currentThread() == thread());
        if (m_timer)
            m_timer->stop();
        const bool wasOpen = m_conn.isOpen() || !m_info.isEmpty();
        m_conn.close();
        m_info = {};
        if (wasOpen)
            Q_EMIT stateChanged(ConnectionState::Disconnected, u"Disconnected"_s);
    }

    void setInterval(int ms)
    {
        m_intervalMs = std::clamp(ms, 100, 3600000);
        configureProbes();
    }
    void setSlowEvery(int ticks)
    {
        m_slowEvery = std::max(1, ticks);
        configureProbes();
    }
    void sampleEverythingNext() { m_everythingNext = true; }
    void setClassifier(const WorkloadClassifier& classifier)
    {
        m_classifier = classifier;
        m_probes = makeProbes(classifier, m_fieldExtensions, m_heartbeatCommits);
        configureProbes();
        m_tick = 0;
    }
    void setFieldExtensions(bool on)
    {
        m_fieldExtensions = on;
        setClassifier(m_classifier);
    }

Q_SIGNALS:
    void stateChanged(htap::monitor::ConnectionState state, const QString& text);
    void connected(const htap::monitor::ServerInfo& server);
    void activityAvailable(const htap::monitor::ActivitySample& sample);
    void sampleAvailable(const htap::monitor::ServerSample& sample);
    void errorOccurred(const htap::pg::PgError& error);
    void passwordRequired(const htap::pg::ConnInfo& info);

private:
    void resetProbes()
    {
        for (auto& probe : m_probes)
            probe->reset();
        m_tick = 0;
        m_reported.clear();
        m_afterReset = true;
    }

    /// A sample later than twice the cadence (and a second more, for a slow server) is not
    /// the next one: there was a stall. A slow probe's cadence is every m_slowEvery samples.
    void configureProbes()
    {
        for (auto& probe : m_probes) {
            const double cadence = m_intervalMs / 1000.0 * (probe->slow() ? m_slowEvery : 1);
            probe->maxGapSeconds = std::max(2.0 * cadence, cadence + 1.5);
        }
    }

    void ensureTimer()
    {
        if (m_timer)
            return;
        m_timer = new QTimer(this);
        m_timer->setSingleShot(true);
        connect(m_timer, &QTimer::timeout, this, [this] { m_conn.isOpen() ? sample() : reconnect(); });
    }

    bool connectNow(ConnectionState stateOnFailure)
    {
        const htap::pg::ConnectOptions options {10000, u"htap-studio monitor"_s};
        m_conn.setStatementTag(QString::fromLatin1(kMonitorStatementTag) + u'\n');
        if (PgError e = m_conn.open(m_info, options, [this] { return superseded(); })) {
            if (e.kind == PgError::Kind::Cancelled) {
                Q_EMIT stateChanged(ConnectionState::Disconnected, u"Connection attempt cancelled"_s);
                m_info = {};
                return false;
            }
            if (m_conn.neededPassword() && !m_info.contains(u"password"_s)) {
                Q_EMIT stateChanged(ConnectionState::Disconnected, u"Password required"_s);
                Q_EMIT passwordRequired(m_info);
                m_info = {};
                return false;
            }
            Q_EMIT errorOccurred(e);
            Q_EMIT stateChanged(stateOnFailure, e.oneLine());
            if (stateOnFailure == ConnectionState::Failed)
                m_info = {};
            return false;
        }
        // The monitor must never hang on a lock or a slow catalog; it is also read-only.
        m_conn.exec(u"SET statement_timeout = '5s'"_s);
        m_conn.exec(u"SET lock_timeout = '1s'"_s);
        m_conn.exec(u"SET default_transaction_read_only = on"_s);
        {
            const std::lock_guard lock(*m_cancelMutex);
            *m_publishedCanceller = m_conn.canceller();
        }
        ServerInfo info;
        info.version = m_conn.serverVersion();
        info.versionNum = m_conn.serverVersionNum();
        info.endpoint = m_conn.effectiveInfo().displayName();
        info.backendPid = m_conn.backendPid();
        info.sandbox = htap::pg::Sandbox::isSandboxServer(m_conn);
        Q_EMIT connected(info);
        Q_EMIT stateChanged(ConnectionState::Connected,
            u"Connected to %1 — PostgreSQL %2"_s.arg(info.endpoint, info.version));
        m_reconnectDelayMs = 1000;
        return true;
    }

    void reconnect()
    {
        if (m_info.isEmpty())
            return;
        if (connectNow(ConnectionState::Reconnecting)) {
            resetProbes(); // counters may have been reset by a restart
            sample();
            return;
        }
        if (m_info.isEmpty())
            return;
        m_reconnectDelayMs = std::min(m_reconnectDelayMs * 2, 10000);
        m_timer->start(m_reconnectDelayMs);
    }

    void sample()
    {
        QElapsedTimer took;
        took.start();
        ServerSample sample;
        const bool all = m_everythingNext || m_tick % m_slowEvery == 0;
        m_everythingNext = false;
        for (auto& probe : m_probes) {
            if (probe->slow() && !all)
                continue;
            QString why;
            if (!probe->collect(m_conn, sample, &why))
                sample.unavailable.insert(probe->name(), why);
            m_progress->store(QDateTime::currentMSecsSinceEpoch()); // the server answered
            if (!m_conn.isOpen())
                break;
        }
        ++m_tick;
        // Our own transactions reach xact_commit when this backend flushes its statistics, at
        // most once a second otherwise: flushed as it goes idle, they show in the next sample,
        // where they are taken out of the count.
        if (m_conn.isOpen())
            m_conn.execCached(u"SELECT pg_stat_force_next_flush()"_s);
        addLockWaitsToClasses(sample, m_classifier);
        if (m_afterReset && m_sampledBefore)
            sample.gapBefore = true; // reconnected: what came before is not continuous with this
        if (sample.sampledAt.isValid()) {
            m_afterReset = false;
            m_sampledBefore = true;
        }
        if (!m_conn.isOpen()) {
            const QString reason = sample.unavailable.value(u"activity"_s, m_conn.lastErrorMessage());
            Q_EMIT errorOccurred(htap::pg::PgError::make(htap::pg::PgError::Kind::Connection, reason));
            Q_EMIT stateChanged(ConnectionState::Reconnecting, u"Connection lost (%1); reconnecting …"_s.arg(reason));
            m_timer->start(m_reconnectDelayMs);
            return;
        }
        if (!sample.sampledAt.isValid() && m_reported.value(u"activity"_s) != sample.unavailable.value(u"activity"_s)) {
            // No sample this tick: say why rather than fall silent.
            Q_EMIT errorOccurred(htap::pg::PgError::make(htap::pg::PgError::Kind::Server, sample.unavailable.value(u"activity"_s)));
            m_reported = sample.unavailable;
        }
        if (sample.sampledAt.isValid()) {
            // Report a probe that stopped working once, not every second; a slow probe that did
            // not run this tick keeps its last word (else every 10th sample would report it
            // again). An optional extension's absence is no error: its page says it in place.
            QMap<QString, QString> reported = sample.unavailable;
            for (const auto& probe : m_probes) {
                if (probe->slow() && !all && m_reported.contains(probe->name()))
                    reported.insert(probe->name(), m_reported.value(probe->name()));
                if (probe->optional())
                    reported.remove(probe->name());
            }
            for (auto it = reported.cbegin(); it != reported.cend(); ++it)
                if (m_reported.value(it.key()) != it.value())
                    Q_EMIT errorOccurred(htap::pg::PgError::make(htap::pg::PgError::Kind::Server, it.value()));
            m_reported = reported;
            Q_EMIT activityAvailable(sample.activity);
            Q_EMIT sampleAvailable(sample);
        }
        // Keep a steady cadence: the next sample is due one interval after this one started.
        m_timer->start(int(std::max<qint64>(0, m_intervalMs - took.elapsed())));
    }

    htap::pg::Connection m_conn;
    htap::pg::ConnInfo m_info;
    bool superseded() const { return m_generation->load() != m_openedGeneration; }

    std::shared_ptr<std::atomic<quint64>> m_generation;
    std::shared_ptr<std::mutex> m_cancelMutex;
    std::shared_ptr<std::shared_ptr<const htap::pg::Canceller>> m_publishedCanceller;
    std::shared_ptr<std::atomic<qint64>> m_progress;
    quint64 m_openedGeneration = 0;
    QTimer* m_timer = nullptr;
    int m_intervalMs = 1000;
    int m_reconnectDelayMs = 1000;
    WorkloadClassifier m_classifier;
    bool m_fieldExtensions = true;
    std::shared_ptr<const std::atomic<qint64>> m_heartbeatCommits;
    std::vector<std::unique_ptr<Probe>> m_probes;
    bool m_afterReset = true;    ///< the next sample follows a (re)connect
    bool m_sampledBefore = false; ///< a sample was handed out since this worker began
    quint64 m_tick = 0;
    int m_slowEvery = 10;
    bool m_everythingNext = false;
    QMap<QString, QString> m_reported;
};

ActivityCollector::ActivityCollector(QObject* parent)
    : QObject(parent)
    , m_thread(new QThread(this))
    , m_generation(std::make_shared<std::atomic<quint64>>(0))
    , m_cancelMutex(std::make_shared<std::mutex>())
    , m_canceller(std::make_shared<std::shared_ptr<const htap::pg::Canceller>>())
    , m_progress(std::make_shared<std::atomic<qint64>>(0))
    , m_watchdog(new QTimer(this))
{
    qRegisterMetaType<ActivitySample>();
    qRegisterMetaType<ServerSample>();
    qRegisterMetaType<BackendAction>();
    qRegisterMetaType<ConnectionState>();
    qRegisterMetaType<ServerInfo>();
    qRegisterMetaType<htap::pg::PgError>();
    qRegisterMetaType<htap::pg::ConnInfo>();

    m_thread->setObjectName(u"activity-collector"_s);
    m_worker = new ActivityWorker(m_generation, m_cancelMutex, m_canceller, m_progress, m_heartbeatCommits);
    m_worker->moveToThread(m_thread);
    connect(m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    connect(m_worker, &ActivityWorker::stateChanged, this, &ActivityCollector::onWorkerState);
    connect(m_worker, &ActivityWorker::connected, this, [this](const ServerInfo& s) {
        m_server = s;
        // The heartbeat goes with the connection: a reconnect starts a new writer (the server
        // may have been promoted, or be another one behind the same address).
        m_heartbeat.reset();
        if (m_heartbeatOn && !m_actionInfo.isEmpty())
            m_heartbeat = std::make_unique<HeartbeatWriter>(m_actionInfo, m_heartbeatCommits);
        Q_EMIT connected(s);
    });
    connect(m_worker, &ActivityWorker::activityAvailable, this, &ActivityCollector::activityAvailable);
    connect(m_worker, &ActivityWorker::sampleAvailable, this, [this](const ServerSample& sample) {
        m_cancelSent = false;
        if (m_state == ConnectionState::NotResponding)
            onWorkerState(ConnectionState::Connected, m_respondingText);
        if (sample.replication && !sample.replication->inRecovery) {
            ServerSample withWriter = sample;
            withWriter.replication->heartbeatWriter = !m_heartbeatOn ? u"off (this monitor does not write it)"_s
                : m_heartbeat                                        ? m_heartbeat->status()
                                                                     : u"not started"_s;
            Q_EMIT sampleAvailable(withWriter);
            return;
        }
        Q_EMIT sampleAvailable(sample);
    });
    connect(m_worker, &ActivityWorker::errorOccurred, this, &ActivityCollector::errorOccurred);
    connect(m_worker, &ActivityWorker::passwordRequired, this, &ActivityCollector::passwordRequired);
    m_thread->start();
    m_watchdog->setInterval(250);
    connect(m_watchdog, &QTimer::timeout, this, &ActivityCollector::checkAlive);
    m_watchdog->start();
}

void ActivityCollector::checkAlive()
{
    if (m_state != ConnectionState::Connected && m_state != ConnectionState::NotResponding)
        return;
    // Progress is any probe finishing, so a slow tick (many probes, a far server) still counts.
    const qint64 silentMs = QDateTime::currentMSecsSinceEpoch() - std::max(m_progress->load(), m_connectedAtMs);
    if (silentMs < std::max(2000, m_intervalMs + 1000))
        return;
    if (m_state == ConnectionState::Connected)
        onWorkerState(ConnectionState::NotResponding,
            u"No answer from the server for %1 s; waiting …"_s.arg(QString::number(silentMs / 1000.0, 'f', 0)));
    // Past the monitor's own statement_timeout (5 s) the server is not just slow: cancel the
    // statement, from another thread, since PQcancel opens a connection of its own and may block.
    if (silentMs > 6000 && !m_cancelSent)
        cancelStuckStatement();
}

void ActivityCollector::cancelStuckStatement()
{
    m_cancelSent = true;
    std::shared_ptr<const htap::pg::Canceller> canceller;
    {
        const std::lock_guard lock(*m_cancelMutex);
        canceller = *m_canceller;
    }
    if (canceller)
        std::thread([canceller] { canceller->cancel(); }).detach();
}

ActivityCollector::~ActivityCollector()
{
    ++*m_generation;
    // A statement stuck on a silent host would hold wait() until the TCP timeout.
    if (m_state == ConnectionState::NotResponding)
        cancelStuckStatement();
    QMetaObject::invokeMethod(m_worker, &ActivityWorker::close, Qt::QueuedConnection);
    m_thread->quit();
    if (!m_thread->wait(QDeadlineTimer(1000))) {
        // Still inside a libpq call to a host that does not answer (its cancel is on the way).
        // Waiting would hold the GUI thread, or the app's exit, until the TCP timeout: the
        // thread is left to end on its own, and then deletes its worker and itself.
        qCWarning(lcCollector, "the monitoring thread of %s is still waiting for its server; not waiting for it",
            qPrintable(m_info.displayName()));
        m_thread->setParent(nullptr);
        connect(m_thread, &QThread::finished, m_thread, &QObject::deleteLater);
        if (m_thread->isFinished()) // it ended between the wait and the connection
            m_thread->deleteLater();
    }
}

void ActivityCollector::connectTo(const htap::pg::ConnInfo& info)
{
    const quint64 generation = ++*m_generation;
    m_heartbeat.reset();
    m_info = info.without(u"password"_s);
    m_actionInfo = info; // with a typed password, in memory only, for the operator's actions
    QMetaObject::invokeMethod(m_worker, [w = m_worker, info, generation] { w->open(info, generation); },
        Qt::QueuedConnection);
}

void ActivityCollector::disconnectFromServer()
{
    ++*m_generation;
    m_heartbeat.reset();
    m_actionInfo = {};
    QMetaObject::invokeMethod(m_worker, &ActivityWorker::close, Qt::QueuedConnection);
}

void ActivityCollector::abortConnect()
{
    if (m_state == ConnectionState::Connecting || m_state == ConnectionState::Reconnecting)
        ++*m_generation;
}

QString BackendAction::describe() const
{
    switch (kind) {
    case Kind::Cancel:
        return u"cancel the query of pid %1"_s.arg(pid);
    case Kind::Terminate:
        return u"terminate pid %1"_s.arg(pid);
    case Kind::RollbackPrepared:
        return u"roll back prepared transaction %1"_s.arg(gid);
    }
    return {};
}

namespace {

/// What an action did, as the server showed it afterwards.
struct ActionOutcome {
    bool ok = false;
    QString message;
    QDateTime actedAt; ///< the server's clock when the signal (or the rollback) was sent
};

QDateTime serverTime(const htap::pg::Result& r, int row, const QString& column)
{
    const double epoch = r.toDouble(row, column);
    return epoch > 0 ? QDateTime::fromMSecsSinceEpoch(qint64(epoch * 1000), Qt::UTC) : QDateTime();
}

QString refused(const BackendAction& action, const PgError& e)
{
    if (e.sqlstate == u"42501"_s)
        return u"not allowed: %1 needs membership in pg_signal_backend or the session's role (%2)"_s.arg(action.describe(), e.message);
    return e.oneLine();
}

/// Reads pid's row of pg_stat_activity (state, query_start) until settled() says the action
/// took effect or deadlineMs passed; returns the last read (no row: the session is gone). Each
/// read is a transaction of its own, so each sees the backend table afresh (within one
/// transaction pg_stat_activity keeps the first snapshot).
htap::pg::Result watchBackend(htap::pg::Connection& conn, int pid, int deadlineMs,
    const std::function<bool(const htap::pg::Result&)>& settled)
{
    QElapsedTimer waited;
    waited.start();
    for (;;) {
        auto r = conn.exec(u"SELECT state, query_start::text AS started FROM pg_stat_activity WHERE pid = $1"_s, {pid});
        if (!r.ok() || settled(r) || waited.elapsed() > deadlineMs)
            return r;
        QThread::msleep(50); // a pool thread, not the GUI's: signals take a few ms to act
    }
}

/// pg_cancel_backend only interrupts a statement: a session idle in transaction has none, and
/// the server drops a cancel that reaches a backend waiting for its client's next command. So
/// the state is read and the signal sent in one statement (the state reported is the one the
/// signal met), a session that runs nothing is not signalled, and "done" means the statement
/// that was running has ended.
ActionOutcome cancelQuery(htap::pg::Connection& conn, const BackendAction& action)
{
    // NULL or 'disabled': this role may not see the session's state (pg_read_all_stats), or
    // track_activities is off; the cancel is sent and the answer says what is not known.
    const auto r = conn.exec(u"SELECT a.state, a.query_start::text AS started, "
                             "extract(epoch FROM clock_timestamp())::float8 AS at, "
                             "CASE WHEN a.state IS NULL OR a.state IN ('active', 'fastpath function call', 'disabled') "
                             "THEN pg_cancel_backend(a.pid) END AS sent "
                             "FROM pg_stat_activity a WHERE a.pid = $1"_s,
        {action.pid});
    if (!r.ok())
        return {false, refused(action, r.error()), {}};
    if (r.rowCount() == 0)
        return {false, u"pid %1 is no longer there"_s.arg(action.pid), {}};
    const QString state = r.text(0, u"state"_s);
    const QDateTime at = serverTime(r, 0, u"at"_s);
    if (r.isNull(0, r.column(u"sent"_s))) {
        // "idle in transaction (aborted)" is not the first case: its failed transaction released
        // its locks already and waits for the client's ROLLBACK.
        if (state == u"idle in transaction"_s)
            return {false,
                u"pid %1 was %2: nothing to cancel (no statement is running; its transaction keeps its locks until "
                "it ends: terminate the session to end it)"_s.arg(action.pid).arg(state),
                at};
        return {false, u"pid %1 was %2: nothing to cancel (no statement is running)"_s.arg(action.pid).arg(state), at};
    }
    if (!r.toBool(0, u"sent"_s))
        return {false, u"pid %1 is no longer there"_s.arg(action.pid), at};
    if (state.isEmpty() || state == u"disabled"_s)
        return {true, u"cancel sent to pid %1 (whether it was running a statement is not visible to this role)"_s.arg(action.pid), at};
    const QString started = r.text(0, u"started"_s);
    const auto after = watchBackend(conn, action.pid, 3000, [&](const htap::pg::Result& now) {
        return now.rowCount() == 0 || now.text(0, u"state"_s) != state || now.text(0, u"started"_s) != started;
    });
    if (!after.ok())
        return {true, u"cancel sent to pid %1; what followed could not be read (%2)"_s.arg(action.pid).arg(after.error().oneLine()), at};
    if (after.rowCount() == 0)
        return {true, u"pid %1: query cancelled; the session has ended"_s.arg(action.pid), at};
    if (after.text(0, u"state"_s) == state && after.text(0, u"started"_s) == started)
        return {false,
            u"pid %1: cancel sent, but the same statement was still running 3 s later (it has not reached a point "
            "where it checks for a cancel)"_s.arg(action.pid),
            at};
    return {true, u"pid %1: query cancelled; the session is now %2"_s.arg(action.pid).arg(after.text(0, u"state"_s)), at};
}

/// Terminating ends the session whatever it is doing; "done" means the backend has exited.
ActionOutcome terminateSession(htap::pg::Connection& conn, const BackendAction& action)
{
    const auto r = conn.exec(u"SELECT a.state, a.xact_start IS NOT NULL AS in_xact, "
                             "extract(epoch FROM clock_timestamp())::float8 AS at, pg_terminate_backend(a.pid) AS sent "
                             "FROM pg_stat_activity a WHERE a.pid = $1"_s,
        {action.pid});
    if (!r.ok())
        return {false, refused(action, r.error()), {}};
    if (r.rowCount() == 0 || !r.toBool(0, u"sent"_s))
        return {false, u"pid %1 is no longer there"_s.arg(action.pid), {}};
    const QDateTime at = serverTime(r, 0, u"at"_s);
    const QString state = r.text(0, u"state"_s);
    const QString was = state.isEmpty() || state == u"disabled"_s ? QString() : u" (it was %1)"_s.arg(state);
    const auto after = watchBackend(conn, action.pid, 5000, [](const htap::pg::Result& now) { return now.rowCount() == 0; });
    if (!after.ok())
        return {true, u"terminate sent to pid %1; whether it has ended could not be read (%2)"_s.arg(action.pid).arg(after.error().oneLine()), at};
    if (after.rowCount() > 0)
        return {false, u"pid %1%2: terminate sent, but the session was still there 5 s later"_s.arg(action.pid).arg(was), at};
    if (r.toBool(0, u"in_xact"_s))
        return {true, u"pid %1 terminated%2: its transaction was rolled back and the session is gone"_s.arg(action.pid).arg(was), at};
    return {true, u"pid %1 terminated%2: the session is gone"_s.arg(action.pid).arg(was), at};
}

ActionOutcome rollbackPrepared(htap::pg::Connection& conn, const BackendAction& action)
{
    // The gid is a value: format(%L) quotes it on the server, never by string pasting here.
    const auto sql = conn.exec(u"SELECT format('ROLLBACK PREPARED %L', $1::text)"_s, {action.gid});
    const auto r = sql.ok() ? conn.runScript(sql.text(0, 0)) : sql;
    if (!r.ok())
        return {false, refused(action, r.error()), {}};
    const auto at = conn.exec(u"SELECT extract(epoch FROM clock_timestamp())::float8 AS at"_s);
    return {true, u"prepared transaction %1 rolled back"_s.arg(action.gid), at.ok() ? serverTime(at, 0, u"at"_s) : QDateTime()};
}

} // namespace

void ActivityCollector::runAction(const BackendAction& action)
{
    if (m_actionInfo.isEmpty()) {
        Q_EMIT actionFinished(action, false, u"not connected"_s, {});
        return;
    }
    // Not on the collector thread: sampling goes on while the action connects, runs and waits
    // to see its effect.
    auto* watcher = new QFutureWatcher<ActionOutcome>(this);
    connect(watcher, &QFutureWatcher<ActionOutcome>::finished, this, [this, watcher, action] {
        const ActionOutcome outcome = watcher->result();
        watcher->deleteLater();
        Q_EMIT actionFinished(action, outcome.ok, outcome.message, outcome.actedAt);
    });
    watcher->setFuture(QtConcurrent::run([info = m_actionInfo, action]() -> ActionOutcome {
        htap::pg::Connection conn;
        const auto target = action.kind == BackendAction::Kind::RollbackPrepared && !action.database.isEmpty()
            ? info.with(u"dbname"_s, action.database)
            : info;
        if (PgError e = conn.open(target, {10000, u"htap-studio action"_s}))
            return {false, e.oneLine(), {}};
        conn.exec(u"SET statement_timeout = '10s'"_s);
        switch (action.kind) {
        case BackendAction::Kind::Cancel:
            return cancelQuery(conn, action);
        case BackendAction::Kind::Terminate:
            return terminateSession(conn, action);
        case BackendAction::Kind::RollbackPrepared:
            return rollbackPrepared(conn, action);
        }
        return {};
    }));
}

void ActivityCollector::setClassifier(const WorkloadClassifier& classifier)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, classifier] { w->setClassifier(classifier); }, Qt::QueuedConnection);
}

void ActivityCollector::setFieldExtensions(bool on)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, on] { w->setFieldExtensions(on); }, Qt::QueuedConnection);
}

void ActivityCollector::setSlowEvery(int ticks)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, ticks] { w->setSlowEvery(ticks); }, Qt::QueuedConnection);
}

void ActivityCollector::sampleEverythingNext()
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker] { w->sampleEverythingNext(); }, Qt::QueuedConnection);
}

void ActivityCollector::setInterval(int milliseconds)
{
    m_intervalMs = milliseconds;
    QMetaObject::invokeMethod(m_worker, [w = m_worker, milliseconds] { w->setInterval(milliseconds); },
        Qt::QueuedConnection);
}

void ActivityCollector::onWorkerState(ConnectionState state, const QString& text)
{
    if (state == ConnectionState::Connected) {
        if (m_state != ConnectionState::NotResponding)
            m_connectedAtMs = QDateTime::currentMSecsSinceEpoch();
        m_respondingText = text;
        m_cancelSent = false;
    }
    m_state = state;
    Q_EMIT stateChanged(state, text);
}

} // namespace htap::monitor

#include "activitycollector.moc"
