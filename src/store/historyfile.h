#pragma once

#include <QDateTime>
#include <QJsonObject>
#include <QList>

namespace htap::store {

/// A snapshot kept in the history file.
struct StoredSnapshot {
    qint64 id = 0;
    QDateTime createdAt;
    QString title;
    QString server;
    QDateTime from, to;
    QString file;
};

/// The history file read and written synchronously, for the command line and for worker
/// threads (the GUI's live writing goes through HistoryStore's thread; SQLite's WAL lets both
/// work on one file). Each call opens its own connection. A corrupt or newer file is refused.
class HistoryFile
{
public:
    explicit HistoryFile(QString path = {});
    QString path() const { return m_path; }

    QStringList servers(QString* error) const;
    /// The first and last sample of server, invalid when there is none.
    std::pair<QDateTime, QDateTime> range(const QString& server, QString* error) const;
    /// The sample documents of server in [from, to], oldest first.
    QList<QJsonObject> load(const QString& server, const QDateTime& from, const QDateTime& to, QString* error) const;

    /// server's incidents (their JSON) that overlap [from, to], oldest first.
    QList<QJsonObject> incidents(const QString& server, const QDateTime& from, const QDateTime& to, QString* error) const;

    qint64 saveSnapshot(const StoredSnapshot& meta, const QByteArray& json, QString* error) const;
    QList<StoredSnapshot> snapshots(QString* error) const;
    QByteArray snapshotJson(qint64 id, QString* error) const;

private:
    template <typename F>
    bool with(QString* error, F&& body) const;
    QString m_path;
};

} // namespace htap::store
