#pragma once

#include <workload/comparison.h>
#include <workload/runner.h>

#include <QMap>
#include <QPointer>
#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QSpinBox;
class QLineEdit;
class QTableWidget;
class QLabel;
class QProgressBar;
class QPushButton;

namespace htap::monitor {
class ActivityCollector;
}

namespace htap::ui {

class ChartWidget;
class SnapshotTableModel;

/// The experiment bench: pick a preset or a scenario file, scale its rates and durations,
/// start and stop it on the connected server, watch each workload's throughput and p50/p99
/// against the seed's targets, read the summary and save the result.
class ScenariosPage : public QWidget
{
    Q_OBJECT
public:
    explicit ScenariosPage(QWidget* parent = nullptr);
    /// The server a scenario starts on (the one shown); nullptr: none. A running scenario goes
    /// on where it started.
    void setCollector(htap::monitor::ActivityCollector* collector);
    /// The endpoint the running (or last) scenario was started on.
    QString runningOn() const { return m_runningOn; }
    QString title() const { return tr("Scenarios"); }
    htap::workload::ScenarioRunner* runner() const { return m_runner; }
    /// Runs scenarios with compare_profiles (isolation-compare): both sides, then restores.
    htap::workload::ProfileComparison* comparison() const { return m_comparison; }
    const htap::workload::ComparisonResult& lastComparison() const { return m_comparisonResult; }
    /// Skips the confirmation before a comparison changes role settings (tests).
    void setConfirmRoleChanges(bool confirm) { m_confirmRoleChanges = confirm; }
    /// Starts the chosen scenario on the connected server (asks first when it is not the sandbox).
    void startSelected();
    void selectPreset(const QString& name);
    /// Chooses a scenario file, as "Open a scenario file…" does.
    void selectFile(const QString& path);
    /// The workloads table (tests): connections in column 3, the factor in column 4.
    QTableWidget* workloadsTable() const { return m_workloads; }
    SnapshotTableModel* summary() const { return m_summary; }
    QProgressBar* progressBar() const { return m_progress; }
    QLabel* statusLabel() const { return m_status; }
    ChartWidget* throughputChart() const { return m_throughput; }
    ChartWidget* latencyChart() const { return m_latency; }
    const htap::workload::ScenarioResult& lastResult() const { return m_result; }
    /// The scenario running now (or last run).
    const htap::workload::Scenario& runningScenario() const { return m_running; }

Q_SIGNALS:
    void message(bool ok, const QString& text);

private:
    bool loadSelected(htap::workload::Scenario* scenario);
    /// Fills the workloads table from the chosen scenario, as the file has it.
    void showWorkloads();
    void showAbout();
    void onSecond(const htap::workload::SecondStats& s);
    void onFinished(const htap::workload::ScenarioResult& r);
    void onComparisonFinished(const htap::workload::ComparisonResult& r);
    void saveResult();
    void setRunning(bool running);

    QPointer<htap::monitor::ActivityCollector> m_collector;
    QString m_runningOn;
    htap::workload::ScenarioRunner* m_runner;
    htap::workload::ProfileComparison* m_comparison;
    htap::workload::ComparisonResult m_comparisonResult;
    bool m_lastWasComparison = false;
    bool m_confirmRoleChanges = true;
    QComboBox* m_choice;
    QDoubleSpinBox* m_rateScale;
    QDoubleSpinBox* m_durationScale;
    QSpinBox* m_threads;
    QLineEdit* m_standby; ///< the standby for standby and router workloads; empty: the sandbox's
    QTableWidget* m_workloads; ///< per workload: connections and a rate (or clients) factor to edit
    QPushButton* m_start;
    QPushButton* m_stop;
    QPushButton* m_save;
    QProgressBar* m_progress;
    QLabel* m_status;
    QLabel* m_about; ///< the chosen scenario's description, duration and what it changes
    ChartWidget* m_throughput;
    ChartWidget* m_latency;
    SnapshotTableModel* m_summary;
    QMap<QString, int> m_tpsSeries;
    QMap<QString, int> m_p50Series;
    QMap<QString, int> m_p99Series;
    htap::workload::Scenario m_running;
    htap::workload::Scenario m_aboutScenario; ///< the one m_about describes
    htap::workload::ScenarioResult m_result;
    QString m_file;
};

} // namespace htap::ui
