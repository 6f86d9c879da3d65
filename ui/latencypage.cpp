#include "latencypage.h"

#include "chartwidget.h"
#include "snapshottablemodel.h"
#include "viewutil.h"

#include <core/format.h>

#include <QGridLayout>
#include <QLabel>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

#include <cmath>
#include <limits>

namespace htap::ui {

using htap::monitor::WorkloadClass;

namespace {
// The classes keep the palette's first two colours on every page (other: its grey).
QColor classColor(int workloadClass)
{
    return ChartWidget::seriesColor(workloadClass == 0 ? 0 : workloadClass == 1 ? 1 : 7);
}

/// The wait charts' series, bottom up, with their palette colours: lock waits (what OLTP
/// suffers from reports and other writers) at the bottom in red. Wait event types not listed
/// (BufferPin, Extension) go to "other"; on-CPU samples (newer pg_wait_sampling) get a series
/// of their own when a server has them.
struct WaitType {
    const char* name;
    int color;
};
constexpr WaitType kWaitTypes[] = {{"Lock", 3}, {"LWLock", 1}, {"IO", 0}, {"IPC", 4}, {"Timeout", 5}, {"Client", 6}, {"other", 7}};
constexpr int kOtherWaits = 6;
constexpr int kCpuColor = 2;

const char* kClassNames[] = {"OLTP", "OLAP", "other"};
} // namespace

LatencyPage::LatencyPage(QWidget* parent)
    : MonitorPage(parent)
    , m_mean(new ChartWidget(tr("Mean statement time over the last 10 s (server side, pg_stat_statements)"), tr("ms"), this))
    , m_throughput(new ChartWidget(tr("Statements finished per second"), tr("calls/s"), this))
    , m_inflight(new ChartWidget(tr("Oldest statement still running (pg_stat_activity)"), tr("s"), this))
    , m_cpu(new ChartWidget(tr("CPU of statements that finished, last 10 s (pg_stat_kcache)"), tr("cores"), this))
    , m_waits {new ChartWidget(tr("OLTP sessions waiting, by wait type, last 10 s (pg_wait_sampling)"), tr("sessions"), this),
          new ChartWidget(tr("OLAP sessions waiting, by wait type, last 10 s (pg_wait_sampling)"), tr("sessions"), this)}
    , m_roles(new SnapshotTableModel({tr("role"), tr("class"), tr("calls/s"), tr("mean ms, 10 s"), tr("calls, 10 s"),
                                         tr("plan ms"), tr("rows/s"), tr("temp blocks"), tr("running"), tr("oldest running")},
          this))
    , m_topWaits(new SnapshotTableModel({tr("class"), tr("wait event"), tr("time waited"), tr("sessions waiting (mean)"),
                                            tr("samples")},
          this))
    , m_tables(new QTabWidget(this))
    , m_note(new QLabel(this))
{
    for (ChartWidget* c : {m_mean, m_throughput, m_inflight, m_cpu}) {
        c->addSeries(tr("OLTP"), classColor(0));
        c->addSeries(tr("OLAP"), classColor(1));
        c->addSeries(tr("other"), classColor(2));
    }
    for (ChartWidget* c : m_waits) {
        c->setStacked(true);
        for (const WaitType& t : kWaitTypes)
            c->addSeries(QString::fromLatin1(t.name), ChartWidget::seriesColor(t.color));
    }
    m_mean->setLogarithmic(true);
    m_mean->setShowPoints(true); // reports finish now and then: each one is a point
    setTargets({});
    m_note->setWordWrap(true);

    const QStringList statementColumns {tr("total time"), tr("share of class"), tr("calls"), tr("mean"), tr("rows"),
        tr("role"), tr("database"), tr("statement (normalized, literals masked)")};
    for (int c = 0; c < 3; ++c) {
        m_statements[c] = new SnapshotTableModel(statementColumns, this);
        auto* view = makeSnapshotTableView(m_statements[c], this);
        view->setObjectName(QStringLiteral("topStatements%1").arg(c));
        m_tables->addTab(view, QString());
    }
    auto* waits = makeSnapshotTableView(m_topWaits, this);
    waits->setObjectName(QStringLiteral("topWaits"));
    m_tables->addTab(waits, tr("Wait events"));
    auto* table = makeSnapshotTableView(m_roles, this);
    table->setObjectName(QStringLiteral("latencyRoles"));
    m_tables->addTab(table, tr("Roles"));
    showTopStatements({});

    // Six columns: the wide mean chart; three small charts; the two wait profiles. The tables
    // below a splitter: ten statements a class want room the charts can give up for a while.
    auto* charts = new QWidget(this);
    auto* grid = new QGridLayout(charts);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->addWidget(m_mean, 0, 0, 1, 6);
    grid->addWidget(m_throughput, 1, 0, 1, 2);
    grid->addWidget(m_inflight, 1, 2, 1, 2);
    grid->addWidget(m_cpu, 1, 4, 1, 2);
    grid->addWidget(m_waits[0], 2, 0, 1, 3);
    grid->addWidget(m_waits[1], 2, 3, 1, 3);
    grid->setRowStretch(0, 3);
    grid->setRowStretch(1, 2);
    grid->setRowStretch(2, 3);
    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->setObjectName(QStringLiteral("latencySplitter"));
    splitter->addWidget(charts);
    splitter->addWidget(m_tables);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 1);
    splitter->setChildrenCollapsible(false);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_note);
    layout->addWidget(splitter, 1);
}

