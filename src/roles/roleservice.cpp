#include "roleservice.h"

#include <pg/connection.h>
#include <pg/identifier.h>

#include <QJsonArray>
#include <QJsonDocument>

namespace htap::roles {

using namespace Qt::StringLiterals;
using htap::pg::quoteIdentifier;
using htap::pg::quoteLiteral;

namespace {

constexpr auto kHiddenPassword = "'********'";

/// A role's connection limit and its settings at one scope, read inside the apply transaction.
struct RoleState {
    bool exists = false;
    int connectionLimit = -1;
    QMap<QString, QString> settings;
};

RoleState readState(htap::pg::Connection& conn, const QString& role, const QString& database, QString* error)
{
    const auto r = conn.exec(
        u"SELECT r.rolconnlimit, coalesce((SELECT array_to_json(s.setconfig)::text FROM pg_db_role_setting s"
        "   WHERE s.setrole = r.oid AND s.setdatabase = coalesce((SELECT d.oid FROM pg_database d WHERE d.datname = $2), 0)),"
        "   '[]') FROM pg_roles r WHERE r.rolname = $1"_s,
        {role, database.isEmpty() ? QVariant() : QVariant(database)});
    RoleState s;
    if (!r.ok()) {
        *error = r.error().oneLine();
        return s;
    }
    if (r.rowCount() == 0)
        return s;
    s.exists = true;
    s.connectionLimit = int(r.toInt64(0, 0, -1));
    for (const QJsonValue& v : QJsonDocument::fromJson(r.text(0, 1).toUtf8()).array()) {
        const QString item = v.toString();
        const qsizetype eq = item.indexOf(u'=');
        s.settings.insert(item.left(eq).toLower(), item.mid(eq + 1));
    }
    return s;
}

QString shown(const std::optional<QString>& v)
{
    return v ? *v : u"(not set)"_s;
}

/// The transaction of one change of roles, as the audit entry records it.
struct ChangeTransaction {
    QString user;
    QString xid;              ///< pg_current_xact_id(): settles the entry if the program stops
    QString systemIdentifier; ///< the cluster's, so that an id is never looked up in another cluster
};

/// Opens the transaction of a change. Read committed whatever the session's default: each
/// statement after the queue must see what the change before it committed (in repeatable read
/// the snapshot would be taken before the lock is granted). Empty, or why not.
QString beginChange(htap::pg::Connection& conn, ChangeTransaction* t)
{
    const auto begin = conn.exec(u"BEGIN ISOLATION LEVEL READ COMMITTED"_s);
    if (!begin.ok())
        return begin.error().oneLine();
    // txid_current() before PostgreSQL 13; pg_control_system() may be revoked on a hardened
    // server, and the identifier is only a safeguard.
    const auto r = conn.exec(u"SELECT current_user, %1()::text, CASE WHEN has_function_privilege('pg_control_system()', "
                             "'EXECUTE') THEN (SELECT system_identifier FROM pg_control_system())::text END"_s.arg(
                                 conn.serverVersionNum() >= 130000 ? u"pg_current_xact_id"_s : u"txid_current"_s));
    if (!r.ok())
        return r.error().oneLine();
    t->user = r.text(0, 0);
    t->xid = r.text(0, 1);
    t->systemIdentifier = r.text(0, 2);
    return {};
}

/// Waits in the transaction for this server's role-change lock (kRoleChangeLockClass), then
/// sets the 5 s lock_timeout of the statements that follow. Empty, or why not (the transaction
/// is then aborted).
QString queueForRoleChanges(htap::pg::Connection& conn)
{
    // A change holds the lock for a few statements; a minute means the one ahead is stuck (a
    // stopped program whose server session waits on a lock, or someone holding it in psql).
    auto r = conn.exec(u"SET LOCAL lock_timeout = '60s'"_s);
    if (r.ok())
        r = conn.exec(u"SELECT pg_advisory_xact_lock($1, $2)"_s, {kRoleChangeLockClass, kRoleChangeLockId});
    if (!r.ok() && r.error().sqlstate == u"55P03"_s) {
        conn.exec(u"ROLLBACK"_s);
        const auto holder = conn.exec(u"SELECT l.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, '')"
                                      " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
                                      " WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2"
                                      " AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"_s,
            {kRoleChangeLockClass, kRoleChangeLockId});
        const QString who = holder.ok() && holder.rowCount() > 0
            ? u" (pid %1, %2, user %3)"_s.arg(holder.text(0, 0), holder.text(0, 1), holder.text(0, 2))
            : QString();
        return u"Another change of this server's roles%1 has held their lock for 60 s; try again when it has finished."_s.arg(who);
    }
    if (!r.ok())
        return r.error().oneLine();
    // Advisory locks are per database: a change through another database holds a lock of its
    // own. Each change looks after taking its lock, so of two at once at least one sees the other.
    const auto others = conn.exec(u"SELECT l.pid, coalesce(d.datname, '?') FROM pg_locks l LEFT JOIN pg_database d ON d.oid = l.database"
                                  " WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2"
                                  " AND l.granted AND l.pid <> pg_backend_pid()"_s,
        {kRoleChangeLockClass, kRoleChangeLockId});
    if (!others.ok())
        return others.error().oneLine();
    if (others.rowCount() > 0)
        return u"Another change of this server's roles is running through database \"%1\" (pid %2): changes through different "
               "databases cannot queue behind each other; try again when it has finished."_s.arg(others.text(0, 1), others.text(0, 0));
    r = conn.exec(u"SET LOCAL lock_timeout = '5s'"_s);
    return r.ok() ? QString() : r.error().oneLine();
}

/// A statement that collided with another session changing the same role at the same moment,
/// outside the queue (psql, another tool): the catalog row it meant to update or insert was
/// changed under it.
bool changedConcurrently(const htap::pg::PgError& e)
{
    return e.sqlstate == u"23505"_s || e.sqlstate == u"40001"_s || e.sqlstate == u"40P01"_s
        || (e.sqlstate == u"XX000"_s && e.message.contains(u"concurrently"_s));
}

QString describeScope(const RoleChange& c)
{
    return c.database.isEmpty() ? u"\"%1\""_s.arg(c.role) : u"\"%1\" in database \"%2\""_s.arg(c.role, c.database);
}

/// Whether the server holds all of plan's after state (true), all of its before state (false)
/// or neither (nullopt).
std::optional<bool> judgeByValues(const Catalog& catalog, const Plan& plan)
{
    bool allAfter = true, allBefore = true;
    for (const RoleChange& c : plan.changes) {
        const RoleInfo* role = catalog.role(c.role);
        if (!role)
            return std::nullopt;
        for (const SettingChange& s : c.settings) {
            const std::optional<QString> now = role->setting(c.database, s.name);
            allAfter &= sameStoredValue(s.name, now, s.after);
            allBefore &= sameStoredValue(s.name, now, s.before);
        }
        if (c.limitAfter) {
            allAfter &= role->connectionLimit == *c.limitAfter;
            allBefore &= role->connectionLimit == c.limitBefore.value_or(-1);
        }
    }
    if (allAfter == allBefore) // both: the plan changes nothing; neither: someone else's values
        return std::nullopt;
    return allAfter;
}

} // namespace

QString explainRoleError(const htap::pg::PgError& e)
{
    if (e.sqlstate == u"42501"_s)
        return u"not allowed: %1 (changing a role needs superuser or CREATEROLE; a superuser role or a superuser-only "
               "parameter needs superuser)"_s.arg(e.message);
    if (e.sqlstate == u"42704"_s)
        return u"%1 (it was dropped or renamed after the plan was made)"_s.arg(e.message);
    if (e.sqlstate == u"55P03"_s)
        return u"the role is locked by another transaction (lock_timeout 5 s): %1"_s.arg(e.message);
    if (changedConcurrently(e))
        return u"another session changed the same role at the same moment (%1)"_s.arg(e.message);
    return e.oneLine() + (e.hint.isEmpty() ? QString() : u" Hint: "_s + e.hint);
}

QJsonObject ApplyOutcome::toJson() const
{
    QJsonArray sessions;
    for (const auto& [role, s] : oldSessions)
        sessions << QJsonObject {{u"role"_s, role}, {u"pid"_s, s.pid}, {u"database"_s, s.database},
            {u"application_name"_s, s.applicationName}, {u"client"_s, s.clientAddress}, {u"state"_s, s.state},
            {u"backend_start"_s, s.backendStart.toString(Qt::ISODateWithMs)}};
    return {{u"ok"_s, ok}, {u"message"_s, message}, {u"audit_id"_s, auditId}, {u"audit_warning"_s, auditWarning},
        {u"statements"_s, QJsonArray::fromStringList(statements)}, {u"sessions_on_old_settings"_s, sessions},
        {u"notes"_s, QJsonArray::fromStringList(notes)}};
}

bool WizardPlan::ok() const
{
    return std::none_of(issues.begin(), issues.end(), [](const PlanIssue& i) { return i.error; });
}

QJsonObject WizardPlan::toJson() const
{
    QJsonArray errors, warnings;
    for (const PlanIssue& i : issues)
        (i.error ? errors : warnings) << i.text();
    return {{u"statements"_s, QJsonArray::fromStringList(statements)}, {u"errors"_s, errors}, {u"warnings"_s, warnings}};
}

RoleService::RoleService(htap::pg::Connection& conn, const htap::store::AuditLog& audit)
    : m_conn(conn)
    , m_audit(audit)
{
}

Catalog RoleService::catalog(QString* error)
{
    return readCatalog(m_conn, error);
}

Plan RoleService::plan(const ProfileSet& set, QString* error)
{
    const Catalog c = readCatalog(m_conn, error);
    if (!error->isEmpty())
        return {};
    return planProfiles(c, set);
}

ApplyOutcome RoleService::apply(const Plan& plan)
{
    ApplyOutcome out;
    out.statements = plan.statements();
    if (!plan.ok()) {
        out.message = u"The plan has errors; nothing was sent:\n"_s + plan.errors().join(u'\n');
        return out;
    }
    if (plan.isEmpty()) {
        out.ok = true;
        out.message = u"Nothing to change: every setting already has the asked value."_s;
        return out;
    }
    QString error;
    auto rollback = [&](const QString& why) {
        m_conn.exec(u"ROLLBACK"_s);
        out.message = why + u" Nothing was changed."_s;
        if (out.auditId) {
            QString e;
            m_audit.finish(out.auditId, u"failed"_s, why, &e);
        }
        return out;
    };
    ChangeTransaction t;
    if (const QString why = beginChange(m_conn, &t); !why.isEmpty())
        return rollback(why);

    // Recorded before the queue, so that the server-wide lock is never held while a local file
    // is slow or busy; from here on a program that stops leaves an entry whose transaction id
    // settles it (settleInterrupted).
    htap::store::AuditEntry entry;
    entry.server = plan.server;
    entry.serverKey = plan.serverKey;
    entry.appliedBy = t.user;
    entry.kind = plan.kind;
    entry.title = plan.title;
    entry.roles = plan.roles();
    entry.undoOf = plan.undoOf;
    entry.plan = plan.toJson();
    entry.xid = t.xid;
    entry.systemIdentifier = t.systemIdentifier;
    out.auditId = m_audit.begin(entry, &error);
    if (!out.auditId)
        return rollback(u"Cannot record the change in the audit log (%1), so it is not made."_s.arg(error));

    if (const QString why = queueForRoleChanges(m_conn); !why.isEmpty())
        return rollback(why);
    // Behind the lock each statement sees what the change ahead committed. The plan was made
    // against a before state: where the server holds another now, applying it would overwrite a
    // change its author never saw, and its audit entry would name the wrong before values.
    QStringList drift;
    for (const RoleChange& c : plan.changes) {
        const RoleState s = readState(m_conn, c.role, c.database, &error);
        if (!error.isEmpty())
            return rollback(error);
        if (!s.exists) {
            drift << u"role \"%1\" does not exist any more (dropped or renamed)"_s.arg(c.role);
            continue;
        }
        for (const SettingChange& sc : c.settings) {
            const std::optional<QString> now = s.settings.contains(sc.name) ? std::optional(s.settings.value(sc.name)) : std::nullopt;
            if (now != sc.before)
                drift << u"%1 of %2 is %3, the plan expected %4"_s.arg(sc.name, describeScope(c), shown(now), shown(sc.before));
        }
        if (c.limitAfter && s.connectionLimit != c.limitBefore.value_or(-1))
            drift << u"the connection limit of \"%1\" is %2, the plan expected %3"_s.arg(c.role,
                QString::number(s.connectionLimit), QString::number(c.limitBefore.value_or(-1)));
    }
    if (!drift.isEmpty())
        return rollback(u"The settings changed since the plan was made: %1; plan again."_s.arg(drift.join(u"; "_s)));

    for (const RoleChange& c : plan.changes) {
        for (const QString& sql : c.statements()) {
            const auto r = m_conn.exec(sql);
            if (r.ok())
                continue;
            if (changedConcurrently(r.error()))
                return rollback(u"The settings changed since the plan was made: another session changed %1 at the same "
                                "moment, outside HTAP Studio's queue (%2 collided with it); plan again."_s.arg(describeScope(c), sql));
            return rollback(u"%1 failed: %2."_s.arg(sql, explainRoleError(r.error())));
        }
    }
    // Read back inside the transaction: commit only what is exactly what was asked for.
    for (const RoleChange& c : plan.changes) {
        const RoleState s = readState(m_conn, c.role, c.database, &error);
        if (!error.isEmpty())
            return rollback(error);
        QStringList wrong;
        for (const SettingChange& sc : c.settings) {
            const std::optional<QString> now = s.settings.contains(sc.name) ? std::optional(s.settings.value(sc.name)) : std::nullopt;
            if (!sameStoredValue(sc.name, now, sc.after))
                wrong << u"%1 reads back as %2, not %3"_s.arg(sc.name, shown(now), shown(sc.after));
        }
        if (c.limitAfter && s.connectionLimit != *c.limitAfter)
            wrong << u"connection limit reads back as %1, not %2"_s.arg(QString::number(s.connectionLimit),
                QString::number(*c.limitAfter));
        if (!wrong.isEmpty())
            return rollback(u"Role \"%1\": %2."_s.arg(c.role, wrong.join(u"; "_s)));
    }
    const auto commit = m_conn.exec(u"COMMIT"_s);
    if (!commit.ok() && commit.error().kind == htap::pg::PgError::Kind::Connection) {
        // The connection broke during COMMIT: the change may or may not be in. The entry stays
        // "applying" until settleInterrupted asks the server how its transaction ended.
        out.message = u"The connection broke during COMMIT (%1): whether the change is in is unknown. Audit #%2 stays "
                      "\"applying\" until the next command on this server settles it from the server's record of the "
                      "transaction."_s.arg(commit.error().oneLine(), QString::number(out.auditId));
        m_audit.finish(out.auditId, u"applying"_s, u"connection lost during COMMIT: outcome unknown"_s, &error);
        return out;
    }
    if (!commit.ok())
        return rollback(u"COMMIT failed: %1."_s.arg(commit.error().oneLine()));

    out.ok = true;
    if (!m_audit.finish(out.auditId, u"applied"_s, QString(), &error))
        out.auditWarning = error;
    if (plan.undoOf && !m_audit.finish(plan.undoOf, u"undone"_s, u"undone by #%1"_s.arg(out.auditId), &error))
        out.auditWarning = error;
    out.message = u"Applied %1 statement(s) in one transaction and read them back (audit #%2). Role settings reach "
                  "new sessions only."_s.arg(QString::number(out.statements.size()), QString::number(out.auditId));
    for (const RoleChange& c : plan.changes) {
        for (const RoleSession& s : roleSessions(m_conn, c.role, c.database, &error))
            out.oldSessions.append({c.role, s});
        if (c.cpuNice > 0) {
            int changed = 0;
            const QString note = renice(c.role, c.cpuNice, &changed, &error);
            out.notes << (error.isEmpty() ? note : error);
        }
    }
    if (!out.oldSessions.isEmpty())
        out.message += u" %1 session(s) of these roles started before and keep the old values until they reconnect."_s.arg(
            out.oldSessions.size());
    return out;
}

QStringList RoleService::settleInterrupted(QString* error)
{
    error->clear();
    QStringList notes;
    const QList<htap::store::AuditEntry> entries = m_audit.unsettled(serverKeyOf(m_conn), error);
    if (!error->isEmpty() || entries.isEmpty())
        return notes;
    const auto ident = m_conn.exec(u"SELECT CASE WHEN has_function_privilege('pg_control_system()', 'EXECUTE') THEN"
                                   " (SELECT system_identifier FROM pg_control_system())::text END"_s);
    const QString system = ident.ok() ? ident.text(0, 0) : QString();
    std::optional<Catalog> catalog; // read once, and only when an entry must be judged by the values
    for (const htap::store::AuditEntry& e : entries) {
        // The Advisor's changes share the log; they are settled by the Advisor (AdviceService).
        if (e.kind.startsWith(u"advice"_s))
            continue;
        std::optional<bool> committed;
        QString how;
        if (!e.xid.isEmpty()) {
            // Another cluster that had this address (a sandbox made again) ran it: its
            // transaction ids mean nothing here.
            if (!e.systemIdentifier.isEmpty() && !system.isEmpty() && e.systemIdentifier != system)
                continue;
            const auto r = m_conn.exec(m_conn.serverVersionNum() >= 130000 ? u"SELECT pg_xact_status($1::xid8)"_s
                                                                           : u"SELECT txid_status($1::bigint)"_s,
                {e.xid});
            if (!r.ok() && r.error().sqlstate == u"22023"_s)
                continue; // "in the future": another cluster's transaction after all
            if (!r.ok()) {
                *error = r.error().oneLine();
                return notes;
            }
            const QString status = r.isNull(0, 0) ? QString() : r.text(0, 0);
            // Still open: a change being applied right now, or one whose program is gone but whose
            // server session has not noticed yet (it waits on a lock). Its end settles it.
            if (status == u"in progress"_s)
                continue;
            if (status == u"committed"_s || status == u"aborted"_s) {
                committed = status == u"committed"_s;
                how = u"the server's record of transaction %1"_s.arg(e.xid);
            }
        }
        // No transaction id (an older build's entry), or one so old that the server no longer
        // keeps its status: the values are the only witness left.
        if (!committed && e.kind != u"wizard"_s) {
            if (!catalog) {
                catalog = readCatalog(m_conn, error);
                if (!error->isEmpty())
                    return notes;
            }
            committed = judgeByValues(*catalog, Plan::fromJson(e.plan));
            how = u"the server's values"_s;
        }
        if (!committed) {
            notes << u"audit #%1 (%2) was left \"applying\" by a program that stopped, and %3: it is left as it is (see "
                     "htapctl roles show)"_s.arg(QString::number(e.id), e.title,
                         e.kind == u"wizard"_s ? u"the server no longer tells how its transaction ended"_s
                                               : u"the server's roles hold neither its before nor its after state"_s);
            continue;
        }
        QString failure;
        if (*committed) {
            m_audit.finish(e.id, u"applied"_s,
                u"its program stopped before recording the outcome; the server committed it (settled from %1)"_s.arg(how), &failure);
            if (e.undoOf && failure.isEmpty())
                m_audit.finish(e.undoOf, u"undone"_s, u"undone by #%1"_s.arg(e.id), &failure);
            notes << u"audit #%1 (%2), left \"applying\" by a program that stopped, was committed: marked applied"_s.arg(
                QString::number(e.id), e.title);
        } else {
            m_audit.finish(e.id, u"interrupted"_s,
                u"not applied: its program stopped before COMMIT and the server rolled it back (settled from %1)"_s.arg(how),
                &failure);
            notes << u"audit #%1 (%2), left \"applying\" by a program that stopped, was rolled back by the server: marked "
                     "interrupted, nothing of it was applied"_s.arg(QString::number(e.id), e.title);
        }
        if (!failure.isEmpty()) {
            *error = failure;
            return notes;
        }
    }
    return notes;
}

Plan RoleService::planUndo(qint64 id, QString* error)
{
    const std::optional<htap::store::AuditEntry> entry = m_audit.find(id, error);
    if (!entry)
        return {};
    if (entry->kind == u"wizard"_s) {
        *error = u"#%1 created roles with the wizard; undo does not drop roles (DROP ROLE them yourself)"_s.arg(id);
        return {};
    }
    // "applying": the program stopped between sending and recording the outcome. What the server
    // holds now decides; planUndo warns where it differs from the entry's after state.
    if (entry->status != u"applied"_s && entry->status != u"applying"_s) {
        *error = u"#%1 is %2, not applied: there is nothing of it to undo"_s.arg(QString::number(id), entry->status);
        return {};
    }
    const Catalog c = readCatalog(m_conn, error);
    if (!error->isEmpty())
        return {};
    Plan plan = htap::roles::planUndo(c, Plan::fromJson(entry->plan), id);
    if (entry->status == u"applying"_s)
        plan.issues.prepend(PlanIssue {false, {}, u"#%1 never recorded its outcome (the program stopped while applying it); "
                                                  "undo restores its before state all the same"_s.arg(id)});
    return plan;
}

int RoleService::terminate(const QList<int>& pids, QString* error)
{
    QStringList ids;
    for (int pid : pids)
        ids << QString::number(pid);
    const auto r = m_conn.exec(u"SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM unnest($1::int[]) AS pid"_s,
        {u"{%1}"_s.arg(ids.join(u','))});
    if (!r.ok()) {
        *error = r.error().sqlstate == u"42501"_s
            ? u"not allowed to end these sessions: that needs pg_signal_backend, or being their role (%1)"_s.arg(r.error().message)
            : r.error().oneLine();
        return 0;
    }
    error->clear();
    return int(r.toInt64(0, 0));
}

QString RoleService::renice(const QString& role, int nice, int* changed, QString* error)
{
    error->clear();
    *changed = 0;
    if (nice < 1 || nice > 19) {
        *error = u"CPU priority of \"%1\" not lowered: nice %2 is not a level from 1 (a little lower) to 19 (lowest)"_s.arg(
            role, QString::number(nice));
        return {};
    }
    const auto ext = m_conn.exec(u"SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
                                 " WHERE e.extname = 'prioritize'"_s);
    if (!ext.ok() || ext.rowCount() == 0) {
        *error = ext.ok() ? u"CPU priority of \"%1\" not lowered: the prioritize extension is not created in this database "
                            "(CREATE EXTENSION prioritize; Debian package postgresql-15-prioritize)"_s.arg(role)
                          : ext.error().oneLine();
        return {};
    }
    const QString fn = htap::pg::quoteQualified(ext.text(0, 0), u"set_backend_priority"_s);
    const auto r = m_conn.exec(u"SELECT count(*) FILTER (WHERE ok), count(*) FILTER (WHERE NOT ok) FROM"
                               " (SELECT %1(pid, $2) AS ok FROM pg_stat_activity"
                               "  WHERE usename = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()) s"_s.arg(fn),
        {role, nice});
    if (!r.ok()) {
        *error = r.error().oneLine();
        return {};
    }
    *changed = int(r.toInt64(0, 0));
    const int refused = int(r.toInt64(0, 1));
    return u"CPU priority of \"%1\": %2 backend(s) set to nice %3%4; new sessions start at normal priority, and a backend "
           "cannot be given its priority back"_s.arg(role, QString::number(*changed), QString::number(nice),
               refused ? u" (%1 refused: a backend can only be niced further, by a superuser or its own role)"_s.arg(refused) : QString());
}

bool RoleService::installPrioritize(QString* error)
{
    const auto r = m_conn.exec(u"CREATE EXTENSION IF NOT EXISTS prioritize"_s);
    if (!r.ok()) {
        *error = r.error().sqlstate == u"42501"_s ? u"CREATE EXTENSION prioritize needs a superuser"_s
               : r.error().sqlstate == u"58P01"_s || r.error().sqlstate == u"0A000"_s
            ? u"the server has no prioritize extension: install postgresql-15-prioritize on the server (%1)"_s.arg(r.error().message)
            : r.error().oneLine();
        return false;
    }
    return true;
}

QList<std::pair<QString, QString>> RoleService::wizardStatements(const WizardSpec& spec, bool hashPasswords,
    WizardPlan* plan, QString* error)
{
    QList<std::pair<QString, QString>> out; // (as shown, as sent)
    error->clear();
    auto issue = [&](bool isError, const QString& message) { plan->issues << PlanIssue {isError, {}, message}; };
    const Catalog c = readCatalog(m_conn, error);
    if (!error->isEmpty())
        return out;
    if (!c.superuser && !c.createRole)
        issue(true, u"%1 cannot create roles: that needs superuser or CREATEROLE"_s.arg(c.currentUser));
    const QStringList names {spec.oltpRole, spec.olapRole, spec.monitorRole};
    for (const QString& n : names)
        if (n.isEmpty() || n.size() > 63 || n.startsWith(u"pg_"_s))
            issue(true, u"\"%1\" is not a name for a new role (1 to 63 characters, not starting with pg_)"_s.arg(n));
    if (QSet<QString>(names.begin(), names.end()).size() != names.size())
        issue(true, u"the three roles need three different names"_s);
    const auto tables = m_conn.exec(u"SELECT t FROM unnest(ARRAY['orders','order_items','inventory','dim_products','dim_users']) t"
                                    " WHERE to_regclass(format('%I.%I', $1::text, t)) IS NULL"_s,
        {spec.schema});
    if (!tables.ok()) {
        *error = tables.error().oneLine();
        return out;
    }
    QStringList missing;
    for (int i = 0; i < tables.rowCount(); ++i)
        missing << tables.text(i, 0);
    if (!missing.isEmpty())
        issue(true, u"schema \"%1\" has no %2: is it the shop schema?"_s.arg(spec.schema, missing.join(u", "_s)));
    // Sequences behind serial columns need USAGE for INSERT; identity columns do not.
    const auto seqs = m_conn.exec(u"SELECT DISTINCT s.oid::regclass::text FROM pg_depend d JOIN pg_class s ON s.oid = d.objid"
                                  " AND s.relkind = 'S' WHERE d.deptype = 'a' AND d.refobjid IN"
                                  " (to_regclass(format('%I.orders', $1::text)), to_regclass(format('%I.order_items', $1::text)))"_s,
        {spec.schema});
    QStringList sequences;
    for (int i = 0; seqs.ok() && i < seqs.rowCount(); ++i)
        sequences << seqs.text(i, 0); // regclass text: already quoted as needed

    auto table = [&](const QString& t) { return htap::pg::quoteQualified(spec.schema, t); };
    const QString schema = quoteIdentifier(spec.schema);
    for (const QString& n : names) {
        const QString password = spec.passwords.value(n);
        QString shownSql, sentSql;
        if (!password.isEmpty()) {
            shownSql = u" PASSWORD "_s + QLatin1String(kHiddenPassword);
            sentSql = shownSql;
            if (hashPasswords) {
                const QString hashed = m_conn.encryptPassword(password, n, error);
                if (hashed.isEmpty())
                    return {};
                sentSql = u" PASSWORD "_s + quoteLiteral(hashed);
            }
        }
        auto both = [&](const QString& pattern) {
            out.append({pattern.arg(quoteIdentifier(n), shownSql), pattern.arg(quoteIdentifier(n), sentSql)});
        };
        const RoleInfo* existing = c.role(n);
        if (!existing) {
            both(u"CREATE ROLE %1 LOGIN%2"_s);
            if (password.isEmpty())
                issue(false, u"\"%1\" gets no password: it can log in only where pg_hba.conf trusts it"_s.arg(n));
        } else {
            if (existing->superuser)
                issue(true, u"\"%1\" exists and is a superuser: pick another name"_s.arg(n));
            if (!existing->canLogin || !password.isEmpty())
                both(u"ALTER ROLE %1 LOGIN%2"_s);
            issue(false, u"\"%1\" exists: it is kept%2, and given the grants below"_s.arg(
                n, password.isEmpty() ? u" with its password"_s : u", with the new password"_s));
        }
    }
    const QString oltp = quoteIdentifier(spec.oltpRole), olap = quoteIdentifier(spec.olapRole);
    QStringList grants;
    grants << u"GRANT USAGE ON SCHEMA %1 TO %2, %3"_s.arg(schema, oltp, olap);
    grants << u"GRANT SELECT, INSERT, UPDATE ON TABLE %1, %2, %3 TO %4"_s.arg(table(u"orders"_s), table(u"order_items"_s),
        table(u"inventory"_s), oltp);
    grants << u"GRANT SELECT ON TABLE %1, %2 TO %3"_s.arg(table(u"dim_products"_s), table(u"dim_users"_s), oltp);
    if (!sequences.isEmpty())
        grants << u"GRANT USAGE ON SEQUENCE %1 TO %2"_s.arg(sequences.join(u", "_s), oltp);
    grants << u"GRANT SELECT ON ALL TABLES IN SCHEMA %1 TO %2"_s.arg(schema, olap);
    grants << u"ALTER DEFAULT PRIVILEGES IN SCHEMA %1 GRANT SELECT ON TABLES TO %2"_s.arg(schema, olap);
    grants << u"GRANT pg_monitor TO %1"_s.arg(quoteIdentifier(spec.monitorRole));
    for (const QString& g : grants)
        out.append({g, g});
    return out;
}

WizardPlan RoleService::planWizard(const WizardSpec& spec, QString* error)
{
    WizardPlan plan;
    for (const auto& [shown, sent] : wizardStatements(spec, false, &plan, error))
        plan.statements << shown;
    return plan;
}

ApplyOutcome RoleService::applyWizard(const WizardSpec& spec)
{
    ApplyOutcome out;
    QString error;
    WizardPlan shown;
    // One catalog read for what is shown, sent and logged: the three cannot differ.
    const QList<std::pair<QString, QString>> statements = wizardStatements(spec, true, &shown, &error);
    if (!error.isEmpty() || !shown.ok()) {
        QStringList errors;
        for (const PlanIssue& i : shown.issues)
            if (i.error)
                errors << i.message;
        out.message = (error.isEmpty() ? errors.join(u'\n') : error) + u"\nNothing was changed."_s;
        return out;
    }
    QStringList display, actual;
    for (const auto& [a, b] : statements) {
        display << a;
        actual << b;
    }
    shown.statements = display;
    out.statements = display;
    const Catalog c = readCatalog(m_conn, &error);
    htap::store::AuditEntry entry;
    entry.server = c.server;
    entry.serverKey = c.serverKey;
    entry.appliedBy = c.currentUser;
    entry.kind = u"wizard"_s;
    entry.title = u"role wizard"_s;
    entry.roles = {spec.oltpRole, spec.olapRole, spec.monitorRole};
    entry.plan = shown.toJson();
    auto rollback = [&](const QString& why) {
        m_conn.exec(u"ROLLBACK"_s);
        out.message = why + u" Nothing was changed."_s;
        if (out.auditId)
            m_audit.finish(out.auditId, u"failed"_s, why, &error);
        return out;
    };
    // The same transaction, entry and queue as apply(): the wizard's ALTER ROLE of an existing
    // role must not collide with a change of its settings.
    ChangeTransaction t;
    if (const QString why = beginChange(m_conn, &t); !why.isEmpty())
        return rollback(why);
    entry.xid = t.xid;
    entry.systemIdentifier = t.systemIdentifier;
    out.auditId = m_audit.begin(entry, &error);
    if (!out.auditId)
        return rollback(u"Cannot record the change in the audit log (%1)."_s.arg(error));
    if (const QString why = queueForRoleChanges(m_conn); !why.isEmpty())
        return rollback(why);
    for (int i = 0; i < actual.size(); ++i) {
        const auto r = m_conn.exec(actual[i]);
        if (!r.ok()) // the message names the statement as shown, never the one with the password hash
            return rollback(u"%1 failed: %2."_s.arg(display.value(i), explainRoleError(r.error()).replace(actual[i], display.value(i))));
    }
    const auto commit = m_conn.exec(u"COMMIT"_s);
    if (!commit.ok())
        return rollback(u"COMMIT failed: %1."_s.arg(commit.error().message));
    out.ok = true;
    if (!m_audit.finish(out.auditId, u"applied"_s, QString(), &error))
        out.auditWarning = error;
    out.message = u"Created or updated %1, %2 and %3 with least grants on schema %4 (audit #%5)."_s.arg(spec.oltpRole,
        spec.olapRole, spec.monitorRole, spec.schema, QString::number(out.auditId));
    return out;
}

} // namespace htap::roles
