#include "historystore.h"
#include "migration.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QStandardPaths>
#include <QThread>
#include <QTimer>
#include <QUuid>

namespace htap::store {

using namespace Qt::StringLiterals;

namespace {
constexpr int kMaxPending = 24 * 3600; // a day of samples waiting for a locked file, then the oldest go

} // namespace

/// The part on the writer thread: owns the QSqlDatabase connection (Qt: a connection is used
/// only by the thread that made it).
class HistoryWriter : public QObject
{
    Q_OBJECT
public:
    ~HistoryWriter() override
    {
        write(); // the last second, when the thread stops before a queued write ran
        close();
    }

    void open(const QString& path, int retentionDays)
    {
        close();
        m_retentionDays = retentionDays;
        m_path = path;
        // The history holds other sessions' statements: private to the user, like psql's history.
        const QString folder = QFileInfo(path).absolutePath();
        const bool newFolder = !QFileInfo::exists(folder);
        if (!QDir().mkpath(folder)) {
            fail(u"History is off: cannot create the folder of %1"_s.arg(path));
            return;
        }
        if (newFolder)
            QFile::setPermissions(folder, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
        if (!QFileInfo::exists(path)) {
            QFile create(path);
            if (create.open(QIODevice::WriteOnly))
                create.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
        }
        m_name = u"history-"_s + QUuid::createUuid().toString(QUuid::WithoutBraces);
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, m_name);
        db.setDatabaseName(path);
        db.setConnectOptions(u"QSQLITE_BUSY_TIMEOUT=2000"_s);
        if (!db.open()) {
            fail(u"History is off: cannot open %1: %2"_s.arg(path, db.lastError().text()));
            return;
        }
        QSqlQuery q(db);
        // The first statement reads the header: a file that is not SQLite fails here.
        if (!q.exec(u"PRAGMA user_version"_s) || !q.next()) {
            fail(u"History is off: %1 is not a usable history file (%2). It was left as it is; move it away "
                 "to start a new history."_s.arg(path, q.lastError().text()));
            return;
        }
        const int version = q.value(0).toInt();
        if (version > HistoryStore::kSchemaVersion) {
            fail(u"History is off: %1 was written by a newer HTAP Studio (schema %2, this one knows %3); it was "
                 "not touched."_s.arg(path).arg(version).arg(HistoryStore::kSchemaVersion));
            return;
        }
        if (!q.exec(u"PRAGMA journal_mode = WAL"_s) || !q.exec(u"PRAGMA synchronous = NORMAL"_s)) {
            fail(u"History is off: %1 is not a usable history file (%2). It was left as it is; move it away "
                 "to start a new history."_s.arg(path, q.lastError().text()));
            return;
        }
        if (version < 1 && !migrate(db, u"001_history.sql"_s, 1))
            return;
        if (version < 2 && !migrate(db, u"002_snapshots.sql"_s, 2))
            return;
        if (version < 3 && !migrate(db, u"003_incidents.sql"_s, 3))
            return;
        m_open = true;
        if (!m_timer) {
            m_timer = new QTimer(this);
            connect(m_timer, &QTimer::timeout, this, [this] { write(); });
        }
        m_timer->start(1000);
        prune();
        Q_EMIT opened(path);
    }

    void append(const QString& server, qint64 ms, const QByteArray& body)
    {
        if (!m_open)
            return; // history is off: keep nothing that will never be written
        m_pending.append({server, ms, body});
        if (m_pending.size() > kMaxPending)
            m_pending.removeFirst();
    }

    void recordIncident(const QString& server, const QString& key, const QString& kind, qint64 started, qint64 ended,
        const QByteArray& body)
    {
        if (!m_open)
            return;
        m_incidents.insert(server + u'\n' + key, {server, key, kind, started, ended, body});
    }

    QList<QJsonObject> loadIncidents(const QString& server, qint64 from, qint64 to)
    {
        QList<QJsonObject> out;
        if (!m_open)
            return out;
        write();
        QSqlQuery q(QSqlDatabase::database(m_name, false));
        q.prepare(u"SELECT i.body FROM incidents i JOIN servers v ON v.id = i.server_id "
                  "WHERE v.name = ? AND i.started <= ? AND coalesce(i.ended, ?) >= ? ORDER BY i.started"_s);
        q.addBindValue(server);
        q.addBindValue(to);
        q.addBindValue(to);
        q.addBindValue(from);
        if (!q.exec()) {
            reportWriteError(q.lastError().text());
            return out;
        }
        while (q.next())
            if (const QJsonObject o = QJsonDocument::fromJson(q.value(0).toByteArray()).object(); !o.isEmpty())
                out.append(o);
        return out;
    }

