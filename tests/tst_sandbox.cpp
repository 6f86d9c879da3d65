// The sandbox lifecycle on real PostgreSQL binaries: create, stop, restart keeping data, and
// the bad inputs (taken port, unusable folder, a folder that is not ours).
#include "testutil.h"

#include <QLockFile>

#include <QElapsedTimer>
#include <QProcess>
#include <QThread>
#include <QScopeGuard>
#include <QTcpServer>

#include <csignal>
#include <thread>

using namespace Qt::StringLiterals;
using htap::pg::Connection;
using htap::pg::Sandbox;

class TestSandbox : public QObject
{
    Q_OBJECT
private:
    QString m_dir;

private Q_SLOTS:
    void initTestCase()
    {
        m_dir = htap::test::scratchDir(u"lifecycle"_s);
        QString error;
        Sandbox(m_dir).destroy(&error); // a previous run's leftovers
        QVERIFY2(error.isEmpty(), qPrintable(error));
    }

    void cleanupTestCase()
    {
        QString error;
        QVERIFY2(Sandbox(m_dir).destroy(&error), qPrintable(error));
        QVERIFY(!QFileInfo::exists(m_dir));
    }

    void findsServerBinaries()
    {
        QString error;
        const QString bin = Sandbox::findBinDir(&error);
        QVERIFY2(!bin.isEmpty(), qPrintable(error));
        QVERIFY(QFileInfo(bin + u"/initdb"_s).isExecutable());
    }

    void startStopRestartKeepsData()
    {
        Sandbox sandbox(m_dir);
        QVERIFY(!sandbox.status().initialized);
        QStringList steps;
        QString error;
        QVERIFY2(sandbox.start(0, 0.01, [&](const QString& s) { steps << s; }, &error), qPrintable(error));
        QVERIFY(steps.join(u'\n').contains(u"initdb"_s));
        auto st = sandbox.status();
        QVERIFY(st.initialized && st.running && st.loaded);
        QVERIFY(st.port > 0);
        const int port = st.port;

        Connection c;
        QVERIFY(!c.open(sandbox.connInfo()));
        QCOMPARE(c.exec(u"SELECT count(*) FROM orders"_s).toInt64(0, 0), 1000); // scale 0.01
        QVERIFY(c.exec(u"SELECT count(*) FROM order_items"_s).toInt64(0, 0) >= 1000);
        QVERIFY(c.exec(u"SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'"_s).rowCount() == 1);
        QVERIFY(c.exec(u"SELECT count(*) FROM pg_stat_statements"_s).ok()); // preloaded
        QCOMPARE(c.exec(u"SHOW listen_addresses"_s).text(0, 0), u"127.0.0.1"_s);
        QVERIFY(c.exec(u"INSERT INTO dim_users (user_id, user_name) VALUES (-1, 'kept across restarts')"_s).ok());
        c.close();

        // Starting a running sandbox is a no-op, not an error.
        QVERIFY2(sandbox.start(0, 0.01, {}, &error), qPrintable(error));
        QCOMPARE(sandbox.status().port, port);

        QVERIFY2(sandbox.stop(&error), qPrintable(error));
        st = sandbox.status();
        QVERIFY(st.initialized && !st.running);
        QVERIFY(c.open(sandbox.connInfo(), {3000}).isError());
        QVERIFY2(sandbox.stop(&error), "stopping a stopped sandbox is fine");

        steps.clear();
        QVERIFY2(sandbox.start(0, 5, [&](const QString& s) { steps << s; }, &error), qPrintable(error));
        QVERIFY(!steps.join(u'\n').contains(u"initdb"_s));
        QVERIFY(!steps.join(u'\n').contains(u"loading demo data"_s)); // scale applies to the first load only
        QCOMPARE(sandbox.status().port, port);
        QVERIFY(!c.open(sandbox.connInfo()));
        QCOMPARE(c.exec(u"SELECT user_name FROM dim_users WHERE user_id = -1"_s).text(0, 0), u"kept across restarts"_s);
        QCOMPARE(c.exec(u"SELECT count(*) FROM orders"_s).toInt64(0, 0), 1000);
    }

