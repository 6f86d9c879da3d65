// The incident detector and the class health against targets, on samples built here: the
// rules (two samples to open, three to close, a blocking episode's end, a view's target from
// its schedule) are tested one by one; the sandbox tests show the same on real sessions.
#include <monitor/incidents.h>
#include <monitor/samplejson.h>

#include <QtTest>

using namespace Qt::StringLiterals;
using namespace htap::monitor;

namespace {

const QDateTime t0 = QDateTime::fromString(u"2026-12-06T12:00:00.000Z"_s, Qt::ISODateWithMs);

ServerSample sampleAt(int second)
{
    ServerSample s;
    s.sampledAt = t0.addSecs(second);
    for (int c = 0; c < 3; ++c) {
        ClassSessions cs;
        cs.workloadClass = WorkloadClass(c);
        s.sessions.classes.append(cs);
    }
    return s;
}

/// An order session whose transaction has been open for `seconds`, idle in it.
ServerSample withOpenOrderTransaction(int second, double seconds, int pid = 4711)
{
    ServerSample s = sampleAt(second);
    ClassSessions& c = s.sessions.classes[0];
    c.sessions = 3;
    c.idleInTransaction = 1;
    c.oldestTransaction = {pid, u"oltp_user"_s, u"shop"_s, u"idle in transaction"_s, u"Client:ClientRead"_s, seconds};
    return s;
}

/// pid 100 blocks waiters (order sessions) that have waited `wait` seconds.
ServerSample withBlocking(int second, QList<int> waiters, double wait)
{
    ServerSample s = sampleAt(second);
    LockSample locks;
    LockNode root;
    root.pid = 100;
    root.role = u"oltp_user"_s;
    root.application = u"shop-holder"_s;
    root.state = u"idle in transaction"_s;
    root.transactionSeconds = wait + 1;
    locks.nodes.append(root);
    for (int w : waiters) {
        LockNode n;
        n.pid = w;
        n.role = u"oltp_user"_s;
        n.state = u"active"_s;
        n.wait = u"Lock:transactionid"_s;
        n.waitSeconds = wait;
        n.blockedBy = {100};
        locks.nodes.append(n);
    }
    locks.roots = {100};
    locks.waitingSessions = int(waiters.size());
    s.locks = locks;
    ClassSessions& c = s.sessions.classes[0];
    c.sessions = int(waiters.size()) + 1;
    c.waitingOnLock = int(waiters.size());
    c.longestLockWait = {waiters.first(), u"oltp_user"_s, u"shop"_s, u"active"_s, u"Lock:transactionid"_s, wait};
    c.blockers = {{100, int(waiters.size())}};
    return s;
}

ViewState view(const QString& name, double staleness, bool incremental = false, int schedule = 0)
{
    ViewState v;
    v.view = name;
    v.stalenessSeconds = staleness;
    v.incremental = incremental;
    v.scheduleSeconds = schedule;
    return v;
}

} // namespace

