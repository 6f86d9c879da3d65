#include "overviewpage.h"

#include "figuretile.h"
#include "healthtile.h"
#include "viewutil.h"

#include <core/format.h>

#include <QGridLayout>
#include <QHBoxLayout>

#include <cmath>
#include <limits>

namespace htap::ui {


using htap::monitor::ClassHealth;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kNoLine = std::numeric_limits<double>::infinity();
} // namespace

OverviewPage::OverviewPage(QWidget* parent)
    : MonitorPage(parent)
    , m_oltpHealth(new HealthTile(tr("Order entry (OLTP)"), this))
    , m_olapHealth(new HealthTile(tr("Reports (OLAP)"), this))
    , m_viewsHealth(new HealthTile(tr("Materialized views"), this))
    // Each caption says exactly what the figure is. Alarm levels: the seed's targets where it
    // sets one (they follow Monitor > Targets… for the health row), otherwise the levels DBAs
    // commonly use (check_postgres, pganalyze).
    , m_tps(new FigureTile(tr("Transactions per second, last 5 s (the monitor's own left out)"), tr("tx/s"), kNoLine, this))
    , m_oltp(new FigureTile(tr("OLTP mean statement time, last 10 s"), tr("ms"), 50, this))
    , m_olap(new FigureTile(tr("OLAP mean statement time, last 10 s"), tr("ms"), 1000, this))
    , m_waiting(new FigureTile(tr("Sessions waiting on a lock, all classes"), tr("sessions"), 0, this))
    , m_horizon(new FigureTile(tr("xmin horizon age"), tr("xids"), 1'000'000, this))
    , m_vacuumLag(new FigureTile(tr("Worst table, dead tuples as % of its autovacuum trigger"), tr("%"), 100, this))
    , m_replication(new FigureTile(tr("Replication replay lag, worst standby"), tr("s"), 10, this))
{
    m_tiles = {m_tps, m_oltp, m_olap, m_waiting, m_horizon, m_vacuumLag, m_replication};
    auto* layout = new QVBoxLayout(this);
    auto* health = new QHBoxLayout;
    for (HealthTile* t : {m_oltpHealth, m_olapHealth, m_viewsHealth}) {
        health->addWidget(t, 1);
        connect(t, &HealthTile::culpritActivated, this, &OverviewPage::culpritActivated);
    }
    layout->addLayout(health, 0);
    auto* grid = new QGridLayout;
    for (int i = 0; i < m_tiles.size(); ++i)
        grid->addWidget(m_tiles[i], i / 4, i % 4);
    for (int c = 0; c < 4; ++c)
        grid->setColumnStretch(c, 1); // equal columns, whatever their captions' lengths
    layout->addLayout(grid, 4);
}

void OverviewPage::showClass(HealthTile* tile, const ClassHealth& h)
{
    QString measure = h.target > 0 ? tr("%1 (target %2)").arg(h.measure, formatSeconds(h.target)) : h.measure;
    if (h.missed && h.target > 0 && h.worst <= h.target)
        // Red until a few samples in a row are within target (no flicker): say so, or a red
        // "13 ms (target 50 ms)" reads as a contradiction.
        measure += tr(" — within target again; the miss ends after 3 samples in a row");
    const auto state = h.target <= 0 ? HealthTile::State::NoTarget
        : h.missed                   ? HealthTile::State::Missed
                                     : HealthTile::State::Healthy;
    const bool idle = h.worst <= 0 && h.pid == 0;
    tile->setState(state, idle ? QStringLiteral("–") : formatSeconds(h.worst), idle ? tr("nothing running") : measure, h.reason);
    if (h.pid != 0)
        tile->setCulprit(QStringLiteral("pid"), QString::number(h.pid), tr("pid %1 on the Locks page").arg(h.pid));
    else
        tile->setCulprit({}, {}, {});
}

