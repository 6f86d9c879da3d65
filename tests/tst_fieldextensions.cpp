// The field extensions against real situations on the sandbox (which preloads pg_wait_sampling
// and pg_stat_kcache and creates them in its shop database): a report burning CPU while an
// order session waits on a lock, a utility statement's literal in the top statements, and a
// database without the extensions; the same on the Latency page, offscreen.
#include "testutil.h"

#include <monitor/activitycollector.h>
#include <monitor/fieldextension.h>
#include <monitor/samplejson.h>
#include <ui/chartwidget.h>
#include <ui/latencypage.h>
#include <ui/snapshottablemodel.h>

#include <QAbstractItemModelTester>
#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>

#include <functional>
#include <optional>
#include <thread>

using namespace Qt::StringLiterals;
using namespace htap::monitor;
using htap::pg::Connection;

namespace {

/// A statement run on a session of its own, on its own thread.
class Session
{
public:
    Session(const htap::pg::ConnInfo& info, const QString& application, QString sql)
        : m_thread([this, info, application, sql] {
            Connection c;
            if (c.open(info, {10000, application})) {
                m_pid = -1;
                return;
            }
            m_pid = c.backendPid();
            m_result = c.exec(sql);
            m_done = true;
        })
    {
        QTRY_VERIFY_WITH_TIMEOUT(m_pid.load() != 0, 10000);
    }
    ~Session() { join(); }
    int pid() const { return m_pid; }
    bool done() const { return m_done; }
    void join()
    {
        if (m_thread.joinable())
            m_thread.join();
    }
    const htap::pg::Result& result() const { return m_result; }

private:
    std::atomic<int> m_pid {0};
    std::atomic<bool> m_done {false};
    htap::pg::Result m_result;
    std::thread m_thread;
};

/// The statements of one class on one of the Latency page's tables (the statement column).
QStringList statementsShown(const htap::ui::SnapshotTableModel* model)
{
    QStringList texts;
    for (int r = 0; r < model->rowCount(); ++r)
        texts << model->index(r, model->columnCount() - 1).data().toString();
    return texts;
}

double waited(const ClassWaits& c, const QString& type, const QString& event)
{
    for (const WaitEventFigure& e : c.topEvents)
        if (e.type == type && e.event == event)
            return e.seconds;
    return 0;
}

} // namespace

class TestFieldExtensions : public QObject
{
    Q_OBJECT
private:
    htap::pg::ConnInfo m_info;
    Connection m_admin;

    /// Every probe every tick, a tick every 250 ms; samples collected until the test ends.
    struct Watch {
        ActivityCollector collector;
        QList<ServerSample> samples;
        QList<QString> errors;
    };
    std::unique_ptr<Watch> watch(const htap::pg::ConnInfo& info)
    {
        auto w = std::make_unique<Watch>();
        w->collector.setInterval(250);
        w->collector.setSlowEvery(1);
        connect(&w->collector, &ActivityCollector::sampleAvailable, this, [w = w.get()](const ServerSample& s) { w->samples << s; });
        connect(&w->collector, &ActivityCollector::errorOccurred, this,
            [w = w.get()](const htap::pg::PgError& e) { w->errors << e.oneLine(); });
        w->collector.connectTo(info);
        return w;
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_info = htap::test::sandboxConnInfo();
        QVERIFY(!m_admin.open(m_info, {10000, u"tst_fieldextensions admin"_s}));
        QVERIFY(m_admin.runScript(u"DROP TABLE IF EXISTS tst_fx; CREATE TABLE tst_fx (id int PRIMARY KEY, v int);"
                                  "INSERT INTO tst_fx VALUES (1, 0); GRANT SELECT, UPDATE ON tst_fx TO oltp_user"_s).ok());
        const auto ext = m_admin.exec(u"SELECT count(*) FROM pg_extension WHERE extname IN ('pg_wait_sampling', 'pg_stat_kcache')"_s);
        QVERIFY2(ext.toInt64(0, 0) == 2, "the sandbox has not created pg_wait_sampling and pg_stat_kcache: are "
                                          "postgresql-15-pg-wait-sampling and postgresql-15-pg-stat-kcache installed?");
    }

