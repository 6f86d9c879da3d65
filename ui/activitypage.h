#pragma once

#include "monitorpage.h"

class QLabel;

namespace htap::ui {

class ChartWidget;

/// Live server activity: transactions per second (commits, rollbacks) and sessions by state.
class ActivityPage : public MonitorPage
{
    Q_OBJECT
public:
    explicit ActivityPage(QWidget* parent = nullptr);
    QString title() const override { return tr("Activity"); }
    void addSample(const htap::monitor::ServerSample& sample) override;
    void addPastSample(const htap::monitor::ServerSample& sample) override;
    void addGap(const QDateTime& at) override;
    void clear() override;
    QList<ChartWidget*> charts() const override { return {m_tps, m_sessions}; }

    ChartWidget* throughputChart() const { return m_tps; }
    ChartWidget* sessionsChart() const { return m_sessions; }

private:
    QLabel* addFigure(const QString& caption);

    ChartWidget* m_tps;
    ChartWidget* m_sessions;
    QLabel* m_commits;
    QLabel* m_rollbacks;
    QLabel* m_active;
    QLabel* m_idleInTx;
    QLabel* m_waiting;
    QWidget* m_figures;
};

} // namespace htap::ui
