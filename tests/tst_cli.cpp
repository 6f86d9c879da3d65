// htapctl as a user runs it: exit codes, one-line errors, output against the sandbox.
#include "testutil.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QScopeGuard>
#include <QTemporaryDir>

#include <sys/stat.h>
#include <unistd.h>

using namespace Qt::StringLiterals;

namespace {
struct Run {
    int code = -1;
    QString out;
    QString err;
};

Run htapctl(const QStringList& args)
{
    QProcess p;
    p.setStandardInputFile(QProcess::nullDevice());
    p.start(qEnvironmentVariable("HTAP_TEST_BINDIR") + u"/htapctl"_s, args);
    if (!p.waitForFinished(120000))
        qFatal("htapctl did not finish");
    return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
}

void writeFile(const QString& path, const QByteArray& content)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(content) != content.size())
        qFatal("cannot write %s", qPrintable(path));
}

/// olap_user's own settings, as the server keeps them.
QString olapSettings(htap::pg::Connection& c)
{
    const htap::pg::Result r = c.exec(u"SELECT coalesce(string_agg(x, ',' ORDER BY x), '') FROM pg_db_role_setting s"
                                      " JOIN pg_roles r ON r.oid = s.setrole, unnest(s.setconfig) x WHERE r.rolname = 'olap_user'"_s);
    if (!r.ok())
        qFatal("%s", qPrintable(r.error().oneLine()));
    return r.text(0, 0);
}

void openOrDie(htap::pg::Connection& c)
{
    if (const htap::pg::PgError e = c.open(htap::test::sandboxConnInfo(), {10000, u"tst_cli"_s}))
        qFatal("%s", qPrintable(e.oneLine()));
}

void execOrDie(htap::pg::Connection& c, const QString& sql, const QVariantList& params = {})
{
    const htap::pg::Result r = c.exec(sql, params);
    if (!r.ok())
        qFatal("%s: %s", qPrintable(sql), qPrintable(r.error().oneLine()));
}
} // namespace