    void cleanupTestCase()
    {
        m_admin.runScript(u"DROP TABLE IF EXISTS tst_fx"_s);
    }

    void aReportTakesCpuWhileOrdersWaitOnALock()
    {
        // An order session (oltp_user) waits for a row another session holds; meanwhile a
        // report (olap_user) burns CPU. The wait profile shows OLTP waiting on
        // Lock:transactionid; pg_stat_kcache shows OLAP's CPU once the report ends.
        auto w = watch(m_info);
        QTRY_VERIFY_WITH_TIMEOUT(w->samples.size() >= 2, 15000);
        // Declared first, so that a failed check (which returns) closes the holder before it
        // waits for the order session, which waits for the holder's row.
        std::optional<Session> order, report;
        Connection holder;
        QVERIFY(!holder.open(m_info, {10000, u"tst row holder"_s}));
        QVERIFY(holder.exec(u"BEGIN"_s).ok());
        QVERIFY(holder.exec(u"UPDATE tst_fx SET v = v + 1 WHERE id = 1"_s).ok());
        order.emplace(m_info.with(u"user"_s, u"oltp_user"_s), u"tst order"_s, u"UPDATE tst_fx SET v = v + 1 WHERE id = 1"_s);
        report.emplace(m_info.with(u"user"_s, u"olap_user"_s), u"tst report"_s,
            u"SELECT count(*) FROM generate_series(1, 8000000) g WHERE g % 7 = 3"_s);

        auto oltpLockWaits = [](const ServerSample& s) {
            return s.waits && s.waits->hasDeltas ? waited(s.waits->classes.at(int(WorkloadClass::Oltp)), u"Lock"_s, u"transactionid"_s) : 0.0;
        };
        auto olapCpu = [](const ServerSample& s) {
            if (!s.cpu || !s.cpu->hasDeltas)
                return 0.0;
            const ClassCpu& c = s.cpu->classes.at(int(WorkloadClass::Olap));
            return c.userSeconds + c.systemSeconds;
        };
        QTRY_VERIFY_WITH_TIMEOUT(!w->samples.isEmpty() && oltpLockWaits(w->samples.last()) > 0.5, 20000);
        QTRY_VERIFY_WITH_TIMEOUT(report->done(), 60000);
        QVERIFY2(report->result().ok(), qPrintable(report->result().error().oneLine()));
        QTRY_VERIFY_WITH_TIMEOUT(olapCpu(w->samples.last()) > 0.2, 15000);

        const ServerSample s = w->samples.last();
        QCOMPARE(s.waits->classes.size(), 3);
        QVERIFY(s.waits->classes.at(1).workloadClass == WorkloadClass::Olap);
        QVERIFY(s.waits->samplePeriodMs > 0);
        QVERIFY(s.waits->windowSeconds > 0 && s.waits->windowSeconds <= 11);
        // The order session waited all along: about one session's worth of Lock waits.
        QVERIFY2(s.waits->classes.at(0).secondsByType.value(u"Lock"_s) > 0.5,
            qPrintable(QString::number(s.waits->classes.at(0).secondsByType.value(u"Lock"_s))));
        QCOMPARE(waited(s.waits->classes.at(int(WorkloadClass::Olap)), u"Lock"_s, u"transactionid"_s), 0.0);
        QVERIFY(s.cpu->classes.at(int(WorkloadClass::Olap)).cpuPerSecond > 0);
        // Idle waits are not waits during work: a session's ClientRead is left out.
        for (const ClassWaits& c : s.waits->classes)
            QCOMPARE(waited(c, u"Client"_s, u"ClientRead"_s), 0.0);

        const QJsonObject json = toJson(s);
        QVERIFY(json.value(u"waits"_s).toObject().value(u"classes"_s).toArray().at(0).toObject()
                    .value(u"secondsByType"_s).toObject().value(u"Lock"_s).toDouble() > 0.5);
        QVERIFY(json.value(u"cpu"_s).toObject().value(u"classes"_s).toArray().at(1).toObject()
                    .value(u"userSeconds"_s).toDouble() > 0);
        ServerSample back;
        QString error;
        QVERIFY(fromJson(json, &back, &error));
        QVERIFY(back.waits && back.cpu);
        QCOMPARE(waited(back.waits->classes.at(0), u"Lock"_s, u"transactionid"_s), waited(s.waits->classes.at(0), u"Lock"_s, u"transactionid"_s));

        QVERIFY(holder.exec(u"ROLLBACK"_s).ok());
        order->join();
        QVERIFY(order->result().ok());
    }

