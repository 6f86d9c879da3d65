#pragma once

#include "monitorpage.h"

#include <monitor/targets.h>

#include <workload/runner.h>

class QLabel;
class QTabWidget;

namespace htap::ui {

class ChartWidget;
class SnapshotTableModel;

/// OLTP against OLAP: server-side mean statement time and throughput per class from
/// pg_stat_statements deltas, the oldest statement still running per class, with the seed's
/// targets drawn as reference lines; what each class waits on (pg_wait_sampling) and the CPU it
/// takes (pg_stat_kcache), where the server has them; each class's top statements, its top
/// wait events and the latest figures per role in tables.
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
    QList<ChartWidget*> charts() const override
    {
        return {m_mean, m_throughput, m_inflight, m_cpu, m_waits[0], m_waits[1]};
    }
    ChartWidget* meanChart() const { return m_mean; }
    /// What the OLTP (0) or OLAP (1) sessions wait on, stacked by wait event type.
    ChartWidget* waitChart(int workloadClass) const { return m_waits[workloadClass]; }
    ChartWidget* cpuChart() const { return m_cpu; }
    SnapshotTableModel* roles() const { return m_roles; }
    /// The top statements of a class (0 OLTP, 1 OLAP, 2 other).
    SnapshotTableModel* topStatements(int workloadClass) const { return m_statements[workloadClass]; }
    SnapshotTableModel* topWaits() const { return m_topWaits; }

private:
    void addWaits(const htap::monitor::ServerSample& s);
    void addCpu(const htap::monitor::ServerSample& s);
    void showTopStatements(const htap::monitor::TopStatementsSample& top);
    void showTopWaits(const htap::monitor::WaitProfileSample& waits);
    /// Which stacked series of a wait chart a wait event type goes to.
    int waitSeries(int chart, const QString& type);

    ChartWidget* m_mean;
    ChartWidget* m_throughput;
    ChartWidget* m_inflight;
    ChartWidget* m_cpu;
    ChartWidget* m_waits[2];
    SnapshotTableModel* m_roles;
    SnapshotTableModel* m_statements[3];
    SnapshotTableModel* m_topWaits;
    QTabWidget* m_tables;
    int m_scenarioOltp = -1;
    int m_scenarioOlap = -1;
    int m_cpuSeries[2] = {-1, -1}; ///< CPU-on samples per wait chart, added when a server has them
    QLabel* m_note;
};

} // namespace htap::ui
