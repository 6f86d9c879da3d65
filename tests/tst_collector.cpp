// The activity collector against the sandbox: samples arrive on its own thread as values,
// rates use the real elapsed time, counter resets drop the baseline, failures become states.
#include "freezableproxy.h"
#include "testutil.h"

#include <monitor/activitycollector.h>

#include <QPointer>
#include <QThread>

using namespace Qt::StringLiterals;
using namespace htap::monitor;
using htap::test::FreezableProxy;

namespace {
/// The sandbox through proxy, as a password role (the relay is TCP, not the private socket).
htap::pg::ConnInfo throughProxy(const FreezableProxy& proxy, const QString& user)
{
    return htap::pg::ConnInfo()
        .with(u"host"_s, u"127.0.0.1"_s)
        .with(u"port"_s, QString::number(proxy.port()))
        .with(u"dbname"_s, u"shop"_s)
        .with(u"user"_s, user)
        .with(u"password"_s, u"proxy-secret"_s);
}

/// A pg_monitor login with throughProxy's password (the relay is TCP, where passwords apply).
void createProxyRole(htap::pg::Connection& admin, const QString& role)
{
    admin.runScript(u"DROP ROLE IF EXISTS %1; CREATE ROLE %1 LOGIN PASSWORD 'proxy-secret' IN ROLE pg_monitor"_s.arg(role));
}
} // namespace

