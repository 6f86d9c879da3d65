// Replication watched from both sides, with a real standby of the test sandbox: the topology,
// the heartbeat and the data age it gives a standby's readers, a recovery conflict provoked
// and named, and a standby's feedback holding the primary's horizon (issue 24, items 2-3).

#include "testutil.h"

#include <monitor/activitycollector.h>
#include <monitor/heartbeat.h>
#include <monitor/probes.h>
#include <monitor/samplejson.h>
#include <monitor/serversample.h>
#include <pg/connection.h>
#include <pg/sandbox.h>

#include <ui/replicationpage.h>
#include <ui/snapshottablemodel.h>
#include <ui/vacuumpage.h>

#include <QLabel>
#include <QtConcurrent>

#include <optional>

using namespace Qt::StringLiterals;
using htap::monitor::ActivityCollector;
using htap::monitor::CancelledStatement;
using htap::monitor::ServerSample;
using htap::pg::Connection;
using htap::pg::Sandbox;

namespace {

/// A collector that keeps its samples.
struct Watched {
    ActivityCollector collector;
    QList<ServerSample> samples;
    explicit Watched(const htap::pg::ConnInfo& info, bool heartbeat = true)
    {
        collector.setHeartbeat(heartbeat);
        collector.setSlowEvery(1);
        QObject::connect(&collector, &ActivityCollector::sampleAvailable, &collector,
            [this](const ServerSample& s) { samples << s; });
        collector.connectTo(info);
    }
    const ServerSample* last() const { return samples.isEmpty() ? nullptr : &samples.last(); }
};

} // namespace

