// Integration tests of the libpq layer against the real sandbox cluster.
#include "testutil.h"

#include <pg/identifier.h>

#include <QTcpServer>

#include <poll.h>

#include <thread>

using namespace Qt::StringLiterals;
using htap::pg::ConnInfo;
using htap::pg::Connection;
using htap::pg::PgError;

class TestConnection : public QObject
{
    Q_OBJECT
private:
    ConnInfo m_info;
    Connection m_admin;

    /// The sandbox over TCP on 127.0.0.1 (where passwords are required), as a given role.
    ConnInfo tcpAs(const QString& user, const QString& password, const QString& db = u"shop"_s) const
    {
        ConnInfo i = ConnInfo().with(u"host"_s, u"127.0.0.1"_s).with(u"port"_s, m_info.value(u"port"_s))
                         .with(u"dbname"_s, db).with(u"user"_s, user);
        return password.isEmpty() ? i : i.with(u"password"_s, password);
    }

    /// A listener that completes the TCP handshake but never answers: the unreachable-host case,
    /// on loopback.
    static ConnInfo silentAt(const QTcpServer& server)
    {
        return ConnInfo().with(u"host"_s, u"127.0.0.1"_s).with(u"port"_s, QString::number(server.serverPort()));
    }

    /// Waits (up to 10 s) for the results of what was sent without blocking, as the scenario
    /// runner's threads do: poll the socket, read, take.
    static bool waitForResults(Connection& c, QList<htap::pg::Result>* results)
    {
        for (int i = 0; i < 100; ++i) {
            pollfd fd {c.socket(), POLLIN, 0};
            if (c.socket() >= 0)
                poll(&fd, 1, 100);
            c.consumeInput();
            if (c.takeResults(results))
                return true;
        }
        return false;
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_info = htap::test::sandboxConnInfo();
        const PgError e = m_admin.open(m_info, {10000, u"tst_connection admin"_s});
        QVERIFY2(!e, qPrintable(e.oneLine()));
    }

    void connectsAndNamesItself()
    {
        Connection c;
        QVERIFY(!c.open(m_info, {5000, u"tst app name"_s}));
        QVERIFY(c.isOpen());
        QCOMPARE(c.serverVersionNum() / 10000, 15);
        QVERIFY(c.backendPid() > 0);
        const auto r = m_admin.exec(u"SELECT application_name FROM pg_stat_activity WHERE pid = $1"_s, {c.backendPid()});
        QVERIFY(r.ok());
        QCOMPARE(r.text(0, 0), u"tst app name"_s);
        QCOMPARE(c.effectiveInfo().value(u"dbname"_s), u"shop"_s);
    }

    void boundParameters()
    {
        // Values travel as parameters, never spliced: quotes and semicolons come back unchanged.
        const QString nasty = u"O'Brien\"; DROP TABLE orders; --"_s;
        const auto r = m_admin.exec(u"SELECT $1::text AS t, $2::int + 1 AS n, $3::text IS NULL AS isnull, $4::bool AS b, $5::numeric * 2 AS d"_s,
            {nasty, 41, QVariant(), true, 1.25});
        QVERIFY2(r.ok(), qPrintable(r.error().oneLine()));
        QCOMPARE(r.rowCount(), 1);
        QCOMPARE(r.text(0, u"t"_s), nasty);
        QCOMPARE(r.toInt64(0, u"n"_s), 42);
        QVERIFY(r.toBool(0, u"isnull"_s));
        QVERIFY(r.toBool(0, u"b"_s));
        QCOMPARE(r.toDouble(0, u"d"_s), 2.5);
        QVERIFY(m_admin.exec(u"SELECT count(*) FROM orders"_s).toInt64(0, 0) > 0);
    }

