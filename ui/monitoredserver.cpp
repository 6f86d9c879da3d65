#include "monitoredserver.h"

#include "viewjobs.h"

#include <monitor/samplejson.h>
#include <store/historystore.h>

#include <QColor>

namespace htap::ui {

using namespace Qt::StringLiterals;
using htap::monitor::ConnectionState;

namespace {

/// What the charts draw of a past sample (see MonitorPage::addPastSample), without the lists
/// only the tables show: the blocking tree, xmin holders, per-role rows. Keeps an hour of a
/// busy server's samples in a few megabytes.
htap::monitor::ServerSample forCharts(htap::monitor::ServerSample s)
{
    if (s.locks) {
        s.locks->nodes.clear();
        s.locks->roots.clear();
    }
    if (s.vacuum) {
        // The Vacuum page charts the most urgent tables, up to eight of them.
        if (s.vacuum->tables.size() > 16)
            s.vacuum->tables.resize(16);
        s.vacuum->holders.clear();
        s.vacuum->running.clear();
        s.vacuum->databases.clear();
    }
    if (s.latency)
        s.latency->roles.clear();
    if (s.replication)
        s.replication->replicationSlots.clear();
    return s;
}

} // namespace

MonitoredServer::MonitoredServer(const htap::pg::ConnInfo& info, htap::store::HistoryStore* history, QObject* parent)
    : QObject(parent)
    , m_collector(new htap::monitor::ActivityCollector(this))
    , m_jobs(new ViewJobs(this))
    , m_history(history)
    , m_info(info.without(u"password"_s).without(u"sslpassword"_s))
    , m_connectInfo(info)
    , m_stateText(tr("Not connected"))
{
    connect(m_collector, &htap::monitor::ActivityCollector::sampleAvailable, this, &MonitoredServer::onSample);
    connect(m_collector, &htap::monitor::ActivityCollector::stateChanged, this, &MonitoredServer::onState);
    connect(m_collector, &htap::monitor::ActivityCollector::connected, this, [this] {
        // View jobs and app-run schedules follow the server, shown or not.
        m_jobs->setConnInfo(m_collector->connInfoWithPassword());
        Q_EMIT changed();
    });
    connect(m_collector, &htap::monitor::ActivityCollector::passwordRequired, this, [this] {
        m_needsPassword = true;
        Q_EMIT changed();
    });
}

MonitoredServer::~MonitoredServer() = default;

QString MonitoredServer::label() const
{
    const QString endpoint = this->endpoint();
    // The sandbox's host is its socket folder: long, and says less than the word.
    if (m_info.value(u"host"_s).endsWith(u"/run"_s)) {
        const QString user = endpoint.isEmpty() ? m_info.value(u"user"_s) : endpoint.section(u'@', 0, 0);
        const QString db = endpoint.isEmpty() ? m_info.value(u"dbname"_s) : endpoint.section(u'/', -1);
        return tr("sandbox %1@:%2/%3").arg(user, m_info.value(u"port"_s), db);
    }
    return endpoint.isEmpty() ? m_info.displayName() : endpoint;
}

QString MonitoredServer::statusLine() const
{
    return state() == ConnectionState::Failed ? tr("down: %1").arg(m_stateText) : statusWord();
}

QString MonitoredServer::statusWord() const
{
    switch (state()) {
    case ConnectionState::Connected:
        return tr("up");
    case ConnectionState::Connecting:
        return tr("connecting");
    case ConnectionState::NotResponding:
        return tr("not responding");
    case ConnectionState::Reconnecting:
        return tr("down, reconnecting");
    case ConnectionState::Failed:
        return tr("down");
    case ConnectionState::Disconnected:
        return m_needsPassword ? tr("password required") : tr("disconnected");
    }
    return {};
}

QColor MonitoredServer::statusColour() const
{
    switch (state()) {
    case ConnectionState::Connected:
        return QColor(0x20, 0xa0, 0x40);
    case ConnectionState::Connecting:
        return QColor(0xe0, 0xa0, 0x00);
    case ConnectionState::NotResponding:
    case ConnectionState::Reconnecting:
        return QColor(0xe0, 0x60, 0x00);
    case ConnectionState::Failed:
        return QColor(0xc0, 0x20, 0x20);
    case ConnectionState::Disconnected:
        break;
    }
    return Qt::gray;
}

void MonitoredServer::connectNow(const htap::pg::ConnInfo& info)
{
    if (m_retiring)
        return;
    if (!info.isEmpty())
        m_connectInfo = info;
    m_needsPassword = false;
    m_collector->connectTo(m_connectInfo);
}

void MonitoredServer::record(const QList<htap::monitor::Incident>& changed)
{
    if (changed.isEmpty())
        return;
    if (const QString key = endpoint(); !key.isEmpty() && m_history)
        for (const htap::monitor::Incident& i : changed)
            m_history->recordIncident(key, i.toJson());
    Q_EMIT incidentsChanged(changed);
}

void MonitoredServer::onSample(const htap::monitor::ServerSample& sampled)
{
    htap::monitor::ServerSample sample = sampled;
    m_sinceSample.start();
    record(m_detector.evaluate(sample));
    Q_EMIT sampleEvaluated(sample);
    const QString key = endpoint();
    if (!key.isEmpty())
        m_history->append(key, sample.sampledAt, htap::monitor::toJson(sample, key));
    if (!m_recent.isEmpty())
        m_recent.last().sample = forCharts(std::move(m_recent.last().sample));
    m_recent.append({sample, false});
    const QDateTime oldest = sample.sampledAt.addSecs(-kRecentSeconds);
    // By time, and by count too (two samples a second), so that a server
    // clock that jumps back cannot stop the trimming.
    qsizetype drop = std::max<qsizetype>(0, m_recent.size() - 2 * kRecentSeconds);
    while (drop < m_recent.size() && m_recent[drop].sample.sampledAt < oldest)
        ++drop;
    m_recent.remove(0, drop);
}

void MonitoredServer::onState(ConnectionState state, const QString& text)
{
    m_stateText = text;
    // A server that goes silent before its first sample has had no data since it connected.
    if (state == ConnectionState::Connected && !m_sinceSample.isValid())
        m_sinceSample.start();
    if (state == ConnectionState::NotResponding)
        record(m_detector.serverSilent(QDateTime::currentDateTimeUtc(), label()));
    else if (state == ConnectionState::Connected || state == ConnectionState::Disconnected)
        record(m_detector.serverBack(QDateTime::currentDateTimeUtc()));
    // A broken link is a gap when the samples are drawn again.
    if ((state == ConnectionState::Reconnecting || state == ConnectionState::Disconnected) && !m_recent.isEmpty())
        m_recent.last().gapAfter = true;
    if (state == ConnectionState::Disconnected || state == ConnectionState::Failed)
        m_jobs->setConnInfo({});
    if (state != ConnectionState::Disconnected)
        m_needsPassword = false;
    Q_EMIT changed();
    if (m_retiring && (state == ConnectionState::Disconnected || state == ConnectionState::Failed))
        deleteLater();
}

void MonitoredServer::retire()
{
    if (m_retiring)
        return;
    m_retiring = true;
    m_jobs->setConnInfo({}); // no more scheduled merges on a server the operator let go
    const ConnectionState was = state();
    m_collector->disconnectFromServer();
    // An idle collector is deleted now; a busy one once its thread has closed the connection
    // (a statement stuck on a silent host ends with its cancel or the TCP timeout). Deleting it
    // now would wait for that thread on the GUI thread.
    if (was == ConnectionState::Disconnected || was == ConnectionState::Failed)
        deleteLater();
}

} // namespace htap::ui
