// Role resource settings on the sandbox: values checked as the server would; a plan's exact SQL
// for a role whose name has capitals, spaces and quotes; apply, read back, a new session of the
// role seeing the values; undo restoring exactly; a plan with one invalid value refused whole;
// a stale plan, a dropped role and a server-side refusal changing nothing; the audit log
// surviving a restart and refusing a newer or corrupt file; the role wizard; CPU priority.
// Changes made at the same moment by two appliers, each on its own thread and connection,
// queue on the server's lock and check their plans behind it; entries a stopped program left
// "applying" are settled from the server's record of their transaction.
#include "testutil.h"

#include <pg/identifier.h>
#include <roles/roleservice.h>

#include <QFile>
#include <QJsonDocument>
#include <QSqlDatabase>
#include <QSqlQuery>

#include <functional>
#include <latch>
#include <thread>

using namespace Qt::StringLiterals;
using namespace htap::roles;
using htap::pg::Connection;
using htap::store::AuditLog;

namespace {

const QString kRole = u"Order \"Entry\" App"_s; // capitals, spaces and quotes
const QString kOther = u"Report Reader"_s;

void openOrDie(Connection& c, const QString& user = {})
{
    htap::pg::ConnInfo info = htap::test::sandboxConnInfo();
    if (!user.isEmpty())
        info = info.with(u"user"_s, user);
    const htap::pg::PgError e = c.open(info, {10000, u"tst_roles"_s});
    if (e)
        qFatal("cannot connect to the test sandbox as %s: %s", qPrintable(user), qPrintable(e.oneLine()));
}

void exec(Connection& c, const QString& sql)
{
    const htap::pg::Result r = c.exec(sql);
    if (!r.ok())
        qFatal("%s: %s", qPrintable(sql), qPrintable(r.error().oneLine()));
}

/// The role's settings rows, sorted, and its connection limit: the whole state undo must restore.
QString roleState(Connection& c, const QString& role)
{
    const htap::pg::Result r = c.exec(
        u"SELECT r.rolconnlimit || ' ' || coalesce((SELECT string_agg(d.datname || ':' || array_to_string(s.setconfig, ';'), '|' "
        "ORDER BY 1) FROM pg_db_role_setting s LEFT JOIN pg_database d ON d.oid = s.setdatabase WHERE s.setrole = r.oid), '')"
        " FROM pg_roles r WHERE r.rolname = $1"_s,
        {role});
    return r.ok() && r.rowCount() == 1 ? r.text(0, 0) : u"(missing: %1)"_s.arg(r.error().oneLine());
}

ProfileSet profileOf(const QByteArray& json)
{
    ProfileSet set;
    QStringList errors;
    if (!ProfileSet::fromJson(json, &set, &errors))
        qFatal("bad test profile: %s", qPrintable(errors.join(u"; "_s)));
    return set;
}

QByteArray twoRoles(const QString& workMem, const QString& otherTimeout)
{
    return QJsonDocument(QJsonObject {{u"format"_s, u"htap-role-profiles"_s}, {u"version"_s, 1}, {u"name"_s, u"test"_s},
                             {u"profiles"_s,
                                 QJsonArray {QJsonObject {{u"name"_s, u"OLTP"_s}, {u"role"_s, kRole}, {u"connection_limit"_s, 40},
                                                 {u"settings"_s, QJsonObject {{u"work_mem"_s, workMem}, {u"statement_timeout"_s, u"5s"_s},
                                                                     {u"default_transaction_isolation"_s, u"Repeatable Read"_s},
                                                                     {u"search_path"_s, u"\"Shop\", public"_s}}}},
                                     QJsonObject {{u"name"_s, u"OLAP"_s}, {u"role"_s, kOther},
                                         {u"settings"_s, QJsonObject {{u"statement_timeout"_s, otherTimeout}}}}}}})
        .toJson();
}

QByteArray oneRole(const QString& role, const QJsonObject& settings)
{
    return QJsonDocument(QJsonObject {{u"format"_s, u"htap-role-profiles"_s}, {u"version"_s, 1}, {u"name"_s, u"one"_s},
                             {u"profiles"_s, QJsonArray {QJsonObject {{u"role"_s, role}, {u"settings"_s, settings}}}}})
        .toJson();
}

/// The role's settings in every database (pg_db_role_setting), by name.
QMap<QString, QString> settingsOf(Connection& c, const QString& role)
{
    const htap::pg::Result r = c.exec(u"SELECT unnest(s.setconfig) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole"
                                      " WHERE r.rolname = $1 AND s.setdatabase = 0"_s,
        {role});
    if (!r.ok())
        qFatal("%s", qPrintable(r.error().oneLine()));
    QMap<QString, QString> out;
    for (int i = 0; i < r.rowCount(); ++i)
        out.insert(r.text(i, 0).section(u'=', 0, 0), r.text(i, 0).section(u'=', 1));
    return out;
}

/// Two appliers, each on a thread and connection of its own, make their plans against the same
/// state and then apply them at the same moment.
std::pair<ApplyOutcome, ApplyOutcome> applyTogether(const QString& auditPath, const std::function<Plan(RoleService&)>& planA,
    const std::function<Plan(RoleService&)>& planB)
{
    std::latch planned(2);
    ApplyOutcome outcomes[2];
    auto applier = [&](int i, const std::function<Plan(RoleService&)>& makePlan) {
        Connection conn;
        openOrDie(conn);
        AuditLog audit(auditPath);
        RoleService service(conn, audit);
        const Plan plan = makePlan(service);
        if (!plan.ok())
            qFatal("applier %d: %s", i, qPrintable(plan.errors().join(u"; "_s)));
        planned.arrive_and_wait();
        outcomes[i] = service.apply(plan);
    };
    std::thread a(applier, 0, std::cref(planA)), b(applier, 1, std::cref(planB));
    a.join();
    b.join();
    return {outcomes[0], outcomes[1]};
}

std::function<Plan(RoleService&)> planOf(const ProfileSet& set)
{
    return [set](RoleService& service) {
        QString error;
        Plan p = service.plan(set, &error);
        if (!error.isEmpty())
            qFatal("%s", qPrintable(error));
        return p;
    };
}

std::function<Plan(RoleService&)> undoOf(qint64 id)
{
    return [id](RoleService& service) {
        QString error;
        Plan p = service.planUndo(id, &error);
        if (!error.isEmpty())
            qFatal("%s", qPrintable(error));
        return p;
    };
}

/// Runs apply on a thread of its own until it is seen waiting on a lock (lockType: advisory or
/// transactionid), or has finished; then calls release and returns the outcome.
ApplyOutcome applyWhileBlocked(const QString& auditPath, const Plan& plan, const QString& lockType, bool* waited,
    const std::function<void()>& release)
{
    std::atomic<int> pid {0};
    std::atomic<bool> done {false};
    ApplyOutcome outcome;
    std::thread t([&] {
        Connection conn;
        openOrDie(conn);
        pid = conn.backendPid();
        AuditLog audit(auditPath);
        RoleService service(conn, audit);
        outcome = service.apply(plan);
        done = true;
    });
    Connection watcher;
    openOrDie(watcher);
    *waited = false;
    htap::test::Watchdog watchdog("the apply neither waited on the lock nor finished", 120);
    while (!done && !*waited) {
        *waited = pid != 0
            && watcher.exec(u"SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $1 AND locktype = $2 AND NOT granted)"_s,
                           {pid.load(), lockType}).toBool(0, 0);
        if (!*waited)
            std::this_thread::sleep_for(std::chrono::milliseconds(5)); // a poll, not a wait for something to happen
    }
    watchdog.disarm();
    release();
    t.join();
    return outcome;
}

} // namespace