class TestCollector : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        qRegisterMetaType<ActivitySample>();
    }

    void samplesWithRates()
    {
        // The count below is exact: no autovacuum worker may commit meanwhile (after the IVM
        // tests it has many tables to get to, a transaction each). A VACUUM ANALYZE leaves it
        // nothing to do; switching autovacuum off instead made it rush at the next test.
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        QVERIFY(admin.exec(u"VACUUM (ANALYZE)"_s).ok());
        QTRY_COMPARE_WITH_TIMEOUT(
            admin.exec(u"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"_s).toInt64(0, 0), 0, 30000);
        admin.close();
        ActivityCollector collector;
        collector.setInterval(300);
        QSignalSpy samples(&collector, &ActivityCollector::activityAvailable);
        QSignalSpy connected(&collector, &ActivityCollector::connected);
        collector.connectTo(htap::test::sandboxConnInfo());
        QTRY_COMPARE_WITH_TIMEOUT(connected.size(), 1, 10000);
        QCOMPARE(collector.state(), ConnectionState::Connected);
        QCOMPARE(collector.server().versionNum / 10000, 15);

        // Commit some transactions from another session while it samples.
        htap::pg::Connection load;
        QVERIFY(!load.open(htap::test::sandboxConnInfo()));
        QTRY_VERIFY_WITH_TIMEOUT(samples.size() >= 1, 10000);
        // Statements that read a table: a backend that touched none may keep its count to itself
        // (pgstat_report_stat has nothing to flush).
        for (int i = 0; i < 200; ++i)
            load.exec(u"SELECT 1 FROM dim_products LIMIT 1"_s);
        load.exec(u"SELECT pg_stat_force_next_flush()"_s);
        load.close();
        // The other session's statistics reach pg_stat_database when it flushes them (at exit at
        // the latest), so wait until the rates add up to what it committed.
        auto committedSoFar = [&] {
            double committed = 0;
            for (qsizetype i = 1; i < samples.size(); ++i) {
                const auto s = samples.at(i).at(0).value<ActivitySample>();
                committed += s.hasRates ? s.commitsPerSecond * s.elapsedSeconds : 0;
            }
            return committed;
        };
        QTRY_VERIFY_WITH_TIMEOUT(committedSoFar() >= 195, 15000);
        // The monitor's own statements (about ten a sample) are not in the count: 200, and the
        // load's connect and pg_stat_force_next_flush, not 200 plus the monitor's hundreds.
        QTest::qWait(1500);
        QVERIFY2(committedSoFar() < 215, qPrintable(QString::number(committedSoFar())));

        const auto first = samples.at(0).at(0).value<ActivitySample>();
        QVERIFY(!first.hasRates); // a baseline only
        for (qsizetype i = 1; i < samples.size(); ++i) {
            const auto s = samples.at(i).at(0).value<ActivitySample>();
            QVERIFY(s.hasRates);
            QVERIFY(s.elapsedSeconds > 0.1 && s.elapsedSeconds < 5);
            QVERIFY(s.sampledAt > samples.at(i - 1).at(0).value<ActivitySample>().sampledAt);
        }
    }

    void counterResetDropsTheBaseline()
    {
        ActivityCollector collector;
        collector.setInterval(300);
        QSignalSpy samples(&collector, &ActivityCollector::activityAvailable);
        collector.connectTo(htap::test::sandboxConnInfo());
        QTRY_VERIFY_WITH_TIMEOUT(samples.size() >= 2, 10000);
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        QVERIFY(admin.exec(u"SELECT pg_stat_reset()"_s).ok());
        const auto before = samples.size();
        QTRY_VERIFY_WITH_TIMEOUT(samples.size() >= before + 2, 10000);
        bool sawBaseline = false;
        for (auto i = before; i < samples.size(); ++i) {
            const auto s = samples.at(i).at(0).value<ActivitySample>();
            sawBaseline |= !s.hasRates;
            QVERIFY(!s.hasRates || s.commitsPerSecond >= 0);
        }
        QVERIFY(sawBaseline);
    }

    void failedConnectIsAState()
    {
        ActivityCollector collector;
        QSignalSpy errors(&collector, &ActivityCollector::errorOccurred);
        QSignalSpy states(&collector, &ActivityCollector::stateChanged);
        collector.connectTo(htap::pg::ConnInfo().with(u"host"_s, u"127.0.0.1"_s).with(u"port"_s, u"1"_s));
        QTRY_COMPARE_WITH_TIMEOUT(collector.state(), ConnectionState::Failed, 10000);
        QCOMPARE(errors.size(), 1);
        QVERIFY(errors.at(0).at(0).value<htap::pg::PgError>().message.contains(u"Connection refused"_s));
    }

    void lostConnectionReconnects()
    {
        ActivityCollector collector;
        collector.setInterval(200);
        QSignalSpy states(&collector, &ActivityCollector::stateChanged);
        QSignalSpy connected(&collector, &ActivityCollector::connected);
        collector.connectTo(htap::test::sandboxConnInfo());
        QTRY_COMPARE_WITH_TIMEOUT(connected.size(), 1, 10000);
        const int pid = collector.server().backendPid;
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        QVERIFY(admin.exec(u"SELECT pg_terminate_backend($1)"_s, {pid}).ok());
        QTRY_COMPARE_WITH_TIMEOUT(connected.size(), 2, 15000);
        bool sawReconnecting = false;
        for (const auto& args : std::as_const(states))
            sawReconnecting |= args.at(0).value<ConnectionState>() == ConnectionState::Reconnecting;
        QVERIFY(sawReconnecting);
        QVERIFY(collector.server().backendPid != pid);
        QCOMPARE(collector.state(), ConnectionState::Connected);
    }

    void aSilentServerIsShownAsNotResponding()
    {
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        createProxyRole(admin, u"tst_proxy"_s);
        FreezableProxy proxy(quint16(htap::test::sandboxConnInfo().value(u"port"_s).toInt()));
        ActivityCollector collector;
        collector.setInterval(250);
        QList<QPair<ConnectionState, qint64>> states;
        QElapsedTimer clock;
        clock.start();
        connect(&collector, &ActivityCollector::stateChanged, this,
            [&](ConnectionState st, const QString&) { states.append({st, clock.elapsed()}); });
        QSignalSpy samples(&collector, &ActivityCollector::sampleAvailable);
        collector.connectTo(throughProxy(proxy, u"tst_proxy"_s));
        QTRY_VERIFY_WITH_TIMEOUT(samples.size() >= 2, 10000);
        const qint64 frozenAt = clock.elapsed();
        proxy.setFrozen(true);
        QTRY_COMPARE_WITH_TIMEOUT(collector.state(), ConnectionState::NotResponding, 5000);
        // The watchdog fires at 2 s by construction; the delay is reported, not asserted (no
        // timed tests: a loaded CI box may be slower).
        qInfo("not responding noticed %lld ms after the freeze", states.last().second - frozenAt);
        proxy.setFrozen(false);
        QTRY_COMPARE_WITH_TIMEOUT(collector.state(), ConnectionState::Connected, 10000);
        const auto before = samples.size();
        QTRY_VERIFY_WITH_TIMEOUT(samples.size() > before, 10000);
        collector.disconnectFromServer();
        QTRY_COMPARE_WITH_TIMEOUT(collector.state(), ConnectionState::Disconnected, 5000);
        admin.runScript(u"DROP ROLE tst_proxy"_s);
    }

    void twoServersDoNotBlockEachOther()
    {
        // Each collector has its own thread and connection: one server going silent must not
        // slow the sampling of another.
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        createProxyRole(admin, u"tst_proxy2"_s);
        FreezableProxy proxy(quint16(htap::test::sandboxConnInfo().value(u"port"_s).toInt()));
        ActivityCollector silent, live;
        silent.setInterval(250);
        live.setInterval(250);
        QSignalSpy silentSamples(&silent, &ActivityCollector::sampleAvailable);
        QSignalSpy liveSamples(&live, &ActivityCollector::sampleAvailable);
        silent.connectTo(throughProxy(proxy, u"tst_proxy2"_s));
        live.connectTo(htap::test::sandboxConnInfo());
        QTRY_VERIFY_WITH_TIMEOUT(silentSamples.size() >= 2 && liveSamples.size() >= 2, 10000);
        proxy.setFrozen(true);
        QTRY_COMPARE_WITH_TIMEOUT(silent.state(), ConnectionState::NotResponding, 5000);
        const auto before = liveSamples.size();
        QTest::qWait(2000); // while the first server stays silent
        // Liveness, not speed: a collector held up by the other would deliver none.
        QVERIFY2(liveSamples.size() >= before + 2, qPrintable(QString::number(liveSamples.size() - before)));
        QCOMPARE(live.state(), ConnectionState::Connected);
        proxy.setFrozen(false);
        QTRY_COMPARE_WITH_TIMEOUT(silent.state(), ConnectionState::Connected, 10000);
        silent.disconnectFromServer();
        live.disconnectFromServer();
        QTRY_VERIFY_WITH_TIMEOUT(silent.state() == ConnectionState::Disconnected && live.state() == ConnectionState::Disconnected, 5000);
        admin.runScript(u"DROP ROLE tst_proxy2"_s);
    }

    void destroyingACollectorStuckOnASilentServerDoesNotWait()
    {
        // Closing the window (or removing a server) while its server hangs: the collector goes
        // at once; its thread ends by itself once the link comes back.
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        createProxyRole(admin, u"tst_proxy3"_s);
        FreezableProxy proxy(quint16(htap::test::sandboxConnInfo().value(u"port"_s).toInt()));
        auto* collector = new ActivityCollector;
        collector->setInterval(250);
        QSignalSpy samples(collector, &ActivityCollector::sampleAvailable);
        collector->connectTo(throughProxy(proxy, u"tst_proxy3"_s));
        QTRY_VERIFY_WITH_TIMEOUT(samples.size() >= 2, 10000);
        proxy.setFrozen(true);
        QTRY_COMPARE_WITH_TIMEOUT(collector->state(), ConnectionState::NotResponding, 5000);
        auto* thread = collector->findChild<QThread*>();
        QVERIFY(thread);
        QPointer<QThread> watched(thread);
        // A watchdog turns a destructor that waits for the frozen link into a clear failure
        // instead of a hang until ctest's timeout (the relay cannot pump while we are blocked).
        htap::test::Watchdog watchdog("destroying a collector stuck on a silent server blocked the calling thread", 30);
        delete collector;
        watchdog.disarm();
        QVERIFY2(watched, "the stuck thread is left to finish, not destroyed while running");
        QVERIFY(watched->isRunning());
        proxy.setFrozen(false); // the link comes back: the thread ends and deletes itself
        QTRY_VERIFY_WITH_TIMEOUT(watched.isNull(), 20000);
        QTRY_VERIFY_WITH_TIMEOUT(admin.exec(u"SELECT 1 FROM pg_stat_activity WHERE usename = 'tst_proxy3'"_s).rowCount() == 0, 10000);
        admin.runScript(u"DROP ROLE tst_proxy3"_s);
    }

    void disconnectAndAbort()
    {
        ActivityCollector collector;
        QSignalSpy connected(&collector, &ActivityCollector::connected);
        collector.connectTo(htap::test::sandboxConnInfo());
        QTRY_COMPARE_WITH_TIMEOUT(connected.size(), 1, 10000);
        collector.disconnectFromServer();
        QTRY_COMPARE_WITH_TIMEOUT(collector.state(), ConnectionState::Disconnected, 5000);
    }
};

QTEST_GUILESS_MAIN(TestCollector)
#include "tst_collector.moc"
