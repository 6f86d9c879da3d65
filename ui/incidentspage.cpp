#include "incidentspage.h"

#include "snapshottablemodel.h"
#include "viewutil.h"

#include <core/format.h>

#include <QHeaderView>
#include <QLabel>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>
#include <limits>

namespace htap::ui {

using htap::monitor::Incident;

namespace {

QString kindText(Incident::Kind k)
{
    switch (k) {
    case Incident::Kind::TargetMissed:
        return IncidentsPage::tr("target missed");
    case Incident::Kind::Blocking:
        return IncidentsPage::tr("blocking");
    case Incident::Kind::NotResponding:
        return IncidentsPage::tr("not responding");
    case Incident::Kind::ViewLate:
        break;
    }
    return IncidentsPage::tr("view late");
}

} // namespace

IncidentsPage::IncidentsPage(QWidget* parent)
    : MonitorPage(parent)
    , m_model(new SnapshotTableModel({tr("started"), tr("ended"), tr("lasted"), tr("kind"), tr("what"), tr("worst"), tr("detail")}, this))
    , m_view(makeSnapshotTableView(m_model, this))
    , m_summary(new QLabel(this))
{
    m_view->setObjectName(QStringLiteral("incidents"));
    m_view->setWordWrap(true);
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_summary->setWordWrap(true);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_summary);
    layout->addWidget(m_view, 1);
    show();
}

void IncidentsPage::addSample(const htap::monitor::ServerSample& sample)
{
    // The open ones, as of this sample: their worst and duration grow while they last.
    bool changed = false;
    for (const Incident& i : sample.incidents) {
        m_incidents.insert(i.key(), i);
        changed = true;
    }
    if (changed)
        show();
}

void IncidentsPage::addIncidents(const QList<Incident>& incidents)
{
    for (const Incident& i : incidents)
        m_incidents.insert(i.key(), i);
    show();
}

void IncidentsPage::clear()
{
    m_incidents.clear();
    show();
}

int IncidentsPage::openCount() const
{
    return int(std::count_if(m_incidents.cbegin(), m_incidents.cend(), [](const Incident& i) { return i.isOpen(); }));
}

void IncidentsPage::show()
{
    QList<Incident> list = m_incidents.values();
    std::sort(list.begin(), list.end(), [](const Incident& a, const Incident& b) { return a.start > b.start; });
    const QDateTime now = QDateTime::currentDateTimeUtc();
    QList<SnapshotTableModel::Row> rows;
    for (const Incident& i : std::as_const(list)) {
        SnapshotTableModel::Row r;
        r.key = i.key();
        const double lasted = std::max(0.0, i.start.msecsTo(i.isOpen() ? now : i.end) / 1000.0);
        r.display = {i.start.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss")),
            i.isOpen() ? tr("ongoing") : i.end.toLocalTime().toString(QStringLiteral("HH:mm:ss")),
            htap::core::formatSeconds(lasted), kindText(i.kind), i.title, htap::core::formatSeconds(i.worst), i.detail};
        r.sort = {i.start.toMSecsSinceEpoch(), i.isOpen() ? std::numeric_limits<qint64>::max() : i.end.toMSecsSinceEpoch(), lasted,
            kindText(i.kind), i.title, i.worst, i.detail};
        if (i.isOpen())
            r.tone = colours::Tone::Bad;
        r.toolTip = i.detail;
        rows.append(r);
    }
    m_model->setRows(rows);
    const int open = openCount();
    m_summary->setText(list.isEmpty() ? tr("No incident in this window: every target met, no blocking episode, the server answering.")
        : open > 0 ? tr("%n incident(s) open now (marked); %1 in all, newest first.", nullptr, open).arg(list.size())
                   : tr("None open now; %1 in this window, newest first.").arg(list.size()));
}

} // namespace htap::ui
