// The collectors against real situations built on the sandbox: a blocking chain with queued
// DDL, a prepared transaction, a snapshot holding the xmin horizon, resets and a restart.
#include "testutil.h"

#include <monitor/activitycollector.h>
#include <monitor/samplejson.h>
#include <pg/identifier.h>

#include <QJsonArray>
#include <QScopeGuard>
#include <QJsonDocument>

#include <functional>
#include <csignal>
#include <thread>

using namespace Qt::StringLiterals;
using namespace htap::monitor;
using htap::pg::Connection;

namespace {

/// A session on its own thread running one statement that is expected to block.
class BlockedStatement
{
public:
    BlockedStatement(const htap::pg::ConnInfo& info, QString sql)
        : m_thread([this, info, sql] {
            Connection c;
            if (c.open(info, {10000, u"tst blocked"_s})) {
                m_pid = -1;
                return;
            }
            c.exec(u"SET lock_timeout = '60s'"_s);
            m_pid = c.backendPid();
            m_result = c.exec(sql);
        })
    {
        QTRY_VERIFY_WITH_TIMEOUT(m_pid.load() != 0, 10000);
    }
    ~BlockedStatement() { join(); }
    int pid() const { return m_pid; }
    void join()
    {
        if (m_thread.joinable())
            m_thread.join();
    }
    const htap::pg::Result& result() const { return m_result; }

private:
    std::atomic<int> m_pid {0};
    htap::pg::Result m_result;
    std::thread m_thread;
};

} // namespace

class TestMonitor : public QObject
{
    Q_OBJECT
private:
    htap::pg::ConnInfo m_info;
    Connection m_admin;

    bool waitingOnLock(int pid)
    {
        return m_admin.exec(u"SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'"_s, {pid}).rowCount() == 1;
    }

    /// Runs a collector (all probes every tick) until a sample satisfies pred; returns it.
    ServerSample sampleUntil(const std::function<bool(const ServerSample&)>& pred, const htap::pg::ConnInfo& info = {})
    {
        ActivityCollector collector;
        collector.setInterval(250);
        collector.setSlowEvery(1);
        ServerSample found;
        bool ok = false;
        connect(&collector, &ActivityCollector::sampleAvailable, this, [&](const ServerSample& s) {
            if (!ok && pred(s)) {
                found = s;
                ok = true;
            }
        });
        collector.connectTo(info.isEmpty() ? m_info : info);
        if (!QTest::qWaitFor([&] { return ok; }, 15000))
            qWarning("no sample satisfied the condition within 15 s");
        return found;
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_info = htap::test::sandboxConnInfo();
        QVERIFY(!m_admin.open(m_info, {10000, u"tst_monitor admin"_s}));
        QVERIFY(m_admin.runScript(u"DROP TABLE IF EXISTS tst_locks, tst_vac;"
                                  "CREATE TABLE tst_locks (id int PRIMARY KEY, v int);"
                                  "INSERT INTO tst_locks VALUES (1, 0), (2, 0);"
                                  "CREATE TABLE tst_vac (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = off);"
                                  "INSERT INTO tst_vac SELECT g, 0 FROM generate_series(1, 2000) g;"_s).ok());
    }

    void cleanupTestCase()
    {
        m_admin.runScript(u"DROP TABLE IF EXISTS tst_locks, tst_vac"_s);
        m_admin.exec(u"ALTER SYSTEM RESET autovacuum"_s); // anIdleServerShowsNoTransactions, if it stopped half-way
        m_admin.exec(u"SELECT pg_reload_conf()"_s);
    }

