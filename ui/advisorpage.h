#pragma once

#include <advise/adviceservice.h>
#include <advise/advisor.h>

#include <QPointer>
#include <QWidget>

#include <functional>

class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTabWidget;
class QTableWidget;

namespace htap::monitor {
class ActivityCollector;
}

namespace htap::ui {

/// The tuning advisor (issue 25): the findings of the checks on the server shown, each with its
/// evidence in numbers, the exact SQL and its undo before anything is sent, its cost and risk;
/// Apply measures the finding's statements, applies it (audited) and measures again, side by
/// side; Measure runs them now; Undo puts back a change from the audit log. Every server call
/// runs on a worker thread with its own connection.
class AdvisorPage : public QWidget
{
    Q_OBJECT
public:
    explicit AdvisorPage(QWidget* parent = nullptr);
    ~AdvisorPage() override;
    QString title() const { return tr("Advisor"); }
    void setCollector(htap::monitor::ActivityCollector* collector);
    /// The audit log the page writes (tests point it at a scratch file).
    void setAuditPath(const QString& path);
    /// The checks' thresholds (tests lower the sizes).
    void setOptions(const htap::advise::AdvisorOptions& options) { m_options = options; }

    /// Runs the advisor again (on a worker thread); the answer comes as advised().
    void advise();
    /// Applies the selected finding without asking, measuring before and after (tests).
    void applySelectedWithoutConfirmation();
    /// Undoes the newest applied change of the log without asking (tests).
    void undoLatestWithoutConfirmation();
    void selectFinding(const QString& id);
    const htap::advise::AdviceReport& report() const { return m_report; }
    bool isBusy() const { return m_busy > 0; }
    QTableWidget* findingsTable() const { return m_findings; }
    QTableWidget* measureTable() const { return m_measure; }
    QTableWidget* changesTable() const { return m_changes; }
    QPlainTextEdit* sqlView() const { return m_sql; }

Q_SIGNALS:
    void message(bool ok, const QString& text);
    void advised();
    void applied(const htap::advise::Proof& proof);
    void undone(const htap::advise::ChangeOutcome& outcome);
    void measured();

protected:
    void showEvent(QShowEvent* event) override;

private:
    template <typename T>
    void run(const QString& what, std::function<T(htap::pg::Connection&, htap::advise::AdviceService&)> work,
        std::function<void(const T&)> done);
    void setBusy(bool busy);
    void updateButtons();
    void showReport();
    void showSelected();
    void showMeasurements(const htap::advise::Measurement& before, const htap::advise::Measurement* after,
        const QString& sizes);
    void reloadLog();
    const htap::advise::Finding* selected() const;
    bool confirmChange(const QString& title, const QString& question, const QString& sql);
    void applySelected(bool confirm);
    void measureSelected();
    void undoChange(bool confirm);

    QPointer<htap::monitor::ActivityCollector> m_collector;
    quint64 m_generation = 0;
    QString m_auditPath;
    htap::advise::AdvisorOptions m_options;
    htap::advise::AdviceReport m_report;
    QList<htap::store::AuditEntry> m_entries;
    int m_busy = 0;

    QLabel* m_facts;
    QTableWidget* m_findings;
    QTabWidget* m_tabs;
    QPlainTextEdit* m_evidence;
    QPlainTextEdit* m_sql;
    QTableWidget* m_measure;
    QPlainTextEdit* m_planBefore;
    QPlainTextEdit* m_planAfter;
    QTableWidget* m_changes;
    QPushButton* m_advise;
    QPushButton* m_apply;
    QPushButton* m_measureButton;
    QPushButton* m_undo;
    QSpinBox* m_runs;
};

} // namespace htap::ui
