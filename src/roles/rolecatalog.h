#pragma once

#include "settingvalue.h"

#include <QDateTime>
#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QMap>

namespace htap::pg {
class Connection;
}

namespace htap::roles {

/// One row of pg_db_role_setting, split: the role's value of one parameter in one database
/// (database empty: in every database).
struct RoleSetting {
    QString database;
    QString name;
    QString value;
};

/// A session of a role, as pg_stat_activity shows it.
struct RoleSession {
    int pid = 0;
    QString database;
    QString applicationName;
    QString clientAddress;
    QString state;
    QDateTime backendStart;
    QString query;
};

struct RoleInfo {
    QString name;
    quint32 oid = 0;
    bool canLogin = false;
    bool superuser = false;
    bool createRole = false;
    bool inherit = true;
    int connectionLimit = -1; ///< -1: no limit
    QDateTime validUntil;
    QStringList memberOf;     ///< roles it is a member of (directly)
    bool pgMonitor = false;   ///< has the privileges of pg_monitor (directly or through membership)
    bool pgSignalBackend = false;
    int sessions = 0;
    QList<RoleSetting> settings; ///< the role's own settings, global and per database

    /// The role's own value for name in database (empty: all databases), if it sets one.
    std::optional<QString> setting(const QString& database, const QString& name) const;
    QJsonObject toJson() const;
};

/// Where a role's session in a database gets a parameter from, highest first (the order in
/// which PostgreSQL applies them at session start).
struct EffectiveValue {
    QString value;
    QString source; ///< "role in database", "role", "database", "server"
    QString detail; ///< e.g. "ALTER ROLE ... IN DATABASE shop", "configuration file"
};

/// What one server says about roles and settings, read in one go. A value: may cross threads.
struct Catalog {
    QString server;           ///< user@host:port/db, no password
    QString serverKey;        ///< host:port, to tell servers apart in the audit log
    QString serverVersion;
    int serverVersionNum = 0;
    QString database;         ///< the database we are connected to
    QStringList databases;
    QString currentUser;
    bool superuser = false;
    bool createRole = false;
    int maxConnections = 0;
    int reservedConnections = 0; ///< superuser_reserved_connections
    QHash<QString, ParamDef> params;
    QStringList grantedSuperuserParams; ///< superuser-context parameters we may SET through a grant
    QMap<QString, QString> databaseSettings; ///< settings of the connected database for all roles
    QList<RoleInfo> roles;       ///< every role but the pg_ ones, by name
    QString prioritize;          ///< "installed", "available" (not created here) or "missing"
    QDateTime readAt;

    const RoleInfo* role(const QString& name) const;
    const ParamDef* param(const QString& name) const;
    /// The value a new session of role in database gets for parameter name, and from where.
    EffectiveValue effective(const RoleInfo& role, const QString& database, const QString& name) const;
    /// The parameters worth showing for role: its own settings, the database's, then extra
    /// (e.g. those a profile set names), each once.
    QStringList parametersOf(const RoleInfo& role, const QStringList& extra = {}) const;
    /// Connections left for ordinary roles: max_connections - superuser_reserved_connections.
    int connectionsForRoles() const { return maxConnections - reservedConnections; }
    QJsonObject toJson() const;
};

/// host:port of the server conn is connected to: how the audit log tells servers apart.
QString serverKeyOf(const htap::pg::Connection& conn);

/// Reads roles, their settings, pg_settings and the facts a plan needs. Needs no privilege
/// beyond a login (pg_authid is not read: passwords stay out of it).
Catalog readCatalog(htap::pg::Connection& conn, QString* error);

/// The sessions of role (in database, when given) other than our own, oldest first.
QList<RoleSession> roleSessions(htap::pg::Connection& conn, const QString& role, const QString& database,
    QString* error);

} // namespace htap::roles