    void aStandbyFollowsThePrimary()
    {
        // add-standby: a hot standby streaming from the sandbox through a slot, in a folder of
        // its own; the primary's stop and start take it along; remove-standby deletes it and
        // drops the slot.
        Sandbox sandbox(m_dir);
        QString error;
        QVERIFY2(sandbox.start(0, 0.01, {}, &error), qPrintable(error));
        QString dir;
        QStringList steps;
        QVERIFY2(sandbox.addStandby(&dir, 0, true, [&](const QString& s) { steps << s; }, &error), qPrintable(error));
        QCOMPARE(dir, m_dir + u"-standby1"_s);
        QVERIFY(steps.join(u'\n').contains(u"pg_basebackup"_s));
        const auto guard = qScopeGuard([this, dir] {
            QString e;
            Sandbox(m_dir).removeStandby(dir, &e);
        });
        Sandbox standby(dir);
        auto st = standby.status();
        QVERIFY(st.running && st.standby && st.hotStandbyFeedback);
        QCOMPARE(st.primary, m_dir);
        QCOMPARE(sandbox.status().standbys, QStringList {dir});
        QVERIFY(st.port != sandbox.status().port);

        Connection primary, replica;
        QVERIFY(!primary.open(sandbox.connInfo()));
        QVERIFY(!replica.open(standby.connInfo()));
        QCOMPARE(replica.exec(u"SELECT pg_is_in_recovery()"_s).toBool(0, 0), true);
        QCOMPARE(replica.exec(u"SHOW hot_standby_feedback"_s).text(0, 0), u"on"_s);
        QCOMPARE(replica.exec(u"SELECT count(*) FROM orders"_s).toInt64(0, 0), 1000);
        // What the primary writes, the standby replays; the primary sees it streaming by name.
        QVERIFY(primary.exec(u"INSERT INTO dim_users (user_id, user_name) VALUES (-2, 'replicated')"_s).ok());
        QTRY_COMPARE_WITH_TIMEOUT(replica.exec(u"SELECT user_name FROM dim_users WHERE user_id = -2"_s).text(0, 0),
            u"replicated"_s, 20000);
        QTRY_COMPARE_WITH_TIMEOUT(primary.exec(u"SELECT application_name, state FROM pg_stat_replication"_s).text(0, 1),
            u"streaming"_s, 20000);
        QCOMPARE(primary.exec(u"SELECT application_name FROM pg_stat_replication"_s).text(0, 0), QFileInfo(dir).fileName());
        QCOMPARE(primary.exec(u"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'htap_lifecycle_standby1' AND active"_s)
                     .toInt64(0, 0),
            1);
        // A standby refuses writes; a second one goes beside the first.
        QVERIFY(!replica.exec(u"INSERT INTO dim_users (user_id, user_name) VALUES (-3, 'no')"_s).ok());
        primary.close();
        replica.close();

        // The primary's stop stops the standby first; its start starts it again.
        QVERIFY2(sandbox.stop(&error), qPrintable(error));
        QVERIFY(!standby.status().running && !sandbox.status().running);
        QVERIFY2(sandbox.start(0, 0.01, {}, &error), qPrintable(error));
        QVERIFY(standby.status().running);

        // Refused: a standby of a standby, a folder inside the sandbox, one not a standby of it.
        QString other = m_dir + u"/data/x"_s;
        QVERIFY(!sandbox.addStandby(&other, 0, false, {}, &error));
        QVERIFY2(error.contains(u"folder of its own"_s), qPrintable(error));
        QString chained;
        QVERIFY(!standby.addStandby(&chained, 0, false, {}, &error));
        QVERIFY2(error.contains(u"is itself a standby"_s), qPrintable(error));
        QVERIFY(!sandbox.removeStandby(m_dir + u"-elsewhere"_s, &error));
        QVERIFY2(error.contains(u"is not a standby"_s), qPrintable(error));

        // A port that is taken, a folder that holds something else: said before anything is
        // copied, and nothing is left made or listed.
        QTcpServer taken;
        QVERIFY(taken.listen(QHostAddress::LocalHost));
        QString onTaken;
        QVERIFY(!sandbox.addStandby(&onTaken, int(taken.serverPort()), false, {}, &error));
        QVERIFY2(error.contains(u"already in use"_s), qPrintable(error));
        QCOMPARE(sandbox.status().standbys.size(), 1);
        QVERIFY(!QFileInfo::exists(m_dir + u"-standby2"_s));
        QString occupied = m_dir + u"-occupied"_s;
        QVERIFY(QDir().mkpath(occupied));
        QFile stray(occupied + u"/notes.txt"_s);
        QVERIFY(stray.open(QIODevice::WriteOnly));
        stray.close();
        QVERIFY(!sandbox.addStandby(&occupied, 0, false, {}, &error));
        QVERIFY2(error.contains(u"not empty"_s), qPrintable(error));
        QVERIFY(QFileInfo::exists(occupied + u"/notes.txt"_s)); // the operator's file is left alone
        QDir(occupied).removeRecursively();
        QCOMPARE(sandbox.status().standbys.size(), 1);

        // Two adds at once (the GUI and the CLI): two standbys in two folders, both listed.
        QString dirA, dirB, errorA, errorB;
        bool okA = false, okB = false;
        std::thread a([&] { okA = Sandbox(m_dir).addStandby(&dirA, 0, false, {}, &errorA); });
        std::thread b([&] { okB = Sandbox(m_dir).addStandby(&dirB, 0, false, {}, &errorB); });
        a.join();
        b.join();
        QVERIFY2(okA && okB, qPrintable(errorA + u" | "_s + errorB));
        QVERIFY(dirA != dirB && QFileInfo::exists(dirA + u"/data/PG_VERSION"_s) && QFileInfo::exists(dirB + u"/data/PG_VERSION"_s));
        QCOMPARE(sandbox.status().standbys.size(), 3);
        QVERIFY2(sandbox.removeStandby(dirA, &error) && sandbox.removeStandby(dirB, &error), qPrintable(error));

        // An add-standby killed during its copy: the next add removes the half-made folder, ends
        // pg_basebackup's WAL streamer that outlived it and drops the slot it held (which
        // would keep WAL for ever), then makes its own standby.
        // Ballast, so that the copy outlasts the moment it is killed at (a sandbox this small
        // is copied in a fraction of a second: the add-standby could finish first).
        {
            Connection c;
            QVERIFY(!c.open(sandbox.connInfo()));
            QVERIFY(c.exec(u"CREATE TABLE tst_sandbox_ballast AS SELECT repeat(md5(i::text), 30) AS x FROM generate_series(1, 200000) i"_s).ok());
        }
        QProcess killed;
        killed.start(qEnvironmentVariable("HTAP_TEST_BINDIR") + u"/htapctl"_s, {u"sandbox"_s, u"add-standby"_s, u"--dir"_s, m_dir});
        QVERIFY(killed.waitForStarted());
        const auto copying = [this] {
            QFile meta(m_dir + u"/sandbox.json"_s);
            return meta.open(QIODevice::ReadOnly) && meta.readAll().contains("\"copying\"");
        };
        QElapsedTimer waited;
        waited.start();
        while (!copying() && killed.state() == QProcess::Running && waited.elapsed() < 60000)
            QThread::msleep(5);
        QVERIFY2(copying(), "the copy was not seen under way");
        QThread::msleep(200);
        QVERIFY2(copying(), "the copy ended before it could be killed");
        ::kill(pid_t(killed.processId()), SIGKILL);
        QVERIFY(killed.waitForFinished());
        {
            Connection c;
            QVERIFY(!c.open(sandbox.connInfo()));
            QVERIFY(c.exec(u"DROP TABLE tst_sandbox_ballast"_s).ok());
        }
        const QString half = m_dir + u"-standby2"_s;
        QVERIFY(QFileInfo::exists(half + u"/data"_s));
        {
            // While another process works on the sandbox (an add-standby copying holds its
            // lock), destroy neither settles that copy nor deletes anything: it says so.
            QLockFile busy(m_dir + u"/.lock"_s);
            QVERIFY(busy.tryLock(0));
            Sandbox impatient(m_dir);
            impatient.setLockWait(300);
            QString refused;
            QVERIFY(!impatient.destroy(&refused));
            QVERIFY2(refused.contains(u"nothing was deleted"_s), qPrintable(refused));
            QVERIFY(QFileInfo::exists(m_dir + u"/data/PG_VERSION"_s));
            QVERIFY(QFileInfo::exists(half + u"/data"_s));
            QVERIFY(copying());
            QCOMPARE(sandbox.status().standbys.size(), 1); // the first standby is there still
        }
        QStringList again;
        QString next;
        QVERIFY2(sandbox.addStandby(&next, 0, false, [&](const QString& s) { again << s; }, &error), qPrintable(error));
        QVERIFY2(again.join(u'\n').contains(u"removed the half-made standby copy in %1"_s.arg(half)), qPrintable(again.join(u'\n')));
        QCOMPARE(next, half); // its folder free again
        QVERIFY(!copying());
        QVERIFY(!primary.open(sandbox.connInfo()));
        QTRY_COMPARE_WITH_TIMEOUT(primary.exec(u"SELECT count(*) FROM pg_replication_slots"_s).toInt64(0, 0), 2, 10000);
        QCOMPARE(primary.exec(u"SELECT count(*) FROM pg_stat_replication"_s).toInt64(0, 0), 2); // no streamer of the killed copy
        primary.close();
        QVERIFY2(sandbox.removeStandby(next, &error), qPrintable(error));

        QVERIFY2(sandbox.removeStandby(dir, &error), qPrintable(error));
        QVERIFY(!QFileInfo::exists(dir));
        QVERIFY(sandbox.status().standbys.isEmpty());
        QVERIFY(!primary.open(sandbox.connInfo()));
        QCOMPARE(primary.exec(u"SELECT count(*) FROM pg_replication_slots"_s).toInt64(0, 0), 0);
    }