void OverviewPage::showViews(const htap::monitor::ViewsHealth& v)
{
    if (v.views == 0) {
        m_viewsHealth->setState(HealthTile::State::NoTarget, tr("none"), tr("materialized views"),
            tr("No materialized view in this database."));
        m_viewsHealth->setCulprit({}, {}, {});
        return;
    }
    if (v.withTarget == 0) {
        // A view refreshed by hand or hourly elsewhere is never "late" here: only its age shows.
        m_viewsHealth->setState(HealthTile::State::NoTarget, formatSeconds(v.worstAge), tr("age of the oldest, %1").arg(v.worstView),
            tr("%n view(s), none with a freshness target or a schedule here (Monitor > Targets…).", nullptr, v.views));
    } else {
        const QString reason = v.late > 0
            ? tr("%n view(s) past their freshness target; the latest: %1, %2 old against %3 (%4).", nullptr, v.late)
                  .arg(v.worstView, formatSeconds(v.worstAge), formatSeconds(v.worstTarget), v.targetFrom)
            : tr("%1 of %2 views have a freshness target and meet it; closest to it: %3 (%4 of %5).")
                  .arg(v.withTarget).arg(v.views).arg(v.worstView, formatSeconds(v.worstAge), formatSeconds(v.worstTarget));
        m_viewsHealth->setState(v.late > 0 ? HealthTile::State::Missed : HealthTile::State::Healthy, formatSeconds(v.worstAge),
            tr("age of %1 (target %2)").arg(v.worstView, formatSeconds(v.worstTarget)), reason);
    }
    if (!v.worstView.isEmpty())
        m_viewsHealth->setCulprit(QStringLiteral("view"), v.worstView, tr("%1 on the Views page").arg(v.worstView));
}

void OverviewPage::addSample(const htap::monitor::ServerSample& s)
{
    for (const ClassHealth& h : s.health) {
        if (h.workloadClass == htap::monitor::WorkloadClass::Oltp)
            showClass(m_oltpHealth, h);
        else if (h.workloadClass == htap::monitor::WorkloadClass::Olap)
            showClass(m_olapHealth, h);
    }
    if (s.viewsHealth)
        showViews(*s.viewsHealth);

    const auto& a = s.activity;
    // A window of one or two seconds after a (re)start is one flush's lump, not a rate yet.
    m_tps->setValue(a.hasRates && a.windowSeconds >= 2 ? a.commitsPerSecondWindow + a.rollbacksPerSecondWindow : kNaN);
    m_waiting->setValue(a.waitingOnLock, htap::core::formatCount(a.waitingOnLock));
    if (s.latency && s.latency->hasDeltas && s.latency->classes.size() >= 2) {
        // The mean of the statements that finished in the last 10 s, with how many they were:
        // never the mean of the two that happened to end in the last second.
        for (const auto& [tile, f] : {std::pair {m_oltp, s.latency->classes[0]}, std::pair {m_olap, s.latency->classes[1]}})
            tile->setValue(f.windowCalls > 0 ? f.windowMeanExecMs : kNaN,
                f.windowCalls > 0 ? tr("%1 ms · %2 calls").arg(htap::core::formatNumber(f.windowMeanExecMs),
                                        htap::core::formatCount(f.windowCalls))
                                  : tr("none finished")); // blocked, or no load: the first row says which
    }
    if (s.vacuum) {
        m_horizon->setValue(double(s.vacuum->horizonAge), htap::core::formatCount(s.vacuum->horizonAge));
        const double worst = s.vacuum->tables.isEmpty() ? 0 : s.vacuum->tables.first().pctOfTrigger;
        // Past twice the trigger a ratio reads better than a percentage ("11x", not "1078 %").
        m_vacuumLag->setValue(worst, worst >= 200 ? tr("%1x its trigger").arg(htap::core::formatNumber(worst >= 1000 ? std::round(worst / 100) : worst / 100))
                                                  : tr("%1 %").arg(QString::number(worst, 'f', 0)));
    }
    if (s.replication) {
        double lag = 0;
        for (const auto& st : s.replication->standbys)
            lag = std::max(lag, st.replayLagSeconds);
        m_replication->setValue(lag, s.replication->standbys.isEmpty() ? tr("no standby") : formatSeconds(lag));
    }
}

void OverviewPage::setNoData(double seconds)
{
    if (seconds <= 0)
        return; // the next sample redraws everything
    for (HealthTile* t : {m_oltpHealth, m_olapHealth, m_viewsHealth})
        t->setNoData(seconds);
    for (FigureTile* t : std::as_const(m_tiles))
        t->setNoData(seconds);
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
    for (HealthTile* t : {m_oltpHealth, m_olapHealth, m_viewsHealth})
        t->clear();
}

QStringList OverviewPage::figures() const
{
    QStringList out;
    for (HealthTile* t : {m_oltpHealth, m_olapHealth, m_viewsHealth})
        out << t->caption() + QLatin1Char('=') + t->verdictText() + QStringLiteral(": ") + t->reasonText();
    for (FigureTile* t : m_tiles)
        out << t->caption() + QLatin1Char('=') + t->valueText();
    return out;
}

QStringList OverviewPage::alarms() const
{
    QStringList out;
    for (HealthTile* t : {m_oltpHealth, m_olapHealth, m_viewsHealth})
        if (t->state() == HealthTile::State::Missed)
            out << t->caption();
    for (FigureTile* t : m_tiles)
        if (t->alarmed())
            out << t->caption();
    return out;
}

} // namespace htap::ui