    void aUtilityStatementsLiteralIsMaskedInTheTopStatements()
    {
        // pg_stat_statements keeps a utility statement's text as it was typed, literals and
        // all: a DO block's body is one. The report class's top statements show it masked.
        auto w = watch(m_info);
        QTRY_VERIFY_WITH_TIMEOUT(w->samples.size() >= 2, 15000);
        Connection olap;
        QVERIFY(!olap.open(m_info.with(u"user"_s, u"olap_user"_s), {10000, u"tst report"_s}));
        QVERIFY(olap.exec(u"DO $tst$ BEGIN PERFORM pg_sleep(0.3); RAISE NOTICE 'tst-secret-4711'; END $tst$"_s).ok());
        const auto stored = m_admin.exec(u"SELECT count(*) FROM pg_stat_statements WHERE query LIKE '%tst-secret-4711%'"_s);
        QVERIFY2(stored.toInt64(0, 0) >= 1, "pg_stat_statements no longer keeps the literal: this test tests nothing");

        auto shown = [](const ServerSample& s) -> const TopStatement* {
            if (!s.topStatements)
                return nullptr;
            for (const TopStatement& t : s.topStatements->statements)
                if (t.workloadClass == WorkloadClass::Olap && t.query.startsWith(u"DO"_s))
                    return &t;
            return nullptr;
        };
        QTRY_VERIFY_WITH_TIMEOUT(shown(w->samples.last()), 15000);
        const ServerSample s = w->samples.last();
        const TopStatement& t = *shown(s);
        QVERIFY2(!t.query.contains(u"tst-secret-4711"_s) && !t.query.contains(u"pg_sleep"_s), qPrintable(t.query));
        QVERIFY2(t.query.contains(u"$1"_s), qPrintable(t.query));
        QCOMPARE(t.role, u"olap_user"_s);
        QCOMPARE(t.database, u"shop"_s);
        QCOMPARE(t.calls, 1);
        QVERIFY(t.totalExecMs >= 250);
        QVERIFY(t.meanExecMs >= 250);
        QVERIFY(!t.queryId.isEmpty());
        QVERIFY(!toJson(s).value(u"topStatements"_s).toObject().value(u"statements"_s).toArray().isEmpty());
        QVERIFY(!QString::fromUtf8(QJsonDocument(toJson(s)).toJson()).contains(u"tst-secret-4711"_s));
        // The monitor's own statements (it runs as postgres here, in the class "other", four
        // times a second) are left out, though they are among the class's costliest.
        // An entry is (queryid, role, database): the same statement run without the tag by
        // someone else (the Views page lists views with the query the monitor's views probe
        // runs) in another database is another entry, and not the monitor's, while the tests
        // beside this one on the sandbox run it.
        const auto own = m_admin.exec(u"SELECT s.queryid::text, r.rolname::text, d.datname::text FROM pg_stat_statements s "
                                      "JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid "
                                      "WHERE s.query LIKE '/* htap-studio monitor */%'"_s);
        QVERIFY2(own.rowCount() >= 5, "the monitor's statements are not marked: this test tests nothing");
        QStringList ownEntries;
        for (int i = 0; i < own.rowCount(); ++i)
            ownEntries << own.text(i, 0) + u'/' + own.text(i, 1) + u'/' + own.text(i, 2);
        for (const TopStatement& t : s.topStatements->statements)
            QVERIFY2(!ownEntries.contains(t.queryId + u'/' + t.role + u'/' + t.database) && !t.query.isEmpty(),
                qPrintable(t.queryId + u": "_s + t.query));
    }