class TestRoles : public QObject
{
    Q_OBJECT

private:
    Connection m_admin;
    QString m_auditPath;

    void resetRoles()
    {
        for (const QString& r : {kRole, kOther, u"Role Admin"_s, u"Wiz OLTP \"W\""_s, u"Wiz OLAP"_s, u"Wiz Monitor"_s}) {
            const QString q = htap::pg::quoteIdentifier(r);
            exec(m_admin, u"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %1) THEN EXECUTE 'DROP OWNED BY ' || "
                          "quote_ident(%1); EXECUTE 'DROP ROLE ' || quote_ident(%1); END IF; END $$"_s.arg(htap::pg::quoteLiteral(r)));
            Q_UNUSED(q);
        }
        exec(m_admin, u"CREATE ROLE %1 LOGIN"_s.arg(htap::pg::quoteIdentifier(kRole)));
        exec(m_admin, u"CREATE ROLE %1 LOGIN"_s.arg(htap::pg::quoteIdentifier(kOther)));
    }

private Q_SLOTS:
    void initTestCase()
    {
        openOrDie(m_admin);
        m_auditPath = htap::test::scratchDir(u"tst_roles-audit.sqlite"_s);
        QFile::remove(m_auditPath);
        QFile::remove(m_auditPath + u"-wal"_s);
        QFile::remove(m_auditPath + u"-shm"_s);
    }

    void init() { resetRoles(); }

