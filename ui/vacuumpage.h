#pragma once

#include "monitorpage.h"

#include <QMap>

class QLabel;
class QTableView;

namespace htap::ui {

class ChartWidget;
class SnapshotTableModel;

/// Vacuum lag: tables by urgency (dead tuples against their own autovacuum trigger), who
/// holds the xmin horizon back, running vacuums, and dead tuples and horizon age over time.
class VacuumPage : public MonitorPage
{
    Q_OBJECT
public:
    explicit VacuumPage(QWidget* parent = nullptr);
    QString title() const override { return tr("Vacuum"); }
    void addSample(const htap::monitor::ServerSample& sample) override;
    void addPastSample(const htap::monitor::ServerSample& sample) override;
    void addGap(const QDateTime& at) override;
    void clear() override;
    QList<ChartWidget*> charts() const override;
    SnapshotTableModel* tables() const { return m_tables; }
    SnapshotTableModel* holders() const { return m_holders; }

private:
    SnapshotTableModel* m_tables;
    SnapshotTableModel* m_holders;
    QLabel* m_summary;
    ChartWidget* m_deadChart;
    ChartWidget* m_horizonChart;
    int m_horizonSeries;
    int m_standbySeries = -1;
    QMap<QString, int> m_tableSeries;
};

} // namespace htap::ui
