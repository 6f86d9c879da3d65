// The local history on a real SQLite file: round trip across a reopen, retention, and the bad
// files (not SQLite, newer schema, locked by another writer) that must turn history off with a
// clear message and leave the file untouched.
#include <store/historystore.h>

#include <QCryptographicHash>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QtTest>

using namespace Qt::StringLiterals;
using htap::store::HistoryStore;

namespace {
QJsonObject doc(int i)
{
    return {{u"format"_s, u"htap-monitor-sample"_s}, {u"version"_s, 1}, {u"i"_s, i}};
}

QByteArray digest(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256);
}
} // namespace

class TestStore : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;

    static bool openStore(HistoryStore& store, const QString& path, QString* message = nullptr)
    {
        QSignalSpy ok(&store, &HistoryStore::opened);
        QSignalSpy bad(&store, &HistoryStore::failed);
        store.open(path);
        if (!QTest::qWaitFor([&] { return ok.size() + bad.size() > 0; }, 10000))
            return false;
        if (!bad.isEmpty())
            qInfo("history failed: %s", qPrintable(bad.at(0).at(0).toString()));
        if (message && !bad.isEmpty())
            *message = bad.at(0).at(0).toString();
        return !ok.isEmpty();
    }

private Q_SLOTS:
    void roundTripAcrossAReopen()
    {
        const QString path = m_dir.filePath(u"history.sqlite"_s);
        const QDateTime t0 = QDateTime::currentDateTimeUtc().addSecs(-100);
        {
            HistoryStore store;
            QVERIFY(openStore(store, path));
            for (int i = 0; i < 50; ++i)
                store.append(u"postgres@db1:5432/shop"_s, t0.addSecs(i), doc(i));
            store.append(u"other@db2/x"_s, t0, doc(999));
            QSignalSpy flushed(&store, &HistoryStore::flushed);
            store.flush();
            QTRY_COMPARE(flushed.size(), 1);
            QCOMPARE(flushed.at(0).at(0).toInt(), 51);
        } // closed: the app restarts
        HistoryStore again;
        QVERIFY(openStore(again, path));
        QSignalSpy loaded(&again, &HistoryStore::loaded);
        again.load(u"postgres@db1:5432/shop"_s, t0.addSecs(10), t0.addSecs(19), 7);
        QTRY_COMPARE(loaded.size(), 1);
        QCOMPARE(loaded.at(0).at(0).toULongLong(), 7ULL);
        const auto docs = loaded.at(0).at(1).value<QList<QJsonObject>>();
        QCOMPARE(docs.size(), 10);
        QCOMPARE(docs.first().value(u"i"_s).toInt(), 10); // oldest first
        QCOMPARE(docs.last().value(u"i"_s).toInt(), 19);
        // Pending samples are written before a load reads.
        again.append(u"postgres@db1:5432/shop"_s, t0.addSecs(60), doc(60));
        again.load(u"postgres@db1:5432/shop"_s, t0.addSecs(60), t0.addSecs(60), 8);
        QTRY_COMPARE(loaded.size(), 2);
        QCOMPARE(loaded.at(1).at(1).value<QList<QJsonObject>>().size(), 1);
    }

    void retentionDropsOldSamples()
    {
        const QString path = m_dir.filePath(u"retention.sqlite"_s);
        HistoryStore store;
        QVERIFY(openStore(store, path));
        const QDateTime now = QDateTime::currentDateTimeUtc();
        store.append(u"s"_s, now.addDays(-3), doc(1));
        store.append(u"s"_s, now.addSecs(-5), doc(2));
        QSignalSpy flushed(&store, &HistoryStore::flushed);
        store.flush();
        QTRY_COMPARE(flushed.size(), 1);
        store.setRetentionDays(1);
        QSignalSpy loaded(&store, &HistoryStore::loaded);
        store.load(u"s"_s, now.addDays(-10), now, 1);
        QTRY_COMPARE(loaded.size(), 1);
        const auto docs = loaded.at(0).at(1).value<QList<QJsonObject>>();
        QCOMPARE(docs.size(), 1);
        QCOMPARE(docs.first().value(u"i"_s).toInt(), 2);
    }

    void notSqliteIsRefusedAndLeftAlone()
    {
        const QString path = m_dir.filePath(u"corrupt.sqlite"_s);
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(8192, 'x'));
        f.close();
        const QByteArray before = digest(path);
        HistoryStore store;
        QString message;
        QVERIFY(!openStore(store, path, &message));
        QVERIFY2(message.contains(u"is not a usable history file"_s), qPrintable(message));
        QVERIFY(message.contains(u"move it away"_s));
        store.append(u"s"_s, QDateTime::currentDateTimeUtc(), doc(1)); // history off: nothing happens
        QSignalSpy flushed(&store, &HistoryStore::flushed);
        store.flush();
        QTRY_COMPARE(flushed.size(), 1);
        QCOMPARE(flushed.at(0).at(0).toInt(), 0);
        QCOMPARE(digest(path), before);
    }

    void truncatedFileIsRefused()
    {
        // A real history cut short (a copy interrupted, a disk that filled up).
        const QString good = m_dir.filePath(u"tobetruncated.sqlite"_s);
        {
            HistoryStore store;
            QVERIFY(openStore(store, good));
            for (int i = 0; i < 200; ++i)
                store.append(u"s"_s, QDateTime::currentDateTimeUtc().addSecs(-i), doc(i));
            QSignalSpy flushed(&store, &HistoryStore::flushed);
            store.flush();
            QTRY_COMPARE(flushed.size(), 1);
        }
        QFile f(good);
        QVERIFY(f.open(QIODevice::ReadWrite));
        QVERIFY(f.resize(50));
        f.close();
        HistoryStore store;
        QString message;
        QVERIFY(!openStore(store, good, &message));
        QVERIFY2(message.startsWith(u"History is off"_s), qPrintable(message));
    }

    void newerSchemaIsNotTouched()
    {
        const QString path = m_dir.filePath(u"newer.sqlite"_s);
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"newer"_s);
            db.setDatabaseName(path);
            QVERIFY(db.open());
            QSqlQuery q(db);
            QVERIFY(q.exec(u"PRAGMA user_version = 99"_s));
            QVERIFY(q.exec(u"CREATE TABLE future (x)"_s));
            db.close();
        }
        QSqlDatabase::removeDatabase(u"newer"_s);
        const QByteArray before = digest(path);
        HistoryStore store;
        QString message;
        QVERIFY(!openStore(store, path, &message));
        QVERIFY2(message.contains(u"newer HTAP Studio (schema 99"_s), qPrintable(message));
        QCOMPARE(digest(path), before);
    }

    void lockedFileKeepsSamplesUntilItWorks()
    {
        const QString path = m_dir.filePath(u"locked.sqlite"_s);
        HistoryStore store;
        QVERIFY(openStore(store, path));
        QSignalSpy failed(&store, &HistoryStore::failed);
        {
            // Another program holds the write lock longer than our busy timeout.
            QSqlDatabase other = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"other"_s);
            other.setDatabaseName(path);
            QVERIFY(other.open());
            QSqlQuery q(other);
            QVERIFY(q.exec(u"BEGIN EXCLUSIVE"_s));
            store.append(u"s"_s, QDateTime::currentDateTimeUtc(), doc(1));
            QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), 10000);
            QVERIFY2(failed.at(0).at(0).toString().contains(u"kept in memory"_s), qPrintable(failed.at(0).at(0).toString()));
            QVERIFY(q.exec(u"ROLLBACK"_s));
            other.close();
        }
        QSqlDatabase::removeDatabase(u"other"_s);
        QSignalSpy loaded(&store, &HistoryStore::loaded);
        store.load(u"s"_s, QDateTime::currentDateTimeUtc().addSecs(-60), QDateTime::currentDateTimeUtc(), 1);
        QTRY_COMPARE_WITH_TIMEOUT(loaded.size(), 1, 10000);
        QCOMPARE(loaded.at(0).at(1).value<QList<QJsonObject>>().size(), 1); // nothing was lost
    }

    void unwritableFolder()
    {
        HistoryStore store;
        QString message;
        QVERIFY(!openStore(store, u"/proc/htap/history.sqlite"_s, &message));
        QVERIFY2(message.contains(u"cannot create the folder of /proc/htap/history.sqlite"_s), qPrintable(message));
    }
};

QTEST_GUILESS_MAIN(TestStore)
#include "tst_store.moc"
