// htap_monitor: collectors that sample a server on their own thread and hand out immutable
// Sample values. Nothing here includes a widget header.
#pragma once

#include <QDateTime>
#include <QMap>
#include <QMetaType>

namespace htap::monitor {

/// The window of the activity rates (seconds): backends flush their statistics once a second
/// at most, so shorter ones alias.
inline constexpr double kRateWindowSeconds = 5;

/// Server-wide activity at one instant. Rates are set only when a previous sample exists and
/// no counter was reset in between (hasRates).
struct ActivitySample {
    QDateTime sampledAt; ///< server clock
    double elapsedSeconds = 0; ///< real time since the previous sample, 0 for the first
    bool hasRates = false;
    double commitsPerSecond = 0;   ///< the monitor's own transactions subtracted
    double rollbacksPerSecond = 0;
    qint64 ownCommits = 0; ///< the monitor's own transactions taken out of this interval's count
    /// The same rates over the last kRateWindowSeconds of contiguous samples (windowSeconds of
    /// them so far): what the charts and tiles show, free of the lumps of statistics flushes.
    double windowSeconds = 0;
    double commitsPerSecondWindow = 0;
    double rollbacksPerSecondWindow = 0;
    qint64 xactCommit = 0; ///< cumulative, all databases
    qint64 xactRollback = 0;
    /// pg_stat_database's other cumulative counters, all databases, as read (the rates above come
    /// from them): for exporters that let their consumer take rates (htapctl monitor --listen).
    qint64 blocksHit = 0;
    qint64 blocksRead = 0;
    qint64 tuplesRead = 0;    ///< returned + fetched
    qint64 tuplesWritten = 0; ///< inserted + updated + deleted
    qint64 tempFiles = 0;
    qint64 tempBytes = 0;
    /// The WAL position in bytes: pg_current_wal_lsn() on a primary, the replay position on a
    /// standby. It only grows, so the bytes of WAL between two samples are its difference.
    qint64 walPosition = 0;
    int active = 0;
    int idle = 0;
    int idleInTransaction = 0;
    int idleInTransactionAborted = 0;
    int otherState = 0;
    int waitingOnLock = 0;
    QMap<QString, int> waitEvents; ///< active sessions by wait_event_type (Lock, LWLock, IO, ...)
    double tuplesReadPerSecond = 0;    ///< returned + fetched
    double tuplesWrittenPerSecond = 0; ///< inserted + updated + deleted
    double walBytesPerSecond = 0;
    double cacheHitRatio = -1; ///< shared buffer hits / (hits + reads) over the interval; -1 when no reads
    double tempFilesPerSecond = 0;
    double tempBytesPerSecond = 0;

    int totalSessions() const { return active + idle + idleInTransaction + idleInTransactionAborted + otherState; }
};

} // namespace htap::monitor

Q_DECLARE_METATYPE(htap::monitor::ActivitySample)
