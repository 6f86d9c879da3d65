#include "vacuumpage.h"

#include "chartwidget.h"
#include "snapshottablemodel.h"
#include "viewutil.h"

#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

namespace htap::ui {

using namespace Qt::StringLiterals;

namespace {

bool isStandbyHold(const htap::monitor::XminHolder& h)
{
    return h.kind == u"standby_feedback"_s
        || (h.kind == u"slot_xmin"_s && h.detail.startsWith(u"hot_standby_feedback"_s));
}

} // namespace


VacuumPage::VacuumPage(QWidget* parent)
    : MonitorPage(parent)
    , m_tables(new SnapshotTableModel({tr("table"), tr("dead tuples"), tr("% of autovacuum trigger"), tr("live tuples"),
                                          tr("trigger at"), tr("inserts since vacuum"), tr("xid age"), tr("last vacuum"),
                                          tr("last analyze"), tr("autovacuum")},
          this))
    , m_holders(new SnapshotTableModel({tr("kind"), tr("holder"), tr("database"), tr("role"), tr("application"),
                                           tr("state"), tr("xid age"),
                                           tr("held for (s)"), tr("detail")},
          this))
    , m_summary(new QLabel(this))
    , m_deadChart(new ChartWidget(tr("Dead tuples (most urgent tables)"), tr("tuples"), this))
    , m_horizonChart(new ChartWidget(tr("xmin horizon age"), tr("transactions"), this))
{
    m_horizonSeries = m_horizonChart->addSeries(tr("oldest holder's xid age"), QColor(0x94, 0x67, 0xbd));
    auto* split = new QSplitter(Qt::Vertical, this);
    auto* tables = makeSnapshotTableView(m_tables, this);
    tables->setObjectName(u"vacuumTables"_s);
    auto* holders = makeSnapshotTableView(m_holders, this);
    holders->setObjectName(u"xminHolders"_s);
    split->addWidget(tables);
    auto* holdersBox = new QWidget(this);
    auto* hl = new QVBoxLayout(holdersBox);
    hl->setContentsMargins(0, 0, 0, 0);
    auto* holdersTitle = new QLabel(tr("<b>Who holds the xmin horizon</b> (VACUUM cannot remove rows newer than the oldest of "
                                       "these; prepared transactions, slots and idle transactions are the usual culprits)"),
        this);
    holdersTitle->setWordWrap(true); // a long line set the page's width (1,023 px)
    hl->addWidget(holdersTitle);
    hl->addWidget(holders);
    split->addWidget(holdersBox);
    auto* charts = new QSplitter(Qt::Horizontal, this);
    charts->addWidget(m_deadChart);
    charts->addWidget(m_horizonChart);
    split->addWidget(charts);
    split->setSizes({300, 200, 260});
    m_summary->setWordWrap(true);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_summary);
    layout->addWidget(split, 1);
}

