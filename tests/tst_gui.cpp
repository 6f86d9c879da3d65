// GUI craft that a user sees before reading a figure: readable highlights in light and dark
// themes, messages that move nothing, a window that fits a laptop. Offscreen, real widgets.
// qcustomplot.h itself uses foreach: before any Qt header.
#undef QT_NO_FOREACH
#include <qcustomplot.h>

#include "testutil.h"

#include <ui/activitypage.h>
#include <ui/banner.h>
#include <ui/chartwidget.h>
#include <ui/healthtile.h>
#include <ui/overviewpage.h>
#include <ui/colours.h>
#include <ui/mainwindow.h>
#include <ui/monitoredserver.h>
#include <ui/routerpage.h>
#include <ui/vacuumpage.h>
#include <ui/viewjobs.h>
#include <ui/viewspage.h>
#include <ui/scenariospage.h>
#include <ui/snapshottablemodel.h>
#include <ui/settings.h>
#include <ui/theme.h>

#include <QApplication>
#include <cmath>
#include <QThread>
#include <atomic>
#include <functional>
#include <memory>
#include <csignal>
#include <thread>
#include <vector>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <mv/mvservice.h>
#include <QPushButton>
#include <QScrollArea>
#include <QTimer>
#include <QScopeGuard>
#include <QAbstractButton>
#include <QAction>
#include <QListWidget>
#include <QSettings>
#include <QStackedWidget>
#include <QTableWidget>
#include <QStyle>
#include <QStyleFactory>
#include <QTemporaryDir>

using namespace Qt::StringLiterals;
using htap::ui::Banner;
using htap::ui::MainWindow;
namespace colours = htap::ui::colours;

namespace {

using htap::ui::darkPalette;
using htap::ui::lightPalette;
using htap::ui::RouterPage;
using htap::ui::Theme;
using htap::ui::applyTheme;
using htap::ui::themeName;

} // namespace

class TestGui : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_settingsDir;

