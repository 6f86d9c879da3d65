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
    if (!db.transaction()) {
        *error = db.lastError().text();
        return false;
    }
    QSqlQuery q(db);
    for (const QString& sql : code.split(u';', Qt::SkipEmptyParts)) {
        if (sql.trimmed().isEmpty())
            continue;
        if (!q.exec(sql)) {
            *error = q.lastError().text();
            db.rollback();
            return false;
        }
    }
    if (!q.exec(u"PRAGMA user_version = %1"_s.arg(toVersion)) || !db.commit()) {
        *error = q.lastError().text().isEmpty() ? db.lastError().text() : q.lastError().text();
        db.rollback();
        return false;
    }
    return true;
}

} // namespace htap::store
