#include "activitycollector.h"

#include <metrics/counterrate.h>
#include <pg/sqlfile.h>

#include <QElapsedTimer>
#include <QThread>
#include <QTimeZone>
#include <QTimer>

#include <algorithm>

namespace htap::monitor {

using namespace Qt::StringLiterals;
using htap::pg::PgError;

/// The part that lives on the collector thread and owns the monitoring connection.
class ActivityWorker : public QObject
{
    Q_OBJECT
public:
    explicit ActivityWorker(std::shared_ptr<std::atomic<quint64>> generation)
        : m_generation(std::move(generation))
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
        m_hasPrevious = false;
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

    void setInterval(int ms) { m_intervalMs = std::clamp(ms, 100, 3600000); }

Q_SIGNALS:
    void stateChanged(htap::monitor::ConnectionState state, const QString& text);
    void connected(const htap::monitor::ServerInfo& server);
    void activityAvailable(const htap::monitor::ActivitySample& sample);
    void errorOccurred(const htap::pg::PgError& error);
    void passwordRequired(const htap::pg::ConnInfo& info);

private:
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
        ServerInfo info;
        info.version = m_conn.serverVersion();
        info.versionNum = m_conn.serverVersionNum();
        info.endpoint = m_conn.effectiveInfo().displayName();
        info.backendPid = m_conn.backendPid();
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
            m_hasPrevious = false; // counters may have been reset by a restart
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
        static const QString sql = htap::pg::sqlFile(u"monitor/activity.sql"_s);
        QElapsedTimer took;
        took.start();
        const htap::pg::Result r = m_conn.exec(sql);
        if (!r.ok()) {
            Q_EMIT errorOccurred(r.error());
            if (!m_conn.isOpen()) {
                Q_EMIT stateChanged(ConnectionState::Reconnecting,
                    u"Connection lost (%1); reconnecting …"_s.arg(r.error().oneLine()));
                m_timer->start(m_reconnectDelayMs);
                return;
            }
        } else if (r.rowCount() == 1) {
            Q_EMIT activityAvailable(toSample(r));
        }
        // Keep a steady cadence: the next sample is due one interval after this one started.
        m_timer->start(int(std::max<qint64>(0, m_intervalMs - took.elapsed())));
    }

    ActivitySample toSample(const htap::pg::Result& r)
    {
        ActivitySample s;
        const double epoch = r.toDouble(0, u"sampled_epoch"_s);
        s.sampledAt = QDateTime::fromMSecsSinceEpoch(qint64(epoch * 1000), Qt::UTC);
        s.xactCommit = r.toInt64(0, u"xact_commit"_s);
        s.xactRollback = r.toInt64(0, u"xact_rollback"_s);
        s.active = int(r.toInt64(0, u"active"_s));
        s.idle = int(r.toInt64(0, u"idle"_s));
        s.idleInTransaction = int(r.toInt64(0, u"idle_in_transaction"_s));
        s.idleInTransactionAborted = int(r.toInt64(0, u"idle_in_transaction_aborted"_s));
        s.otherState = int(r.toInt64(0, u"other"_s));
        s.waitingOnLock = int(r.toInt64(0, u"waiting_on_lock"_s));
        const double resetEpoch = r.toDouble(0, u"stats_reset_epoch"_s);

        if (m_hasPrevious && resetEpoch == m_previousReset) {
            s.elapsedSeconds = epoch - m_previousEpoch;
            const auto commits = metrics::counterRate(m_previous.xactCommit, s.xactCommit, s.elapsedSeconds);
            const auto rollbacks = metrics::counterRate(m_previous.xactRollback, s.xactRollback, s.elapsedSeconds);
            if (commits && rollbacks) {
                s.hasRates = true;
                s.commitsPerSecond = *commits;
                s.rollbacksPerSecond = *rollbacks;
            }
        }
        m_previous = s;
        m_previousEpoch = epoch;
        m_previousReset = resetEpoch;
        m_hasPrevious = epoch > 0;
        return s;
    }

    htap::pg::Connection m_conn;
    htap::pg::ConnInfo m_info;
    bool superseded() const { return m_generation->load() != m_openedGeneration; }

    std::shared_ptr<std::atomic<quint64>> m_generation;
    quint64 m_openedGeneration = 0;
    QTimer* m_timer = nullptr;
    int m_intervalMs = 1000;
    int m_reconnectDelayMs = 1000;
    bool m_hasPrevious = false;
    ActivitySample m_previous;
    double m_previousEpoch = 0;
    double m_previousReset = 0;
};

ActivityCollector::ActivityCollector(QObject* parent)
    : QObject(parent)
    , m_thread(new QThread(this))
    , m_generation(std::make_shared<std::atomic<quint64>>(0))
{
    qRegisterMetaType<ActivitySample>();
    qRegisterMetaType<ConnectionState>();
    qRegisterMetaType<ServerInfo>();
    qRegisterMetaType<htap::pg::PgError>();
    qRegisterMetaType<htap::pg::ConnInfo>();

    m_thread->setObjectName(u"activity-collector"_s);
    m_worker = new ActivityWorker(m_generation);
    m_worker->moveToThread(m_thread);
    connect(m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    connect(m_worker, &ActivityWorker::stateChanged, this, &ActivityCollector::onWorkerState);
    connect(m_worker, &ActivityWorker::connected, this, [this](const ServerInfo& s) {
        m_server = s;
        Q_EMIT connected(s);
    });
    connect(m_worker, &ActivityWorker::activityAvailable, this, &ActivityCollector::activityAvailable);
    connect(m_worker, &ActivityWorker::errorOccurred, this, &ActivityCollector::errorOccurred);
    connect(m_worker, &ActivityWorker::passwordRequired, this, &ActivityCollector::passwordRequired);
    m_thread->start();
}

ActivityCollector::~ActivityCollector()
{
    ++*m_generation;
    QMetaObject::invokeMethod(m_worker, &ActivityWorker::close, Qt::QueuedConnection);
    m_thread->quit();
    m_thread->wait();
}

void ActivityCollector::connectTo(const htap::pg::ConnInfo& info)
{
    const quint64 generation = ++*m_generation;
    m_info = info.without(u"password"_s);
    QMetaObject::invokeMethod(m_worker, [w = m_worker, info, generation] { w->open(info, generation); },
        Qt::QueuedConnection);
}

void ActivityCollector::disconnectFromServer()
{
    ++*m_generation;
    QMetaObject::invokeMethod(m_worker, &ActivityWorker::close, Qt::QueuedConnection);
}

void ActivityCollector::abortConnect()
{
    if (m_state == ConnectionState::Connecting || m_state == ConnectionState::Reconnecting)
        ++*m_generation;
}

void ActivityCollector::setInterval(int milliseconds)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, milliseconds] { w->setInterval(milliseconds); },
        Qt::QueuedConnection);
}

void ActivityCollector::onWorkerState(ConnectionState state, const QString& text)
{
    m_state = state;
    Q_EMIT stateChanged(state, text);
}

} // namespace htap::monitor

#include "activitycollector.moc"
