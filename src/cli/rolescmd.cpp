// htapctl roles: show, plan, apply, undo, log, sessions, wizard, renice (issue 6).
#include "common.h"
#include "terminal.h"

#include <pg/sandbox.h>
#include <roles/roleservice.h>

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>

#include <cstdio>
#include <unistd.h>

namespace htap::cli {

using namespace Qt::StringLiterals;
using namespace htap::roles;

namespace {

/// Settles the audit entries of this server that a stopped program left "applying" (see
/// RoleService::settleInterrupted), and says what it did on stderr.
void settleInterrupted(RoleService& service)
{
    QString error;
    for (const QString& note : service.settleInterrupted(&error))
        err() << "htapctl: note: " << note << Qt::endl;
    if (!error.isEmpty())
        err() << "htapctl: warning: audit entries left \"applying\" could not be settled: " << error << Qt::endl;
}

/// A change that did not happen: the outcome as JSON on stdout when asked for, the reason on
/// stderr as every error.
int failedOutcome(const ApplyOutcome& o, bool json)
{
    if (json)
        printJson(o.toJson());
    QString message = o.message;
    return fail(message.replace(u'\n', u' '));
}

QString limitText(int limit)
{
    return limit < 0 ? u"no limit"_s : QString::number(limit);
}

void printPlan(const Plan& plan)
{
    out() << "Plan \"" << plan.title << "\" for " << plan.server << Qt::endl;
    for (const RoleChange& c : plan.changes) {
        if (c.isEmpty())
            continue;
        out() << "\n  " << (c.profile.isEmpty() ? QString() : c.profile + u": "_s) << "role " << c.role
              << (c.database.isEmpty() ? u" (every database)"_s : u" in database "_s + c.database) << Qt::endl;
        for (const SettingChange& s : c.settings)
            out() << "    " << s.name.leftJustified(38) << " " << s.before.value_or(u"(server value)"_s) << "  ->  "
                  << s.after.value_or(u"(server value)"_s) << Qt::endl;
        if (c.limitAfter)
            out() << "    " << u"connection limit"_s.leftJustified(38) << " " << limitText(c.limitBefore.value_or(-1))
                  << "  ->  " << limitText(*c.limitAfter) << Qt::endl;
    }
    if (plan.isEmpty())
        out() << "  nothing to change" << (plan.unchanged ? u" (%1 already as asked)"_s.arg(plan.unchanged) : QString()) << Qt::endl;
    const QStringList statements = plan.statements();
    if (!statements.isEmpty()) {
        out() << "\nSQL, in one transaction:\n  BEGIN;\n";
        for (const QString& s : statements)
            out() << "  " << s << ";\n";
        out() << "  COMMIT;" << Qt::endl;
    }
    for (const QString& w : plan.warnings())
        out() << "warning: " << w << Qt::endl;
    for (const QString& e : plan.errors())
        out() << "error: " << e << Qt::endl;
}

void printOutcome(const ApplyOutcome& o)
{
    out() << o.message << Qt::endl;
    if (!o.auditWarning.isEmpty())
        out() << "warning: " << o.auditWarning << Qt::endl;
    for (const QString& n : o.notes)
        out() << n << Qt::endl;
    if (!o.oldSessions.isEmpty()) {
        out() << "\nSessions still on the old settings (end them with: htapctl roles sessions ROLE --terminate):" << Qt::endl;
        for (const auto& [role, s] : o.oldSessions)
            out() << "  pid " << s.pid << "  " << role << "  " << s.database << "  " << s.applicationName << "  " << s.state
                  << "  since " << s.backendStart.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s) << Qt::endl;
    }
}

int showRoles(RoleService& service, const QString& name, const QString& database, bool json)
{
    QString error;
    const Catalog c = service.catalog(&error);
    if (!error.isEmpty())
        return fail(error);
    const QString db = database.isEmpty() ? c.database : database;
    if (name.isEmpty()) {
        if (json) {
            printJson(c.toJson());
            return ExitOk;
        }
        out() << c.server << " (PostgreSQL " << c.serverVersion << "), max_connections " << c.maxConnections << ", "
              << c.reservedConnections << " reserved for superusers; you are " << c.currentUser
              << (c.superuser ? " (superuser)" : c.createRole ? " (CREATEROLE)" : " (cannot change roles)") << Qt::endl;
        out() << "CPU priority (prioritize extension): " << c.prioritize << Qt::endl << Qt::endl;
        out() << u"role"_s.leftJustified(24) << u"login"_s.leftJustified(7) << u"limit"_s.leftJustified(10)
              << u"sessions"_s.leftJustified(10) << "settings" << Qt::endl;
        for (const RoleInfo& r : c.roles) {
            QStringList settings;
            for (const RoleSetting& s : r.settings)
                settings << (s.database.isEmpty() ? QString() : s.database + u":"_s) + s.name + u'=' + s.value;
            QStringList flags;
            if (r.superuser)
                flags << u"superuser"_s;
            if (r.pgMonitor && !r.superuser)
                flags << u"pg_monitor"_s;
            if (r.pgSignalBackend && !r.superuser)
                flags << u"pg_signal_backend"_s;
            out() << r.name.leftJustified(24) << (r.canLogin ? u"yes"_s : u"no"_s).leftJustified(7)
                  << limitText(r.connectionLimit).leftJustified(10) << QString::number(r.sessions).leftJustified(10)
                  << settings.join(u", "_s) << (flags.isEmpty() ? QString() : u"  ["_s + flags.join(u", "_s) + u']') << Qt::endl;
        }
        return ExitOk;
    }
    const RoleInfo* r = c.role(name);
    if (!r)
        return fail(u"role \"%1\" does not exist on %2 (names are exact: case and spaces count)"_s.arg(name, c.server));
    ProfileSet seed;
    QStringList ignored, seedNames;
    if (loadProfileSet(u"seed-isolation"_s, &seed, &ignored))
        for (const RoleProfile& p : seed.profiles)
            for (const auto& s : p.settings)
                seedNames << s.first;
    const QStringList names = c.parametersOf(*r, seedNames);
    if (json) {
        QJsonArray effective;
        for (const QString& n : names) {
            const EffectiveValue e = c.effective(*r, db, n);
            effective << QJsonObject {{u"name"_s, n}, {u"value"_s, e.value}, {u"source"_s, e.source}, {u"detail"_s, e.detail},
                {u"server_value"_s, c.param(n) ? c.param(n)->serverValue : QString()}};
        }
        QJsonObject o = r->toJson();
        o.insert(u"database"_s, db);
        o.insert(u"effective"_s, effective);
        printJson(o);
        return ExitOk;
    }
    out() << "role " << r->name << (r->canLogin ? "" : " (cannot log in)") << ", connection limit "
          << limitText(r->connectionLimit) << ", " << r->sessions << " session(s)" << Qt::endl;
    if (!r->memberOf.isEmpty())
        out() << "member of: " << r->memberOf.join(u", "_s) << Qt::endl;
    out() << "pg_monitor: " << (r->pgMonitor ? "yes" : "no") << ", pg_signal_backend: " << (r->pgSignalBackend ? "yes" : "no")
          << Qt::endl;
    out() << "\nWhat a new session of " << r->name << " in database " << db << " gets:" << Qt::endl;
    for (const QString& n : names) {
        const EffectiveValue e = c.effective(*r, db, n);
        const ParamDef* p = c.param(n);
        out() << "  " << n.leftJustified(38) << " " << (p ? p->display(e.value) : e.value).leftJustified(18) << " from "
              << e.source << (e.source == u"server"_s ? QString() : u" (server: %1)"_s.arg(p ? p->display(p->serverValue) : u"?"_s))
              << Qt::endl;
    }
    return ExitOk;
}

} // namespace

