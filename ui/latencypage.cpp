#include "latencypage.h"

#include "chartwidget.h"
#include "snapshottablemodel.h"
#include "viewutil.h"

#include <core/format.h>

#include <QGridLayout>

#include <limits>
#include <QLabel>
#include <QTableView>

namespace htap::ui {

namespace {
const QColor kOltp(0x1f, 0x77, 0xb4);
const QColor kOlap(0xff, 0x7f, 0x0e);
const QColor kOther(0x7f, 0x7f, 0x7f);
} // namespace

LatencyPage::LatencyPage(QWidget* parent)
    : MonitorPage(parent)
    , m_mean(new ChartWidget(tr("Mean statement time over the last 10 s (server side, pg_stat_statements)"), tr("ms"), this))
    , m_throughput(new ChartWidget(tr("Statements finished per second"), tr("calls/s"), this))
    , m_inflight(new ChartWidget(tr("Oldest statement still running (pg_stat_activity)"), tr("s"), this))
    , m_roles(new SnapshotTableModel({tr("role"), tr("class"), tr("calls/s"), tr("mean ms, 10 s"), tr("calls, 10 s"),
                                         tr("plan ms"), tr("rows/s"), tr("temp blocks"), tr("running"), tr("oldest running")},
          this))
    , m_note(new QLabel(this))
{
    for (ChartWidget* c : {m_mean, m_throughput, m_inflight}) {
        c->addSeries(tr("OLTP"), kOltp);
        c->addSeries(tr("OLAP"), kOlap);
        c->addSeries(tr("other"), kOther);
    }
    m_mean->setLogarithmic(true);
    m_mean->setShowPoints(true); // reports finish now and then: each one is a point
    setTargets({});
    m_note->setWordWrap(true);
    auto* table = makeSnapshotTableView(m_roles, this);
    table->setObjectName(QStringLiteral("latencyRoles"));
    auto* layout = new QGridLayout(this);
    layout->addWidget(m_note, 0, 0, 1, 2);
    layout->addWidget(m_mean, 1, 0, 1, 2);
    layout->addWidget(m_throughput, 2, 0);
    layout->addWidget(m_inflight, 2, 1);
    layout->addWidget(table, 3, 0, 1, 2);
    layout->setRowStretch(1, 3);
    layout->setRowStretch(2, 2);
    layout->setRowStretch(3, 2);
}

void LatencyPage::setTargets(const htap::monitor::Targets& t)
{
    // The targets (Monitor > Targets…; the seed's by default: OLTP 50 ms, OLAP 1 s). A mean
    // above them is certainly a miss; percentiles come from the scenario engine's client side.
    for (ChartWidget* c : {m_mean, m_inflight})
        c->clearThresholds();
    m_mean->addThreshold(t.oltpSeconds * 1000, tr("OLTP target %1").arg(formatSeconds(t.oltpSeconds)), kOltp);
    m_mean->addThreshold(t.olapSeconds * 1000, tr("OLAP target %1").arg(formatSeconds(t.olapSeconds)), kOlap);
    m_inflight->addThreshold(t.oltpSeconds, tr("OLTP target %1").arg(formatSeconds(t.oltpSeconds)), kOltp);
    m_inflight->addThreshold(t.olapSeconds, tr("OLAP target %1").arg(formatSeconds(t.olapSeconds)), kOlap);
}

void LatencyPage::addPastSample(const htap::monitor::ServerSample& s)
{
    if (!s.latency)
        return;
    if (!s.latency->hasDeltas) {
        m_mean->addGap(s.sampledAt);
        m_throughput->addGap(s.sampledAt);
        return;
    }
    for (int c = 0; c < s.latency->classes.size() && c < 3; ++c) {
        const auto& f = s.latency->classes[c];
        // No statement finished in the window: no mean to draw (a gap), not a misleading zero.
        m_mean->addPoint(c, s.sampledAt, f.windowCalls > 0 ? f.windowMeanExecMs : std::numeric_limits<double>::quiet_NaN());
        m_throughput->addPoint(c, s.sampledAt, f.callsPerSecond);
        m_inflight->addPoint(c, s.sampledAt, f.oldestActiveSeconds);
    }
}

void LatencyPage::addSample(const htap::monitor::ServerSample& s)
{
    if (s.unavailable.contains(QStringLiteral("latency")))
        m_note->setText(s.unavailable.value(QStringLiteral("latency")));
    addPastSample(s);
    if (!s.latency)
        return;
    if (!s.latency->hasDeltas) {
        m_note->setText(tr("Baseline: %1").arg(s.latency->baselineReason));
        return;
    }
    m_note->setText(tr("OLTP and OLAP by role (Monitor > Workload classes; pg_stat_statements keys by role). "
                       "Statements count when they finish; the right-hand chart shows those still running."));
    QList<SnapshotTableModel::Row> rows;
    for (const auto& f : s.latency->roles) {
        SnapshotTableModel::Row r;
        r.key = f.name;
        const QString cls = htap::monitor::toString(f.workloadClass).toUpper();
        r.display = {f.name, cls, QString::number(f.callsPerSecond, 'f', 1),
            f.windowCalls > 0 ? QString::number(f.windowMeanExecMs, 'f', 3) : QStringLiteral("–"),
            htap::core::formatCount(f.windowCalls), QString::number(f.meanPlanMs, 'f', 3),
            QString::number(f.rowsPerSecond, 'f', 0), f.tempBlocksWritten, f.activeNow, formatSeconds(f.oldestActiveSeconds)};
        r.sort = {f.name, cls, f.callsPerSecond, f.windowMeanExecMs, f.windowCalls, f.meanPlanMs, f.rowsPerSecond,
            f.tempBlocksWritten, f.activeNow, f.oldestActiveSeconds};
        rows.append(r);
    }
    m_roles->setRows(rows);
}

void LatencyPage::addScenarioSecond(const htap::workload::Scenario& scenario, const htap::workload::SecondStats& second)
{
    if (m_scenarioOltp < 0) {
        m_scenarioOltp = m_mean->addSeries(tr("OLTP p99, scenario (client)"), kOltp, Qt::DashLine);
        m_scenarioOlap = m_mean->addSeries(tr("OLAP p99, scenario (client)"), kOlap, Qt::DashLine);
    }
    double oltp = -1, olap = -1;
    for (auto it = second.workloads.cbegin(); it != second.workloads.cend(); ++it) {
        const auto* w = scenario.workload(it.key());
        if (!w || it->committed + it->rolledBack + it->failed == 0)
            continue;
        double& worst = w->kind == htap::workload::Workload::Kind::Order ? oltp : olap;
        worst = std::max(worst, it->latency.p99);
    }
    const double nan = std::numeric_limits<double>::quiet_NaN();
    m_mean->addPoint(m_scenarioOltp, second.at, oltp >= 0 ? oltp : nan);
    m_mean->addPoint(m_scenarioOlap, second.at, olap >= 0 ? olap : nan);
}

void LatencyPage::addGap(const QDateTime& at)
{
    for (ChartWidget* c : charts())
        c->addGap(at);
}

void LatencyPage::clear()
{
    for (ChartWidget* c : charts())
        c->clear();
    m_roles->setRows({});
}

} // namespace htap::ui
