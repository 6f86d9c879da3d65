#include "roleplan.h"

#include <pg/identifier.h>

#include <QJsonArray>

#include <algorithm>

namespace htap::roles {

using namespace Qt::StringLiterals;
using htap::pg::quoteIdentifier;
using htap::pg::quoteLiteral;

namespace {

// A parameter name as SQL: each dotted part quoted ("myext"."x" for a custom parameter).
QString quoteParam(const QString& name)
{
    QStringList parts;
    for (const QString& p : name.split(u'.'))
        parts << quoteIdentifier(p);
    return parts.join(u'.');
}

int editDistance(const QString& a, const QString& b)
{
    QList<int> prev(b.size() + 1), cur(b.size() + 1);
    for (int j = 0; j <= b.size(); ++j)
        prev[j] = j;
    for (int i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (int j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

QString suggestion(const Catalog& c, const QString& name)
{
    QString best;
    int bestDistance = 4;
    for (auto it = c.params.cbegin(); it != c.params.cend(); ++it) {
        const int d = editDistance(name, it.key());
        if (d < bestDistance || (d == bestDistance && it.key() < best)) {
            bestDistance = d;
            best = it.key();
        }
    }
    return best.isEmpty() ? QString() : u" (did you mean %1?)"_s.arg(best);
}

QJsonValue optionalText(const std::optional<QString>& v)
{
    return v ? QJsonValue(*v) : QJsonValue();
}

std::optional<QString> optionalText(const QJsonValue& v)
{
    return v.isString() ? std::optional<QString>(v.toString()) : std::nullopt;
}

} // namespace

QStringList RoleChange::statements() const
{
    QStringList out;
    const QString target = u"ALTER ROLE "_s + quoteIdentifier(role)
        + (database.isEmpty() ? QString() : u" IN DATABASE "_s + quoteIdentifier(database));
    for (const SettingChange& s : settings) {
        if (!s.after) {
            out << target + u" RESET "_s + quoteParam(s.name);
            continue;
        }
        // A list parameter takes one literal per element; anything else one literal.
        QStringList elements;
        if (!isListParam(s.name) || !splitList(*s.after, &elements, listDowncases(s.name)) || elements.isEmpty())
            elements = QStringList {*s.after};
        QStringList literals;
        for (const QString& e : elements)
            literals << quoteLiteral(e);
        out << target + u" SET "_s + quoteParam(s.name) + u" = "_s + literals.join(u", "_s);
    }
    if (limitAfter)
        out << u"ALTER ROLE %1 CONNECTION LIMIT %2"_s.arg(quoteIdentifier(role), QString::number(*limitAfter));
    return out;
}

bool Plan::ok() const
{
    return std::none_of(issues.begin(), issues.end(), [](const PlanIssue& i) { return i.error; });
}

bool Plan::isEmpty() const
{
    return std::all_of(changes.begin(), changes.end(), [](const RoleChange& c) { return c.isEmpty(); });
}

QStringList Plan::statements() const
{
    QStringList out;
    for (const RoleChange& c : changes)
        out << c.statements();
    return out;
}

QStringList Plan::errors() const
{
    QStringList out;
    for (const PlanIssue& i : issues)
        if (i.error)
            out << i.text();
    return out;
}

QStringList Plan::warnings() const
{
    QStringList out;
    for (const PlanIssue& i : issues)
        if (!i.error)
            out << i.text();
    return out;
}

QStringList Plan::roles() const
{
    QStringList out;
    for (const RoleChange& c : changes)
        if (!out.contains(c.role))
            out << c.role;
    return out;
}

QJsonObject Plan::toJson() const
{
    QJsonArray cs;
    for (const RoleChange& c : changes) {
        QJsonArray ss;
        for (const SettingChange& s : c.settings)
            ss << QJsonObject {{u"name"_s, s.name}, {u"before"_s, optionalText(s.before)}, {u"after"_s, optionalText(s.after)}};
        QJsonObject o {{u"profile"_s, c.profile}, {u"role"_s, c.role},
            {u"database"_s, c.database.isEmpty() ? QJsonValue() : QJsonValue(c.database)}, {u"settings"_s, ss},
            {u"statements"_s, QJsonArray::fromStringList(c.statements())}};
        if (c.limitAfter) {
            o.insert(u"connection_limit_before"_s, c.limitBefore.value_or(-1));
            o.insert(u"connection_limit_after"_s, *c.limitAfter);
        }
        if (c.cpuNice > 0)
            o.insert(u"cpu_nice"_s, c.cpuNice);
        cs << o;
    }
    return {{u"kind"_s, kind}, {u"title"_s, title}, {u"server"_s, server}, {u"server_key"_s, serverKey},
        {u"made_at"_s, madeAt.toString(Qt::ISODateWithMs)}, {u"undo_of"_s, undoOf}, {u"changes"_s, cs},
        {u"unchanged"_s, unchanged}, {u"errors"_s, QJsonArray::fromStringList(errors())},
        {u"warnings"_s, QJsonArray::fromStringList(warnings())}};
}

Plan Plan::fromJson(const QJsonObject& o)
{
    Plan p;
    p.kind = o.value(u"kind"_s).toString();
    p.title = o.value(u"title"_s).toString();
    p.server = o.value(u"server"_s).toString();
    p.serverKey = o.value(u"server_key"_s).toString();
    p.madeAt = QDateTime::fromString(o.value(u"made_at"_s).toString(), Qt::ISODateWithMs);
    p.undoOf = o.value(u"undo_of"_s).toInteger();
    p.unchanged = o.value(u"unchanged"_s).toInt();
    for (const QJsonValue& v : o.value(u"changes"_s).toArray()) {
        const QJsonObject co = v.toObject();
        RoleChange c;
        c.profile = co.value(u"profile"_s).toString();
        c.role = co.value(u"role"_s).toString();
        c.database = co.value(u"database"_s).toString();
        if (co.contains(u"connection_limit_after"_s)) {
            c.limitBefore = co.value(u"connection_limit_before"_s).toInt(-1);
            c.limitAfter = co.value(u"connection_limit_after"_s).toInt(-1);
        }
        c.cpuNice = co.value(u"cpu_nice"_s).toInt();
        for (const QJsonValue& sv : co.value(u"settings"_s).toArray()) {
            const QJsonObject so = sv.toObject();
            c.settings << SettingChange {so.value(u"name"_s).toString(), optionalText(so.value(u"before"_s)),
                optionalText(so.value(u"after"_s))};
        }
        p.changes << c;
    }
    for (const QJsonValue& v : o.value(u"errors"_s).toArray())
        p.issues << PlanIssue {true, {}, v.toString()};
    for (const QJsonValue& v : o.value(u"warnings"_s).toArray())
        p.issues << PlanIssue {false, {}, v.toString()};
    return p;
}

Plan planProfiles(const Catalog& c, const ProfileSet& set)
{
    Plan plan;
    plan.title = set.name;
    plan.server = c.server;
    plan.serverKey = c.serverKey;
    plan.madeAt = c.readAt;
    auto error = [&](const QString& path, const QString& message) { plan.issues << PlanIssue {true, path, message}; };
    auto warning = [&](const QString& path, const QString& message) { plan.issues << PlanIssue {false, path, message}; };

    if (!c.superuser && !c.createRole)
        error(u"$"_s, u"%1 cannot change roles: that needs superuser or the CREATEROLE attribute"_s.arg(c.currentUser));

    QMap<QString, int> limitsAfter; // login roles' connection limits once the plan is applied
    for (const RoleInfo& r : c.roles)
        if (r.canLogin && !r.superuser && r.connectionLimit >= 0)
            limitsAfter.insert(r.name, r.connectionLimit);

    for (int i = 0; i < set.profiles.size(); ++i) {
        const RoleProfile& p = set.profiles[i];
        const QString path = u"$.profiles[%1]"_s.arg(i);
        const RoleInfo* role = c.role(p.role);
        if (!role) {
            error(path + u".role"_s, u"role \"%1\" does not exist on %2 (names are exact: case and spaces count)"_s.arg(p.role, c.server));
            continue;
        }
        if (role->superuser && !c.superuser)
            error(path + u".role"_s, u"\"%1\" is a superuser: only a superuser may change it"_s.arg(p.role));
        if (!p.database.isEmpty() && !c.databases.contains(p.database))
            error(path + u".database"_s, u"database \"%1\" does not exist (or takes no connections)"_s.arg(p.database));

        RoleChange change;
        change.profile = p.name;
        change.role = p.role;
        change.database = p.database;
        change.cpuNice = p.cpuNice;
        for (const auto& [name, value] : p.settings) {
            const QString spath = path + u".settings."_s + name;
            const std::optional<QString> before = role->setting(p.database, name);
            const ParamDef* def = c.param(name);
            std::optional<QString> after = value;
            if (!def) {
                if (!name.contains(u'.')) {
                    error(spath, u"unknown parameter \"%1\" on PostgreSQL %2%3"_s.arg(name, c.serverVersion, suggestion(c, name)));
                    continue;
                }
                warning(spath, u"%1 is not known to the server (an extension's parameter that is not loaded): "
                               "it is stored as given, unchecked"_s.arg(name));
            } else {
                bool superuserOnly = false;
                const QString why = roleSettableReason(*def, &superuserOnly);
                if (!why.isEmpty()) {
                    error(spath, why);
                    continue;
                }
                if (superuserOnly && !c.superuser && !c.grantedSuperuserParams.contains(name)) {
                    error(spath, u"%1 can be set per role only by a superuser (or with GRANT SET ON PARAMETER %1)"_s.arg(name));
                    continue;
                }
                if (value) {
                    const ValueCheck check = checkValue(*def, *value);
                    if (!check.ok) {
                        error(spath, check.message);
                        continue;
                    }
                    after = check.canonical;
                }
            }
            if ((!before && !after) || (before && after && (def ? sameValue(*def, *before, *after) : *before == *after))) {
                ++plan.unchanged;
                continue;
            }
            change.settings << SettingChange {name, before, after};
            if (p.database.isEmpty())
                for (const RoleSetting& s : role->settings)
                    if (s.name == name && !s.database.isEmpty())
                        warning(spath, u"role \"%1\" has its own %2 = %3 in database \"%4\", which wins there over this"_s.arg(
                            p.role, name, s.value, s.database));
        }
        if (p.cpuNice < 0 || p.cpuNice > 19)
            error(path + u".cpu_nice"_s, u"a whole number from 0 (normal) to 19 (lowest CPU priority)"_s);
        if (p.connectionLimit) {
            const int limit = *p.connectionLimit;
            const int most = c.connectionsForRoles();
            if (limit < -1)
                error(path + u".connection_limit"_s, u"a whole number: -1 (no limit) .. %1"_s.arg(most));
            else if (limit > most)
                error(path + u".connection_limit"_s,
                    u"%1 for \"%2\" is more than the server allows: -1 (no limit) .. %3 (max_connections %4 - "
                    "superuser_reserved_connections %5)"_s.arg(QString::number(limit), p.role, QString::number(most),
                        QString::number(c.maxConnections), QString::number(c.reservedConnections)));
            else if (limit != role->connectionLimit) {
                change.limitBefore = role->connectionLimit;
                change.limitAfter = limit;
                if (limit >= 0 && role->sessions > limit)
                    warning(path + u".connection_limit"_s, u"\"%1\" has %2 sessions now, more than %3: they stay, new ones are refused "
                                                           "until fewer remain"_s.arg(p.role, QString::number(role->sessions), QString::number(limit)));
                if (limit == 0)
                    warning(path + u".connection_limit"_s, u"0 refuses every new session of \"%1\""_s.arg(p.role));
            } else {
                ++plan.unchanged;
            }
            if (role->canLogin && !role->superuser && limit <= most) {
                if (limit >= 0)
                    limitsAfter.insert(p.role, limit);
                else
                    limitsAfter.remove(p.role);
            }
        }
        if (p.cpuNice > 0 && c.prioritize != u"installed"_s)
            warning(path + u".cpu_nice"_s, c.prioritize == u"available"_s
                    ? u"the prioritize extension is not created in this database: CREATE EXTENSION prioritize (superuser); "
                      "until then cpu_nice is not applied"_s
                    : u"the prioritize extension is not installed on the server (Debian: postgresql-15-prioritize); "
                      "cpu_nice is not applied"_s);
        plan.changes << change;
    }

    int sum = 0;
    for (int v : limitsAfter)
        sum += v;
    if (sum > c.connectionsForRoles())
        warning(u"$"_s, u"the login roles' connection limits add up to %1, more than the %2 connections ordinary roles can "
                        "have (max_connections %3 - %4 reserved): together they can still fill the server"_s.arg(
                            QString::number(sum), QString::number(c.connectionsForRoles()), QString::number(c.maxConnections),
                            QString::number(c.reservedConnections)));
    return plan;
}

Plan planUndo(const Catalog& c, const Plan& applied, qint64 auditId)
{
    Plan plan;
    plan.kind = u"undo"_s;
    plan.title = u"undo #%1 (%2)"_s.arg(QString::number(auditId), applied.title);
    plan.server = c.server;
    plan.serverKey = c.serverKey;
    plan.madeAt = c.readAt;
    plan.undoOf = auditId;
    if (applied.serverKey != c.serverKey)
        plan.issues << PlanIssue {true, {}, u"#%1 was applied on %2, not on this server (%3)"_s.arg(
                                                QString::number(auditId), applied.server, c.server)};
    for (const RoleChange& a : applied.changes) {
        const RoleInfo* role = c.role(a.role);
        if (!role) {
            plan.issues << PlanIssue {true, {}, u"role \"%1\" no longer exists: nothing to restore"_s.arg(a.role)};
            continue;
        }
        RoleChange u;
        u.profile = a.profile;
        u.role = a.role;
        u.database = a.database;
        for (const SettingChange& s : a.settings) {
            const std::optional<QString> now = role->setting(a.database, s.name);
            if (now != s.after)
                plan.issues << PlanIssue {false, {}, u"%1 of \"%2\" is %3 now, not %4 as applied: it was changed since; "
                                                     "undo sets it back to %5"_s.arg(s.name, a.role, now.value_or(u"(not set)"_s),
                                                         s.after.value_or(u"(not set)"_s), s.before.value_or(u"(not set)"_s))};
            if (now != s.before)
                u.settings << SettingChange {s.name, now, s.before};
        }
        if (a.limitAfter) {
            if (role->connectionLimit != *a.limitAfter)
                plan.issues << PlanIssue {false, {}, u"the connection limit of \"%1\" is %2 now, not %3 as applied"_s.arg(
                                                         a.role, QString::number(role->connectionLimit), QString::number(*a.limitAfter))};
            if (role->connectionLimit != a.limitBefore.value_or(-1)) {
                u.limitBefore = role->connectionLimit;
                u.limitAfter = a.limitBefore.value_or(-1);
            }
        }
        plan.changes << u;
    }
    return plan;
}

} // namespace htap::roles
