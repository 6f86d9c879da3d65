#include "overviewpage.h"

#include "figuretile.h"
#include "viewutil.h"

#include <QGridLayout>

#include <cmath>
#include <limits>

namespace htap::ui {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

OverviewPage::OverviewPage(QWidget* parent)
    : MonitorPage(parent)
    // Thresholds: the seed's targets (OLTP < 50 ms, OLAP < 1 s, freshness < 5 s) where it sets
    // one; otherwise the alarm levels DBAs commonly use (check_postgres, pganalyze).
    , m_tps(new FigureTile(tr("Transactions per second"), tr("tx/s"), std::numeric_limits<double>::infinity(), this))
    , m_oltp(new FigureTile(tr("OLTP mean statement time"), tr("ms"), 50, this))
    , m_olap(new FigureTile(tr("OLAP mean statement time"), tr("ms"), 1000, this))
    , m_olapRunning(new FigureTile(tr("Oldest OLAP query running"), tr("s"), 60, this))
    , m_waiting(new FigureTile(tr("Sessions waiting on a lock"), tr("sessions"), 0, this))
    , m_horizon(new FigureTile(tr("xmin horizon age"), tr("xids"), 1'000'000, this))
    , m_vacuumLag(new FigureTile(tr("Worst table, % of its autovacuum trigger"), tr("%"), 100, this))
    , m_staleness(new FigureTile(tr("Stalest materialized view"), tr("s"), 5, this))
    , m_replication(new FigureTile(tr("Replication replay lag"), tr("s"), 10, this))
{
    m_tiles = {m_tps, m_oltp, m_olap, m_olapRunning, m_waiting, m_horizon, m_vacuumLag, m_staleness, m_replication};
    auto* grid = new QGridLayout(this);
    for (int i = 0; i < m_tiles.size(); ++i)
        grid->addWidget(m_tiles[i], i / 3, i % 3);
}

void OverviewPage::addSample(const htap::monitor::ServerSample& s)
{
    const auto& a = s.activity;
    m_tps->setValue(a.hasRates ? a.commitsPerSecond + a.rollbacksPerSecond : kNaN);
    m_waiting->setValue(a.waitingOnLock, QString::number(a.waitingOnLock));
    if (s.latency && s.latency->hasDeltas && s.latency->classes.size() >= 2) {
        const auto& oltp = s.latency->classes[0];
        const auto& olap = s.latency->classes[1];
        m_oltp->setValue(oltp.calls > 0 ? oltp.meanExecMs : kNaN);
        m_olap->setValue(olap.calls > 0 ? olap.meanExecMs : kNaN);
        m_olapRunning->setValue(olap.oldestActiveSeconds, formatSeconds(olap.oldestActiveSeconds));
    }
    if (s.vacuum) {
        m_horizon->setValue(double(s.vacuum->horizonAge));
        m_vacuumLag->setValue(s.vacuum->tables.isEmpty() ? 0 : s.vacuum->tables.first().pctOfTrigger);
    }
    if (s.views) {
        double worst = -1;
        for (const auto& v : s.views->views)
            worst = std::max(worst, v.stalenessSeconds);
        m_staleness->setValue(worst >= 0 ? worst : kNaN, worst >= 0 ? formatSeconds(worst) : tr("unknown"));
    }
    if (s.replication) {
        double lag = 0;
        for (const auto& st : s.replication->standbys)
            lag = std::max(lag, st.replayLagSeconds);
        m_replication->setValue(lag, s.replication->standbys.isEmpty() ? tr("no standby") : formatSeconds(lag));
    }
}

void OverviewPage::addGap(const QDateTime&)
{
    for (FigureTile* t : std::as_const(m_tiles))
        t->addGap();
}

void OverviewPage::clear()
{
    for (FigureTile* t : std::as_const(m_tiles))
        t->clear();
}

QStringList OverviewPage::figures() const
{
    QStringList out;
    for (FigureTile* t : m_tiles)
        out << t->caption() + QLatin1Char('=') + t->valueText();
    return out;
}

QStringList OverviewPage::alarms() const
{
    QStringList out;
    for (FigureTile* t : m_tiles)
        if (t->alarmed())
            out << t->caption();
    return out;
}

} // namespace htap::ui
