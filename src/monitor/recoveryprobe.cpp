// The heartbeat's age (both sides) and, on a standby, recovery conflicts: counted by cause in
// pg_stat_database_conflicts, and named from the standby's log, which is the only place that
// says which statements recovery cancelled (docs/replication.md).

#include "probes.h"

#include <pg/result.h>
#include <pg/statementtext.h>

#include <QRegularExpression>
#include <QTimeZone>

namespace htap::monitor {

using namespace Qt::StringLiterals;
using htap::pg::Connection;
using htap::pg::Result;

namespace {

/// Read at most this much of the log per sample; a flood is read over the next samples.
constexpr qint64 kLogChunk = 256 * 1024;
/// On the first look, this much of the log's end is read: conflicts just before monitoring began.
constexpr qint64 kLogLookBack = 64 * 1024;

class RecoveryProbe : public Probe
{
public:
    QString name() const override { return u"recovery"_s; }

    bool collect(Connection& conn, ServerSample& sample, QString* unavailable) override
    {
        if (!sample.replication)
            return true; // the replication probe could not run; it said why
        ReplicationSample& rep = *sample.replication;
        heartbeat(conn, rep);
        if (!rep.inRecovery) {
            m_logFile.clear();
            return true;
        }
        const Result c = conn.execCached(monitorSql(u"recovery_conflicts"_s, conn.serverVersionNum()));
        if (!c.ok()) {
            *unavailable = u"recovery conflicts: %1"_s.arg(c.error().oneLine());
            return false;
        }
        RecoveryConflicts k;
        k.snapshot = c.toInt64(0, u"snapshot"_s);
        k.lock = c.toInt64(0, u"lock"_s);
        k.bufferpin = c.toInt64(0, u"bufferpin"_s);
        k.deadlock = c.toInt64(0, u"deadlock"_s);
        k.tablespace = c.toInt64(0, u"tablespace"_s);
        rep.conflicts = k;
        // The log is read when a conflict was counted since the last look (and on the first):
        // nothing to find otherwise, and a busy log is not read every second for nothing.
        // The log line is written when the statement is cancelled, the count flushed up to a
        // second later (or the other way round): the log is read for a few samples after.
        if (!m_conflictsSeen || k.total() != m_lastTotal)
            m_readLogFor = 5;
        if (m_readLogFor > 0 || !m_pendingLog.isEmpty()) {
            --m_readLogFor;
            readLog(conn, rep);
        }
        else
            rep.cancelledUnavailable = m_logUnavailable;
        m_conflictsSeen = true;
        m_lastTotal = k.total();
        return true;
    }

    void reset() override
    {
        m_heartbeatChecked = -1;
        m_conflictsSeen = false;
        m_logFile.clear();
        m_logOffset = 0;
        m_pendingLog.clear();
    }

private:
    void heartbeat(Connection& conn, ReplicationSample& rep)
    {
        // The table comes with the registry; looked for again now and then while absent, so a
        // registry installed meanwhile is found without a server error every second.
        if (m_heartbeatChecked < 0 || (!m_heartbeatPresent && ++m_heartbeatChecked > 30)) {
            m_heartbeatPresent = conn.execCached(u"SELECT to_regclass('htap.heartbeat') IS NOT NULL"_s).toBool(0, 0);
            m_heartbeatChecked = 0;
        }
        if (!m_heartbeatPresent)
            return;
        const Result h = conn.execCached(
            u"SELECT extract(epoch FROM clock_timestamp() - ts)::float8 AS age FROM htap.heartbeat WHERE id = 1"_s);
        if (h.ok() && h.rowCount() == 1)
            rep.heartbeatAgeSeconds = std::max(0.0, h.toDouble(0, u"age"_s, -1));
        else if (!h.ok())
            m_heartbeatPresent = false; // dropped, or no privilege: looked for again later
    }

    void readLog(Connection& conn, ReplicationSample& rep)
    {
        const Result f = conn.execCached(u"SELECT pg_current_logfile('stderr') AS f"_s);
        const QString file = f.ok() && f.rowCount() == 1 ? f.text(0, u"f"_s) : QString();
        if (file.isEmpty()) {
            m_logUnavailable = f.ok() ? u"the standby's log is not collected (logging_collector is off): "
                                         "conflicts are counted, the cancelled statements cannot be named"_s
                                      : u"cannot ask for the standby's log file: %1"_s.arg(f.error().oneLine());
            rep.cancelledUnavailable = m_logUnavailable;
            return;
        }
        const auto cannotRead = [&](const Result& r) {
            m_logUnavailable = r.error().sqlstate == u"42501"_s
                ? u"reading the standby's log needs superuser or pg_read_server_files: conflicts are counted, "
                   "the cancelled statements cannot be named"_s
                : u"cannot read the standby's log: %1"_s.arg(r.error().oneLine());
            rep.cancelledUnavailable = m_logUnavailable;
        };
        const Result sz = conn.execCached(u"SELECT size FROM pg_stat_file($1, true)"_s, {file});
        if (!sz.ok())
            return cannotRead(sz);
        const qint64 size = sz.toInt64(0, u"size"_s, 0);
        if (file != m_logFile) { // the first look, or the log rotated
            m_logOffset = m_logFile.isEmpty() ? std::max<qint64>(0, size - kLogLookBack) : 0;
            m_logFile = file;
            m_pendingLog.clear();
        }
        if (size < m_logOffset) // truncated in place
            m_logOffset = 0;
        if (size > m_logOffset) {
            const qint64 n = std::min(kLogChunk, size - m_logOffset);
            const Result r = conn.execCached(u"SELECT pg_read_binary_file($1, $2, $3, true) AS chunk"_s,
                {file, m_logOffset, n});
            if (!r.ok())
                return cannotRead(r);
            m_pendingLog += decodeBytea(r.text(0, u"chunk"_s));
            m_logOffset += n;
        }
        m_logUnavailable.clear();
        // Only whole lines; a statement's continuation lines start with a tab, so a message is
        // complete once a line that does not continue it follows (or the log has gone quiet).
        const qsizetype lastNewline = m_pendingLog.lastIndexOf('\n');
        if (lastNewline < 0)
            return;
        qsizetype consumed = lastNewline + 1;
        rep.cancelled = parseConflictLog(QString::fromUtf8(m_pendingLog.left(consumed)));
        m_pendingLog.remove(0, consumed);
    }