void LatencyPage::setTargets(const htap::monitor::Targets& t)
{
    // The targets (Monitor > Targets…; the seed's by default: OLTP 50 ms, OLAP 1 s). A mean
    // above them is certainly a miss; percentiles come from the scenario engine's client side.
    for (ChartWidget* c : {m_mean, m_inflight})
        c->clearThresholds();
    m_mean->addThreshold(t.oltpSeconds * 1000, tr("OLTP target %1").arg(formatSeconds(t.oltpSeconds)), classColor(0));
    m_mean->addThreshold(t.olapSeconds * 1000, tr("OLAP target %1").arg(formatSeconds(t.olapSeconds)), classColor(1));
    m_inflight->addThreshold(t.oltpSeconds, tr("OLTP target %1").arg(formatSeconds(t.oltpSeconds)), classColor(0));
    m_inflight->addThreshold(t.olapSeconds, tr("OLAP target %1").arg(formatSeconds(t.olapSeconds)), classColor(1));
}

void LatencyPage::addPastSample(const htap::monitor::ServerSample& s)
{
    addWaits(s);
    addCpu(s);
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

int LatencyPage::waitSeries(int chart, const QString& type)
{
    if (type == QLatin1String("CPU")) {
        if (m_cpuSeries[chart] < 0) // last, so that each time's points still come bottom up
            m_cpuSeries[chart] = m_waits[chart]->addSeries(tr("on CPU (sampled)"), ChartWidget::seriesColor(kCpuColor));
        return m_cpuSeries[chart];
    }
    for (int i = 0; i < kOtherWaits; ++i)
        if (type == QLatin1String(kWaitTypes[i].name))
            return i;
    return kOtherWaits;
}

void LatencyPage::addWaits(const htap::monitor::ServerSample& s)
{
    // What is missing replaces the chart, where the data would have been; a sample of the slow
    // probes only (no waits section, no reason) changes nothing.
    const QString missing = s.unavailable.value(QStringLiteral("waits"));
    if (!missing.isEmpty() || s.waits)
        for (ChartWidget* c : m_waits)
            c->setNotice(missing);
    if (!s.waits)
        return;
    const auto& w = *s.waits;
    if (!w.hasDeltas || w.windowSeconds <= 0 || w.classes.size() < 2) {
        for (ChartWidget* c : m_waits)
            c->addGap(s.sampledAt);
        return;
    }
    for (int chart = 0; chart < 2; ++chart) {
        const auto& byType = w.classes[chart].secondsByType;
        QList<double> sessions;
        for (auto it = byType.cbegin(); it != byType.cend(); ++it) {
            const int series = waitSeries(chart, it.key());
            sessions.resize(std::max<qsizetype>(sessions.size(), m_waits[chart]->seriesCount()));
            sessions[series] += it.value() / w.windowSeconds; // seconds waited per second: sessions
        }
        sessions.resize(m_waits[chart]->seriesCount());
        for (int i = 0; i < sessions.size(); ++i) // bottom up, as the stack needs them
            m_waits[chart]->addPoint(i, s.sampledAt, sessions[i]);
    }
}

void LatencyPage::addCpu(const htap::monitor::ServerSample& s)
{
    const QString missing = s.unavailable.value(QStringLiteral("cpu"));
    if (!missing.isEmpty() || s.cpu)
        m_cpu->setNotice(missing);
    if (!s.cpu)
        return;
    if (!s.cpu->hasDeltas || s.cpu->windowSeconds <= 0) {
        m_cpu->addGap(s.sampledAt);
        return;
    }
    for (int c = 0; c < s.cpu->classes.size() && c < 3; ++c)
        m_cpu->addPoint(c, s.sampledAt, s.cpu->classes[c].cpuPerSecond);
}

void LatencyPage::showTopStatements(const htap::monitor::TopStatementsSample& top)
{
    // Whole seconds: a window of 9.98 s is "the last 10 s" to a reader, not "10.0 s".
    const QString window = htap::core::formatDuration(top.windowSeconds > 0 ? std::round(top.windowSeconds) : 10);
    QList<SnapshotTableModel::Row> rows[3];
    for (const auto& st : top.statements) {
        SnapshotTableModel::Row r;
        r.key = st.queryId + QLatin1Char('/') + st.role + QLatin1Char('/') + st.database;
        const QString text = st.query.isEmpty() ? tr("(text no longer in pg_stat_statements)") : st.query.simplified();
        r.display = {formatSeconds(st.totalExecMs / 1000), QStringLiteral("%1 %").arg(QString::number(st.shareOfClass * 100, 'f', 0)),
            htap::core::formatCount(st.calls), formatSeconds(st.meanExecMs / 1000), htap::core::formatCount(st.rows), st.role,
            st.database, text};
        r.sort = {st.totalExecMs, st.shareOfClass, st.calls, st.meanExecMs, st.rows, st.role, st.database, text};
        r.toolTip = tr("queryid %1\n%2").arg(st.queryId, st.query);
        rows[int(st.workloadClass)].append(r);
    }
    for (int c = 0; c < 3; ++c) {
        m_statements[c]->setRows(rows[c]);
        m_tables->setTabText(c, tr("Top %1 statements, last %2").arg(QLatin1String(kClassNames[c]), window));
    }
}

void LatencyPage::showTopWaits(const htap::monitor::WaitProfileSample& waits)
{
    QList<SnapshotTableModel::Row> rows;
    for (const auto& c : waits.classes)
        for (const auto& e : c.topEvents) {
            SnapshotTableModel::Row r;
            const QString cls = htap::monitor::toString(c.workloadClass).toUpper();
            const QString event = e.type == QLatin1String("CPU") ? tr("on CPU (sampled)") : e.type + QLatin1Char(':') + e.event;
            const double sessions = waits.windowSeconds > 0 ? e.seconds / waits.windowSeconds : 0;
            r.key = cls + QLatin1Char('/') + event;
            r.display = {cls, event, formatSeconds(e.seconds), QString::number(sessions, 'f', 2), htap::core::formatCount(e.samples)};
            r.sort = {int(c.workloadClass), event, e.seconds, sessions, e.samples};
            rows.append(r);
        }
    m_topWaits->setRows(rows);
    m_tables->setTabText(3, tr("Wait events, last %1").arg(htap::core::formatDuration(std::round(waits.windowSeconds))));
}

void LatencyPage::addSample(const htap::monitor::ServerSample& s)
{
    if (s.unavailable.contains(QStringLiteral("latency")))
        m_note->setText(s.unavailable.value(QStringLiteral("latency")));
    addPastSample(s);
    if (s.topStatements && s.topStatements->hasDeltas)
        showTopStatements(*s.topStatements);
    if (s.waits && s.waits->hasDeltas)
        showTopWaits(*s.waits);
    if (!s.latency)
        return;
    if (!s.latency->hasDeltas) {
        m_note->setText(tr("Baseline: %1").arg(s.latency->baselineReason));
        return;
    }
    m_note->setText(tr("OLTP and OLAP by role (Monitor > Workload classes; pg_stat_statements keys by role). "
                       "Statements count when they finish; the oldest-running chart shows those still running."));
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
        m_scenarioOltp = m_mean->addSeries(tr("OLTP p99, scenario (client)"), classColor(0), Qt::DashLine);
        m_scenarioOlap = m_mean->addSeries(tr("OLAP p99, scenario (client)"), classColor(1), Qt::DashLine);
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
    for (SnapshotTableModel* m : m_statements)
        m->setRows({});
    m_topWaits->setRows({});
}

} // namespace htap::ui
