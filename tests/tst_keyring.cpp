// Remembered passwords: kept in the desktop's keyring (a GNOME Keyring of the test's own, in a
// D-Bus session of its own: tests/keyring-session.sh), never in a file; used to reconnect;
// forgotten with the server; and an option that says why when there is no keyring.
#include "testutil.h"

#include <pg/identifier.h>

#include <ui/connectdialog.h>
#include <ui/mainwindow.h>
#include <ui/monitoredserver.h>
#include <ui/passwordvault.h>
#include <ui/settings.h>

#include <QApplication>
#include <QCheckBox>
#include <QDirIterator>
#include <QInputDialog>
#include <QLineEdit>
#include <QRandomGenerator>
#include <QSettings>
#include <QTemporaryDir>

using namespace Qt::StringLiterals;
using htap::ui::ConnectDialog;
using htap::ui::MainWindow;
using htap::ui::PasswordVault;

class TestKeyring : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_settingsDir;
    QString m_role = u"tst_keyring"_s;
    QString m_password; ///< random per run: any file holding it was written by this run

    htap::pg::ConnInfo overTcp() const
    {
        // Over TCP the sandbox asks for a password (scram-sha-256); the socket trusts.
        return htap::pg::ConnInfo()
            .with(u"host"_s, u"127.0.0.1"_s)
            .with(u"port"_s, htap::test::sandboxConnInfo().value(u"port"_s))
            .with(u"dbname"_s, u"shop"_s)
            .with(u"user"_s, m_role);
    }

    /// The files under folder (recursively) that hold the password, as text or UTF-16.
    QStringList filesHoldingThePassword(const QString& folder) const
    {
        QStringList found;
        QDirIterator it(folder, QDir::Files | QDir::Hidden | QDir::System, QDirIterator::Subdirectories);
        while (it.hasNext()) {
            const QString path = it.next();
            QFile f(path);
            if (!f.open(QIODevice::ReadOnly))
                continue;
            const QByteArray bytes = f.read(64 << 20);
            const QByteArray utf16(reinterpret_cast<const char*>(m_password.utf16()), m_password.size() * 2);
            if (bytes.contains(m_password.toUtf8()) || bytes.contains(utf16))
                found << path;
        }
        return found;
    }

    /// Answers the next password question with text (or cancels it when empty); counts them.
    void answerPasswordQuestions(const QString& text, int* asked)
    {
        auto* timer = new QTimer(this);
        timer->setInterval(50);
        connect(timer, &QTimer::timeout, this, [text, asked] {
            auto* dialog = qobject_cast<QInputDialog*>(QApplication::activeModalWidget());
            if (!dialog)
                return;
            ++*asked;
            if (text.isEmpty())
                dialog->reject();
            else {
                dialog->setTextValue(text);
                dialog->accept();
            }
        });
        timer->start();
        m_answerers << timer;
    }
    QList<QTimer*> m_answerers;

