#include "incidentfeed.h"

#include "chartwidget.h"
#include "incidentspage.h"
#include "monitoredserver.h"

#include <store/historystore.h>

#include <QGuiApplication>
#include <QSystemTrayIcon>

namespace htap::ui {

using htap::monitor::Incident;

IncidentFeed::IncidentFeed(IncidentsPage* page, std::function<QList<ChartWidget*>()> charts,
    htap::store::HistoryStore* history, QObject* parent)
    : QObject(parent)
    , m_page(page)
    , m_charts(std::move(charts))
    , m_history(history)
{
    if (m_history)
        connect(m_history, &htap::store::HistoryStore::incidentsLoaded, this, [this](quint64 request, const QList<QJsonObject>& list) {
            if (request != m_request || !m_server || m_server->endpoint() != m_requestServer)
                return; // for a server shown before
            QList<Incident> incidents;
            for (const QJsonObject& o : list)
                incidents << Incident::fromJson(o);
            show(incidents, false);
        });
}

void IncidentFeed::showServer(MonitoredServer* server, double seconds)
{
    if (m_serverConnection)
        disconnect(m_serverConnection);
    m_server = server;
    m_page->clear();
    for (ChartWidget* c : m_charts())
        c->clearSpans();
    if (!server)
        return;
    m_serverConnection = connect(server, &MonitoredServer::incidentsChanged, this,
        [this](const QList<Incident>& changed) { show(changed, true); });
    show(server->openIncidents(), false);
    if (m_history && !server->endpoint().isEmpty()) {
        const QDateTime now = QDateTime::currentDateTimeUtc();
        m_requestServer = server->endpoint();
        m_history->loadIncidents(m_requestServer, now.addMSecs(-qint64(seconds * 1000)), now, ++m_request);
    }
}

void IncidentFeed::addSample(const htap::monitor::ServerSample& sample)
{
    m_page->addSample(sample);
    for (const Incident& i : sample.incidents)
        for (ChartWidget* c : m_charts())
            c->setSpan(i.key(), i.start, {}, i.title);
}

void IncidentFeed::setNotify(bool on)
{
    m_notify = on;
    if (on && !m_tray && QSystemTrayIcon::isSystemTrayAvailable()) {
        m_tray = new QSystemTrayIcon(QGuiApplication::windowIcon(), this);
        m_tray->setToolTip(tr("HTAP Studio"));
        m_tray->show();
    }
    if (m_tray)
        m_tray->setVisible(on);
}

void IncidentFeed::show(const QList<Incident>& incidents, bool live)
{
    m_page->addIncidents(incidents);
    for (const Incident& i : incidents) {
        for (ChartWidget* c : m_charts())
            c->setSpan(i.key(), i.start, i.end, i.title);
        // A notification when one starts, not at each update of its worst.
        if (live && m_notify && m_tray && i.isOpen() && i.start.secsTo(QDateTime::currentDateTimeUtc()) < 60
            && !m_announced.contains(i.key())) {
            m_announced.insert(i.key());
            m_tray->showMessage(tr("HTAP Studio: %1").arg(m_server ? m_server->label() : QString()), i.title + u'\n' + i.detail,
                QSystemTrayIcon::Warning);
        }
    }
}

} // namespace htap::ui