    void theServerSaysWhetherItIsTheSandbox()
    {
        // Loads run without asking only on a sandbox of this machine, and it is the server's
        // system identifier that says so, not a conninfo whose host looks like the sandbox's
        // socket while hostaddr and port lead to another server.
        Sandbox ours(m_dir);
        QString error;
        QVERIFY2(ours.start(0, 0.01, {}, &error), qPrintable(error));
        const QString foreignDir = htap::test::scratchDir(u"foreign"_s);
        Sandbox(foreignDir).destroy(&error);
        Sandbox foreign(foreignDir);
        QVERIFY2(foreign.start(0, 0.01, {}, &error), qPrintable(error));
        const int foreignPort = foreign.status().port;
        {
            Connection admin;
            QVERIFY(!admin.open(foreign.connInfo()));
            QVERIFY(admin.runScript(u"ALTER ROLE postgres PASSWORD 'tst-foreign'"_s).ok());
        }
        // Without our metadata the foreign cluster is just a PostgreSQL server of this machine.
        QVERIFY(QFile::rename(foreignDir + u"/sandbox.json"_s, foreignDir + u"/sandbox.json.hidden"_s));
        auto restore = qScopeGuard([&] {
            QFile::rename(foreignDir + u"/sandbox.json.hidden"_s, foreignDir + u"/sandbox.json"_s);
            QString e;
            Sandbox(foreignDir).destroy(&e);
        });

        Connection c;
        QString which;
        QVERIFY(!c.open(ours.connInfo()));
        QVERIFY(Sandbox::isSandboxServer(c, &which));
        QCOMPARE(which, m_dir);
        c.close();
        QVERIFY(!c.open(htap::pg::ConnInfo::parse(u"host=127.0.0.1 port=%1 dbname=shop user=postgres password=tst-foreign"_s.arg(foreignPort), nullptr)));
        QVERIFY(!Sandbox::isSandboxServer(c));
        c.close();
        const QString spoof = u"host=%1/run hostaddr=127.0.0.1 port=%2 dbname=shop user=postgres password=tst-foreign"_s.arg(
            m_dir, QString::number(foreignPort));
        QVERIFY(!c.open(htap::pg::ConnInfo::parse(spoof, nullptr)));
        QVERIFY(!Sandbox::isSandboxServer(c));
        c.close();

        // The command line refuses a load there without the database's name, and runs it with it.
        QProcess p;
        p.start(qEnvironmentVariable("HTAP_TEST_BINDIR") + u"/htapctl"_s,
            {u"scenario"_s, u"run"_s, u"smoke"_s, u"--duration-scale"_s, u"0.05"_s, u"--conn"_s, spoof});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 2);
        QVERIFY2(p.readAllStandardError().contains("is not a sandbox of this machine"), "refused, and why");
    }

    void runningSandboxRefusesAnotherPort()
    {
        Sandbox sandbox(m_dir);
        QString error;
        QVERIFY(!sandbox.start(sandbox.status().port + 1, 1, {}, &error));
        QVERIFY2(error.contains(u"already running on port"_s), qPrintable(error));
    }

    void takenPortIsRefusedBeforeAnythingIsMade()
    {
        QTcpServer squatter;
        QVERIFY(squatter.listen(QHostAddress::LocalHost));
        const QString dir = htap::test::scratchDir(u"taken-port"_s);
        QDir(dir).removeRecursively();
        Sandbox sandbox(dir);
        QString error;
        QVERIFY(!sandbox.start(squatter.serverPort(), 0.01, {}, &error));
        QVERIFY2(error.contains(u"port %1 on 127.0.0.1 is already in use"_s.arg(squatter.serverPort())), qPrintable(error));
        QVERIFY(!QFileInfo::exists(dir)); // the folder it made for nothing is gone again
    }

    void unusableFolders_data()
    {
        QTest::addColumn<QString>("dir");
        QTest::addColumn<QString>("messagePart");
        QTest::newRow("below a file") << u"/dev/null/sandbox"_s << u"cannot create sandbox folder /dev/null/sandbox: Not a directory"_s;
        QTest::newRow("a file") << u"/dev/null"_s << u"is not a folder"_s;
        QTest::newRow("not empty, not ours") << htap::test::scratchDir(u"not-ours"_s) << u"is not empty and is not an HTAP Studio sandbox"_s;
        QTest::newRow("someone else's cluster") << htap::test::scratchDir(u"lifecycle"_s) + u"/data"_s
                                                << u"holds a PostgreSQL data directory that is not an HTAP Studio sandbox"_s;
        QTest::newRow("too long for a socket") << u"/tmp/"_s + QString(120, u'x') << u"too long for a unix socket"_s;
    }
    void unusableFolders()
    {
        QFETCH(QString, dir);
        QFETCH(QString, messagePart);
        if (dir.endsWith(u"not-ours"_s)) {
            QDir().mkpath(dir);
            QFile f(dir + u"/precious.txt"_s);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("keep me");
        }
        QString error;
        QVERIFY(!Sandbox(dir).start(0, 0.01, {}, &error));
        QVERIFY2(error.contains(messagePart), qPrintable(error));
        QVERIFY(!error.contains(u'\n'));
        if (dir.endsWith(u"not-ours"_s)) {
            QVERIFY(QFileInfo::exists(dir + u"/precious.txt"_s)); // nothing lost
            QVERIFY(!Sandbox(dir).destroy(&error));
            QVERIFY2(error.contains(u"not an HTAP Studio sandbox"_s), qPrintable(error));
            QVERIFY(QFileInfo::exists(dir + u"/precious.txt"_s));
            QDir(dir).removeRecursively();
        }
    }

    void aFileNamedLikeOurMetadataIsNotASandbox()
    {
        // Someone's own project with a sandbox.json must never be taken for ours, nor deleted.
        const QString dir = htap::test::scratchDir(u"lookalike"_s);
        QDir(dir).removeRecursively();
        QDir().mkpath(dir + u"/src"_s);
        QFile meta(dir + u"/sandbox.json"_s);
        QVERIFY(meta.open(QIODevice::WriteOnly));
        meta.write(R"({"name": "my project", "port": 1})");
        meta.close();
        QString error;
        QVERIFY(!Sandbox(dir).destroy(&error));
        QVERIFY2(error.contains(u"not an HTAP Studio sandbox"_s), qPrintable(error));
        QVERIFY(!Sandbox(dir).start(0, 0.01, {}, &error));
        QVERIFY2(error.contains(u"is not empty and is not an HTAP Studio sandbox"_s), qPrintable(error));
        QVERIFY(QFileInfo::exists(dir + u"/src"_s));
        QVERIFY(!Sandbox(dir).status().initialized);
        QDir(dir).removeRecursively();
    }

    void shellCharactersInTheFolderAreRefused()
    {
        QString error;
        QVERIFY(!Sandbox(htap::test::scratchDir(u"it's $HOME"_s)).start(0, 0.01, {}, &error));
        QVERIFY2(error.contains(u"has a quote"_s), qPrintable(error));
    }

    void invalidScale()
    {
        QString error;
        QVERIFY(!Sandbox(m_dir).start(0, 0, {}, &error));
        QVERIFY2(error.contains(u"invalid scale"_s), qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestSandbox)
#include "tst_sandbox.moc"
