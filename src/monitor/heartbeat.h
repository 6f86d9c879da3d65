#pragma once

#include <pg/conninfo.h>

#include <QString>

#include <atomic>
#include <memory>

namespace htap::monitor {

/// Writes the registry's heartbeat on a primary: one row of htap.heartbeat set to the server's
/// clock every 100 ms, on a connection (and thread) of its own, so that a standby's readers can
/// tell how old the data they see is (now minus the last heartbeat the standby replayed;
/// docs/replication.md). Writes only where the app's registry (schema htap) is installed; on a
/// standby it waits, and starts writing if the server is promoted.
///
/// Each update is a commit that the server counts in xact_commit: commits() lets the monitor
/// leave them out of the load it reports. Destroying the writer never waits on a server that
/// does not answer: a thread stuck in libpq is cancelled and left to end on its own.
class HeartbeatWriter
{
public:
    static constexpr int kPeriodMs = 100;

    /// Starts at once. ownCommits, when given, is increased by each heartbeat committed.
    explicit HeartbeatWriter(const htap::pg::ConnInfo& info, std::shared_ptr<std::atomic<qint64>> ownCommits = {});
    ~HeartbeatWriter();
    HeartbeatWriter(const HeartbeatWriter&) = delete;
    HeartbeatWriter& operator=(const HeartbeatWriter&) = delete;

    /// Empty while heartbeats are written; otherwise why not, in the operator's words.
    QString status() const;
    /// Heartbeats written since the start.
    qint64 written() const;

    struct State; ///< shared with the writing thread, which may outlive the writer

private:
    std::shared_ptr<State> m_state;
};

} // namespace htap::monitor
