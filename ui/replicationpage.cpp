#include "replicationpage.h"

#include "chartwidget.h"
#include "viewutil.h"

#include <QLabel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

namespace htap::ui {

using namespace Qt::StringLiterals;
using htap::monitor::CancelledStatement;
using htap::monitor::RecoveryConflicts;

namespace {

constexpr int kCancelledKept = 200;

QWidget* titled(const QString& title, QWidget* body, QWidget* parent)
{
    auto* box = new QWidget(parent);
    auto* l = new QVBoxLayout(box);
    l->setContentsMargins(0, 0, 0, 0);
    auto* t = new QLabel(title, box);
    t->setWordWrap(true);
    l->addWidget(t);
    l->addWidget(body, 1);
    return box;
}

QString lagText(double seconds)
{
    return seconds < 0 ? u"–"_s : formatSeconds(seconds);
}

} // namespace

ReplicationPage::ReplicationPage(QWidget* parent)
    : MonitorPage(parent)
    , m_summary(new QLabel(this))
    , m_primarySide(new QWidget(this))
    , m_standbySide(new QWidget(this))
    , m_standbys(new SnapshotTableModel({tr("standby"), tr("state"), tr("write lag"), tr("flush lag"), tr("replay lag"),
                                            tr("not replayed")},
          this))
    , m_slots(new SnapshotTableModel({tr("slot"), tr("type"), tr("in use"), tr("WAL kept for it")}, this))
    , m_cancelled(new SnapshotTableModel({tr("when"), tr("role"), tr("database"), tr("what happened"), tr("statement"),
                                             tr("why")},
          this))
    , m_lagChart(new ChartWidget(tr("Replay lag per standby, and data age on monitored standbys"), tr("s"), this))
    , m_retainedChart(new ChartWidget(tr("WAL kept by slots"), tr("B"), this))
    , m_ageChart(new ChartWidget(tr("Age of the data readers see"), tr("s"), this))
    , m_conflictChart(new ChartWidget(tr("Recovery conflicts since monitoring began"), tr("queries"), this))
{
    m_summary->setWordWrap(true);
    m_summary->setObjectName(u"replicationSummary"_s);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);

    // A primary: its standbys and slots, lag and kept WAL over time.
    auto* standbyView = makeSnapshotTableView(m_standbys, this);
    standbyView->setObjectName(u"standbys"_s);
    auto* slotView = makeSnapshotTableView(m_slots, this);
    slotView->setObjectName(u"slots"_s);
    auto* primaryCharts = new QSplitter(Qt::Horizontal, m_primarySide);
    primaryCharts->addWidget(m_lagChart);
    primaryCharts->addWidget(m_retainedChart);
    // Usually a row or two each: the charts get the room.
    auto* ps = new QSplitter(Qt::Vertical, m_primarySide);
    ps->addWidget(titled(tr("<b>Standbys</b> (pg_stat_replication; lag is how long the primary waited to hear that the "
                            "standby wrote, flushed and replayed recent WAL; “not replayed” is the WAL between them)"),
        standbyView, ps));
    ps->addWidget(titled(tr("<b>Replication slots</b> (a slot keeps WAL until its consumer has it, even while that "
                            "consumer is down)"),
        slotView, ps));
    ps->addWidget(primaryCharts);
    ps->setSizes({130, 110, 320});
    auto* pl = new QVBoxLayout(m_primarySide);
    pl->setContentsMargins(0, 0, 0, 0);
    pl->addWidget(ps);

    // A standby: what its readers see and what recovery did to them.
    m_dataAgeSeries = m_ageChart->addSeries(tr("data age (heartbeat replayed)"), QColor(0x1f, 0x77, 0xb4));
    m_replayAgeSeries = m_ageChart->addSeries(tr("since last replayed commit"), QColor(0x7f, 0x7f, 0x7f));
    m_conflictChart->setStacked(true);
    auto* cancelledView = makeSnapshotTableView(m_cancelled, this);
    cancelledView->setObjectName(u"cancelledStatements"_s);
    auto* standbyCharts = new QSplitter(Qt::Horizontal, m_standbySide);
    standbyCharts->addWidget(m_ageChart);
    standbyCharts->addWidget(m_conflictChart);
    auto* ss = new QSplitter(Qt::Vertical, m_standbySide);
    ss->addWidget(standbyCharts);
    ss->addWidget(titled(tr("<b>Statements recovery cancelled</b> (from the standby's log; with hot_standby_feedback "
                            "off, replay does not wait past max_standby_streaming_delay for a report that needs rows "
                            "the primary's VACUUM removed)"),
        cancelledView, ss));
    ss->setSizes({300, 200});
    auto* sl = new QVBoxLayout(m_standbySide);
    sl->setContentsMargins(0, 0, 0, 0);
    sl->addWidget(ss);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_summary);
    layout->addWidget(m_primarySide, 1);
    layout->addWidget(m_standbySide, 1);
    m_standbySide->hide();
    m_summary->setText(tr("No replication sample yet."));
}