    int write()
    {
        if (!m_open || (m_pending.isEmpty() && m_incidents.isEmpty()))
            return 0;
        QSqlDatabase db = QSqlDatabase::database(m_name, false);
        if (!db.transaction()) {
            reportWriteError(db.lastError().text());
            return 0;
        }
        QSqlQuery server(db), insert(db);
        server.prepare(u"INSERT INTO servers (name) VALUES (?) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id"_s);
        insert.prepare(u"INSERT OR REPLACE INTO samples (server_id, ts, body) VALUES (?, ?, ?)"_s);
        QHash<QString, qint64> ids;
        for (const Pending& p : std::as_const(m_pending)) {
            if (!ids.contains(p.server)) {
                server.addBindValue(p.server);
                if (!server.exec() || !server.next()) {
                    db.rollback();
                    reportWriteError(server.lastError().text());
                    return 0;
                }
                ids.insert(p.server, server.value(0).toLongLong());
                server.finish();
            }
            insert.addBindValue(ids.value(p.server));
            insert.addBindValue(p.ms);
            insert.addBindValue(p.body);
            if (!insert.exec()) {
                db.rollback();
                reportWriteError(insert.lastError().text());
                return 0;
            }
        }
        QSqlQuery incident(db);
        incident.prepare(u"INSERT OR REPLACE INTO incidents (server_id, incident_key, kind, started, ended, body) "
                         "VALUES (?, ?, ?, ?, ?, ?)"_s);
        for (const PendingIncident& p : std::as_const(m_incidents)) {
            if (!ids.contains(p.server)) {
                server.addBindValue(p.server);
                if (!server.exec() || !server.next()) {
                    db.rollback();
                    reportWriteError(server.lastError().text());
                    return 0;
                }
                ids.insert(p.server, server.value(0).toLongLong());
                server.finish();
            }
            incident.addBindValue(ids.value(p.server));
            incident.addBindValue(p.key);
            incident.addBindValue(p.kind);
            incident.addBindValue(p.started);
            incident.addBindValue(p.ended > 0 ? QVariant(p.ended) : QVariant(QMetaType::fromType<qint64>()));
            incident.addBindValue(QString::fromUtf8(p.body));
            if (!incident.exec()) {
                db.rollback();
                reportWriteError(incident.lastError().text());
                return 0;
            }
        }
        if (!db.commit()) {
            reportWriteError(db.lastError().text());
            db.rollback();
            return 0;
        }
        const int written = int(m_pending.size());
        m_pending.clear();
        m_incidents.clear();
        m_writeFailing = false;
        if (++m_batches % 3600 == 0)
            prune();
        return written;
    }

    QList<QJsonObject> load(const QString& server, qint64 from, qint64 to)
    {
        QList<QJsonObject> out;
        if (!m_open)
            return out;
        write();
        QSqlQuery q(QSqlDatabase::database(m_name, false));
        q.prepare(u"SELECT s.body FROM samples s JOIN servers v ON v.id = s.server_id "
                  "WHERE v.name = ? AND s.ts BETWEEN ? AND ? ORDER BY s.ts"_s);
        q.addBindValue(server);
        q.addBindValue(from);
        q.addBindValue(to);
        if (!q.exec()) {
            reportWriteError(q.lastError().text());
            return out;
        }
        while (q.next()) {
            const QJsonObject o = QJsonDocument::fromJson(qUncompress(q.value(0).toByteArray())).object();
            if (!o.isEmpty())
                out.append(o); // a damaged row is skipped, not fatal
        }
        return out;
    }

    void setRetentionDays(int days)
    {
        m_retentionDays = std::max(1, days);
        prune();
    }

Q_SIGNALS:
    void opened(const QString& path);
    void failed(const QString& message);

private:
    struct Pending {
        QString server;
        qint64 ms;
        QByteArray body;
    };
    struct PendingIncident {
        QString server;
        QString key;
        QString kind;
        qint64 started;
        qint64 ended; ///< 0 while it lasts
        QByteArray body;
    };

    bool migrate(QSqlDatabase& db, const QString& file, int toVersion)
    {
        QString error;
        if (applyMigration(db, file, toVersion, &error))
            return true;
        fail(u"History is off: cannot prepare %1: %2"_s.arg(m_path, error));
        return false;
    }

    void prune()
    {
        if (!m_open)
            return;
        QSqlQuery q(QSqlDatabase::database(m_name, false));
        const qint64 oldest = QDateTime::currentMSecsSinceEpoch() - qint64(m_retentionDays) * 24 * 3600 * 1000;
        q.prepare(u"DELETE FROM samples WHERE ts < ?"_s);
        q.addBindValue(oldest);
        q.exec();
        q.prepare(u"DELETE FROM incidents WHERE ended < ?"_s);
        q.addBindValue(oldest);
        q.exec();
    }

    void reportWriteError(const QString& error)
    {
        // Once per failing stretch, not every second; the samples stay queued for the next try.
        if (!m_writeFailing)
            Q_EMIT failed(u"History: writing %1 failed (%2); samples are kept in memory and written when it "
                          "works again"_s.arg(m_path, error));
        m_writeFailing = true;
    }

    void fail(const QString& message)
    {
        close();
        Q_EMIT failed(message);
    }