    void aDatabaseWithoutTheExtensionsSaysWhatIsMissing()
    {
        // The sandbox's postgres database has none created. The probes say what is missing
        // and how to install it; the other probes go on; no error banner for an optional one.
        auto w = watch(m_info.with(u"dbname"_s, u"postgres"_s));
        QTRY_VERIFY_WITH_TIMEOUT(w->samples.size() >= 3, 15000);
        const ServerSample s = w->samples.last();
        QVERIFY2(s.unavailable.value(u"waits"_s).contains(u"pg_wait_sampling is not created in this database: CREATE EXTENSION pg_wait_sampling"_s),
            qPrintable(s.unavailable.value(u"waits"_s)));
        QVERIFY2(s.unavailable.value(u"cpu"_s).contains(u"CREATE EXTENSION pg_stat_kcache"_s), qPrintable(s.unavailable.value(u"cpu"_s)));
        QVERIFY(!s.waits);
        QVERIFY(!s.cpu);
        QVERIFY(s.locks && s.vacuum && s.replication); // the other probes still run
        QVERIFY(s.sessions.classes.size() == 3);
        for (const QString& e : std::as_const(w->errors))
            QVERIFY2(!e.contains(u"pg_wait_sampling"_s) && !e.contains(u"pg_stat_kcache"_s), qPrintable(e));
        const QJsonObject unavailable = toJson(s).value(u"unavailable"_s).toObject();
        QVERIFY(unavailable.value(u"waits"_s).toString().contains(u"CREATE EXTENSION pg_wait_sampling"_s));
    }

    void theLatencyPageShowsWhatOrdersWaitOnAndTheReportsCpu()
    {
        htap::ui::LatencyPage page;
        page.resize(1000, 760);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        // The main window opens at 1200 px with its server list beside the page: the page must
        // fit in what is left (a chart title on one line made the window 1,700 px wide).
        QVERIFY2(page.minimumSizeHint().width() <= 1000, qPrintable(QString::number(page.minimumSizeHint().width())));
        std::vector<std::unique_ptr<QAbstractItemModelTester>> testers;
        for (int c = 0; c < 3; ++c)
            testers.push_back(std::make_unique<QAbstractItemModelTester>(page.topStatements(c)));
        testers.push_back(std::make_unique<QAbstractItemModelTester>(page.topWaits()));

        auto w = watch(m_info);
        connect(&w->collector, &ActivityCollector::sampleAvailable, &page, &htap::ui::LatencyPage::addSample);
        QTRY_VERIFY_WITH_TIMEOUT(w->samples.size() >= 2, 15000);
        // Declared first, so that a failed check (which returns) closes the holder before it
        // waits for the order session, which waits for the holder's row.
        std::optional<Session> order, report;
        Connection holder;
        QVERIFY(!holder.open(m_info, {10000, u"tst row holder"_s}));
        QVERIFY(holder.exec(u"BEGIN"_s).ok());
        QVERIFY(holder.exec(u"UPDATE tst_fx SET v = v + 1 WHERE id = 1"_s).ok());
        order.emplace(m_info.with(u"user"_s, u"oltp_user"_s), u"tst order"_s, u"UPDATE tst_fx SET v = v + 1 WHERE id = 1"_s);
        report.emplace(m_info.with(u"user"_s, u"olap_user"_s), u"tst report"_s,
            u"SELECT count(*) FROM generate_series(1, 8000000) g WHERE g % 7 = 3"_s);

        // OLTP's chart: lock waits (the bottom series) of about the one order session waiting.
        htap::ui::ChartWidget* oltpWaits = page.waitChart(0);
        QTRY_VERIFY_WITH_TIMEOUT(oltpWaits->pointCount(0) > 0 && oltpWaits->lastValue(0) > 0.5, 20000);
        QVERIFY2(oltpWaits->lastValue(0) < 1.5, qPrintable(QString::number(oltpWaits->lastValue(0))));
        QVERIFY(oltpWaits->notice().isEmpty() && page.cpuChart()->notice().isEmpty());
        QCOMPARE(page.waitChart(1)->lastValue(0), 0.0); // the report waits on no lock
        QTRY_VERIFY_WITH_TIMEOUT(page.topWaits()->rowOf(u"OLTP/Lock:transactionid"_s) >= 0, 5000);

        // The report's CPU once it ends, and the report among OLAP's top statements.
        QTRY_VERIFY_WITH_TIMEOUT(report->done(), 60000);
        QTRY_VERIFY_WITH_TIMEOUT(page.cpuChart()->pointCount(1) > 0 && page.cpuChart()->lastValue(1) > 0.02, 15000);
        QTRY_VERIFY_WITH_TIMEOUT(statementsShown(page.topStatements(1)).join(u'\n').contains(u"generate_series"_s), 15000);
        QVERIFY(!statementsShown(page.topStatements(1)).join(u'\n').contains(u"8000000"_s)); // masked

        QVERIFY(holder.exec(u"ROLLBACK"_s).ok());
        order->join();
        QVERIFY(order->result().ok());
        // The order's UPDATE finished: it is OLTP's, not the report's.
        QTRY_VERIFY_WITH_TIMEOUT(statementsShown(page.topStatements(0)).join(u'\n').contains(u"UPDATE tst_fx"_s), 15000);
        QVERIFY(!statementsShown(page.topStatements(1)).join(u'\n').contains(u"UPDATE tst_fx"_s));
        QVERIFY(!QTest::currentTestFailed());
        if (qEnvironmentVariableIsSet("HTAP_TEST_BINDIR"))
            page.grab().save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_fieldextensions-latency.png"_s));
    }