void ReplicationPage::showSide(bool standby)
{
    if (m_sideKnown && standby == m_standbySideShown)
        return;
    m_sideKnown = true;
    m_standbySideShown = standby;
    m_primarySide->setVisible(!standby);
    m_standbySide->setVisible(standby);
}

int ReplicationPage::seriesFor(ChartWidget* chart, QMap<QString, int>& series, const QString& name)
{
    auto it = series.find(name);
    if (it == series.end()) {
        // The lag chart holds two families (lags, data ages): colours count them both.
        const qsizetype others = chart == m_lagChart ? m_lagSeries.size() + m_dataAgeByStandby.size() : series.size();
        it = series.insert(name, chart->addSeries(name, ChartWidget::seriesColor(int(others))));
    }
    return *it;
}

void ReplicationPage::addSample(const htap::monitor::ServerSample& s)
{
    if (!s.replication)
        return;
    const auto& r = *s.replication;
    showSide(r.inRecovery);
    addPastSample(s);
    const QString heartbeat = r.heartbeatAgeSeconds < 0
        ? tr("no heartbeat (the app's registry is not installed on the primary)")
        : QString();
    if (!r.inRecovery) {
        QList<SnapshotTableModel::Row> rows;
        double worst = -1;
        QString worstName;
        for (const auto& l : r.standbys) {
            SnapshotTableModel::Row row;
            row.key = l.name;
            row.display = {l.name, l.state, lagText(l.writeLagSeconds), lagText(l.flushLagSeconds),
                lagText(l.replayLagSeconds), formatBytes(l.replayLagBytes)};
            row.sort = {l.name, l.state, l.writeLagSeconds, l.flushLagSeconds, l.replayLagSeconds, l.replayLagBytes};
            if (l.state != u"streaming"_s)
                row.tone = colours::Tone::Warn;
            if (l.replayLagSeconds > 5)
                row.tone = colours::Tone::Bad;
            if (l.replayLagSeconds > worst) {
                worst = l.replayLagSeconds;
                worstName = l.name;
            }
            rows.append(row);
        }
        m_standbys->setRows(rows);
        QList<SnapshotTableModel::Row> slotRows;
        qint64 kept = 0;
        QStringList idle;
        for (const auto& sl : r.replicationSlots) {
            SnapshotTableModel::Row row;
            row.key = sl.name;
            row.display = {sl.name, sl.type, sl.active ? tr("yes") : tr("NO"), formatBytes(sl.retainedWalBytes)};
            row.sort = {sl.name, sl.type, sl.active, sl.retainedWalBytes};
            if (!sl.active) {
                row.tone = colours::Tone::Warn;
                idle << sl.name;
            }
            kept += sl.retainedWalBytes;
            slotRows.append(row);
        }
        m_slots->setRows(slotRows);
        QStringList parts;
        if (r.standbys.isEmpty())
            parts << tr("A primary with no standby connected.");
        else
            parts << tr("A primary with %n standby(s); the furthest behind, %1, replays %2 after the primary.",
                         nullptr, int(r.standbys.size()))
                         .arg(worstName, lagText(worst));
        if (!r.replicationSlots.isEmpty())
            parts << tr("Slots keep %1 of WAL.").arg(formatBytes(kept));
        if (!idle.isEmpty())
            parts << tr("Not in use: %1 (their WAL and any xmin they hold stay until they are used again or dropped).")
                         .arg(idle.join(u", "_s));
        if (!r.heartbeatWriter.isEmpty())
            parts << tr("Heartbeat not written by this monitor: %1.").arg(r.heartbeatWriter);
        else if (r.heartbeatAgeSeconds >= 0)
            parts << tr("Heartbeat written every 100 ms (standbys measure their data's age with it).");
        m_summary->setText(parts.join(u' '));
        return;
    }

    // A standby.
    for (const CancelledStatement& c : r.cancelled) {
        SnapshotTableModel::Row row;
        row.key = u"%1:%2"_s.arg(c.at.toMSecsSinceEpoch()).arg(c.pid);
        row.display = {c.at.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s), c.role, c.database,
            c.terminated ? tr("session ended") : tr("statement cancelled"), c.statement, c.detail};
        row.sort = {c.at.toMSecsSinceEpoch(), c.role, c.database, c.terminated, c.statement, c.detail};
        row.tone = colours::Tone::Bad;
        row.toolTip = c.statement;
        m_cancelledRows.prepend(row);
    }
    while (m_cancelledRows.size() > kCancelledKept)
        m_cancelledRows.removeLast();
    if (!r.cancelled.isEmpty())
        m_cancelled->setRows(m_cancelledRows);

    QStringList parts;
    if (const auto& w = r.receiver)
        parts << tr("A standby of %1:%2 (%3).").arg(w->senderHost).arg(w->senderPort).arg(w->status);
    else
        parts << tr("A standby with no WAL receiver running (replaying from archive, or cut off from its primary).");
    if (r.heartbeatAgeSeconds >= 0) {
        parts << tr("Its readers see data %1 old.").arg(formatSeconds(r.heartbeatAgeSeconds));
        // Caught up with what it received and still old: nobody writes the heartbeat.
        if (r.heartbeatAgeSeconds > 5 && r.receiver && r.receiver->replayGapBytes == 0)
            parts << tr("Everything received is replayed, so the primary's heartbeat is not being written (no "
                        "HTAP Studio monitors the primary): the age is an upper bound.");
        else if (r.receiver && r.receiver->replayGapBytes > 0)
            parts << tr("%1 received and not yet replayed.").arg(formatBytes(r.receiver->replayGapBytes));
    } else {
        parts << heartbeat;
    }
    if (const auto& k = r.conflicts) {
        parts << tr("Recovery conflicts since the standby's statistics began: %1 (snapshot %2, lock %3, buffer pin %4, "
                    "deadlock %5, tablespace %6).")
                     .arg(k->total()).arg(k->snapshot).arg(k->lock).arg(k->bufferpin).arg(k->deadlock).arg(k->tablespace);
    }
    if (!r.cancelledUnavailable.isEmpty())
        parts << r.cancelledUnavailable + u'.';
    m_summary->setText(parts.join(u' '));
}