private Q_SLOTS:
    void initTestCase()
    {
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_settingsDir.path());
        QSettings::setDefaultFormat(QSettings::NativeFormat);
        QCoreApplication::setOrganizationName(u"htap-studio-tests"_s);
        QCoreApplication::setApplicationName(u"tst_keyring"_s);
        QSettings().setValue(u"history/path"_s, m_settingsDir.filePath(u"history.sqlite"_s));
        m_password = u"kr-%1-pass"_s.arg(QRandomGenerator::global()->generate64(), 0, 36);
        htap::pg::Connection admin;
        QVERIFY(!admin.open(htap::test::sandboxConnInfo()));
        admin.exec(u"DROP ROLE IF EXISTS "_s + htap::pg::quoteIdentifier(m_role));
        const auto make = admin.exec(u"SELECT format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE pg_monitor', $1::text, $2::text)"_s,
            {m_role, m_password});
        QVERIFY(make.ok());
        QVERIFY(admin.runScript(make.text(0, 0)).ok());
    }

    void cleanup()
    {
        qDeleteAll(m_answerers);
        m_answerers.clear();
    }

    void withoutAKeyringTheOptionSaysWhy()
    {
        // No D-Bus session (CI's shell, a server over ssh): the option is off and says why.
        const QByteArray bus = qgetenv("DBUS_SESSION_BUS_ADDRESS");
        qunsetenv("DBUS_SESSION_BUS_ADDRESS");
        PasswordVault vault;
        ConnectDialog dialog(nullptr, &vault);
        dialog.setConnInfoText(overTcp().toConnString());
        dialog.setPasswordText(m_password);
        auto* remember = dialog.findChild<QCheckBox*>(u"rememberCheck"_s);
        QVERIFY(remember);
        QTRY_COMPARE(vault.availability(), PasswordVault::Availability::Unavailable);
        qputenv("DBUS_SESSION_BUS_ADDRESS", bus);
        QVERIFY(!remember->isEnabled());
        QVERIFY2(remember->text().contains(u"unavailable, no desktop session (D-Bus)"_s), qPrintable(remember->text()));
        remember->setChecked(true);
        QVERIFY(!dialog.rememberPassword());
        dialog.show();
        QVERIFY(dialog.grab().save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_connect-no-keyring.png"_s)));
    }

    void aRememberedPasswordLivesInTheKeyringOnly()
    {
        QVERIFY2(!qEnvironmentVariableIsEmpty("DBUS_SESSION_BUS_ADDRESS"), "run through ctest: keyring-session.sh");
        const htap::pg::ConnInfo server = overTcp();
        {
            MainWindow window;
            window.resize(1200, 800);
            window.show();
            PasswordVault* vault = window.passwordVault();
            ConnectDialog dialog(&window, vault);
            dialog.setConnInfoText(server.toConnString());
            auto* remember = dialog.findChild<QCheckBox*>(u"rememberCheck"_s);
            QTRY_COMPARE_WITH_TIMEOUT(vault->availability(), PasswordVault::Availability::Available, 10000);
            QVERIFY(!remember->isEnabled()); // nothing typed, nothing to remember
            dialog.setPasswordText(m_password);
            QVERIFY(remember->isEnabled());
            QVERIFY(!dialog.rememberPassword()); // opt-in
            remember->setChecked(true);
            QVERIFY(dialog.rememberPassword());
            dialog.show();
            QVERIFY(dialog.grab().save(QDir(qEnvironmentVariable("HTAP_TEST_BINDIR")).filePath(u"../tst_connect-keyring.png"_s)));
            dialog.hide();

            // A wrong password is not kept: the server refuses it and the banner says so.
            window.connectAndRemember(server.with(u"password"_s, u"wrong"_s));
            QTRY_VERIFY_WITH_TIMEOUT(window.bannerText().contains(u"password authentication failed"_s), 15000);
            QTest::qWait(500);
            QVERIFY(htap::ui::Settings::rememberedPasswords().isEmpty());

            // The right one is kept once the server accepted it.
            window.connectAndRemember(dialog.connInfo());
            QTRY_VERIFY2_WITH_TIMEOUT(window.bannerText().contains(u"kept in the desktop's keyring"_s), qPrintable(window.bannerText() + u" / "_s + window.connectionStateText()), 15000);
            QVERIFY(window.connectionStateText().startsWith(u"Connected to tst_keyring@127.0.0.1"_s));
            QCOMPARE(htap::ui::Settings::rememberedPasswords(), QStringList {PasswordVault::keyFor(server)});
            QString fetched = u"(none)"_s;
            vault->fetch(server, this, [&fetched](const QString& p, const QString&) { fetched = p; });
            QTRY_COMPARE_WITH_TIMEOUT(fetched, m_password, 10000);
        } // the window closes: its server list is saved, without the password

        // No file we wrote holds it: settings, history, the scratch home (where only the
        // keyring's own encrypted file is).
        QSettings().sync();
        QCOMPARE(filesHoldingThePassword(m_settingsDir.path()), QStringList());
        QCOMPARE(filesHoldingThePassword(qEnvironmentVariable("HTAP_TEST_KEYRING_HOME")), QStringList());

        // The next start reconnects with the keyring's password, asking nobody.
        {
            MainWindow window;
            window.show();
            int asked = 0;
            answerPasswordQuestions({}, &asked);
            window.restoreServers();
            QTRY_VERIFY_WITH_TIMEOUT(window.connectionStateText().startsWith(u"Connected to tst_keyring@127.0.0.1"_s), 15000);
            QCOMPARE(asked, 0);

            // Removing the server forgets its password, in the keyring too.
            window.removeServer(window.findServer(server));
            QVERIFY(htap::ui::Settings::rememberedPasswords().isEmpty());
            bool gone = false;
            for (int attempt = 0; attempt < 20 && !gone; ++attempt) { // the delete is asynchronous too
                QString fetched = u"(none)"_s;
                window.passwordVault()->fetch(server, this, [&fetched](const QString& p, const QString&) { fetched = p; });
                QTRY_VERIFY_WITH_TIMEOUT(fetched != u"(none)"_s, 5000);
                gone = fetched.isEmpty();
                if (!gone)
                    QTest::qWait(100);
            }
            QVERIFY(gone);
        }
    }

    void cleanupTestCase()
    {
        htap::pg::Connection admin;
        if (!admin.open(htap::test::sandboxConnInfo()))
            admin.exec(u"DROP ROLE IF EXISTS "_s + htap::pg::quoteIdentifier(m_role));
    }
};

QTEST_MAIN(TestKeyring)
#include "tst_keyring.moc"
