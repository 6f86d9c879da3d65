#pragma once

#include <roles/roleservice.h>

#include <QPointer>
#include <QWidget>

#include <functional>

class QComboBox;
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

/// Role resource settings (seed 3.3, 7.4.1): the server's roles with their limits and settings,
/// each effective value beside the server's and where it comes from; a profile set (OLTP, OLAP)
/// edited as a table and checked against this server's pg_settings as it is typed; the exact
/// SQL before anything is sent; apply in one transaction with read-back; the sessions still on
/// old settings; the audit log with undo; CPU priority through prioritize; a role wizard.
/// Every server call runs on a worker thread with its own connection.
class RolesPage : public QWidget
{
    Q_OBJECT
public:
    explicit RolesPage(QWidget* parent = nullptr);
    /// The server whose roles the page reads and changes (the one shown); nullptr: none. What
    /// was read from the previous one is cleared, and its answers still in flight are dropped.
    void setCollector(htap::monitor::ActivityCollector* collector);
    ~RolesPage() override;
    QString title() const { return tr("Roles"); }

    /// Reads roles, settings and the audit log again (on a worker thread).
    void reload();
    /// Shows a profile set (built-in name, the user's own, or a file path) in the editor.
    bool selectProfileSet(const QString& nameOrPath);
    /// The set as edited now, and its plan against the last catalog read.
    htap::roles::ProfileSet editedSet() const;
    htap::roles::Plan currentPlan() const { return m_plan; }
    QString planText() const;
    const htap::roles::Catalog& catalog() const { return m_catalog; }
    /// The audit log the page writes (tests point it at a scratch file).
    void setAuditPath(const QString& path);
    /// Applies the current plan without asking (tests); the outcome comes as applied().
    void applyWithoutConfirmation();
    void selectRole(const QString& name);
    bool isBusy() const { return m_busy > 0; }
    QTableWidget* rolesTable() const { return m_roles; }
    QTableWidget* settingsTable() const { return m_settings; }
    QTableWidget* editorTable() const { return m_editor; }
    QTableWidget* auditTable() const { return m_audit; }

Q_SIGNALS:
    void message(bool ok, const QString& text);
    void reloaded();
    void applied(const htap::roles::ApplyOutcome& outcome);

protected:
    void showEvent(QShowEvent* event) override;

private:
    template <typename T>
    void run(const QString& what, std::function<T(htap::pg::Connection&, htap::roles::RoleService&)> work,
        std::function<void(const T&)> done);
    void setBusy(bool busy);
    void updateButtons();
    void showCatalog();
    void showRoleSettings();
    void fillEditor(const htap::roles::ProfileSet& set);
    void revalidate();
    void applyPlan(bool confirm);
    void undoSelected();
    void endSelectedSessions();
    void lowerPriority();
    void installPrioritize();
    void saveSet();
    void openWizard();
    void refreshProfileChoice();

    QPointer<htap::monitor::ActivityCollector> m_collector;
    quint64 m_generation = 0; ///< bumped when another server is shown
    QString m_auditPath;
    htap::roles::Catalog m_catalog;
    QList<htap::store::AuditEntry> m_entries;
    htap::roles::Plan m_plan;
    QStringList m_editedParameters; ///< the parameters the edited set names, for the role's settings table
    QString m_setName;
    QString m_setDescription;
    int m_busy = 0;
    bool m_filling = false;

    QLabel* m_facts;
    QTableWidget* m_roles;
    QTableWidget* m_settings;
    QComboBox* m_profileChoice;
    QTableWidget* m_editor;
    QPlainTextEdit* m_planView;
    QTableWidget* m_sessions;
    QTableWidget* m_audit;
    QTabWidget* m_tabs;
    QPushButton* m_reload;
    QPushButton* m_apply;
    QPushButton* m_undo;
    QPushButton* m_endSessions;
    QPushButton* m_renice;
    QPushButton* m_installPrioritize;
    QSpinBox* m_nice;
    QLabel* m_priorityNote;
};

} // namespace htap::ui

Q_DECLARE_METATYPE(htap::roles::ApplyOutcome)
