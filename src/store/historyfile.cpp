#include "historyfile.h"
#include "historystore.h"
#include "migration.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>


namespace htap::store {

using namespace Qt::StringLiterals;

HistoryFile::HistoryFile(QString path)
    : m_path(path.isEmpty() ? HistoryStore::defaultPath() : std::move(path))
{
}

template <typename F>
bool HistoryFile::with(QString* error, F&& body) const
{
    if (!QFileInfo::exists(m_path)) {
        *error = u"no history file at %1 (the GUI writes it while it monitors, as does htapctl monitor --keep-history)"_s.arg(m_path);
        return false;
    }
    return withSqliteFile(m_path, u"history file"_s, HistoryStore::kSchemaVersion,
        {{u"001_history.sql"_s, 1}, {u"002_snapshots.sql"_s, 2}, {u"003_incidents.sql"_s, 3}}, error, body);
}

QStringList HistoryFile::servers(QString* error) const
{
    QStringList out;
    with(error, [&](QSqlDatabase& db) {
        QSqlQuery q(db);
        if (!q.exec(u"SELECT name FROM servers ORDER BY name"_s)) {
            *error = q.lastError().text();
            return false;
        }
        while (q.next())
            out << q.value(0).toString();
        return true;
    });
    return out;
}

std::pair<QDateTime, QDateTime> HistoryFile::range(const QString& server, QString* error) const
{
    std::pair<QDateTime, QDateTime> out;
    with(error, [&](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.prepare(u"SELECT min(s.ts), max(s.ts) FROM samples s JOIN servers v ON v.id = s.server_id WHERE v.name = ?"_s);
        q.addBindValue(server);
        if (!q.exec() || !q.next()) {
            *error = q.lastError().text();
            return false;
        }
        if (!q.value(0).isNull())
            out = {QDateTime::fromMSecsSinceEpoch(q.value(0).toLongLong(), Qt::UTC),
                QDateTime::fromMSecsSinceEpoch(q.value(1).toLongLong(), Qt::UTC)};
        return true;
    });
    return out;
}

QList<QJsonObject> HistoryFile::load(const QString& server, const QDateTime& from, const QDateTime& to, QString* error) const
{
    QList<QJsonObject> out;
    with(error, [&](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.prepare(u"SELECT s.body FROM samples s JOIN servers v ON v.id = s.server_id "
                  "WHERE v.name = ? AND s.ts BETWEEN ? AND ? ORDER BY s.ts"_s);
        q.addBindValue(server);
        q.addBindValue(from.toMSecsSinceEpoch());
        q.addBindValue(to.toMSecsSinceEpoch());
        if (!q.exec()) {
            *error = q.lastError().text();
            return false;
        }
        while (q.next()) {
            const QJsonObject o = QJsonDocument::fromJson(qUncompress(q.value(0).toByteArray())).object();
            if (!o.isEmpty())
                out.append(o);
        }
        return true;
    });
    return out;
}

QList<QJsonObject> HistoryFile::incidents(const QString& server, const QDateTime& from, const QDateTime& to, QString* error) const
{
    QList<QJsonObject> out;
    with(error, [&](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.prepare(u"SELECT i.body FROM incidents i JOIN servers v ON v.id = i.server_id "
                  "WHERE v.name = ? AND i.started <= ? AND coalesce(i.ended, ?) >= ? ORDER BY i.started"_s);
        q.addBindValue(server);
        q.addBindValue(to.toMSecsSinceEpoch());
        q.addBindValue(to.toMSecsSinceEpoch());
        q.addBindValue(from.toMSecsSinceEpoch());
        if (!q.exec()) {
            *error = q.lastError().text();
            return false;
        }
        while (q.next())
            if (const QJsonObject o = QJsonDocument::fromJson(q.value(0).toByteArray()).object(); !o.isEmpty())
                out.append(o);
        return true;
    });
    return out;
}

qint64 HistoryFile::saveSnapshot(const StoredSnapshot& m, const QByteArray& json, QString* error) const
{
    qint64 id = 0;
    with(error, [&](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.prepare(u"INSERT INTO snapshots (created_at, title, server, window_from, window_to, file, body)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?)"_s);
        q.addBindValue(m.createdAt.toMSecsSinceEpoch());
        q.addBindValue(m.title.isNull() ? u""_s : m.title);
        q.addBindValue(m.server);
        q.addBindValue(m.from.toMSecsSinceEpoch());
        q.addBindValue(m.to.toMSecsSinceEpoch());
        q.addBindValue(m.file.isNull() ? u""_s : m.file);
        q.addBindValue(qCompress(json, 6));
        if (!q.exec()) {
            *error = u"history file %1: cannot keep the snapshot: %2"_s.arg(m_path, q.lastError().text());
            return false;
        }
        id = q.lastInsertId().toLongLong();
        return true;
    });
    return id;
}

QList<StoredSnapshot> HistoryFile::snapshots(QString* error) const
{
    QList<StoredSnapshot> out;
    with(error, [&](QSqlDatabase& db) {
        QSqlQuery q(db);
        if (!q.exec(u"SELECT id, created_at, title, server, window_from, window_to, file FROM snapshots ORDER BY id DESC"_s)) {
            *error = q.lastError().text();
            return false;
        }
        while (q.next())
            out << StoredSnapshot {q.value(0).toLongLong(), QDateTime::fromMSecsSinceEpoch(q.value(1).toLongLong(), Qt::UTC),
                q.value(2).toString(), q.value(3).toString(), QDateTime::fromMSecsSinceEpoch(q.value(4).toLongLong(), Qt::UTC),
                QDateTime::fromMSecsSinceEpoch(q.value(5).toLongLong(), Qt::UTC), q.value(6).toString()};
        return true;
    });
    return out;
}

QByteArray HistoryFile::snapshotJson(qint64 id, QString* error) const
{
    QByteArray out;
    with(error, [&](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.prepare(u"SELECT body FROM snapshots WHERE id = ?"_s);
        q.addBindValue(id);
        if (!q.exec() || !q.next()) {
            *error = q.lastError().text().isEmpty() ? u"no snapshot #%1 in %2"_s.arg(QString::number(id), m_path)
                                                    : q.lastError().text();
            return false;
        }
        out = qUncompress(q.value(0).toByteArray());
        return true;
    });
    return out;
}

} // namespace htap::store
