// Scenarios: validation of bad files (each error names its JSON path), and real runs on the
// sandbox: open loop reaching its rate with counts matching the server's, closed loop, the
// three forms of the order transaction, and a server stopped mid-run.
#include "testutil.h"

#include <mv/mvservice.h>
#include <pg/identifier.h>
#include <workload/comparison.h>
#include <workload/runner.h>
#include <workload/seededrandom.h>

#include <QJsonArray>
#include <QRandomGenerator>
#include <QFile>
#include <QJsonDocument>
#include <QSet>

#include <sys/stat.h>

using namespace Qt::StringLiterals;
using namespace htap::workload;

namespace {
QByteArray scenarioJson(const QString& workloads, const QString& phases)
{
    return uR"({"format": "htap-scenario", "version": 1, "name": "t", "seed": 1, "workloads": {%1}, "phases": [%2]})"_s
        .arg(workloads, phases)
        .toUtf8();
}

const QString kOrders = uR"("orders": {"kind": "order", "arrival": {"model": "open", "process": "constant"}, "connections": 2, "role": "oltp_user"})"_s;

/// A scratch folder holding one user SQL file for a sql workload; empty when it cannot be written.
QString sqlFileIn(const QString& folder, const QString& name, const QByteArray& sql)
{
    const QString dir = htap::test::scratchDir(folder);
    QFile file(dir + u'/' + name);
    if (!QDir().mkpath(dir) || !file.open(QIODevice::WriteOnly) || file.write(sql) != sql.size())
        return {};
    return dir;
}

/// The three forms of the order transaction, as a "form" column.
void addOrderForms()
{
    QTest::addColumn<QString>("form");
    QTest::newRow("one statement per round trip") << u"roundtrip"_s;
    QTest::newRow("pipelined") << u"pipeline"_s;
    QTest::newRow("one CTE statement") << u"cte"_s;
}

ScenarioResult runToEnd(const Scenario& s, const htap::pg::ConnInfo& info, QString* failure = nullptr,
    const std::function<void(ScenarioRunner&, const SecondStats&)>& onSecond = {})
{
    ScenarioRunner runner;
    ScenarioResult result;
    bool done = false;
    QObject::connect(&runner, &ScenarioRunner::finished, [&](const ScenarioResult& r) {
        result = r;
        done = true;
    });
    QObject::connect(&runner, &ScenarioRunner::failedToStart, [&](const QString& m) {
        if (failure)
            *failure = m;
        done = true;
    });
    if (onSecond)
        QObject::connect(&runner, &ScenarioRunner::secondAvailable, [&](const SecondStats& st) { onSecond(runner, st); });
    runner.start(s, info);
    if (!QTest::qWaitFor([&] { return done; }, int(s.totalSeconds() * 1000) + 60000))
        qWarning("the run did not finish");
    return result;
}
} // namespace