    void pipelinePreparesStatements()
    {
        // A setting and two statements prepared in one round trip, then used; a statement that
        // does not prepare fails with its SQLSTATE and the text, and what follows it is not run.
        Connection c;
        QVERIFY(!c.open(m_info));
        const QList<htap::pg::Result> ok = c.execPipeline({{u"SELECT set_config('application_name', $1, false)"_s, {u"pipelined"_s}, false},
            {u"SELECT $1::int * 2"_s, {}, false, u"twice"_s}, {u"SELECT $1::text || '!'"_s, {}, false, u"Loud \"Name\""_s}});
        QCOMPARE(ok.size(), 3);
        for (const htap::pg::Result& r : ok)
            QVERIFY2(r.ok(), qPrintable(r.error().oneLine()));
        QCOMPARE(c.execPrepared(u"twice"_s, {21}).toInt64(0, 0), 42);
        QCOMPARE(c.execPrepared(u"Loud \"Name\""_s, {u"hi"_s}).text(0, 0), u"hi!"_s);
        QCOMPARE(c.exec(u"SHOW application_name"_s).text(0, 0), u"pipelined"_s);

        const QList<htap::pg::Result> bad = c.execPipeline({{u"SELECT * FROM no_such_table"_s, {}, false, u"bad"_s},
            {u"SELECT 1"_s, {}, false, u"after"_s}});
        QCOMPARE(bad.size(), 2);
        QCOMPARE(bad[0].error().sqlstate, u"42P01"_s);
        QVERIFY(bad[0].error().query.contains(u"no_such_table"_s));
        QVERIFY(bad[1].error().message.contains(u"not run"_s));
        QVERIFY(!c.execPrepared(u"after"_s).ok()); // never prepared
        QCOMPARE(c.exec(u"SELECT 5"_s).toInt64(0, 0), 5); // out of pipeline mode, usable

        // The non-blocking form refuses to prepare rather than run the text as a name.
        QVERIFY(c.setNonBlocking(true));
        const htap::pg::PgError refused = c.sendPipeline({{u"SELECT 1"_s, {}, false, u"x"_s}});
        QVERIFY(refused.isError());
        QVERIFY(!c.hasPending());
    }

    void cachedStatementsArePreparedOnceASessionAndTagged()
    {
        // The collector's statements: parsed and planned once a session, tagged so that
        // pg_stat_statements says whose they are.
        Connection c;
        QVERIFY(!c.open(m_info, {10000, u"tst cached"_s}));
        c.setStatementTag(u"/* tst tag */\n"_s);
        const QString sql = u"SELECT count(*) FROM pg_class WHERE relname = $1 /* tst_connection cached */"_s;
        for (int i = 0; i < 3; ++i) {
            const auto r = c.execCached(sql, {u"pg_class"_s});
            QVERIFY2(r.ok(), qPrintable(r.error().oneLine()));
            QCOMPARE(r.toInt64(0, 0), 1);
        }
        auto prepared = [&c] { return c.exec(u"SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%tst_connection cached%'"_s).toInt64(0, 0); };
        QCOMPARE(prepared(), 1);
        const auto stored = m_admin.exec(u"SELECT query FROM pg_stat_statements WHERE query LIKE '%tst_connection cached%'"_s);
        QVERIFY(stored.rowCount() >= 1);
        QVERIFY2(stored.text(0, 0).startsWith(u"/* tst tag */"_s), qPrintable(stored.text(0, 0)));
        // An error quotes the statement as written, without the tag.
        const auto bad = c.execCached(u"SELECT * FROM tst_no_such_table"_s);
        QVERIFY(!bad.ok());
        QCOMPARE(bad.error().query, u"SELECT * FROM tst_no_such_table"_s);

        // A new session prepares again.
        QVERIFY(!c.open(m_info, {10000, u"tst cached"_s}));
        QCOMPARE(prepared(), 0);
        QVERIFY(c.execCached(sql, {u"pg_class"_s}).ok());
        QCOMPARE(prepared(), 1);

        // A table made again with other columns: the prepared form fails at most once, then the
        // statement is prepared anew.
        QVERIFY(c.runScript(u"DROP TABLE IF EXISTS tst_cached; CREATE TABLE tst_cached (a int); INSERT INTO tst_cached VALUES (1)"_s).ok());
        const QString read = u"SELECT * FROM tst_cached"_s;
        QCOMPARE(c.execCached(read).columnCount(), 1);
        QVERIFY(c.runScript(u"DROP TABLE tst_cached; CREATE TABLE tst_cached (a int, b text); INSERT INTO tst_cached VALUES (1, 'x')"_s).ok());
        c.execCached(read); // may fail: "cached plan must not change result type"
        const auto again = c.execCached(read);
        QVERIFY2(again.ok(), qPrintable(again.error().oneLine()));
        QCOMPARE(again.columnCount(), 2);
        QVERIFY(c.runScript(u"DROP TABLE tst_cached"_s).ok());
    }

