#pragma once

#include "roleplan.h"

#include <pg/pgerror.h>
#include <store/auditlog.h>

namespace htap::pg {
class Connection;
}

namespace htap::roles {

/// The lock every change of roles by HTAP Studio (apply, undo, wizard) takes inside its
/// transaction, pg_advisory_xact_lock(1213485651, 0): ('HTRS', 0), in pg_locks locktype
/// advisory, classid 1213485651, objid 0, objsubid 2. Changes to one server queue on it, and each
/// then checks its plan against what the one before it committed. PostgreSQL keeps advisory
/// locks per database, so a change running through another database of the same server is
/// seen in pg_locks and refused rather than raced. Holding it in psql holds role changes back.
inline constexpr int kRoleChangeLockClass = 0x48545253;
inline constexpr int kRoleChangeLockId = 0;

/// What applying a plan did.
struct ApplyOutcome {
    bool ok = false;
    QString message;          ///< one paragraph: what happened, or why nothing was changed
    qint64 auditId = 0;       ///< the audit entry (0: nothing was recorded)
    QString auditWarning;     ///< the change is in, but the audit log could not be completed
    QStringList statements;   ///< what was sent (passwords as '********')
    QList<std::pair<QString, RoleSession>> oldSessions; ///< (role, session) still on the old settings
    QStringList notes;        ///< cpu priority and other after-commit steps
    QJsonObject toJson() const;
};

/// The seed's three roles (3.3): an OLTP writer, an OLAP reader and a monitor.
struct WizardSpec {
    QString schema = QStringLiteral("public");
    QString oltpRole = QStringLiteral("oltp_user");
    QString olapRole = QStringLiteral("olap_user");
    QString monitorRole = QStringLiteral("htap_monitor");
    QMap<QString, QString> passwords; ///< role -> password; absent or empty: none set. Never stored.
};

struct WizardPlan {
    QStringList statements; ///< to show: passwords as '********'
    QList<PlanIssue> issues;
    bool ok() const;
    QJsonObject toJson() const;
};

/// Reads, plans, applies, verifies and undoes role settings on one connection, from the thread
/// that owns it. Every apply is one transaction and one audit log entry.
class RoleService
{
public:
    RoleService(htap::pg::Connection& conn, const htap::store::AuditLog& audit);

    Catalog catalog(QString* error);
    /// Reads the catalog and plans the set against it.
    Plan plan(const ProfileSet& set, QString* error);
    /// Applies a plan made by plan() or planUndo(): refuses a plan with errors; in one
    /// transaction records it in the audit log, queues behind other changes of this server's
    /// roles (kRoleChangeLockClass), checks that every role still exists and still has the before
    /// state the plan was made against, sends the statements, reads them back and commits only
    /// when they match.
    ApplyOutcome apply(const Plan& plan);
    /// Settles this server's audit entries that a program left "applying" when it stopped
    /// (killed, crashed, its connection lost in COMMIT): from the server's record of the entry's
    /// transaction, applied when it committed, interrupted when it rolled back; entries whose
    /// transaction is still open are left to it. Entries of older builds, which carry no
    /// transaction, are judged by the server's values (all after: applied; all before:
    /// interrupted). Returns one line for each entry settled or that cannot be.
    QStringList settleInterrupted(QString* error);
    /// The plan that restores the before state of audit entry id.
    Plan planUndo(qint64 id, QString* error);
    /// Ends sessions (pg_terminate_backend); returns how many ended, errors in *error.
    int terminate(const QList<int>& pids, QString* error);
    /// Lowers the OS priority of role's backends (nice 1..19) through the prioritize extension.
    /// A backend cannot get its priority back: only new sessions start at normal priority.
    QString renice(const QString& role, int nice, int* changed, QString* error);
    /// CREATE EXTENSION prioritize in this database (superuser).
    bool installPrioritize(QString* error);

    WizardPlan planWizard(const WizardSpec& spec, QString* error);
    ApplyOutcome applyWizard(const WizardSpec& spec);

private:
    QList<std::pair<QString, QString>> wizardStatements(const WizardSpec& spec, bool hashPasswords, WizardPlan* plan,
        QString* error);

    htap::pg::Connection& m_conn;
    const htap::store::AuditLog& m_audit;
};

/// Explains a server error of an ALTER/CREATE ROLE in the operator's terms.
QString explainRoleError(const htap::pg::PgError& e);

} // namespace htap::roles
