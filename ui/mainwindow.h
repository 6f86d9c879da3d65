#pragma once

#include <monitor/activitycollector.h>
#include <pg/conninfo.h>

#include <QFutureWatcher>
#include <QHash>
#include <QPointer>
#include <QSet>
#include <QElapsedTimer>
#include <QMainWindow>
#include <QTimer>

#include <functional>

class QLabel;
class QListWidget;
class QComboBox;
class QFrame;
class QStackedWidget;

namespace htap::store {
class HistoryStore;
}

namespace htap::report {
struct Snapshot;
}

namespace htap::ui {

struct ExportRequest;
class ActivityPage;
class Banner;
class MonitoredServer;
class PasswordVault;
class LatencyPage;
class LocksPage;
class MonitorPage;
class OverviewPage;
class IncidentsPage;
class IncidentFeed;
class RolesPage;
class RouterPage;
class AdvisorPage;
class ScenariosPage;
class VacuumPage;
class ReplicationPage;
class ViewsPage;

/// The main window: the server list and the page list on the left, pages on the right, a
/// banner for errors and a status bar with the shown server's state. Every server in the list
/// is sampled at once, each on its own thread and connection; the pages show the selected one.
/// All network work happens on worker threads.
class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    /// Adds a server to the list (or picks the one with that conninfo), shows it and connects
    /// (returns at once). A password in info is kept in memory only.
    void connectTo(const htap::pg::ConnInfo& info);
    /// connectTo, and once the server accepts the password, keeps it in the desktop's keyring.
    void connectAndRemember(const htap::pg::ConnInfo& info);
    PasswordVault* passwordVault() const { return m_vault; }
    /// The row of that server (same options but secrets, in any order), or nullptr.
    MonitoredServer* findServer(const htap::pg::ConnInfo& info) const;
    /// Whether the server list and selection are saved for the next start (not with --no-restore).
    void setServerListSaved(bool saved) { m_saveServerList = saved; }
    /// The servers in the list, in its order.
    QList<MonitoredServer*> servers() const { return m_servers; }
    /// The server the pages show; nullptr when none (or a snapshot is shown offline).
    MonitoredServer* selectedServer() const { return m_selected; }
    /// Shows server in the pages: they are cleared and draw its recent samples, then follow it.
    void selectServer(MonitoredServer* server);
    /// Stops monitoring server and takes it off the list (and the settings). Never waits for it.
    void removeServer(MonitoredServer* server);
    /// Connects to the servers remembered in the settings (on the collectors' threads).
    void restoreServers();
    /// Starts (creating on first use) the sandbox in dir on a worker thread, then connects.
    void startSandbox(const QString& dir = {});
    void showConnectDialog();
    void editClassifier();

    ActivityPage* activityPage() const { return m_activity; }
    OverviewPage* overviewPage() const { return m_overview; }
    IncidentsPage* incidentsPage() const { return m_incidents; }
    LatencyPage* latencyPage() const { return m_latency; }
    LocksPage* locksPage() const { return m_locks; }
    VacuumPage* vacuumPage() const { return m_vacuum; }
    ReplicationPage* replicationPage() const { return m_replication; }
    ViewsPage* viewsPage() const { return m_views; }
    ScenariosPage* scenariosPage() const { return m_scenarios; }
    RolesPage* rolesPage() const { return m_roles; }
    RouterPage* routerPage() const { return m_router; }
    AdvisorPage* advisorPage() const { return m_advisor; }
    htap::store::HistoryStore* history() const { return m_history; }
    /// Shows the page with that title (for tests and screenshots).
    /// Every page's title, in the order of the page list.
    QStringList pageTitles() const;
    void showPage(const QString& title);
    /// The selected server's collector; nullptr when none is selected.
    htap::monitor::ActivityCollector* collector() const;
    QString connectionStateText() const;
    QString bannerText() const;

    /// File > Export snapshot…: the dialog, then exportSnapshotTo. A window picked on a chart's
    /// time axis (Shift + drag) comes preselected.
    void exportSnapshot(const QDateTime& pickedFrom = {}, const QDateTime& pickedTo = {});
    /// Writes a snapshot of the connected server's history window in each format (worker thread);
    /// answers with snapshotExported.
    void exportSnapshotTo(const ExportRequest& request);
    /// File > Open snapshot…: shows a snapshot file in the pages, offline; answers with snapshotOpened.
    void openSnapshotFile(const QString& path);
    /// File > Compare snapshots…
    void compareSnapshotFiles(const QString& a, const QString& b);
    /// File > Snapshots in the history…: those kept in the history file, to open offline.
    void showStoredSnapshots();
    /// Opens snapshot #id of the history file offline; answers with snapshotOpened.
    void openStoredSnapshot(qint64 id);
    /// Shows [from, to] on every chart (the time window's "custom range…"), loading what is
    /// missing from the history; the charts stop following live data until a preset is chosen.
    void showCustomRange(const QDateTime& from, const QDateTime& to);
    /// The snapshot being viewed offline, empty when live.
    QString offlineSnapshot() const { return m_offline; }
    /// Pause (or a custom range): the pages hold still until resumed.
    bool isFrozen() const { return m_frozen; }
    void setPaused(bool paused);

Q_SIGNALS:
    void snapshotExported(const QStringList& files, const QString& error);
    void snapshotOpened(const QString& title, const QString& error);
    /// The selected server's connection state changed (or another server was selected).
    void selectedStateChanged(htap::monitor::ConnectionState state);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    /// Runs f now, or once no modal dialog is open (background completions that would change
    /// the shown server wait for the operator's confirmation dialog to close).
    void whenNoDialog(const std::function<void()>& f);
    struct SandboxOutcome {
        bool ok = false;
        QString error;
        htap::pg::ConnInfo info;
        bool standbyJob = false; ///< the job was Add standby
        QString standbyDir;      ///< the standby it added
    };

