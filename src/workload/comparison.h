#pragma once

#include "runner.h"

#include <roles/profile.h>

#include <QFutureWatcher>

namespace htap::workload {

inline constexpr const char* kComparisonFormat = "htap-isolation-compare";
inline constexpr int kComparisonVersion = 1;

/// Both sides of a role profile comparison (seed 5.2.4) and how the roles were put back.
struct ComparisonResult {
    QString profileSet;
    QString server;
    ScenarioResult without; ///< the set's settings reset, no connection limits
    ScenarioResult with;    ///< the set applied
    bool ranWith = false;
    bool partial = false;
    QString stopReason;
    bool restored = false;
    QString restoreMessage;
    QList<qint64> auditIds; ///< the reset and the apply, in the role audit log
    QStringList notes;      ///< CPU priority and other steps

    /// One workload's figures on both sides (every non-warmup phase together).
    struct Row {
        QString workload;
        WorkloadStats without, with;
    };
    QList<Row> rows() const;
    QJsonObject toJson() const;
};

/// Runs a scenario with compare_profiles twice: first with the profile set's parameters reset
/// and its connection limits removed, then with the set applied (connections are opened anew
/// for each side, so each sees its settings), and finally undoes both through the role audit
/// log, so the roles end as they began, also when the run is stopped or fails. Role changes
/// run on worker threads; the scenario runs in a ScenarioRunner.
class ProfileComparison : public QObject
{
    Q_OBJECT
public:
    explicit ProfileComparison(QObject* parent = nullptr);
    ~ProfileComparison() override;

    /// auditPath empty: the default audit log.
    void start(const Scenario& scenario, const htap::pg::ConnInfo& info, const QString& auditPath = {});
    void stop(const QString& reason = QStringLiteral("stopped by the operator"));
    bool isRunning() const { return m_step != Step::Idle; }

Q_SIGNALS:
    void progress(const QString& message);
    /// side: "without" or "with"
    void sideStarted(const QString& side);
    void secondAvailable(const QString& side, const htap::workload::SecondStats& second);
    void finished(const htap::workload::ComparisonResult& result);
    void failedToStart(const QString& message);

private:
    enum class Step { Idle, Reset, Without, Apply, With, Restore };
    struct StepOutcome {
        bool ok = false;
        QString message;
        qint64 auditId = 0;
        QStringList notes;
    };
    void runStep(Step step, std::function<StepOutcome()> work);
    void onStepDone();
    void startSide(const QString& side);
    void onRunFinished(const ScenarioResult& r);
    void restore();

    Scenario m_scenario;
    htap::roles::ProfileSet m_set;
    htap::pg::ConnInfo m_info;
    QString m_auditPath;
    Step m_step = Step::Idle;
    bool m_stopRequested = false;
    ScenarioRunner* m_runner;
    QFutureWatcher<StepOutcome> m_watcher;
    QFuture<void> m_renice;
    ComparisonResult m_result;
    qint64 m_resetId = 0;
    qint64 m_applyId = 0;
};

} // namespace htap::workload

Q_DECLARE_METATYPE(htap::workload::ComparisonResult)
