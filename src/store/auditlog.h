#pragma once

#include <QDateTime>
#include <QJsonArray>
#include <QJsonObject>
#include <QList>
#include <QStringList>

#include <optional>

namespace htap::store {

/// One change HTAP Studio made to a server's roles.
struct AuditEntry {
    qint64 id = 0;
    QDateTime at;
    QString server;
    QString serverKey;
    QString appliedBy;
    QString kind;    ///< apply, undo, reset, wizard
    QString title;
    QStringList roles;
    QString status;  ///< applying (no outcome recorded yet), applied, failed, undone, interrupted
    QString message;
    qint64 undoOf = 0;
    QJsonObject plan;
    /// The server transaction that makes the change (pg_current_xact_id) and the cluster it runs
    /// on (pg_control_system().system_identifier): what settles an entry whose program stopped
    /// before it could record the outcome. Empty in entries of older builds. Kept inside the plan
    /// column, under "transaction" (schema 1 has no column of its own for them).
    QString xid;
    QString systemIdentifier;

    QJsonObject toJson() const;
    /// Entries as a JSON array of toJson() (what `htapctl ... log --json` prints).
    static QJsonArray toJsonArray(const QList<AuditEntry>& entries);
};

/// The local audit log of role changes: a SQLite file that is never pruned. Synchronous and
/// small; every call opens its own connection, so it may be used from any thread (the GUI calls
/// it from its worker threads, never from the GUI thread). A file that is corrupt or newer is
/// refused with a message and never modified.
class AuditLog
{
public:
    static constexpr int kSchemaVersion = 1;

    /// path empty: defaultPath().
    explicit AuditLog(QString path = {});
    /// $XDG_DATA_HOME/htap-studio/audit.sqlite
    static QString defaultPath();
    QString path() const { return m_path; }

    /// Whether a change could be recorded now: opens the file (creating or migrating it) and tries
    /// a write that changes nothing, so that a command can refuse before it touches a server.
    bool checkWritable(QString* error) const;
    /// Records a change about to be applied (status "applying"); returns its id, or 0 and *error.
    qint64 begin(const AuditEntry& entry, QString* error) const;
    /// Sets the outcome of an entry: applied, failed (with the message), undone.
    bool finish(qint64 id, const QString& status, const QString& message, QString* error) const;
    /// Newest first; serverKey empty: every server.
    QList<AuditEntry> list(const QString& serverKey, int limit, QString* error) const;
    std::optional<AuditEntry> find(qint64 id, QString* error) const;
    /// The server's entries still "applying", oldest first: changes in flight, or whose program
    /// stopped before it recorded the outcome.
    QList<AuditEntry> unsettled(const QString& serverKey, QString* error) const;

private:
    template <typename F>
    bool withDatabase(QString* error, F&& body) const;

    QString m_path;
};

} // namespace htap::store