private Q_SLOTS:
    void initTestCase()
    {
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_settingsDir.path());
        QSettings::setDefaultFormat(QSettings::NativeFormat);
        QCoreApplication::setOrganizationName(u"htap-studio-tests"_s);
        QCoreApplication::setApplicationName(u"tst_gui"_s);
        QSettings().setValue(u"history/path"_s, m_settingsDir.filePath(u"history.sqlite"_s));
    }

    void highlightsReadUnderLightAndDark_data()
    {
        QTest::addColumn<QPalette>("palette");
        QTest::newRow("light (Fusion)") << lightPalette();
        QTest::newRow("dark (Adwaita-dark)") << darkPalette();
    }
    void highlightsReadUnderLightAndDark()
    {
        QFETCH(QPalette, palette);
        QApplication::setPalette(palette);
        const QColor text = palette.color(QPalette::Text), base = palette.color(QPalette::Base);
        for (const auto tone : {colours::Tone::Bad, colours::Tone::Warn, colours::Tone::Good, colours::Tone::Info}) {
            const QColor bg = colours::rowBackground(tone, palette);
            QVERIFY2(colours::contrastRatio(bg, text) >= 4.5, qPrintable(u"row %1 on %2: %3"_s.arg(text.name(), bg.name())
                                                                        .arg(colours::contrastRatio(bg, text))));
            QVERIFY(bg != base); // still a highlight
            QVERIFY(colours::contrastRatio(colours::toneText(tone, palette), base) >= 4.5);
        }
        for (const auto level : {Banner::Level::Info, Banner::Level::Warning, Banner::Level::Error})
            QVERIFY(colours::contrastRatio(Banner::background(level, palette), Banner::foreground(level, palette)) >= 4.5);
        // A model's highlighted row follows the application's palette when painted.
        htap::ui::SnapshotTableModel model({u"table"_s});
        htap::ui::SnapshotTableModel::Row row;
        row.display = {u"inventory"_s};
        row.tone = colours::Tone::Bad;
        model.setRows({row});
        const QColor painted = model.data(model.index(0, 0), Qt::BackgroundRole).value<QColor>();
        QVERIFY(painted.isValid());
        QVERIFY2(colours::contrastRatio(painted, text) >= 4.5, qPrintable(painted.name()));
        QApplication::setPalette(lightPalette());
    }

    void theWindowFitsALaptop()
    {
        // 1024x700 with every page: pages scroll or reflow instead of forcing width.
        MainWindow window;
        window.resize(1024, 700);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(window.pageTitles().contains(u"Replication"_s) && window.pageTitles().contains(u"Advisor"_s));
        for (const QString& page : window.pageTitles()) {
            window.showPage(page);
            QApplication::processEvents();
            const QSize min = window.minimumSizeHint().expandedTo(window.minimumSize());
            QVERIFY2(min.width() <= 1024 && min.height() <= 700,
                qPrintable(u"%1: the window needs %2x%3"_s.arg(page).arg(min.width()).arg(min.height())));
            QCOMPARE(window.size(), QSize(1024, 700));
            // Scrolling down is fine; sideways cuts the page's right edge (its buttons).
            auto* pages = window.findChild<QStackedWidget*>();
            auto* area = qobject_cast<QScrollArea*>(pages ? pages->currentWidget() : nullptr);
            QVERIFY(area && area->widget());
            QVERIFY2(area->widget()->minimumSizeHint().width() <= area->viewport()->width(),
                qPrintable(u"%1 needs %2 px, has %3"_s.arg(page).arg(area->widget()->minimumSizeHint().width()).arg(area->viewport()->width())));
            if (page == u"Scenarios"_s) // its targets in view before any run
                QTRY_VERIFY2_WITH_TIMEOUT(window.scenariosPage()->latencyChart()->valueLabels().contains(u"1,000"_s),
                    qPrintable(window.scenariosPage()->latencyChart()->valueLabels().join(u", "_s)), 3000);
            QVERIFY(window.grab().save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR"))
                                           .filePath(u"../tst_gui-1024-%1.png"_s.arg(page.toLower()))));
        }
    }

    void pauseFreezesTablesToo()
    {
        MainWindow window;
        window.resize(1300, 850);
        window.show();
        window.connectTo(htap::test::sandboxConnInfo());
        htap::ui::SnapshotTableModel* tables = window.vacuumPage()->tables();
        const auto deadTuples = [tables] {
            const int row = tables->rowOf(u"public.inventory"_s);
            return row < 0 ? -1 : tables->data(tables->index(row, 1), htap::ui::SnapshotTableModel::SortRole).toLongLong();
        };
        QTRY_VERIFY_WITH_TIMEOUT(deadTuples() >= 0, 20000);
        window.showPage(u"Vacuum"_s);
        window.setPaused(true);
        QVERIFY(window.isFrozen());
        auto* bar = window.findChild<QFrame*>(u"pauseBar"_s);
        QVERIFY(bar && bar->isVisible());
        QVERIFY2(window.findChild<QLabel*>(u"pauseText"_s)->text().startsWith(u"Paused at "_s),
            qPrintable(window.findChild<QLabel*>(u"pauseText"_s)->text()));
        const qint64 frozen = deadTuples();

        // Dead tuples the server counts while the page holds still.
        {
            htap::pg::Connection admin;
            QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
            QVERIFY(admin.exec(u"UPDATE inventory SET quantity = quantity"_s).ok());
        } // its statistics reach the server when it closes
        const qsizetype samples = window.selectedServer()->recent().size();
        QTRY_VERIFY_WITH_TIMEOUT(window.selectedServer()->recent().size() >= samples + 3, 15000);
        QCOMPARE(deadTuples(), frozen);
        QVERIFY(window.grab().save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_gui-paused.png"_s)));

        // Resume: what came meanwhile is drawn.
        window.findChild<QPushButton*>(u"resumeLive"_s)->click();
        QVERIFY(!window.isFrozen());
        QVERIFY(bar->isHidden());
        QTRY_VERIFY_WITH_TIMEOUT(deadTuples() != frozen, 15000); // (autovacuum may have lowered it)
    }

    void aViewActionWaitingOnALockNamesTheBlocker()
    {
        // Maintain incrementally needs a lock the order writers hold: an idle transaction that
        // updated orders keeps it. The page names that session and offers what can help.
        htap::pg::Connection blocker;
        QVERIFY(!blocker.open(htap::test::sandboxConnInfo()));
        QVERIFY(blocker.runScript(u"BEGIN; UPDATE orders SET status = status WHERE order_id = (SELECT min(order_id) FROM orders)"_s).ok());
        const int blockerPid = blocker.backendPid();
        MainWindow window;
        window.resize(1300, 850);
        window.show();
        window.connectTo(htap::test::sandboxConnInfo());
        htap::ui::ViewsPage* page = window.viewsPage();
        QTRY_VERIFY_WITH_TIMEOUT(page->model()->rowOf(u"public.fact_sales_mv"_s) >= 0, 20000);
        window.showPage(u"Views"_s);
        page->selectView(u"public.fact_sales_mv"_s);
        QSignalSpy finished(page->jobs(), &htap::ui::ViewJobs::jobFinished);
        page->runAction(u"incremental"_s, true);
        QTRY_VERIFY_WITH_TIMEOUT(page->lockWaitText().contains(u"held by pid %1"_s.arg(blockerPid)), 10000);
        QVERIFY2(page->lockWaitText().contains(u"idle in transaction"_s), qPrintable(page->lockWaitText()));
        QVERIFY(page->lockWaitText().contains(u"UPDATE orders"_s));
        auto* cancelIt = window.findChild<QPushButton*>(u"waitCancelBlocker"_s);
        QVERIFY(!cancelIt->isEnabled()); // it runs no statement: cancel cannot help
        QVERIFY(window.findChild<QPushButton*>(u"waitTerminateBlocker"_s)->isEnabled());
        QVERIFY(window.grab().save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_gui-views-lock-wait.png"_s)));

        // Stop waiting: the action ends, the view stays as it was.
        window.findChild<QPushButton*>(u"waitStop"_s)->click();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 15000);
        QVERIFY(!finished.at(0).at(2).toBool());
        QTRY_VERIFY_WITH_TIMEOUT(page->lockWaitText().isEmpty(), 5000);
        QVERIFY(page->findChild<QLabel*>(u"viewsStatus"_s)->text().contains(u"failed"_s));

        // Again, and this time end the blocker: the action goes through and its row says so at once.
        page->runAction(u"incremental"_s, true);
        QTRY_VERIFY_WITH_TIMEOUT(page->lockWaitText().contains(u"held by pid %1"_s.arg(blockerPid)), 10000);
        QTimer::singleShot(300, this, [] {
            if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget()))
                box->button(QMessageBox::Yes)->click();
        });
        window.findChild<QPushButton*>(u"waitTerminateBlocker"_s)->click();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, 20000);
        QVERIFY2(finished.at(1).at(2).toBool(), qPrintable(finished.at(1).at(3).toString()));
        const int row = page->model()->rowOf(u"public.fact_sales_mv"_s);
        QTRY_VERIFY_WITH_TIMEOUT(page->model()->data(page->model()->index(page->model()->rowOf(u"public.fact_sales_mv"_s), 1),
                                     Qt::DisplayRole).toString().startsWith(u"incremental"_s), 4000);
        Q_UNUSED(row);
        htap::pg::Connection c;
        QVERIFY(!c.open(htap::test::sandboxConnInfo()));
        QCOMPARE(htap::mv::MvService(c).disableIncremental(u"fact_sales_mv"_s), QString());
    }

    void theOverviewDuringABlockingEpisodeReadsInLightAndDark()
    {
        // The README's pictures: order entry blocked behind an idle transaction, at 1600x1000,
        // under the light and the Adwaita-dark palette; the red row's text keeps its contrast.
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        QVERIFY(admin.runScript(u"CREATE TABLE IF NOT EXISTS tst_gui_orders (id int PRIMARY KEY, v int); "
                                "INSERT INTO tst_gui_orders VALUES (1, 0) ON CONFLICT DO NOTHING; "
                                "GRANT SELECT, UPDATE ON tst_gui_orders TO oltp_user"_s).ok());
        const auto oltp = htap::test::sandboxConnInfo().with(u"user"_s, u"oltp_user"_s);
        htap::pg::Connection holder;
        QVERIFY(!holder.open(oltp, {10000, u"order entry"_s}));
        QVERIFY(holder.exec(u"BEGIN"_s).ok());
        QVERIFY(holder.exec(u"UPDATE tst_gui_orders SET v = v + 1 WHERE id = 1"_s).ok());
        std::vector<std::thread> waiters;
        for (int i = 0; i < 4; ++i)
            waiters.emplace_back([oltp] {
                htap::pg::Connection c;
                if (!c.open(oltp, {10000, u"order entry"_s}))
                    c.exec(u"UPDATE tst_gui_orders SET v = v + 1 WHERE id = 1"_s);
            });
        {
            MainWindow window;
            window.resize(1600, 1000);
            window.show();
            window.connectTo(htap::test::sandboxConnInfo());
            htap::ui::HealthTile* orders = window.overviewPage()->oltpHealth();
            QTRY_VERIFY_WITH_TIMEOUT(orders->state() == htap::ui::HealthTile::State::Missed
                    && orders->reasonText().startsWith(u"4 order sessions waiting"_s),
                20000);
            QTest::qWait(6000); // a few seconds of sparklines and the episode's span
            const QDir out(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u".."_s));
            QVERIFY(window.grab().save(out.filePath(u"tst_gui-overview-blocking.png"_s)));
            QApplication::setPalette(darkPalette());
            QTest::qWait(1500);
            QVERIFY(window.grab().save(out.filePath(u"tst_gui-overview-dark.png"_s)));
            const QPalette tile = orders->palette();
            QVERIFY(colours::contrastRatio(tile.color(QPalette::Window), tile.color(QPalette::WindowText)) >= 4.5
                || colours::contrastRatio(tile.color(QPalette::Base), tile.color(QPalette::Text)) >= 4.5);
            QApplication::setPalette(lightPalette());
        }
        holder.exec(u"ROLLBACK"_s);
        for (auto& t : waiters)
            t.join();
    }

    void afterAStallTheChartsShowAGapNotASpike()
    {
        // The monitor's backend stops for 8 s under a steady load (SIGSTOP): the tiles grey out
        // with "no data", and afterwards the Activity chart has a gap, not a spike (the counts of
        // the stall are not poured into one second). The picture is the README's.
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        QVERIFY(admin.runScript(u"CREATE TABLE IF NOT EXISTS tst_gui_load (id int PRIMARY KEY, v int); "
                                "INSERT INTO tst_gui_load VALUES (1, 0) ON CONFLICT DO NOTHING"_s).ok());
        std::atomic<bool> stop {false};
        std::thread load([&stop] {
            // Writes: PostgreSQL 15 does not flush the counts of transactions that touched no table.
            htap::pg::Connection c;
            if (c.open(htap::test::sandboxConnInfo(), {10000, u"steady load"_s}))
                return;
            while (!stop) {
                c.exec(u"UPDATE tst_gui_load SET v = v + 1 WHERE id = 1"_s);
                QThread::msleep(20);
            }
        });
        const std::unique_ptr<void, std::function<void(void*)>> joinLoad(reinterpret_cast<void*>(1), [&stop, &load](void*) {
            stop = true;
            if (load.joinable())
                load.join();
        });
        MainWindow window;
        window.resize(1600, 1000);
        window.show();
        window.connectTo(htap::test::sandboxConnInfo());
        htap::ui::ChartWidget* tps = window.activityPage()->throughputChart();
        // Live samples, not only the history of the tests before (the same sandbox, the same
        // history file): the first ones come at once from it.
        QTRY_VERIFY_WITH_TIMEOUT(tps->pointCount(0) >= 8 && window.selectedServer()->recent().size() >= 4
                && window.collector()->server().backendPid > 0, 20000);
        const int backend = window.collector()->server().backendPid;
        QCOMPARE(::kill(backend, SIGSTOP), 0);
        // Whatever fails below, the backend goes on (a stopped one would hold the suite).
        const std::unique_ptr<void, std::function<void(void*)>> resume(reinterpret_cast<void*>(1), [backend](void*) {
            ::kill(backend, SIGCONT);
        });
        // (The grey "no data" tiles of a silent server are tst_mainwindow's; here the state.)
        QTRY_VERIFY2_WITH_TIMEOUT(window.connectionStateText().startsWith(u"No answer"_s),
            qPrintable(u"backend %1; %2"_s.arg(backend).arg(window.connectionStateText())), 30000);
        // The tiles say their figures are not now's: grey, "no data for N s".
        QTRY_VERIFY2_WITH_TIMEOUT(window.overviewPage()->oltpHealth()->verdictText().startsWith(u"No data for"_s),
            qPrintable(u"OLTP tile: %1; state %2; frozen %3; selected %4 of %5"_s.arg(window.overviewPage()->oltpHealth()->verdictText(),
                window.connectionStateText())
                           .arg(window.isFrozen())
                           .arg(window.servers().indexOf(window.selectedServer()))
                           .arg(window.servers().size())),
            5000);
        const QDir out(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u".."_s));
        QTest::qWait(4000);
        QVERIFY(window.grab().save(out.filePath(u"tst_gui-overview-stalled.png"_s)));
        QCOMPARE(::kill(backend, SIGCONT), 0);
        const int before = tps->pointCount(0);
        QTRY_VERIFY_WITH_TIMEOUT(tps->pointCount(0) >= before + 14, 30000); // the gap's points, then live ones
        stop = true;
        if (load.joinable())
            load.join();
        window.showPage(u"Activity"_s);
        QTest::qWait(600);
        QVERIFY(window.grab().save(out.filePath(u"tst_gui-activity-after-stall.png"_s)));
        // A gap (NaN points) where the stall was, and after it no point holding the stall's
        // transactions: a spike would pour them into one second, stall length x the load. The
        // load is the median of the points after the first one that follows the gap (before the
        // gap the chart may show the history of earlier tests, idle; other tests load the same
        // server meanwhile, so a point may be two or three times it: the stall's pour is more).
        // The stall's gap is the longest run of NaN points (a late sample under load makes a
        // short one too).
        const QList<double> values = tps->values(0);
        qsizetype first = -1, last = -1;
        for (qsizetype i = 0; i < values.size(); ++i) {
            if (!std::isnan(values[i]))
                continue;
            qsizetype j = i;
            while (j + 1 < values.size() && std::isnan(values[j + 1]))
                ++j;
            if (j - i > last - first)
                first = i, last = j;
            i = j;
        }
        QVERIFY2(last >= 0, "no gap where the stall was");
        QList<double> afterwards;
        for (const double v : values.mid(last + 2))
            if (!std::isnan(v))
                afterwards << v;
        QVERIFY2(afterwards.size() >= 3, qPrintable(u"%1 points after the gap"_s.arg(values.size() - last - 1)));
        std::sort(afterwards.begin(), afterwards.end());
        const double steady = afterwards[afterwards.size() / 2];
        const double stallSeconds = double(last - first + 1); // at least: the points missing, not the time
        double highest = 0;
        for (const double v : values.mid(last + 1, 1))
            highest = std::max(highest, v);
        QVERIFY2(steady > 0 && highest < 0.5 * steady * stallSeconds + steady,
            qPrintable(u"after the %1 s gap %2/s, steady %3/s"_s.arg(stallSeconds).arg(highest).arg(steady)));
    }

    void denseChartsFoldOnlyWhatIsNewAndDrawTheSame()
    {
        // A dense window keeps its complete columns from frame to frame: what it draws after
        // frames of live points, a point arriving late into the past, a gap, a pan back and a
        // return to live is what a chart given the same points at once draws.
        const QDateTime t0 = QDateTime::fromSecsSinceEpoch(1'800'000'000, Qt::UTC);
        auto make = [](htap::ui::ChartWidget& c) {
            c.resize(640, 300);
            c.show();
            c.addSeries(u"a"_s, htap::ui::ChartWidget::seriesColor(0));
            c.addSeries(u"b"_s, htap::ui::ChartWidget::seriesColor(1));
            c.setVisibleSeconds(3600);
        };
        htap::ui::ChartWidget live(u"live"_s, u"ms"_s), once(u"once"_s, u"ms"_s);
        make(live);
        make(once);
        QVERIFY(QTest::qWaitForWindowExposed(&live));
        const auto value = [](int s, int i) { return double((i * 7919 + s * 104729) % 997) + (s ? 0.5 : 0); };
        QList<std::tuple<int, int, double>> points; // series, second, value, in the order given
        for (int i = 0; i < 5400; ++i) {
            for (int s = 0; s < 2; ++s)
                points << std::make_tuple(s, i, (i >= 3000 && i < 3040) ? std::nan("") : value(s, i));
            if (i == 4500) // late: a point into the past, inside a column already complete
                points << std::make_tuple(0, 4000, 5000.0);
        }
        int given = 0;
        for (const auto& [s, i, v] : points) {
            live.addPoint(s, t0.addSecs(i), v);
            if (++given % 700 == 0)
                live.redrawNow(); // frames as the points come
            if (given == 7000) { // the operator looks at an earlier hour, then back to live
                live.showRange(t0.addSecs(600), t0.addSecs(2400));
                live.redrawNow();
                live.setPaused(false);
                live.redrawNow();
            }
        }
        for (const auto& [s, i, v] : points)
            once.addPoint(s, t0.addSecs(i), v);
        for (int frame = 0; frame < 2; ++frame) { // the second with the axes laid out for these values
            live.redrawNow();
            once.redrawNow();
        }
        QVERIFY(live.drawsEnvelope() && once.drawsEnvelope());
        QCOMPARE(live.plot()->axisRect()->width(), once.plot()->axisRect()->width());
        for (int s = 0; s < 2; ++s) {
            const auto a = live.plot()->graph(s)->data(), b = once.plot()->graph(s)->data();
            QCOMPARE(a->size(), b->size());
            QVERIFY(a->size() > 100);
            bool lateSeen = false;
            for (int k = 0; k < a->size(); ++k) {
                const auto& x = *(a->constBegin() + k);
                const auto& y = *(b->constBegin() + k);
                QCOMPARE(x.key, y.key);
                QVERIFY2(std::isnan(x.value) ? std::isnan(y.value) : std::abs(x.value - y.value) < 1e-9,
                    qPrintable(u"series %1 column %2: %3 against %4"_s.arg(s).arg(k).arg(x.value).arg(y.value)));
                lateSeen |= s == 0 && std::isnan(x.value);
            }
            QVERIFY(s != 0 || lateSeen); // the gap is drawn
        }
        QCOMPARE(live.plot()->yAxis->range().upper, once.plot()->yAxis->range().upper); // the late 5,000 counts
        QVERIFY(once.plot()->yAxis->range().upper >= 5000);
    }

    void chartsReadAtEveryDensity()
    {
        // Legends below the plot, a series that lies on another dashed, an hour of noisy
        // samples as a band rather than a block, labels without "e+", the time axis' labels as
        // long as the window needs, the palette's colours, units in the tooltip.
        htap::ui::ChartWidget chart(u"Mean statement time"_s, u"ms"_s);
        chart.resize(640, 300);
        chart.show();
        QVERIFY(QTest::qWaitForWindowExposed(&chart));
        chart.addSeries(u"OLTP"_s, htap::ui::ChartWidget::seriesColor(0));
        chart.addSeries(u"OLAP"_s, htap::ui::ChartWidget::seriesColor(1));
        chart.addSeries(u"OLTP again"_s, htap::ui::ChartWidget::seriesColor(2));
        const QDateTime now = QDateTime::currentDateTimeUtc();
        chart.setVisibleSeconds(3600); // an hour (points are kept for the window)
        for (int i = 3600; i >= 0; --i) {
            const QDateTime t = now.addSecs(-i);
            const double oltp = 2 + (i % 7) * 0.1;
            chart.addPoint(0, t, oltp);
            chart.addPoint(1, t, (i * 7919) % 1000); // noise from 0 to 999
            chart.addPoint(2, t, oltp);
        }
        QTRY_VERIFY_WITH_TIMEOUT(chart.plotArea().height() > 50 && !chart.legendArea().isEmpty(), 3000);
        QTRY_VERIFY_WITH_TIMEOUT(chart.drawsEnvelope(), 3000); // 3,600 points in about 560 pixels
        QTRY_VERIFY2_WITH_TIMEOUT(chart.timeLabels().size() >= 2 && chart.timeLabels().first().count(u':') == 1,
            qPrintable(chart.timeLabels().join(u", "_s)), 3000); // HH:mm
        QVERIFY2(chart.valuesText(now.addSecs(-600)).contains(u"mean of"_s), qPrintable(chart.valuesText(now.addSecs(-600))));
        const QDir out(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u".."_s));
        QVERIFY(chart.grab().save(out.filePath(u"tst_gui-chart-hour.png"_s)));

        chart.setVisibleSeconds(300);
        QTRY_VERIFY_WITH_TIMEOUT(!chart.drawsEnvelope(), 3000); // 300 points
        QTRY_COMPARE_WITH_TIMEOUT(chart.drawnStyle(2), Qt::DashLine, 3000);
        QCOMPARE(chart.drawnStyle(0), Qt::SolidLine);
        QCOMPARE(chart.drawnStyle(1), Qt::SolidLine);
        QVERIFY2(!chart.legendArea().intersects(chart.plotArea()) && chart.legendArea().top() >= chart.plotArea().bottom(),
            qPrintable(u"legend %1,%2 plot bottom %3"_s.arg(chart.legendArea().top()).arg(chart.legendArea().height()).arg(chart.plotArea().bottom())));
        QTRY_VERIFY2_WITH_TIMEOUT(!chart.timeLabels().isEmpty() && chart.timeLabels().first().count(u':') == 2,
            qPrintable(chart.timeLabels().join(u", "_s)), 3000); // HH:mm:ss
        const QString tip = chart.valuesText(now.addSecs(-30));
        QVERIFY2(tip.contains(u"OLTP: 2"_s) && tip.contains(u" ms"_s), qPrintable(tip));
        QVERIFY(chart.grab().save(out.filePath(u"tst_gui-chart-5min.png"_s)));
        chart.setVisibleSeconds(3600);

        // The band is what the column holds: the OLAP series' band spans most of 0 to 999 and
        // its line (the mean) runs near the middle, not at the top.
        chart.setSeriesVisible(1, false); // a click on its legend entry
        QTRY_VERIFY_WITH_TIMEOUT(!chart.valuesText(now.addSecs(-600)).contains(u"OLAP"_s), 3000);
        QTRY_VERIFY_WITH_TIMEOUT(chart.valueLabels().size() >= 2, 3000);
        QTRY_VERIFY2_WITH_TIMEOUT(QLocale::c().toDouble(chart.valueLabels().last().remove(u','))< 100,
            qPrintable(chart.valueLabels().join(u", "_s)), 3000); // the axis fits what is shown
        chart.setSeriesVisible(1, true);

        // Huge values: no label in scientific notation.
        htap::ui::ChartWidget huge(u"xid age"_s, u"xids"_s);
        huge.resize(500, 240);
        huge.show();
        QVERIFY(QTest::qWaitForWindowExposed(&huge));
        huge.addSeries(u"age"_s, htap::ui::ChartWidget::seriesColor(0));
        huge.addPoint(0, now.addSecs(-2), 2.0e9);
        huge.addPoint(0, now.addSecs(-1), 1.0e20);
        huge.addPoint(0, now, 3.5e20);
        QTRY_VERIFY_WITH_TIMEOUT(huge.valueLabels().size() >= 2, 3000);
        for (const QString& label : huge.valueLabels())
            QVERIFY2(!label.contains(u"e+"_s) && !label.contains(u"e-"_s), qPrintable(label));
        QVERIFY2(!huge.valuesText(now).contains(u"e+"_s), qPrintable(huge.valuesText(now)));

        // Many series in a short chart: the legend takes a row or two and "+N more", not the plot.
        htap::ui::ChartWidget many(u"Dead tuples"_s, u"rows"_s);
        many.resize(420, 240);
        many.show();
        QVERIFY(QTest::qWaitForWindowExposed(&many));
        for (int i = 0; i < 12; ++i) {
            many.addSeries(u"public.table_number_%1"_s.arg(i), htap::ui::ChartWidget::seriesColor(i));
            many.addPoint(i, now, i);
        }
        QTRY_VERIFY_WITH_TIMEOUT(many.legendCollapsed() && !many.legendArea().isEmpty(), 3000);
        QVERIFY2(many.legendArea().height() <= many.height() / 3 + 4, qPrintable(QString::number(many.legendArea().height())));
        // At the least height a page gives a chart, no legend row runs off its bottom edge.
        many.resize(500, many.minimumHeight());
        QTRY_VERIFY2_WITH_TIMEOUT(!many.legendArea().isEmpty() && many.legendFits() && many.legendArea().bottom() <= many.height(),
            qPrintable(u"legend %1 to %2, plot %3 high, chart %4"_s.arg(many.legendArea().top()).arg(many.legendArea().bottom())
                           .arg(many.plotArea().height()).arg(many.height())), 3000);

        // A chart of events ends its window at the clock's now, not at its newest event.
        htap::ui::ChartWidget events(u"Refresh durations"_s, u"seconds"_s);
        events.resize(500, 240);
        events.show();
        events.setPointsOnly(true);
        events.addSeries(u"sales_hourly_mv"_s, htap::ui::ChartWidget::seriesColor(0));
        events.addPoint(0, now.addSecs(-250), 0.4);
        events.advanceTo(now);
        QTRY_VERIFY_WITH_TIMEOUT(std::abs(events.visibleRange().second.secsTo(now)) <= 1, 3000);

        // The palette's Base under a dark theme, not white.
        chart.setPalette(darkPalette());
        const QPoint inside = chart.plotArea().topRight() + QPoint(-2, 2); // above the data
        QTRY_COMPARE_WITH_TIMEOUT(chart.grab().toImage().pixelColor(inside), darkPalette().color(QPalette::Base), 3000);
        QVERIFY(chart.grab().save(out.filePath(u"tst_gui-chart-hour-dark.png"_s)));
    }

    void theThemeMenuSwitchesAndIsKept()
    {
        // View > Theme > Dark: the app's palette is dark at once, charts included, and the
        // choice is kept for the next start; Follow the desktop gives the look back.
        MainWindow window;
        window.resize(1024, 700);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto* menu = window.findChild<QMenu*>(u"themeMenu"_s);
        QVERIFY(menu);
        QAction* dark = nullptr;
        QAction* desktop = nullptr;
        for (QAction* a : menu->actions()) {
            if (a->data().toString() == u"dark"_s)
                dark = a;
            if (a->data().toString() == u"desktop"_s)
                desktop = a;
        }
        QVERIFY(dark && desktop);
        const QColor before = QApplication::palette().color(QPalette::Base);
        dark->trigger();
        QCOMPARE(QApplication::palette().color(QPalette::Base), darkPalette().color(QPalette::Base));
        QCOMPARE(htap::ui::Settings::theme(), htap::ui::Theme::Dark);
        htap::ui::ChartWidget* tps = window.activityPage()->throughputChart();
        window.showPage(u"Activity"_s);
        QTRY_VERIFY_WITH_TIMEOUT(tps->plotArea().width() > 50, 3000);
        const QPoint inside = tps->plotArea().topRight() + QPoint(-2, 2);
        QTRY_COMPARE_WITH_TIMEOUT(tps->grab().toImage().pixelColor(inside), darkPalette().color(QPalette::Base), 3000);
        desktop->trigger();
        QCOMPARE(QApplication::palette().color(QPalette::Base), before);
        QCOMPARE(htap::ui::Settings::theme(), htap::ui::Theme::Desktop);
        QApplication::setPalette(lightPalette()); // as the other tests expect
    }

    void anEmptyChartUsesItsWidth()
    {
        // A chart with no series yet (the Scenarios page before a run) still lays out its plot
        // over its whole width.
        htap::ui::ChartWidget chart(u"Throughput per workload (dashed: target)"_s, u"requests/s"_s);
        chart.setLegendGroup(2);
        chart.resize(800, 300);
        chart.show();
        QVERIFY(QTest::qWaitForWindowExposed(&chart));
        QTRY_VERIFY2_WITH_TIMEOUT(chart.plotArea().width() > 600, qPrintable(QString::number(chart.plotArea().width())), 3000);
        chart.addSeries(u"orders"_s, htap::ui::ChartWidget::seriesColor(0));
        chart.removeAllSeries();
        QTest::qWait(500);
        QVERIFY2(chart.plotArea().width() > 600, qPrintable(QString::number(chart.plotArea().width())));
        // Its reference lines are in view before any data (the Scenarios page's targets).
        htap::ui::ChartWidget latency(u"Latency from the intended start"_s, u"ms"_s);
        latency.setLogarithmic(true);
        latency.addThreshold(50, u"OLTP target 50 ms"_s, htap::ui::ChartWidget::seriesColor(0));
        latency.addThreshold(1000, u"OLAP target 1 s"_s, htap::ui::ChartWidget::seriesColor(1));
        latency.resize(800, 300);
        latency.show();
        QVERIFY(QTest::qWaitForWindowExposed(&latency));
        QTRY_VERIFY2_WITH_TIMEOUT(latency.valueLabels().contains(u"1,000"_s), qPrintable(latency.valueLabels().join(u", "_s)), 3000);
    }

    void aViewRowIsRedOnlyPastItsOwnTarget()
    {
        // A plain view refreshed by hand has no freshness target: an hour old, it is not red
        // (the Overview says "No target set" for it too); one scheduled every minute and ten
        // minutes old is, and its tooltip says against what.
        htap::ui::ViewsPage page;
        page.setTargets(htap::monitor::Targets {});
        htap::monitor::ServerSample s;
        s.sampledAt = QDateTime::currentDateTimeUtc();
        htap::monitor::ViewSample views;
        htap::monitor::ViewState plain;
        plain.view = u"public.hourly_by_hand"_s;
        plain.populated = true;
        plain.stalenessSeconds = 3600;
        htap::monitor::ViewState scheduled = plain;
        scheduled.view = u"public.every_minute"_s;
        scheduled.scheduleSeconds = 60;
        scheduled.stalenessSeconds = 600;
        views.views = {plain, scheduled};
        s.views = views;
        page.addSample(s);
        const int byHand = page.model()->rowOf(plain.view), everyMinute = page.model()->rowOf(scheduled.view);
        QVERIFY(byHand >= 0 && everyMinute >= 0);
        QVERIFY(!page.model()->data(page.model()->index(byHand, 0), Qt::BackgroundRole).isValid());
        QVERIFY(page.model()->data(page.model()->index(everyMinute, 0), Qt::BackgroundRole).isValid());
        const QString tip = page.model()->data(page.model()->index(everyMinute, 0), Qt::ToolTipRole).toString();
        QVERIFY2(tip.contains(u"past "_s) && tip.contains(u"its schedule"_s), qPrintable(tip));
    }

    void stalenessChartShowsHoursAndSecondsTogether()
    {
        // A plain view refreshed by hand ten hours ago beside incremental ones a fraction of a
        // second behind: on a linear axis the incremental lines lay flat on zero. The log axis
        // labels both ends; a view with nothing pending (0 s) is drawn at the floor, not lost.
        htap::ui::ViewsPage page;
        page.resize(1000, 650);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        htap::monitor::ViewState plain;
        plain.view = u"public.daily_by_hand"_s;
        plain.populated = true;
        plain.stalenessSeconds = 36000;
        htap::monitor::ViewState behind = plain;
        behind.view = u"public.sales_hourly_mv"_s;
        behind.incremental = true;
        behind.stalenessSeconds = 0.4;
        htap::monitor::ViewState fresh = behind;
        fresh.view = u"public.fact_sales_mv"_s;
        fresh.stalenessSeconds = 0;
        const QDateTime t0 = QDateTime::currentDateTimeUtc().addSecs(-20);
        for (int i = 0; i < 3; ++i) {
            htap::monitor::ServerSample s;
            s.sampledAt = t0.addSecs(10 * i);
            htap::monitor::ViewSample views;
            views.views = {plain, behind, fresh};
            s.views = views;
            page.addPastSample(s);
        }
        htap::ui::ChartWidget* chart = page.charts().first();
        QCOMPARE(chart->seriesCount(), 3);
        QTRY_VERIFY2_WITH_TIMEOUT(chart->valueLabels().contains(u"0.1"_s) && chart->valueLabels().contains(u"10,000"_s),
            qPrintable(chart->valueLabels().join(u", "_s)), 3000);
    }

    void anIncrementalViewShowsItsCaptureAndMergeLoad()
    {
        // Issue 26: what a DBA weighs freshness against. An incremental view's row says how its
        // changes are captured and what its merges cost over the last minute, the writers' share
        // with it when the cores are known; a view whose share is unknown shows the time alone.
        htap::ui::ViewsPage page;
        htap::monitor::ServerSample s;
        s.sampledAt = QDateTime::currentDateTimeUtc();
        htap::monitor::ViewState v;
        v.view = u"public.sales_hourly_mv"_s;
        v.populated = true;
        v.incremental = true;
        v.ivmState = u"ready"_s;
        v.captureMode = u"c"_s;
        v.mergesLastMinute = 55;
        v.mergeSecondsPerSecond = 0.126;
        v.writersShareLost = 0.063;
        htap::monitor::ViewState far = v;
        far.view = u"public.elsewhere_mv"_s;
        far.writersShareLost = -1;
        far.captureMode = u"sql"_s;
        htap::monitor::ViewSample views;
        views.views = {v, far};
        s.views = views;
        page.addSample(s);
        const auto cell = [&](const QString& view, int column) {
            return page.model()->data(page.model()->index(page.model()->rowOf(view), column), Qt::DisplayRole).toString();
        };
        QCOMPARE(cell(v.view, 1), u"incremental (C capture)"_s);
        QCOMPARE(cell(far.view, 1), u"incremental"_s);
        QCOMPARE(page.model()->headerData(4, Qt::Horizontal, Qt::DisplayRole).toString(), u"merge load (1 min)"_s);
        QCOMPARE(cell(v.view, 4), u"0.13 s/s, ≈ 6.3 % of writers"_s);
        QCOMPARE(cell(far.view, 4), u"0.13 s/s"_s);
        const QString tip = page.model()->data(page.model()->index(page.model()->rowOf(v.view), 4), Qt::ToolTipRole).toString();
        QVERIFY2(tip.contains(u"over the server's cores"_s), qPrintable(tip));
    }

    void overviewFiguresReadAsADbaSaysThem()
    {
        // Huge values without "e+", a table far past its trigger as a ratio, counts with
        // separators.
        htap::ui::OverviewPage page;
        htap::monitor::ServerSample s;
        s.sampledAt = QDateTime::currentDateTimeUtc();
        htap::monitor::VacuumSample v;
        htap::monitor::TableVacuum t;
        t.table = u"public.inventory"_s;
        t.pctOfTrigger = 55700;
        v.tables = {t};
        v.horizonAge = 2'000'000'123;
        s.vacuum = v;
        page.addSample(s);
        const QString all = page.figures().join(u'\n');
        QVERIFY2(all.contains(u"557x its trigger"_s), qPrintable(all));
        QVERIFY2(all.contains(u"2,000,000,123"_s), qPrintable(all));
        QVERIFY2(!all.contains(u"e+"_s), qPrintable(all));
        t.pctOfTrigger = 96;
        v.tables = {t};
        s.vacuum = v;
        page.addSample(s);
        QVERIFY2(page.figures().join(u'\n').contains(u"96 %"_s), qPrintable(page.figures().join(u'\n')));
    }

    void routerPageRoutesAStatement()
    {
        // The Router page: a statement the seed's hourly view answers, routed against the
        // sandbox's topology off the GUI thread; then a bad budget and a locking read. Looked
        // at in light and dark at 1024x700.
        {
            htap::pg::Connection c;
            QVERIFY(!c.open(htap::test::sandboxConnInfo()));
            htap::mv::MvService service(c);
            QCOMPARE(service.ensureRegistry(), QString());
            QVERIFY(service.refresh(u"sales_hourly_mv"_s, htap::mv::RefreshMode::Plain).ok);
        }
        const auto restore = qScopeGuard([] { applyTheme(Theme::Light); });
        for (const Theme theme : {Theme::Light, Theme::Dark}) {
            applyTheme(theme);
            MainWindow window;
            window.resize(1024, 700);
            window.show();
            window.connectTo(htap::test::sandboxConnInfo());
            QTRY_VERIFY_WITH_TIMEOUT(window.connectionStateText().startsWith(u"Connected to"_s), 20000);
            window.showPage(u"Router"_s);
            RouterPage* page = window.routerPage();
            page->setBudget(u"1h"_s);
            page->routeStatement();
            QVERIFY(page->isBusy()); // the topology is read on a worker thread
            QTRY_VERIFY_WITH_TIMEOUT(!page->isBusy(), 20000);
            QVERIFY2(page->decisionText().contains(u"view public.sales_hourly_mv"_s), qPrintable(page->decisionText() + page->reasonText()));
            QVERIFY2(page->rewrittenText().contains(u"sales_hourly_mv"_s), qPrintable(page->rewrittenText()));
            QVERIFY(page->viewsTable()->rowCount() >= 3);
            auto* pages = window.findChild<QStackedWidget*>();
            auto* area = qobject_cast<QScrollArea*>(pages->currentWidget());
            QVERIFY(area && area->widget() == page);
            QVERIFY2(page->minimumSizeHint().width() <= area->viewport()->width(), qPrintable(QString::number(page->minimumSizeHint().width())));
            QApplication::processEvents();
            QVERIFY(window.grab().save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR"))
                                           .filePath(u"../tst_gui-router-%1.png"_s.arg(themeName(theme)))));
        }
        MainWindow window;
        window.resize(1024, 700);
        window.show();
        window.connectTo(htap::test::sandboxConnInfo());
        QTRY_VERIFY_WITH_TIMEOUT(window.connectionStateText().startsWith(u"Connected to"_s), 20000);
        RouterPage* page = window.routerPage();
        page->setBudget(u"soon"_s);
        page->routeStatement();
        QVERIFY(!page->isBusy());
        QVERIFY(page->findChild<QLabel*>(u"routerStatus"_s)->text().contains(u"is not a duration"_s));
        page->setBudget({});
        page->setStatement(u"SELECT count(*) FROM inventory WHERE product_id = 1 FOR UPDATE"_s);
        page->routeStatement();
        QTRY_VERIFY_WITH_TIMEOUT(!page->isBusy(), 20000);
        QVERIFY2(page->decisionText().contains(u"the primary"_s), qPrintable(page->decisionText()));
        QVERIFY2(page->findChild<QLabel*>(u"routerKeyword"_s)->text().contains(u"the replica, which is wrong"_s),
            qPrintable(page->findChild<QLabel*>(u"routerKeyword"_s)->text()));
    }

    void sandboxAddStandbyMonitorsIt()
    {
        // Sandbox > Add standby…: the feedback choice in a question, the copy off the GUI
        // thread, then the standby monitored beside its primary; removed again afterwards.
        MainWindow window;
        window.resize(1024, 700);
        window.show();
        window.startSandbox(htap::test::testSandbox().dir()); // running: just connects, and names the folder
        QTRY_COMPARE_WITH_TIMEOUT(window.servers().size(), 1, 20000);
        auto* add = window.findChild<QAction*>(u"addStandbyAction"_s);
        QVERIFY(add);
        QTRY_VERIFY_WITH_TIMEOUT(add->isEnabled(), 20000);
        QTimer::singleShot(300, this, [] {
            for (QWidget* w : QApplication::topLevelWidgets())
                if (auto* box = qobject_cast<QMessageBox*>(w))
                    for (QAbstractButton* b : box->buttons())
                        if (b->text() == u"Feedback off"_s)
                            b->click();
        });
        add->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(window.servers().size(), 2, 60000);
        QString standbyDir;
        const auto cleanup = qScopeGuard([&standbyDir] {
            QString e;
            for (const QString& dir : htap::test::testSandbox().status().standbys)
                htap::test::testSandbox().removeStandby(dir, &e);
        });
        QVERIFY2(window.bannerText().contains(u"Standby running in"_s), qPrintable(window.bannerText()));
        QTRY_VERIFY_WITH_TIMEOUT(window.connectionStateText().startsWith(u"Connected to"_s), 20000);
        htap::pg::Connection standby;
        QVERIFY(!standby.open(window.selectedServer()->info()));
        QCOMPARE(standby.exec(u"SELECT pg_is_in_recovery()"_s).toBool(0, 0), true);
        QCOMPARE(standby.exec(u"SHOW hot_standby_feedback"_s).text(0, 0), u"off"_s);
        // The Servers list shows it under its primary, from its WAL receiver.
        auto* list = window.findChild<QListWidget*>(u"serverList"_s);
        QVERIFY(list);
        QTRY_VERIFY2_WITH_TIMEOUT(list->count() == 2 && list->item(1)->text().startsWith(u"↳"_s)
                && list->item(1)->data(Qt::UserRole + 1).toString().startsWith(u"standby of"_s),
            qPrintable(list->item(1) ? list->item(1)->text() : QString()), 20000);
        QCOMPARE(window.servers().at(1), window.selectedServer());
        QVERIFY(window.grab().save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_gui-standby.png"_s)));
    }

    void theBannerMovesNothing()
    {
        MainWindow window;
        window.resize(1024, 700);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto* pages = window.findChild<QStackedWidget*>();
        QVERIFY(pages);
        const QRect before = pages->geometry();
        auto* banner = window.findChild<Banner*>();
        QVERIFY(banner);
        banner->show(Banner::Level::Error, u"could not connect to server: Connection refused\n\tIs the server running on that host?"_s);
        QApplication::processEvents();
        QCOMPARE(pages->geometry(), before);
        QVERIFY(banner->isVisible());
        // Over the pages (their bottom edge: the top is a page's headline), inside the window.
        const QRect over(banner->mapTo(&window, QPoint(0, 0)), banner->size());
        const QRect area(pages->mapTo(&window, QPoint(0, 0)), pages->size());
        QVERIFY(over.top() > area.center().y()); // the Overview's health row stays in sight
        QVERIFY2(area.contains(over), qPrintable(u"banner %1,%2 %3x%4"_s.arg(over.x()).arg(over.y()).arg(over.width()).arg(over.height())));
        QVERIFY(window.grab().save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_gui-banner.png"_s)));
        // The same message again is one message; a window resize carries it along.
        banner->show(Banner::Level::Error, banner->text());
        window.resize(1300, 800);
        QApplication::processEvents();
        QCOMPARE(banner->width(), pages->width() - 24);
        banner->hide();
        QApplication::processEvents();
        QCOMPARE(pages->geometry().topLeft(), before.topLeft());
    }
};

QTEST_MAIN(TestGui)
#include "tst_gui.moc"
