// The GUI on the offscreen platform against the sandbox: real widgets, real server.
#include "testutil.h"

#include <ui/activitypage.h>
#include <ui/chartwidget.h>
#include <ui/connectdialog.h>
#include <ui/mainwindow.h>
#include <ui/settings.h>

#include <QApplication>
#include <QDialogButtonBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QTcpServer>
#include <QTemporaryDir>

using namespace Qt::StringLiterals;
using htap::ui::MainWindow;

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
        QVERIFY(window.activityPage()->throughputChart()->lastValue(0) >= 0);
        QTest::qWait(400); // let the chart redraw timer run once
        const QString shot = QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_mainwindow-connected.png"_s);
        QVERIFY(window.grab().save(shot));
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
            window.resize(1111, 777);
            QVERIFY(QTest::qWaitForWindowExposed(&window));
            window.close();
        }
        MainWindow again;
        QCOMPARE(again.size(), QSize(1111, 777));
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