    void theLatencyPageSaysWhatIsMissingWhereTheChartsWouldBe()
    {
        htap::ui::LatencyPage page;
        page.resize(1000, 760);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        auto w = watch(m_info.with(u"dbname"_s, u"postgres"_s));
        connect(&w->collector, &ActivityCollector::sampleAvailable, &page, &htap::ui::LatencyPage::addSample);
        QTRY_VERIFY_WITH_TIMEOUT(page.cpuChart()->notice().contains(u"CREATE EXTENSION pg_stat_kcache"_s), 15000);
        QVERIFY2(page.waitChart(0)->notice().contains(u"pg_wait_sampling is not created in this database: CREATE EXTENSION pg_wait_sampling"_s),
            qPrintable(page.waitChart(0)->notice()));
        QCOMPARE(page.waitChart(1)->notice(), page.waitChart(0)->notice());
        QCOMPARE(page.waitChart(0)->pointCount(0), 0);
        QCOMPARE(page.cpuChart()->pointCount(0), 0);
        // In the plot's place, readable: not a line squeezed into a corner.
        auto* label = page.waitChart(0)->findChild<QLabel*>(u"notice"_s);
        QVERIFY(label && label->isVisible());
        QVERIFY2(label->width() > 200 && label->height() > 40, qPrintable(u"%1x%2"_s.arg(label->width()).arg(label->height())));
        // No error banner for an optional extension: the page said it in place.
        for (const QString& e : std::as_const(w->errors))
            QVERIFY2(!e.contains(u"pg_wait_sampling"_s) && !e.contains(u"pg_stat_kcache"_s), qPrintable(e));
    }

    void aMissingPackageOrPreloadIsNamed()
    {
        // The reasons for what the sandbox cannot show: a package not installed, a library
        // installed but not preloaded.
        FieldExtension absent(u"htap_no_such_extension"_s, u"postgresql-%1-htap-no-such"_s);
        QString why;
        QVERIFY(!absent.ready(m_admin, &why));
        QVERIFY2(why.contains(u"not installed on the server"_s)
                && why.contains(u"apt install postgresql-%1-htap-no-such"_s.arg(m_admin.serverVersionNum() / 10000))
                && why.contains(u"shared_preload_libraries"_s),
            qPrintable(why));
        FieldExtension notPreloaded(u"pg_buffercache"_s, u"postgresql-contrib"_s);
        QVERIFY(!notPreloaded.ready(m_admin, &why));
        QVERIFY2(why.contains(u"not in shared_preload_libraries"_s) && why.contains(u"pg_buffercache"_s), qPrintable(why));
        FieldExtension present(u"pg_wait_sampling"_s, u"postgresql-%1-pg-wait-sampling"_s);
        QVERIFY2(present.ready(m_admin, &why), qPrintable(why));
        QCOMPARE(present.qualified(u"pg_wait_sampling_profile"_s), u"\"public\".\"pg_wait_sampling_profile\""_s);
    }
};

QTEST_MAIN(TestFieldExtensions)
#include "tst_fieldextensions.moc"