class TestIncidents : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void aTargetIsMissedAfterTwoSamplesAndMetAfterThreeClear()
    {
        IncidentDetector d; // the seed's targets: orders 50 ms
        ServerSample s = withOpenOrderTransaction(0, 0.2);
        QVERIFY(d.evaluate(s).isEmpty()); // one sample can catch any transaction mid-way
        QCOMPARE(s.health.at(0).missed, false);
        QCOMPARE(s.health.at(0).measure, u"oldest open transaction"_s);
        s = withOpenOrderTransaction(1, 1.2);
        const QList<Incident> opened = d.evaluate(s);
        QCOMPARE(opened.size(), 1);
        QVERIFY(opened.first().kind == Incident::Kind::TargetMissed);
        QCOMPARE(opened.first().subject, u"oltp"_s);
        QCOMPARE(opened.first().pid, 4711);
        // It began when the transaction passed the target: 1.2 s - 50 ms before this sample.
        QCOMPARE(opened.first().start, t0.addSecs(1).addMSecs(-1150));
        QVERIFY(s.health.at(0).missed);
        QCOMPARE(s.health.at(0).reason, u"an order transaction open for 1.2 s (pid 4711, idle in transaction, oltp_user / shop)"_s);
        QCOMPARE(s.incidents.size(), 1);
        // Clear: still red for two more samples (no flicker), then ended at the first clear one.
        for (int second = 2; second <= 3; ++second) {
            s = sampleAt(second);
            QVERIFY(d.evaluate(s).isEmpty());
            QVERIFY(s.health.at(0).missed);
        }
        s = sampleAt(4);
        const QList<Incident> ended = d.evaluate(s);
        QCOMPARE(ended.size(), 1);
        QCOMPARE(ended.first().end, t0.addSecs(2));
        QCOMPARE(ended.first().worst, 1.2);
        QVERIFY(!s.health.at(0).missed);
        QVERIFY(d.openIncidents().isEmpty());
    }

    void aFlickerDoesNotOpenAnything()
    {
        IncidentDetector d;
        for (int second = 0; second < 10; ++second) {
            ServerSample s = second % 2 ? withOpenOrderTransaction(second, 0.3) : sampleAt(second);
            QVERIFY(d.evaluate(s).isEmpty());
            QVERIFY(!s.health.at(0).missed);
        }
    }

    void blockedOrdersAreTheStoryAndTheBlockerTheCulprit()
    {
        IncidentDetector d;
        ServerSample s = withBlocking(0, {101, 102, 103}, 3.0);
        QList<Incident> changed = d.evaluate(s);
        // The blocking episode opens at once (the wait is already past 1 s); the target after two.
        QCOMPARE(changed.size(), 1);
        QVERIFY(changed.first().kind == Incident::Kind::Blocking);
        QCOMPARE(changed.first().pid, 100);
        QCOMPARE(changed.first().waiting, 3);
        QCOMPARE(changed.first().title, u"pid 100 (oltp_user / shop-holder) blocked 3 sessions"_s);
        QCOMPARE(s.health.at(0).pid, 100);
        QCOMPARE(s.health.at(0).measure, u"longest lock wait"_s);
        QCOMPARE(s.health.at(0).reason, u"3 order sessions waiting 3.0 s behind pid 100 (idle in transaction, transaction open 4.0 s)"_s);
        s = withBlocking(1, {101, 102, 103, 104, 105}, 4.0);
        changed = d.evaluate(s);
        QCOMPARE(changed.size(), 2); // the episode got worse; the target is now missed
        QVERIFY(s.health.at(0).missed);
        d.noteAction(100, u"terminated from HTAP Studio"_s);
        s = sampleAt(2);
        d.evaluate(s);
        s = sampleAt(3);
        changed = d.evaluate(s);
        const auto episode = std::find_if(changed.cbegin(), changed.cend(), [](const Incident& i) { return i.kind == Incident::Kind::Blocking; });
        QVERIFY(episode != changed.cend());
        QCOMPARE(episode->waiting, 5);
        QCOMPARE(episode->worst, 4.0);
        QCOMPARE(episode->end, t0.addSecs(2));
        QVERIFY2(episode->detail.endsWith(u"ended: terminated from HTAP Studio"_s), qPrintable(episode->detail));
    }

    void anActionAfterWhichTheBlockerStillBlocksIsNotHowTheEpisodeEnds()
    {
        // A cancel that left the blocker holding its locks (a session's advisory lock): the
        // Locks page takes the note back, and the episode ends as the blocker ended it.
        IncidentDetector d;
        ServerSample s = withBlocking(0, {101, 102}, 3.0);
        QCOMPARE(d.evaluate(s).size(), 1);
        d.noteAction(100, u"query cancelled from HTAP Studio"_s);
        s = withBlocking(1, {101, 102}, 4.0);
        d.evaluate(s);
        d.noteAction(100, QString());
        s = sampleAt(2);
        d.evaluate(s);
        s = sampleAt(3);
        const QList<Incident> changed = d.evaluate(s);
        const auto episode = std::find_if(changed.cbegin(), changed.cend(), [](const Incident& i) { return i.kind == Incident::Kind::Blocking; });
        QVERIFY(episode != changed.cend());
        QVERIFY2(episode->detail.endsWith(u"ended: the blocker released its locks (its transaction ended)"_s), qPrintable(episode->detail));
    }

    void aViewIsLateOnlyAgainstATargetItHas_data()
    {
        QTest::addColumn<double>("staleness");
        QTest::addColumn<bool>("incremental");
        QTest::addColumn<int>("schedule");
        QTest::addColumn<double>("ownTarget"); // -1: none set
        QTest::addColumn<bool>("late");
        QTest::newRow("plain, refreshed by hand, a day old") << 86400.0 << false << 0 << -1.0 << false;
        QTest::newRow("hourly schedule, 50 min") << 3000.0 << false << 3600 << -1.0 << false;
        QTest::newRow("hourly schedule, 67 min") << 4000.0 << false << 3600 << -1.0 << true;
        QTest::newRow("incremental, 3 s (default 5 s)") << 3.0 << true << 0 << -1.0 << false;
        QTest::newRow("incremental, 7 s (default 5 s)") << 7.0 << true << 0 << -1.0 << true;
        QTest::newRow("own target 60 s, 59 s") << 59.0 << false << 0 << 60.0 << false;
        QTest::newRow("own target 60 s, 61 s") << 61.0 << false << 3600 << 60.0 << true;
        QTest::newRow("own target 0: none") << 1e6 << true << 0 << 0.0 << false;
    }
    void aViewIsLateOnlyAgainstATargetItHas()
    {
        QFETCH(double, staleness);
        QFETCH(bool, incremental);
        QFETCH(int, schedule);
        QFETCH(double, ownTarget);
        QFETCH(bool, late);
        Targets targets;
        if (ownTarget >= 0)
            targets.views.insert(u"public.v"_s, ownTarget);
        IncidentDetector d(targets);
        ServerSample s = sampleAt(0);
        s.views = ViewSample {true, {view(u"public.v"_s, staleness, incremental, schedule)}};
        const QList<Incident> changed = d.evaluate(s);
        QCOMPARE(changed.size(), late ? 1 : 0);
        QVERIFY(s.viewsHealth);
        QCOMPARE(s.viewsHealth->late, late ? 1 : 0);
        QCOMPARE(s.viewsHealth->worstView, u"public.v"_s);
        if (late) {
            QVERIFY(changed.first().kind == Incident::Kind::ViewLate);
            QCOMPARE(changed.first().view, u"public.v"_s);
        }
    }

    void aSilentServerIsAnIncidentWithItsDuration()
    {
        IncidentDetector d;
        QList<Incident> changed = d.serverSilent(t0, u"db1"_s);
        QCOMPARE(changed.size(), 1);
        QVERIFY(changed.first().isOpen());
        changed = d.serverBack(t0.addSecs(14));
        QCOMPARE(changed.size(), 1);
        QCOMPARE(changed.first().worst, 14.0);
        QCOMPARE(changed.first().end, t0.addSecs(14));
        QCOMPARE(changed.first().detail, u"no answer for 14.0 s"_s);
        QVERIFY(d.serverBack(t0.addSecs(20)).isEmpty()); // nothing open, nothing to close
    }

    void incidentsAndHealthRoundTripAsJson()
    {
        IncidentDetector d;
        ServerSample s = withBlocking(0, {101}, 2.5);
        d.evaluate(s);
        s = withBlocking(1, {101}, 3.5);
        d.evaluate(s);
        ServerSample back;
        QString error;
        QVERIFY2(fromJson(toJson(s, u"db1"_s), &back, &error), qPrintable(error));
        QCOMPARE(back.incidents.size(), s.incidents.size());
        QCOMPARE(back.incidents.first().key(), s.incidents.first().key());
        QCOMPARE(back.incidents.first().waiting, 1);
        QCOMPARE(back.health.size(), 3);
        QCOMPARE(back.health.first().reason, s.health.first().reason);
        QCOMPARE(back.health.first().missed, true);
    }
};

QTEST_APPLESS_MAIN(TestIncidents)
#include "tst_incidents.moc"
