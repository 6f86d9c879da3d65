// Scenarios across the topology (issue 24, item 5): workloads that read from the sandbox's
// standby or through the router, with a real standby of the test sandbox. Validation of the
// bad inputs, a run that needs a standby and has none, a short run with per-target counts and
// the standby sampled every second, and a standby that goes away mid-run.
#include "testutil.h"

#include <workload/runner.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QScopeGuard>

using namespace Qt::StringLiterals;
using namespace htap::workload;
using htap::pg::Sandbox;

namespace {

QByteArray scenarioJson(const QString& workloads, const QString& phases)
{
    return uR"({"format": "htap-scenario", "version": 1, "name": "t", "seed": 3, "workloads": {%1}, "phases": [%2]})"_s
        .arg(workloads, phases)
        .toUtf8();
}

const QString kOrders = uR"("orders": {"kind": "order", "arrival": {"model": "open", "process": "constant"}, "connections": 2, "role": "oltp_user"})"_s;
const QString kOnStandby = uR"("on_standby": {"kind": "report", "reports": ["hourly", "category"], "target": "standby",
    "arrival": {"model": "open", "process": "constant"}, "connections": 2, "role": "olap_user"})"_s;
const QString kRouted = uR"("routed": {"kind": "report", "reports": ["hourly_mv", "hourly", "category"], "target": "router",
    "freshness_s": 30, "arrival": {"model": "open", "process": "constant"}, "connections": 3, "role": "olap_user"})"_s;

Scenario parse(const QByteArray& json)
{
    Scenario s;
    QStringList errors;
    if (!Scenario::fromJson(json, &s, &errors, nullptr))
        qWarning("%s", qPrintable(errors.join(u"; "_s)));
    return s;
}

ScenarioResult runToEnd(const Scenario& s, QString* failure, const std::function<void(const SecondStats&)>& onSecond = {},
    const htap::pg::ConnInfo& standby = {})
{
    ScenarioRunner runner;
    runner.setStandby(standby);
    ScenarioResult result;
    bool done = false;
    QObject::connect(&runner, &ScenarioRunner::finished, [&](const ScenarioResult& r) {
        result = r;
        done = true;
    });
    QObject::connect(&runner, &ScenarioRunner::failedToStart, [&](const QString& m) {
        *failure = m;
        done = true;
    });
    if (onSecond)
        QObject::connect(&runner, &ScenarioRunner::secondAvailable, onSecond);
    runner.start(s, htap::test::sandboxConnInfo());
    if (!QTest::qWaitFor([&] { return done; }, int(s.totalSeconds() * 1000) + 60000))
        qWarning("the run did not finish");
    return result;
}

qint64 requests(const WorkloadStats& w)
{
    return w.committed + w.rolledBack + w.failed;
}

} // namespace