class TestReplication : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void conflictLogIsParsedFromAnyPrefix()
    {
        // The standby's log as PostgreSQL writes it (stderr, the sandbox's prefix), with what
        // a log also holds: other errors, a multi-line statement (continuation lines start with
        // a tab), a session ended in its transaction, a prefix without time or user, a torn line.
        const QString log = uR"(2026-12-07 00:36:50.100 UTC [10560] postgres@shop LOG:  recovery still waiting after 1001.2 ms: recovery conflict on snapshot
2026-12-07 00:36:56.597 UTC [10562] olap_user@shop ERROR:  canceling statement due to conflict with recovery
2026-12-07 00:36:56.597 UTC [10562] olap_user@shop DETAIL:  User query might have needed to see row versions that must be removed.
2026-12-07 00:36:56.597 UTC [10562] olap_user@shop STATEMENT:  SELECT category, sum(amount)
	FROM fact_sales WHERE user_id = 'secret-42'
	GROUP BY 1
2026-12-07 00:36:57.000 UTC [10563] oltp_user@shop ERROR:  duplicate key value violates unique constraint "orders_pkey"
2026-12-07 00:36:57.000 UTC [10563] oltp_user@shop STATEMENT:  INSERT INTO orders VALUES (1)
2026-12-07 00:37:01.250 UTC [10570] olap_user@sales FATAL:  terminating connection due to conflict with recovery
2026-12-07 00:37:01.250 UTC [10570] olap_user@sales DETAIL:  User was holding a relation lock for too long.
2026-12-07 00:37:01.250 UTC [10570] olap_user@sales HINT:  In a moment you should be able to reconnect to the database and repeat your command.
[777] ERROR:  canceling statement due to conflict with recovery
2026-12-07 00:37:0)"_s;
        const QList<CancelledStatement> found = htap::monitor::parseConflictLog(log);
        QCOMPARE(found.size(), 3);
        QCOMPARE(found[0].pid, 10562);
        QCOMPARE(found[0].role, u"olap_user"_s);
        QCOMPARE(found[0].database, u"shop"_s);
        QVERIFY(!found[0].terminated);
        QCOMPARE(found[0].at, QDateTime(QDate(2026, 12, 7), QTime(0, 36, 56, 597), QTimeZone::utc()));
        QVERIFY(found[0].detail.startsWith(u"User query might have needed"_s));
        // The whole statement, its literals masked.
        QVERIFY2(found[0].statement.contains(u"GROUP BY"_s), qPrintable(found[0].statement));
        QVERIFY2(!found[0].statement.contains(u"secret"_s), qPrintable(found[0].statement));
        QVERIFY(found[1].terminated);
        QCOMPARE(found[1].database, u"sales"_s);
        QVERIFY(found[1].statement.isEmpty());
        QCOMPARE(found[2].pid, 777);
        QVERIFY(!found[2].at.isValid());
        QVERIFY(htap::monitor::parseConflictLog(u"\t\n\nSTATEMENT:  x\n"_s).isEmpty());
    }

    void standbyWatchedFromBothSides()
    {
        Sandbox primarySandbox = htap::test::testSandbox();
        QString error, dir;
        QVERIFY2(primarySandbox.addStandby(&dir, 0, false, {}, &error), qPrintable(error));
        const auto removeStandby = qScopeGuard([&] {
            QString e;
            primarySandbox.removeStandby(dir, &e);
        });
        const QString name = QFileInfo(dir).fileName();
        const htap::pg::ConnInfo primaryInfo = primarySandbox.connInfo();
        const htap::pg::ConnInfo standbyInfo = Sandbox(dir).connInfo();

        // Replay does not wait long for a report in its way: conflicts come fast.
        Connection standbyAdmin;
        QVERIFY(!standbyAdmin.open(standbyInfo));
        QVERIFY(standbyAdmin.exec(u"ALTER SYSTEM SET max_standby_streaming_delay = '1s'"_s).ok());
        QVERIFY(standbyAdmin.exec(u"SELECT pg_reload_conf()"_s).ok());

        Watched primary(primaryInfo);
        Watched standby(standbyInfo);
        // The primary: the standby streaming by name, its slot in use, the heartbeat written.
        QTRY_VERIFY_WITH_TIMEOUT(primary.last() && primary.last()->replication
                && !primary.last()->replication->standbys.isEmpty()
                && primary.last()->replication->heartbeatWriter.isEmpty()
                && primary.last()->replication->heartbeatAgeSeconds >= 0
                // the first samples may read an earlier test's beat, before this writer's first
                && primary.last()->replication->heartbeatAgeSeconds < 1.0,
            20000);
        const auto& rep = *primary.last()->replication;
        QVERIFY(!rep.inRecovery);
        QCOMPARE(rep.standbys.first().name, name);
        QCOMPARE(rep.standbys.first().state, u"streaming"_s);
        QVERIFY(std::any_of(rep.replicationSlots.cbegin(), rep.replicationSlots.cend(),
            [](const auto& s) { return s.active && s.type == u"physical"_s; }));

        // The standby: the data age its readers see, non-negative, moving, small while streaming
        // (once the primary's writer is at work: before, the row holds an earlier test's beat).
        QTRY_VERIFY_WITH_TIMEOUT(standby.last() && standby.last()->replication
                && standby.last()->replication->heartbeatAgeSeconds >= 0
                && standby.last()->replication->heartbeatAgeSeconds < 1,
            20000);
        const qsizetype firstFresh = standby.samples.size() - 1;
        QTRY_VERIFY_WITH_TIMEOUT(standby.samples.size() >= firstFresh + 4, 20000);
        QSet<qint64> ages;
        for (const ServerSample& s : standby.samples.mid(firstFresh))
            if (s.replication && s.replication->heartbeatAgeSeconds >= 0) {
                QVERIFY(s.replication->inRecovery);
                QVERIFY(s.replication->heartbeatAgeSeconds < 10);
                ages.insert(qint64(s.replication->heartbeatAgeSeconds * 1e6));
            }
        QVERIFY2(ages.size() >= 2, "the data age does not move");
        QVERIFY(standby.last()->replication->receiver);
        QCOMPARE(standby.last()->replication->receiver->status, u"streaming"_s);
        QVERIFY(standby.last()->replication->conflicts);
        const qint64 conflictsBefore = standby.last()->replication->conflicts->snapshot;
        // The heartbeat's ten commits a second are the monitor's, not the server's load.
        QTRY_VERIFY_WITH_TIMEOUT(primary.last()->activity.windowSeconds >= 5, 20000);
        QVERIFY2(primary.last()->activity.commitsPerSecondWindow < 5,
            qPrintable(QString::number(primary.last()->activity.commitsPerSecondWindow)));

        // A conflict: a report in a snapshot on the standby, dead rows vacuumed on the primary.
        Connection reportConn;
        QVERIFY(!reportConn.open(standbyInfo.with(u"user"_s, u"olap_user"_s)));
        QVERIFY(reportConn.exec(u"BEGIN ISOLATION LEVEL REPEATABLE READ"_s).ok());
        QVERIFY(reportConn.exec(u"SELECT count(*) FROM inventory"_s).ok());
        QFuture<htap::pg::Result> report = QtConcurrent::run([&reportConn] {
            return reportConn.exec(u"SELECT pg_sleep(30), count(*) FROM order_items"_s);
        });
        Connection writer;
        QVERIFY(!writer.open(primaryInfo));
        QVERIFY(writer.exec(u"UPDATE inventory SET quantity = quantity WHERE product_id <= 50"_s).ok());
        QVERIFY(writer.exec(u"VACUUM inventory"_s).ok());
        QTRY_VERIFY_WITH_TIMEOUT(report.isFinished(), 30000);
        const htap::pg::Result r = report.result();
        QVERIFY(!r.ok());
        QVERIFY2(r.error().oneLine().contains(u"conflict with recovery"_s), qPrintable(r.error().oneLine()));
        reportConn.close();

        // Counted by cause, and named from the standby's log.
        QTRY_VERIFY_WITH_TIMEOUT(standby.last()->replication->conflicts->snapshot > conflictsBefore, 20000);
        const auto cancelledReport = [&]() -> std::optional<CancelledStatement> {
            for (const ServerSample& s : std::as_const(standby.samples))
                if (s.replication)
                    for (const CancelledStatement& c : s.replication->cancelled)
                        if (c.statement.contains(u"pg_sleep"_s) && c.role == u"olap_user"_s)
                            return c;
            return std::nullopt;
        };
        QTRY_VERIFY_WITH_TIMEOUT(cancelledReport().has_value(), 10000);
        QVERIFY(cancelledReport()->detail.contains(u"row versions"_s));
        QVERIFY(standby.last()->replication->cancelledUnavailable.isEmpty());

        // The JSON carries it all, and reads back.
        const QJsonObject json = htap::monitor::toJson(standby.samples.last());
        QVERIFY(json.value(u"replication"_s).toObject().contains(u"heartbeatAgeSeconds"_s));
        QVERIFY(json.value(u"replication"_s).toObject().value(u"conflicts"_s).toObject().value(u"snapshot"_s).toInteger() >= 1);

        // The page: a standby's side with the cancelled report, a primary's with the standby.
        htap::ui::ReplicationPage standbyPage;
        for (const ServerSample& s : std::as_const(standby.samples))
            standbyPage.addSample(s);
        QVERIFY(standbyPage.cancelled()->rowCount() >= 1);
        QVERIFY2(standbyPage.summary().contains(u"Recovery conflicts"_s), qPrintable(standbyPage.summary()));
        QVERIFY2(standbyPage.summary().contains(u"readers see data"_s), qPrintable(standbyPage.summary()));
        htap::ui::ReplicationPage primaryPage;
        primaryPage.addSample(*primary.last());
        QCOMPARE(primaryPage.standbys()->rowCount(), 1);
        QCOMPARE(primaryPage.standbys()->data(primaryPage.standbys()->index(0, 0), Qt::DisplayRole).toString(), name);
    }

    void feedbackHoldsThePrimarysHorizon()
    {
        // hot_standby_feedback on: a report's snapshot on the standby holds the primary's xmin
        // horizon through the standby's slot, and the Vacuum page says which standby.
        Sandbox primarySandbox = htap::test::testSandbox();
        QString error, dir;
        QVERIFY2(primarySandbox.addStandby(&dir, 0, true, {}, &error), qPrintable(error));
        const auto removeStandby = qScopeGuard([&] {
            QString e;
            primarySandbox.removeStandby(dir, &e);
        });
        const QString name = QFileInfo(dir).fileName();
        Connection report;
        QVERIFY(!report.open(Sandbox(dir).connInfo().with(u"user"_s, u"olap_user"_s)));
        QVERIFY(report.exec(u"BEGIN ISOLATION LEVEL REPEATABLE READ"_s).ok());
        QVERIFY(report.exec(u"SELECT count(*) FROM orders"_s).ok());
        Watched primary(primarySandbox.connInfo());
        const auto standbyHold = [&]() -> const htap::monitor::XminHolder* {
            if (!primary.last() || !primary.last()->vacuum)
                return nullptr;
            for (const auto& h : primary.last()->vacuum->holders)
                if (h.kind == u"slot_xmin"_s && h.detail.contains(name))
                    return &h;
            return nullptr;
        };
        // Feedback travels every wal_receiver_status_interval (10 s) at most.
        QTRY_VERIFY_WITH_TIMEOUT(standbyHold() != nullptr, 30000);
        QVERIFY(standbyHold()->detail.startsWith(u"hot_standby_feedback of standby"_s));
        htap::ui::VacuumPage page;
        page.addSample(*primary.last());
        const QString summary = page.findChild<QLabel*>()->text();
        QVERIFY2(summary.contains(u"standby %1 holds the horizon back"_s.arg(name)), qPrintable(summary));
        report.exec(u"COMMIT"_s);
    }
};

QTEST_MAIN(TestReplication)
#include "tst_replication.moc"