    void resultIsAValueThatOutlivesItsThread()
    {
        htap::pg::Result r;
        std::thread([&] {
            Connection c;
            QVERIFY(!c.open(m_info));
            r = c.exec(u"SELECT generate_series(1, 3) AS n"_s);
        }).join();
        QCOMPARE(r.rowCount(), 3);
        QCOMPARE(r.toInt64(2, u"n"_s), 3);
        QCOMPARE(r.column(u"nope"_s), -1);
        QVERIFY(r.isNull(9, 0));
    }

    void errorCarriesSqlstate_data()
    {
        QTest::addColumn<QString>("sql");
        QTest::addColumn<QString>("sqlstate");
        QTest::addColumn<QString>("messagePart");
        QTest::newRow("undefined table") << u"SELECT * FROM no_such_table"_s << u"42P01"_s << u"no_such_table"_s;
        QTest::newRow("division by zero") << u"SELECT 1/0"_s << u"22012"_s << u"division by zero"_s;
        QTest::newRow("syntax") << u"SELEC 1"_s << u"42601"_s << u"syntax error"_s;
        QTest::newRow("check violation") << u"UPDATE inventory SET quantity = -1 WHERE product_id = 1"_s << u"23514"_s
                                         << u"inventory_quantity_check"_s;
    }
    void errorCarriesSqlstate()
    {
        QFETCH(QString, sql);
        QFETCH(QString, sqlstate);
        QFETCH(QString, messagePart);
        const auto r = m_admin.exec(sql);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().kind, PgError::Kind::Server);
        QCOMPARE(r.error().sqlstate, sqlstate);
        QCOMPARE(r.error().severity, u"ERROR"_s);
        QCOMPARE(r.error().query, sql);
        QVERIFY2(r.error().message.contains(messagePart), qPrintable(r.error().message));
        QVERIFY(m_admin.exec(u"SELECT 1"_s).ok()); // the connection is still usable
    }

    void errorCarriesDetailAndHint()
    {
        const auto r = m_admin.exec(u"DO $$ BEGIN RAISE EXCEPTION 'stock short' USING DETAIL = 'product 7', HINT = 'restock', ERRCODE = 'P0001'; END $$"_s);
        QCOMPARE(r.error().sqlstate, u"P0001"_s);
        QCOMPARE(r.error().detail, u"product 7"_s);
        QCOMPARE(r.error().hint, u"restock"_s);
        QVERIFY(r.error().fullText().contains(u"Hint: restock"_s));
    }

    void cancelsARunningStatement()
    {
        Connection c;
        QVERIFY(!c.open(m_info));
        auto canceller = c.canceller();
        htap::pg::Result r;
        std::thread worker([&] { r = c.exec(u"SELECT pg_sleep(60)"_s); });
        // Cancel once the statement is visibly running.
        QTRY_VERIFY_WITH_TIMEOUT(m_admin.exec(u"SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'"_s).rowCount() == 1, 10000);
        QString error;
        QVERIFY2(canceller->cancel(&error), qPrintable(error));
        worker.join();
        QVERIFY(!r.ok());
        QCOMPARE(r.error().kind, PgError::Kind::Cancelled);
        QCOMPARE(r.error().sqlstate, u"57014"_s);
        QVERIFY(c.exec(u"SELECT 1"_s).ok());
    }

    void passwordsAndQuotedRoleNames()
    {
        // A role whose name needs quoting; the password goes in as a bound value via format().
        const QString role = u"Odd \"Role\" Name"_s;
        const QString password = u"pa ss'word"_s;
        m_admin.exec(u"DROP ROLE IF EXISTS "_s + htap::pg::quoteIdentifier(role));
        const auto make = m_admin.exec(u"SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', $1::text, $2::text)"_s, {role, password});
        QVERIFY(make.ok());
        QVERIFY2(m_admin.runScript(make.text(0, 0)).ok(), "create role");

        Connection good;
        const PgError ok = good.open(tcpAs(role, password));
        QVERIFY2(!ok, qPrintable(ok.oneLine()));
        QCOMPARE(good.exec(u"SELECT current_user"_s).text(0, 0), role);
        good.close();

        Connection bad;
        const PgError wrong = bad.open(tcpAs(role, u"wrong"_s));
        QCOMPARE(wrong.kind, PgError::Kind::Connection);
        QVERIFY2(wrong.oneLine().contains(u"password authentication failed"_s), qPrintable(wrong.oneLine()));
        QVERIFY(!wrong.oneLine().contains(u'\n'));

        Connection none;
        const PgError missing = none.open(tcpAs(role, QString()).with(u"passfile"_s, u"/nonexistent"_s));
        QVERIFY(missing.isError());
        QVERIFY(none.neededPassword());
        m_admin.exec(u"DROP ROLE "_s + htap::pg::quoteIdentifier(role));
    }

    void badTargets_data()
    {
        QTest::addColumn<QString>("conninfo");
        QTest::addColumn<bool>("onSandbox"); // merge onto the sandbox's host and port
        QTest::addColumn<QString>("messagePart");
        QTest::newRow("database does not exist") << u"dbname=no_such_db"_s << true << u"database \"no_such_db\" does not exist"_s;
        QTest::newRow("role does not exist") << u"user=no_such_role"_s << true << u"role \"no_such_role\" does not exist"_s;
        QTest::newRow("closed port") << u"host=127.0.0.1 port=1"_s << false << u"Connection refused"_s;
        QTest::newRow("unknown host") << u"host=no-such-host.invalid"_s << false << u"no-such-host.invalid"_s;
    }
    void badTargets()
    {
        QFETCH(QString, conninfo);
        QFETCH(bool, onSandbox);
        QFETCH(QString, messagePart);
        QString error;
        const ConnInfo given = ConnInfo::parse(conninfo, &error);
        QVERIFY(error.isEmpty());
        ConnInfo info = onSandbox ? m_info : given;
        if (onSandbox)
            for (const auto& [k, v] : given.options())
                info = info.with(k, v);
        Connection c;
        const PgError e = c.open(info, {5000});
        QCOMPARE(e.kind, PgError::Kind::Connection);
        QVERIFY2(e.message.contains(messagePart), qPrintable(e.message));
        QVERIFY(!c.isOpen());
        QCOMPARE(c.exec(u"SELECT 1"_s).error().kind, PgError::Kind::Usage);
    }

    void silentServerTimesOut()
    {
        // The connect must give up at its own deadline.
        QTcpServer silent;
        QVERIFY(silent.listen(QHostAddress::LocalHost));
        Connection c;
        const PgError e = c.open(silentAt(silent), {1500});
        QCOMPARE(e.kind, PgError::Kind::Timeout);
        QVERIFY2(e.message.contains(u"timed out after 1.5 s"_s), qPrintable(e.message));
    }

    void connectTimeoutFromConnInfo()
    {
        QTcpServer silent;
        QVERIFY(silent.listen(QHostAddress::LocalHost));
        Connection c;
        const PgError e = c.open(silentAt(silent).with(u"connect_timeout"_s, u"2"_s), {60000});
        QCOMPARE(e.kind, PgError::Kind::Timeout);
        QVERIFY2(e.message.contains(u"timed out after 2 s connecting to 127.0.0.1:"_s), qPrintable(e.message));
    }

    void connectCanBeAborted()
    {
        QTcpServer silent;
        QVERIFY(silent.listen(QHostAddress::LocalHost));
        std::atomic<bool> abort {false};
        std::thread stopper([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            abort = true;
        });
        Connection c;
        const PgError e = c.open(silentAt(silent), {60000}, [&] { return abort.load(); });
        stopper.join();
        QCOMPARE(e.kind, PgError::Kind::Cancelled);
    }

    void lostConnectionIsReported()
    {
        Connection victim;
        QVERIFY(!victim.open(m_info));
        QVERIFY(m_admin.exec(u"SELECT pg_terminate_backend($1)"_s, {victim.backendPid()}).toBool(0, 0));
        QTRY_VERIFY(m_admin.exec(u"SELECT 1 FROM pg_stat_activity WHERE pid = $1"_s, {victim.backendPid()}).rowCount() == 0);
        const auto r = victim.exec(u"SELECT 1"_s);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().kind, PgError::Kind::Connection);
        QVERIFY(!victim.isOpen());
    }

    void nonBlockingCommands()
    {
        Connection c;
        QVERIFY(!c.open(m_info));
        QVERIFY(c.setNonBlocking(true));
        QVERIFY(c.socket() >= 0);
        QVERIFY(c.prepare(u"add"_s, u"SELECT $1::int + $2::int"_s).ok());

        // A prepared statement with bound values.
        QVERIFY(!c.sendPrepared(u"add"_s, {40, 2}));
        QVERIFY(c.hasPending());
        QVERIFY2(c.sendScript(u"SELECT 1"_s).isError(), "one command at a time");
        QList<htap::pg::Result> results;
        QVERIFY(waitForResults(c, &results));
        QCOMPARE(results.size(), 1);
        QCOMPARE(results[0].toInt64(0, 0), 42);
        QVERIFY(!c.hasPending());

        // A script: its last result; a failure stops it and is the answer.
        QVERIFY(!c.sendScript(u"SELECT 1; SELECT 2"_s));
        QVERIFY(waitForResults(c, &results));
        QCOMPARE(results.size(), 1);
        QCOMPARE(results[0].toInt64(0, 0), 2);
        QVERIFY(!c.sendScript(u"SELECT 1/0; SELECT 3"_s));
        QVERIFY(waitForResults(c, &results));
        QCOMPARE(results.size(), 1);
        QCOMPARE(results[0].error().sqlstate, u"22012"_s);

        // A pipeline: one result per step; after a failure the rest are "not run".
        const QList<Connection::PipelineStep> steps {{u"add"_s, {1, 1}, true}, {u"SELECT 1/0"_s, {}, false}, {u"add"_s, {2, 2}, true}};
        QVERIFY(!c.sendPipeline(steps));
        QVERIFY(waitForResults(c, &results));
        QCOMPARE(results.size(), 3);
        QCOMPARE(results[0].toInt64(0, 0), 2);
        QCOMPARE(results[1].error().sqlstate, u"22012"_s);
        QVERIFY(!results[2].ok());
        QVERIFY(results[2].error().message.contains(u"not run"_s));
        // The connection is usable again, out of pipeline mode.
        QVERIFY(!c.sendPipeline({{u"add"_s, {3, 4}, true}}));
        QVERIFY(waitForResults(c, &results));
        QCOMPARE(results.value(0).toInt64(0, 0), 7);
        QCOMPARE(c.exec(u"SELECT 5"_s).toInt64(0, 0), 5);
    }

    void nonBlockingCommandOnALostConnection()
    {
        // The backend ends while its statement runs: the answer is a connection error, not a hang.
        Connection c;
        QVERIFY(!c.open(m_info));
        QVERIFY(c.setNonBlocking(true));
        QVERIFY(!c.sendScript(u"SELECT pg_sleep(30)"_s));
        QTRY_VERIFY(m_admin.exec(u"SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'PgSleep'"_s, {c.backendPid()}).rowCount() == 1);
        QVERIFY(m_admin.exec(u"SELECT pg_terminate_backend($1)"_s, {c.backendPid()}).toBool(0, 0));
        QList<htap::pg::Result> results;
        QVERIFY(waitForResults(c, &results));
        QCOMPARE(results.size(), 1);
        QVERIFY(!results[0].ok());
        QVERIFY(!c.isOpen());
        QVERIFY(!c.hasPending());

        // The same in a pipeline: every step answers.
        Connection p;
        QVERIFY(!p.open(m_info));
        QVERIFY(p.setNonBlocking(true));
        QVERIFY(!p.sendPipeline({{u"SELECT pg_sleep(30)"_s, {}, false}, {u"SELECT 1"_s, {}, false}}));
        QTRY_VERIFY(m_admin.exec(u"SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'PgSleep'"_s, {p.backendPid()}).rowCount() == 1);
        QVERIFY(m_admin.exec(u"SELECT pg_terminate_backend($1)"_s, {p.backendPid()}).toBool(0, 0));
        QVERIFY(waitForResults(p, &results));
        QCOMPARE(results.size(), 2);
        QVERIFY(!results[0].ok());
        QVERIFY(!results[1].ok());
        QVERIFY(!p.isOpen());
    }
};

QTEST_GUILESS_MAIN(TestConnection)
#include "tst_connection.moc"