    void blockingChainWithQueuedDdl()
    {
        // s1 holds a row; s2 waits for it; s3's ALTER TABLE queues behind both; s4's plain read
        // queues behind s3 (a soft block: it conflicts only with the queued ALTER).
        Connection s1;
        QVERIFY(!s1.open(m_info, {10000, u"tst root blocker"_s}));
        QVERIFY(s1.exec(u"BEGIN"_s).ok());
        QVERIFY(s1.exec(u"UPDATE tst_locks SET v = v + 1 WHERE id = 1"_s).ok());
        BlockedStatement s2(m_info, u"UPDATE tst_locks SET v = v + 1 WHERE id = 1"_s);
        QTRY_VERIFY_WITH_TIMEOUT(waitingOnLock(s2.pid()), 10000);
        BlockedStatement s3(m_info, u"ALTER TABLE tst_locks ADD COLUMN extra int"_s);
        QTRY_VERIFY_WITH_TIMEOUT(waitingOnLock(s3.pid()), 10000);
        BlockedStatement s4(m_info, u"SELECT count(*) FROM tst_locks"_s);
        QTRY_VERIFY_WITH_TIMEOUT(waitingOnLock(s4.pid()), 10000);

        const ServerSample s = sampleUntil([](const ServerSample& x) { return x.locks && x.locks->waitingSessions >= 3; });
        QVERIFY(s.locks);
        const LockSample& locks = *s.locks;
        QCOMPARE(locks.roots, QList<int> {s1.backendPid()});
        QCOMPARE(locks.waitingSessions, 3);
        QCOMPARE(locks.totalWaitersUnder(s1.backendPid()), 3);
        QCOMPARE(locks.node(s2.pid())->blockedBy, QList<int> {s1.backendPid()});
        QCOMPARE(locks.node(s2.pid())->lockType, u"transactionid"_s);
        QVERIFY(locks.node(s3.pid())->blockedBy.contains(s1.backendPid()));
        QCOMPARE(locks.node(s3.pid())->lockMode, u"AccessExclusiveLock"_s);
        QCOMPARE(locks.node(s3.pid())->lockTarget, u"tst_locks"_s);
        QCOMPARE(locks.node(s4.pid())->blockedBy, QList<int> {s3.pid()}); // behind the queue, not s1
        QCOMPARE(locks.node(s4.pid())->lockMode, u"AccessShareLock"_s);
        const LockNode* root = locks.node(s1.backendPid());
        QVERIFY(root);
        QCOMPARE(root->state, u"idle in transaction"_s);
        QCOMPARE(root->application, u"tst root blocker"_s);
        QVERIFY(root->query.contains(u"UPDATE tst_locks"_s));
        QCOMPARE(locks.waitingByLockType.value(u"relation"_s), 2);
        QCOMPARE(locks.waitingByLockType.value(u"transactionid"_s), 1);
        QCOMPARE(s.activity.waitingOnLock, 3);

        const QJsonObject json = toJson(s).value(u"locks"_s).toObject();
        QCOMPARE(json.value(u"roots"_s).toArray().at(0).toObject().value(u"pid"_s).toInt(), s1.backendPid());
        QCOMPARE(json.value(u"roots"_s).toArray().at(0).toObject().value(u"totalWaiters"_s).toInt(), 3);

        QVERIFY(s1.exec(u"ROLLBACK"_s).ok());
        s2.join();
        s3.join();
        s4.join();
        QVERIFY2(s3.result().ok(), qPrintable(s3.result().error().oneLine()));
        QVERIFY(m_admin.exec(u"ALTER TABLE tst_locks DROP COLUMN extra"_s).ok());
    }

    void preparedTransactionBlocksAndHoldsTheHorizon()
    {
        const QString gid = u"tst \"px\" 'one'"_s;
        Connection p;
        QVERIFY(!p.open(m_info));
        QVERIFY(p.exec(u"BEGIN"_s).ok());
        QVERIFY(p.exec(u"UPDATE tst_locks SET v = v + 1 WHERE id = 2"_s).ok());
        QVERIFY(p.runScript(p.exec(u"SELECT format('PREPARE TRANSACTION %L', $1::text)"_s, {gid}).text(0, 0)).ok());
        p.close(); // the prepared transaction outlives its session

        BlockedStatement waiter(m_info, u"UPDATE tst_locks SET v = v + 1 WHERE id = 2"_s);
        QTRY_VERIFY_WITH_TIMEOUT(waitingOnLock(waiter.pid()), 10000);

        const ServerSample s = sampleUntil([](const ServerSample& x) { return x.locks && x.locks->roots.contains(0); });
        QVERIFY(s.locks);
        QCOMPARE(s.locks->node(waiter.pid())->blockedBy, QList<int> {0});
        const LockNode* prepared = s.locks->node(0);
        QVERIFY(prepared);
        QCOMPARE(prepared->preparedTransactions.size(), 1);
        QCOMPARE(prepared->preparedTransactions.first().gid, gid);
        QCOMPARE(prepared->preparedTransactions.first().owner, u"postgres"_s);
        QCOMPARE(prepared->preparedTransactions.first().database, u"shop"_s);
        QVERIFY(s.vacuum);
        bool holds = false;
        for (const XminHolder& h : s.vacuum->holders)
            holds |= h.kind == u"prepared_xact"_s && h.holder == gid;
        QVERIFY(holds);

        QVERIFY(m_admin.runScript(m_admin.exec(u"SELECT format('ROLLBACK PREPARED %L', $1::text)"_s, {gid}).text(0, 0)).ok());
        waiter.join();
        QVERIFY(waiter.result().ok());
    }