void ReplicationPage::addPastSample(const htap::monitor::ServerSample& s)
{
    if (!s.replication)
        return;
    const auto& r = *s.replication;
    const QDateTime now = s.sampledAt;
    if (!r.inRecovery) {
        for (const auto& l : r.standbys)
            m_lagChart->addPoint(seriesFor(m_lagChart, m_lagSeries, l.name), now, l.replayLagSeconds);
        for (const auto& sl : r.replicationSlots)
            m_retainedChart->addPoint(seriesFor(m_retainedChart, m_retainedSeries, sl.name), now,
                double(sl.retainedWalBytes));
        m_lagChart->advanceTo(now);
        m_retainedChart->advanceTo(now);
        return;
    }
    // Caught up with a primary that talks to it, and the heartbeat still old: nobody writes it
    // (the summary says so); its age is not the data's, and a 40-minute point would flatten
    // the chart.
    const bool unwritten = r.heartbeatAgeSeconds > 5 && r.receiver && r.receiver->replayGapBytes == 0
        && r.receiver->sinceMessageSeconds >= 0 && r.receiver->sinceMessageSeconds < 5;
    if (r.heartbeatAgeSeconds >= 0 && !unwritten)
        m_ageChart->addPoint(m_dataAgeSeries, now, r.heartbeatAgeSeconds);
    if (r.receiver && r.receiver->replayAgeSeconds >= 0)
        m_ageChart->addPoint(m_replayAgeSeries, now, r.receiver->replayAgeSeconds);
    m_ageChart->advanceTo(now);
    if (const auto& k = r.conflicts) {
        if (!m_conflictBase || k->total() < m_conflictBase->total()) // first look, or a stats reset
            m_conflictBase = *k;
        const RecoveryConflicts& b = *m_conflictBase;
        const std::pair<QString, qint64> kinds[] = {{tr("snapshot"), k->snapshot - b.snapshot},
            {tr("lock"), k->lock - b.lock}, {tr("buffer pin"), k->bufferpin - b.bufferpin},
            {tr("deadlock"), k->deadlock - b.deadlock}, {tr("tablespace"), k->tablespace - b.tablespace}};
        for (const auto& [kind, n] : kinds)
            if (n > 0 || m_conflictSeries.contains(kind) || kind == tr("snapshot"))
                m_conflictChart->addPoint(seriesFor(m_conflictChart, m_conflictSeries, kind), now, double(n));
        m_conflictChart->advanceTo(now);
    }
}

void ReplicationPage::addStandbyDataAge(const QString& standby, const QDateTime& at, double seconds)
{
    if (m_standbySideShown || seconds < 0)
        return;
    m_lagChart->addPoint(seriesFor(m_lagChart, m_dataAgeByStandby, tr("%1: data age").arg(standby)), at, seconds);
}

void ReplicationPage::addGap(const QDateTime& at)
{
    for (ChartWidget* c : charts())
        c->addGap(at);
}

void ReplicationPage::clear()
{
    m_standbys->setRows({});
    m_slots->setRows({});
    m_cancelledRows.clear();
    m_cancelled->setRows({});
    for (ChartWidget* c : charts())
        c->clear();
    m_conflictBase.reset();
    m_sideKnown = false;
    m_summary->setText(tr("No replication sample yet."));
}

QList<ChartWidget*> ReplicationPage::charts() const
{
    return {m_lagChart, m_retainedChart, m_ageChart, m_conflictChart};
}

QString ReplicationPage::summary() const
{
    return m_summary->text();
}

} // namespace htap::ui
