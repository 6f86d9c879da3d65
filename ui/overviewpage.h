#pragma once

#include "monitorpage.h"

#include <QList>

namespace htap::ui {

class FigureTile;
class HealthTile;

/// The first screen. Its first row answers "is order entry healthy now?" (and reports, and the
/// views): each class's oldest statement, oldest transaction and longest lock wait against the
/// DBA's targets, the reason in words and the culprit one click away. Below, the key figures
/// with five-minute sparklines, each labelled with exactly what it measures.
class OverviewPage : public MonitorPage
{
    Q_OBJECT
public:
    explicit OverviewPage(QWidget* parent = nullptr);
    QString title() const override { return tr("Overview"); }
    void addSample(const htap::monitor::ServerSample& sample) override;
    void addGap(const QDateTime& at) override;
    void clear() override;
    /// The server has not answered for this long (0: it answers again).
    void setNoData(double seconds) override;
    /// "caption=value" for each tile, for tests and the status line.
    QStringList figures() const;
    /// Captions of the tiles now past their threshold, and of the health tiles whose target is
    /// missed.
    QStringList alarms() const;
    HealthTile* oltpHealth() const { return m_oltpHealth; }
    HealthTile* olapHealth() const { return m_olapHealth; }
    HealthTile* viewsHealth() const { return m_viewsHealth; }

Q_SIGNALS:
    /// A culprit link was clicked: "pid" with a pid, or "view" with a view's label.
    void culpritActivated(const QString& kind, const QString& id);

private:
    void showClass(HealthTile* tile, const htap::monitor::ClassHealth& h);
    void showViews(const htap::monitor::ViewsHealth& v);

    HealthTile* m_oltpHealth;
    HealthTile* m_olapHealth;
    HealthTile* m_viewsHealth;
    FigureTile* m_tps;
    FigureTile* m_oltp;
    FigureTile* m_olap;
    FigureTile* m_waiting;
    FigureTile* m_horizon;
    FigureTile* m_vacuumLag;
    FigureTile* m_replication;
    QList<FigureTile*> m_tiles;
};

} // namespace htap::ui
