// htap_store: the app's local SQLite files — sample history (later: snapshots, audit log).
// One writer thread per file; callers hand over values and get values back by signal.
#pragma once

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QObject>

class QThread;

namespace htap::store {

class HistoryWriter;

/// Keeps every sample of every server in a local SQLite file, so that past windows can be
/// browsed after a restart. Lives in the GUI thread; the file is written by its own thread in
/// batches (one transaction a second), in WAL mode, with schema migrations by user_version.
/// A corrupt, locked or newer file turns history off with a message and is never modified.
class HistoryStore : public QObject
{
    Q_OBJECT
public:
    static constexpr int kSchemaVersion = 3;

    explicit HistoryStore(QObject* parent = nullptr);
    ~HistoryStore() override;

    /// $XDG_DATA_HOME/htap-studio/history.sqlite
    static QString defaultPath();

    /// Opens (creating or migrating) the file; answers with opened() or failed().
    void open(const QString& path, int retentionDays = 7);
    /// Queues one sample document; written within a second.
    void append(const QString& server, const QDateTime& at, const QJsonObject& document);
    /// Asks for the documents of server between from and to (inclusive), oldest first;
    /// answers with loaded(requestId, ...). Pending samples are written first.
    void load(const QString& server, const QDateTime& from, const QDateTime& to, quint64 requestId);
    /// Queues an incident (its JSON, monitor::Incident::toJson) of server: written with the
    /// next batch, replacing the row of the same kind, subject and start.
    void recordIncident(const QString& server, const QJsonObject& incident);
    /// Asks for server's incidents that overlap [from, to], oldest first; answers with
    /// incidentsLoaded(requestId, ...).
    void loadIncidents(const QString& server, const QDateTime& from, const QDateTime& to, quint64 requestId);
    /// Writes what is queued now; answers with flushed().
    void flush();
    void setRetentionDays(int days);

Q_SIGNALS:
    void opened(const QString& path);
    /// History is off or a write failed; the message names the file and what to do.
    void failed(const QString& message);
    void loaded(quint64 requestId, const QList<QJsonObject>& documents);
    void incidentsLoaded(quint64 requestId, const QList<QJsonObject>& incidents);
    void flushed(int written);

private:
    QThread* m_thread;
    HistoryWriter* m_writer;
};

} // namespace htap::store
