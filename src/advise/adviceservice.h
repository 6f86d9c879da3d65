#pragma once

#include "finding.h"
#include "partitionmove.h"

#include <functional>

#include <store/auditlog.h>

namespace htap::pg {
class Connection;
}

namespace htap::advise {

/// What applying (or undoing) a finding did.
struct ChangeOutcome {
    bool ok = false;
    QString message;        ///< what happened, or why nothing was changed
    qint64 auditId = 0;
    QString auditWarning;   ///< the change is in, but the audit log could not be completed
    QStringList sent;       ///< the statements that ran, in order
    QJsonObject move;       ///< a partition move's outcome (PartitionMoveOutcome::toJson), else empty
    QJsonObject toJson() const;
};

/// An index of the finding's table and its size, before or after.
struct IndexSize {
    QString name;
    QString method;
    qint64 bytes = 0;
};

/// Before and after a change: the statements' runs and the table's indexes.
struct Proof {
    Measurement before;
    Measurement after;
    QList<IndexSize> indexesBefore;
    QList<IndexSize> indexesAfter;
    ChangeOutcome change;
    QJsonObject toJson() const;
};

/// Applies, measures and undoes findings on one connection, from the thread that owns it.
class AdviceService
{
public:
    AdviceService(htap::pg::Connection& conn, const htap::store::AuditLog& audit);

    /// How long a statement of a change waits for a lock before it gives up (and says who holds it).
    void setLockTimeoutMs(int ms) { m_lockTimeoutMs = ms; }
    /// How long one measured run of a statement may take (60 s); past it the statement is not measured.
    void setStatementTimeoutMs(int ms) { m_statementTimeoutMs = ms; }
    /// How a partition finding's online move copies and swaps (batch size, pause, swap lock timeout).
    void setPartitionOptions(const PartitionMoveOptions& o) { m_partition = o; }
    /// Progress lines of a long change (a partition move's batches and swap), on the calling thread.
    void setProgress(std::function<void(const QString&)> progress) { m_progress = std::move(progress); }

    /// Applies f.sql: refused when the finding cannot be applied, on a server that is not a
    /// sandbox of this machine unless confirmDatabase names its database, when the audit log
    /// cannot be written, or when the object changed since the advice (its guard). In one
    /// transaction when f.inTransaction; CONCURRENTLY statements one by one, and on a failure the
    /// undo statements put back what was done (they are idempotent). Audited with its undo.
    ChangeOutcome apply(const Finding& f, const QString& confirmDatabase);
    /// Runs the undo of the audit entry auditId (an applied finding) the same way.
    ChangeOutcome undo(qint64 auditId, const QString& confirmDatabase);
    /// Runs each statement runs times (after one warm-up run) with EXPLAIN (ANALYZE, BUFFERS) in a
    /// read-only transaction that rolls back, with settings taken for the transaction.
    Measurement measure(const QStringList& statements, int runs, const QMap<QString, QString>& settings = {});
    /// Measures f's statements, applies f, measures again; the indexes of its table with their sizes.
    Proof applyAndMeasure(const Finding& f, const QString& confirmDatabase, int runs);
    /// The indexes of a table (quoted schema.name) with their sizes.
    QList<IndexSize> indexSizes(const QString& table);
    /// Settles this server's Advisor entries that a stopped program left "applying": one
    /// transaction's from the server's record of it (applied when it committed, interrupted when
    /// it rolled back; still open: left to it). CONCURRENTLY ones stay "applying" (another
    /// program may be running them); their statements are idempotent. One line per entry settled.
    QStringList settleInterrupted(QString* error);
    /// The Advisor's entries in the audit log for this server, newest first.
    QList<htap::store::AuditEntry> log(int limit, QString* error) const;

private:
    ChangeOutcome run(const Finding& f, const QStringList& statements, const QStringList& putBack, const QString& kind,
        qint64 undoOf, const QString& confirmDatabase);
    QString lockHolders(const Finding& f);
    /// A partition finding: the online move (or its undo), audited like the others.
    ChangeOutcome move(const Finding& f, qint64 undoOf, const QString& confirmDatabase);
    void settleResumed(const Finding& f, qint64 resumedBy) const;
    /// The audit entry of a change (or why it cannot be made: not confirmed, the log not writable).
    bool newEntry(const Finding& f, const QString& kind, qint64 undoOf, const QStringList& statements, const QStringList& putBack,
        const QString& confirmDatabase, htap::store::AuditEntry* entry, QString* why);
    /// Refused anywhere but a sandbox of this machine unless confirmDatabase names the database.
    bool confirmed(const QString& confirmDatabase, QString* why);

    htap::pg::Connection& m_conn;
    const htap::store::AuditLog& m_audit;
    int m_lockTimeoutMs = 5000;
    int m_statementTimeoutMs = 60000;
    PartitionMoveOptions m_partition;
    std::function<void(const QString&)> m_progress;
};

} // namespace htap::advise

Q_DECLARE_METATYPE(htap::advise::ChangeOutcome)
Q_DECLARE_METATYPE(htap::advise::Proof)