    void valuesCheckedAsTheServerWould()
    {
        QString error;
        const Catalog c = readCatalog(m_admin, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        const ParamDef& workMem = *c.param(u"work_mem"_s);
        ValueCheck v = checkValue(workMem, u" 64MB "_s);
        QVERIFY(v.ok);
        QCOMPARE(v.canonical, u"64MB"_s);
        QCOMPARE(v.base, 64.0 * 1024 * 1024);
        v = checkValue(workMem, u"64XB"_s);
        QVERIFY(!v.ok);
        QVERIFY2(v.message.contains(u"work_mem"_s) && v.message.contains(u"\"kB\", \"MB\""_s), qPrintable(v.message));
        v = checkValue(workMem, u"1kB"_s);
        QVERIFY(!v.ok);
        QVERIFY2(v.message.contains(u"allowed: 64kB or more (unit: kB)"_s), qPrintable(v.message));
        QVERIFY(checkValue(workMem, u"1.5GB"_s).ok);
        QVERIFY(!checkValue(workMem, u"64mb"_s).ok); // units are case-sensitive, as in the server
        QVERIFY(sameValue(workMem, u"64MB"_s, u"65536kB"_s));
        QVERIFY(sameValue(workMem, u"65536"_s, u"64MB"_s));
        QVERIFY(!sameValue(workMem, u"64MB"_s, u"65MB"_s));

        const ParamDef& timeout = *c.param(u"statement_timeout"_s);
        QCOMPARE(checkValue(timeout, u"5s"_s).base, 5000.0);
        QCOMPARE(checkValue(timeout, u"2 min"_s).base, 120000.0);
        QVERIFY(!checkValue(timeout, u"-1"_s).ok);
        QVERIFY(!checkValue(timeout, u"5 parsecs"_s).ok);
        QVERIFY(!checkValue(*c.param(u"max_parallel_workers_per_gather"_s), u"2MB"_s).ok);

        QCOMPARE(checkValue(*c.param(u"default_transaction_isolation"_s), u"Repeatable Read"_s).canonical, u"repeatable read"_s);
        QVERIFY(!checkValue(*c.param(u"default_transaction_isolation"_s), u"snapshot"_s).ok);
        QCOMPARE(checkValue(*c.param(u"jit"_s), u"TRUE"_s).canonical, u"on"_s);
        QVERIFY(!checkValue(*c.param(u"jit"_s), u"maybe"_s).ok);

        // Values the server takes that pg_settings does not list, and ones it refuses.
        QCOMPARE(checkValue(*c.param(u"synchronous_commit"_s), u"true"_s).canonical, u"on"_s);
        QCOMPARE(checkValue(*c.param(u"max_parallel_workers_per_gather"_s), u"0x10"_s).base, 16.0);
        QCOMPARE(checkValue(*c.param(u"max_parallel_workers_per_gather"_s), u"010"_s).base, 8.0);
        QStringList elements;
        QVERIFY(!splitList(u"public,"_s, &elements));
        QVERIFY(splitList(u"$libdir/plugins/MyLib"_s, &elements, false));
        QCOMPARE(elements, QStringList {u"$libdir/plugins/MyLib"_s});
        QVERIFY(sameValue(*c.param(u"search_path"_s), u"\"\""_s, QString()));
        QVERIFY(splitList(u"\"$user\", Public, \"My \"\"Schema\"\"\""_s, &elements));
        QCOMPARE(elements, (QStringList {u"$user"_s, u"public"_s, u"My \"Schema\""_s}));
        QCOMPARE(joinList(elements), u"\"$user\", public, \"My \"\"Schema\"\"\""_s);
        QVERIFY(!splitList(u"\"open"_s, &elements));

        bool superuserOnly = false;
        QVERIFY(roleSettableReason(*c.param(u"work_mem"_s), &superuserOnly).isEmpty());
        QVERIFY(!superuserOnly);
        QVERIFY(roleSettableReason(*c.param(u"shared_buffers"_s), &superuserOnly).contains(u"restart"_s));
        QVERIFY(roleSettableReason(*c.param(u"log_connections"_s), &superuserOnly).contains(u"session starts"_s));
        QVERIFY(roleSettableReason(*c.param(u"transaction_isolation"_s), &superuserOnly).contains(u"default_transaction_isolation"_s));
        QVERIFY(roleSettableReason(*c.param(u"temp_file_limit"_s), &superuserOnly).isEmpty());
        QVERIFY(superuserOnly);
    }

    void planApplyReadBackUndo()
    {
        AuditLog audit(m_auditPath);
        RoleService service(m_admin, audit);
        // A session of the role from before: it must be listed as still on the old settings.
        Connection before;
        openOrDie(before, kRole);
        QString error;
        const Plan plan = service.plan(profileOf(twoRoles(u"64MB"_s, u"60s"_s)), &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QVERIFY2(plan.ok(), qPrintable(plan.errors().join(u'\n')));
        QCOMPARE(plan.statements(),
            (QStringList {
                u"ALTER ROLE \"Order \"\"Entry\"\" App\" SET \"default_transaction_isolation\" = 'repeatable read'"_s,
                u"ALTER ROLE \"Order \"\"Entry\"\" App\" SET \"search_path\" = 'Shop', 'public'"_s,
                u"ALTER ROLE \"Order \"\"Entry\"\" App\" SET \"statement_timeout\" = '5s'"_s,
                u"ALTER ROLE \"Order \"\"Entry\"\" App\" SET \"work_mem\" = '64MB'"_s,
                u"ALTER ROLE \"Order \"\"Entry\"\" App\" CONNECTION LIMIT 40"_s,
                u"ALTER ROLE \"Report Reader\" SET \"statement_timeout\" = '60s'"_s,
            }));
        const QString stateBefore = roleState(m_admin, kRole);
        const QString otherBefore = roleState(m_admin, kOther);

        const ApplyOutcome o = service.apply(plan);
        QVERIFY2(o.ok, qPrintable(o.message));
        QVERIFY(o.auditId > 0);
        QVERIFY(o.auditWarning.isEmpty());
        QVERIFY(o.message.contains(u"new sessions only"_s));
        bool listed = false;
        for (const auto& [role, s] : o.oldSessions)
            listed |= role == kRole && s.pid == before.backendPid();
        QVERIFY2(listed, "the session from before the change is not listed as on old settings");

        // Read back through the catalog, and as a new session of the role.
        const Catalog c = service.catalog(&error);
        const RoleInfo* r = c.role(kRole);
        QVERIFY(r);
        QCOMPARE(r->connectionLimit, 40);
        QCOMPARE(r->setting(QString(), u"work_mem"_s).value_or(QString()), u"64MB"_s);
        QCOMPARE(c.effective(*r, c.database, u"statement_timeout"_s).source, u"role"_s);
        Connection fresh;
        openOrDie(fresh, kRole);
        QCOMPARE(fresh.exec(u"SHOW work_mem"_s).text(0, 0), u"64MB"_s);
        QCOMPARE(fresh.exec(u"SHOW statement_timeout"_s).text(0, 0), u"5s"_s);
        QCOMPARE(fresh.exec(u"SHOW default_transaction_isolation"_s).text(0, 0), u"repeatable read"_s);
        QCOMPARE(fresh.exec(u"SHOW search_path"_s).text(0, 0), u"\"Shop\", public"_s);
        QCOMPARE(before.exec(u"SHOW work_mem"_s).text(0, 0), u"4MB"_s); // the old session keeps its values

        // Planning the same again changes nothing.
        const Plan again = service.plan(profileOf(twoRoles(u"65536kB"_s, u"1min"_s)), &error);
        QVERIFY(again.ok());
        QVERIFY(again.isEmpty());

        // The audit log survives a restart: a new AuditLog on the same file, a new service.
        {
            AuditLog reopened(m_auditPath);
            const QList<htap::store::AuditEntry> entries = reopened.list(c.serverKey, 10, &error);
            QVERIFY2(error.isEmpty(), qPrintable(error));
            QVERIFY(!entries.isEmpty());
            QCOMPARE(entries.first().id, o.auditId);
            QCOMPARE(entries.first().status, u"applied"_s);
            QCOMPARE(entries.first().roles, (QStringList {kRole, kOther}));
            RoleService restarted(m_admin, reopened);
            const Plan undo = restarted.planUndo(o.auditId, &error);
            QVERIFY2(error.isEmpty(), qPrintable(error));
            QVERIFY2(undo.ok() && undo.warnings().isEmpty(), qPrintable((undo.errors() + undo.warnings()).join(u'\n')));
            const ApplyOutcome u = restarted.apply(undo);
            QVERIFY2(u.ok, qPrintable(u.message));
        }
        QCOMPARE(roleState(m_admin, kRole), stateBefore);
        QCOMPARE(roleState(m_admin, kOther), otherBefore);
        QCOMPARE(audit.find(o.auditId, &error)->status, u"undone"_s);
        // Undoing twice is refused.
        service.planUndo(o.auditId, &error);
        QVERIFY(error.contains(u"undone"_s));
    }

    void invalidValueRefusesTheWholePlan()
    {
        AuditLog audit(m_auditPath);
        RoleService service(m_admin, audit);
        const QString before = roleState(m_admin, kRole), otherBefore = roleState(m_admin, kOther);
        QString error;
        const Plan plan = service.plan(profileOf(twoRoles(u"64XB"_s, u"60s"_s)), &error);
        QVERIFY(!plan.ok());
        QCOMPARE(plan.errors().size(), 1);
        QVERIFY2(plan.errors().first().startsWith(u"$.profiles[0].settings.work_mem: "_s), qPrintable(plan.errors().first()));
        const ApplyOutcome o = service.apply(plan);
        QVERIFY(!o.ok);
        QVERIFY(o.message.contains(u"nothing was sent"_s));
        QCOMPARE(roleState(m_admin, kRole), before);
        QCOMPARE(roleState(m_admin, kOther), otherBefore);

        // Every kind of bad input, each named.
        const QByteArray bad = "{\"format\":\"htap-role-profiles\",\"version\":1,\"name\":\"bad\",\"profiles\":["
                               "{\"name\":\"x\",\"role\":\"Order \\\"Entry\\\" App\",\"connection_limit\":100000,\"settings\":{"
                               "\"wrok_mem\":\"1MB\",\"shared_buffers\":\"1GB\",\"statement_timeout\":\"-5\",\"jit\":\"maybe\"}},"
                               "{\"name\":\"y\",\"role\":\"Nobody Here\",\"settings\":{\"work_mem\":\"1MB\"}}]}";
        const Plan p = service.plan(profileOf(bad), &error);
        const QString all = p.errors().join(u'\n');
        QVERIFY2(all.contains(u"did you mean work_mem"_s), qPrintable(all));
        QVERIFY2(all.contains(u"shared_buffers is server-wide and needs a restart"_s), qPrintable(all));
        QVERIFY2(all.contains(u"statement_timeout = \"-5\": out of range; allowed: 0 or more (unit: ms)"_s), qPrintable(all));
        QVERIFY2(all.contains(u"jit = \"maybe\": not a Boolean"_s), qPrintable(all));
        QVERIFY2(all.contains(u"max_connections"_s), qPrintable(all));
        QVERIFY2(all.contains(u"role \"Nobody Here\" does not exist"_s), qPrintable(all));
        QCOMPARE(p.errors().size(), 6);

        QStringList formErrors;
        ProfileSet ignored;
        QVERIFY(!ProfileSet::fromJson("{\"format\":\"htap-role-profiles\",\"version\":2,\"name\":\"x\",\"profiles\":[{\"role\":\"a\",\"settings\":{\"work_mem\":[1]}}]}",
            &ignored, &formErrors));
        QVERIFY2(formErrors.join(u'\n').contains(u"$.version"_s) && formErrors.join(u'\n').contains(u"$.profiles[0].settings.work_mem"_s),
            qPrintable(formErrors.join(u'\n')));
    }

    void stalePlansAndDroppedRolesChangeNothing()
    {
        AuditLog audit(m_auditPath);
        RoleService service(m_admin, audit);
        QString error;
        Plan plan = service.plan(profileOf(twoRoles(u"64MB"_s, u"60s"_s)), &error);
        QVERIFY(plan.ok());
        // Someone changes the role after the plan was made.
        exec(m_admin, u"ALTER ROLE %1 SET work_mem = '8MB'"_s.arg(htap::pg::quoteIdentifier(kRole)));
        const QString before = roleState(m_admin, kRole), otherBefore = roleState(m_admin, kOther);
        ApplyOutcome o = service.apply(plan);
        QVERIFY(!o.ok);
        QVERIFY2(o.message.startsWith(u"The settings changed since the plan was made: "_s)
                && o.message.contains(u"work_mem of \"Order \"Entry\" App\" is 8MB, the plan expected (not set)"_s)
                && o.message.contains(u"plan again"_s),
            qPrintable(o.message));
        QCOMPARE(roleState(m_admin, kRole), before);
        QCOMPARE(audit.find(o.auditId ? o.auditId : 0, &error).has_value(), o.auditId != 0);

        // The second role is dropped between plan and apply: the first is not changed either.
        plan = service.plan(profileOf(twoRoles(u"64MB"_s, u"60s"_s)), &error);
        QVERIFY(plan.ok());
        exec(m_admin, u"DROP ROLE %1"_s.arg(htap::pg::quoteIdentifier(kOther)));
        o = service.apply(plan);
        QVERIFY(!o.ok);
        QVERIFY2(o.message.contains(u"role \"Report Reader\" does not exist any more"_s), qPrintable(o.message));
        QCOMPARE(roleState(m_admin, kRole), before);
        Q_UNUSED(otherBefore);
    }

    void withoutPrivilegeNothingIsApplied()
    {
        // A role that may not change roles: the plan says so.
        {
            Connection weak;
            openOrDie(weak, kOther);
            AuditLog audit(m_auditPath);
            RoleService service(weak, audit);
            QString error;
            const Plan plan = service.plan(profileOf(twoRoles(u"64MB"_s, u"60s"_s)), &error);
            QVERIFY(!plan.ok());
            QVERIFY2(plan.errors().first().contains(u"needs superuser or the CREATEROLE attribute"_s), qPrintable(plan.errors().first()));
        }
        // A CREATEROLE role sending what only a superuser may: the server refuses, and the
        // statements before the refused one are rolled back with it.
        exec(m_admin, u"CREATE ROLE \"Role Admin\" LOGIN CREATEROLE"_s);
        Connection admin;
        openOrDie(admin, u"Role Admin"_s);
        AuditLog audit(m_auditPath);
        RoleService service(admin, audit);
        QString error;
        Plan plan = service.plan(profileOf(twoRoles(u"64MB"_s, u"60s"_s)), &error);
        QVERIFY2(plan.ok(), qPrintable(plan.errors().join(u'\n')));
        plan.changes.last().settings << SettingChange {u"temp_file_limit"_s, std::nullopt, u"1GB"_s};
        const QString before = roleState(m_admin, kRole);
        const ApplyOutcome o = service.apply(plan);
        QVERIFY(!o.ok);
        QVERIFY2(o.message.contains(u"not allowed"_s) && o.message.contains(u"Nothing was changed"_s), qPrintable(o.message));
        QCOMPARE(roleState(m_admin, kRole), before);
        QCOMPARE(audit.find(o.auditId, &error)->status, u"failed"_s);
    }

    void connectionLimitsAgainstTheServer()
    {
        AuditLog audit(m_auditPath);
        RoleService service(m_admin, audit);
        QString error;
        const Catalog c = service.catalog(&error);
        const QByteArray json = QJsonDocument(QJsonObject {{u"format"_s, u"htap-role-profiles"_s}, {u"version"_s, 1},
                                                  {u"name"_s, u"limits"_s},
                                                  {u"profiles"_s,
                                                      QJsonArray {QJsonObject {{u"role"_s, kRole}, {u"connection_limit"_s, c.connectionsForRoles() - 1}},
                                                          QJsonObject {{u"role"_s, kOther}, {u"connection_limit"_s, 5}}}}})
                                    .toJson();
        const Plan plan = service.plan(profileOf(json), &error);
        QVERIFY(plan.ok());
        QVERIFY2(plan.warnings().join(u'\n').contains(u"add up to"_s), qPrintable(plan.warnings().join(u'\n')));
    }

    void auditLogRefusesNewerAndCorruptFiles()
    {
        const QString newer = htap::test::scratchDir(u"tst_roles-newer.sqlite"_s);
        QFile::remove(newer);
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"newer"_s);
            db.setDatabaseName(newer);
            QVERIFY(db.open());
            QSqlQuery(db).exec(u"PRAGMA user_version = 99"_s);
            db.close();
        }
        QSqlDatabase::removeDatabase(u"newer"_s);
        QString error;
        AuditLog(newer).list(QString(), 10, &error);
        QVERIFY2(error.contains(u"newer HTAP Studio"_s), qPrintable(error));

        const QString corrupt = htap::test::scratchDir(u"tst_roles-corrupt.sqlite"_s);
        QFile f(corrupt);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(QByteArray(4096, 'x'));
        f.close();
        error.clear();
        QCOMPARE(AuditLog(corrupt).begin(htap::store::AuditEntry(), &error), 0);
        QVERIFY2(error.contains(u"not a usable SQLite file"_s), qPrintable(error));
        QCOMPARE(QFileInfo(corrupt).size(), 4096);
    }

