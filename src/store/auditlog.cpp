#include "auditlog.h"
#include "migration.h"

#include <core/privatefile.h>

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QStandardPaths>


namespace htap::store {

using namespace Qt::StringLiterals;

QJsonObject AuditEntry::toJson() const
{
    return {{u"id"_s, id}, {u"at"_s, at.toString(Qt::ISODateWithMs)}, {u"server"_s, server},
        {u"applied_by"_s, appliedBy}, {u"kind"_s, kind}, {u"title"_s, title}, {u"roles"_s, QJsonArray::fromStringList(roles)},
        {u"status"_s, status}, {u"message"_s, message}, {u"undo_of"_s, undoOf ? QJsonValue(undoOf) : QJsonValue()},
        {u"plan"_s, plan},
        {u"transaction"_s, xid.isEmpty() ? QJsonValue()
                                         : QJsonObject {{u"xid"_s, xid}, {u"system_identifier"_s, systemIdentifier}}}};
}

QJsonArray AuditEntry::toJsonArray(const QList<AuditEntry>& entries)
{
    QJsonArray a;
    for (const AuditEntry& e : entries)
        a << e.toJson();
    return a;
}

AuditLog::AuditLog(QString path)
    : m_path(path.isEmpty() ? defaultPath() : std::move(path))
{
}

QString AuditLog::defaultPath()
{
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) + u"/htap-studio/audit.sqlite"_s;
}

template <typename F>
bool AuditLog::withDatabase(QString* error, F&& body) const
{
    // The audit log keeps role settings and statements: its folder, when we make it, and the
    // file (withSqliteFile) are the user's alone.
    if (QString why; !htap::core::makePrivateFolder(QFileInfo(m_path).absolutePath(), &why)) {
        *error = u"cannot create the folder of the audit log %1: %2"_s.arg(m_path, why);
        return false;
    }
    return withSqliteFile(m_path, u"audit log"_s, kSchemaVersion, {{u"audit_001.sql"_s, 1}}, error, body);
}

namespace {

// Where an entry's server transaction is kept inside the plan column (see AuditEntry::xid).
constexpr auto kTransactionKey = QLatin1StringView("transaction");

AuditEntry entryFrom(const QSqlQuery& q)
{
    AuditEntry e;
    e.id = q.value(0).toLongLong();
    e.at = QDateTime::fromMSecsSinceEpoch(q.value(1).toLongLong(), Qt::UTC);
    e.server = q.value(2).toString();
    e.serverKey = q.value(3).toString();
    e.appliedBy = q.value(4).toString();
    e.kind = q.value(5).toString();
    e.title = q.value(6).toString();
    for (const QJsonValue& v : QJsonDocument::fromJson(q.value(7).toByteArray()).array())
        e.roles << v.toString();
    e.status = q.value(8).toString();
    e.message = q.value(9).toString();
    e.undoOf = q.value(10).toLongLong();
    e.plan = QJsonDocument::fromJson(q.value(11).toByteArray()).object();
    const QJsonObject transaction = e.plan.take(kTransactionKey).toObject();
    e.xid = transaction.value(u"xid"_s).toString();
    e.systemIdentifier = transaction.value(u"system_identifier"_s).toString();
    return e;
}

constexpr auto kColumns = "id, at, server, server_key, applied_by, kind, title, roles, status, message, undo_of, plan";

} // namespace

bool AuditLog::checkWritable(QString* error) const
{
    return withDatabase(error, [&](QSqlDatabase& db) {
        // A read-only file opens and reads fine; only a write tells. This one changes nothing,
        // and the transaction around it makes sure of that.
        QSqlQuery q(db);
        const bool ok = db.transaction() && q.exec(u"DELETE FROM role_changes WHERE 0"_s);
        const QString why = q.lastError().isValid() ? q.lastError().text() : db.lastError().text();
        q.finish();
        db.rollback();
        if (!ok)
            *error = u"audit log %1: cannot record changes in it: %2"_s.arg(m_path, why);
        return ok;
    });
}