    void idleRepeatableReadHoldsTheHorizon()
    {
        Connection holder;
        QVERIFY(!holder.open(m_info, {10000, u"tst report snapshot"_s}));
        QVERIFY(holder.exec(u"BEGIN ISOLATION LEVEL REPEATABLE READ"_s).ok());
        QVERIFY(holder.exec(u"SELECT count(*) FROM tst_vac"_s).ok()); // takes the snapshot
        for (int i = 0; i < 2; ++i)
            QVERIFY(m_admin.exec(u"UPDATE tst_vac SET v = v + 1"_s).ok());
        // VACUUM cannot remove what the snapshot may still see; it reports them as dead.
        QVERIFY(m_admin.exec(u"VACUUM tst_vac"_s).ok());
        m_admin.exec(u"SELECT pg_stat_force_next_flush()"_s);
        m_admin.exec(u"SELECT 1"_s);

        const ServerSample s = sampleUntil([](const ServerSample& x) {
            if (!x.vacuum)
                return false;
            for (const TableVacuum& t : x.vacuum->tables)
                if (t.table == u"public.tst_vac"_s && t.deadTuples >= 4000)
                    return true;
            return false;
        });
        QVERIFY(s.vacuum);
        const auto table = std::find_if(s.vacuum->tables.cbegin(), s.vacuum->tables.cend(),
            [](const TableVacuum& t) { return t.table == u"public.tst_vac"_s; });
        QVERIFY(table != s.vacuum->tables.cend());
        QVERIFY2(table->deadTuples >= 4000, qPrintable(QString::number(table->deadTuples)));
        QVERIFY(!table->autovacuumEnabled); // the reloption is read
        QVERIFY(table->pctOfTrigger > 100); // 4000 dead vs 50 + 0.2 * 2000
        QVERIFY(table->lastVacuum.isValid());
        const auto named = std::find_if(s.vacuum->holders.cbegin(), s.vacuum->holders.cend(),
            [&](const XminHolder& h) { return h.kind == u"backend"_s && h.pid == holder.backendPid(); });
        QVERIFY2(named != s.vacuum->holders.cend(), "the idle snapshot is named as a holder");
        QCOMPARE(named->state, u"idle in transaction"_s);
        QVERIFY(named->xidAge >= 2);
        QCOMPARE(s.vacuum->horizonAge, s.vacuum->holders.first().xidAge);
        QVERIFY(s.vacuum->horizonAge >= named->xidAge);
        QVERIFY(!s.vacuum->databases.isEmpty());
        holder.exec(u"ROLLBACK"_s);
    }