    void createActions();
    /// Sandbox > Add standby: a streaming standby of the sandbox (hot_standby_feedback the
    /// operator's choice), made on a worker thread, then monitored beside its primary.
    void addSandboxStandby();
    void createServerList();
    MonitoredServer* addServer(const htap::pg::ConnInfo& info);
    void onServerChanged(MonitoredServer* server);
    void onServerConnected(MonitoredServer* server);
    void onStateChanged(MonitoredServer* server, htap::monitor::ConnectionState state);
    void askPassword(MonitoredServer* server);
    void showSelectedState();
    void updateServersSummary();
    void fitServerList();
    void saveServers();
    /// Loads from the history what the time window shows of the selected server and the pages
    /// have not drawn yet.
    void loadShownWindow();
    /// Draws the server's recent samples on the pages (after they were cleared).
    void drawRecent(const MonitoredServer* server);
    void onSandboxFinished();
    void stopSandbox();
    void setStatusDot(const QColor& colour, const QString& text);
    void addPage(MonitorPage* page);
    QWidget* scrollable(QWidget* page);
    /// Clears the pages and draws the shown server's recent samples and history window again.
    void redrawShown();
    void setFrozen(bool frozen);
    void markGap();
    void onSample(MonitoredServer* server, const htap::monitor::ServerSample& sample);
    void loadHistory(const QDateTime& from, const QDateTime& to);
    void onHistoryLoaded(quint64 request, const QList<QJsonObject>& documents);
    void showSnapshot(const htap::report::Snapshot& snapshot, const QString& path);
    struct LoadedSnapshot;
    /// Runs load on a worker thread, then shows the snapshot offline (or says why it cannot);
    /// label names it in messages. Answers with snapshotOpened.
    void loadSnapshot(const QString& label, const std::function<LoadedSnapshot()>& load);
    /// Draws sample documents, oldest first, on every page, a pause of over 5 s as a gap. Stops
    /// at stopAt (where live samples begin). lastIsCurrent: the last one fills the tables too
    /// (a snapshot's end); otherwise a gap follows it (history). Returns how many were drawn.
    int replay(const QList<QJsonObject>& documents, const QDateTime& stopAt, bool lastIsCurrent);
    void chooseCustomRange();
    void editTargets();
    /// A culprit on the Overview: its page, its row.
    void showCulprit(const QString& kind, const QString& id);

    QList<MonitoredServer*> m_servers;
    MonitoredServer* m_selected = nullptr;
    bool m_saveServerList = true; ///< false with --no-restore
    QListWidget* m_serverList;
    Banner* m_banner;
    PasswordVault* m_vault;
    /// Passwords to keep in the keyring once their server accepts them (in memory till then).
    QHash<MonitoredServer*, QString> m_rememberOnConnect;
    /// Servers whose keyring password was tried since their last connect: the next ask is the user.
    QSet<MonitoredServer*> m_vaultTried;
    QListWidget* m_pageList;
    QStackedWidget* m_pages;
    QList<MonitorPage*> m_monitorPages;
    OverviewPage* m_overview;
    IncidentsPage* m_incidents;
    IncidentFeed* m_incidentFeed;
    LatencyPage* m_latency;
    ActivityPage* m_activity;
    LocksPage* m_locks;
    VacuumPage* m_vacuum;
    ReplicationPage* m_replication;
    ViewsPage* m_views;
    ScenariosPage* m_scenarios;
    RolesPage* m_roles;
    RouterPage* m_router;
    AdvisorPage* m_advisor;
    QDateTime m_lastSampleAt;
    htap::store::HistoryStore* m_history;
    QComboBox* m_window = nullptr;
    QString m_server;          ///< endpoint of the server shown, the history key
    QDateTime m_historyFrom;   ///< history already loaded back to here for m_server
    QDateTime m_liveFrom;      ///< first sample of m_server in this session (the rest is history)
    quint64 m_historyRequest = 0;
    QHash<quint64, QString> m_historyRequests; ///< pending history loads and the server each was for
    QLabel* m_stateDot;
    QLabel* m_stateLabel;
    QLabel* m_serversSummary; ///< "2 of 3 servers up", with more than one
    QAction* m_connectAction = nullptr;
    QAction* m_reconnectAction = nullptr;
    QAction* m_removeAction = nullptr;
    QAction* m_sandboxStartAction = nullptr;
    QAction* m_sandboxStopAction = nullptr;
    QFutureWatcher<SandboxOutcome> m_sandboxJob;
    QAction* m_sandboxStandbyAction = nullptr;
    /// A monitored standby's primary among the monitored servers, from its WAL receiver.
    struct Upstream {
        QPointer<MonitoredServer> primary;
        double replayAgeSeconds = -1;
    };
    QHash<MonitoredServer*, Upstream> m_upstreams;
    void placeStandby(MonitoredServer* server, const htap::monitor::ServerSample& sample);
    QString m_sandboxDir;
    QString m_offline; ///< the snapshot file shown instead of a live server
    std::pair<QDateTime, QDateTime> m_customRange; ///< the custom range shown, invalid for a preset
    QAction* m_pauseAction = nullptr;
    bool m_frozen = false;           ///< Pause: the pages show m_frozenAt
    QDateTime m_frozenAt;
    int m_missedWhileFrozen = 0;     ///< samples to draw on resume
    QFrame* m_pauseBar = nullptr;
    QLabel* m_pauseText = nullptr;
    QTimer* m_silence = nullptr;   ///< while the shown server does not answer: "no data for N s"
    void showSilence();
};

} // namespace htap::ui
