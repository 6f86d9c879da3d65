#include "rolecatalog.h"

#include <pg/connection.h>

#include <QJsonArray>
#include <QJsonDocument>

#include <cmath>

namespace htap::roles {

using namespace Qt::StringLiterals;

namespace {

QStringList jsonTextArray(const QString& json)
{
    QStringList out;
    const QJsonArray a = QJsonDocument::fromJson(json.toUtf8()).array();
    for (const QJsonValue& v : a)
        out << v.toString();
    return out;
}

QDateTime timestamp(const htap::pg::Result& r, int row, const QString& column)
{
    // Queries select timestamps as extract(epoch FROM ...)::float8.
    const double s = r.toDouble(row, column, qQNaN());
    if (r.isNull(row, r.column(column)) || !qIsFinite(s))
        return {};
    return QDateTime::fromMSecsSinceEpoch(qint64(s * 1000), Qt::UTC);
}

// "name=value" from setconfig; the name never contains '='.
RoleSetting splitSetting(const QString& database, const QString& item)
{
    const qsizetype eq = item.indexOf(u'=');
    return {database, item.left(eq).toLower(), eq < 0 ? QString() : item.mid(eq + 1)};
}

} // namespace

std::optional<QString> RoleInfo::setting(const QString& database, const QString& name) const
{
    for (const RoleSetting& s : settings)
        if (s.database == database && s.name == name)
            return s.value;
    return std::nullopt;
}

QJsonObject RoleInfo::toJson() const
{
    QJsonArray s;
    for (const RoleSetting& r : settings)
        s << QJsonObject {{u"database"_s, r.database.isEmpty() ? QJsonValue() : QJsonValue(r.database)},
            {u"name"_s, r.name}, {u"value"_s, r.value}};
    return {{u"name"_s, name}, {u"login"_s, canLogin}, {u"superuser"_s, superuser}, {u"createrole"_s, createRole},
        {u"connection_limit"_s, connectionLimit},
        {u"valid_until"_s, validUntil.isValid() ? QJsonValue(validUntil.toString(Qt::ISODate)) : QJsonValue()},
        {u"member_of"_s, QJsonArray::fromStringList(memberOf)}, {u"pg_monitor"_s, pgMonitor},
        {u"pg_signal_backend"_s, pgSignalBackend}, {u"sessions"_s, sessions}, {u"settings"_s, s}};
}

const RoleInfo* Catalog::role(const QString& name) const
{
    for (const RoleInfo& r : roles)
        if (r.name == name)
            return &r;
    return nullptr;
}

const ParamDef* Catalog::param(const QString& name) const
{
    auto it = params.constFind(name.toLower());
    return it == params.cend() ? nullptr : &*it;
}

EffectiveValue Catalog::effective(const RoleInfo& r, const QString& db, const QString& name) const
{
    if (!db.isEmpty())
        if (std::optional<QString> v = r.setting(db, name))
            return {*v, u"role in database"_s, u"ALTER ROLE %1 IN DATABASE %2"_s.arg(r.name, db)};
    if (std::optional<QString> v = r.setting(QString(), name))
        return {*v, u"role"_s, u"ALTER ROLE %1"_s.arg(r.name)};
    if (db == database && databaseSettings.contains(name))
        return {databaseSettings.value(name), u"database"_s, u"ALTER DATABASE %1"_s.arg(db)};
    const ParamDef* p = param(name);
    if (!p)
        return {};
    return {p->serverValue, u"server"_s, p->serverSource};
}

QStringList Catalog::parametersOf(const RoleInfo& r, const QStringList& extra) const
{
    QStringList names;
    auto add = [&](const QString& n) {
        if (!names.contains(n))
            names << n;
    };
    for (const RoleSetting& s : r.settings)
        add(s.name);
    for (auto it = databaseSettings.cbegin(); it != databaseSettings.cend(); ++it)
        add(it.key());
    for (const QString& n : extra)
        add(n);
    return names;
}

QJsonObject Catalog::toJson() const
{
    QJsonArray rs;
    for (const RoleInfo& r : roles)
        rs << r.toJson();
    QJsonObject dbSettings;
    for (auto it = databaseSettings.cbegin(); it != databaseSettings.cend(); ++it)
        dbSettings.insert(it.key(), it.value());
    return {{u"server"_s, server}, {u"server_version"_s, serverVersion}, {u"database"_s, database},
        {u"current_user"_s, currentUser}, {u"superuser"_s, superuser}, {u"createrole"_s, createRole},
        {u"max_connections"_s, maxConnections}, {u"superuser_reserved_connections"_s, reservedConnections},
        {u"database_settings"_s, dbSettings}, {u"prioritize"_s, prioritize}, {u"roles"_s, rs},
        {u"read_at"_s, readAt.toString(Qt::ISODateWithMs)}};
}

QString serverKeyOf(const htap::pg::Connection& conn)
{
    const htap::pg::ConnInfo eff = conn.effectiveInfo();
    return eff.value(u"host"_s) + u':' + eff.value(u"port"_s);
}

Catalog readCatalog(htap::pg::Connection& conn, QString* error)
{
    Catalog c;
    auto failed = [&](const htap::pg::Result& r) {
        *error = r.error().oneLine();
        return Catalog();
    };
    const htap::pg::ConnInfo eff = conn.effectiveInfo();
    c.server = eff.displayName();
    c.serverKey = serverKeyOf(conn);
    c.serverVersion = conn.serverVersion();
    c.serverVersionNum = conn.serverVersionNum();

    const auto facts = conn.exec(u"SELECT current_user, current_database(), r.rolsuper, r.rolcreaterole,"
                                 " current_setting('max_connections')::int AS max_connections,"
                                 " current_setting('superuser_reserved_connections')::int AS reserved,"
                                 " extract(epoch FROM now())::float8 AS now,"
                                 " CASE WHEN EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'prioritize') THEN 'installed'"
                                 "      WHEN EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'prioritize') THEN 'available'"
                                 "      ELSE 'missing' END AS prioritize"
                                 " FROM pg_roles r WHERE r.rolname = current_user"_s);
    if (!facts.ok())
        return failed(facts);
    c.currentUser = facts.text(0, 0);
    c.database = facts.text(0, 1);
    c.superuser = facts.toBool(0, 2);
    c.createRole = facts.toBool(0, 3);
    c.maxConnections = int(facts.toInt64(0, u"max_connections"_s));
    c.reservedConnections = int(facts.toInt64(0, u"reserved"_s));
    c.readAt = timestamp(facts, 0, u"now"_s);
    c.prioritize = facts.text(0, u"prioritize"_s);

    // reset_val is what a session gets before SET; when its source is a role or database
    // setting of our own session, the server's value is hidden and boot_val is the best we know.
    const auto params = conn.exec(u"SELECT name, vartype, coalesce(unit, '') AS unit, context, category, short_desc,"
                                  " min_val, max_val, array_to_json(enumvals)::text AS enumvals, boot_val, reset_val, source"
                                  " FROM pg_settings"_s);
    if (!params.ok())
        return failed(params);
    for (int i = 0; i < params.rowCount(); ++i) {
        ParamDef p;
        p.name = params.text(i, u"name"_s).toLower();
        p.vartype = params.text(i, u"vartype"_s);
        p.unit = params.text(i, u"unit"_s);
        p.context = params.text(i, u"context"_s);
        p.category = params.text(i, u"category"_s);
        p.description = params.text(i, u"short_desc"_s);
        if (!params.isNull(i, params.column(u"min_val"_s)))
            p.min = params.toDouble(i, u"min_val"_s);
        if (!params.isNull(i, params.column(u"max_val"_s)))
            p.max = params.toDouble(i, u"max_val"_s);
        p.enumValues = jsonTextArray(params.text(i, u"enumvals"_s));
        p.bootValue = params.text(i, u"boot_val"_s);
        const QString source = params.text(i, u"source"_s);
        if (source == u"user"_s || source == u"database"_s || source == u"database user"_s) {
            p.serverValue = p.bootValue;
            p.serverSource = u"built-in default (this connection's own %1 setting hides the server's value)"_s.arg(source);
        } else {
            p.serverValue = params.text(i, u"reset_val"_s);
            p.serverSource = source == u"session"_s || source == u"client"_s ? u"server"_s : source;
        }
        c.params.insert(p.name, p);
    }
    if (c.serverVersionNum >= 150000 && !c.superuser) {
        const auto granted = conn.exec(u"SELECT name FROM pg_settings WHERE context = 'superuser'"
                                       " AND has_parameter_privilege(name, 'SET')"_s);
        if (!granted.ok())
            return failed(granted);
        for (int i = 0; i < granted.rowCount(); ++i)
            c.grantedSuperuserParams << granted.text(i, 0);
    }

    const auto dbs = conn.exec(u"SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1"_s);
    if (!dbs.ok())
        return failed(dbs);
    for (int i = 0; i < dbs.rowCount(); ++i)
        c.databases << dbs.text(i, 0);

    const auto roles = conn.exec(
        u"SELECT r.oid, r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolinherit, r.rolconnlimit,"
        " extract(epoch FROM r.rolvaliduntil)::float8 AS rolvaliduntil,"
        " array_to_json(ARRAY(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid"
        "                     WHERE m.member = r.oid ORDER BY 1))::text AS member_of,"
        " pg_has_role(r.oid, 'pg_monitor', 'USAGE') AS pg_monitor,"
        " pg_has_role(r.oid, 'pg_signal_backend', 'USAGE') AS pg_signal_backend,"
        " (SELECT count(*) FROM pg_stat_activity a WHERE a.usesysid = r.oid) AS sessions"
        " FROM pg_roles r WHERE r.rolname !~ '^pg_' ORDER BY r.rolname"_s);
    if (!roles.ok())
        return failed(roles);
    for (int i = 0; i < roles.rowCount(); ++i) {
        RoleInfo r;
        r.oid = quint32(roles.toInt64(i, u"oid"_s));
        r.name = roles.text(i, u"rolname"_s);
        r.canLogin = roles.toBool(i, u"rolcanlogin"_s);
        r.superuser = roles.toBool(i, u"rolsuper"_s);
        r.createRole = roles.toBool(i, u"rolcreaterole"_s);
        r.inherit = roles.toBool(i, u"rolinherit"_s);
        r.connectionLimit = int(roles.toInt64(i, u"rolconnlimit"_s, -1));
        r.validUntil = timestamp(roles, i, u"rolvaliduntil"_s);
        r.memberOf = jsonTextArray(roles.text(i, u"member_of"_s));
        r.pgMonitor = roles.toBool(i, u"pg_monitor"_s);
        r.pgSignalBackend = roles.toBool(i, u"pg_signal_backend"_s);
        r.sessions = int(roles.toInt64(i, u"sessions"_s));
        c.roles << r;
    }

    const auto settings = conn.exec(u"SELECT s.setrole, coalesce(d.datname, '') AS datname,"
                                    " array_to_json(s.setconfig)::text AS config"
                                    " FROM pg_db_role_setting s LEFT JOIN pg_database d ON d.oid = s.setdatabase"
                                    " ORDER BY 2"_s);
    if (!settings.ok())
        return failed(settings);
    for (int i = 0; i < settings.rowCount(); ++i) {
        const quint32 roleOid = quint32(settings.toInt64(i, 0));
        const QString db = settings.text(i, 1);
        const QStringList items = jsonTextArray(settings.text(i, 2));
        if (roleOid == 0) {
            if (db == c.database)
                for (const QString& item : items) {
                    const RoleSetting s = splitSetting(db, item);
                    c.databaseSettings.insert(s.name, s.value);
                }
            continue;
        }
        for (RoleInfo& r : c.roles)
            if (r.oid == roleOid)
                for (const QString& item : items)
                    r.settings << splitSetting(db, item);
    }
    error->clear();
    return c;
}

QList<RoleSession> roleSessions(htap::pg::Connection& conn, const QString& role, const QString& database, QString* error)
{
    const auto r = conn.exec(u"SELECT pid, datname, application_name, coalesce(host(client_addr), 'local') AS client,"
                             " state, extract(epoch FROM backend_start)::float8 AS backend_start, left(query, 200) AS query"
                             " FROM pg_stat_activity"
                             " WHERE usename = $1 AND ($2::text IS NULL OR datname = $2) AND pid <> pg_backend_pid()"
                             "   AND backend_type = 'client backend'"
                             " ORDER BY backend_start"_s,
        {role, database.isEmpty() ? QVariant() : QVariant(database)});
    QList<RoleSession> out;
    if (!r.ok()) {
        *error = r.error().oneLine();
        return out;
    }
    for (int i = 0; i < r.rowCount(); ++i)
        out << RoleSession {int(r.toInt64(i, u"pid"_s)), r.text(i, u"datname"_s), r.text(i, u"application_name"_s),
            r.text(i, u"client"_s), r.text(i, u"state"_s), timestamp(r, i, u"backend_start"_s), r.text(i, u"query"_s)};
    error->clear();
    return out;
}

} // namespace htap::roles