    void passwordsOfOtherSessionsNeverReachTheSample()
    {
        // A waiting ALTER ROLE ... PASSWORD in every literal form: the lock tree and the xmin
        // holders show the statement, masked; the secret appears nowhere in the sample's JSON.
        QVERIFY(m_admin.runScript(u"DROP ROLE IF EXISTS tst_pw; CREATE ROLE tst_pw"_s).ok());
        Connection holder;
        QVERIFY(!holder.open(m_info, {10000, u"tst pw holder"_s}));
        QVERIFY(holder.exec(u"BEGIN"_s).ok());
        QVERIFY(holder.exec(u"ALTER ROLE tst_pw CONNECTION LIMIT 3"_s).ok()); // holds the role's row
        BlockedStatement e(m_info, u"ALTER ROLE tst_pw PASSWORD E'x-secret-e'"_s);
        QTRY_VERIFY_WITH_TIMEOUT(waitingOnLock(e.pid()), 10000);
        BlockedStatement u(m_info, u"ALTER ROLE tst_pw PASSWORD U&'x-secret-\\0075'"_s);
        QTRY_VERIFY_WITH_TIMEOUT(waitingOnLock(u.pid()), 10000);
        BlockedStatement d(m_info, u"ALTER ROLE tst_pw PASSWORD $q$x-secret-d$q$ /* x-secret-c */"_s);
        QTRY_VERIFY_WITH_TIMEOUT(waitingOnLock(d.pid()), 10000);

        const ServerSample s = sampleUntil([](const ServerSample& x) { return x.locks && x.locks->waitingSessions >= 3; });
        QVERIFY(s.locks);
        QCOMPARE(s.locks->node(e.pid())->query, u"ALTER ROLE tst_pw PASSWORD $1"_s);
        QCOMPARE(s.locks->node(u.pid())->query, u"ALTER ROLE tst_pw PASSWORD $1"_s);
        QCOMPARE(s.locks->node(d.pid())->query.trimmed(), u"ALTER ROLE tst_pw PASSWORD $1"_s);
        bool holderShown = false;
        for (const XminHolder& h : s.vacuum->holders)
            holderShown |= h.pid == e.pid() && h.detail == u"client backend: ALTER ROLE tst_pw PASSWORD $1"_s;
        QVERIFY(holderShown);
        const QByteArray json = QJsonDocument(toJson(s)).toJson();
        QVERIFY2(!json.contains("x-secret"), json.constData());

        QVERIFY(holder.exec(u"ROLLBACK"_s).ok());
        e.join();
        u.join();
        d.join();
        QVERIFY(m_admin.runScript(u"DROP ROLE tst_pw"_s).ok());
    }

