#pragma once

#include "profile.h"
#include "rolecatalog.h"

namespace htap::roles {

/// One parameter of one role at one scope, before and after (nullopt: not set at that scope).
struct SettingChange {
    QString name;
    std::optional<QString> before;
    std::optional<QString> after;
};

/// What a plan does to one role at one scope (database empty: every database).
struct RoleChange {
    QString profile;
    QString role;
    QString database;
    std::optional<int> limitBefore, limitAfter; ///< set when the connection limit changes
    QList<SettingChange> settings;              ///< only what changes
    int cpuNice = 0;                            ///< applied after commit to the role's backends

    /// ALTER ROLE statements, identifiers through quoteIdentifier, values through quoteLiteral.
    QStringList statements() const;
    bool isEmpty() const { return !limitAfter && settings.isEmpty(); }
};

struct PlanIssue {
    bool error = true;
    QString path;    ///< where in the profile file: $.profiles[1].settings.work_mem
    QString message; ///< names the parameter, what is wrong and what is allowed
    QString text() const { return path.isEmpty() ? message : path + u": " + message; }
};

/// The exact statements a change sends, with the before state they were planned against. A
/// plan with any error is refused whole. A value: may cross threads, and is kept (as JSON) in
/// the audit log, which is what undo works from.
struct Plan {
    QString kind = QStringLiteral("apply"); ///< apply, undo, reset
    QString title;      ///< the profile set's name, "undo #12"
    QString server;     ///< user@host:port/db
    QString serverKey;  ///< host:port
    QDateTime madeAt;
    qint64 undoOf = 0;  ///< the audit entry an undo plan restores
    QList<RoleChange> changes;
    QList<PlanIssue> issues;
    int unchanged = 0;  ///< settings already at the asked value

    bool ok() const;
    bool isEmpty() const;
    QStringList statements() const;
    QStringList errors() const;
    QStringList warnings() const;
    QStringList roles() const;
    QJsonObject toJson() const;
    static Plan fromJson(const QJsonObject& o);
};

/// Validates a profile set against the server described by catalog and plans it: unknown
/// parameters, units, ranges, enum values, parameters a role cannot set, privileges, missing
/// roles and databases, connection limits against max_connections and the other roles' limits.
Plan planProfiles(const Catalog& catalog, const ProfileSet& set);

/// The plan that puts back what applied changed. Differences between the server now and
/// applied's after state are warnings (someone changed it since); a dropped role is an error.
Plan planUndo(const Catalog& catalog, const Plan& applied, qint64 auditId);

} // namespace htap::roles
