#pragma once

#include "monitorpage.h"

#include <mv/mvservice.h>

#include <QHash>
#include <QMap>
#include <QPointer>

class QFrame;
class QLabel;
class QPushButton;
class QTableView;
class QTableWidget;

#include <monitor/activitycollector.h>
#include <monitor/targets.h>

namespace htap::ui {

class ChartWidget;
class SnapshotTableModel;
class ViewJobs;

/// Materialized views and incrementally maintained ones: mode, staleness, pending changes,
/// last refresh, size, whether CONCURRENTLY can run, schedule; actions (refresh, refresh
/// concurrently, merge, rebuild, cancel, incremental on/off, schedule) on their own connections;
/// staleness over time and the refresh log with its durations.
class ViewsPage : public MonitorPage
{
    Q_OBJECT
public:
    explicit ViewsPage(QWidget* parent = nullptr);
    /// Monitor > Targets: a row is red when its view is past its freshness target.
    void setTargets(const htap::monitor::Targets& targets);
    /// The server shown: its collector's state enables the actions, its jobs run them (each
    /// server keeps its own, so its schedules go on while another is shown). nullptr: none.
    void setServer(htap::monitor::ActivityCollector* collector, ViewJobs* jobs);
    QString title() const override { return tr("Views"); }
    void addSample(const htap::monitor::ServerSample& sample) override;
    void addPastSample(const htap::monitor::ServerSample& sample) override;
    void addGap(const QDateTime& at) override;
    void clear() override;
    QList<ChartWidget*> charts() const override;
    SnapshotTableModel* model() const { return m_model; }
    /// The shown server's jobs (an idle set when none is shown).
    ViewJobs* jobs() const { return m_jobs; }
    /// Selects a view by its schema.name label (tests, --page).
    void selectView(const QString& label);
    QPushButton* button(const QString& objectName) const;
    /// The action a button starts, without asking (tests drive the page through this).
    void runAction(const QString& buttonName, bool confirmed);

Q_SIGNALS:
    void message(bool ok, const QString& text);

private:
    QString currentView() const;
    const htap::monitor::ViewState* viewState(const QString& label) const;
    void updateButtons();
    void rebuildRows();
    void act(const QString& buttonName, bool confirmed);
    void editSchedule();
    void showLog(const QList<htap::mv::RefreshLogEntry>& entries);
    /// Whether a running job waits on a lock, and whose: shown in the wait bar.
    void showLockWait(const htap::monitor::LockSample& locks);
    void actOnBlocker(htap::monitor::BackendAction::Kind kind);

    QPointer<htap::monitor::ActivityCollector> m_collector;
    ViewJobs* m_noJobs; ///< stands in when no server is shown, so m_jobs is never null
    ViewJobs* m_jobs;
    SnapshotTableModel* m_model;
    QTableView* m_table;
    QLabel* m_note;
    QLabel* m_status;
    ChartWidget* m_chart;
    ChartWidget* m_durations;
    QDateTime m_now; ///< the newest sample's time: where the charts' window ends
    htap::monitor::Targets m_targets; ///< freshness targets: a row is red past its view's
    QTableWidget* m_log;
    QHash<QString, QPushButton*> m_buttons;
    QMap<QString, int> m_series;
    QMap<QString, int> m_durationSeries;
    QList<htap::monitor::ViewState> m_views;
    QDateTime m_sampledAt;
    QStringList m_lastMessages;
    QFrame* m_waitBar;      ///< a job waiting on a lock: who holds it, and what to do
    QLabel* m_waitText;
    QPushButton* m_waitCancel;
    QPushButton* m_waitTerminate;
    QPushButton* m_waitStop;
    QString m_waitView;     ///< the job waiting
    int m_blockerPid = 0;   ///< the session it waits for
    QHash<QString, QString> m_lastBlocker; ///< per view: who held the lock it last waited for

public:
    /// The wait bar's text (tests).
    QString lockWaitText() const;
};

} // namespace htap::ui