    void aSampleWithCountsPastQint64Reads()
    {
        // A sample of a history or snapshot file whose counts no qint64 holds (found by
        // tests/fuzz, fuzz_sample: the conversion was undefined behaviour): 0, as a non-number.
        const QJsonObject json = QJsonDocument::fromJson(R"({"format": "htap-monitor-sample", "version": 1,
            "activity": {"xactCommit": 1e300, "xactRollback": -9.3e18},
            "vacuum": {"horizonAge": 4e18, "tables": [{"deadTuples": 9.3e18}]}})").object();
        ServerSample s;
        QString error;
        QVERIFY2(fromJson(json, &s, &error), qPrintable(error));
        QCOMPARE(s.activity.xactCommit, 0);
        QCOMPARE(s.activity.xactRollback, 0);
        QCOMPARE(s.vacuum->horizonAge, qint64(4e18));
        QCOMPARE(s.vacuum->tables.first().deadTuples, 0);
    }

    void latencyByRoleAndClass()
    {
        // The sandbox's oltp_user, which the default rule calls OLTP (the seed's 3.3).
        QVERIFY(m_admin.exec(u"GRANT SELECT ON tst_locks TO oltp_user"_s).ok());
        ActivityCollector collector;
        collector.setInterval(300);
        QList<ServerSample> samples;
        connect(&collector, &ActivityCollector::sampleAvailable, this, [&](const ServerSample& s) { samples << s; });
        collector.connectTo(m_info);
        QTRY_VERIFY_WITH_TIMEOUT(samples.size() >= 1, 10000);
        QVERIFY(samples.first().latency);
        QVERIFY(!samples.first().latency->hasDeltas);
        Connection oltp;
        QVERIFY(!oltp.open(m_info.with(u"user"_s, u"oltp_user"_s)));
        for (int i = 0; i < 50; ++i)
            QVERIFY(oltp.exec(u"SELECT v FROM tst_locks WHERE id = $1"_s, {1 + i % 2}).ok());
        auto oltpCalls = [&] {
            qint64 calls = 0;
            for (const ServerSample& s : std::as_const(samples))
                if (s.latency && s.latency->hasDeltas)
                    calls += s.latency->classes.at(int(WorkloadClass::Oltp)).calls;
            return calls;
        };
        QTRY_VERIFY_WITH_TIMEOUT(oltpCalls() >= 50, 10000);
        const ServerSample last = samples.last();
        QCOMPARE(last.latency->classes.size(), 3);
        QCOMPARE(last.latency->classes.at(0).name, u"oltp"_s);
        QVERIFY(last.unavailable.isEmpty());
        oltp.close();
        m_admin.runScript(u"REVOKE ALL ON tst_locks FROM oltp_user"_s);
    }

    void aBlockedOrderClassIsSeenWithItsBlocker()
    {
        // An order session idle in its transaction holds a row; three more order sessions wait
        // for it. pg_stat_statements sees nothing (no statement finished); the OLTP class's
        // sessions say it all: who waits, for how long, behind which pid.
        QVERIFY(m_admin.runScript(u"GRANT SELECT, UPDATE ON tst_locks TO oltp_user"_s).ok());
        Connection holder;
        QVERIFY(!holder.open(m_info.with(u"user"_s, u"oltp_user"_s), {10000, u"tst order holder"_s}));
        QVERIFY(holder.exec(u"BEGIN"_s).ok());
        QVERIFY(holder.exec(u"UPDATE tst_locks SET v = v + 1 WHERE id = 1"_s).ok());
        const auto oltp = m_info.with(u"user"_s, u"oltp_user"_s);
        BlockedStatement w1(oltp, u"UPDATE tst_locks SET v = v + 1 WHERE id = 1"_s);
        BlockedStatement w2(oltp, u"UPDATE tst_locks SET v = v + 1 WHERE id = 1"_s);
        BlockedStatement w3(oltp, u"UPDATE tst_locks SET v = v + 1 WHERE id = 1"_s);
        for (int pid : {w1.pid(), w2.pid(), w3.pid()})
            QTRY_VERIFY_WITH_TIMEOUT(waitingOnLock(pid), 10000);

        const ServerSample s = sampleUntil([](const ServerSample& x) {
            return x.sessions.classes.size() == 3 && x.sessions.classes[0].waitingOnLock >= 3;
        });
        QCOMPARE(s.sessions.classes.size(), 3);
        const ClassSessions& c = s.sessions.classes[int(WorkloadClass::Oltp)];
        QCOMPARE(c.waitingOnLock, 3);
        QVERIFY(QList<int>({w1.pid(), w2.pid(), w3.pid()}).contains(c.longestLockWait.pid));
        QVERIFY(c.longestLockWait.seconds > 0);
        QCOMPARE(c.blockers.size(), 1);
        QCOMPARE(c.blockers.first().first, holder.backendPid());
        QCOMPARE(c.blockers.first().second, 3);
        QCOMPARE(c.oldestTransaction.pid, holder.backendPid()); // the holder began first
        QCOMPARE(c.oldestTransaction.state, u"idle in transaction"_s);
        QCOMPARE(c.active, 3);
        QCOMPARE(c.idleInTransaction, 1);
        QVERIFY(QList<int>({w1.pid(), w2.pid(), w3.pid()}).contains(c.oldestStatement.pid));
        QCOMPARE(c.oldestStatement.wait, u"Lock:transactionid"_s);
        QCOMPARE(s.sessions.classes[int(WorkloadClass::Olap)].waitingOnLock, 0);
        QVERIFY(s.sessions.monitorBackends >= 1); // its own connection, not counted above
        const QJsonObject json = toJson(s).value(u"sessions"_s).toObject();
        QCOMPARE(json.value(u"classes"_s).toArray().at(0).toObject().value(u"blockers"_s).toArray().at(0).toObject()
                     .value(u"pid"_s).toInt(), holder.backendPid());

        QVERIFY(holder.exec(u"ROLLBACK"_s).ok());
        w1.join();
        w2.join();
        w3.join();
        m_admin.runScript(u"REVOKE ALL ON tst_locks FROM oltp_user"_s);
    }

    void anIdleServerShowsNoTransactions()
    {
        // The monitor's own statements (about ten a sample) are not the server's load. Autovacuum's
        // transactions are (they count in xact_commit): after the tests before this one made and
        // dropped tables, its workers committed 9-28 times in the 3 s measured. Off for the
        // measurement, and the workers still running waited for.
        QVERIFY(m_admin.exec(u"ALTER SYSTEM SET autovacuum = off"_s).ok());
        m_admin.exec(u"SELECT pg_reload_conf()"_s);
        const auto restore = qScopeGuard([this] {
            m_admin.exec(u"ALTER SYSTEM RESET autovacuum"_s);
            m_admin.exec(u"SELECT pg_reload_conf()"_s);
        });
        QTRY_VERIFY_WITH_TIMEOUT(m_admin.exec(u"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"_s).toInt64(0, 0) == 0
                                     && m_admin.exec(u"SHOW autovacuum"_s).text(0, 0) == u"off"_s,
            60000);
        ActivityCollector collector;
        collector.setInterval(250);
        collector.setSlowEvery(1); // every probe every time: the most the monitor runs
        QList<ServerSample> samples;
        connect(&collector, &ActivityCollector::sampleAvailable, this, [&](const ServerSample& s) { samples << s; });
        collector.connectTo(m_info);
        QTRY_VERIFY_WITH_TIMEOUT(samples.size() >= 16, 20000);
        qint64 own = 0;
        double commits = 0, seconds = 0;
        for (int i = 4; i < samples.size(); ++i) { // after the connect's own statements
            const ActivitySample& a = samples[i].activity;
            QVERIFY(a.hasRates);
            own += a.ownCommits;
            commits += a.commitsPerSecond * a.elapsedSeconds;
            seconds += a.elapsedSeconds;
        }
        QVERIFY2(own > 20, qPrintable(QString::number(own))); // the monitor did commit, and it was taken out
        if (commits / seconds >= 0.5) {
            // Seen once in a full suite (28 commits in 3 s, not reproduced): say who else was there.
            const auto who = m_admin.exec(u"SELECT coalesce(string_agg(backend_type || ' ' || coalesce(application_name, '') || ' ' || "
                                          "coalesce(state, '') || ': ' || left(query, 60), '; '), 'nobody') FROM pg_stat_activity "
                                          "WHERE pid <> pg_backend_pid() AND datname = current_database()"_s);
            QFAIL(qPrintable(u"%1 commits in %2 s; sessions now: %3"_s.arg(commits).arg(seconds).arg(who.text(0, 0))));
        }
    }

    void aStalledMonitorLeavesAGapNotASpike()
    {
        // The monitor's own backend stops for 3 s (SIGSTOP) under a steady load: the sample
        // after it starts a new baseline (no rate poured into one interval) and says there was
        // a gap; the rates around it stay what the load is.
        ActivityCollector collector;
        collector.setInterval(250);
        QList<ServerSample> samples;
        int backend = 0;
        connect(&collector, &ActivityCollector::connected, this, [&](const ServerInfo& s) { backend = s.backendPid; });
        connect(&collector, &ActivityCollector::sampleAvailable, this, [&](const ServerSample& s) { samples << s; });
        std::atomic<bool> stop {false};
        std::thread load([&] {
            Connection c;
            if (c.open(m_info, {10000, u"tst steady load"_s}))
                return;
            while (!stop) {
                c.exec(u"UPDATE tst_vac SET v = v + 1 WHERE id = 1"_s);
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        });
        collector.connectTo(m_info);
        QTRY_VERIFY_WITH_TIMEOUT(samples.size() >= 6 && backend > 0, 10000);
        const qsizetype before = samples.size();
        QCOMPARE(::kill(backend, SIGSTOP), 0);
        QTest::qWait(3000);
        QCOMPARE(::kill(backend, SIGCONT), 0);
        QTRY_VERIFY_WITH_TIMEOUT(samples.size() >= before + 6, 15000);
        stop = true;
        load.join();
        int gaps = 0;
        double most = 0;
        for (qsizetype i = before; i < samples.size(); ++i) {
            const ServerSample& s = samples[i];
            if (s.gapBefore) {
                ++gaps;
                QVERIFY(!s.activity.hasRates); // a new baseline, not 3 s of commits in one interval
                QVERIFY(!s.latency || !s.latency->hasDeltas);
            }
            if (s.activity.hasRates) {
                QVERIFY2(s.activity.elapsedSeconds < 1.5, qPrintable(QString::number(s.activity.elapsedSeconds)));
                most = std::max(most, s.activity.commitsPerSecondWindow);
            }
        }
        QCOMPARE(gaps, 1);
        // The load commits at most 100 a second (one every 10 ms at best); a stall poured into
        // one interval showed several times that. (One 250 ms interval alone aliases with the
        // backends' once-a-second statistics flush: the window's rate is what is shown.)
        QVERIFY2(most < 150, qPrintable(QString::number(most)));
    }

    void resetsDropTheBaseline()
    {
        ActivityCollector collector;
        collector.setInterval(250);
        QList<ServerSample> samples;
        connect(&collector, &ActivityCollector::sampleAvailable, this, [&](const ServerSample& s) { samples << s; });
        collector.connectTo(m_info);
        QTRY_VERIFY_WITH_TIMEOUT(samples.size() >= 2 && samples.last().latency && samples.last().latency->hasDeltas, 10000);
        QVERIFY(m_admin.exec(u"SELECT pg_stat_statements_reset()"_s).ok());
        const auto before = samples.size();
        QTRY_VERIFY_WITH_TIMEOUT(samples.size() >= before + 2, 10000);
        bool sawReset = false;
        for (auto i = before; i < samples.size(); ++i)
            sawReset |= samples[i].latency && samples[i].latency->baselineReason.contains(u"reset"_s);
        QVERIFY(sawReset);
    }

    void withoutPgStatStatementsTheProbeSaysWhy()
    {
        // The extension exists in shop, not in the postgres database.
        const ServerSample s = sampleUntil([](const ServerSample& x) { return x.sampledAt.isValid(); },
            m_info.with(u"dbname"_s, u"postgres"_s));
        QVERIFY2(s.unavailable.value(u"latency"_s).contains(u"CREATE EXTENSION pg_stat_statements"_s),
            qPrintable(s.unavailable.value(u"latency"_s)));
        QVERIFY(!s.latency);
        QVERIFY(s.locks); // the other probes still run
        QVERIFY(s.vacuum);
    }

    void aPgMonitorRoleIsEnough()
    {
        const QString role = u"Tst Monitor \"ro\""_s;
        const QString quoted = htap::pg::quoteIdentifier(role);
        m_admin.runScript(u"DROP ROLE IF EXISTS %1; CREATE ROLE %1 LOGIN IN ROLE pg_monitor"_s.arg(quoted));
        const ServerSample s = sampleUntil([](const ServerSample& x) { return x.latency.has_value() || !x.unavailable.isEmpty(); },
            m_info.with(u"user"_s, role));
        QVERIFY2(s.unavailable.isEmpty(), qPrintable(QStringList(s.unavailable.values()).join(u"; "_s)));
        QVERIFY(s.vacuum && !s.vacuum->tables.isEmpty());
        m_admin.runScript(u"DROP ROLE %1"_s.arg(quoted));
    }

    void serverRestartBetweenSamples()
    {
        ActivityCollector collector;
        collector.setInterval(250);
        QList<ConnectionState> states;
        QList<ServerSample> samples;
        connect(&collector, &ActivityCollector::stateChanged, this, [&](ConnectionState st, const QString&) { states << st; });
        connect(&collector, &ActivityCollector::sampleAvailable, this, [&](const ServerSample& s) { samples << s; });
        collector.connectTo(m_info);
        QTRY_VERIFY_WITH_TIMEOUT(samples.size() >= 2, 10000);
        m_admin.close();
        htap::pg::Sandbox sandbox = htap::test::testSandbox();
        QString error;
        QVERIFY2(sandbox.stop(&error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(states.contains(ConnectionState::Reconnecting), 10000);
        QVERIFY2(sandbox.start(0, 0.05, {}, &error), qPrintable(error));
        const auto before = samples.size();
        QTRY_VERIFY_WITH_TIMEOUT(samples.size() >= before + 2, 30000);
        QCOMPARE(collector.state(), ConnectionState::Connected);
        // Right after the reconnect the probes start from a fresh baseline.
        QVERIFY(samples[before].latency && !samples[before].latency->hasDeltas);
        QVERIFY(!m_admin.open(m_info));
    }
};

QTEST_GUILESS_MAIN(TestMonitor)
#include "tst_monitor.moc"