qint64 AuditLog::begin(const AuditEntry& e, QString* error) const
{
    qint64 id = 0;
    withDatabase(error, [&](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.prepare(u"INSERT INTO role_changes (at, server, server_key, applied_by, kind, title, roles, status, message,"
                  " undo_of, plan) VALUES (?, ?, ?, ?, ?, ?, ?, 'applying', '', ?, ?)"_s);
        q.addBindValue(QDateTime::currentMSecsSinceEpoch());
        q.addBindValue(e.server);
        q.addBindValue(e.serverKey);
        q.addBindValue(e.appliedBy);
        q.addBindValue(e.kind);
        q.addBindValue(e.title);
        q.addBindValue(QString::fromUtf8(QJsonDocument(QJsonArray::fromStringList(e.roles)).toJson(QJsonDocument::Compact)));
        q.addBindValue(e.undoOf ? QVariant(e.undoOf) : QVariant());
        QJsonObject plan = e.plan;
        if (!e.xid.isEmpty())
            plan.insert(kTransactionKey, QJsonObject {{u"xid"_s, e.xid}, {u"system_identifier"_s, e.systemIdentifier}});
        q.addBindValue(QString::fromUtf8(QJsonDocument(plan).toJson(QJsonDocument::Compact)));
        if (!q.exec()) {
            *error = u"audit log %1: %2"_s.arg(m_path, q.lastError().text());
            return false;
        }
        id = q.lastInsertId().toLongLong();
        return true;
    });
    return id;
}

bool AuditLog::finish(qint64 id, const QString& status, const QString& message, QString* error) const
{
    return withDatabase(error, [&](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.prepare(u"UPDATE role_changes SET status = ?, message = coalesce(?, '') WHERE id = ?"_s);
        q.addBindValue(status);
        q.addBindValue(message);
        q.addBindValue(id);
        if (!q.exec() || q.numRowsAffected() != 1) {
            *error = u"audit log %1: cannot record the outcome of #%2: %3"_s.arg(m_path, QString::number(id),
                q.lastError().text().isEmpty() ? u"no such entry"_s : q.lastError().text());
            return false;
        }
        return true;
    });
}

QList<AuditEntry> AuditLog::list(const QString& serverKey, int limit, QString* error) const
{
    QList<AuditEntry> out;
    withDatabase(error, [&](QSqlDatabase& db) {
        QSqlQuery q(db);
        // coalesce: an empty QString may be a null one, which is bound as NULL, and NULL = '' is
        // never true.
        q.prepare(u"SELECT %1 FROM role_changes WHERE (coalesce(?, '') = '' OR server_key = ?) ORDER BY id DESC LIMIT ?"_s.arg(
            QLatin1String(kColumns)));
        q.addBindValue(serverKey);
        q.addBindValue(serverKey);
        q.addBindValue(limit);
        if (!q.exec()) {
            *error = u"audit log %1: %2"_s.arg(m_path, q.lastError().text());
            return false;
        }
        while (q.next())
            out << entryFrom(q);
        return true;
    });
    return out;
}

std::optional<AuditEntry> AuditLog::find(qint64 id, QString* error) const
{
    std::optional<AuditEntry> out;
    withDatabase(error, [&](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.prepare(u"SELECT %1 FROM role_changes WHERE id = ?"_s.arg(QLatin1String(kColumns)));
        q.addBindValue(id);
        if (!q.exec()) {
            *error = u"audit log %1: %2"_s.arg(m_path, q.lastError().text());
            return false;
        }
        if (q.next())
            out = entryFrom(q);
        else
            *error = u"no entry #%1 in the audit log %2"_s.arg(QString::number(id), m_path);
        return true;
    });
    return out;
}

QList<AuditEntry> AuditLog::unsettled(const QString& serverKey, QString* error) const
{
    QList<AuditEntry> out;
    withDatabase(error, [&](QSqlDatabase& db) {
        QSqlQuery q(db);
        q.prepare(u"SELECT %1 FROM role_changes WHERE server_key = ? AND status = 'applying' ORDER BY id"_s.arg(
            QLatin1String(kColumns)));
        q.addBindValue(serverKey);
        if (!q.exec()) {
            *error = u"audit log %1: %2"_s.arg(m_path, q.lastError().text());
            return false;
        }
        while (q.next())
            out << entryFrom(q);
        return true;
    });
    return out;
}

} // namespace htap::store
