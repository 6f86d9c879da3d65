#pragma once

#include <monitor/activitysample.h>

#include <QWidget>

class QLabel;

namespace htap::ui {

class ChartWidget;

/// Live server activity: transactions per second (commits, rollbacks) and sessions by state.
class ActivityPage : public QWidget
{
    Q_OBJECT
public:
    explicit ActivityPage(QWidget* parent = nullptr);

    void addSample(const htap::monitor::ActivitySample& sample);
    /// Marks a break in the data (disconnect, reconnect) so the lines do not bridge it.
    void addGap();
    void clear();

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
    QDateTime m_lastSample;
};

} // namespace htap::ui
