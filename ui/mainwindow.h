#pragma once

#include <monitor/activitycollector.h>
#include <pg/conninfo.h>

#include <QFutureWatcher>
#include <QHash>
#include <QMainWindow>

class QLabel;
class QListWidget;
class QComboBox;
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
class LatencyPage;
class LocksPage;
class MonitorPage;
class OverviewPage;
class RolesPage;
class ScenariosPage;
class VacuumPage;
class ViewsPage;

/// The main window: a page list on the left, pages on the right, a banner for errors and a
/// status bar with the connection state. All network work happens on worker threads.
class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    /// Connects the monitor to a server (returns at once).
    void connectTo(const htap::pg::ConnInfo& info);
    /// Starts (creating on first use) the sandbox in dir on a worker thread, then connects.
    void startSandbox(const QString& dir = {});
    void showConnectDialog();
    void editClassifier();

    ActivityPage* activityPage() const { return m_activity; }
    OverviewPage* overviewPage() const { return m_overview; }
    LatencyPage* latencyPage() const { return m_latency; }
    LocksPage* locksPage() const { return m_locks; }
    VacuumPage* vacuumPage() const { return m_vacuum; }
    ViewsPage* viewsPage() const { return m_views; }
    ScenariosPage* scenariosPage() const { return m_scenarios; }
    RolesPage* rolesPage() const { return m_roles; }
    htap::store::HistoryStore* history() const { return m_history; }
    /// Shows the page with that title (for tests and screenshots).
    void showPage(const QString& title);
    htap::monitor::ActivityCollector* collector() const { return m_collector; }
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

Q_SIGNALS:
    void snapshotExported(const QStringList& files, const QString& error);
    void snapshotOpened(const QString& title, const QString& error);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    struct SandboxOutcome {
        bool ok = false;
        QString error;
        htap::pg::ConnInfo info;
    };

    void createActions();
    void onStateChanged(htap::monitor::ConnectionState state, const QString& text);
    void onPasswordRequired(const htap::pg::ConnInfo& info);
    void onSandboxFinished();
    void stopSandbox();
    void setStatusDot(const QColor& colour, const QString& text);
    void addPage(MonitorPage* page);
    void markGap();
    void onSample(const htap::monitor::ServerSample& sample);
    void loadHistory(const QDateTime& from, const QDateTime& to);
    void onHistoryLoaded(quint64 request, const QList<QJsonObject>& documents);
    void showSnapshot(const htap::report::Snapshot& snapshot, const QString& path);
    /// Draws sample documents, oldest first, on every page, a pause of over 5 s as a gap. Stops
    /// at stopAt (where live samples begin). lastIsCurrent: the last one fills the tables too
    /// (a snapshot's end); otherwise a gap follows it (history). Returns how many were drawn.
    int replay(const QList<QJsonObject>& documents, const QDateTime& stopAt, bool lastIsCurrent);
    void chooseCustomRange();

    htap::monitor::ActivityCollector* m_collector;
    Banner* m_banner;
    QListWidget* m_pageList;
    QStackedWidget* m_pages;
    QList<MonitorPage*> m_monitorPages;
    OverviewPage* m_overview;
    LatencyPage* m_latency;
    ActivityPage* m_activity;
    LocksPage* m_locks;
    VacuumPage* m_vacuum;
    ViewsPage* m_views;
    ScenariosPage* m_scenarios;
    RolesPage* m_roles;
    QDateTime m_lastSampleAt;
    htap::store::HistoryStore* m_history;
    QComboBox* m_window = nullptr;
    QString m_server;          ///< endpoint of the connected server, the history key
    QDateTime m_historyFrom;   ///< history already loaded back to here for m_server
    QDateTime m_liveFrom;      ///< first live sample from m_server in this session
    quint64 m_historyRequest = 0;
    QHash<quint64, QString> m_historyRequests; ///< pending history loads and the server each was for
    QLabel* m_stateDot;
    QLabel* m_stateLabel;
    QAction* m_connectAction = nullptr;
    QAction* m_disconnectAction = nullptr;
    QAction* m_sandboxStartAction = nullptr;
    QAction* m_sandboxStopAction = nullptr;
    QFutureWatcher<SandboxOutcome> m_sandboxJob;
    QString m_sandboxDir;
    QString m_offline; ///< the snapshot file shown instead of a live server
    std::pair<QDateTime, QDateTime> m_customRange; ///< the custom range shown, invalid for a preset
    QAction* m_pauseAction = nullptr;
};

} // namespace htap::ui