    void close()
    {
        m_open = false;
        if (m_timer)
            m_timer->stop();
        if (!m_name.isEmpty()) {
            QSqlDatabase::database(m_name, false).close();
            QSqlDatabase::removeDatabase(m_name);
            m_name.clear();
        }
    }

    QString m_path;
    QString m_name;
    bool m_open = false;
    bool m_writeFailing = false;
    int m_retentionDays = 7;
    quint64 m_batches = 0;
    QTimer* m_timer = nullptr;
    QList<Pending> m_pending;
    QHash<QString, PendingIncident> m_incidents; ///< the newest state of each, by server and key
};

HistoryStore::HistoryStore(QObject* parent)
    : QObject(parent)
    , m_thread(new QThread(this))
    , m_writer(new HistoryWriter)
{
    qRegisterMetaType<QList<QJsonObject>>();
    m_thread->setObjectName(u"history-writer"_s);
    m_writer->moveToThread(m_thread);
    connect(m_thread, &QThread::finished, m_writer, &QObject::deleteLater);
    connect(m_writer, &HistoryWriter::opened, this, &HistoryStore::opened);
    connect(m_writer, &HistoryWriter::failed, this, &HistoryStore::failed);
    m_thread->start();
}

HistoryStore::~HistoryStore()
{
    // Write what is queued before the thread goes.
    QMetaObject::invokeMethod(m_writer, [w = m_writer] { w->write(); }, Qt::QueuedConnection);
    m_thread->quit();
    m_thread->wait();
}

QString HistoryStore::defaultPath()
{
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) + u"/htap-studio/history.sqlite"_s;
}

void HistoryStore::open(const QString& path, int retentionDays)
{
    QMetaObject::invokeMethod(m_writer, [w = m_writer, path, retentionDays] { w->open(path, retentionDays); },
        Qt::QueuedConnection);
}

void HistoryStore::append(const QString& server, const QDateTime& at, const QJsonObject& document)
{
    // Serialised here, once; the writer thread only stores bytes.
    const QByteArray body = qCompress(QJsonDocument(document).toJson(QJsonDocument::Compact), 6);
    const qint64 ms = at.toMSecsSinceEpoch();
    QMetaObject::invokeMethod(m_writer, [w = m_writer, server, ms, body] { w->append(server, ms, body); },
        Qt::QueuedConnection);
}

void HistoryStore::load(const QString& server, const QDateTime& from, const QDateTime& to, quint64 requestId)
{
    const qint64 a = from.toMSecsSinceEpoch();
    const qint64 b = to.toMSecsSinceEpoch();
    QMetaObject::invokeMethod(
        m_writer,
        [this, w = m_writer, server, a, b, requestId] {
            const QList<QJsonObject> docs = w->load(server, a, b);
            QMetaObject::invokeMethod(this, [this, requestId, docs] { Q_EMIT loaded(requestId, docs); }, Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
}

void HistoryStore::recordIncident(const QString& server, const QJsonObject& incident)
{
    const QByteArray body = QJsonDocument(incident).toJson(QJsonDocument::Compact);
    const QString key = incident.value(u"kind"_s).toString() + u'/' + incident.value(u"subject"_s).toString() + u'/'
        + incident.value(u"start"_s).toString();
    const QString kind = incident.value(u"kind"_s).toString();
    auto ms = [](const QJsonValue& v) {
        const QDateTime t = QDateTime::fromString(v.toString(), Qt::ISODateWithMs);
        return t.isValid() ? t.toMSecsSinceEpoch() : qint64(0);
    };
    const qint64 started = ms(incident.value(u"start"_s)), ended = ms(incident.value(u"end"_s));
    QMetaObject::invokeMethod(m_writer, [w = m_writer, server, key, kind, started, ended, body] {
        w->recordIncident(server, key, kind, started, ended, body);
    }, Qt::QueuedConnection);
}

void HistoryStore::loadIncidents(const QString& server, const QDateTime& from, const QDateTime& to, quint64 requestId)
{
    const qint64 a = from.toMSecsSinceEpoch();
    const qint64 b = to.toMSecsSinceEpoch();
    QMetaObject::invokeMethod(
        m_writer,
        [this, w = m_writer, server, a, b, requestId] {
            const QList<QJsonObject> list = w->loadIncidents(server, a, b);
            QMetaObject::invokeMethod(this, [this, requestId, list] { Q_EMIT incidentsLoaded(requestId, list); },
                Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
}

void HistoryStore::flush()
{
    QMetaObject::invokeMethod(
        m_writer,
        [this, w = m_writer] {
            const int n = w->write();
            QMetaObject::invokeMethod(this, [this, n] { Q_EMIT flushed(n); }, Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
}

void HistoryStore::setRetentionDays(int days)
{
    QMetaObject::invokeMethod(m_writer, [w = m_writer, days] { w->setRetentionDays(days); }, Qt::QueuedConnection);
}

} // namespace htap::store

#include "historystore.moc"
