#pragma once

#include "monitorpage.h"
#include "snapshottablemodel.h"

#include <QMap>

class QLabel;
class QWidget;

namespace htap::ui {

class ChartWidget;
class SnapshotTableModel;

/// Replication, from whichever side the server is. On a primary: each standby's write, flush
/// and replay lag in time and bytes, the slots and the WAL they keep. On a standby: the age of
/// the data its readers see (the heartbeat it replayed), the recovery conflicts by cause and the
/// report statements recovery cancelled. The replica trade-off, in numbers: feedback off
/// cancels long reports here, feedback on holds back the primary's VACUUM (Vacuum page).
class ReplicationPage : public MonitorPage
{
    Q_OBJECT
public:
    explicit ReplicationPage(QWidget* parent = nullptr);
    QString title() const override { return tr("Replication"); }
    void addSample(const htap::monitor::ServerSample& sample) override;
    void addPastSample(const htap::monitor::ServerSample& sample) override;
    void addGap(const QDateTime& at) override;
    void clear() override;
    QList<ChartWidget*> charts() const override;

    SnapshotTableModel* standbys() const { return m_standbys; }
    SnapshotTableModel* slotTable() const { return m_slots; }
    SnapshotTableModel* cancelled() const { return m_cancelled; }
    QString summary() const;
    /// A monitored standby of this primary measured its readers' data age (its own sample's
    /// heartbeat age): charted beside its replay lag.
    void addStandbyDataAge(const QString& standby, const QDateTime& at, double seconds);

private:
    void showSide(bool standby);
    int seriesFor(ChartWidget* chart, QMap<QString, int>& series, const QString& name);

    QLabel* m_summary;
    QWidget* m_primarySide;
    QWidget* m_standbySide;
    SnapshotTableModel* m_standbys;
    SnapshotTableModel* m_slots;
    SnapshotTableModel* m_cancelled;
    ChartWidget* m_lagChart;
    ChartWidget* m_retainedChart;
    ChartWidget* m_ageChart;
    ChartWidget* m_conflictChart;
    QMap<QString, int> m_lagSeries;
    QMap<QString, int> m_retainedSeries;
    QMap<QString, int> m_conflictSeries;
    QMap<QString, int> m_dataAgeByStandby;
    int m_dataAgeSeries = -1;
    int m_replayAgeSeries = -1;
    /// Conflicts counted when this page first saw the standby: the chart shows those since.
    std::optional<htap::monitor::RecoveryConflicts> m_conflictBase;
    QList<SnapshotTableModel::Row> m_cancelledRows;
    bool m_sideKnown = false;
    bool m_standbySideShown = false;
};

} // namespace htap::ui