class TestCli : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void versionAndHelp()
    {
        auto r = htapctl({u"--version"_s});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.startsWith(u"htapctl "_s + QStringLiteral(HTAP_VERSION)));
        r = htapctl({u"--help"_s});
        QCOMPARE(r.code, 0);
        for (const QString& cmd : {u"ping"_s, u"watch"_s, u"sandbox"_s, u"demo"_s})
            QVERIFY(r.out.contains(u"  "_s + cmd));
        r = htapctl({u"ping"_s, u"--help"_s});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains(u"--conn"_s));
    }

    void scenarioListLinesUp()
    {
        // Every preset, its length and description, the lengths in one column whatever the
        // names' lengths (refresh-under-load once ran into its duration).
        const auto r = htapctl({u"scenario"_s, u"list"_s});
        QCOMPARE(r.code, 0);
        const QStringList lines = r.out.split(u'\n', Qt::SkipEmptyParts);
        QVERIFY2(lines.size() >= 7, qPrintable(r.out));
        qsizetype column = -1;
        for (const QString& line : lines) {
            const qsizetype at = line.indexOf(u" s  "_s);
            QVERIFY2(at > 0, qPrintable(line));
            QVERIFY2(column < 0 || at == column, qPrintable(line));
            column = at;
            QVERIFY2(line.section(u' ', 0, 0).size() < at - 4, qPrintable(line)); // a space between name and length
        }
        QVERIFY(r.out.contains(u"refresh-under-load"_s) && r.out.contains(u"smoke"_s));
    }

    void pingTheSandbox()
    {
        const QString conn = htap::test::sandboxConnInfo().toConnString();
        auto r = htapctl({u"ping"_s, u"--conn"_s, conn});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains(u"version:            PostgreSQL 15"_s), qPrintable(r.out));
        QVERIFY(r.out.contains(u"pg_stat_statements: available"_s));
        r = htapctl({u"ping"_s, u"--conn"_s, conn, u"--json"_s});
        QCOMPARE(r.code, 0);
        const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QVERIFY(o.value(u"pgStatStatements"_s).toBool());
        QVERIFY(o.value(u"roundTripMs"_s).toDouble() > 0);
    }

    void watchPrintsSamples()
    {
        const auto r = htapctl({u"watch"_s, u"--conn"_s, htap::test::sandboxConnInfo().toConnString(), u"--seconds"_s,
            u"2.5"_s, u"--interval"_s, u"500"_s, u"--json"_s});
        QCOMPARE(r.code, 0);
        const QStringList lines = r.out.split(u'\n', Qt::SkipEmptyParts);
        QVERIFY2(lines.size() >= 2, qPrintable(r.out + r.err));
        QVERIFY(QJsonDocument::fromJson(lines.first().toUtf8()).object().contains(u"commitsPerSecond"_s));
    }

    void monitorOnceAsJson()
    {
        const auto r = htapctl({u"monitor"_s, u"--conn"_s, htap::test::sandboxConnInfo().toConnString(), u"--once"_s,
            u"--json"_s, u"--interval"_s, u"0.5"_s});
        QCOMPARE(r.code, 0);
        const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QCOMPARE(o.value(u"format"_s).toString(), u"htap-monitor-sample"_s);
        QCOMPARE(o.value(u"version"_s).toInt(), 3);
        // Everything the GUI shows, the field extensions' figures included (the sandbox has them).
        for (const QString& section : {u"activity"_s, u"latency"_s, u"locks"_s, u"vacuum"_s, u"views"_s, u"replication"_s,
                 u"waits"_s, u"cpu"_s, u"topStatements"_s})
            QVERIFY2(o.contains(section), qPrintable(section + u": "_s + r.out.left(2000)));
        QVERIFY(o.value(u"activity"_s).toObject().value(u"hasRates"_s).toBool());
        for (const QString& section : {u"waits"_s, u"cpu"_s, u"topStatements"_s}) {
            QVERIFY2(o.value(section).toObject().value(u"hasDeltas"_s).toBool(), qPrintable(section));
            QVERIFY(o.value(section).toObject().value(u"windowSeconds"_s).toDouble() > 0);
        }
        QCOMPARE(o.value(u"waits"_s).toObject().value(u"classes"_s).toArray().size(), 3);
        QVERIFY(o.value(u"unavailable"_s).toObject().isEmpty());
        QVERIFY(o.value(u"vacuum"_s).toObject().value(u"tables"_s).toArray().size() >= 5);
    }

    void monitorStreamsToAFile()
    {
        const QString file = QDir::temp().filePath(u"tst_cli_monitor.jsonl"_s);
        QFile::remove(file);
        const auto r = htapctl({u"monitor"_s, u"--conn"_s, htap::test::sandboxConnInfo().toConnString(), u"--interval"_s,
            u"0.5"_s, u"--duration"_s, u"2.2"_s, u"--out"_s, file});
        QCOMPARE(r.code, 0);
        QFile f(file);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QList<QByteArray> lines = f.readAll().split('\n');
        QVERIFY2(lines.size() >= 4, qPrintable(QString::number(lines.size())));
        QCOMPARE(QJsonDocument::fromJson(lines.first()).object().value(u"format"_s).toString(), u"htap-monitor-sample"_s);
        f.remove();
        const auto bad = htapctl({u"monitor"_s, u"--out"_s, u"/proc/nope/x.jsonl"_s});
        QCOMPARE(bad.code, 1);
        QVERIFY2(bad.err.contains(u"cannot write /proc/nope/x.jsonl"_s), qPrintable(bad.err));
    }

    void sandboxStatusAndConninfo()
    {
        const QString dir = qEnvironmentVariable("HTAP_TEST_SANDBOX");
        auto r = htapctl({u"sandbox"_s, u"status"_s, u"--dir"_s, dir, u"--json"_s});
        QCOMPARE(r.code, 0);
        const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QVERIFY(o.value(u"running"_s).toBool());
        QVERIFY(o.value(u"loaded"_s).toBool());
        r = htapctl({u"sandbox"_s, u"conninfo"_s, u"--dir"_s, dir});
        QCOMPARE(r.code, 0);
        QCOMPARE(r.out.trimmed(), htap::test::sandboxConnInfo().toConnString());
    }

    void rolesPlanApplyLogUndo()
    {
        const QString conn = htap::test::sandboxConnInfo().toConnString();
        QTemporaryDir dir;
        const QString audit = dir.filePath(u"audit.sqlite"_s);
        const QString profile = dir.filePath(u"p.json"_s);
        auto write = [&](const QByteArray& json) {
            QFile f(profile);
            if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(json) != json.size())
                qFatal("cannot write the profile");
        };
        write(R"({"format": "htap-role-profiles", "version": 1, "name": "cli", "profiles": [
            {"name": "OLAP", "role": "olap_user", "settings": {"work_mem": "64XB", "wrok_mem": "1MB"}}]})");
        auto r = htapctl({u"roles"_s, u"plan"_s, profile, u"--conn"_s, conn, u"--audit"_s, audit});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.out.contains(u"error: $.profiles[0].settings.work_mem: work_mem = \"64XB\""_s), qPrintable(r.out));
        QVERIFY(r.out.contains(u"did you mean work_mem?"_s));

        write(R"({"format": "htap-role-profiles", "version": 1, "name": "cli", "profiles": [
            {"name": "OLAP", "role": "olap_user", "settings": {"work_mem": "48MB"}}]})");
        // No terminal and no --yes: refused, nothing changed.
        r = htapctl({u"roles"_s, u"apply"_s, profile, u"--conn"_s, conn, u"--audit"_s, audit});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains(u"Pass --yes"_s));
        r = htapctl({u"roles"_s, u"apply"_s, profile, u"--conn"_s, conn, u"--audit"_s, audit, u"--yes"_s, u"--json"_s});
        QCOMPARE(r.code, 0);
        const QJsonObject outcome = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QVERIFY2(outcome.value(u"ok"_s).toBool(), qPrintable(r.out));
        const qint64 id = outcome.value(u"audit_id"_s).toInteger();
        r = htapctl({u"roles"_s, u"show"_s, u"olap_user"_s, u"--conn"_s, conn, u"--json"_s});
        QVERIFY(r.out.contains(u"\"value\": \"48MB\""_s));
        r = htapctl({u"roles"_s, u"log"_s, u"--conn"_s, conn, u"--audit"_s, audit, u"--json"_s});
        QCOMPARE(QJsonDocument::fromJson(r.out.toUtf8()).array().first().toObject().value(u"id"_s).toInteger(), id);
        r = htapctl({u"roles"_s, u"undo"_s, QString::number(id), u"--conn"_s, conn, u"--audit"_s, audit, u"--yes"_s});
        QCOMPARE(r.code, 0);
        r = htapctl({u"roles"_s, u"show"_s, u"olap_user"_s, u"--conn"_s, conn, u"--json"_s});
        QVERIFY(!r.out.contains(u"48MB"_s));
        r = htapctl({u"roles"_s, u"undo"_s, u"999999"_s, u"--conn"_s, conn, u"--audit"_s, audit, u"--yes"_s});
        QCOMPARE(r.code, 1);
        QVERIFY(r.err.contains(u"no entry #999999"_s));
    }

    void rolesApplyKilledMidWayIsSettled()
    {
        // htapctl is killed while its apply waits behind the role-change lock, which this test
        // holds (the documented key, pg_advisory_xact_lock(1213485651, 0)). Its audit entry stays
        // "applying" while the server's transaction is open, and the next command settles it as
        // interrupted once the server has rolled that back. Nothing was changed.
        const QString conn = htap::test::sandboxConnInfo().toConnString();
        QTemporaryDir dir;
        const QString audit = dir.filePath(u"audit.sqlite"_s);
        const QString profile = dir.filePath(u"p.json"_s);
        writeFile(profile, R"({"format": "htap-role-profiles", "version": 1, "name": "killed", "profiles": [
            {"name": "OLAP", "role": "olap_user", "settings": {"work_mem": "40MB"}}]})");
        htap::pg::Connection holder, watcher;
        openOrDie(holder);
        openOrDie(watcher);
        const QString before = olapSettings(watcher);
        execOrDie(holder, u"BEGIN"_s);
        execOrDie(holder, u"SELECT pg_advisory_xact_lock(1213485651, 0)"_s);

        QProcess apply;
        apply.setStandardInputFile(QProcess::nullDevice());
        apply.start(qEnvironmentVariable("HTAP_TEST_BINDIR") + u"/htapctl"_s,
            {u"roles"_s, u"apply"_s, profile, u"--conn"_s, conn, u"--audit"_s, audit, u"--yes"_s, u"--json"_s});
        int pid = 0;
        {
            htap::test::Watchdog watchdog("htapctl roles apply was never seen waiting behind the lock", 120);
            while (pid == 0) {
                if (apply.waitForFinished(5)) // also the pause between two looks
                    QFAIL(qPrintable(u"htapctl roles apply did not wait behind the lock: "_s
                        + QString::fromUtf8(apply.readAllStandardOutput() + apply.readAllStandardError())));
                const htap::pg::Result r = watcher.exec(
                    u"SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory'"
                    " AND l.classid = 1213485651 AND l.objid = 0 AND l.objsubid = 2 AND NOT l.granted"
                    " AND a.application_name = 'htapctl roles'"_s);
                if (r.ok() && r.rowCount() > 0)
                    pid = int(r.toInt64(0, 0));
            }
        }
        auto entry = [&](bool connect) {
            const Run r = htapctl(connect ? QStringList {u"roles"_s, u"log"_s, u"--conn"_s, conn, u"--audit"_s, audit, u"--json"_s}
                                          : QStringList {u"roles"_s, u"log"_s, u"--all-servers"_s, u"--audit"_s, audit, u"--json"_s});
            const QJsonArray entries = QJsonDocument::fromJson(r.out.toUtf8()).array();
            if (r.code != 0 || entries.size() != 1)
                qFatal("roles log: %s %s", qPrintable(r.out), qPrintable(r.err));
            return std::pair(entries.first().toObject(), r.err);
        };
        // The entry is written before the apply queues, with the transaction that settles it.
        QJsonObject e = entry(false).first;
        QCOMPARE(e.value(u"status"_s).toString(), u"applying"_s);
        QVERIFY(!e.value(u"transaction"_s).toObject().value(u"xid"_s).toString().isEmpty());

        apply.kill();
        QVERIFY(apply.waitForFinished());
        QCOMPARE(apply.exitStatus(), QProcess::CrashExit);
        // Its server session still waits for the lock: the transaction is open, so the next
        // command leaves the entry as it is.
        e = entry(true).first;
        QCOMPARE(e.value(u"status"_s).toString(), u"applying"_s);

        // Let go: the session gets the lock, finds its client gone and ends, rolling back.
        execOrDie(holder, u"ROLLBACK"_s);
        {
            htap::test::Watchdog watchdog("the killed htapctl's server session did not end", 120);
            while (watcher.exec(u"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)"_s, {pid}).toBool(0, 0))
                std::this_thread::sleep_for(std::chrono::milliseconds(5)); // a poll
        }
        const auto [settled, notes] = entry(true);
        QCOMPARE(settled.value(u"status"_s).toString(), u"interrupted"_s);
        QVERIFY2(settled.value(u"message"_s).toString().startsWith(u"not applied: its program stopped before COMMIT"_s),
            qPrintable(settled.value(u"message"_s).toString()));
        QVERIFY2(notes.startsWith(u"htapctl: note: audit #1 (killed), left \"applying\" by a program that stopped, was rolled "
                                  "back by the server: marked interrupted"_s),
            qPrintable(notes));
        QCOMPARE(olapSettings(watcher), before);
        const Run undo = htapctl({u"roles"_s, u"undo"_s, u"1"_s, u"--conn"_s, conn, u"--audit"_s, audit, u"--yes"_s});
        QCOMPARE(undo.code, 1);
        QVERIFY2(undo.err.contains(u"#1 is interrupted, not applied: there is nothing of it to undo"_s), qPrintable(undo.err));
    }

    void rolesApplyRefusesAnUnwritableAuditLog()
    {
        // Nothing is applied without its audit record: a read-only log stops the apply before it
        // plans or sends anything, with one line on stderr.
        const QString conn = htap::test::sandboxConnInfo().toConnString();
        QTemporaryDir dir;
        const QString audit = dir.filePath(u"audit.sqlite"_s);
        const QString profile = dir.filePath(u"p.json"_s);
        writeFile(profile, R"({"format": "htap-role-profiles", "version": 1, "name": "ro", "profiles": [
            {"name": "OLAP", "role": "olap_user", "settings": {"work_mem": "44MB"}}]})");
        QCOMPARE(htapctl({u"roles"_s, u"log"_s, u"--all-servers"_s, u"--audit"_s, audit}).code, 0); // creates it
        // Root writes through any file mode; the immutable attribute stops it too.
        const bool root = ::geteuid() == 0;
        if (root && QProcess::execute(u"chattr"_s, {u"+i"_s, audit}) != 0)
            QSKIP("running as root and chattr +i is not available here: no way to make the file read-only");
        if (!root)
            QVERIFY(QFile::setPermissions(audit, QFileDevice::ReadOwner | QFileDevice::ReadGroup | QFileDevice::ReadOther));
        const auto writable = qScopeGuard([&] {
            if (root)
                QProcess::execute(u"chattr"_s, {u"-i"_s, audit});
        });
        htap::pg::Connection watcher;
        openOrDie(watcher);
        const QString before = olapSettings(watcher);
        for (const QStringList& extra : {QStringList(), QStringList {u"--json"_s}}) {
            const Run r = htapctl(QStringList {u"roles"_s, u"apply"_s, profile, u"--conn"_s, conn, u"--audit"_s, audit, u"--yes"_s} + extra);
            QCOMPARE(r.code, 1);
            QVERIFY2(r.err.startsWith(u"htapctl: error: audit log %1: "_s.arg(audit)) && r.err.contains(u"nothing was sent to the server"_s),
                qPrintable(r.err));
            QCOMPARE(r.err.trimmed().count(u'\n'), 0);
            QVERIFY2(r.out.isEmpty(), qPrintable(r.out)); // no plan printed: it stopped before planning
            QCOMPARE(olapSettings(watcher), before);
        }
    }

    void rolesNumbersMustBeWhole_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        const QStringList renice {u"roles"_s, u"renice"_s, u"olap_user"_s, u"--nice"_s};
        for (const char* bad : {"nan", "NaN", "inf", "-inf", "3.5", "0", "20", "1e400"})
            QTest::newRow(qPrintable(u"--nice "_s + QLatin1String(bad))) << renice + QStringList {QLatin1String(bad)}
                                                                 << u"invalid --nice \"%1\": must be a whole number from 1 to 19"_s.arg(QLatin1String(bad));
        QTest::newRow("--limit 2.5") << QStringList {u"roles"_s, u"log"_s, u"--all-servers"_s, u"--limit"_s, u"2.5"_s}
                                     << u"invalid --limit \"2.5\": must be a whole number from 1 to 100000"_s;
        QTest::newRow("--limit nan") << QStringList {u"roles"_s, u"log"_s, u"--all-servers"_s, u"--limit"_s, u"nan"_s}
                                     << u"invalid --limit \"nan\": must be a whole number from 1 to 100000"_s;
    }

    void rolesNumbersMustBeWhole()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        const Run r = htapctl(args);
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.startsWith(u"htapctl: error: "_s + message), qPrintable(r.err));
        QCOMPARE(r.err.trimmed().count(u'\n'), 0);
    }

    void badInputGetsOneLine_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("code");
        QTest::addColumn<QString>("messagePart");
        QTest::newRow("no command") << QStringList() << 2 << QString();
        QTest::newRow("unknown command") << QStringList {u"frobnicate"_s} << 2 << u"unknown command \"frobnicate\""_s;
        QTest::newRow("malformed conninfo") << QStringList {u"ping"_s, u"--conn"_s, u"host='x"_s} << 2 << u"invalid conninfo"_s;
        QTest::newRow("unknown keyword") << QStringList {u"ping"_s, u"--conn"_s, u"hots=x"_s} << 2 << u"invalid connection option \"hots\""_s;
        QTest::newRow("closed port") << QStringList {u"ping"_s, u"--conn"_s, u"host=127.0.0.1 port=1"_s} << 1 << u"Connection refused"_s;
        QTest::newRow("unknown host") << QStringList {u"ping"_s, u"--conn"_s, u"host=no-such-host.invalid"_s} << 1 << u"no-such-host.invalid"_s;
        QTest::newRow("unknown option") << QStringList {u"ping"_s, u"--bogus"_s} << 2 << u"Unknown option 'bogus'"_s;
        QTest::newRow("bad timeout") << QStringList {u"ping"_s, u"--timeout"_s, u"soon"_s} << 2 << u"invalid --timeout"_s;
        QTest::newRow("sandbox without action") << QStringList {u"sandbox"_s} << 2 << u"needs an action"_s;
        QTest::newRow("sandbox bad scale") << QStringList {u"sandbox"_s, u"start"_s, u"--scale"_s, u"-3"_s} << 2 << u"invalid --scale"_s;
        QTest::newRow("sandbox bad port") << QStringList {u"sandbox"_s, u"start"_s, u"--port"_s, u"99999"_s} << 2 << u"invalid --port"_s;
        QTest::newRow("destroy needs --yes") << QStringList {u"sandbox"_s, u"destroy"_s, u"--dir"_s, u"/tmp/nowhere-htap"_s} << 2 << u"pass --yes"_s;
        QTest::newRow("status of nothing") << QStringList {u"sandbox"_s, u"conninfo"_s, u"--dir"_s, u"/tmp/nowhere-htap"_s} << 1 << u"no sandbox in /tmp/nowhere-htap"_s;
        QTest::newRow("advise unknown action") << QStringList {u"advise"_s, u"frob"_s} << 2 << u"advise: unknown action \"frob\""_s;
        QTest::newRow("advise unknown check") << QStringList {u"advise"_s, u"--check"_s, u"vibes"_s} << 2 << u"unknown check \"vibes\""_s;
        QTest::newRow("advise apply without id") << QStringList {u"advise"_s, u"apply"_s} << 2 << u"needs a finding's id"_s;
        QTest::newRow("advise undo bad number") << QStringList {u"advise"_s, u"undo"_s, u"x"_s} << 2 << u"needs the number of an audit entry"_s;
        QTest::newRow("advise --runs nan") << QStringList {u"advise"_s, u"measure"_s, u"brin:x"_s, u"--runs"_s, u"nan"_s} << 2 << u"invalid --runs"_s;
        // Every numeric flag: finite, in range, whole where it counts (NaN passed them all once).
        const QStringList nan {u"nan"_s, u"NaN"_s, u"inf"_s, u"-inf"_s, u"1e999"_s};
        for (const QString& v : nan) {
            QTest::addRow("ping --timeout %s", qPrintable(v)) << QStringList {u"ping"_s, u"--timeout"_s, v} << 2 << u"invalid --timeout"_s;
            QTest::addRow("scenario --duration-scale %s", qPrintable(v))
                << QStringList {u"scenario"_s, u"run"_s, u"smoke"_s, u"--duration-scale"_s, v} << 2 << u"invalid --duration-scale"_s;
        }
        QTest::newRow("watch --seconds nan") << QStringList {u"watch"_s, u"--seconds"_s, u"nan"_s} << 2 << u"invalid --seconds \"nan\": must be a number from 0 to"_s;
        QTest::newRow("watch --interval fraction") << QStringList {u"watch"_s, u"--interval"_s, u"150.5"_s} << 2 << u"must be a whole number from 100 to"_s;
        QTest::newRow("monitor --interval nan") << QStringList {u"monitor"_s, u"--interval"_s, u"nan"_s} << 2 << u"invalid --interval"_s;
        QTest::newRow("monitor --duration negative") << QStringList {u"monitor"_s, u"--duration"_s, u"-1"_s} << 2 << u"invalid --duration"_s;
        QTest::newRow("scenario --rate-scale inf") << QStringList {u"scenario"_s, u"run"_s, u"smoke"_s, u"--rate-scale"_s, u"inf"_s} << 2 << u"invalid --rate-scale"_s;
        QTest::newRow("scenario --threads fraction") << QStringList {u"scenario"_s, u"run"_s, u"smoke"_s, u"--threads"_s, u"1.5"_s} << 2 << u"invalid --threads \"1.5\": must be a whole number"_s;
        QTest::newRow("scenario two files") << QStringList {u"scenario"_s, u"run"_s, u"smoke"_s, u"smoke"_s} << 2 << u"takes one preset or file"_s;
        QTest::newRow("sandbox --scale nan") << QStringList {u"sandbox"_s, u"start"_s, u"--scale"_s, u"nan"_s, u"--dir"_s, u"/tmp/nowhere-htap"_s} << 2 << u"invalid --scale"_s;
        QTest::newRow("sandbox --port fraction") << QStringList {u"sandbox"_s, u"start"_s, u"--port"_s, u"5432.5"_s} << 2 << u"must be a whole number from 1 to 65535"_s;
        QTest::newRow("mv log --limit nan") << QStringList {u"mv"_s, u"log"_s, u"--limit"_s, u"nan"_s} << 2 << u"invalid --limit"_s;
        QTest::newRow("mv --lock-timeout nan") << QStringList {u"mv"_s, u"refresh"_s, u"v"_s, u"--mode"_s, u"plain"_s, u"--lock-timeout"_s, u"nan"_s} << 2 << u"invalid --lock-timeout"_s;
        QTest::newRow("demo --rate nan") << QStringList {u"demo"_s, u"--rate"_s, u"nan"_s} << 2 << u"invalid --rate"_s;
        QTest::newRow("bench --seconds nan") << QStringList {u"bench"_s, u"monitor"_s, u"--seconds"_s, u"nan"_s} << 2 << u"invalid --seconds"_s;
        // Files that never end, or are not files.
        QTest::newRow("scenario from /dev/zero") << QStringList {u"scenario"_s, u"validate"_s, u"/dev/zero"_s} << 2 << u"it is a device, not a regular file"_s;
        QTest::newRow("scenario from a folder") << QStringList {u"scenario"_s, u"validate"_s, u"/tmp"_s} << 2 << u"it is a folder"_s;
        QTest::newRow("scenario that is not there") << QStringList {u"scenario"_s, u"validate"_s, u"/tmp/no-such.json"_s} << 2 << u"no preset named"_s;
        QTest::newRow("profile set from /dev/zero") << QStringList {u"roles"_s, u"plan"_s, u"/dev/zero"_s} << 2 << u"it is a device, not a regular file"_s;
        QTest::newRow("snapshot from /dev/zero") << QStringList {u"snapshot"_s, u"show"_s, u"/dev/zero"_s} << 1 << u"it is a device, not a regular file"_s;
        // A result that cannot be written says so before the run, not after it.
        QTest::newRow("result into no folder") << QStringList {u"scenario"_s, u"run"_s, u"smoke"_s, u"--out"_s, u"/tmp/no-such-htap-dir/r.json"_s}
                                               << 2 << u"cannot write /tmp/no-such-htap-dir/r.json: the folder /tmp/no-such-htap-dir does not exist"_s;
        // A conninfo of 130 KB is not repeated whole.
        const QString huge = u"host=x "_s + QString(130000, u'a') + u"=1"_s;
        QTest::newRow("huge conninfo") << QStringList {u"ping"_s, u"--conn"_s, huge} << 2 << u"invalid conninfo"_s;
    }
    void badInputGetsOneLine()
    {
        QFETCH(QStringList, args);
        QFETCH(int, code);
        QFETCH(QString, messagePart);
        const auto r = htapctl(args);
        QCOMPARE(r.code, code);
        if (messagePart.isEmpty())
            return;
        QVERIFY2(r.err.contains(messagePart), qPrintable(r.err));
        QVERIFY2(r.err.startsWith(u"htapctl: error: "_s), qPrintable(r.err));
        QCOMPARE(r.err.trimmed().count(u'\n'), 0);
        QVERIFY2(r.err.size() < 500, qPrintable(r.err.left(600))); // what the user typed is not echoed at length
    }

    void studioHelpAndVersionNeedNoDisplay()
    {
        // Without a display a QApplication aborts (exit 134): --help and --version must not
        // need one, and the help lists every page.
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove(u"DISPLAY"_s);
        env.remove(u"WAYLAND_DISPLAY"_s);
        env.remove(u"QT_QPA_PLATFORM"_s);
        p.setProcessEnvironment(env);
        p.start(qEnvironmentVariable("HTAP_TEST_BINDIR") + u"/htap-studio"_s, {u"--help"_s});
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 0);
        const QString help = QString::fromUtf8(p.readAllStandardOutput());
        for (const QString& page : {u"Overview"_s, u"Incidents"_s, u"Latency"_s, u"Locks"_s, u"Scenarios"_s, u"Roles"_s})
            QVERIFY2(help.contains(page), qPrintable(help));
        p.start(qEnvironmentVariable("HTAP_TEST_BINDIR") + u"/htap-studio"_s, {u"--version"_s});
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitCode(), 0);
        QVERIFY(p.readAllStandardOutput().startsWith("htap-studio " HTAP_VERSION));
    }

    void aFifoIsRefusedWithoutWaitingForAWriter()
    {
        QTemporaryDir dir;
        const QString fifo = dir.filePath(u"scenario.json"_s);
        QCOMPARE(::mkfifo(QFile::encodeName(fifo).constData(), 0600), 0);
        const auto r = htapctl({u"scenario"_s, u"validate"_s, fifo}); // would block in open() without O_NONBLOCK
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains(u"it is a pipe (FIFO), not a regular file"_s), qPrintable(r.err));
    }

    void filesWeWriteAreTheUsersAlone()
    {
        // Samples and results hold other sessions' statements and role settings: 0600, as the
        // history is, whatever the umask.
        QTemporaryDir dir;
        const QString conn = htap::test::sandboxConnInfo().toConnString();
        const mode_t before = ::umask(0022);
        const QString jsonl = dir.filePath(u"samples.jsonl"_s), result = dir.filePath(u"r.json"_s);
        auto r = htapctl({u"monitor"_s, u"--conn"_s, conn, u"--interval"_s, u"0.5"_s, u"--duration"_s, u"1.2"_s, u"--out"_s, jsonl});
        QCOMPARE(r.code, 0);
        r = htapctl({u"scenario"_s, u"run"_s, u"smoke"_s, u"--duration-scale"_s, u"0.05"_s, u"--conn"_s, conn, u"--out"_s, result});
        ::umask(before);
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const auto ownerOnly = QFileDevice::ReadOwner | QFileDevice::WriteOwner;
        for (const QString& f : {jsonl, result, dir.filePath(u"r.csv"_s)}) {
            QVERIFY2(QFileInfo::exists(f), qPrintable(f));
            QVERIFY2((QFile::permissions(f) & ~(QFileDevice::ReadUser | QFileDevice::WriteUser)) == ownerOnly, qPrintable(f));
        }
    }

    void mvBadUsageExitsTwo_data()
    {
        // Most rows name a server that does not exist: bad usage is found before connecting.
        const QString nowhere = u"host=/nonexistent-htap-socket-dir"_s;
        const QString sandbox = htap::test::sandboxConnInfo().toConnString();
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("messagePart");
        QTest::newRow("no action") << QStringList {u"mv"_s} << u"needs an action"_s;
        QTest::newRow("unknown action") << QStringList {u"mv"_s, u"frobnicate"_s} << u"needs an action"_s;
        QTest::newRow("no view") << QStringList {u"mv"_s, u"refresh"_s, u"--mode"_s, u"plain"_s, u"--conn"_s, nowhere} << u"needs a view name"_s;
        QTest::newRow("no mode") << QStringList {u"mv"_s, u"refresh"_s, u"v"_s, u"--conn"_s, nowhere} << u"needs --mode"_s;
        QTest::newRow("bad mode") << QStringList {u"mv"_s, u"refresh"_s, u"v"_s, u"--mode"_s, u"fast"_s, u"--conn"_s, nowhere} << u"invalid --mode"_s;
        QTest::newRow("extra argument to list") << QStringList {u"mv"_s, u"list"_s, u"v"_s, u"--conn"_s, nowhere} << u"unexpected argument \"v\""_s;
        QTest::newRow("two views") << QStringList {u"mv"_s, u"refresh"_s, u"a"_s, u"b"_s, u"--mode"_s, u"plain"_s, u"--conn"_s, nowhere}
                                   << u"unexpected argument \"b\""_s;
        QTest::newRow("rebuild scheduled") << QStringList {u"mv"_s, u"schedule"_s, u"v"_s, u"--mode"_s, u"rebuild"_s, u"--every"_s, u"5m"_s,
            u"--conn"_s, nowhere} << u"rebuilds are not scheduled"_s;
        QTest::newRow("bad seconds") << QStringList {u"mv"_s, u"run-schedules"_s, u"--seconds"_s, u"soon"_s, u"--conn"_s, nowhere}
                                     << u"invalid --seconds"_s;
        QTest::newRow("mode for list") << QStringList {u"mv"_s, u"list"_s, u"--mode"_s, u"plain"_s, u"--conn"_s, nowhere}
                                       << u"--mode does not apply to mv list"_s;
        QTest::newRow("mode for enable") << QStringList {u"mv"_s, u"enable-incremental"_s, u"v"_s, u"--mode"_s, u"plain"_s, u"--conn"_s, nowhere}
                                         << u"--mode does not apply to mv enable-incremental"_s;
        QTest::newRow("check for log") << QStringList {u"mv"_s, u"log"_s, u"--check"_s, u"--conn"_s, nowhere}
                                       << u"--check does not apply to mv log"_s;
        QTest::newRow("every for refresh") << QStringList {u"mv"_s, u"refresh"_s, u"v"_s, u"--mode"_s, u"plain"_s, u"--every"_s, u"5m"_s,
            u"--conn"_s, nowhere} << u"--every does not apply to mv refresh"_s;
        QTest::newRow("malformed view name") << QStringList {u"mv"_s, u"refresh"_s, u"\"unbalanced"_s, u"--mode"_s, u"plain"_s, u"--conn"_s, sandbox}
                                             << u"not a valid view name"_s;
        QTest::newRow("malformed view name in log") << QStringList {u"mv"_s, u"log"_s, u"a.b.c.d"_s, u"--conn"_s, sandbox}
                                                    << u"not a valid view name"_s;
    }
    void mvBadUsageExitsTwo()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, messagePart);
        const auto r = htapctl(args);
        QVERIFY2(r.code == 2, qPrintable(u"exit %1: %2"_s.arg(r.code).arg(r.err)));
        QVERIFY2(r.err.contains(messagePart), qPrintable(r.err));
        QVERIFY2(r.err.startsWith(u"htapctl: error: "_s), qPrintable(r.err));
        QCOMPARE(r.err.trimmed().count(u'\n'), 0);
    }

    void mvOptionsBeforeTheAction()
    {
        // The action is the first argument that is not an option, wherever the options are.
        const auto r = htapctl({u"mv"_s, u"--conn"_s, htap::test::sandboxConnInfo().toConnString(), u"--json"_s, u"list"_s});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(QJsonDocument::fromJson(r.out.toUtf8()).isArray());
    }

    void mvMergeRefusedWhileARebuildIsNeeded()
    {
        // A merge cannot make a view exact after a TRUNCATE of its table: "0 changes merged"
        // with exit 0 would say it is fine. It fails, says why and what to run instead.
        htap::pg::Connection c;
        QVERIFY(!c.open(htap::test::sandboxConnInfo(), {10000, u"tst_cli"_s}));
        QVERIFY(c.exec(u"DROP SCHEMA IF EXISTS cli_rebuild CASCADE"_s).ok());
        QVERIFY(c.exec(u"CREATE SCHEMA cli_rebuild"_s).ok());
        QVERIFY(c.exec(u"CREATE TABLE cli_rebuild.t (id int PRIMARY KEY, k int, x int)"_s).ok());
        QVERIFY(c.exec(u"INSERT INTO cli_rebuild.t SELECT g, g % 3, g FROM generate_series(1, 100) g"_s).ok());
        QVERIFY(c.exec(u"CREATE MATERIALIZED VIEW cli_rebuild.v AS SELECT k, count(*) AS n, sum(x) AS total FROM cli_rebuild.t GROUP BY k"_s).ok());
        const QString conn = htap::test::sandboxConnInfo().toConnString();
        auto r = htapctl({u"mv"_s, u"enable-incremental"_s, u"cli_rebuild.v"_s, u"--conn"_s, conn});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(c.exec(u"TRUNCATE cli_rebuild.t"_s).ok());
        QVERIFY(c.exec(u"INSERT INTO cli_rebuild.t VALUES (1, 1, 5)"_s).ok());

        r = htapctl({u"mv"_s, u"refresh"_s, u"cli_rebuild.v"_s, u"--mode"_s, u"incremental"_s, u"--conn"_s, conn});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains(u"needs a full rebuild"_s) && r.err.contains(u"TRUNCATE of cli_rebuild.t"_s)
                && r.err.contains(u"--mode rebuild"_s),
            qPrintable(r.err));
        QCOMPARE(r.err.trimmed().count(u'\n'), 0);
        r = htapctl({u"mv"_s, u"refresh"_s, u"cli_rebuild.v"_s, u"--mode"_s, u"incremental"_s, u"--json"_s, u"--conn"_s, conn});
        QCOMPARE(r.code, 1);
        const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QCOMPARE(o.value(u"ok"_s).toBool(true), false);
        QVERIFY2(o.value(u"message"_s).toString().contains(u"needs a full rebuild"_s), qPrintable(r.out));

        r = htapctl({u"mv"_s, u"refresh"_s, u"cli_rebuild.v"_s, u"--mode"_s, u"rebuild"_s, u"--conn"_s, conn});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QCOMPARE(c.exec(u"SELECT n, total FROM cli_rebuild.v"_s).text(0, 1), u"5"_s);
        QVERIFY(c.exec(u"INSERT INTO cli_rebuild.t VALUES (2, 1, 7)"_s).ok());
        r = htapctl({u"mv"_s, u"refresh"_s, u"cli_rebuild.v"_s, u"--mode"_s, u"incremental"_s, u"--conn"_s, conn});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains(u"1 changes merged"_s), qPrintable(r.out));
        QCOMPARE(c.exec(u"SELECT total FROM cli_rebuild.v"_s).text(0, 0), u"12"_s);
        r = htapctl({u"mv"_s, u"disable-incremental"_s, u"cli_rebuild.v"_s, u"--conn"_s, conn});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(c.exec(u"DROP SCHEMA cli_rebuild CASCADE"_s).ok());
    }

    void pingWithWrongPassword()
    {
        const auto info = htap::test::sandboxConnInfo();
        const QString tcp = u"host=127.0.0.1 port=%1 dbname=shop user=postgres password=wrong"_s.arg(info.value(u"port"_s));
        const auto r = htapctl({u"ping"_s, u"--conn"_s, tcp});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains(u"password authentication failed"_s), qPrintable(r.err));
        QVERIFY(!r.err.contains(u"wrong"_s)); // the password is never echoed
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
