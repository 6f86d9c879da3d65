#pragma once

#include "monitorpage.h"

#include <monitor/activitycollector.h>

#include <QMap>

class QLabel;
class QPushButton;
class QTreeView;

namespace htap::ui {

class BlockingTreeModel;
class ChartWidget;

/// Who blocks whom right now (the blocking tree) and how many sessions waited, by lock type,
/// over time. Actions on the selected session: cancel its query (offered first), terminate
/// it, roll back a prepared transaction; each asks for confirmation.
class LocksPage : public MonitorPage
{
    Q_OBJECT
public:
    explicit LocksPage(QWidget* parent = nullptr);
    /// The server whose sessions the actions reach (the one shown); nullptr: none.
    void setCollector(htap::monitor::ActivityCollector* collector);
    QString title() const override { return tr("Locks"); }
    void addSample(const htap::monitor::ServerSample& sample) override;
    void addPastSample(const htap::monitor::ServerSample& sample) override;
    void addGap(const QDateTime& at) override;
    void clear() override;
    QList<ChartWidget*> charts() const override;
    BlockingTreeModel* model() const { return m_model; }
    /// Selects the session of pid in the tree (a culprit clicked on the Overview); false when it
    /// is not in the tree (it no longer blocks or waits).
    bool selectPid(int pid);
    QTreeView* view() const { return m_view; }

Q_SIGNALS:
    void message(bool ok, const QString& text);

private:
    void updateButtons();
    void act(htap::monitor::BackendAction::Kind kind);

    QPointer<htap::monitor::ActivityCollector> m_collector;
    BlockingTreeModel* m_model;
    QTreeView* m_view;
    ChartWidget* m_chart;
    QLabel* m_summary;
    QPushButton* m_cancel;
    QPushButton* m_terminate;
    QPushButton* m_rollback;
    QMap<QString, int> m_series; ///< lock type -> chart series
    int m_totalSeries;
};

} // namespace htap::ui