class TestScenario : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void presetsAreValid()
    {
        QVERIFY(presetNames().contains(u"smoke"_s));
        QVERIFY(presetNames().contains(u"steady-mixed"_s));
        for (const QString& name : presetNames()) {
            Scenario s;
            QStringList errors, warnings;
            QVERIFY2(Scenario::fromJson(presetJson(name), &s, &errors, &warnings), qPrintable(name + u": "_s + errors.join(u"; "_s)));
            QVERIFY(s.totalSeconds() > 0);
        }
    }

    void drawsAreQRandomGenerators()
    {
        // A scenario's seed gives the draws it gave when orders were drawn with QRandomGenerator.
        for (const quint32 seed : {0u, 1u, 7u, 52u, 0xdeadbeefu}) {
            QRandomGenerator qt(seed);
            SeededRandom ours(seed);
            for (int i = 0; i < 20000; ++i) {
                const quint64 highest = std::array<quint64, 6> {1, 3, 1000, 4294967295ULL, 4294967296ULL, 12'000'000'000ULL}[i % 6];
                QCOMPARE(ours.bounded(highest), qt.bounded(highest));
                QCOMPARE(ours.bounded(1 + i % 5), qt.bounded(1 + i % 5));
                QCOMPARE(ours.generateDouble(), qt.generateDouble());
                QCOMPARE(ours.generate(), qt.generate());
            }
        }
    }

    void badScenarios_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("error");
        QTest::newRow("invalid JSON") << QByteArray("{\"format\": \n  \"htap-scenario\",, }") << u"$: invalid JSON at line 2"_s;
        QTest::newRow("not an object") << QByteArray("[1, 2]") << u"$: must be a JSON object"_s;
        QTest::newRow("wrong format") << QByteArray(R"({"format": "x", "version": 1, "name": "t", "workloads": {}, "phases": []})") << u"$.format: must be \"htap-scenario\""_s;
        QTest::newRow("newer version") << scenarioJson(kOrders, u"{}"_s).replace("\"version\": 1", "\"version\": 2") << u"$.version: must be 1"_s;
        QTest::newRow("unknown key") << scenarioJson(kOrders, uR"({"name": "a", "durationSeconds": 5, "rates": {"orders": 1}, "colour": "red"})"_s)
                                     << u"$.phases[0].colour: unknown key"_s;
        QTest::newRow("unknown workload key") << scenarioJson(uR"("o": {"kind": "order", "arrival": {"model": "open"}, "clients": 3})"_s, u"{\"durationSeconds\": 1, \"rates\": {\"o\": 1}}"_s)
                                              << u"$.workloads.o.clients: unknown key"_s;
        QTest::newRow("negative rate") << scenarioJson(kOrders, uR"({"name": "a", "durationSeconds": 5, "rates": {"orders": -3}})"_s)
                                       << u"$.phases[0].rates.orders: must be above zero"_s;
        QTest::newRow("zero rate") << scenarioJson(kOrders, uR"({"name": "a", "durationSeconds": 5, "rates": {"orders": 0}})"_s)
                                   << u"$.phases[0].rates.orders: must be above zero"_s;
        QTest::newRow("ramp without target") << scenarioJson(kOrders, uR"({"name": "a", "durationSeconds": 5, "rates": {"orders": {"from": 1}}})"_s)
                                             << u"$.phases[0].rates.orders: a ramp needs both \"from\" and \"to\""_s;
        QTest::newRow("zero duration") << scenarioJson(kOrders, uR"({"name": "a", "durationSeconds": 0, "rates": {"orders": 1}})"_s)
                                       << u"$.phases[0].durationSeconds: must be a number above 0 and at most 604800, not 0"_s;
        QTest::newRow("no phases") << scenarioJson(kOrders, QString()) << u"$.phases: must be a list of one or more phases"_s;
        QTest::newRow("unknown workload in a phase") << scenarioJson(kOrders, uR"({"name": "a", "durationSeconds": 5, "rates": {"ordres": 1}})"_s)
                                                     << u"$.phases[0].rates.ordres: no workload named \"ordres\""_s;
        QTest::newRow("bad kind") << scenarioJson(uR"("w": {"kind": "batch", "arrival": {"model": "open"}})"_s, u"{\"durationSeconds\": 1, \"rates\": {\"w\": 1}}"_s)
                                  << u"$.workloads.w.kind: must be one of order, report, sql, refresh, not \"batch\""_s;
        QTest::newRow("refresh without views") << scenarioJson(uR"("r": {"kind": "refresh", "mode": "plain", "arrival": {"model": "closed"}, "connections": 1})"_s, u"{\"durationSeconds\": 1, \"rates\": {\"r\": 1}}"_s)
                                               << u"$.workloads.r.views: must list one or more materialized views"_s;
        QTest::newRow("refresh isolation") << scenarioJson(uR"("r": {"kind": "refresh", "views": ["v"], "mode": "plain", "isolation": "repeatable read", "arrival": {"model": "closed"}, "connections": 1})"_s, u"{\"durationSeconds\": 1, \"rates\": {\"r\": 1}}"_s)
                                           << u"$.workloads.r.isolation: a refresh runs in read committed; leave isolation out or give \"read committed\""_s;
        QTest::newRow("refresh without mode") << scenarioJson(uR"("r": {"kind": "refresh", "views": ["v"], "arrival": {"model": "closed"}, "connections": 1})"_s, u"{\"durationSeconds\": 1, \"rates\": {\"r\": 1}}"_s)
                                              << u"$.workloads.r.mode: is required for kind refresh"_s;
        QTest::newRow("refresh bad mode") << scenarioJson(uR"("r": {"kind": "refresh", "views": ["v"], "mode": "fast", "arrival": {"model": "closed"}, "connections": 1})"_s, u"{\"durationSeconds\": 1, \"rates\": {\"r\": 1}}"_s)
                                          << u"$.workloads.r.mode: must be one of plain, concurrent, incremental"_s;
        QTest::newRow("views on orders") << scenarioJson(uR"("o": {"kind": "order", "views": ["v"], "arrival": {"model": "open"}})"_s, u"{\"durationSeconds\": 1, \"rates\": {\"o\": 1}}"_s)
                                         << u"$.workloads.o.views: applies to kind refresh only"_s;
        QTest::newRow("unknown report") << scenarioJson(uR"("r": {"kind": "report", "reports": ["hourly", "weekly"], "arrival": {"model": "open"}})"_s, u"{\"durationSeconds\": 1, \"rates\": {\"r\": 1}}"_s)
                                        << u"$.workloads.r.reports[1]: unknown report \"weekly\""_s;
        QTest::newRow("missing sql file") << scenarioJson(uR"("s": {"kind": "sql", "sqlFile": "/nonexistent/q.sql", "arrival": {"model": "open"}})"_s, u"{\"durationSeconds\": 1, \"rates\": {\"s\": 1}}"_s)
                                          << u"$.workloads.s.sqlFile: cannot read \"/nonexistent/q.sql\": no such file"_s;
        QTest::newRow("bad isolation") << scenarioJson(uR"("o": {"kind": "order", "isolation": "snapshot", "arrival": {"model": "open"}})"_s, u"{\"durationSeconds\": 1, \"rates\": {\"o\": 1}}"_s)
                                       << u"$.workloads.o.isolation: must be one of read committed, repeatable read, serializable"_s;
        QTest::newRow("closed with a ramp") << scenarioJson(uR"("c": {"kind": "order", "arrival": {"model": "closed"}, "connections": 2})"_s, uR"({"durationSeconds": 1, "rates": {"c": {"from": 1, "to": 2}}})"_s)
                                            << u"$.phases[0].rates.c: a closed-loop workload takes a number of clients, not a ramp"_s;
        QTest::newRow("closed beyond its connections") << scenarioJson(uR"("c": {"kind": "order", "arrival": {"model": "closed"}, "connections": 2})"_s, uR"({"durationSeconds": 1, "rates": {"c": 5}})"_s)
                                                       << u"$.phases[0].rates.c: a closed-loop workload takes a whole number of clients"_s;
        QTest::newRow("hold on orders") << scenarioJson(uR"("o": {"kind": "order", "arrival": {"model": "open"}, "holdSeconds": 5})"_s, u"{\"durationSeconds\": 1, \"rates\": {\"o\": 1}}"_s)
                                        << u"$.workloads.o.holdSeconds: applies to report and sql workloads"_s;
        QTest::newRow("unknown profile set") << QByteArray(R"({"format": "htap-scenario", "version": 1, "name": "t", "compare_profiles": "no-such-set", "workloads": {"o": {"kind": "order", "arrival": {"model": "open"}}}, "phases": [{"durationSeconds": 1, "rates": {"o": 1}}]})")
                                             << u"$.compare_profiles: no profile set \"no-such-set\""_s;
        // Read unbounded once: /dev/zero ran out of memory, a FIFO waited forever.
        QTest::newRow("profile set from a device") << QByteArray(R"({"format": "htap-scenario", "version": 1, "name": "t", "compare_profiles": "/dev/zero", "workloads": {"o": {"kind": "order", "arrival": {"model": "open"}}}, "phases": [{"durationSeconds": 1, "rates": {"o": 1}}]})")
                                                   << u"$.compare_profiles: cannot read profile file /dev/zero: it is a device, not a regular file"_s;
        QTest::newRow("items reversed") << scenarioJson(uR"("o": {"kind": "order", "items": {"min": 4, "max": 2}, "arrival": {"model": "open"}})"_s, u"{\"durationSeconds\": 1, \"rates\": {\"o\": 1}}"_s)
                                        << u"$.workloads.o.items: must be whole numbers of items from 1 to 50, min not above max"_s;
        QTest::newRow("items on reports") << scenarioJson(uR"("r": {"kind": "report", "reports": ["hourly"], "items": 3, "arrival": {"model": "open"}})"_s, u"{\"durationSeconds\": 1, \"rates\": {\"r\": 1}}"_s)
                                          << u"$.workloads.r.items: applies to kind order only"_s;
        QTest::newRow("fractional threads") << QByteArray(R"({"format": "htap-scenario", "version": 1, "name": "t", "threads": 1.5, "workloads": {"o": {"kind": "order", "arrival": {"model": "open"}}}, "phases": [{"durationSeconds": 1, "rates": {"o": 1}}]})")
                                            << u"$.threads: must be a whole number"_s;
        QTest::newRow("zero connections") << scenarioJson(uR"("o": {"kind": "order", "arrival": {"model": "open"}, "connections": 0})"_s, u"{\"durationSeconds\": 1, \"rates\": {\"o\": 1}}"_s)
                                          << u"$.workloads.o.connections: must be a number from 1 to 500, not 0"_s;
        QTest::newRow("rate beyond what can be scheduled") << scenarioJson(kOrders, uR"({"name": "a", "durationSeconds": 5, "rates": {"orders": 1e308}})"_s)
                                                           << u"$.phases[0].rates.orders: 1e+308/s is more than the 1000000/s a workload can be scheduled at"_s;
        QTest::newRow("ramp beyond what can be scheduled") << scenarioJson(kOrders, uR"({"name": "a", "durationSeconds": 5, "rates": {"orders": {"from": 1, "to": 2e6}}})"_s)
                                                           << u"$.phases[0].rates.orders: 2e+06/s is more than the 1000000/s"_s;
        QTest::newRow("a number too large for a double") << scenarioJson(kOrders, uR"({"name": "a", "durationSeconds": 1e400, "rates": {"orders": 1}})"_s)
                                                         << u"$: invalid JSON at line 1"_s; // Qt refuses it: illegal number
        QTest::newRow("a run longer than 30 days") << scenarioJson(kOrders, uR"({"name": "a", "durationSeconds": 604800, "rates": {"orders": 1}}, {"name": "b", "durationSeconds": 604800, "rates": {"orders": 1}}, {"name": "c", "durationSeconds": 604800, "rates": {"orders": 1}}, {"name": "d", "durationSeconds": 604800, "rates": {"orders": 1}}, {"name": "e", "durationSeconds": 604800, "rates": {"orders": 1}})"_s)
                                                   << u"$.phases: the run would last 3.024e+06 s, more than the 30 days a run may last"_s;
        QTest::newRow("negative seed") << QByteArray(R"({"format": "htap-scenario", "version": 1, "name": "t", "seed": -1, "workloads": {"o": {"kind": "order", "arrival": {"model": "open"}}}, "phases": [{"durationSeconds": 1, "rates": {"o": 1}}]})")
                                       << u"$.seed: must be a number from 0 to"_s;
        QTest::newRow("rate as a string") << scenarioJson(kOrders, uR"({"name": "a", "durationSeconds": 5, "rates": {"orders": "nan"}})"_s)
                                          << u"$.phases[0].rates.orders: must be a rate (a number) or a ramp"_s;
        QTest::newRow("duration as a string") << scenarioJson(kOrders, uR"({"name": "a", "durationSeconds": "NaN", "rates": {"orders": 1}})"_s)
                                              << u"$.phases[0].durationSeconds: must be a number"_s;
    }
    void badScenarios()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, error);
        Scenario s;
        QStringList errors, warnings;
        QVERIFY(!Scenario::fromJson(json, &s, &errors, &warnings));
        QVERIFY2(!errors.filter(error).isEmpty(), qPrintable(errors.join(u" | "_s)));
    }

    void sqlFilesStayInTheirFolder_data()
    {
        // A scenario file is not a way to send another file of this machine to a server.
        QTest::addColumn<QString>("sqlFile");
        QTest::addColumn<QString>("baseDir"); // "scenario": the scenario's folder, "": a built-in one
        QTest::addColumn<QStringList>("sqlDirs");
        QTest::addColumn<QString>("error"); // empty: accepted
        const QString base = htap::test::scratchDir(u"sqlfiles/scenario"_s);
        QTest::newRow("beside the scenario") << u"q.sql"_s << base << QStringList() << QString();
        QTest::newRow("in a subfolder") << u"sub/q.sql"_s << base << QStringList() << QString();
        QTest::newRow("up and out") << u"../outside.sql"_s << base << QStringList() << u"is outside the scenario's folder"_s;
        QTest::newRow("far up") << u"../../../../../../etc/passwd"_s << base << QStringList() << u"is outside the scenario's folder"_s;
        QTest::newRow("absolute") << u"/etc/passwd"_s << base << QStringList() << u"is outside the scenario's folder"_s;
        QTest::newRow("a link out") << u"link.sql"_s << base << QStringList() << u"is outside the scenario's folder"_s;
        QTest::newRow("a FIFO") << u"fifo.sql"_s << base << QStringList() << u"it is a pipe (FIFO), not a regular file"_s;
        QTest::newRow("a device, allowed folder") << u"zero"_s << base << QStringList {u"/dev"_s} << u"it is a device, not a regular file"_s;
        QTest::newRow("larger than 1 MiB") << u"big.sql"_s << base << QStringList() << u"is too large"_s;
        QTest::newRow("a folder") << u"sub"_s << base << QStringList() << u"it is a folder"_s;
        // Found by tests/fuzz (fuzz_scenario): the ';' was cut after the check for an empty file.
        QTest::newRow("only a semicolon") << u"semicolon.sql"_s << base << QStringList() << u"semicolon.sql is empty"_s;
        QTest::newRow("outside, folder allowed") << u"../outside.sql"_s << base
                                                 << QStringList {QFileInfo(base).path()} << QString();
        QTest::newRow("built-in, no folder") << u"q.sql"_s << QString() << QStringList() << u"a built-in scenario has no folder"_s;
        QTest::newRow("built-in, folder allowed") << u"q.sql"_s << QString() << QStringList {base} << QString();
    }
    void sqlFilesStayInTheirFolder()
    {
        QFETCH(QString, sqlFile);
        QFETCH(QString, baseDir);
        QFETCH(QStringList, sqlDirs);
        QFETCH(QString, error);
        const QString base = htap::test::scratchDir(u"sqlfiles/scenario"_s);
        QVERIFY(QDir().mkpath(base + u"/sub"_s));
        auto write = [](const QString& path, const QByteArray& bytes) {
            QFile f(path);
            return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
        };
        QVERIFY(write(base + u"/q.sql"_s, "SELECT 1"));
        QVERIFY(write(base + u"/sub/q.sql"_s, "SELECT 2"));
        QVERIFY(write(QFileInfo(base).path() + u"/outside.sql"_s, "SELECT 3"));
        QVERIFY(write(base + u"/big.sql"_s, QByteArray(1100000, ' ') + "SELECT 4"));
        QVERIFY(write(base + u"/semicolon.sql"_s, " ;\n"));
        QFile::remove(base + u"/link.sql"_s);
        QVERIFY(QFile::link(QFileInfo(base).path() + u"/outside.sql"_s, base + u"/link.sql"_s));
        if (!QFileInfo::exists(base + u"/fifo.sql"_s))
            QCOMPARE(::mkfifo(QFile::encodeName(base + u"/fifo.sql"_s).constData(), 0600), 0);
        const QByteArray json = uR"({"format": "htap-scenario", "version": 1, "name": "t",
                 "workloads": {"s": {"kind": "sql", "sqlFile": "%1", "arrival": {"model": "open"}}},
                 "phases": [{"durationSeconds": 1, "rates": {"s": 1}}]})"_s.arg(sqlFile).toUtf8();
        Scenario s;
        QStringList errors, warnings;
        const bool ok = Scenario::fromJson(json, &s, &errors, &warnings, baseDir, sqlDirs);
        if (error.isEmpty()) {
            QVERIFY2(ok, qPrintable(errors.join(u" | "_s)));
            QVERIFY(s.workloads.first().sqlText.startsWith(u"SELECT"_s));
        } else {
            QVERIFY(!ok);
            QVERIFY2(!errors.filter(u"$.workloads.s.sqlFile: "_s).filter(error).isEmpty(), qPrintable(errors.join(u" | "_s)));
        }
    }

    void resizingAWorkload()
    {
        // What the Scenarios page's workloads table does: connections, then rates (open loop)
        // or clients (closed loop, whole, within the connections).
        Scenario s;
        QStringList errors, warnings;
        QVERIFY(Scenario::fromJson(scenarioJson(uR"("o": {"kind": "order", "arrival": {"model": "open"}, "connections": 4},
                                                    "c": {"kind": "order", "arrival": {"model": "closed"}, "connections": 4})"_s,
                                       uR"({"name": "a", "durationSeconds": 1, "rates": {"o": 10, "c": 4}}, {"name": "b", "durationSeconds": 1, "rates": {"o": {"from": 10, "to": 20}, "c": 1}})"_s),
            &s, &errors, &warnings));
        s.resizeWorkload(u"o"_s, 8, 1.5);
        QCOMPARE(s.workload(u"o"_s)->connections, 8);
        QCOMPARE(s.phases[0].demand.value(u"o"_s).from, 15.0);
        QCOMPARE(s.phases[1].demand.value(u"o"_s).to, 30.0);
        s.resizeWorkload(u"c"_s, 2, 0.4);
        QCOMPARE(s.workload(u"c"_s)->connections, 2);
        QCOMPARE(s.phases[0].demand.value(u"c"_s).from, 2.0); // 4 x 0.4 = 1.6 -> 2, within 2 connections
        QCOMPARE(s.phases[1].demand.value(u"c"_s).from, 1.0); // never below one client
        // The result still validates.
        QVERIFY2(Scenario::fromJson(QJsonDocument(s.toJson()).toJson(), &s, &errors, &warnings), qPrintable(errors.join(u"; "_s)));
    }

    void rateBeyondTheBudgetIsAWarning()
    {
        Scenario s;
        QStringList errors, warnings;
        QVERIFY(Scenario::fromJson(scenarioJson(kOrders, uR"({"name": "a", "durationSeconds": 5, "rates": {"orders": 100000}})"_s), &s, &errors, &warnings));
        QVERIFY2(!warnings.filter(u"$.phases[0].rates.orders: 100000/s from 2 connections"_s).isEmpty(), qPrintable(warnings.join(u" | "_s)));
    }

    void openLoopReachesItsRateAndCountsMatch_data() { addOrderForms(); }
    void openLoopReachesItsRateAndCountsMatch()
    {
        QFETCH(QString, form);
        const auto info = htap::test::sandboxConnInfo();
        htap::pg::Connection admin;
        QVERIFY(!admin.open(info));
        const qint64 ordersBefore = admin.exec(u"SELECT count(*) FROM orders"_s).toInt64(0, 0);
        const qint64 itemsBefore = admin.exec(u"SELECT count(*) FROM order_items"_s).toInt64(0, 0);
        Scenario s;
        QStringList errors, warnings;
        const QString orders = uR"("orders": {"kind": "order", "form": "%1", "arrival": {"model": "open", "process": "constant"}, "connections": 3, "role": "oltp_user"})"_s.arg(form);
        QVERIFY2(Scenario::fromJson(scenarioJson(orders, uR"({"name": "warm", "durationSeconds": 1, "warmup": true, "rates": {"orders": 20}}, {"name": "steady", "durationSeconds": 3, "rates": {"orders": 50}})"_s),
                     &s, &errors, &warnings),
            qPrintable(errors.join(u"; "_s)));
        QString failure;
        const ScenarioResult r = runToEnd(s, info, &failure);
        QVERIFY2(failure.isEmpty(), qPrintable(failure));
        QVERIFY(!r.partial);
        const WorkloadStats& w = r.summary.value(u"orders"_s);
        // 50/s for 3 s, constant arrivals: 150 requests, give or take the one at the edge, each
        // served or, on a box too busy to start it before the end (load 10: 57 of them), counted
        // as skipped: none lost.
        QVERIFY2(std::abs(w.committed + w.rolledBack + w.skipped - 150) <= 2,
            qPrintable(u"%1 served, %2 skipped"_s.arg(w.committed + w.rolledBack).arg(w.skipped)));
        QCOMPARE(w.failed, 0);
        QCOMPARE(w.targetRate, 50.0);
        QVERIFY(w.latency.p50 > 0 && w.latency.p99 >= w.latency.p50 && w.latency.max >= w.latency.p99);
        // Every committed order is in the table, with its items; rolled-back ones are not.
        const qint64 allCommitted = r.phases[0].workloads.value(u"orders"_s).committed + w.committed;
        QCOMPARE(admin.exec(u"SELECT count(*) FROM orders"_s).toInt64(0, 0) - ordersBefore, allCommitted);
        QVERIFY(admin.exec(u"SELECT count(*) FROM order_items"_s).toInt64(0, 0) - itemsBefore >= allCommitted);
        QVERIFY(r.serverCommitDelta >= allCommitted);
        QVERIFY(r.seconds.size() >= 4);
        const QJsonObject json = r.toJson();
        QCOMPARE(json.value(u"format"_s).toString(), u"htap-scenario-result"_s);
        const QJsonObject summary = json.value(u"workloads"_s).toObject().value(u"orders"_s).toObject().value(u"summary"_s).toObject();
        for (const QString& key : {u"committed"_s, u"failed"_s, u"tps"_s})
            QVERIFY(summary.contains(key));
        for (const QString& key : {u"p50"_s, u"p90"_s, u"p99"_s, u"p999"_s, u"max"_s})
            QVERIFY(summary.value(u"latency_ms"_s).toObject().contains(key));
        QVERIFY(r.toCsv().startsWith("second,at,phase,workload,"));
    }

    void refreshStrategiesRecordStaleness()
    {
        // Orders while a view is refreshed CONCURRENTLY, then merged incrementally: each phase
        // records the view's staleness, and the incremental phase switches the view first.
        const QByteArray json = scenarioJson(
            kOrders + uR"(, "conc": {"kind": "refresh", "views": ["sales_hourly_mv"], "mode": "concurrent", "arrival": {"model": "closed", "thinkMs": 500}, "connections": 1},
               "inc": {"kind": "refresh", "views": ["sales_hourly_mv"], "mode": "incremental", "arrival": {"model": "closed", "thinkMs": 300}, "connections": 1})"_s,
            uR"({"name": "concurrent", "durationSeconds": 4, "rates": {"orders": 50, "conc": 1}},
               {"name": "switch", "durationSeconds": 3, "warmup": true, "rates": {"orders": 50, "inc": 1}},
               {"name": "incremental", "durationSeconds": 4, "rates": {"orders": 50, "inc": 1}})"_s);
        Scenario s;
        QStringList errors, warnings;
        QVERIFY2(Scenario::fromJson(json, &s, &errors, &warnings), qPrintable(errors.join(u"; "_s)));
        const ScenarioResult r = runToEnd(s, htap::test::sandboxConnInfo());
        QCOMPARE(r.phases.size(), 3);
        QVERIFY(r.phases[0].workloads.value(u"conc"_s).committed >= 2);
        QCOMPARE(r.phases[0].workloads.value(u"conc"_s).failed, 0);
        QVERIFY(r.phases[2].workloads.value(u"inc"_s).committed >= 5);
        QCOMPARE(r.phases[2].workloads.value(u"inc"_s).failed, 0);
        const StalenessStats conc = r.phases[0].staleness.value(u"public.sales_hourly_mv"_s);
        const StalenessStats inc = r.phases[2].staleness.value(u"public.sales_hourly_mv"_s);
        QVERIFY(conc.samples >= 3);
        QVERIFY(inc.samples >= 3);
        QVERIFY2(inc.max < 3, qPrintable(QString::number(inc.max))); // merged every 0.3 s
        const QJsonObject phase = r.toJson().value(u"phases"_s).toArray().at(2).toObject();
        QVERIFY(phase.value(u"staleness"_s).toObject().contains(u"public.sales_hourly_mv"_s));
        // Leave the sandbox's view as it was.
        htap::pg::Connection c;
        QVERIFY(!c.open(htap::test::sandboxConnInfo()));
        QCOMPARE(htap::mv::MvService(c).disableIncremental(u"sales_hourly_mv"_s), QString());
    }

    void closedLoopAndReports()
    {
        Scenario s;
        QStringList errors, warnings;
        QVERIFY2(Scenario::fromJson(scenarioJson(uR"("orders": {"kind": "order", "arrival": {"model": "closed", "thinkMs": 5}, "connections": 2, "role": "oltp_user"}, "reports": {"kind": "report", "reports": ["hourly", "rfm"], "arrival": {"model": "open"}, "connections": 1, "role": "olap_user"})"_s,
                                         uR"({"name": "only", "durationSeconds": 3, "rates": {"orders": 2, "reports": 2}})"_s),
                     &s, &errors, &warnings),
            qPrintable(errors.join(u"; "_s)));
        const ScenarioResult r = runToEnd(s, htap::test::sandboxConnInfo());
        QVERIFY(r.summary.value(u"orders"_s).committed > 20);
        QVERIFY(r.summary.value(u"reports"_s).committed >= 2);
        QCOMPARE(r.summary.value(u"reports"_s).failed, 0);
    }

    void oneThreadServesEveryConnectionAtOnce()
    {
        // One client thread, four connections, each request a 0.4 s sleep on the server: the
        // server sees all four statements running at once (multiplexed, not one after another).
        const QString dir = sqlFileIn(u"multiplex"_s, u"sleep.sql"_s, "SELECT pg_sleep(0.4)");
        QVERIFY(!dir.isEmpty());
        Scenario s;
        QStringList errors, warnings;
        QVERIFY2(Scenario::fromJson(uR"({"format": "htap-scenario", "version": 1, "name": "t", "threads": 1,
                 "workloads": {"sleepers": {"kind": "sql", "sqlFile": "sleep.sql", "arrival": {"model": "closed"}, "connections": 4}},
                 "phases": [{"name": "run", "durationSeconds": 3, "rates": {"sleepers": 4}}]})"_s.toUtf8(),
                     &s, &errors, &warnings, dir),
            qPrintable(errors.join(u"; "_s)));
        QCOMPARE(s.threads, 1);
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        qint64 mostAtOnce = 0;
        int maxInFlight = 0;
        const auto threadsNow = [] { return QDir(u"/proc/self/task"_s).entryList(QDir::Dirs | QDir::NoDotAndDotDot).size(); };
        const qsizetype threadsBefore = threadsNow();
        qsizetype mostThreads = 0;
        const ScenarioResult r = runToEnd(s, htap::test::sandboxConnInfo(), nullptr, [&](ScenarioRunner&, const SecondStats& st) {
            mostThreads = std::max(mostThreads, threadsNow());
            maxInFlight = std::max(maxInFlight, st.workloads.value(u"sleepers"_s).inFlight);
            mostAtOnce = std::max(mostAtOnce, admin.exec(u"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'htap-studio olap sleepers' "
                                                         "AND state = 'active' AND wait_event = 'PgSleep'"_s).toInt64(0, 0));
        });
        QCOMPARE(mostAtOnce, 4);
        QCOMPARE(maxInFlight, 4);
        // The run's own threads: its coordinator and the one client thread.
        QVERIFY2(mostThreads - threadsBefore <= 2, qPrintable(u"%1 threads more"_s.arg(mostThreads - threadsBefore)));
        QCOMPARE(r.summary.value(u"sleepers"_s).failed, 0);
        QVERIFY(r.summary.value(u"sleepers"_s).committed >= 8);
        QCOMPARE(r.toJson().value(u"scenario"_s).toObject().value(u"threads"_s).toInt(), 1);
    }

    void overloadIsCountedNeverDropped_data()
    {
        QTest::addColumn<bool>("stopEarly");
        QTest::newRow("skipped when later than 50 ms") << false;
        QTest::newRow("stopped with a backlog") << true;
    }
    void overloadIsCountedNeverDropped()
    {
        // 200 requests a second of 20 ms each on one connection (about 50 a second): an open
        // loop does not slow down, so every arrival is either served, failed or counted as
        // skipped; none vanishes, also when the run is stopped with a backlog.
        QFETCH(bool, stopEarly);
        const QString dir = sqlFileIn(u"overload"_s, u"slow.sql"_s, "SELECT pg_sleep(0.02)");
        QVERIFY(!dir.isEmpty());
        Scenario s;
        QStringList errors, warnings;
        QVERIFY2(Scenario::fromJson(uR"({"format": "htap-scenario", "version": 1, "name": "t", "threads": 1,
                 "workloads": {"slow": {"kind": "sql", "sqlFile": "slow.sql", "arrival": {"model": "open", "process": "constant"},
                                        "connections": 1, "skipIfLaterThanMs": %1}},
                 "phases": [{"name": "run", "durationSeconds": 3, "rates": {"slow": 200}}]})"_s.arg(stopEarly ? 0 : 50).toUtf8(),
                     &s, &errors, &warnings, dir),
            qPrintable(errors.join(u"; "_s)));
        const ScenarioResult r = runToEnd(s, htap::test::sandboxConnInfo(), nullptr, [&](ScenarioRunner& runner, const SecondStats& st) {
            if (stopEarly && st.second == 2)
                runner.stop(u"enough"_s);
        });
        const WorkloadStats& w = r.summary.value(u"slow"_s);
        const qint64 accounted = w.committed + w.failed + w.skipped;
        QVERIFY2(w.skipped > 0, qPrintable(QString::number(w.skipped)));
        if (stopEarly) {
            QVERIFY(r.partial);
            // Stopped after second 2: at least the 400 arrivals due by then are accounted for.
            QVERIFY2(accounted >= 399 && accounted <= 600, qPrintable(QString::number(accounted)));
        } else {
            QVERIFY(!r.partial);
            QVERIFY2(std::abs(accounted - 600) <= 1, qPrintable(QString::number(accounted)));
            QVERIFY(w.late > 0);
        }
    }

    void aRateNoConnectionServesEndsOnTime_data()
    {
        QTest::addColumn<QString>("process");
        QTest::addColumn<int>("threads"); // 1: multiplexed; 0 with a held statement: a thread per connection
        QTest::newRow("constant, multiplexed") << u"constant"_s << 1;
        QTest::newRow("poisson, multiplexed") << u"poisson"_s << 1;
        QTest::newRow("constant, blocking") << u"constant"_s << 0;
    }
    void aRateNoConnectionServesEndsOnTime()
    {
        // The most a workload may be scheduled at, on one connection: almost every arrival is
        // a backlog at the end. The run still ends with its schedule (not when the backlog is
        // served, which would be never), and every arrival is accounted for, counted in bulk.
        QFETCH(QString, process);
        QFETCH(int, threads);
        const QString dir = sqlFileIn(u"backlog"_s, u"one.sql"_s, "SELECT 1");
        QVERIFY(!dir.isEmpty());
        Scenario s;
        QStringList errors, warnings;
        QVERIFY2(Scenario::fromJson(uR"({"format": "htap-scenario", "version": 1, "name": "t", "threads": 1,
                 "workloads": {"flood": {"kind": "sql", "sqlFile": "one.sql", "arrival": {"model": "open", "process": "%1"},
                                         "connections": 1%2}},
                 "phases": [{"name": "run", "durationSeconds": 2, "rates": {"flood": 1000000}}]})"_s
                                        .arg(process, threads == 0 ? u", \"holdSeconds\": 0.001"_s : QString())
                                        .toUtf8(),
                     &s, &errors, &warnings, dir),
            qPrintable(errors.join(u"; "_s)));
        htap::test::Watchdog watchdog("a run at 1,000,000/s on one connection did not end within 60 s", 60);
        const ScenarioResult r = runToEnd(s, htap::test::sandboxConnInfo());
        watchdog.disarm();
        QVERIFY(!r.partial);
        const WorkloadStats& w = r.summary.value(u"flood"_s);
        const qint64 accounted = w.committed + w.failed + w.skipped;
        QVERIFY2(w.committed > 0, qPrintable(QString::number(w.committed)));
        // 2,000,000 arrivals: exactly (constant, within a rounding at each phase edge) or a
        // Poisson count (its standard deviation is 1,414).
        const qint64 tolerance = process == u"constant"_s ? 2 : 8000;
        QVERIFY2(std::abs(accounted - 2000000) <= tolerance, qPrintable(QString::number(accounted)));
    }

    void everyFormOnOneThreadMatchesTheServer_data() { addOrderForms(); }
    void everyFormOnOneThreadMatchesTheServer()
    {
        // Closed loop, four clients on one thread, some products short of stock so that
        // business rollbacks happen: the orders table grows by exactly the committed count.
        QFETCH(QString, form);
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        const qint64 before = admin.exec(u"SELECT count(*) FROM orders"_s).toInt64(0, 0);
        const qint64 itemsBefore = admin.exec(u"SELECT count(*) FROM order_items"_s).toInt64(0, 0);
        QVERIFY(admin.exec(u"UPDATE inventory SET quantity = 0 WHERE product_id % 7 = 0"_s).ok());
        Scenario s;
        QStringList errors, warnings;
        QVERIFY2(Scenario::fromJson(uR"({"format": "htap-scenario", "version": 1, "name": "t", "threads": 1,
                 "workloads": {"orders": {"kind": "order", "form": "%1", "items": 3, "retries": 20, "arrival": {"model": "closed"}, "connections": 4, "role": "oltp_user"}},
                 "phases": [{"name": "run", "durationSeconds": 2, "rates": {"orders": 4}}]})"_s.arg(form).toUtf8(),
                     &s, &errors, &warnings),
            qPrintable(errors.join(u"; "_s)));
        const ScenarioResult r = runToEnd(s, htap::test::sandboxConnInfo());
        QVERIFY(admin.exec(u"UPDATE inventory SET quantity = 1000 WHERE product_id % 7 = 0"_s).ok());
        const WorkloadStats& w = r.summary.value(u"orders"_s);
        QVERIFY(!r.partial);
        QCOMPARE(w.failed, 0);
        QVERIFY(w.committed > 0);
        QVERIFY2(w.rolledBack > 0, "short stock rolls orders back");
        QCOMPARE(admin.exec(u"SELECT count(*) FROM orders"_s).toInt64(0, 0) - before, w.committed);
        QCOMPARE(admin.exec(u"SELECT count(*) FROM order_items"_s).toInt64(0, 0) - itemsBefore, 3 * w.committed); // "items": 3
        QVERIFY(r.serverCommitDelta >= w.committed);
    }

    void deadlocksAreRetriedAndCountedBySqlstate()
    {
        // Four clients order the same few hot products (zipfian, s = 3), each order taking its
        // items' stock in random order: orders deadlock each other. Each deadlock's victim is
        // tried again and counted under 40P01, and the server counts the deadlocks too.
        Scenario s;
        QStringList errors, warnings;
        QVERIFY2(Scenario::fromJson(uR"({"format": "htap-scenario", "version": 1, "name": "t", "threads": 1,
                 "workloads": {"orders": {"kind": "order", "items": 4, "products": "zipfian", "zipfS": 3, "retries": 50,
                                          "arrival": {"model": "closed"}, "connections": 4, "role": "oltp_user"}},
                 "phases": [{"name": "run", "durationSeconds": 4, "rates": {"orders": 4}}]})"_s.toUtf8(),
                     &s, &errors, &warnings),
            qPrintable(errors.join(u"; "_s)));
        const ScenarioResult r = runToEnd(s, htap::test::sandboxConnInfo());
        const WorkloadStats& w = r.summary.value(u"orders"_s);
        QVERIFY(!r.partial);
        QCOMPARE(w.failed, 0);
        QVERIFY2(w.deadlockRetries > 0, "hot products in random order deadlock");
        QVERIFY(w.retries >= w.deadlockRetries);
        // Each deadlock has one victim, and every victim here is ours.
        QVERIFY2(r.serverDeadlockDelta >= w.deadlockRetries,
            qPrintable(u"server %1, our retries after a deadlock %2"_s.arg(r.serverDeadlockDelta).arg(w.deadlockRetries)));
        const QJsonObject summary = r.toJson()[u"workloads"_s][u"orders"_s][u"summary"_s].toObject();
        QCOMPARE(summary[u"retriesBySqlstate"_s][u"40P01"_s].toInteger(), w.deadlockRetries);
        QCOMPARE(summary[u"retries"_s].toInteger(), w.retries);
        QCOMPARE(r.toJson()[u"crossCheck"_s][u"serverDeadlockDelta"_s].toInteger(), r.serverDeadlockDelta);
    }

    void aConnectionEndedMidRunIsCountedAndReopened()
    {
        // A DBA terminates the load's backends: a request under way fails with the server's
        // SQLSTATE (an idle connection is just seen to be gone), the run goes on, and new
        // connections take their place.
        Scenario s;
        QStringList errors, warnings;
        QVERIFY(Scenario::fromJson(uR"({"format": "htap-scenario", "version": 1, "name": "t", "threads": 1,
                 "workloads": {"orders": {"kind": "order", "arrival": {"model": "closed", "thinkMs": 2}, "connections": 3, "role": "oltp_user"}},
                 "phases": [{"name": "run", "durationSeconds": 5, "rates": {"orders": 3}}]})"_s.toUtf8(), &s, &errors, &warnings));
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        const QString sessions = u"SELECT pid FROM pg_stat_activity WHERE application_name = 'htap-studio oltp orders'"_s;
        QSet<qint64> ended, later;
        qint64 doneLater = 0; // committed in seconds 3 to 5, once connections have been reopened
        const ScenarioResult r = runToEnd(s, htap::test::sandboxConnInfo(), nullptr, [&](ScenarioRunner&, const SecondStats& st) {
            if (st.second == 1) {
                const htap::pg::Result pids = admin.exec(sessions);
                for (int i = 0; i < pids.rowCount(); ++i)
                    ended << pids.toInt64(i, 0);
                QVERIFY(admin.exec(u"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'htap-studio oltp orders'"_s).ok());
            }
            if (st.second == 4) {
                const htap::pg::Result pids = admin.exec(sessions);
                for (int i = 0; i < pids.rowCount(); ++i)
                    later << pids.toInt64(i, 0);
            }
            // Not the last second alone: the order transaction's deadlocks (items in random order)
            // can hold every connection for deadlock_timeout, 1 s.
            if (st.second >= 3)
                doneLater += st.workloads.value(u"orders"_s).committed;
        });
        const WorkloadStats& w = r.summary.value(u"orders"_s);
        QVERIFY(!r.partial);
        QCOMPARE(ended.size(), 3);
        QVERIFY2(w.failed <= 3, qPrintable(QString::number(w.failed)));
        for (auto it = w.failedBySqlstate.cbegin(); it != w.failedBySqlstate.cend(); ++it)
            QVERIFY2(it.key() == u"57P01"_s || it.key().startsWith(u"08"_s), qPrintable(it.key()));
        QVERIFY2(doneLater > 0, "the load went on");
        QCOMPARE(later.size(), 3);
        QVERIFY2(!later.intersects(ended), "new connections replaced the ended ones");
    }

    void aHeldSnapshotHoldsTheHorizonUntilItEnds()
    {
        Scenario s;
        QStringList errors, warnings;
        QVERIFY2(Scenario::fromJson(scenarioJson(uR"("snap": {"kind": "report", "reports": ["hourly"], "arrival": {"model": "closed"}, "connections": 1, "role": "olap_user", "holdSeconds": 30})"_s,
                                         uR"({"durationSeconds": 30, "rates": {"snap": 1}})"_s),
                     &s, &errors, &warnings),
            qPrintable(errors.join(u"; "_s)));
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        bool held = false;
        const ScenarioResult r = runToEnd(s, htap::test::sandboxConnInfo(), nullptr, [&](ScenarioRunner& runner, const SecondStats& st) {
            // Once the report has run, its session keeps the snapshot: idle in a transaction with
            // an xmin. Look each second (a slow build takes longer to get there).
            held = held
                || admin.exec(u"SELECT 1 FROM pg_stat_activity WHERE application_name = 'htap-studio olap snap' "
                              "AND state = 'idle in transaction' AND backend_xmin IS NOT NULL"_s).rowCount() == 1;
            if (held || st.second >= 15)
                runner.stop(u"seen"_s); // and stop cuts the hold short
        });
        QVERIFY(held);
        QVERIFY(r.partial);
        QVERIFY(r.finishedAt.toSecsSinceEpoch() - r.startedAt.toSecsSinceEpoch() < 25); // not the full 30 s hold
        QVERIFY(Scenario::fromJson(presetJson(u"long-snapshot"_s), &s, &errors, &warnings));
        QCOMPARE(s.workload(u"snapshot"_s)->holdSeconds, 60.0);
    }

    void aRoleThatDoesNotExistStopsBeforeAnythingRuns()
    {
        Scenario s;
        QStringList errors, warnings;
        QVERIFY(Scenario::fromJson(scenarioJson(u"\"o\": {\"kind\": \"order\", \"arrival\": {\"model\": \"open\"}, \"role\": \"No Such \\\"Role\\\"\"}"_s,
                                       uR"({"durationSeconds": 5, "rates": {"o": 10}})"_s),
            &s, &errors, &warnings));
        QString failure;
        runToEnd(s, htap::test::sandboxConnInfo(), &failure);
        QVERIFY2(failure.contains(u"workload o: cannot connect as role No Such \"Role\""_s), qPrintable(failure));
    }

    void moreConnectionsThanTheServerAllowsStopBeforeAnythingRuns()
    {
        // The connections open in parallel; one the server refuses (max_connections) stops the
        // run before it starts, with the server's reason, and every connection opened is closed.
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        const qint64 allowed = admin.exec(u"SHOW max_connections"_s).toInt64(0, 0);
        QVERIFY(allowed > 0 && allowed < 480);
        const qint64 ordersBefore = admin.exec(u"SELECT count(*) FROM orders"_s).toInt64(0, 0);
        Scenario s;
        QStringList errors, warnings;
        QVERIFY2(Scenario::fromJson(uR"({"format": "htap-scenario", "version": 1, "name": "t",
                 "workloads": {"orders": {"kind": "order", "arrival": {"model": "closed"}, "connections": %1, "role": "oltp_user"}},
                 "phases": [{"name": "run", "durationSeconds": 2, "rates": {"orders": 2}}]})"_s.arg(allowed + 20).toUtf8(),
                     &s, &errors, &warnings),
            qPrintable(errors.join(u"; "_s)));
        QString failure;
        runToEnd(s, htap::test::sandboxConnInfo(), &failure);
        QVERIFY2(failure.contains(u"workload orders: cannot connect as role oltp_user"_s), qPrintable(failure));
        QVERIFY2(failure.contains(u"connection slots"_s) || failure.contains(u"too many clients"_s), qPrintable(failure));
        QTRY_COMPARE(admin.exec(u"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'htap-studio oltp orders'"_s).toInt64(0, 0), 0);
        QCOMPARE(admin.exec(u"SELECT count(*) FROM orders"_s).toInt64(0, 0), ordersBefore);
    }

    void userSqlThatDoesNotPrepare()
    {
        const QString dir = sqlFileIn(u"unpreparable"_s, u"q.sql"_s, "SELECT * FROM no_such_table;\n");
        QVERIFY(!dir.isEmpty());
        Scenario s;
        QStringList errors, warnings;
        QVERIFY(Scenario::fromJson(scenarioJson(uR"("q": {"kind": "sql", "sqlFile": "q.sql", "arrival": {"model": "open"}})"_s,
                                       uR"({"durationSeconds": 5, "rates": {"q": 1}})"_s),
            &s, &errors, &warnings, dir));
        QString failure;
        runToEnd(s, htap::test::sandboxConnInfo(), &failure);
        QVERIFY2(failure.contains(u"workload q: SQLSTATE 42P01"_s), qPrintable(failure));
    }

    void profileComparisonRunsBothSidesAndRestores()
    {
        // The "with" side gives the reader a 10 ms statement_timeout: its 30 ms query fails there
        // (57014) and only there, which shows each side's sessions got that side's settings.
        QTemporaryDir dir;
        QFile q(dir.filePath(u"slow.sql"_s));
        QVERIFY(q.open(QIODevice::WriteOnly));
        q.write("SELECT pg_sleep(0.03)\n");
        q.close();
        QFile p(dir.filePath(u"profiles.json"_s));
        QVERIFY(p.open(QIODevice::WriteOnly));
        p.write(R"({"format": "htap-role-profiles", "version": 1, "name": "tight", "profiles": [
            {"name": "OLAP", "role": "olap_user", "connection_limit": 15, "settings": {"statement_timeout": "10ms", "work_mem": "32MB"}}]})");
        p.close();
        const QByteArray json = QByteArray(R"({"format": "htap-scenario", "version": 1, "name": "cmp", "seed": 3,
            "compare_profiles": "profiles.json",
            "workloads": {"slow": {"kind": "sql", "sqlFile": "slow.sql", "arrival": {"model": "open", "process": "constant"},
                                   "connections": 2, "role": "olap_user", "retries": 1}},
            "phases": [{"name": "run", "durationSeconds": 2, "rates": {"slow": 10}}]})");
        Scenario s;
        QStringList errors, warnings;
        QVERIFY2(Scenario::fromJson(json, &s, &errors, &warnings, dir.path()), qPrintable(errors.join(u"; "_s)));
        QCOMPARE(s.compareProfiles, dir.filePath(u"profiles.json"_s));

        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        QVERIFY(admin.exec(u"ALTER ROLE olap_user SET work_mem = '8MB'"_s).ok()); // a value of its own, to be kept
        auto state = [&] {
            return admin.exec(u"SELECT rolconnlimit || ' ' || coalesce((SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting"
                              " WHERE setrole = r.oid AND setdatabase = 0), '') FROM pg_roles r WHERE rolname = 'olap_user'"_s)
                .text(0, 0);
        };
        const QString before = state();
        QCOMPARE(before, u"-1 work_mem=8MB"_s);

        const QString audit = dir.filePath(u"audit.sqlite"_s);
        auto run = [&](bool stopInWith) {
            ProfileComparison comparison;
            ComparisonResult result;
            bool done = false;
            QStringList sides;
            QObject::connect(&comparison, &ProfileComparison::finished, [&](const ComparisonResult& r) {
                result = r;
                done = true;
            });
            QObject::connect(&comparison, &ProfileComparison::failedToStart, [&](const QString& m) {
                qWarning("%s", qPrintable(m));
                done = true;
            });
            QObject::connect(&comparison, &ProfileComparison::sideStarted, [&](const QString& side) { sides << side; });
            QObject::connect(&comparison, &ProfileComparison::secondAvailable, [&](const QString& side, const SecondStats&) {
                if (stopInWith && side == u"with"_s) {
                    // The roles are changed now: the role's settings are the profile's.
                    if (!admin.exec(u"SELECT 1 FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = 'olap_user'"
                                    " AND 'statement_timeout=10ms' = ANY (s.setconfig)"_s).rowCount())
                        qWarning("the profile is not applied during the with side");
                    comparison.stop(u"enough"_s);
                }
            });
            comparison.start(s, htap::test::sandboxConnInfo(), audit);
            if (!QTest::qWaitFor([&] { return done; }, 60000))
                qWarning("the comparison did not finish");
            return std::pair {result, sides};
        };

        const auto [full, sides] = run(false);
        QCOMPARE(sides, (QStringList {u"without"_s, u"with"_s}));
        QVERIFY(!full.partial);
        QVERIFY2(full.restored, qPrintable(full.restoreMessage));
        QCOMPARE(state(), before);
        const WorkloadStats without = full.without.summary.value(u"slow"_s), with = full.with.summary.value(u"slow"_s);
        QVERIFY(without.committed > 10);
        QCOMPARE(without.failed, 0);
        QVERIFY(with.failed > 10);
        QVERIFY(with.failedBySqlstate.value(u"57014"_s) == with.failed);
        QCOMPARE(full.auditIds.size(), 2); // the reset (work_mem 8MB -> server value) and the apply
        const QJsonObject doc = full.toJson();
        QCOMPARE(doc.value(u"format"_s).toString(), u"htap-isolation-compare"_s);
        QCOMPARE(doc.value(u"comparison"_s).toArray().first().toObject().value(u"workload"_s).toString(), u"slow"_s);

        // Stopped during the second side: a partial result, and the roles are put back all the same.
        const auto [stopped, stoppedSides] = run(true);
        QCOMPARE(stoppedSides.size(), 2);
        QVERIFY(stopped.partial);
        QCOMPARE(stopped.stopReason, u"enough"_s);
        QVERIFY2(stopped.restored, qPrintable(stopped.restoreMessage));
        QCOMPARE(state(), before);
        QVERIFY(admin.exec(u"ALTER ROLE olap_user RESET work_mem"_s).ok());
    }

    void stopMidRunGivesAPartialResult()
    {
        Scenario s;
        QStringList errors, warnings;
        QVERIFY(Scenario::fromJson(scenarioJson(kOrders, uR"({"durationSeconds": 60, "rates": {"orders": 20}})"_s), &s, &errors, &warnings));
        const ScenarioResult r = runToEnd(s, htap::test::sandboxConnInfo(), nullptr, [](ScenarioRunner& runner, const SecondStats& st) {
            if (st.second == 2)
                runner.stop(u"enough"_s);
        });
        QVERIFY(r.partial);
        QCOMPARE(r.stopReason, u"enough"_s);
        QVERIFY(r.seconds.size() <= 4);
    }

    void serverStoppedMidRun_data()
    {
        QTest::addColumn<int>("threads");
        QTest::newRow("a thread per connection") << 2;
        QTest::newRow("both connections on one thread") << 1;
    }
    void serverStoppedMidRun()
    {
        QFETCH(int, threads);
        Scenario s;
        QStringList errors, warnings;
        QVERIFY(Scenario::fromJson(scenarioJson(kOrders, uR"({"durationSeconds": 60, "rates": {"orders": 20}})"_s), &s, &errors, &warnings));
        s.threads = threads;
        htap::pg::Sandbox sandbox = htap::test::testSandbox();
        bool stopped = false;
        const ScenarioResult r = runToEnd(s, htap::test::sandboxConnInfo(), nullptr, [&](ScenarioRunner&, const SecondStats& st) {
            if (st.second == 2 && !stopped) {
                stopped = true;
                QString error;
                QVERIFY2(sandbox.stop(&error), qPrintable(error));
            }
        });
        QString error;
        QVERIFY2(sandbox.start(0, 0.05, {}, &error), qPrintable(error)); // for the tests that follow
        QVERIFY(stopped);
        QVERIFY(r.partial);
        QVERIFY2(r.stopReason.contains(u"the server went away"_s), qPrintable(r.stopReason));
        const WorkloadStats& w = r.summary.value(u"orders"_s);
        QVERIFY(w.committed > 0);
        QVERIFY(w.failed > 0);
        QVERIFY2(!w.failedBySqlstate.isEmpty(), "failures are counted by SQLSTATE");
    }
};

QTEST_GUILESS_MAIN(TestScenario)
#include "tst_scenario.moc"