void VacuumPage::addSample(const htap::monitor::ServerSample& s)
{
    if (!s.vacuum)
        return;
    const auto& v = *s.vacuum;
    const QDateTime now = s.sampledAt;
    QList<SnapshotTableModel::Row> rows;
    for (const auto& t : v.tables) {
        SnapshotTableModel::Row r;
        r.key = t.table;
        r.display = {t.table, t.deadTuples, QString::number(t.pctOfTrigger, 'f', 1), t.liveTuples, t.deadTrigger,
            t.insertsSinceVacuum, t.xidAge, formatAgo(t.lastVacuum, now), formatAgo(t.lastAnalyze, now),
            t.autovacuumEnabled ? tr("on") : tr("OFF")};
        r.sort = {t.table, t.deadTuples, t.pctOfTrigger, t.liveTuples, t.deadTrigger, t.insertsSinceVacuum, t.xidAge,
            t.lastVacuum.isValid() ? t.lastVacuum.toSecsSinceEpoch() : 0,
            t.lastAnalyze.isValid() ? t.lastAnalyze.toSecsSinceEpoch() : 0, t.autovacuumEnabled};
        if (t.pctOfTrigger >= 100)
            r.tone = colours::Tone::Bad;
        else if (t.pctOfTrigger >= 50)
            r.tone = colours::Tone::Warn;
        rows.append(r);
    }
    m_tables->setRows(rows);

    QList<SnapshotTableModel::Row> holderRows;
    for (const auto& h : v.holders) {
        SnapshotTableModel::Row r;
        r.key = h.kind + u':' + h.holder;
        r.display = {h.kind, h.holder, h.database, h.role, h.application, h.state, h.xidAge,
            QString::number(h.heldSeconds, 'f', 0), h.detail};
        r.sort = {h.kind, h.holder, h.database, h.role, h.application, h.state, h.xidAge, h.heldSeconds, h.detail};
        if (h.kind != u"backend"_s || h.state.startsWith(u"idle in transaction"_s))
            r.tone = colours::Tone::Warn;
        holderRows.append(r);
    }
    m_holders->setRows(holderRows);

    addPastSample(s);

    QString running;
    for (const auto& p : v.running)
        running += tr("; %1 vacuuming %2 (%3, %4% scanned)")
                       .arg(p.autovacuum ? tr("autovacuum") : tr("VACUUM"), p.table, p.phase, QString::number(p.pctScanned, 'f', 0));
    const int lagging = int(std::count_if(v.tables.cbegin(), v.tables.cend(), [](const auto& t) { return t.pctOfTrigger >= 100; }));
    QString oldestDb;
    if (!v.databases.isEmpty())
        oldestDb = tr("; oldest database %1 at %2% of wraparound")
                       .arg(v.databases.first().database, QString::number(v.databases.first().pctToWraparound, 'f', 2));
    // The replica trade-off's other side: a standby's feedback keeps dead rows here.
    QString standbyHold;
    for (const auto& h : v.holders)
        if (isStandbyHold(h)) {
            standbyHold = tr("; standby %1 holds the horizon back %2 transactions (hot_standby_feedback)")
                              .arg(h.application.isEmpty() ? h.holder : h.application)
                              .arg(h.xidAge);
            break; // oldest first
        }
    m_summary->setText(tr("%n table(s) past their autovacuum trigger; horizon age %1", nullptr, lagging).arg(v.horizonAge)
        + standbyHold + oldestDb + running);
}

void VacuumPage::addPastSample(const htap::monitor::ServerSample& s)
{
    if (!s.vacuum)
        return;
    const auto& v = *s.vacuum;
    const QDateTime now = s.sampledAt;
    m_horizonChart->addPoint(m_horizonSeries, now, double(v.horizonAge));
    qint64 standbyAge = -1;
    for (const auto& h : v.holders)
        if (isStandbyHold(h))
            standbyAge = std::max(standbyAge, h.xidAge);
    if (standbyAge >= 0 || m_standbySeries >= 0) {
        if (m_standbySeries < 0)
            m_standbySeries = m_horizonChart->addSeries(tr("held by standbys' feedback"), QColor(0xd6, 0x27, 0x28));
        m_horizonChart->addPoint(m_standbySeries, now, double(std::max<qint64>(standbyAge, 0)));
    }
    // Chart the tables that have been most urgent, up to eight of them.
    for (int i = 0; i < std::min<qsizetype>(4, v.tables.size()); ++i) {
        const QString& name = v.tables[i].table;
        if (!m_tableSeries.contains(name) && m_tableSeries.size() < 8) {
            m_tableSeries.insert(name, m_deadChart->addSeries(name, ChartWidget::seriesColor(int(m_tableSeries.size()))));
        }
    }
    for (const auto& t : v.tables)
        if (m_tableSeries.contains(t.table))
            m_deadChart->addPoint(m_tableSeries.value(t.table), now, double(t.deadTuples));

}

void VacuumPage::addGap(const QDateTime& at)
{
    m_deadChart->addGap(at);
    m_horizonChart->addGap(at);
}

void VacuumPage::clear()
{
    m_tables->setRows({});
    m_holders->setRows({});
    m_deadChart->clear();
    m_horizonChart->clear();
}

QList<ChartWidget*> VacuumPage::charts() const
{
    return {m_deadChart, m_horizonChart};
}

} // namespace htap::ui
