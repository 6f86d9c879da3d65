#pragma once

#include <monitor/serversample.h>

#include <QObject>
#include <QPointer>
#include <QSet>

#include <functional>

class QSystemTrayIcon;

namespace htap::store {
class HistoryStore;
}

namespace htap::ui {

class ChartWidget;
class IncidentsPage;
class MonitoredServer;

/// Where the shown server's incidents go: the Incidents page, a shaded span on every chart,
/// and (when asked for) a desktop notification as one starts. Past ones come from the history
/// when a server is shown.
class IncidentFeed : public QObject
{
    Q_OBJECT
public:
    IncidentFeed(IncidentsPage* page, std::function<QList<ChartWidget*>()> charts, htap::store::HistoryStore* history,
        QObject* parent = nullptr);

    /// The server shown now (nullptr: none): its incidents of the last `seconds` are read back.
    void showServer(MonitoredServer* server, double seconds = 3600);
    /// A live sample of the shown server: its open incidents' spans reach it.
    void addSample(const htap::monitor::ServerSample& sample);
    void setNotify(bool on);

private:
    void show(const QList<htap::monitor::Incident>& incidents, bool live);

    IncidentsPage* m_page;
    std::function<QList<ChartWidget*>()> m_charts;
    htap::store::HistoryStore* m_history;
    QPointer<MonitoredServer> m_server;
    QMetaObject::Connection m_serverConnection;
    quint64 m_request = 0;
    QString m_requestServer;
    QSystemTrayIcon* m_tray = nullptr;
    bool m_notify = false;
    QSet<QString> m_announced; ///< incidents already notified, by key
};

} // namespace htap::ui