int cmdRoles(const QStringList& args)
{
    const QString action = args.value(1);
    static const QStringList actions {u"show"_s, u"plan"_s, u"apply"_s, u"undo"_s, u"log"_s, u"sessions"_s, u"wizard"_s,
        u"renice"_s, u"profiles"_s};
    int code = ExitOk;
    if (!checkAction(u"roles"_s, action, actions,
            "Usage: htapctl roles ACTION [ARGS] [options] (see htapctl roles ACTION --help)\n\n"
            "  show [ROLE]             roles, limits and settings; with ROLE: what its new sessions get, and from where\n"
            "  plan PROFILE            validate a profile set against the server and print the SQL; changes nothing\n"
            "  apply PROFILE           plan, confirm, apply in one transaction, read back, log in the audit log\n"
            "  undo ID                 put back what audit entry ID changed\n"
            "  log                     the audit log of role changes, newest first\n"
            "  sessions ROLE           the role's sessions (--terminate ends them, after confirmation)\n"
            "  wizard                  create the seed's OLTP, OLAP and monitor roles with least grants\n"
            "  renice ROLE --nice N    lower the CPU priority of the role's backends (prioritize extension)\n"
            "  profiles                the profile sets there are (built-in and your own)\n\n"
            "PROFILE is a file (docs/role-profiles.md) or a profile set's name, e.g. seed-isolation.\n"
            "Without --conn: the sandbox. Changes need confirmation (--yes where there is no terminal).\n",
            &code))
        return code;
    QCommandLineParser parser;
    const QCommandLineOption yes(u"yes"_s, u"Do it without asking"_s);
    const QCommandLineOption force(u"force"_s, u"undo: also when the settings were changed since"_s);
    const QCommandLineOption database(u"database"_s, u"show: the database new sessions go to (default: this one)"_s, u"name"_s);
    const QCommandLineOption limit(u"limit"_s, u"log: how many entries (default 50)"_s, u"n"_s);
    const QCommandLineOption allServers(u"all-servers"_s, u"log: entries of every server, not only this one"_s);
    const QCommandLineOption terminate(u"terminate"_s, u"sessions: end them (pg_terminate_backend)"_s);
    const QCommandLineOption nice(u"nice"_s, u"renice: 1 (a little lower) to 19 (lowest)"_s, u"n"_s);
    const QCommandLineOption audit(u"audit"_s, u"The audit log file (default: %1)"_s.arg(htap::store::AuditLog::defaultPath()),
        u"file"_s);
    const QCommandLineOption schema(u"schema"_s, u"wizard: the shop schema (default public)"_s, u"name"_s);
    const QCommandLineOption oltp(u"oltp"_s, u"wizard: the OLTP writer's name (default oltp_user)"_s, u"name"_s);
    const QCommandLineOption olap(u"olap"_s, u"wizard: the OLAP reader's name (default olap_user)"_s, u"name"_s);
    const QCommandLineOption monitor(u"monitor"_s, u"wizard: the monitor's name (default htap_monitor)"_s, u"name"_s);
    const QCommandLineOption check(u"check"_s, u"wizard: print the SQL, change nothing"_s);
    const QCommandLineOption installPrioritize(u"install-extension"_s, u"renice: CREATE EXTENSION prioritize first"_s);
    parser.addOptions({connOption, jsonOption, yes, force, database, limit, allServers, terminate, nice, audit, schema, oltp,
        olap, monitor, check, installPrioritize});
    if (!parseOptions(parser, args.mid(1), u"Role resource settings: show, plan, apply, undo, audit log."_s, &code))
        return code;
    const QStringList pos = parser.positionalArguments(); // [action, ARG]
    const QString arg = pos.value(1);
    const bool json = parser.isSet(jsonOption);
    if ((action == u"plan"_s || action == u"apply"_s) && arg.isEmpty())
        return fail(u"roles %1 needs a profile file or name (see htapctl roles profiles)"_s.arg(action), ExitUsage);
    if ((action == u"sessions"_s || action == u"renice"_s) && arg.isEmpty())
        return fail(u"roles %1 needs a role name"_s.arg(action), ExitUsage);
    qint64 undoId = 0;
    if (action == u"undo"_s && !parseAuditId(u"roles"_s, arg, &undoId, &code))
        return code;
    // A priority and a count: whole numbers (3.5 must not quietly become 3).
    qint64 limitValue = 50, niceValue = 0;
    if (!parseWholeNumber(parser, limit, 1, 100000, &limitValue, &code) || !parseWholeNumber(parser, nice, 1, 19, &niceValue, &code))
        return code;
    if (action == u"renice"_s && !parser.isSet(nice))
        return fail(u"roles renice needs --nice N (1 to 19)"_s, ExitUsage);
    if (action == u"profiles"_s) {
        QJsonArray a;
        QStringList names = builtinProfileNames();
        for (const QString& f : QDir(userProfileDir()).entryList({u"*.json"_s}, QDir::Files))
            if (!names.contains(f.chopped(5)))
                names << f.chopped(5);
        for (const QString& n : names) {
            ProfileSet set;
            QStringList errors;
            const bool ok = loadProfileSet(n, &set, &errors);
            if (json)
                a << QJsonObject {{u"name"_s, n}, {u"ok"_s, ok}, {u"description"_s, set.description},
                    {u"errors"_s, QJsonArray::fromStringList(errors)}};
            else
                out() << n.leftJustified(24) << (ok ? set.description : u"unreadable: "_s + errors.join(u"; "_s)) << Qt::endl;
        }
        if (json)
            printJson(a);
        return ExitOk;
    }
    ProfileSet set;
    if (action == u"plan"_s || action == u"apply"_s) {
        QStringList errors;
        if (!loadProfileSet(arg, &set, &errors))
            return fail(errors.size() == 1 ? u"invalid profile set: "_s + errors.first()
                                           : u"invalid profile set:\n  "_s + errors.join(u"\n  "_s),
                ExitUsage);
    }
    const htap::store::AuditLog auditLog(parser.value(audit));
    // Nothing is applied without its audit record: a log that cannot be written stops a change
    // before it is planned, confirmed or sent.
    if (action == u"apply"_s || action == u"undo"_s || (action == u"wizard"_s && !parser.isSet(check))) {
        QString error;
        if (!auditLog.checkWritable(&error))
            return fail(error + u"; nothing was sent to the server"_s);
    }
    if (action == u"log"_s && parser.isSet(allServers)) {
        QString error;
        const QList<htap::store::AuditEntry> entries = auditLog.list(QString(), int(limitValue), &error);
        if (!error.isEmpty())
            return fail(error);
        if (json)
            printJson(htap::store::AuditEntry::toJsonArray(entries));
        else
            for (const auto& e : entries)
                out() << "#" << e.id << "  " << e.at.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s) << "  " << e.server
                      << "  " << e.kind << "  " << e.title << "  " << e.roles.join(u", "_s) << "  " << e.status << Qt::endl;
        return ExitOk;
    }

    htap::pg::Connection conn;
    if (!connectConnOrSandbox(parser, conn, u"htapctl roles"_s, &code))
        return code;
    RoleService service(conn, auditLog);
    QString error;

    if (action == u"show"_s)
        return showRoles(service, arg, parser.value(database), json);

    if (action == u"log"_s || action == u"apply"_s || action == u"undo"_s)
        settleInterrupted(service);

    if (action == u"log"_s) {
        const Catalog c = service.catalog(&error);
        if (!error.isEmpty())
            return fail(error);
        const QList<htap::store::AuditEntry> entries = auditLog.list(c.serverKey, int(limitValue), &error);
        if (!error.isEmpty())
            return fail(error);
        if (json) {
            printJson(htap::store::AuditEntry::toJsonArray(entries));
            return ExitOk;
        }
        if (entries.isEmpty())
            out() << "no role changes recorded for " << c.serverKey << " in " << auditLog.path() << Qt::endl;
        for (const auto& e : entries) {
            out() << "#" << e.id << "  " << e.at.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s) << "  " << e.kind << "  "
                  << e.title << "  by " << e.appliedBy << "  " << e.status << (e.message.isEmpty() ? QString() : u": "_s + e.message)
                  << Qt::endl;
            const Plan p = Plan::fromJson(e.plan);
            for (const RoleChange& c : p.changes) {
                for (const SettingChange& s : c.settings)
                    out() << "      " << c.role << "  " << s.name << ": " << s.before.value_or(u"(server value)"_s) << " -> "
                          << s.after.value_or(u"(server value)"_s) << Qt::endl;
                if (c.limitAfter)
                    out() << "      " << c.role << "  connection limit: " << limitText(c.limitBefore.value_or(-1)) << " -> "
                          << limitText(*c.limitAfter) << Qt::endl;
            }
            if (e.kind == u"wizard"_s)
                for (const QJsonValue& s : e.plan.value(u"statements"_s).toArray())
                    out() << "      " << s.toString() << Qt::endl;
        }
        return ExitOk;
    }

    if (action == u"plan"_s || action == u"apply"_s || action == u"undo"_s) {
        const Plan plan = action == u"undo"_s ? service.planUndo(undoId, &error) : service.plan(set, &error);
        if (!error.isEmpty())
            return fail(error);
        if (action == u"plan"_s) {
            if (json)
                printJson(plan.toJson());
            else
                printPlan(plan);
            return plan.ok() ? ExitOk : ExitUsage;
        }
        if (!json)
            printPlan(plan);
        if (!plan.ok())
            return fail(u"the plan has errors; nothing was sent"_s, ExitUsage);
        if (plan.isEmpty()) {
            if (json) {
                ApplyOutcome nothing;
                nothing.ok = true;
                nothing.message = u"nothing to change"_s;
                printJson(nothing.toJson());
            }
            return ExitOk;
        }
        if (action == u"undo"_s && !plan.warnings().isEmpty() && !parser.isSet(force))
            return fail(u"undoing #%1 comes with warnings (above): the roles were changed since, or its outcome was never recorded; pass --force to put back the before "
                        "state anyway"_s.arg(undoId),
                ExitUsage);
        if (!confirm(parser.isSet(yes), u"Apply these %1 statement(s) to %2?"_s.arg(QString::number(plan.statements().size()), plan.server), &code))
            return code;
        const ApplyOutcome o = service.apply(plan);
        if (!o.ok)
            return failedOutcome(o, json);
        if (json)
            printJson(o.toJson());
        else
            printOutcome(o);
        return ExitOk;
    }

    if (action == u"sessions"_s) {
        const QList<RoleSession> sessions = roleSessions(conn, arg, QString(), &error);
        if (!error.isEmpty())
            return fail(error);
        if (json && !parser.isSet(terminate)) {
            QJsonArray a;
            for (const RoleSession& s : sessions)
                a << QJsonObject {{u"pid"_s, s.pid}, {u"database"_s, s.database}, {u"application_name"_s, s.applicationName},
                    {u"client"_s, s.clientAddress}, {u"state"_s, s.state},
                    {u"backend_start"_s, s.backendStart.toString(Qt::ISODateWithMs)}, {u"query"_s, s.query}};
            printJson(a);
            return ExitOk;
        }
        QList<int> pids;
        for (const RoleSession& s : sessions) {
            pids << s.pid;
            out() << "pid " << s.pid << "  " << s.database << "  " << s.applicationName << "  " << s.clientAddress << "  "
                  << s.state << "  since " << s.backendStart.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s) << Qt::endl;
        }
        if (sessions.isEmpty())
            out() << "no sessions of " << arg << Qt::endl;
        if (!parser.isSet(terminate) || sessions.isEmpty())
            return ExitOk;
        if (!confirm(parser.isSet(yes), u"End these %1 session(s) of %2? Their open transactions roll back."_s.arg(
                                            QString::number(pids.size()), arg),
                &code))
            return code;
        const int ended = service.terminate(pids, &error);
        if (!error.isEmpty())
            return fail(error);
        out() << ended << " session(s) ended" << Qt::endl;
        return ExitOk;
    }

    if (action == u"renice"_s) {
        if (parser.isSet(installPrioritize) && !service.installPrioritize(&error))
            return fail(error);
        if (!confirm(parser.isSet(yes), u"Lower the CPU priority of every backend of %1 to nice %2? It cannot be raised back "
                                        "for a running backend."_s.arg(arg, QString::number(niceValue)),
                &code))
            return code;
        int changed = 0;
        const QString note = service.renice(arg, int(niceValue), &changed, &error);
        if (!error.isEmpty())
            return fail(error);
        out() << note << Qt::endl;
        return ExitOk;
    }

    // wizard
    WizardSpec spec;
    if (parser.isSet(schema))
        spec.schema = parser.value(schema);
    if (parser.isSet(oltp))
        spec.oltpRole = parser.value(oltp);
    if (parser.isSet(olap))
        spec.olapRole = parser.value(olap);
    if (parser.isSet(monitor))
        spec.monitorRole = parser.value(monitor);
    // Passwords first, so that the SQL confirmed below is the SQL sent (passwords shown as ********).
    if (!parser.isSet(check) && ::isatty(STDIN_FILENO)) {
        for (const QString& role : {spec.oltpRole, spec.olapRole, spec.monitorRole}) {
            const QString pw = promptPassword(u"Password for %1 (empty: none): "_s.arg(role));
            if (!pw.isEmpty() && promptPassword(u"Again: "_s) != pw)
                return fail(u"the two passwords for %1 differ; nothing was changed"_s.arg(role), ExitUsage);
            spec.passwords.insert(role, pw);
        }
    } else if (!parser.isSet(check)) {
        err() << "htapctl: note: no terminal to ask for passwords: the roles get none (set them later with \\password in psql)"
              << Qt::endl;
    }
    const WizardPlan wplan = service.planWizard(spec, &error);
    if (!error.isEmpty())
        return fail(error);
    if (json && parser.isSet(check)) {
        printJson(wplan.toJson());
        return wplan.ok() ? ExitOk : ExitUsage;
    }
    out() << "SQL, in one transaction:\n  BEGIN;\n";
    for (const QString& s : wplan.statements)
        out() << "  " << s << ";\n";
    out() << "  COMMIT;" << Qt::endl;
    for (const PlanIssue& i : wplan.issues)
        out() << (i.error ? "error: " : "note: ") << i.message << Qt::endl;
    if (!wplan.ok())
        return fail(u"nothing was changed"_s, ExitUsage);
    if (parser.isSet(check))
        return ExitOk;
    if (!confirm(parser.isSet(yes), u"Create the roles and grants above on %1?"_s.arg(conn.effectiveInfo().displayName()), &code))
        return code;
    const ApplyOutcome o = service.applyWizard(spec);
    if (!o.ok)
        return failedOutcome(o, json);
    if (json)
        printJson(o.toJson());
    else
        printOutcome(o);
    return ExitOk;
}

} // namespace htap::cli
