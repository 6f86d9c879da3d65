// The GUI on the offscreen platform against the sandbox: real widgets, real server.
#include "freezableproxy.h"
#include "testutil.h"

#include <ui/activitypage.h>
#include <ui/blockingtreemodel.h>
#include <ui/healthtile.h>
#include <ui/incidentspage.h>
#include <ui/latencypage.h>
#include <ui/lockspage.h>
#include <ui/overviewpage.h>
#include <ui/snapshottablemodel.h>
#include <ui/vacuumpage.h>
#include <ui/rolespage.h>
#include <ui/scenariospage.h>
#include <ui/snapshotdialogs.h>
#include <ui/viewjobs.h>
#include <ui/viewspage.h>
#include <mv/mvservice.h>
#include <pg/identifier.h>
#include <roles/roleservice.h>

#include <QDoubleSpinBox>
#include <QSpinBox>
#include <QTableWidget>
#include <ui/chartwidget.h>
#include <ui/connectdialog.h>
#include <ui/mainwindow.h>
#include <ui/monitoredserver.h>
#include <ui/settings.h>

#include <QApplication>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QProgressBar>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QPushButton>
#include <QScopeGuard>
#include <QSettings>
#include <QTcpServer>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QTreeView>

#include <algorithm>
#include <future>
#include <limits>
#include <memory>
#include <optional>
#include <thread>

using namespace Qt::StringLiterals;
using htap::ui::MainWindow;

namespace {

/// A session of the test's own on a thread of its own: runs its statements one after another
/// (a waiter sits in exec until its lock is granted) and keeps the last answer. With
/// afterRelease, the session stays connected once its statements are done (or one failed)
/// until release(), then runs those statements: a session that keeps what it holds after a
/// cancel, until its client lets go.
class TestSession
{
public:
    TestSession(const QStringList& statements, const QString& application, const std::optional<QStringList>& afterRelease = {})
        : m_holds(afterRelease.has_value())
        , m_thread([this, statements, application, afterRelease, released = m_released.get_future()] {
            htap::pg::Connection c;
            if (htap::pg::PgError e = c.open(htap::test::sandboxConnInfo(), {10000, application})) {
                m_last = htap::pg::Result(e);
                return;
            }
            m_pid = c.backendPid();
            for (const QString& sql : statements)
                if (!(m_last = c.exec(sql)).ok())
                    break;
            if (!afterRelease)
                return;
            released.wait();
            for (const QString& sql : *afterRelease)
                if (!(m_last = c.exec(sql)).ok())
                    break;
        })
    {
    }
    ~TestSession()
    {
        release();
        join();
    }
    TestSession(const TestSession&) = delete;
    TestSession& operator=(const TestSession&) = delete;
    int pid() const { return m_pid; }
    /// A holding session runs its afterRelease statements and ends.
    void release()
    {
        if (m_holds && !m_releaseSent) {
            m_releaseSent = true;
            m_released.set_value();
        }
    }
    void join()
    {
        if (m_thread.joinable())
            m_thread.join();
    }
    /// The last statement's answer; after join() only.
    const htap::pg::Result& result() const { return m_last; }

private:
    std::atomic<int> m_pid {0};
    htap::pg::Result m_last;
    const bool m_holds;
    bool m_releaseSent = false; // the test's thread only
    std::promise<void> m_released;
    std::thread m_thread; // last: started once the members it writes exist
};

/// Answers the next question box with Yes, as the operator would, and keeps its text. The
/// poll belongs to owner (the test's window), so it cannot outlive text when no box comes.
void answerNextQuestion(QObject* owner, QString* text)
{
    auto* poll = new QTimer(owner);
    poll->setInterval(20);
    QObject::connect(poll, &QTimer::timeout, poll, [poll, text] {
        if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
            *text = box->text();
            poll->stop();
            poll->deleteLater();
            box->button(QMessageBox::Yes)->click();
        }
    });
    poll->start();
    QTimer::singleShot(30000, poll, &QObject::deleteLater); // none came (a disabled button): stop looking
}

/// The window as it is drawn once its layouts have caught up with the last text change (a
/// word-wrapped line set just before is otherwise grabbed one line high).
QPixmap settledGrab(QWidget* window)
{
    QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
    return window->grab();
}

QPushButton* buttonStartingWith(QWidget* page, const QString& text)
{
    for (QPushButton* b : page->findChildren<QPushButton*>())
        if (b->text().startsWith(text))
            return b;
    return nullptr;
}

} // namespace

class TestMainWindow : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_settingsDir;

