#pragma once

#include <monitor/activitycollector.h>
#include <monitor/incidents.h>
#include <pg/conninfo.h>

#include <QDateTime>
#include <QElapsedTimer>
#include <QList>
#include <QObject>

namespace htap::store {
class HistoryStore;
}

namespace htap::ui {

class ViewJobs;

/// One server of the window's server list: its collector (own thread, own monitoring
/// connection), its app-run view jobs and schedules, its recent samples, its state. It samples
/// and records to the history whether or not the pages show it, so several servers are watched
/// at once and none waits for another.
class MonitoredServer : public QObject
{
    Q_OBJECT
public:
    /// What the pages need to draw the server again when it is selected: a sample and whether
    /// the data broke after it (a lost connection).
    struct Recent {
        htap::monitor::ServerSample sample;
        bool gapAfter = false;
    };

    /// info may carry a typed password: it goes to the collector (memory only), never to
    /// info() or the settings.
    MonitoredServer(const htap::pg::ConnInfo& info, htap::store::HistoryStore* history, QObject* parent = nullptr);
    ~MonitoredServer() override;

    htap::monitor::ActivityCollector* collector() const { return m_collector; }
    ViewJobs* jobs() const { return m_jobs; }
    /// The connection as the list remembers it: without a password.
    const htap::pg::ConnInfo& info() const { return m_info; }
    /// What the list shows: the endpoint once connected, the conninfo before.
    QString label() const;
    /// user@host:port/db as libpq resolved it, the history's key; empty before the first connect.
    QString endpoint() const { return m_collector->server().endpoint; }
    htap::monitor::ConnectionState state() const { return m_collector->state(); }
    QString stateText() const { return m_stateText; }
    /// Up, connecting or down, in a word or two (the server list's second line).
    QString statusWord() const;
    /// The same with the reason when down (tooltips).
    QString statusLine() const;
    QColor statusColour() const;

    /// Connects (again) with the conninfo given at first, or with this one (a typed password).
    void connectNow(const htap::pg::ConnInfo& info = {});
    /// The server asked for a password while it was not the one shown: ask when it is selected.
    bool needsPassword() const { return m_needsPassword; }

    /// The last hour of this session's samples, oldest first; only the last is complete (older
    /// ones keep what the charts draw, so a server with thousands of sessions does not fill
    /// the memory with blocking trees).
    const QList<Recent>& recent() const { return m_recent; }
    static constexpr int kRecentSeconds = 300; ///< the default window; older comes from the history file

    /// What healthy means for this server; incidents are found against it.
    void setTargets(const htap::monitor::Targets& targets) { m_detector.setTargets(targets); }
    const htap::monitor::Targets& targets() const { return m_detector.targets(); }
    /// Incidents open now (the latest sample's, and the server not answering).
    QList<htap::monitor::Incident> openIncidents() const { return m_detector.openIncidents(); }
    /// Seconds since its last sample arrived (-1: none yet): how long the pages have had no data.
    double secondsSinceSample() const { return m_sinceSample.isValid() ? m_sinceSample.elapsed() / 1000.0 : -1; }
    /// The operator acted on a session: a blocking episode it ends says so.
    void noteAction(int pid, const QString& what) { m_detector.noteAction(pid, what); }

    /// Stops sampling and deletes itself once the collector's thread is free: at once for an
    /// idle collector, later for one stuck on a host that does not answer (the GUI never waits).
    void retire();

Q_SIGNALS:
    /// State, status text or label changed: the server list redraws its row.
    void changed();
    /// A sample with each class's health and the open incidents (IncidentDetector::evaluate).
    void sampleEvaluated(const htap::monitor::ServerSample& sample);
    /// Incidents that opened, got worse or ended.
    void incidentsChanged(const QList<htap::monitor::Incident>& incidents);

private:
    void onSample(const htap::monitor::ServerSample& sample);
    void onState(htap::monitor::ConnectionState state, const QString& text);

    htap::monitor::ActivityCollector* m_collector;
    ViewJobs* m_jobs;
    htap::store::HistoryStore* m_history;
    htap::pg::ConnInfo m_info;
    htap::pg::ConnInfo m_connectInfo; ///< with a typed password, memory only
    QString m_stateText;
    bool m_needsPassword = false;
    bool m_retiring = false;
    QList<Recent> m_recent;
    htap::monitor::IncidentDetector m_detector;
    QElapsedTimer m_sinceSample;
    void record(const QList<htap::monitor::Incident>& changed);
};

} // namespace htap::ui