    void auditLogListsOneServerOrEvery()
    {
        // No server key: every server's entries (roles log --all-servers).
        const QString path = htap::test::scratchDir(u"tst_roles-list.sqlite"_s);
        for (const QString& suffix : {u""_s, u"-wal"_s, u"-shm"_s})
            QFile::remove(path + suffix);
        AuditLog audit(path);
        QString error;
        htap::store::AuditEntry e;
        e.server = e.appliedBy = e.kind = e.title = u"x"_s;
        for (const QString& key : {u"a:5432"_s, u"b:5432"_s}) {
            e.serverKey = key;
            QVERIFY2(audit.begin(e, &error), qPrintable(error));
        }
        QCOMPARE(audit.list(QString(), 10, &error).size(), 2);
        QCOMPARE(audit.list(u""_s, 10, &error).size(), 2);
        QCOMPARE(audit.list(u"b:5432"_s, 10, &error).size(), 1);
    }

    void wizardCreatesLeastGrantRoles()
    {
        AuditLog audit(m_auditPath);
        RoleService service(m_admin, audit);
        WizardSpec spec;
        spec.oltpRole = u"Wiz OLTP \"W\""_s;
        spec.olapRole = u"Wiz OLAP"_s;
        spec.monitorRole = u"Wiz Monitor"_s;
        const QString secret = u"s3cret 'pass\\word"_s;
        spec.passwords.insert(spec.oltpRole, secret);
        QString error;
        const WizardPlan plan = service.planWizard(spec, &error);
        QVERIFY2(error.isEmpty() && plan.ok(), qPrintable(error));
        QVERIFY(plan.statements.first().startsWith(u"CREATE ROLE \"Wiz OLTP \"\"W\"\"\" LOGIN PASSWORD '********'"_s));
        const ApplyOutcome o = service.applyWizard(spec);
        QVERIFY2(o.ok, qPrintable(o.message));
        auto yes = [&](const QString& sql, const QVariantList& params) { return m_admin.exec(sql, params).toBool(0, 0); };
        QVERIFY(yes(u"SELECT has_table_privilege($1, 'public.orders', 'INSERT')"_s, {spec.oltpRole}));
        QVERIFY(!yes(u"SELECT has_table_privilege($1, 'public.orders', 'DELETE')"_s, {spec.oltpRole}));
        QVERIFY(!yes(u"SELECT has_table_privilege($1, 'public.dim_products', 'UPDATE')"_s, {spec.oltpRole}));
        QVERIFY(yes(u"SELECT has_table_privilege($1, 'public.orders', 'SELECT')"_s, {spec.olapRole}));
        QVERIFY(!yes(u"SELECT has_table_privilege($1, 'public.orders', 'INSERT')"_s, {spec.olapRole}));
        QVERIFY(yes(u"SELECT pg_has_role($1, 'pg_monitor', 'USAGE')"_s, {spec.monitorRole}));
        QVERIFY(!yes(u"SELECT pg_has_role($1, 'pg_monitor', 'USAGE')"_s, {spec.olapRole}));
        // The password reached the server hashed, and nowhere in the audit log.
        QVERIFY(yes(u"SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = $1"_s, {spec.oltpRole}));
        QFile log(m_auditPath);
        QVERIFY(log.open(QIODevice::ReadOnly));
        QVERIFY(!log.readAll().contains(secret.toUtf8()));
        QVERIFY(!QJsonDocument(audit.find(o.auditId, &error)->plan).toJson().contains("SCRAM"));
        // The OLTP role can take an order through its grants.
        Connection oltp;
        openOrDie(oltp, spec.oltpRole);
        const htap::pg::Result r = oltp.exec(u"INSERT INTO orders (user_id, status, total_amount) VALUES (1, 'pending', 1) RETURNING order_id"_s);
        QVERIFY2(r.ok(), qPrintable(r.error().oneLine()));
    }

