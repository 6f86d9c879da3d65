#pragma once

#include "monitorpage.h"

#include <QMap>

class QLabel;

namespace htap::ui {

class ChartWidget;
class SnapshotTableModel;

/// Materialized views: size, populated, whether CONCURRENTLY can run, last refresh and
/// staleness from the app's registry, a refresh running now; staleness over time.
class ViewsPage : public MonitorPage
{
    Q_OBJECT
public:
    explicit ViewsPage(QWidget* parent = nullptr);
    QString title() const override { return tr("Views"); }
    void addSample(const htap::monitor::ServerSample& sample) override;
    void addPastSample(const htap::monitor::ServerSample& sample) override;
    void addGap(const QDateTime& at) override;
    void clear() override;
    QList<ChartWidget*> charts() const override { return {m_chart}; }
    SnapshotTableModel* model() const { return m_model; }

private:
    SnapshotTableModel* m_model;
    QLabel* m_note;
    ChartWidget* m_chart;
    QMap<QString, int> m_series;
};

} // namespace htap::ui
