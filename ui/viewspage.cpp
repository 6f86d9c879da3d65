#include "viewspage.h"

#include "chartwidget.h"
#include "snapshottablemodel.h"
#include "viewutil.h"

#include <QLabel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

namespace htap::ui {

ViewsPage::ViewsPage(QWidget* parent)
    : MonitorPage(parent)
    , m_model(new SnapshotTableModel({tr("view"), tr("staleness"), tr("last refresh"), tr("mode"), tr("took"),
                                         tr("size"), tr("populated"), tr("CONCURRENTLY"), tr("refreshing now"),
                                         tr("base tables")},
          this))
    , m_note(new QLabel(this))
    , m_chart(new ChartWidget(tr("Staleness (time since the last successful refresh started)"), tr("seconds"), this))
{
    m_chart->addThreshold(5, tr("seed target: fresh within 5 s"), QColor(0x2c, 0xa0, 0x2c));
    m_note->setWordWrap(true);
    auto* table = makeSnapshotTableView(m_model, this);
    table->setObjectName(QStringLiteral("viewsTable"));
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(table);
    split->addWidget(m_chart);
    split->setSizes({300, 300});
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_note);
    layout->addWidget(split, 1);
}

void ViewsPage::addSample(const htap::monitor::ServerSample& s)
{
    if (!s.views)
        return;
    QList<SnapshotTableModel::Row> rows;
    for (const auto& v : s.views->views) {
        SnapshotTableModel::Row r;
        r.key = v.view;
        r.display = {v.view, formatSeconds(v.stalenessSeconds), formatAgo(v.lastRefreshEnd, s.sampledAt), v.lastMode,
            v.registryKnown ? formatSeconds(v.lastDurationSeconds) : QString(), formatBytes(v.totalBytes),
            v.populated ? tr("yes") : tr("NO"), v.concurrentCapable ? tr("possible") : tr("needs a unique index"),
            v.refreshingPid ? tr("pid %1").arg(v.refreshingPid) : QString(), v.baseTables};
        r.sort = {v.view, v.stalenessSeconds, v.lastRefreshEnd.isValid() ? v.lastRefreshEnd.toSecsSinceEpoch() : 0,
            v.lastMode, v.lastDurationSeconds, v.totalBytes, v.populated, v.concurrentCapable, v.refreshingPid, v.baseTables};
        if (!v.populated || v.stalenessSeconds > 300)
            r.background = QColor(0xfb, 0xe3, 0xe4);
        rows.append(r);
    }
    m_model->setRows(rows);
    addPastSample(s);
    if (!s.views->registryInstalled)
        m_note->setText(tr("This database has no refresh registry (schema htap), so staleness is unknown: PostgreSQL "
                           "does not record when a view was refreshed. Refreshes run from HTAP Studio create and fill it."));
    else if (s.views->views.isEmpty())
        m_note->setText(tr("No materialized views in this database."));
    else
        m_note->setText(tr("Staleness counts from the start of the last successful refresh recorded in htap.refresh_log."));
}

void ViewsPage::addPastSample(const htap::monitor::ServerSample& s)
{
    if (!s.views)
        return;
    for (const auto& v : s.views->views) {
        if (v.stalenessSeconds < 0)
            continue;
        // At most eight lines: a chart with more says nothing (the table has them all).
        if (!m_series.contains(v.view) && m_series.size() < 8) {
            m_series.insert(v.view, m_chart->addSeries(v.view, ChartWidget::seriesColor(int(m_series.size()))));
        }
        if (m_series.contains(v.view))
            m_chart->addPoint(m_series.value(v.view), s.sampledAt, v.stalenessSeconds);
    }
}

void ViewsPage::addGap(const QDateTime& at)
{
    m_chart->addGap(at);
}

void ViewsPage::clear()
{
    m_model->setRows({});
    m_chart->clear();
}

} // namespace htap::ui