    void cpuPriorityThroughPrioritize()
    {
        AuditLog audit(m_auditPath);
        RoleService service(m_admin, audit);
        QString error;
        QVERIFY2(service.installPrioritize(&error), qPrintable(error)); // setup.sh installs postgresql-15-prioritize
        Connection olap;
        openOrDie(olap, kOther);
        // Only lowering a priority needs no privilege: aim below where the server already runs
        // (a server started under nice, as by `nice ctest`, starts its backends lower than 0).
        const int current = int(m_admin.exec(u"SELECT get_backend_priority($1)"_s, {olap.backendPid()}).toInt64(0, 0));
        if (current >= 19)
            QSKIP("the server already runs at the lowest CPU priority (nice 19)");
        const int target = std::max(7, current + 1);
        int changed = 0;
        const QString note = service.renice(kOther, target, &changed, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(changed, 1);
        QVERIFY2(note.contains(u"nice %1"_s.arg(target)), qPrintable(note));
        QCOMPARE(m_admin.exec(u"SELECT get_backend_priority($1)"_s, {olap.backendPid()}).toInt64(0, 0), target);
    }

    void concurrentAppliesQueueAndCheckTheirPlans()
    {
        // Two appliers started together, in rounds: sets that change the same setting (one
        // lands, the other is refused as stale), different settings of the same role (both
        // land, in either order), the same set twice. Then two undos at once. Every round: the
        // final settings, the audit's before values (undo must restore exactly) and never a raw
        // SQLSTATE.
        const QString q = htap::pg::quoteIdentifier(kRole);
        for (int round = 0; round < 6; ++round) {
            for (const QString& kind : {u"overlapping"_s, u"disjoint"_s, u"same"_s}) {
                resetRoles();
                const QString initial = u"%1MB"_s.arg(4 + round);
                exec(m_admin, u"ALTER ROLE %1 SET work_mem = '%2'"_s.arg(q, initial));
                const QString stateBefore = roleState(m_admin, kRole);
                const QJsonObject a {{u"work_mem"_s, u"64MB"_s}, {u"statement_timeout"_s, u"5s"_s}};
                const QJsonObject b = kind == u"overlapping"_s ? QJsonObject {{u"work_mem"_s, u"128MB"_s}, {u"lock_timeout"_s, u"2s"_s}}
                    : kind == u"disjoint"_s                    ? QJsonObject {{u"lock_timeout"_s, u"2s"_s}}
                                                               : a;
                const auto [oa, ob] = applyTogether(m_auditPath, planOf(profileOf(oneRole(kRole, a))), planOf(profileOf(oneRole(kRole, b))));
                const QString context = u"round %1, %2: A: %3 | B: %4"_s.arg(QString::number(round), kind, oa.message, ob.message);
                QVERIFY2(!oa.message.contains(u"SQLSTATE"_s) && !ob.message.contains(u"SQLSTATE"_s), qPrintable(context));
                QMap<QString, QString> expected;
                if (kind == u"disjoint"_s) {
                    QVERIFY2(oa.ok && ob.ok, qPrintable(context));
                    expected = {{u"work_mem"_s, u"64MB"_s}, {u"statement_timeout"_s, u"5s"_s}, {u"lock_timeout"_s, u"2s"_s}};
                } else {
                    QVERIFY2(oa.ok != ob.ok, qPrintable(context));
                    const ApplyOutcome& loser = oa.ok ? ob : oa;
                    QVERIFY2(loser.message.startsWith(u"The settings changed since the plan was made: "_s)
                            && loser.message.contains(u"plan again"_s),
                        qPrintable(context));
                    for (auto it = (oa.ok ? a : b).begin(); it != (oa.ok ? a : b).end(); ++it)
                        expected.insert(it.key(), it.value().toString());
                }
                QCOMPARE(settingsOf(m_admin, kRole), expected);
                // What the audit log says each change found: the state before the round, for
                // work_mem the value set above, nothing else.
                QString error;
                AuditLog audit(m_auditPath);
                QList<qint64> applied;
                for (const ApplyOutcome* o : {&oa, &ob}) {
                    const std::optional<htap::store::AuditEntry> e = audit.find(o->auditId, &error);
                    QVERIFY2(e, qPrintable(error));
                    QCOMPARE(e->status, o->ok ? u"applied"_s : u"failed"_s);
                    if (!o->ok)
                        continue;
                    applied << o->auditId;
                    for (const SettingChange& sc : Plan::fromJson(e->plan).changes.value(0).settings)
                        QCOMPARE(sc.before, sc.name == u"work_mem"_s ? std::optional(initial) : std::nullopt);
                }
                // Two undos at once: of both changes (they land in either order), or twice of the
                // one that landed (one lands, the other is refused). Either way: back to before.
                const auto [ua, ub] = applyTogether(m_auditPath, undoOf(applied.first()), undoOf(applied.last()));
                const QString undoContext = u"round %1, %2, undo: A: %3 | B: %4"_s.arg(QString::number(round), kind, ua.message, ub.message);
                QVERIFY2(!ua.message.contains(u"SQLSTATE"_s) && !ub.message.contains(u"SQLSTATE"_s), qPrintable(undoContext));
                QVERIFY2(applied.size() == 2 ? ua.ok && ub.ok : ua.ok != ub.ok, qPrintable(undoContext));
                QCOMPARE(roleState(m_admin, kRole), stateBefore);
                for (qint64 id : applied)
                    QCOMPARE(audit.find(id, &error)->status, u"undone"_s);
            }
        }
    }

    void applyQueuesBehindTheLockAndChecksItsPlanThere()
    {
        // The lock is held (by this test, the documented key) while another session changes the
        // role: the apply waits, then finds the change and refuses its stale plan.
        AuditLog audit(m_auditPath);
        RoleService service(m_admin, audit);
        QString error;
        const Plan plan = service.plan(profileOf(twoRoles(u"64MB"_s, u"60s"_s)), &error);
        QVERIFY(plan.ok());
        Connection holder;
        openOrDie(holder);
        exec(holder, u"BEGIN"_s);
        exec(holder, u"SELECT pg_advisory_xact_lock(1213485651, 0)"_s);
        QCOMPARE(kRoleChangeLockClass, 1213485651);
        bool waited = false;
        const ApplyOutcome o = applyWhileBlocked(m_auditPath, plan, u"advisory"_s, &waited, [&] {
            exec(holder, u"ALTER ROLE %1 SET work_mem = '8MB'"_s.arg(htap::pg::quoteIdentifier(kRole)));
            exec(holder, u"COMMIT"_s);
        });
        QVERIFY2(waited, qPrintable(u"the apply did not wait behind the lock: "_s + o.message));
        QVERIFY(!o.ok);
        QVERIFY2(o.message.startsWith(u"The settings changed since the plan was made: work_mem of \"Order \"Entry\" App\" is "
                                      "8MB, the plan expected (not set); plan again."_s),
            qPrintable(o.message));
        QCOMPARE(settingsOf(m_admin, kRole), (QMap<QString, QString> {{u"work_mem"_s, u"8MB"_s}}));
        QCOMPARE(audit.find(o.auditId, &error)->status, u"failed"_s);
    }

    void applyThroughAnotherDatabaseIsRefusedNotRaced()
    {
        // Advisory locks are per database: a change holding the lock through database postgres
        // cannot be queued behind from shop, so the apply refuses.
        AuditLog audit(m_auditPath);
        RoleService service(m_admin, audit);
        QString error;
        const Plan plan = service.plan(profileOf(twoRoles(u"64MB"_s, u"60s"_s)), &error);
        QVERIFY(plan.ok());
        Connection elsewhere;
        QVERIFY(!elsewhere.open(htap::test::sandboxConnInfo().with(u"dbname"_s, u"postgres"_s), {10000, u"tst_roles"_s}));
        exec(elsewhere, u"BEGIN"_s);
        exec(elsewhere, u"SELECT pg_advisory_xact_lock(1213485651, 0)"_s);
        const QString before = roleState(m_admin, kRole);
        const ApplyOutcome o = service.apply(plan);
        QVERIFY(!o.ok);
        QVERIFY2(o.message.contains(u"running through database \"postgres\" (pid %1)"_s.arg(elsewhere.backendPid()))
                && o.message.contains(u"Nothing was changed"_s),
            qPrintable(o.message));
        QCOMPARE(roleState(m_admin, kRole), before);
        exec(elsewhere, u"COMMIT"_s);
        QVERIFY2(service.apply(plan).ok, "the same plan, once the other change has finished");
    }

    void aCollisionOutsideTheQueueIsExplained()
    {
        // psql changes the role in a transaction the apply cannot see, and commits while the
        // apply's ALTER ROLE waits for it: the server refuses the apply's catalog row (23505).
        AuditLog audit(m_auditPath);
        RoleService service(m_admin, audit);
        QString error;
        const Plan plan = service.plan(profileOf(oneRole(kRole, {{u"statement_timeout"_s, u"5s"_s}})), &error);
        QVERIFY(plan.ok());
        Connection psql;
        openOrDie(psql);
        exec(psql, u"BEGIN"_s);
        exec(psql, u"ALTER ROLE %1 SET work_mem = '8MB'"_s.arg(htap::pg::quoteIdentifier(kRole)));
        bool waited = false;
        const ApplyOutcome o = applyWhileBlocked(m_auditPath, plan, u"transactionid"_s, &waited, [&] { exec(psql, u"COMMIT"_s); });
        QVERIFY2(waited, qPrintable(o.message));
        QVERIFY(!o.ok);
        QVERIFY2(o.message.startsWith(u"The settings changed since the plan was made: another session changed \"Order \"Entry\" "
                                      "App\" at the same moment"_s)
                && o.message.contains(u"plan again"_s) && !o.message.contains(u"SQLSTATE"_s),
            qPrintable(o.message));
        QCOMPARE(settingsOf(m_admin, kRole), (QMap<QString, QString> {{u"work_mem"_s, u"8MB"_s}}));
    }

    void entriesLeftApplyingAreSettled()
    {
        // A program that stopped at each point of an apply, played by this test on its own
        // connection: after COMMIT, before it, while the transaction is still open; entries of an
        // older build (no transaction id) judged by the values; one of another cluster left alone.
        const QString path = htap::test::scratchDir(u"tst_roles-settle.sqlite"_s);
        for (const QString& suffix : {u""_s, u"-wal"_s, u"-shm"_s})
            QFile::remove(path + suffix);
        AuditLog audit(path);
        RoleService service(m_admin, audit);
        QString error;
        const Plan plan = service.plan(profileOf(oneRole(kRole, {{u"work_mem"_s, u"64MB"_s}})), &error);
        QVERIFY(plan.ok() && !plan.isEmpty());
        Connection stopped;
        openOrDie(stopped);
        auto leaveApplying = [&](const Plan& p, const QString& end) {
            exec(stopped, u"BEGIN"_s);
            const htap::pg::Result t = stopped.exec(u"SELECT pg_current_xact_id()::text, system_identifier::text FROM pg_control_system()"_s);
            htap::store::AuditEntry e;
            e.server = p.server;
            e.serverKey = p.serverKey;
            e.appliedBy = u"postgres"_s;
            e.kind = p.kind;
            e.title = p.title;
            e.undoOf = p.undoOf;
            e.plan = p.toJson();
            e.xid = t.text(0, 0);
            e.systemIdentifier = t.text(0, 1);
            const qint64 id = audit.begin(e, &error);
            if (!id)
                qFatal("%s", qPrintable(error));
            for (const QString& sql : p.statements())
                exec(stopped, sql);
            if (!end.isEmpty())
                exec(stopped, end);
            return id;
        };
        auto status = [&](qint64 id) { return audit.find(id, &error)->status; };
        auto settle = [&] {
            const QStringList notes = service.settleInterrupted(&error);
            if (!error.isEmpty())
                qFatal("%s", qPrintable(error));
            return notes.join(u'\n');
        };

        const qint64 open = leaveApplying(plan, {});
        QVERIFY(settle().isEmpty());
        QCOMPARE(status(open), u"applying"_s); // still being applied: not ours to settle
        exec(stopped, u"ROLLBACK"_s);
        QVERIFY(settle().contains(u"audit #%1 (one), left \"applying\" by a program that stopped, was rolled back"_s.arg(open)));
        QCOMPARE(status(open), u"interrupted"_s);
        QVERIFY(audit.find(open, &error)->message.startsWith(u"not applied: "_s));

        const qint64 committed = leaveApplying(plan, u"COMMIT"_s);
        QVERIFY(settle().contains(u"audit #%1 (one), left \"applying\" by a program that stopped, was committed: marked applied"_s.arg(committed)));
        QCOMPARE(status(committed), u"applied"_s);
        service.planUndo(open, &error);
        QVERIFY2(error.contains(u"is interrupted, not applied"_s), qPrintable(error));

        // An older build's entries: no transaction id, judged by the values (64MB is in now).
        htap::store::AuditEntry legacy;
        legacy.server = plan.server;
        legacy.serverKey = plan.serverKey;
        legacy.appliedBy = u"postgres"_s;
        legacy.kind = u"apply"_s;
        legacy.title = u"legacy"_s;
        legacy.plan = plan.toJson();
        const qint64 legacyIn = audit.begin(legacy, &error);
        Plan other = plan;
        other.changes[0].settings[0].after = u"32MB"_s;
        legacy.plan = other.toJson();
        const qint64 legacyNeither = audit.begin(legacy, &error);
        // Another cluster once at this address.
        legacy.plan = plan.toJson();
        legacy.xid = u"5"_s;
        legacy.systemIdentifier = u"1"_s;
        const qint64 elsewhere = audit.begin(legacy, &error);
        const QString notes = settle();
        QCOMPARE(status(legacyIn), u"applied"_s);
        QVERIFY(audit.find(legacyIn, &error)->message.contains(u"settled from the server's values"_s));
        QCOMPARE(status(legacyNeither), u"applying"_s);
        QVERIFY2(notes.contains(u"audit #%1 (legacy) was left \"applying\" by a program that stopped, and the server's roles hold "
                                "neither its before nor its after state"_s.arg(legacyNeither)),
            qPrintable(notes));
        QCOMPARE(status(elsewhere), u"applying"_s);

        // An undo whose program stopped after COMMIT: the entry it undid becomes undone too.
        const Plan undo = service.planUndo(committed, &error);
        QVERIFY(undo.ok() && !undo.isEmpty());
        const qint64 undone = leaveApplying(undo, u"COMMIT"_s);
        settle();
        QCOMPARE(status(undone), u"applied"_s);
        QCOMPARE(status(committed), u"undone"_s);
        QVERIFY(settingsOf(m_admin, kRole).isEmpty());
    }

    void profileFilesNameThePathOfEveryBadValue_data()
    {
        QTest::addColumn<QByteArray>("profile"); // one profile's JSON
        QTest::addColumn<QString>("error");
        const QByteArray role = "\"role\": \"r\", ";
        QTest::newRow("limit too large") << role + "\"connection_limit\": 1e10"
                                         << u"$.profiles[0].connection_limit: must be a whole number from -1 to 262143 (-1: no limit), not 10000000000"_s;
        QTest::newRow("limit not whole") << role + "\"connection_limit\": 2.5" << u"$.profiles[0].connection_limit: must be a whole number from -1 to 262143 (-1: no limit), not 2.5"_s;
        QTest::newRow("limit below -1") << role + "\"connection_limit\": -2" << u"$.profiles[0].connection_limit: must be a whole number from -1 to 262143 (-1: no limit), not -2"_s;
        QTest::newRow("limit as text") << role + "\"connection_limit\": \"80\"" << u"$.profiles[0].connection_limit: must be a whole number from -1 to 262143 (-1: no limit), not a string"_s;
        QTest::newRow("nice too large") << role + "\"cpu_nice\": 20" << u"$.profiles[0].cpu_nice: must be a whole number from 0 to 19 (0: normal, 19: lowest CPU priority), not 20"_s;
        QTest::newRow("nice not whole") << role + "\"cpu_nice\": 3.5" << u"$.profiles[0].cpu_nice: must be a whole number from 0 to 19 (0: normal, 19: lowest CPU priority), not 3.5"_s;
        QTest::newRow("nice Boolean") << role + "\"cpu_nice\": true" << u"$.profiles[0].cpu_nice: must be a whole number from 0 to 19 (0: normal, 19: lowest CPU priority), not a Boolean"_s;
        QTest::newRow("empty database") << role + "\"database\": \"\", \"cpu_nice\": 1" << u"$.profiles[0].database: a database's name, 1 to 63 bytes in UTF-8, or null for every database"_s;
        QTest::newRow("NUL in database") << role + "\"database\": \"a\\u0000b\", \"cpu_nice\": 1" << u"$.profiles[0].database: a database's name"_s;
        QTest::newRow("database too long") << role + "\"database\": \"" + QByteArray(64, 'd') + "\", \"cpu_nice\": 1" << u"$.profiles[0].database: a database's name"_s;
        // 40 characters, 80 bytes: PostgreSQL would cut the name to another one (review of tests/fuzz's fuzz_profile).
        QTest::newRow("role too long in bytes") << QByteArray("\"role\": \"") + QString(40, QChar(0xe9)).toUtf8() + "\", \"cpu_nice\": 1"
                                                << u"$.profiles[0].role: the role's name, 1 to 63 bytes in UTF-8"_s;
        QTest::newRow("database too long in bytes") << role + "\"database\": \"" + QString(40, QChar(0xe9)).toUtf8() + "\", \"cpu_nice\": 1"
                                                    << u"$.profiles[0].database: a database's name, 1 to 63 bytes in UTF-8"_s;
        QTest::newRow("NUL in a value") << role + "\"settings\": {\"myext.mode\": \"a\\u0000b\"}" << u"$.profiles[0].settings.myext.mode: contains a NUL character"_s;
        QTest::newRow("digits lost") << role + "\"settings\": {\"work_mem\": 12345678901234567890}"
                                     << u"$.profiles[0].settings.work_mem: 12345678901234567000 has more digits than a JSON number keeps (15): write it as a string"_s;
        QTest::newRow("description a number") << role + "\"description\": 5, \"cpu_nice\": 1" << u"$.profiles[0].description: a string"_s;
        QTest::newRow("infinite") << role + "\"connection_limit\": 1e400" << u"$: not JSON: illegal number at line 1, column "_s;
    }

    void profileFilesNameThePathOfEveryBadValue()
    {
        QFETCH(QByteArray, profile);
        QFETCH(QString, error);
        const QByteArray json = "{\"format\": \"htap-role-profiles\", \"version\": 1, \"name\": \"n\", \"profiles\": [{" + profile + "}]}";
        ProfileSet set;
        QStringList errors;
        QVERIFY(!ProfileSet::fromJson(json, &set, &errors));
        QVERIFY2(errors.first().startsWith(error), qPrintable(errors.join(u'\n')));

        // Numbers that are fine arrive as written.
        QVERIFY(ProfileSet::fromJson("{\"format\": \"htap-role-profiles\", \"version\": 1, \"name\": \"n\", \"profiles\": [{"
                                     "\"role\": \"r\", \"connection_limit\": 80.0, \"cpu_nice\": 19, \"settings\": {\"work_mem\": 65536, "
                                     "\"seq_page_cost\": 1.1, \"random_page_cost\": 1e20}}]}",
            &set, &errors));
        QCOMPARE(set.profiles.first().connectionLimit, 80);
        QCOMPARE(set.profiles.first().settings,
            (QList<std::pair<QString, std::optional<QString>>> {
                {u"random_page_cost"_s, u"1e+20"_s}, {u"seq_page_cost"_s, u"1.1"_s}, {u"work_mem"_s, u"65536"_s}}));
    }

    void reniceTakesALevelFrom1To19()
    {
        AuditLog audit(m_auditPath);
        RoleService service(m_admin, audit);
        for (int bad : {0, 20, -5}) {
            int changed = -1;
            QString error;
            service.renice(kOther, bad, &changed, &error);
            QVERIFY2(error.contains(u"is not a level from 1 (a little lower) to 19 (lowest)"_s), qPrintable(error));
            QCOMPARE(changed, 0);
        }
    }

    void cleanupTestCase()
    {
        resetRoles();
        exec(m_admin, u"DROP ROLE %1, %2"_s.arg(htap::pg::quoteIdentifier(kRole), htap::pg::quoteIdentifier(kOther)));
    }
};

QTEST_GUILESS_MAIN(TestRoles)
#include "tst_roles.moc"