class TestScenarioTopology : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void badTargets_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("error");
        const QString phase = uR"({"durationSeconds": 1, "rates": {"w": 1}})"_s;
        QTest::newRow("an order on the standby")
            << scenarioJson(uR"("w": {"kind": "order", "target": "standby", "arrival": {"model": "open"}})"_s, phase)
            << u"$.workloads.w.target: an order workload writes: it runs on the primary"_s;
        QTest::newRow("an order through the router")
            << scenarioJson(uR"("w": {"kind": "order", "target": "router", "arrival": {"model": "open"}})"_s, phase)
            << u"$.workloads.w.target: an order workload writes"_s;
        QTest::newRow("a refresh on the standby")
            << scenarioJson(uR"("w": {"kind": "refresh", "views": ["sales_hourly_mv"], "mode": "plain", "target": "standby", "arrival": {"model": "closed"}, "connections": 1})"_s,
                   uR"({"durationSeconds": 1, "rates": {"w": 1}})"_s)
            << u"$.workloads.w.target: a refresh workload writes"_s;
        QTest::newRow("an unknown target")
            << scenarioJson(uR"("w": {"kind": "report", "reports": ["hourly"], "target": "replica", "arrival": {"model": "open"}})"_s, phase)
            << u"$.workloads.w.target: must be one of primary, standby, router, not \"replica\""_s;
        QTest::newRow("a budget without the router")
            << scenarioJson(uR"("w": {"kind": "report", "reports": ["hourly"], "target": "standby", "freshness_s": 2, "arrival": {"model": "open"}})"_s, phase)
            << u"$.workloads.w.freshness_s: applies to target router only"_s;
        QTest::newRow("a negative budget")
            << scenarioJson(uR"("w": {"kind": "report", "reports": ["hourly"], "target": "router", "freshness_s": -1, "arrival": {"model": "open"}})"_s, phase)
            << u"$.workloads.w.freshness_s:"_s;
    }
    void badTargets()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, error);
        Scenario s;
        QStringList errors;
        QVERIFY(!Scenario::fromJson(json, &s, &errors, nullptr));
        QVERIFY2(std::any_of(errors.cbegin(), errors.cend(), [&](const QString& e) { return e.startsWith(error); }),
            qPrintable(errors.join(u"\n"_s)));
    }

    void targetsRoundTrip()
    {
        const Scenario s = parse(scenarioJson(kOrders + u","_s + kOnStandby + u","_s + kRouted,
            uR"({"durationSeconds": 1, "rates": {"orders": 1, "on_standby": 1, "routed": 1}})"_s));
        QCOMPARE(s.workload(u"on_standby"_s)->target, Workload::Target::Standby);
        QCOMPARE(s.workload(u"routed"_s)->freshnessSeconds, 30.0);
        const QJsonObject j = s.toJson();
        // The default stays implicit: a file without standbys reads as it did.
        QVERIFY(!j.value(u"workloads"_s).toObject().value(u"orders"_s).toObject().contains(u"target"_s));
        const Scenario back = parse(QJsonDocument(j).toJson());
        QCOMPARE(back.workload(u"routed"_s)->target, Workload::Target::Router);
        QCOMPARE(back.workload(u"routed"_s)->freshnessSeconds, 30.0);
        QCOMPARE(back.workload(u"on_standby"_s)->target, Workload::Target::Standby);
    }

    void needsAStandbyItDoesNotHave()
    {
        // The test sandbox has no standby (the tests that add one remove it).
        const Scenario s = parse(scenarioJson(kOrders + u","_s + kOnStandby, uR"({"durationSeconds": 2, "rates": {"orders": 5, "on_standby": 1}})"_s));
        QString failure;
        const ScenarioResult r = runToEnd(s, &failure);
        QVERIFY2(failure.contains(u"targets the standby"_s) && failure.contains(u"htapctl sandbox add-standby"_s)
                && failure.contains(u"--standby"_s),
            qPrintable(failure));
        QVERIFY(r.seconds.isEmpty()); // nothing ran

        failure.clear();
        const Scenario routed = parse(scenarioJson(kRouted, uR"({"durationSeconds": 2, "rates": {"routed": 3}})"_s));
        // The router without a standby sends its reads to the primary (or a view), and says why.
        const ScenarioResult rr = runToEnd(routed, &failure);
        QVERIFY2(failure.isEmpty(), qPrintable(failure));
        QVERIFY(rr.standby.isEmpty());
        QCOMPARE(rr.routes.size(), 3);
        for (const StatementRoute& route : rr.routes)
            QVERIFY2(route.target != u"standby"_s, qPrintable(route.reason));
        QVERIFY(rr.summary.value(u"routed"_s).committed > 0);
    }

    void runsAcrossTheTopology()
    {
        Sandbox primary = htap::test::testSandbox();
        QString error, dir;
        QVERIFY2(primary.addStandby(&dir, 0, false, {}, &error), qPrintable(error));
        const auto removeStandby = qScopeGuard([&] {
            QString e;
            primary.removeStandby(dir, &e);
        });
        const QString name = QFileInfo(dir).fileName();
        // Streaming and caught up, as the router needs to know its lag.
        htap::pg::Connection primaryConn;
        QVERIFY(!primaryConn.open(htap::test::sandboxConnInfo()));
        QTRY_VERIFY_WITH_TIMEOUT(primaryConn.exec(u"SELECT count(*) FROM pg_stat_replication WHERE application_name = $1 "
                                                  "AND state = 'streaming' AND replay_lsn = pg_current_wal_lsn()"_s, {name})
                                         .toInt64(0, 0) == 1,
            20000);

        const Scenario s = parse(scenarioJson(kOrders + u","_s + kOnStandby + u","_s + kRouted,
            uR"({"name": "all", "durationSeconds": 5, "rates": {"orders": 20, "on_standby": 4, "routed": 6}})"_s));
        QString failure;
        const ScenarioResult r = runToEnd(s, &failure);
        QVERIFY2(failure.isEmpty(), qPrintable(failure));
        QVERIFY2(!r.partial, qPrintable(r.stopReason));
        QCOMPARE(r.standby, name);

        // Orders on the primary, untouched by where the reports go.
        const WorkloadStats orders = r.summary.value(u"orders"_s);
        QVERIFY(orders.committed + orders.rolledBack > 50);
        QCOMPARE(orders.failed, 0);
        QVERIFY(orders.targets.isEmpty());
        // The standby workload: every request on the standby.
        const WorkloadStats onStandby = r.summary.value(u"on_standby"_s);
        QVERIFY2(onStandby.failed == 0, qPrintable(QStringList(onStandby.failedBySqlstate.keys()).join(u", "_s)));
        QCOMPARE(onStandby.targets.keys(), QStringList {u"standby"_s});
        QCOMPARE(onStandby.targets.value(u"standby"_s).committed, onStandby.committed);
        QVERIFY(onStandby.committed >= 15);
        // The router workload: each statement decided once, its requests counted where it went.
        const WorkloadStats routed = r.summary.value(u"routed"_s);
        QCOMPARE(routed.failed, 0);
        QSet<QString> decided;
        QStringList reasons;
        int routedStatements = 0;
        for (const StatementRoute& route : r.routes) {
            if (route.workload != u"routed"_s)
                continue;
            ++routedStatements;
            QVERIFY2(!route.reason.isEmpty(), qPrintable(route.statement));
            decided.insert(route.target);
            reasons << route.statement + u": "_s + route.reason;
            if (route.target == u"view"_s)
                QVERIFY(!route.rewrittenSql.isEmpty());
        }
        QCOMPARE(routedStatements, 3);
        // The standby is streaming and fresh within 30 s: some read goes there.
        QVERIFY2(decided.contains(u"standby"_s), qPrintable(reasons.join(u"\n"_s)));
        QCOMPARE(QSet<QString>(routed.targets.keyBegin(), routed.targets.keyEnd()), decided);
        qint64 perTarget = 0;
        for (const TargetStats& t : routed.targets) {
            QVERIFY(t.committed > 0);
            perTarget += t.committed + t.failed;
        }
        QCOMPARE(perTarget, requests(routed));

        // Every second sampled the standby: its data age (heartbeat) and lag, never negative.
        QVERIFY(r.seconds.size() >= 5);
        int aged = 0;
        for (const SecondStats& sec : r.seconds) {
            QVERIFY(sec.replica.sampled);
            QVERIFY(sec.replica.dataAgeSeconds >= 0 || sec.second == 1);
            if (sec.replica.dataAgeSeconds >= 0) {
                ++aged;
                QVERIFY2(sec.replica.dataAgeSeconds < 10, qPrintable(QString::number(sec.replica.dataAgeSeconds)));
            }
            QVERIFY(sec.replica.replayLagSeconds >= -1);
            QVERIFY(sec.replica.conflicts >= 0);
        }
        QVERIFY(aged >= 4);
        QCOMPARE(r.phases.size(), 1);
        QVERIFY(r.phases[0].replica.samples >= 5);
        QVERIFY(r.phases[0].replica.dataAgeP99 >= 0);
        const QJsonObject json = r.toJson();
        QCOMPARE(json.value(u"standby"_s).toObject().value(u"name"_s).toString(), name);
        QCOMPARE(json.value(u"routes"_s).toArray().size(), 5); // 2 standby statements, 3 routed
        QVERIFY(json.value(u"workloads"_s).toObject().value(u"routed"_s).toObject().value(u"summary"_s).toObject()
                    .value(u"targets"_s).isObject());

        // The standby goes away mid-run (given by conninfo this time): its workload's requests
        // fail and are counted, the orders go on.
        const Scenario s2 = parse(scenarioJson(kOrders + u","_s + kOnStandby,
            uR"({"name": "gone", "durationSeconds": 5, "rates": {"orders": 20, "on_standby": 4}})"_s));
        bool stopped = false;
        const ScenarioResult gone = runToEnd(s2, &failure, [&](const SecondStats& sec) {
            if (sec.second == 2 && !stopped) {
                QString e;
                stopped = Sandbox(dir).stop(&e);
                QVERIFY2(stopped, qPrintable(e));
            }
        }, Sandbox(dir).connInfo());
        QVERIFY2(failure.isEmpty(), qPrintable(failure));
        QVERIFY(stopped);
        QVERIFY2(!gone.partial, qPrintable(gone.stopReason));
        const WorkloadStats lost = gone.summary.value(u"on_standby"_s);
        QVERIFY(lost.committed > 0);
        QVERIFY2(lost.failed > 0, "the standby's requests after it stopped were not counted as failures");
        QCOMPARE(lost.targets.value(u"standby"_s).failed, lost.failed);
        const WorkloadStats kept = gone.summary.value(u"orders"_s);
        QCOMPARE(kept.failed, 0);
        QVERIFY(kept.committed + kept.rolledBack > 50);
        QVERIFY(!gone.seconds.last().replica.reachable);
    }
};

QTEST_GUILESS_MAIN(TestScenarioTopology)
#include "tst_scenariotopology.moc"