private Q_SLOTS:
    void initTestCase()
    {
        // Keep the user's real settings out of it.
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_settingsDir.path());
        QSettings::setDefaultFormat(QSettings::NativeFormat);
        QCoreApplication::setOrganizationName(u"htap-studio-tests"_s);
        QCoreApplication::setApplicationName(u"tst_mainwindow"_s);
        QSettings().setValue(u"history/path"_s, m_settingsDir.filePath(u"history.sqlite"_s));
    }

    void historySurvivesARestart()
    {
        QDateTime firstSeen;
        {
            MainWindow window;
            window.show();
            window.connectTo(htap::test::sandboxConnInfo());
            QTRY_VERIFY_WITH_TIMEOUT(window.activityPage()->sessionsChart()->pointCount(0) >= 3, 15000);
            firstSeen = window.activityPage()->sessionsChart()->firstTime(0);
            QVERIFY(firstSeen.isValid());
        } // closing writes what is queued
        MainWindow again;
        again.show();
        QCOMPARE(again.activityPage()->sessionsChart()->pointCount(0), 0);
        again.connectTo(htap::test::sandboxConnInfo());
        // The earlier session's samples come back from the history file, before the new ones.
        QTRY_VERIFY_WITH_TIMEOUT(again.activityPage()->sessionsChart()->firstTime(0).isValid()
                && again.activityPage()->sessionsChart()->firstTime(0) <= firstSeen,
            15000);
        QVERIFY(again.bannerText().isEmpty() || !again.bannerText().contains(u"History"_s));
    }

    void corruptHistoryTurnsHistoryOffNotTheApp()
    {
        const QString bad = m_settingsDir.filePath(u"corrupt.sqlite"_s);
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(4096, 'z'));
        f.close();
        QSettings().setValue(u"history/path"_s, bad);
        MainWindow window;
        window.show();
        QTRY_VERIFY_WITH_TIMEOUT(window.bannerText().contains(u"History is off"_s), 10000);
        window.connectTo(htap::test::sandboxConnInfo());
        QTRY_VERIFY_WITH_TIMEOUT(window.activityPage()->sessionsChart()->pointCount(0) >= 2, 15000); // still monitors
        QSettings().setValue(u"history/path"_s, m_settingsDir.filePath(u"history.sqlite"_s));
    }

    void showsConnectedStateAndLiveCharts()
    {
        MainWindow window;
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(window.connectionStateText().contains(u"Not connected"_s));
        window.connectTo(htap::test::sandboxConnInfo());
        QTRY_VERIFY_WITH_TIMEOUT(window.connectionStateText().startsWith(u"Connected to postgres@"_s), 10000);
        QVERIFY(window.connectionStateText().contains(u"PostgreSQL 15"_s));
        // Two rate points need three samples at the default 1 s interval.
        QTRY_VERIFY_WITH_TIMEOUT(window.activityPage()->throughputChart()->pointCount(0) >= 3, 15000);
        QVERIFY(window.activityPage()->sessionsChart()->pointCount(0) >= 3);
        // The newest point is a live rate (history, if any, lies before it).
        QTRY_VERIFY_WITH_TIMEOUT(window.activityPage()->throughputChart()->lastValue(0) >= 0, 10000);
        QTest::qWait(400); // let the chart redraw timer run once
        const QString shot = QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_mainwindow-connected.png"_s);
        QVERIFY(window.grab().save(shot));
    }

    void monitoringPagesShowABlockingSituation()
    {
        htap::pg::Connection blocker;
        QVERIFY(!blocker.open(htap::test::sandboxConnInfo(), {10000, u"tst gui blocker"_s}));
        QVERIFY(blocker.runScript(u"CREATE TABLE IF NOT EXISTS tst_gui (id int PRIMARY KEY); "
                                  "INSERT INTO tst_gui VALUES (1) ON CONFLICT DO NOTHING"_s).ok());
        QVERIFY(blocker.exec(u"BEGIN"_s).ok());
        QVERIFY(blocker.exec(u"UPDATE tst_gui SET id = 1 WHERE id = 1"_s).ok());
        htap::pg::Result waited;
        std::atomic<int> waiterPid {0};
        std::thread waiter([&] {
            htap::pg::Connection c;
            if (c.open(htap::test::sandboxConnInfo(), {10000, u"tst gui waiter"_s}))
                return;
            waiterPid = c.backendPid();
            waited = c.exec(u"UPDATE tst_gui SET id = 1 WHERE id = 1"_s);
        });

        MainWindow window;
        window.resize(1400, 900);
        window.show();
        window.connectTo(htap::test::sandboxConnInfo());
        window.collector()->setSlowEvery(1);
        auto* tree = window.locksPage()->model();
        QTRY_VERIFY_WITH_TIMEOUT(tree->rowCount() == 1 && tree->rowCount(tree->index(0, 0)) == 1, 15000);
        QCOMPARE(tree->index(0, 0).data(htap::ui::BlockingTreeModel::PidRole).toInt(), blocker.backendPid());
        QCOMPARE(tree->index(0, 0, tree->index(0, 0)).data(htap::ui::BlockingTreeModel::PidRole).toInt(), waiterPid.load());
        QTRY_VERIFY_WITH_TIMEOUT(window.vacuumPage()->tables()->rowCount() >= 5, 15000);
        QVERIFY(window.vacuumPage()->holders()->rowOf(u"backend:%1"_s.arg(blocker.backendPid())) >= 0);
        QTRY_VERIFY_WITH_TIMEOUT(window.overviewPage()->alarms().contains(u"Sessions waiting on a lock, all classes"_s), 5000);
        for (const QString& page : {u"Overview"_s, u"Latency"_s, u"Locks"_s, u"Vacuum"_s, u"Views"_s}) {
            window.showPage(page);
            QTest::qWait(300);
            QVERIFY(window.grab().save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_page-%1.png"_s.arg(page.toLower()))));
        }

        // Cancel the waiter's query through the page's action path (the dialog is the page's).
        QSignalSpy done(window.collector(), &htap::monitor::ActivityCollector::actionFinished);
        htap::monitor::BackendAction cancel;
        cancel.pid = waiterPid;
        window.collector()->runAction(cancel);
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 10000);
        QVERIFY2(done.at(0).at(1).toBool(), qPrintable(done.at(0).at(2).toString()));
        waiter.join();
        QCOMPARE(waited.error().kind, htap::pg::PgError::Kind::Cancelled);
        blocker.exec(u"ROLLBACK"_s);
        QTRY_VERIFY_WITH_TIMEOUT(tree->rowCount() == 0, 10000);
    }

    void blockedOrderEntryTurnsTheFirstRowRedAndNamesTheBlocker()
    {
        // The situation the first screen exists for: an order session idle in its transaction
        // holds a row, three order sessions queue behind it. The Overview says so in its first
        // row, names the blocker and opens the Locks page on it; the Incidents page and every
        // chart show the episode; when the blocker goes, it ends, and says how.
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        QVERIFY(admin.runScript(u"CREATE TABLE IF NOT EXISTS tst_orders_gui (id int PRIMARY KEY, v int); "
                                "INSERT INTO tst_orders_gui VALUES (1, 0) ON CONFLICT DO NOTHING; "
                                "GRANT SELECT, UPDATE ON tst_orders_gui TO oltp_user"_s).ok());
        const auto oltp = htap::test::sandboxConnInfo().with(u"user"_s, u"oltp_user"_s);
        htap::pg::Connection holder;
        QVERIFY(!holder.open(oltp, {10000, u"tst shop holder"_s}));
        QVERIFY(holder.exec(u"BEGIN"_s).ok());
        QVERIFY(holder.exec(u"UPDATE tst_orders_gui SET v = v + 1 WHERE id = 1"_s).ok());
        std::vector<std::thread> waiters;
        std::atomic<int> done {0};
        for (int i = 0; i < 3; ++i)
            waiters.emplace_back([&] {
                htap::pg::Connection c;
                if (!c.open(oltp, {10000, u"tst shop"_s}))
                    c.exec(u"UPDATE tst_orders_gui SET v = v + 1 WHERE id = 1"_s);
                ++done;
            });

        MainWindow window;
        window.resize(1400, 900);
        window.show();
        window.connectTo(htap::test::sandboxConnInfo());
        htap::ui::HealthTile* orders = window.overviewPage()->oltpHealth();
        const QString behind = u"3 order sessions waiting"_s;
        QTRY_VERIFY_WITH_TIMEOUT(orders->state() == htap::ui::HealthTile::State::Missed && orders->reasonText().startsWith(behind), 20000);
        QVERIFY2(orders->reasonText().contains(u"behind pid %1 (idle in transaction"_s.arg(holder.backendPid())),
            qPrintable(orders->reasonText()));
        QVERIFY(window.overviewPage()->alarms().contains(u"Order entry (OLTP)"_s));
        // The episode on the Incidents page and as a span on the charts.
        QTRY_VERIFY_WITH_TIMEOUT(window.incidentsPage()->openCount() >= 1, 10000);
        bool listed = false;
        for (int r = 0; r < window.incidentsPage()->model()->rowCount(); ++r)
            listed |= window.incidentsPage()->model()->index(r, 4).data().toString().startsWith(u"pid %1 (oltp_user"_s.arg(holder.backendPid()));
        QVERIFY(listed);
        QVERIFY(window.activityPage()->throughputChart()->spanCount() >= 1);
        window.showPage(u"Overview"_s);
        QTest::qWait(400);
        QVERIFY(window.grab().save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_overview-blocked.png"_s)));
        // The culprit, one click away: the Locks page with the blocker selected.
        Q_EMIT orders->culpritActivated(u"pid"_s, QString::number(holder.backendPid()));
        QCOMPARE(window.locksPage()->view()->currentIndex().data(htap::ui::BlockingTreeModel::PidRole).toInt(), holder.backendPid());

        // The blocker goes (its transaction ends): the waiters go on, the row turns healthy
        // again after three clear samples, the episode ends.
        QVERIFY(holder.exec(u"ROLLBACK"_s).ok());
        for (std::thread& t : waiters)
            t.join();
        QCOMPARE(done.load(), 3);
        QTRY_VERIFY_WITH_TIMEOUT(orders->state() == htap::ui::HealthTile::State::Healthy, 15000);
        // The blocking episode ends; nothing about locks stays open. (A latency incident of
        // other work on this machine may be open meanwhile: it is listed if the check fails.)
        const auto model = window.incidentsPage()->model();
        const auto ended = [&] {
            for (int r = 0; r < model->rowCount(); ++r)
                if (model->index(r, 6).data().toString().contains(u"ended: the blocker released its locks"_s))
                    return true;
            return false;
        };
        QTRY_VERIFY_WITH_TIMEOUT(ended(), 10000);
        QStringList open;
        for (int r = 0; r < model->rowCount(); ++r)
            if (model->index(r, 1).data().toString() == u"ongoing"_s)
                open << model->index(r, 3).data().toString() + u": "_s + model->index(r, 4).data().toString();
        QVERIFY2(std::none_of(open.cbegin(), open.cend(), [](const QString& o) { return o.contains(u"lock"_s, Qt::CaseInsensitive)
                                                                                       || o.contains(u"block"_s, Qt::CaseInsensitive); }),
            qPrintable(open.join(u"; "_s)));
        if (!open.isEmpty())
            qInfo("open meanwhile, not of this episode: %s", qPrintable(open.join(u"; "_s)));
        admin.runScript(u"DROP TABLE tst_orders_gui"_s);
    }

    void actionsAreRefusedPolitelyWithoutPrivilege()
    {
        // A monitor role with pg_monitor but not pg_signal_backend cannot cancel a superuser's session.
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        admin.runScript(u"DROP ROLE IF EXISTS tst_watcher; CREATE ROLE tst_watcher LOGIN IN ROLE pg_monitor"_s);
        MainWindow window;
        window.connectTo(htap::test::sandboxConnInfo().with(u"user"_s, u"tst_watcher"_s));
        QTRY_VERIFY_WITH_TIMEOUT(window.connectionStateText().startsWith(u"Connected to tst_watcher@"_s), 10000);
        QSignalSpy done(window.collector(), &htap::monitor::ActivityCollector::actionFinished);
        htap::monitor::BackendAction terminate;
        terminate.kind = htap::monitor::BackendAction::Kind::Terminate;
        terminate.pid = admin.backendPid();
        window.collector()->runAction(terminate);
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 10000);
        QVERIFY(!done.at(0).at(1).toBool());
        QVERIFY2(done.at(0).at(2).toString().contains(u"not allowed"_s), qPrintable(done.at(0).at(2).toString()));
        QVERIFY(admin.exec(u"SELECT 1"_s).ok()); // still alive
        window.collector()->disconnectFromServer();
        QTRY_VERIFY_WITH_TIMEOUT(window.connectionStateText() == u"Disconnected"_s, 5000);
        admin.runScript(u"DROP ROLE tst_watcher"_s);
    }

    void locksPageOffersTerminateNotCancelForAnIdleInTransactionBlocker()
    {
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo(), {10000, u"tst locks admin"_s}));
        QVERIFY(admin.runScript(u"CREATE TABLE IF NOT EXISTS tst_locks_idle (id int PRIMARY KEY, n int NOT NULL DEFAULT 0); "
                                "INSERT INTO tst_locks_idle VALUES (1) ON CONFLICT DO NOTHING"_s).ok());
        // The root blocker: a row updated in a transaction that its client leaves open.
        htap::pg::Connection blocker;
        QVERIFY(!blocker.open(htap::test::sandboxConnInfo(), {10000, u"tst locks idle blocker"_s}));
        QVERIFY(blocker.exec(u"BEGIN"_s).ok());
        QVERIFY(blocker.exec(u"UPDATE tst_locks_idle SET n = n + 1 WHERE id = 1"_s).ok());
        const int blockerPid = blocker.backendPid();
        std::unique_ptr<TestSession> first, second;
        const auto cleanup = qScopeGuard([&] { // a failed check must not leave sessions waiting
            admin.exec(u"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE application_name LIKE 'tst locks%' AND pid <> pg_backend_pid()"_s);
        });

        MainWindow window;
        window.resize(1400, 900);
        window.show();
        window.connectTo(htap::test::sandboxConnInfo());
        window.showPage(u"Locks"_s);
        htap::ui::LocksPage* page = window.locksPage();
        auto* tree = page->model();
        const QString update = u"UPDATE tst_locks_idle SET n = n + 1 WHERE id = 1"_s;
        first = std::make_unique<TestSession>(QStringList {update}, u"tst locks waiter"_s);
        QTRY_COMPARE_WITH_TIMEOUT(tree->sample().totalWaitersUnder(blockerPid), 1, 15000);
        second = std::make_unique<TestSession>(QStringList {update}, u"tst locks waiter"_s);
        QTRY_COMPARE_WITH_TIMEOUT(tree->sample().totalWaitersUnder(blockerPid), 2, 15000);

        // Selected, the blocker is offered Terminate; Cancel is off and says why.
        QTRY_VERIFY_WITH_TIMEOUT(page->selectPid(blockerPid), 5000);
        QPushButton* cancel = buttonStartingWith(page, u"Cancel query"_s);
        QPushButton* terminate = buttonStartingWith(page, u"Terminate session"_s);
        QVERIFY(cancel && terminate);
        QVERIFY(terminate->isEnabled());
        QVERIFY2(!cancel->isEnabled(), "Cancel is offered for a blocker idle in transaction");
        QVERIFY2(cancel->toolTip().contains(u"idle in transaction: there is no statement to cancel"_s), qPrintable(cancel->toolTip()));
        auto* advice = page->findChild<QLabel*>(u"lockAdvice"_s);
        QVERIFY(advice);
        QVERIFY(advice->isVisibleTo(page));
        QVERIFY2(advice->text().contains(u"cancel cannot help"_s), qPrintable(advice->text()));
        QVERIFY2(advice->text().contains(u"its transaction is rolled back and its client gets an error"_s), qPrintable(advice->text()));
        QVERIFY(settledGrab(&window).save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_locks-idle-blocker.png"_s)));

        // A cancel sent anyway says there was nothing to cancel, not "done"; nobody goes on.
        QSignalSpy done(window.collector(), &htap::monitor::ActivityCollector::actionFinished);
        htap::monitor::BackendAction cancelIt;
        cancelIt.pid = blockerPid;
        window.collector()->runAction(cancelIt);
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 10000);
        const QString said = done.at(0).at(2).toString();
        QVERIFY2(!done.at(0).at(1).toBool(), qPrintable(said));
        QVERIFY2(said.contains(u"pid %1 was idle in transaction: nothing to cancel"_s.arg(blockerPid)), qPrintable(said));
        QVERIFY2(!said.contains(u"done"_s), qPrintable(said));
        QCOMPARE(admin.exec(u"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tst locks waiter' "
                            "AND wait_event_type = 'Lock'"_s)
                     .toInt64(0, 0),
            2);

        // The episode is an incident by now (it waits past the 1 s blocking threshold); how it
        // ended is the page's action, passed on by the main window.
        QStringList endings;
        connect(window.selectedServer(), &htap::ui::MonitoredServer::incidentsChanged, &window,
            [&](const QList<htap::monitor::Incident>& changed) {
                for (const auto& i : changed)
                    if (i.kind == htap::monitor::Incident::Kind::Blocking && i.pid == blockerPid && !i.isOpen())
                        endings << i.detail;
            });
        const auto blockingOpen = [&] {
            const auto open = window.selectedServer()->openIncidents();
            return std::any_of(open.cbegin(), open.cend(), [&](const htap::monitor::Incident& i) {
                return i.kind == htap::monitor::Incident::Kind::Blocking && i.pid == blockerPid;
            });
        };
        QTRY_VERIFY_WITH_TIMEOUT(blockingOpen(), 10000);

        // Terminate, confirmed by a question that says what terminating does.
        QString question;
        answerNextQuestion(&window, &question);
        QVERIFY(page->selectPid(blockerPid));
        terminate->click();
        QVERIFY2(question.contains(u"Terminate pid %1"_s.arg(blockerPid)), qPrintable(question));
        QVERIFY2(question.contains(u"rolled back"_s) && question.contains(u"client gets an error"_s), qPrintable(question));
        auto* status = page->findChild<QLabel*>(u"lockActionStatus"_s);
        QVERIFY(status);
        QTRY_VERIFY2_WITH_TIMEOUT(status->text().contains(u"The 2 waiting sessions went on within"_s), qPrintable(status->text()), 15000);
        QVERIFY2(status->text().contains(u"pid %1 terminated (it was idle in transaction): its transaction was rolled back "
                                         "and the session is gone"_s.arg(blockerPid)),
            qPrintable(status->text()));
        first->join();
        second->join();
        QVERIFY2(first->result().ok(), qPrintable(first->result().error().oneLine()));
        QVERIFY2(second->result().ok(), qPrintable(second->result().error().oneLine()));
        QTRY_VERIFY_WITH_TIMEOUT(!endings.isEmpty(), 10000);
        QVERIFY2(endings.last().contains(u"ended: terminated from HTAP Studio"_s), qPrintable(endings.last()));
        QVERIFY(settledGrab(&window).save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_locks-after-terminate.png"_s)));
    }

    void locksPageOffersCancelForARunningBlocker()
    {
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo(), {10000, u"tst locks admin"_s}));
        QVERIFY(admin.runScript(u"CREATE TABLE IF NOT EXISTS tst_locks_run (id int PRIMARY KEY, n int NOT NULL DEFAULT 0); "
                                "INSERT INTO tst_locks_run VALUES (1) ON CONFLICT DO NOTHING"_s).ok());
        std::unique_ptr<TestSession> blocker, waiter;
        const auto cleanup = qScopeGuard([&] {
            admin.exec(u"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE application_name LIKE 'tst locks%' AND pid <> pg_backend_pid()"_s);
        });
        // The root blocker holds the row and runs a long statement in the same transaction; its
        // client stays connected after the cancel (so the waiter can go on only because the
        // cancel aborted that transaction) and rolls back when the test lets it.
        blocker = std::make_unique<TestSession>(
            QStringList {u"BEGIN"_s, u"UPDATE tst_locks_run SET n = n + 1 WHERE id = 1"_s, u"SELECT pg_sleep(60)"_s},
            u"tst locks running blocker"_s, QStringList {u"ROLLBACK"_s});
        QTRY_COMPARE_WITH_TIMEOUT(admin.exec(u"SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                             "'tst locks running blocker' AND state = 'active' AND query LIKE 'SELECT pg_sleep%'"_s)
                                      .toInt64(0, 0),
            1, 10000);
        waiter = std::make_unique<TestSession>(QStringList {u"UPDATE tst_locks_run SET n = n + 1 WHERE id = 1"_s}, u"tst locks waiter"_s);

        MainWindow window;
        window.resize(1400, 900);
        window.show();
        window.connectTo(htap::test::sandboxConnInfo());
        window.showPage(u"Locks"_s);
        htap::ui::LocksPage* page = window.locksPage();
        QTRY_COMPARE_WITH_TIMEOUT(page->model()->sample().totalWaitersUnder(blocker->pid()), 1, 15000);
        QTRY_VERIFY_WITH_TIMEOUT(page->selectPid(blocker->pid()), 5000);
        QPushButton* cancel = buttonStartingWith(page, u"Cancel query"_s);
        QPushButton* terminate = buttonStartingWith(page, u"Terminate session"_s);
        QVERIFY(cancel && terminate);
        QVERIFY2(cancel->isEnabled(), qPrintable(cancel->toolTip()));
        QVERIFY2(cancel->toolTip().contains(u"pg_cancel_backend"_s), qPrintable(cancel->toolTip()));
        QVERIFY(terminate->isEnabled());
        auto* advice = page->findChild<QLabel*>(u"lockAdvice"_s);
        QVERIFY(advice);
        QVERIFY2(!advice->isVisibleTo(page), qPrintable(advice->text())); // nothing to warn about

        QString question;
        answerNextQuestion(&window, &question);
        cancel->click();
        QVERIFY2(question.contains(u"Cancel the running statement of pid %1"_s.arg(blocker->pid())), qPrintable(question));
        auto* status = page->findChild<QLabel*>(u"lockActionStatus"_s);
        QVERIFY(status);
        QTRY_VERIFY2_WITH_TIMEOUT(status->text().contains(u"The waiting session went on within"_s), qPrintable(status->text()), 15000);
        QVERIFY2(status->text().contains(u"pid %1: query cancelled; the session is now idle in transaction (aborted)"_s.arg(blocker->pid())),
            qPrintable(status->text()));
        QVERIFY(settledGrab(&window).save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_locks-after-cancel.png"_s)));
        waiter->join();
        QVERIFY2(waiter->result().ok(), qPrintable(waiter->result().error().oneLine()));
        blocker->release();
        blocker->join();
        QVERIFY2(blocker->result().ok(), qPrintable(blocker->result().error().oneLine())); // its ROLLBACK
    }

    void locksPageSaysWhenTheBlockerStillBlocksAfterACancel()
    {
        // A cancel ends the statement, not what the session holds: a session-level advisory lock
        // stays until the session unlocks it or ends. The page says so from the samples, and the
        // episode, when its client lets go later, does not end as "cancelled from HTAP Studio".
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo(), {10000, u"tst locks admin"_s}));
        std::unique_ptr<TestSession> blocker, first, second;
        const auto cleanup = qScopeGuard([&] {
            admin.exec(u"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE application_name LIKE 'tst locks%' AND pid <> pg_backend_pid()"_s);
        });
        blocker = std::make_unique<TestSession>(QStringList {u"SELECT pg_advisory_lock(724201)"_s, u"SELECT pg_sleep(60)"_s},
            u"tst locks advisory blocker"_s, QStringList {u"SELECT pg_advisory_unlock(724201)"_s});
        QTRY_COMPARE_WITH_TIMEOUT(admin.exec(u"SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                             "'tst locks advisory blocker' AND state = 'active' AND query LIKE 'SELECT pg_sleep%'"_s)
                                      .toInt64(0, 0),
            1, 10000);
        const QStringList takeAndGive {u"SELECT pg_advisory_lock(724201)"_s, u"SELECT pg_advisory_unlock(724201)"_s};
        first = std::make_unique<TestSession>(takeAndGive, u"tst locks waiter"_s);
        second = std::make_unique<TestSession>(takeAndGive, u"tst locks waiter"_s);
        const int blockerPid = blocker->pid();

        MainWindow window;
        window.resize(1400, 900);
        window.show();
        window.connectTo(htap::test::sandboxConnInfo());
        window.showPage(u"Locks"_s);
        htap::ui::LocksPage* page = window.locksPage();
        QTRY_COMPARE_WITH_TIMEOUT(page->model()->sample().totalWaitersUnder(blockerPid), 2, 15000);
        QStringList endings;
        connect(window.selectedServer(), &htap::ui::MonitoredServer::incidentsChanged, &window,
            [&](const QList<htap::monitor::Incident>& changed) {
                for (const auto& i : changed)
                    if (i.kind == htap::monitor::Incident::Kind::Blocking && i.pid == blockerPid && !i.isOpen())
                        endings << i.detail;
            });
        QTRY_VERIFY_WITH_TIMEOUT(page->selectPid(blockerPid), 5000);
        QPushButton* cancel = page->button(htap::monitor::BackendAction::Kind::Cancel);
        QVERIFY2(cancel->isEnabled(), qPrintable(cancel->toolTip())); // it runs a statement

        QString question;
        answerNextQuestion(&window, &question);
        cancel->click();
        QVERIFY2(question.contains(u"Cancel the running statement of pid %1"_s.arg(blockerPid)), qPrintable(question));
        auto* status = page->findChild<QLabel*>(u"lockActionStatus"_s);
        QVERIFY(status);
        // Settled only after a few samples show it: a verdict, not "still checking".
        QTRY_VERIFY2_WITH_TIMEOUT(status->text().contains(u"pid %1 still blocks 2 sessions."_s.arg(blockerPid)),
            qPrintable(status->text()), 30000);
        QVERIFY2(status->text().contains(u"pid %1: query cancelled; the session is now idle."_s.arg(blockerPid)),
            qPrintable(status->text()));
        QVERIFY2(!status->text().contains(u"still checking"_s), qPrintable(status->text()));
        // Still selected, now idle: Cancel is off, the advice names the session's lock, Terminate is offered.
        QVERIFY(page->selectPid(blockerPid));
        QVERIFY2(!cancel->isEnabled(), qPrintable(cancel->toolTip()));
        QVERIFY(page->button(htap::monitor::BackendAction::Kind::Terminate)->isEnabled());
        QVERIFY2(page->adviceText().contains(u"pid %1 is idle and still blocks others: cancel cannot help"_s.arg(blockerPid)),
            qPrintable(page->adviceText()));
        QVERIFY2(page->adviceText().contains(u"advisory lock"_s), qPrintable(page->adviceText()));
        QVERIFY(settledGrab(&window).save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_locks-still-blocks.png"_s)));

        // Its client lets go: the waiters go on, and the episode ends as the blocker ended it.
        blocker->release();
        blocker->join();
        QVERIFY2(blocker->result().ok() && blocker->result().toBool(0, 0), qPrintable(blocker->result().error().oneLine()));
        first->join();
        second->join();
        QVERIFY2(first->result().ok(), qPrintable(first->result().error().oneLine()));
        QVERIFY2(second->result().ok(), qPrintable(second->result().error().oneLine()));
        QTRY_VERIFY_WITH_TIMEOUT(!endings.isEmpty(), 10000);
        QVERIFY2(!endings.last().contains(u"HTAP Studio"_s), qPrintable(endings.last()));
    }

    void viewsPageRefreshesAndMaintainsIncrementally()
    {
        MainWindow window;
        window.resize(1400, 900);
        window.show();
        window.connectTo(htap::test::sandboxConnInfo());
        window.collector()->setSlowEvery(1);
        htap::ui::ViewsPage* page = window.viewsPage();
        QTRY_VERIFY_WITH_TIMEOUT(page->model()->rowOf(u"public.fact_sales_mv"_s) >= 0, 20000);
        page->selectView(u"public.fact_sales_mv"_s);
        QTRY_VERIFY2_WITH_TIMEOUT(page->button(u"concurrent"_s)->isEnabled(),
            qPrintable(page->button(u"concurrent"_s)->toolTip() + u" | "_s
                + page->model()->data(page->model()->index(page->model()->rowOf(u"public.fact_sales_mv"_s), 2), Qt::DisplayRole).toString()
                + u" | state "_s + QString::number(int(window.collector()->state()))),
            10000);
        QVERIFY(!page->button(u"merge"_s)->isEnabled()); // not incremental (yet)

        // CONCURRENTLY, on the page's own connection; the result reaches the status line and the log.
        QSignalSpy finished(page->jobs(), &htap::ui::ViewJobs::jobFinished);
        page->runAction(u"concurrent"_s, true);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 30000);
        QVERIFY2(finished.at(0).at(2).toBool(), qPrintable(finished.at(0).at(3).toString()));
        auto* log = page->findChild<QTableWidget*>(u"refreshLog"_s);
        // The log is read again after the job: its newest row is this refresh (not one of the
        // same view by another test on this sandbox, as the log was read before the job).
        QTRY_VERIFY2_WITH_TIMEOUT(log->rowCount() > 0 && log->item(0, 1)->text() == u"public.fact_sales_mv"_s
                && log->item(0, 2)->text() == u"concurrent"_s,
            qPrintable(log->rowCount() ? log->item(0, 1)->text() + u' ' + log->item(0, 2)->text() : u"empty"_s), 10000);

        // Incremental: the mode column follows, merge is offered and CONCURRENTLY is not.
        page->runAction(u"incremental"_s, true);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 60000);
        QVERIFY2(finished.at(1).at(2).toBool(), qPrintable(finished.at(1).at(3).toString()));
        const auto modeOf = [&] {
            const int r = page->model()->rowOf(u"public.fact_sales_mv"_s);
            return r < 0 ? QString() : page->model()->data(page->model()->index(r, 1), Qt::DisplayRole).toString();
        };
        QTRY_COMPARE_WITH_TIMEOUT(modeOf(), u"incremental"_s, 20000);
        page->selectView(u"public.fact_sales_mv"_s);
        QTRY_VERIFY_WITH_TIMEOUT(page->button(u"merge"_s)->isEnabled(), 10000);
        QVERIFY(!page->button(u"concurrent"_s)->isEnabled());
        QVERIFY(!page->button(u"refresh"_s)->isEnabled());
        page->runAction(u"merge"_s, true);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 3, 30000);
        QVERIFY(finished.at(2).at(2).toBool());

        // Its capture switched to C row triggers from the page, shown in the mode column; the
        // button then offers the way back, which is taken.
        QTRY_VERIFY_WITH_TIMEOUT(page->button(u"capture"_s)->isEnabled(), 10000);
        QCOMPARE(page->button(u"capture"_s)->text(), u"Capture in C…"_s);
        page->runAction(u"capture"_s, true);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 4, 30000);
        QVERIFY2(finished.at(3).at(2).toBool(), qPrintable(finished.at(3).at(3).toString()));
        QTRY_COMPARE_WITH_TIMEOUT(modeOf(), u"incremental (C capture)"_s, 20000);
        QVERIFY(settledGrab(&window).save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_views-c-capture.png"_s)));
        QTRY_COMPARE_WITH_TIMEOUT(page->button(u"capture"_s)->text(), u"Capture in SQL…"_s, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(page->button(u"capture"_s)->isEnabled(), 10000);
        page->runAction(u"capture"_s, true);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 5, 30000);
        QVERIFY2(finished.at(4).at(2).toBool(), qPrintable(finished.at(4).at(3).toString()));
        QTRY_COMPARE_WITH_TIMEOUT(modeOf(), u"incremental"_s, 20000);

        // A schedule set from the page shows in the table, and the app runs it.
        htap::ui::ViewJobs::Job job;
        job.kind = htap::ui::ViewJobs::Kind::SetSchedule;
        job.view = u"public.fact_sales_mv"_s;
        job.mode = htap::mv::RefreshMode::Incremental;
        job.everySeconds = 1;
        QVERIFY(page->jobs()->start(job));
        // Once set, the app's scheduled merges of this view finish jobs too, every second or so
        // (the count leaves out the clean-ups of engines that other tests' dropped schemas left,
        // which the schedules' read reports as jobs too: 38 of them once).
        const auto jobsOfView = [&finished] {
            int n = 0;
            for (const QList<QVariant>& f : std::as_const(finished))
                n += f.at(0).toString() == u"public.fact_sales_mv"_s ? 1 : 0;
            return n;
        };
        QTRY_VERIFY_WITH_TIMEOUT(jobsOfView() >= 6, 10000); // the schedule set
        QTRY_VERIFY_WITH_TIMEOUT(jobsOfView() >= 8, 15000); // scheduled merges run by the app
        const int r = page->model()->rowOf(u"public.fact_sales_mv"_s);
        QVERIFY(page->model()->data(page->model()->index(r, 5), Qt::DisplayRole).toString().contains(u"every 1 s"_s));

        // Back to a materialized view: the schedule of merges goes with it.
        QTRY_VERIFY_WITH_TIMEOUT(!page->jobs()->isRunning(u"public.fact_sales_mv"_s), 10000);
        page->jobs()->setConnInfo({}); // no more scheduled merges
        htap::pg::Connection c;
        QVERIFY(!c.open(htap::test::sandboxConnInfo()));
        QCOMPARE(htap::mv::MvService(c).disableIncremental(u"fact_sales_mv"_s), QString());
        QString error;
        QVERIFY(htap::mv::MvService(c).schedules(&error).isEmpty());
    }

    void scenariosPageRunsAPreset()
    {
        MainWindow window;
        window.resize(1400, 900);
        window.show();
        window.connectTo(htap::test::sandboxConnInfo());
        QTRY_VERIFY_WITH_TIMEOUT(window.connectionStateText().startsWith(u"Connected to"_s), 10000);
        auto* page = window.scenariosPage();
        // The safe preset comes first: smoke, its duration in the list, what it does beside it.
        auto* choice = page->findChild<QComboBox*>(u"scenarioChoice"_s);
        QCOMPARE(choice->currentData().toString(), u"smoke"_s);
        QVERIFY2(choice->currentText().contains(u" s"_s), qPrintable(choice->currentText()));
        QVERIFY(choice->itemText(choice->findData(u"isolation-compare"_s)).contains(u"min"_s));
        QVERIFY(page->findChild<QLabel*>(u"scenarioDescription"_s)->text().startsWith(u"About 30 s"_s));
        page->selectPreset(u"isolation-compare"_s);
        QVERIFY(page->findChild<QLabel*>(u"scenarioDescription"_s)->text().contains(u"Changes role settings"_s));
        page->selectPreset(u"smoke"_s);
        QVERIFY(page->progressBar()->isHidden()); // no empty bar before a run
        page->findChildren<QDoubleSpinBox*>().at(1)->setValue(0.2); // 30 s -> 6 s
        page->findChild<QSpinBox*>(u"scenarioThreads"_s)->setValue(1);
        // The workloads table: orders get 3 connections and half their rate.
        QTableWidget* workloads = page->workloadsTable();
        QCOMPARE(workloads->rowCount(), 2);
        QCOMPARE(workloads->item(0, 0)->text(), u"orders"_s);
        QCOMPARE(workloads->item(0, 3)->data(Qt::EditRole).toInt(), 4);
        workloads->item(0, 3)->setData(Qt::EditRole, 3);
        workloads->item(0, 4)->setData(Qt::EditRole, 0.5);
        QSignalSpy finished(page->runner(), &htap::workload::ScenarioRunner::finished);
        page->startSelected();
        QVERIFY(!page->progressBar()->isHidden());
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 60000);
        QVERIFY(page->progressBar()->isHidden()); // no "0 s left" after the end
        QVERIFY2(page->statusLabel()->text().startsWith(u"Finished smoke at "_s), qPrintable(page->statusLabel()->text()));
        QCOMPARE(page->summary()->rowCount(), 2);
        // The Latency page drew the scenario's client-side p99 beside the server-side means.
        QCOMPARE(window.latencyPage()->meanChart()->seriesCount(), 5);
        QVERIFY(window.latencyPage()->meanChart()->pointCount(3) >= 4);
        QVERIFY(page->lastResult().summary.value(u"orders"_s).committed > 0);
        QCOMPARE(page->lastResult().scenario.threads, 1);
        const htap::workload::Scenario& ran = page->lastResult().scenario;
        QCOMPARE(ran.workload(u"orders"_s)->connections, 3);
        QCOMPARE(ran.phases[1].demand.value(u"orders"_s).from, 100 * 0.5); // smoke's oltp-only phase
        QCOMPARE(ran.phases[2].demand.value(u"reports"_s).from, 2.0);      // the other workload as it was
        QCOMPARE(page->throughputChart()->seriesCount(), 4); // per workload: throughput, target
        QCOMPARE(page->latencyChart()->seriesCount(), 4);    // p50, p99
        window.showPage(u"Scenarios"_s);
        QTest::qWait(300);
        QVERIFY(window.grab().save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_page-scenarios.png"_s)));
        // A run of another scenario charts its own workloads, not smoke's "reports" as well.
        page->selectPreset(u"olap-complexity"_s); // orders and four reports, no "reports"
        page->findChildren<QDoubleSpinBox*>().at(1)->setValue(0.05); // 110 s -> 5.5 s
        page->startSelected();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, 60000);
        QCOMPARE(page->lastResult().scenario.workloads.size(), 5);
        QCOMPARE(page->throughputChart()->seriesCount(), 10);
        QCOMPARE(page->latencyChart()->seriesCount(), 10);
    }

    void rolesPageChecksPlansAppliesAndAudits()
    {
        // A role of our own, with a name that needs quoting, so the seed's roles stay as they are.
        const QString role = u"GUI \"Role\" Test"_s;
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        admin.exec(u"DROP ROLE IF EXISTS %1"_s.arg(htap::pg::quoteIdentifier(role)));
        QVERIFY(admin.exec(u"CREATE ROLE %1 LOGIN"_s.arg(htap::pg::quoteIdentifier(role))).ok());
        const QString profile = m_settingsDir.filePath(u"gui-test.json"_s);
        QFile f(profile);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QJsonDocument(QJsonObject {{u"format"_s, u"htap-role-profiles"_s}, {u"version"_s, 1}, {u"name"_s, u"gui-test"_s},
                                  {u"profiles"_s, QJsonArray {QJsonObject {{u"name"_s, u"OLAP"_s}, {u"role"_s, role},
                                                      {u"connection_limit"_s, 7},
                                                      {u"settings"_s, QJsonObject {{u"work_mem"_s, u"256MB"_s}, {u"statement_timeout"_s, u"60s"_s}}}}}}})
                    .toJson());
        f.close();

        MainWindow window;
        window.resize(1400, 900);
        window.show();
        auto* page = window.rolesPage();
        page->setAuditPath(m_settingsDir.filePath(u"audit.sqlite"_s));
        window.connectTo(htap::test::sandboxConnInfo());
        QTRY_VERIFY_WITH_TIMEOUT(window.connectionStateText().startsWith(u"Connected to"_s), 10000);
        QSignalSpy reloaded(page, &htap::ui::RolesPage::reloaded);
        window.showPage(u"Roles"_s);
        QTRY_VERIFY_WITH_TIMEOUT(reloaded.count() >= 1 && page->catalog().role(role), 15000);
        QVERIFY(page->selectProfileSet(profile));
        auto* apply = page->findChild<QPushButton*>(u"applyButton"_s);
        QTRY_VERIFY_WITH_TIMEOUT(apply->isEnabled(), 5000);

        // A bad value: the row says why, the plan says it cannot be applied, Apply is off.
        QTableWidget* editor = page->editorTable();
        int workMemRow = -1;
        for (int r = 0; r < editor->rowCount(); ++r)
            if (editor->item(r, 3)->text() == u"work_mem"_s)
                workMemRow = r;
        QVERIFY(workMemRow >= 0);
        editor->item(workMemRow, 4)->setText(u"256XB"_s);
        QVERIFY2(editor->item(workMemRow, 5)->text().contains(u"not a unit"_s), qPrintable(editor->item(workMemRow, 5)->text()));
        QVERIFY(!apply->isEnabled());
        QVERIFY(page->planText().contains(u"cannot be applied"_s));
        editor->item(workMemRow, 4)->setText(u"256MB"_s);
        QVERIFY(apply->isEnabled());
        int limitRow = -1;
        for (int r = 0; r < editor->rowCount(); ++r)
            if (editor->item(r, 3)->text() == u"(connection limit)"_s)
                limitRow = r;
        QVERIFY(limitRow >= 0);
        editor->item(limitRow, 4)->setText(u"lots"_s);
        QVERIFY2(editor->item(limitRow, 5)->text().contains(u"whole number"_s), qPrintable(editor->item(limitRow, 5)->text()));
        QVERIFY(!apply->isEnabled());
        editor->item(limitRow, 4)->setText(u"7"_s);
        QVERIFY(apply->isEnabled());
        QVERIFY2(page->planText().contains(u"ALTER ROLE \"GUI \"\"Role\"\" Test\" SET \"work_mem\" = '256MB';"_s), qPrintable(page->planText()));

        QSignalSpy applied(page, &htap::ui::RolesPage::applied);
        page->applyWithoutConfirmation();
        QTRY_COMPARE_WITH_TIMEOUT(applied.count(), 1, 15000);
        const auto outcome = applied.first().first().value<htap::roles::ApplyOutcome>();
        QVERIFY2(outcome.ok, qPrintable(outcome.message));
        QTRY_VERIFY_WITH_TIMEOUT(page->auditTable()->rowCount() >= 1 && page->auditTable()->item(0, 0)->text() == QString::number(outcome.auditId), 15000);
        QCOMPARE(admin.exec(u"SELECT rolconnlimit FROM pg_roles WHERE rolname = $1"_s, {role}).toInt64(0, 0), 7);
        page->selectRole(role);
        bool shown = false;
        for (int r = 0; r < page->settingsTable()->rowCount(); ++r)
            shown |= page->settingsTable()->item(r, 0)->text() == u"work_mem"_s && page->settingsTable()->item(r, 1)->text() == u"256MB"_s
                && page->settingsTable()->item(r, 2)->text().startsWith(u"role"_s);
        QVERIFY(shown);
        QTest::qWait(300);
        QVERIFY(window.grab().save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_page-roles.png"_s)));
        admin.exec(u"DROP ROLE %1"_s.arg(htap::pg::quoteIdentifier(role)));
    }

    void snapshotsExportOpenOfflineAndCompare()
    {
        MainWindow window;
        window.resize(1400, 900);
        window.show();
        window.connectTo(htap::test::sandboxConnInfo());
        QTRY_VERIFY_WITH_TIMEOUT(window.connectionStateText().startsWith(u"Connected to"_s), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(window.activityPage()->throughputChart()->pointCount(0) >= 4, 20000);
        htap::ui::ExportRequest request;
        request.title = u"GUI snapshot"_s;
        request.note = u"from the test"_s;
        request.to = QDateTime::currentDateTimeUtc();
        request.from = request.to.addSecs(-120);
        request.formats = {htap::report::Format::Json, htap::report::Format::Html};
        request.folder = m_settingsDir.path();
        request.baseName = u"gui-snap"_s;
        QSignalSpy exported(&window, &MainWindow::snapshotExported);
        window.exportSnapshotTo(request);
        QTRY_COMPARE_WITH_TIMEOUT(exported.count(), 1, 30000);
        QVERIFY2(exported.first().at(1).toString().isEmpty(), qPrintable(exported.first().at(1).toString()));
        QCOMPARE(exported.first().at(0).toStringList().size(), 2);
        const QString json = m_settingsDir.filePath(u"gui-snap.json"_s);
        QVERIFY(QFileInfo::exists(json) && QFileInfo::exists(m_settingsDir.filePath(u"gui-snap.html"_s)));

        // Shift + drag on a chart's time axis picks a window.
        htap::ui::ChartWidget* chart = window.activityPage()->throughputChart();
        window.showPage(u"Activity"_s);
        QTest::qWait(300);
        QSignalSpy picked(chart, &htap::ui::ChartWidget::rangeSelected);
        QWidget* plot = chart->findChild<QWidget*>();
        QVERIFY(plot);
        const QPoint a(plot->width() / 3, plot->height() / 2), b(plot->width() * 2 / 3, plot->height() / 2);
        QTest::mousePress(plot, Qt::LeftButton, Qt::ShiftModifier, a);
        for (int x = a.x(); x <= b.x(); x += 10) {
            QMouseEvent move(QEvent::MouseMove, QPointF(x, a.y()), plot->mapToGlobal(QPointF(x, a.y())), Qt::NoButton,
                Qt::LeftButton, Qt::ShiftModifier);
            QApplication::sendEvent(plot, &move);
        }
        // The export dialog the pick opens is modal: it is closed from a timer started before.
        bool dialogShown = false;
        QTimer::singleShot(300, &window, [&window, &dialogShown] {
            if (auto* d = window.findChild<htap::ui::ExportSnapshotDialog*>()) {
                dialogShown = true;
                d->grab().save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_dialog-export.png"_s));
                d->reject();
            }
        });
        QTest::mouseRelease(plot, Qt::LeftButton, Qt::ShiftModifier, b);
        QCOMPARE(picked.count(), 1);
        QTRY_VERIFY_WITH_TIMEOUT(dialogShown, 3000);
        const auto [shownFrom, shownTo] = chart->visibleRange();
        QVERIFY(picked.first().at(0).toDateTime() > shownFrom && picked.first().at(1).toDateTime() < shownTo);
        QVERIFY(picked.first().at(0).toDateTime() < picked.first().at(1).toDateTime());

        // Offline: the pages draw the snapshot; nothing shown acts on a server (the server in
        // the list goes on being sampled).
        QSignalSpy opened(&window, &MainWindow::snapshotOpened);
        window.openSnapshotFile(json);
        QTRY_COMPARE_WITH_TIMEOUT(opened.count(), 1, 15000);
        QCOMPARE(opened.first().at(0).toString(), u"GUI snapshot"_s);
        QVERIFY(window.windowTitle().contains(u"snapshot GUI snapshot (offline)"_s));
        QCOMPARE(window.offlineSnapshot(), json);
        QVERIFY2(window.connectionStateText().startsWith(u"Offline"_s), qPrintable(window.connectionStateText()));
        QCOMPARE(window.collector(), nullptr);
        QCOMPARE(window.servers().size(), 1);
        QVERIFY(window.activityPage()->throughputChart()->pointCount(0) >= 3);
        window.showPage(u"Activity"_s);
        QTest::qWait(300);
        QVERIFY(window.grab().save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_page-snapshot-offline.png"_s)));

        window.compareSnapshotFiles(json, json);
        QTRY_VERIFY_WITH_TIMEOUT(window.findChild<htap::ui::CompareSnapshotsDialog*>(u"compareDialog"_s), 10000);
        QVERIFY(window.findChild<htap::ui::CompareSnapshotsDialog*>(u"compareDialog"_s)->table()->rowCount() >= 8);

        // The snapshot is kept in the history file too, and opens from there.
        window.showStoredSnapshots();
        QTRY_VERIFY_WITH_TIMEOUT(window.findChild<QDialog*>(u"storedSnapshots"_s), 10000);
        auto* stored = window.findChild<QDialog*>(u"storedSnapshots"_s)->findChild<QTableWidget*>();
        QVERIFY(stored->rowCount() >= 1);
        QCOMPARE(stored->item(0, 2)->text(), u"GUI snapshot"_s);
        window.findChild<QDialog*>(u"storedSnapshots"_s)->grab().save(
            QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_dialog-stored-snapshots.png"_s));
        window.openStoredSnapshot(stored->item(0, 0)->text().toLongLong());
        QTRY_COMPARE_WITH_TIMEOUT(opened.count(), 2, 10000);
        QCOMPARE(opened.last().at(0).toString(), u"GUI snapshot"_s);
        window.findChild<QDialog*>(u"storedSnapshots"_s)->close();

        // A truncated file: a clear message, and the pages keep what they show.
        const QString half = m_settingsDir.filePath(u"half.json"_s);
        QFile f(half);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("{\"format\": \"htap-snapshot\", \"version\": 1, \"samples\": [");
        f.close();
        window.openSnapshotFile(half);
        QTRY_COMPARE_WITH_TIMEOUT(opened.count(), 3, 10000);
        QVERIFY2(opened.last().at(1).toString().contains(u"truncated"_s), qPrintable(opened.last().at(1).toString()));
        QVERIFY(window.offlineSnapshot().startsWith(u"history snapshot #"_s)); // still what was shown

        // The Locks page offline shows the last locks state the window holds, also when the
        // last sample has none (its locks probe did not answer; the slow probes' sections come
        // every 10th sample): here a blocker and its waiter one sample before the end.
        QJsonObject doc = QJsonDocument::fromJson([&json] {
            QFile in(json);
            return in.open(QIODevice::ReadOnly) ? in.readAll() : QByteArray();
        }()).object();
        QJsonArray samples = doc.value(u"samples"_s).toArray();
        QVERIFY(samples.size() >= 3);
        QJsonObject before = samples[samples.size() - 2].toObject();
        before.insert(u"locks"_s, QJsonObject {{u"waitingSessions"_s, 1}, {u"waitingByLockType"_s, QJsonObject {{u"transactionid"_s, 1}}},
                                      {u"roots"_s, QJsonArray {QJsonObject {{u"pid"_s, 4711}, {u"totalWaiters"_s, 1}}}},
                                      {u"nodes"_s, QJsonArray {QJsonObject {{u"pid"_s, 4712}, {u"role"_s, u"oltp_user"_s},
                                                                   {u"state"_s, u"active"_s}, {u"wait"_s, u"Lock:transactionid"_s},
                                                                   {u"waitSeconds"_s, 12.5}, {u"blockedBy"_s, QJsonArray {4711}}},
                                                      QJsonObject {{u"pid"_s, 4711}, {u"role"_s, u"postgres"_s},
                                                          {u"state"_s, u"idle in transaction"_s}, {u"blockedBy"_s, QJsonArray {}}}}}});
        samples[samples.size() - 2] = before;
        QJsonObject last = samples.last().toObject();
        last.remove(u"locks"_s);
        samples[samples.size() - 1] = last;
        doc.insert(u"samples"_s, samples);
        const QString blocked = m_settingsDir.filePath(u"blocked.json"_s);
        QFile out(blocked);
        QVERIFY(out.open(QIODevice::WriteOnly) && out.write(QJsonDocument(doc).toJson()) > 0);
        out.close();
        window.openSnapshotFile(blocked);
        QTRY_COMPARE_WITH_TIMEOUT(opened.count(), 4, 10000);
        QVERIFY2(opened.last().at(1).toString().isEmpty(), qPrintable(opened.last().at(1).toString()));
        auto* tree = window.locksPage()->model();
        QCOMPARE(tree->rowCount(), 1);
        QCOMPARE(tree->index(0, 0).data(htap::ui::BlockingTreeModel::PidRole).toInt(), 4711);
        QCOMPARE(tree->index(0, 0, tree->index(0, 0)).data(htap::ui::BlockingTreeModel::PidRole).toInt(), 4712);
    }

    void aCustomRangeHoldsItsPlace()
    {
        MainWindow window;
        window.resize(1400, 900);
        window.show();
        window.connectTo(htap::test::sandboxConnInfo());
        QTRY_VERIFY_WITH_TIMEOUT(window.activityPage()->throughputChart()->pointCount(0) >= 3, 20000);
        window.showPage(u"Activity"_s);
        const QDateTime to = QDateTime::currentDateTimeUtc().addSecs(-1), from = to.addSecs(-120);
        window.showCustomRange(from, to);
        auto* combo = window.findChild<QComboBox*>(u"timeWindow"_s);
        QCOMPARE(combo->currentData().toInt(), -1);
        htap::ui::ChartWidget* chart = window.activityPage()->throughputChart();
        const qsizetype samples = window.selectedServer()->recent().size();
        QTest::qWait(2500); // samples go on arriving (recorded; the pages hold still); the range stays
        QVERIFY(window.selectedServer()->recent().size() > samples);
        QVERIFY(window.isFrozen());
        const auto [a, b] = chart->visibleRange();
        QVERIFY(std::abs(a.msecsTo(from)) < 1000 && std::abs(b.msecsTo(to)) < 1000);
        combo->setCurrentIndex(1); // back to "5 minutes", following live data
        QTRY_VERIFY_WITH_TIMEOUT(chart->visibleRange().second > to.addSecs(1), 5000);
        QVERIFY(!window.isFrozen());
        QTRY_VERIFY_WITH_TIMEOUT(chart->lastTime(0) > to.addSecs(2), 5000); // what came meanwhile is drawn
    }

    void aChartsLegendStaysOffItsPlotAndALonePointShows()
    {
        // The Scenarios page's charts carry two series per workload: their legend sits below
        // the plot, a workload's pair on one row. And a point with no neighbour (a series'
        // first sample, or one between gaps) drew nothing: a line needs two points in a row.
        htap::ui::ChartWidget chart(u"Latency"_s, u"ms"_s);
        chart.resize(700, 220);
        chart.show();
        QVERIFY(QTest::qWaitForWindowExposed(&chart));
        chart.setLegendGroup(2);
        for (int i = 0; i < 12; ++i) // twelve rows are more than such a plot's height, whatever the font
            chart.addSeries(u"workload %1 p%2"_s.arg(i / 2).arg(i % 2 ? 99 : 50), htap::ui::ChartWidget::seriesColor(i / 2));
        const QDateTime t = QDateTime::currentDateTimeUtc();
        const double gap = std::numeric_limits<double>::quiet_NaN();
        chart.addPoint(0, t, 5); // the first sample
        chart.addPoint(1, t, 7); // a line
        chart.addPoint(1, t.addSecs(1), 8);
        for (int s = 0; s < 4; ++s) // a point between gaps, after a line
            chart.addPoint(2, t.addSecs(s), s == 3 ? gap : s == 2 ? 4 : s == 1 ? gap : 3);
        chart.addPoint(2, t.addSecs(-1), 2);
        const auto fits = [&chart] { // laid out with its entries, below the plot
            return chart.legendArea().height() > 10 && chart.legendArea().top() >= chart.plotArea().bottom()
                && chart.legendArea().bottom() <= chart.height();
        };
        QTRY_VERIFY_WITH_TIMEOUT(fits(), 3000);
        QVERIFY(chart.legendColumns() > 1);
        QCOMPARE(chart.legendColumns() % 2, 0); // pairs stay on a row
        QVERIFY(chart.drawsDots(0));
        QVERIFY(!chart.drawsDots(1));
        QVERIFY(chart.drawsDots(2));
        chart.addPoint(0, t.addSecs(1), 6);
        chart.addPoint(2, t.addMSecs(2500), 5); // 4 has a neighbour now: a line
        QTRY_VERIFY_WITH_TIMEOUT(!chart.drawsDots(0), 3000);
        QTRY_VERIFY_WITH_TIMEOUT(!chart.drawsDots(2), 3000);
        chart.resize(1400, 300); // wider: more pairs a row, still whole pairs
        QTRY_VERIFY_WITH_TIMEOUT(fits() && chart.legendColumns() > 2, 3000);
        QCOMPARE(chart.legendColumns() % 2, 0);
    }

    void failedConnectShowsBanner()
    {
        MainWindow window;
        window.show();
        window.connectTo(htap::pg::ConnInfo().with(u"host"_s, u"127.0.0.1"_s).with(u"port"_s, u"1"_s));
        QTRY_VERIFY_WITH_TIMEOUT(window.bannerText().contains(u"Connection refused"_s), 10000);
        QVERIFY(window.connectionStateText().startsWith(u"Not connected"_s));
    }

    void uiStaysResponsiveWhileAServerDoesNotAnswer()
    {
        QTcpServer silent;
        QVERIFY(silent.listen(QHostAddress::LocalHost));
        MainWindow window;
        window.show();
        window.connectTo(htap::pg::ConnInfo().with(u"host"_s, u"127.0.0.1"_s).with(u"port"_s, QString::number(silent.serverPort())));
        QTRY_VERIFY_WITH_TIMEOUT(window.connectionStateText().startsWith(u"Connecting"_s), 5000);
        // While the connect hangs on the worker thread, the GUI thread keeps handling events.
        int ticks = 0;
        QTimer timer;
        connect(&timer, &QTimer::timeout, [&] { ++ticks; });
        timer.start(50);
        QTRY_VERIFY_WITH_TIMEOUT(ticks >= 10, 5000);
        QVERIFY(window.connectionStateText().startsWith(u"Connecting"_s));
        window.collector()->abortConnect();
        QTRY_VERIFY_WITH_TIMEOUT(window.connectionStateText().contains(u"cancelled"_s), 5000);
    }

    void severalServersAreWatchedAtOnce()
    {
        // Two servers in one window: the sandbox, and the sandbox again behind a relay that
        // goes silent (a host that stops answering without closing anything).
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        admin.runScript(u"DROP ROLE IF EXISTS tst_relay_gui; "
                        "CREATE ROLE tst_relay_gui LOGIN PASSWORD 'relay-secret' IN ROLE pg_monitor"_s);
        htap::test::FreezableProxy relay(quint16(htap::test::sandboxConnInfo().value(u"port"_s).toInt()));
        MainWindow window;
        window.resize(1400, 900);
        window.show();
        auto* list = window.findChild<QListWidget*>(u"serverList"_s);
        QVERIFY(list);
        window.connectTo(htap::pg::ConnInfo()
                .with(u"host"_s, u"127.0.0.1"_s)
                .with(u"port"_s, QString::number(relay.port()))
                .with(u"dbname"_s, u"shop"_s)
                .with(u"user"_s, u"tst_relay_gui"_s)
                .with(u"password"_s, u"relay-secret"_s));
        htap::ui::MonitoredServer* far = window.selectedServer();
        QVERIFY(far);
        QTRY_VERIFY_WITH_TIMEOUT(far->recent().size() >= 2, 15000);
        window.connectTo(htap::test::sandboxConnInfo());
        htap::ui::MonitoredServer* near = window.selectedServer();
        QVERIFY(near && near != far);
        QCOMPARE(window.servers(), (QList<htap::ui::MonitoredServer*> {far, near}));
        QCOMPARE(list->count(), 2);
        QTRY_VERIFY_WITH_TIMEOUT(window.connectionStateText().startsWith(u"Connected to postgres@"_s), 10000);
        htap::ui::ChartWidget* sessions = window.activityPage()->sessionsChart();
        QTRY_VERIFY_WITH_TIMEOUT(sessions->pointCount(0) >= 2, 15000);

        // The relay goes silent: its row says so; the shown server goes on, on the pages too.
        relay.setFrozen(true);
        QTRY_COMPARE_WITH_TIMEOUT(far->state(), htap::monitor::ConnectionState::NotResponding, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(list->item(0)->data(Qt::UserRole).toString(), u"not responding"_s, 5000);
        QCOMPARE(list->item(1)->data(Qt::UserRole).toString(), u"up"_s);
        const QDateTime farLast = far->recent().last().sample.sampledAt;
        const int shown = sessions->pointCount(0);
        QTRY_VERIFY_WITH_TIMEOUT(sessions->pointCount(0) >= shown + 3, 15000);
        QVERIFY(sessions->lastTime(0) > farLast);
        QCOMPARE(far->state(), htap::monitor::ConnectionState::NotResponding); // silent all along
        QVERIFY(window.connectionStateText().startsWith(u"Connected to postgres@"_s));
        QVERIFY(window.findChild<QLabel*>(u"serversSummary"_s)->text().contains(u"1 of 2 servers up"_s));

        // Selecting the silent one: its own samples from before, its state; nothing new comes.
        list->setCurrentRow(0);
        QCOMPARE(window.selectedServer(), far);
        QCOMPARE(window.collector(), far->collector());
        QCOMPARE(window.viewsPage()->jobs(), far->jobs()); // the Views page acts on the shown server
        QVERIFY2(window.connectionStateText().startsWith(u"No answer"_s), qPrintable(window.connectionStateText()));
        // Its figures are not now's: grey, and how long there has been no data.
        QTRY_VERIFY_WITH_TIMEOUT(window.overviewPage()->oltpHealth()->verdictText().startsWith(u"No data for"_s), 5000);
        QVERIFY(sessions->pointCount(0) >= 2);
        QVERIFY(sessions->lastTime(0) <= farLast.addMSecs(1));
        const qsizetype nearBefore = near->recent().size();
        QTRY_VERIFY_WITH_TIMEOUT(near->recent().size() >= nearBefore + 2, 10000); // the other samples on, unseen
        QVERIFY(sessions->lastTime(0) <= farLast.addMSecs(1));

        // Back to the sandbox: what it sampled meanwhile is drawn, and it is followed live.
        list->setCurrentRow(1);
        QCOMPARE(window.selectedServer(), near);
        QCOMPARE(window.viewsPage()->jobs(), near->jobs());
        QVERIFY(window.connectionStateText().startsWith(u"Connected to postgres@"_s));
        QVERIFY(sessions->firstTime(0) <= near->recent().first().sample.sampledAt);
        QCOMPARE(sessions->lastTime(0), near->recent().last().sample.sampledAt);
        const QDateTime drawn = sessions->lastTime(0);
        QTRY_VERIFY_WITH_TIMEOUT(sessions->lastTime(0) > drawn, 10000);
        QTest::qWait(300);
        QVERIFY(window.grab().save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_servers.png"_s)));

        // Removing the silent one returns at once (its thread is stuck in a statement the relay
        // holds: this thread serves the relay, so a removal that waited would never return;
        // the watchdog turns that hang into a failure that says so).
        QPointer<htap::monitor::ActivityCollector> farCollector = far->collector();
        const int farPid = far->collector()->server().backendPid;
        QVERIFY(farPid > 0);
        htap::test::Watchdog watchdog("removing a silent server blocked the GUI thread", 60);
        window.removeServer(far);
        watchdog.disarm();
        // Not deleted on the spot (that would wait for its stuck thread): it goes when the
        // thread has closed its connection.
        QVERIFY(!farCollector.isNull());
        QCOMPARE(window.servers(), QList<htap::ui::MonitoredServer*> {near});
        QCOMPARE(list->count(), 1);
        QCOMPARE(window.selectedServer(), near);
        QVERIFY(!htap::ui::Settings::servers().join(u' ').contains(QString::number(relay.port())));
        // Once the relay lets the stuck statement end, the collector closes and goes.
        relay.setFrozen(false);
        QTRY_VERIFY_WITH_TIMEOUT(farCollector.isNull(), 15000);
        QTRY_COMPARE_WITH_TIMEOUT(
            admin.exec(u"SELECT count(*) FROM pg_stat_activity WHERE pid = $1"_s, {farPid}).toInt64(0, 0), qint64(0), 10000);
        const int live = sessions->pointCount(0);
        QTRY_VERIFY_WITH_TIMEOUT(sessions->pointCount(0) > live, 10000);
        admin.runScript(u"DROP ROLE tst_relay_gui"_s);
    }

    void serverListSurvivesARestart()
    {
        QSettings().remove(u"servers"_s);
        const auto unreachable = htap::pg::ConnInfo()
                                     .with(u"host"_s, u"127.0.0.1"_s)
                                     .with(u"port"_s, u"1"_s)
                                     .with(u"dbname"_s, u"shop"_s)
                                     .with(u"user"_s, u"dba"_s)
                                     .with(u"password"_s, u"servers-s3cret"_s);
        {
            MainWindow window;
            window.show();
            window.connectTo(htap::test::sandboxConnInfo());
            window.connectTo(unreachable);
            QCOMPARE(window.servers().size(), 2);
            QTRY_COMPARE_WITH_TIMEOUT(window.selectedServer()->state(), htap::monitor::ConnectionState::Failed, 10000);
            QVERIFY(window.connectionStateText().startsWith(u"Not connected"_s));
            auto* list = window.findChild<QListWidget*>(u"serverList"_s);
            QCOMPARE(list->item(1)->data(Qt::UserRole).toString(), u"down"_s);
            QVERIFY(list->item(1)->toolTip().contains(u"refused"_s));
            // The same server again is the same row.
            window.connectTo(htap::test::sandboxConnInfo());
            QCOMPARE(window.servers().size(), 2);
            QCOMPARE(window.selectedServer(), window.servers().first());
            QTRY_VERIFY_WITH_TIMEOUT(window.connectionStateText().startsWith(u"Connected to postgres@"_s), 10000);
            window.selectServer(window.servers().at(1)); // the one shown last
            window.close();
        }
        QSettings().sync();
        QDirIterator it(m_settingsDir.path(), QDir::Files, QDirIterator::Subdirectories);
        while (it.hasNext()) {
            QFile f(it.next());
            QVERIFY(f.open(QIODevice::ReadOnly));
            QVERIFY2(!f.readAll().contains("servers-s3cret"), qPrintable(f.fileName()));
        }

        MainWindow again;
        again.show();
        QVERIFY(again.servers().isEmpty()); // only the app restores (htap-studio --no-restore does not)
        again.restoreServers();
        QCOMPARE(again.servers().size(), 2);
        QCOMPARE(again.selectedServer(), again.servers().at(1)); // the one shown last
        QCOMPARE(again.servers().at(1)->info().value(u"port"_s), u"1"_s);
        QVERIFY(!again.servers().at(1)->info().contains(u"password"_s));
        // The sandbox named again (its options in another order than the stored list's) is the
        // restored row, not a second one sampling the same server into the same history.
        again.connectTo(htap::test::sandboxConnInfo());
        QCOMPARE(again.servers().size(), 2);
        QCOMPARE(again.selectedServer(), again.servers().first());
        QTRY_VERIFY_WITH_TIMEOUT(again.connectionStateText().startsWith(u"Connected to postgres@"_s), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(again.servers().at(1)->state(), htap::monitor::ConnectionState::Failed, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(again.activityPage()->sessionsChart()->pointCount(0) >= 2, 15000);
        again.removeServer(again.servers().at(1));
        QCOMPARE(htap::ui::Settings::servers().size(), 1);
        {
            // htap-studio --no-restore: this session's servers leave the stored list alone.
            MainWindow once;
            once.setServerListSaved(false);
            once.connectTo(unreachable.with(u"port"_s, u"2"_s));
            QCOMPARE(htap::ui::Settings::servers().size(), 1);
        }
        QSettings().remove(u"servers"_s);
    }

    void connectDialogValidatesAsYouType()
    {
        htap::ui::ConnectDialog dialog;
        auto* edit = dialog.findChild<QLineEdit*>(u"connInfoEdit"_s);
        auto* label = dialog.findChild<QLabel*>(u"validationLabel"_s);
        auto* ok = dialog.findChild<QDialogButtonBox*>(u"buttonBox"_s)->button(QDialogButtonBox::Ok);
        QVERIFY(edit && label && ok);
        edit->setText(u"host='unterminated"_s);
        QVERIFY(!ok->isEnabled());
        QVERIFY(label->text().contains(u"Not a valid conninfo"_s));
        edit->setText(u"host=db1 port=5433 user=dba password=hunter2 dbname=shop"_s);
        QVERIFY(ok->isEnabled());
        QVERIFY(label->text().contains(u"dba@db1:5433/shop"_s));
        QVERIFY(!label->text().contains(u"hunter2"_s));
        QCOMPARE(dialog.connInfo().value(u"password"_s), u"hunter2"_s);
        // The password field wins over one in the string, and is masked.
        auto* password = dialog.findChild<QLineEdit*>(u"passwordEdit"_s);
        QCOMPARE(password->echoMode(), QLineEdit::Password);
        edit->setText(u"host=db1 port=5433 user=dba dbname=shop"_s);
        password->setText(u"s3cret"_s);
        QCOMPARE(dialog.connInfo().value(u"password"_s), u"s3cret"_s);
        dialog.show();
        QVERIFY(dialog.grab().save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_connectdialog.png"_s)));
    }

    void profilesNeverStorePasswords()
    {
        htap::ui::Settings::saveProfile({u"Prod \"EU\""_s, u"host=db1 user=dba password=hunter2"_s});
        const auto profiles = htap::ui::Settings::profiles();
        QCOMPARE(profiles.size(), 1);
        QCOMPARE(profiles[0].name, u"Prod \"EU\""_s);
        QVERIFY(profiles[0].connInfo.contains(u"host=db1"_s));
        QVERIFY(!profiles[0].connInfo.contains(u"hunter2"_s));
        QSettings().sync();
        QDirIterator it(m_settingsDir.path(), QDir::Files, QDirIterator::Subdirectories);
        while (it.hasNext()) {
            QFile f(it.next());
            QVERIFY(f.open(QIODevice::ReadOnly));
            QVERIFY2(!f.readAll().contains("hunter2"), qPrintable(f.fileName()));
        }
        htap::ui::Settings::removeProfile(u"Prod \"EU\""_s);
        QVERIFY(htap::ui::Settings::profiles().isEmpty());
    }

    void windowGeometryIsRestored()
    {
        {
            MainWindow window;
            window.show();
            window.resize(1320, 860);
            QVERIFY(QTest::qWaitForWindowExposed(&window));
            window.close();
        }
        MainWindow again;
        QCOMPARE(again.size(), QSize(1320, 860));
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
