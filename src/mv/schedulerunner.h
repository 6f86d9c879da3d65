#pragma once

#include "mvservice.h"

#include <pg/conninfo.h>

#include <QList>
#include <QString>

#include <atomic>
#include <deque>
#include <functional>

namespace htap::mv {

/// When to merge an incrementally maintained view whose schedule is adaptive: a merge starts
/// when the oldest unmerged change, plus what the merge is expected to take, would reach the
/// view's freshness target; while nothing is pending, nothing is merged. A change becomes
/// visible (to the merge as to a reader) only when its writer commits, and its age counts from
/// when it was captured: writers whose transactions take long (lock waits, a deadlock's second)
/// hand in changes already old, so the cadence also learns how late changes come in and starts
/// that much earlier. Times are seconds. Pure arithmetic: tested without a server.
class MergeCadence
{
public:
    explicit MergeCadence(double targetSeconds = 1.0) : m_target(targetSeconds) {}
    double targetSeconds() const { return m_target; }
    /// A merge ended: it took `seconds` (wall time, waiting for the CPU included).
    void merged(double seconds);
    /// The oldest pending change was `oldestAgeSeconds` old, `sinceMergeStart` after the last
    /// merge started: anything older than that merge committed after its snapshot, late.
    void sawPending(double oldestAgeSeconds, double sinceMergeStart);
    /// What the next merge is expected to take: the longest of the last 8, a quarter more, so
    /// that a merge slowed by the writers (or by its lower priority) still ends within target.
    double expectedSeconds() const;
    /// How late changes come in: the most seen over the last 32 looks.
    double lateSeconds() const;
    /// The age the oldest change may reach before its merge starts: the target less the
    /// expected merge, how late changes come in and the polling slack. At least 0 (then any
    /// pending change is merged at once).
    double startAge() const;
    /// Seconds from now until the merge is due, given the oldest unmerged change's age (< 0:
    /// nothing pending; then the earliest a change committing now, late, can be due). 0: now.
    double dueIn(double oldestAgeSeconds) const;
    static constexpr double kPollSlackSeconds = 0.1;

private:
    double m_target;
    std::deque<double> m_recent;
    std::deque<double> m_late;
};

/// The app-run schedules (runner "app"), headless: `htapctl mv run-schedules` and the tests.
/// Each schedule runs on a thread and a session of its own, so that one view's slow merge (or
/// one at a lowered priority, starved by the writers) delays no other. Fixed schedules run at
/// most once per interval; adaptive ones (incremental views) follow MergeCadence, looking at
/// htap.ivm_pending only when the view may be due. A schedule with merge_nice > 0 runs its
/// merges in a session at that lower CPU priority (the prioritize extension); without the
/// extension they run at normal priority, with a warning. Schedules are read again every 10 s.
class ScheduleRunner
{
public:
    /// connection: reads the schedules; info: how to open the schedules' own sessions (the
    /// same server, user and database).
    ScheduleRunner(pg::Connection& connection, const pg::ConnInfo& info);
    struct Run {
        QString view;
        RefreshMode mode = RefreshMode::Incremental;
        RefreshOutcome outcome;
        int nice = 0; ///< the priority it ran at (0 when lowering it failed)
    };
    /// Runs until *stop is set or limitSeconds pass (<= 0: no limit). onRun after each run and
    /// onWarning (a schedule that cannot run as asked) are called one at a time, from the
    /// schedules' threads. Returns an empty string, or the error that stopped it (the schedules
    /// could not be read).
    QString run(const std::atomic<bool>* stop, double limitSeconds, const std::function<void(const Run&)>& onRun,
        const std::function<void(const QString&)>& onWarning = {});

private:
    pg::Connection& m_conn;
    pg::ConnInfo m_info;
};

} // namespace htap::mv
