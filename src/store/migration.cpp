#include "migration.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>

#include <atomic>
#include <fcntl.h>
#include <unistd.h>

namespace htap::store {

using namespace Qt::StringLiterals;

bool applyMigration(QSqlDatabase& db, const QString& file, int toVersion, QString* error)
{
    QFile f(u":/sql/store/"_s + file);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = u"missing resource %1"_s.arg(f.fileName());
        return false;
    }
    QString code;
    for (const QString& line : QString::fromUtf8(f.readAll()).split(u'\n'))
        if (!line.trimmed().startsWith(u"--"_s))
            code += line + u'\n';
    // BEGIN IMMEDIATE takes the write lock first; the version read inside it is the truth, so a
    // second process migrating the same file at the same moment waits, then skips.
    QSqlQuery q(db);
    if (!q.exec(u"BEGIN IMMEDIATE"_s)) {
        *error = q.lastError().text();
        return false;
    }
    auto rollback = [&](const QString& why) {
        *error = why;
        QSqlQuery(db).exec(u"ROLLBACK"_s);
        return false;
    };
    if (!q.exec(u"PRAGMA user_version"_s) || !q.next())
        return rollback(q.lastError().text());
    const int current = q.value(0).toInt();
    q.finish();
    if (current >= toVersion)
        return q.exec(u"COMMIT"_s) || rollback(q.lastError().text());
    for (const QString& sql : code.split(u';', Qt::SkipEmptyParts)) {
        if (sql.trimmed().isEmpty())
            continue;
        if (!q.exec(sql))
            return rollback(q.lastError().text());
    }
    if (!q.exec(u"PRAGMA user_version = %1"_s.arg(toVersion)) || !q.exec(u"COMMIT"_s))
        return rollback(q.lastError().text());
    return true;
}

bool withSqliteFile(const QString& path, const QString& what, int knownVersion,
    const QList<std::pair<QString, int>>& migrations, QString* error, const std::function<bool(QSqlDatabase&)>& body)
{
    static std::atomic<int> serial {0};
    const QString name = u"htap-sqlite-%1"_s.arg(++serial);
    // Our SQLite files keep statements and settings: a new one is the user's alone (SQLite gives
    // its -wal and -shm files the same mode).
    if (const int fd = ::open(QFile::encodeName(path).constData(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600); fd >= 0)
        ::close(fd);
    bool ok = false;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, name);
        db.setDatabaseName(path);
        db.setConnectOptions(u"QSQLITE_BUSY_TIMEOUT=5000"_s);
        auto refuse = [&](const QString& why) {
            *error = u"%1 %2: %3"_s.arg(what, path, why);
            return false;
        };
        [&] {
            if (!db.open())
                return refuse(db.lastError().text());
            QSqlQuery q(db);
            if (!q.exec(u"PRAGMA user_version"_s) || !q.next())
                return refuse(u"not a usable SQLite file (%1); it was left as it is"_s.arg(q.lastError().text()));
            const int version = q.value(0).toInt();
            q.finish();
            if (version > knownVersion)
                return refuse(u"written by a newer HTAP Studio (schema %1, this one knows %2); it was not touched"_s.arg(
                    QString::number(version), QString::number(knownVersion)));
            if (!q.exec(u"PRAGMA journal_mode = WAL"_s))
                return refuse(q.lastError().text());
            q.finish();
            QString migrationError;
            for (const auto& [script, to] : migrations)
                if (version < to && !applyMigration(db, script, to, &migrationError))
                    return refuse(migrationError);
            ok = body(db);
            return ok;
        }();
        db.close();
    }
    QSqlDatabase::removeDatabase(name);
    return ok;
}

} // namespace htap::store