    static QByteArray decodeBytea(const QString& hex)
    {
        return hex.startsWith(u"\\x"_s) ? QByteArray::fromHex(hex.mid(2).toLatin1()) : hex.toUtf8();
    }

    int m_heartbeatChecked = -1;
    bool m_heartbeatPresent = false;
    bool m_conflictsSeen = false;
    int m_readLogFor = 0;
    qint64 m_lastTotal = 0;
    QString m_logFile;
    qint64 m_logOffset = 0;
    QByteArray m_pendingLog;
    QString m_logUnavailable;
};

} // namespace

QList<CancelledStatement> parseConflictLog(const QString& log)
{
    // stderr format with any log_line_prefix: the message starts at "ERROR:  " or "FATAL:  ";
    // the prefix may carry the time (%m or %t), [pid] (%p) and user@db (%u@%d).
    static const QRegularExpression head(uR"(^(.*?)\b(ERROR|FATAL|DETAIL|STATEMENT|HINT|CONTEXT):  (.*)$)"_s);
    static const QRegularExpression time(uR"(^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)(?: ([A-Za-z+\-0-9]+))?)"_s);
    static const QRegularExpression pid(uR"(\[(\d+)\])"_s);
    static const QRegularExpression userDb(uR"((\S+)@(\S+)\s*$)"_s);
    QList<CancelledStatement> out;
    const QStringList lines = log.split(u'\n');
    CancelledStatement* open = nullptr; // the conflict whose DETAIL and STATEMENT lines may follow
    QString openPrefix;
    QString* continuing = nullptr;       // the field a tab-led line continues
    for (const QString& line : lines) {
        if (line.startsWith(u'\t')) {
            if (continuing)
                continuing->append(u'\n' + line.mid(1));
            continue;
        }
        continuing = nullptr;
        const QRegularExpressionMatch m = head.match(line);
        if (!m.hasMatch()) {
            open = nullptr;
            continue;
        }
        const QString prefix = m.captured(1), level = m.captured(2), text = m.captured(3);
        if ((level == u"ERROR"_s && text.startsWith(u"canceling statement due to conflict with recovery"_s))
            || (level == u"FATAL"_s && text.startsWith(u"terminating connection due to conflict with recovery"_s))) {
            CancelledStatement c;
            c.terminated = level == u"FATAL"_s;
            if (const auto t = time.match(prefix); t.hasMatch()) {
                c.at = QDateTime::fromString(t.captured(1), t.captured(1).contains(u'.') ? u"yyyy-MM-dd HH:mm:ss.zzz"_s
                                                                                         : u"yyyy-MM-dd HH:mm:ss"_s);
                const QString zone = t.captured(2);
                c.at.setTimeZone(zone.isEmpty() || zone == u"UTC"_s || zone == u"GMT"_s
                        ? QTimeZone::utc() : QTimeZone(zone.toLatin1()));
                if (!c.at.timeZone().isValid())
                    c.at.setTimeZone(QTimeZone::utc());
            }
            if (const auto p = pid.match(prefix); p.hasMatch())
                c.pid = p.captured(1).toInt();
            if (const auto u = userDb.match(prefix); u.hasMatch()) {
                c.role = u.captured(1);
                c.database = u.captured(2);
            }
            out.append(c);
            open = &out.last();
            openPrefix = prefix;
            continue;
        }
        // Lines of the same message repeat its prefix (same time and pid).
        if (open && prefix == openPrefix) {
            if (level == u"DETAIL"_s) {
                open->detail = text;
                continuing = &open->detail;
            } else if (level == u"STATEMENT"_s) {
                open->statement = text;
                continuing = &open->statement;
            }
            continue;
        }
        open = nullptr;
    }
    for (CancelledStatement& c : out)
        c.statement = htap::pg::maskStatement(c.statement);
    return out;
}

std::unique_ptr<Probe> makeRecoveryProbe()
{
    return std::make_unique<RecoveryProbe>();
}

} // namespace htap::monitor
