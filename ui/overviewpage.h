#pragma once

#include "monitorpage.h"

#include <QList>

namespace htap::ui {

class FigureTile;

/// The key numbers at a glance, each with a sparkline of the last minutes, red when past the
/// seed's target or a DBA's usual alarm level.
class OverviewPage : public MonitorPage
{
    Q_OBJECT
public:
    explicit OverviewPage(QWidget* parent = nullptr);
    QString title() const override { return tr("Overview"); }
    void addSample(const htap::monitor::ServerSample& sample) override;
    void addGap(const QDateTime& at) override;
    void clear() override;
    /// "caption=value" for each tile, for tests and the status line.
    QStringList figures() const;
    /// Captions of the tiles now past their threshold.
    QStringList alarms() const;

private:
    FigureTile* m_tps;
    FigureTile* m_oltp;
    FigureTile* m_olap;
    FigureTile* m_olapRunning;
    FigureTile* m_waiting;
    FigureTile* m_horizon;
    FigureTile* m_vacuumLag;
    FigureTile* m_staleness;
    FigureTile* m_replication;
    QList<FigureTile*> m_tiles;
};

} // namespace htap::ui
