// The online move of a plain table to monthly range partitions (issue 25, item 3): the
// partitioned table built beside it, the rows copied in batches while writers go on (a capture
// trigger records the keys they touch), the names swapped in one short transaction, views made
// to follow. Resumable after a kill, undoable before and after the swap. State lives on the
// server (htap.partition_moves), so any program can resume or undo it. No widgets.
#pragma once

#include <QJsonObject>
#include <QStringList>

#include <atomic>
#include <functional>
#include <memory>

namespace htap::pg {
class Connection;
}

namespace htap::advise {

struct PartitionMoveOptions {
    int batchRows = 10000;   ///< rows a copy batch (one transaction each)
    int batchPauseMs = 0;    ///< a pause after each batch, leaving I/O to the writers
    int lockTimeoutMs = 2000;///< the swap's wait for its locks; writers queue behind it meanwhile
    int swapAttempts = 3;    ///< a swap that cannot have its locks is tried again this often
    bool declarativeOnly = false; ///< plain declarative partitions even where pg_partman is installed
};

/// What a move (or its undo) did.
struct PartitionMoveOutcome {
    bool ok = false;
    QString message;
    qint64 moveId = 0;
    bool resumed = false;   ///< went on with a move that an earlier run left under way
    QString phase;          ///< copying, swapped, undone
    QString method;         ///< "pg_partman 4.7.2" or "declarative"
    qint64 rowsCopied = 0;
    int batches = 0;
    qint64 replayed = 0;    ///< keys written meanwhile, copied again from the log
    double swapLockWaitMs = 0; ///< the swap's wait for its locks (writers queued behind the request)
    double swapHeldMs = 0;     ///< from the locks granted to the commit
    double swapPauseMs() const { return swapLockWaitMs + swapHeldMs; } ///< the longest a writer waited for the swap
    QStringList notes;      ///< views followed, foreign keys dropped, what is kept
    QStringList sent;       ///< the DDL sent, in order
    QJsonObject toJson() const;
};

/// One move's row in htap.partition_moves.
struct PartitionMoveState {
    qint64 id = 0;
    QString schema, table, column, phase, method, oldName, tempName;
    qint64 rowsCopied = 0;
    double swapPauseMs = 0;
};

class PartitionMove
{
public:
    explicit PartitionMove(htap::pg::Connection& conn);

    void setOptions(const PartitionMoveOptions& o) { m_options = o; }
    /// Called with a line of progress (batches, replay, swap) from the calling thread.
    void setProgress(std::function<void(const QString&)> progress) { m_progress = std::move(progress); }
    /// Set from another thread to stop between batches: the move stays resumable.
    void setInterruptFlag(const std::atomic<bool>* flag) { m_interrupt = flag; }

    /// Whether pg_partman is installed in the database (its version), and in which schema.
    static QString partmanVersion(htap::pg::Connection& conn, QString* schema = nullptr);
    /// The unfinished move of schema.table (copying), or of the table now named so (swapped).
    static PartitionMoveState current(htap::pg::Connection& conn, const QString& schema, const QString& table, QString* error);
    static PartitionMoveState byId(htap::pg::Connection& conn, qint64 id, QString* error);

    /// Starts the move of schema.table to monthly partitions on column, or resumes the one a
    /// stopped program left (its copy goes on from the last committed batch).
    PartitionMoveOutcome run(const QString& schema, const QString& table, const QString& column);
    /// Before the swap: drops the partitioned table, the capture and the log; the table was never
    /// changed. After it: copies back what was written since, swaps the names back, puts the
    /// foreign keys back and drops the partitioned table.
    PartitionMoveOutcome undo(qint64 moveId);
    /// After the swap, when the DBA is satisfied: drops the old table, the reverse capture and
    /// its log. Cannot be undone.
    PartitionMoveOutcome finish(qint64 moveId);

private:
    struct Move;
    bool load(qint64 id, Move* m, QString* error);
    /// load() for undo or finish: false, with the outcome's message, unless the move is in one of phases.
    bool loadFor(qint64 moveId, const QStringList& phases, const QString& what, Move* m, PartitionMoveOutcome* out);
    /// loadFor() under the move's claim (one run at a time per table: held until the returned
    /// guard goes), the move read again once claimed; null, with the outcome's message, if not.
    std::shared_ptr<void> loadClaimed(qint64 moveId, const QStringList& phases, const QString& what, Move* m, PartitionMoveOutcome* out);
    bool prepare(const QString& schema, const QString& table, const QString& column, Move* m, PartitionMoveOutcome* out);
    /// The table's storage parameters onto each partition (and pg_partman's template), in prepare's transaction.
    bool carryStorageOptions(const Move& m, const QString& table, const QString& partmanSchema, QString* error, PartitionMoveOutcome* out);
    bool copy(Move& m, PartitionMoveOutcome* out);
    /// Copies the keys logged in log from `from` into `to` in batches; under the swap's lock
    /// (locked) until the log is empty, else until fewer than a batch are left.
    bool replay(const Move& m, const QString& log, const QString& from, const QString& to, bool locked, qint64* rows, QString* error);
    bool swap(Move& m, bool back, PartitionMoveOutcome* out);
    void followViews(const Move& m, bool back, PartitionMoveOutcome* out);
    QString repointMatview(const QString& schema, const QString& name, const QString& definition);
    bool exec(const QString& sql, QString* error, PartitionMoveOutcome* out = nullptr);
    void progress(const QString& line);

    htap::pg::Connection& m_conn;
    PartitionMoveOptions m_options;
    std::function<void(const QString&)> m_progress;
    const std::atomic<bool>* m_interrupt = nullptr;
};

} // namespace htap::advise
