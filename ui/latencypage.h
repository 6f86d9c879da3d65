#pragma once

#include "monitorpage.h"

#include <monitor/targets.h>

#include <workload/runner.h>

class QLabel;

namespace htap::ui {

class ChartWidget;
class SnapshotTableModel;

/// OLTP against OLAP: server-side mean statement time and throughput per class from
/// pg_stat_statements deltas, the oldest statement still running per class, with the seed's
/// targets drawn as reference lines; the latest figures per role in a table.
class LatencyPage : public MonitorPage
{
    Q_OBJECT
public:
    explicit LatencyPage(QWidget* parent = nullptr);
    QString title() const override { return tr("Latency"); }
    void addSample(const htap::monitor::ServerSample& sample) override;
    void addPastSample(const htap::monitor::ServerSample& sample) override;
    void addGap(const QDateTime& at) override;
    /// The reference lines follow the targets.
    void setTargets(const htap::monitor::Targets& targets);
    void clear() override;
    /// A second of a running scenario: its client-side p99 per class, from the intended start,
    /// drawn dashed next to the server-side means (order workloads are OLTP, the rest OLAP).
    void addScenarioSecond(const htap::workload::Scenario& scenario, const htap::workload::SecondStats& second);
    QList<ChartWidget*> charts() const override { return {m_mean, m_throughput, m_inflight}; }
    ChartWidget* meanChart() const { return m_mean; }
    SnapshotTableModel* roles() const { return m_roles; }

private:
    ChartWidget* m_mean;
    ChartWidget* m_throughput;
    ChartWidget* m_inflight;
    SnapshotTableModel* m_roles;
    int m_scenarioOltp = -1;
    int m_scenarioOlap = -1;
    QLabel* m_note;
};

} // namespace htap::ui
