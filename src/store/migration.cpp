#include "migration.h"

#include <QFile>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>

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

} // namespace htap::store
