// The scenario runner's parts shared by runner.cpp (the run: connections, phases, results)
// and runnerloops.cpp (the clients' request loops). Private to the runner.
#pragma once

#include "runner.h"

#include <hotpath.h>

#include <mv/mvservice.h>

#include "requests.h"
#include "topologyrun.h"

#include <pg/connection.h>

#include <QPointer>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>
#include <poll.h>
#include <span>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <ctime>
#include <thread>
#include <unistd.h>

namespace htap::workload {

using namespace Qt::StringLiterals;
using htap::metrics::LatencyHistogram;
using htap::pg::Connection;
using htap::pg::PgError;

/// std::chrono::steady_clock read inline: its now() is clock_gettime(CLOCK_MONOTONIC) behind a
/// call into libstdc++, one more code page for a client thread to find cold at each wakeup.
struct Clock {
    using duration = std::chrono::steady_clock::duration;
    using time_point = std::chrono::steady_clock::time_point;
    static time_point now() noexcept
    {
        timespec ts {};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return time_point(std::chrono::duration_cast<duration>(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
    }
};

namespace runner_detail {


inline double secondsSince(Clock::time_point t0, Clock::time_point t)
{
    return std::chrono::duration<double>(t - t0).count();
}

/// The inverse: the time point seconds after t0.
inline Clock::time_point secondsAfter(Clock::time_point t0, double seconds)
{
    return t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

/// A wait as the system calls take it.
inline timespec toTimespec(Clock::duration d)
{
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::max(Clock::duration::zero(), d)).count();
    return {time_t(ns / 1'000'000'000), long(ns % 1'000'000'000)};
}

/// What one worker recorded over an interval; merged by the coordinator.
struct Acc {
    LatencyHistogram latency; ///< from the intended start
    LatencyHistogram service; ///< from the actual start
    qint64 committed = 0, rolledBack = 0, failed = 0, retries = 0, deadlockRetries = 0, late = 0, skipped = 0;
    qint64 conflicts = 0; ///< of failed: cancelled by a standby's recovery
    double maxLagMs = 0;
    QMap<QString, qint64> bySqlstate;
    /// The last requests' latencies, not in the histograms yet: they go in kBatch at a time,
    /// so that the buckets' cache misses (a thread finds its histograms cold after each sleep)
    /// overlap instead of each request waiting for two.
    static constexpr int kBatch = 32;
    std::array<qint64, kBatch> latencies {}, services {};
    int batched = 0;

    void add(qint64 latencyUs, qint64 serviceUs)
    {
        latencies[std::size_t(batched)] = latencyUs;
        services[std::size_t(batched)] = serviceUs;
        if (++batched == kBatch)
            flush();
    }
    void flush()
    {
        latency.record(std::span(latencies.data(), std::size_t(batched)));
        service.record(std::span(services.data(), std::size_t(batched)));
        batched = 0;
    }
    void merge(const Acc& o)
    {
        latency.merge(o.latency);
        service.merge(o.service);
        latency.record(std::span(o.latencies.data(), std::size_t(o.batched)));
        service.record(std::span(o.services.data(), std::size_t(o.batched)));
        committed += o.committed;
        rolledBack += o.rolledBack;
        failed += o.failed;
        retries += o.retries;
        deadlockRetries += o.deadlockRetries;
        late += o.late;
        skipped += o.skipped;
        conflicts += o.conflicts;
        maxLagMs = std::max(maxLagMs, o.maxLagMs);
        for (auto it = o.bySqlstate.cbegin(); it != o.bySqlstate.cend(); ++it)
            bySqlstate[it.key()] += it.value();
    }
    bool empty() const
    {
        return latency.count() == 0 && batched == 0 && skipped == 0; // every request records its latency
    }
    void clear()
    {
        latency.reset();
        service.reset();
        batched = 0;
        committed = rolledBack = failed = retries = deadlockRetries = late = skipped = conflicts = 0;
        maxLagMs = 0;
        bySqlstate.clear();
    }
    WorkloadStats stats(double seconds, double targetRate, int inFlight) const
    {
        Q_ASSERT(batched == 0); // read from merged accumulators only: merge() takes the batch in
        Q_ASSERT(latency.count() == committed + rolledBack + failed && service.count() == latency.count());
        WorkloadStats s;
        s.committed = committed;
        s.rolledBack = rolledBack;
        s.failed = failed;
        s.failedBySqlstate = bySqlstate;
        s.retries = retries;
        s.deadlockRetries = deadlockRetries;
        s.late = late;
        s.skipped = skipped;
        s.conflicts = conflicts;
        s.maxLagMs = maxLagMs;
        s.inFlight = inFlight;
        s.seconds = seconds;
        s.targetRate = targetRate;
        s.latency = Percentiles::of(latency);
        s.service = Percentiles::of(service);
        return s;
    }
    TargetStats targetStats() const
    {
        TargetStats t;
        t.committed = committed + rolledBack;
        t.failed = failed;
        t.conflicts = conflicts;
        t.latency = Percentiles::of(latency);
        return t;
    }
};

/// One connection of a workload and the request under way on it.
struct Slot {
    int index = 0; ///< the client's number in its workload: a closed-loop client runs while the phase asks for more
    Connection conn;
    std::unique_ptr<RequestExecutor> executor;
    std::atomic<bool> connected {false};
    // The request under way (multiplexed loop).
    bool busy = false;
    bool writing = false; ///< flush() said 1: wait until the socket takes more
    // How the multiplexed loop's epoll set watches the connection: its socket and events as
    // registered, and which opening of the connection they belong to.
    int generation = 0; ///< counts the openings
    int watchedFd = -1;
    int watchedGeneration = -1;
    quint32 watchedEvents = 0;
    int phase = 0;
    double lagMs = 0;
    Clock::time_point intended {}, start {}, nextStart {};
};

/// One client thread of a workload and the connections it serves: one (a blocking worker, for
/// requests that wait on purpose) or several, multiplexed without blocking.
struct Worker {
    htap::pg::ConnInfo info;
    int lane = 0;   ///< the lane it serves (RunTopology::lanes)
    QString target; ///< its lane's: primary, standby or view
    QString applicationName;
    bool multiplexed = false;
    std::vector<std::unique_ptr<Slot>> connections;
    std::mutex m;
    /// By phase, what was recorded since the coordinator last took it (once a second): a
    /// request is recorded once, and the coordinator adds it both to the second and to its phase.
    std::vector<Acc> current;
    std::vector<Acc> phases; ///< by phase, what the coordinator took
    std::atomic<int> inFlight {0};
    std::shared_ptr<const htap::pg::Canceller> canceller; ///< blocking worker: its connection's, under m
    Clock::time_point lastReconnect {}; ///< the thread's last attempt: one a second, whatever the connection
    bool lastAttemptFailed = false;     ///< then requests that find no connection fail at once
    std::atomic<bool> finished {false};
    std::thread thread;

    /// Adds what was recorded since the last call to its phases, and to *second if given.
    /// Under m, or once the thread has ended.
    void take(Acc* second)
    {
        for (std::size_t p = 0; p < current.size(); ++p) {
            Acc& acc = current[p];
            if (acc.empty())
                continue;
            if (second)
                second->merge(acc);
            phases[p].merge(acc);
            acc.clear();
        }
    }
};

/// Sends cancel requests from a thread of their own: PQcancel waits for the server's answer
/// without a timeout, and a frozen server must not hold up a stop.
inline void cancelDetached(std::vector<std::shared_ptr<const htap::pg::Canceller>> cancellers)
{
    if (!cancellers.empty())
        std::thread([cancellers = std::move(cancellers)] {
            for (const auto& c : cancellers)
                c->cancel();
        }).detach();
}

/// Waits for the epoll set, with a timeout to the nanosecond (open-loop arrivals are due to the
/// microsecond) or none (timeout null: until a socket has something): epoll_pwait2() where the
/// kernel has it (5.11 on), else ppoll() on the set itself and a look at what is ready.
inline int waitForEvents(int ep, epoll_event* events, int count, const timespec* timeout, bool* noPwait2)
{
    if (!*noPwait2) {
        const int ready = epoll_pwait2(ep, events, count, timeout, nullptr);
        if (ready >= 0 || errno == EINTR)
            return ready;
        *noPwait2 = true; // ENOSYS, or EPERM from a sandbox's system call filter that predates it
    }
    pollfd fd {ep, POLLIN, 0};
    const int ready = ppoll(&fd, 1, timeout, nullptr);
    return ready <= 0 ? ready : epoll_wait(ep, events, count, 0);
}

/// The scenario's phases on one time axis (seconds since the start of the run).
struct Timeline {
    QList<double> starts;
    double total = 0;

    explicit Timeline(const Scenario& s)
    {
        for (const Phase& p : s.phases) {
            starts << total;
            total += p.durationSeconds;
        }
    }
    int phaseAt(double t) const
    {
        for (int i = int(starts.size()) - 1; i >= 0; --i)
            if (t >= starts[i])
                return i;
        return 0;
    }
};

/// Open-loop arrivals of one workload, shared by its workers: each takes the next intended
/// start. When every connection is busy, the times fall behind and the wait shows up in the
/// latency from the intended start: no coordinated omission.
class Schedule
{
public:
    Schedule(const Scenario& s, const Workload& w, quint64 seed)
        : m_scenario(s)
        , m_workload(w)
        , m_timeline(s)
        , m_rng(quint32(seed))
    {
    }

    bool next(double* t, int* phaseIndex)
    {
        const std::lock_guard lock(m_mutex);
        while (m_t < m_timeline.total) {
            const int p = m_timeline.phaseAt(m_t);
            const Phase& phase = m_scenario.phases[p];
            const double end = m_timeline.starts[p] + phase.durationSeconds;
            const double rate = phase.demand.contains(m_workload.name)
                ? phase.demand.value(m_workload.name).at((m_t - m_timeline.starts[p]) / phase.durationSeconds)
                : 0;
            if (rate <= 0) {
                m_t = end;
                continue;
            }
            const double gap = m_workload.arrival == Workload::Arrival::Constant
                ? 1.0 / rate
                : -std::log(1.0 - m_rng.generateDouble()) / rate;
            if (m_t + gap >= end) { // the next arrival falls in the next phase, at its own rate
                m_t = end;
                continue;
            }
            // A time so late that the gap no longer moves it (possible only past what
            // validation lets through) still moves on: the schedule always ends.
            m_t = m_t + gap > m_t ? m_t + gap : std::nextafter(m_t, end);
            *t = m_t;
            *phaseIndex = p;
            return true;
        }
        return false;
    }

    /// Takes every arrival due by `now` (seconds into the run) at once and says how many fell
    /// in each phase: at a stop, or at the run's end with a backlog, which can hold millions.
    /// Counted from the rate's integral, not drawn one by one: constant arrivals exactly, a
    /// Poisson process as a Poisson count with that mean.
    void takeDue(double now, const std::function<void(int phase, qint64 n)>& count)
    {
        const std::lock_guard lock(m_mutex);
        while (m_t < m_timeline.total && m_t < now) {
            const int p = m_timeline.phaseAt(m_t);
            const Phase& phase = m_scenario.phases[p];
            const double start = m_timeline.starts[p];
            const double end = start + phase.durationSeconds;
            const double until = std::min(now, end);
            const Demand d = phase.demand.value(m_workload.name);
            const double r0 = d.at((m_t - start) / phase.durationSeconds), r1 = d.at((until - start) / phase.durationSeconds);
            const double mean = std::max(0.0, (until - m_t) * (r0 + r1) / 2);
            const qint64 n = m_workload.arrival == Workload::Arrival::Constant ? qint64(std::floor(mean + 1e-9)) : poisson(mean);
            if (n > 0)
                count(p, n);
            m_t = until >= end ? end : until;
        }
    }

private:
    qint64 poisson(double mean)
    {
        if (mean <= 0)
            return 0;
        if (mean < 30) { // Knuth: multiply uniforms until they fall below e^-mean
            const double limit = std::exp(-mean);
            qint64 k = 0;
            for (double prod = m_rng.generateDouble(); prod > limit; prod *= m_rng.generateDouble())
                ++k;
            return k;
        }
        // Large means: the normal approximation (Box-Muller), off by far less than one count.
        const double u1 = 1.0 - m_rng.generateDouble(), u2 = m_rng.generateDouble();
        const double z = std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
        return std::max<qint64>(0, qint64(std::llround(mean + std::sqrt(mean) * z)));
    }

    const Scenario& m_scenario;
    const Workload& m_workload;
    Timeline m_timeline;
    SeededRandom m_rng;
    std::mutex m_mutex;
    double m_t = 0;
};

inline QString applicationNameFor(const Workload& w)
{
    // The monitor classifies running sessions by these names (htap-studio oltp*, htap-studio olap*).
    if (w.kind == Workload::Kind::Refresh)
        return u"htap-studio refresh "_s + w.name;
    return (w.kind == Workload::Kind::Order ? u"htap-studio oltp "_s : u"htap-studio olap "_s) + w.name;
}

} // namespace runner_detail

using namespace runner_detail;

class RunCoordinator
{
public:
    QPointer<ScenarioRunner> owner;
    /// Read by every worker thread: const, so nothing ever detaches (a non-const QList access
    /// from several threads at once would).
    std::shared_ptr<const Scenario> scenario;
    htap::pg::ConnInfo info;
    htap::pg::ConnInfo standbyInfo; ///< given by the operator; empty: the primary's sandbox standby
    std::atomic<bool> stopRequested {false};
    std::atomic<bool> running {false};
    /// Readable once a stop is requested: the multiplexed threads watch it with their sockets,
    /// so that they sleep without a timeout while every connection is busy (no timer set and
    /// cancelled at each wait) and still stop at once. -1 if it could not be made: they then
    /// wake every 100 ms to look at stopRequested.
    const int stopFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    std::mutex reasonMutex;
    QString stopReason;
    std::thread thread;

    RunCoordinator() = default;
    RunCoordinator(const RunCoordinator&) = delete;
    RunCoordinator& operator=(const RunCoordinator&) = delete;
    ~RunCoordinator()
    {
        if (stopFd >= 0)
            ::close(stopFd);
    }

    void requestStop(const QString& reason)
    {
        {
            const std::lock_guard lock(reasonMutex);
            if (stopReason.isEmpty())
                stopReason = reason;
        }
        stopRequested = true;
        if (stopFd >= 0) {
            const quint64 one = 1;
            [[maybe_unused]] const auto written = ::write(stopFd, &one, sizeof one);
        }
    }

    template<typename F>
    void post(F&& f)
    {
        QPointer<ScenarioRunner> o = owner;
        if (o)
            QMetaObject::invokeMethod(o, [o, f = std::forward<F>(f)] {
                if (o)
                    f(o.data());
            }, Qt::QueuedConnection);
    }

    void run();

private:
    /// sc: the run's scenario as the lane sees it (its share of a router workload's demand).
    void blockingLoop(const Scenario& sc, const Workload& w, Worker& worker, Schedule* schedule, Clock::time_point t0);
    void multiplexedLoop(const Scenario& sc, const Workload& w, Worker& worker, Schedule* schedule, Clock::time_point t0);
    enum class Link { Open, Failed, Later };
    /// Opens the slot's connection if it is closed: Failed when an attempt failed, Later when
    /// the thread made one less than a second ago.
    Link ensureConnected(Worker& worker, Slot& slot);
    /// Opens the slot's connection, prepares its statements and readies it for its loop;
    /// *connectFailed says whether the connect itself failed. A connect gives up when the run
    /// stops or when *giveUp (another opening failed) is set.
    PgError openSlot(Worker& worker, Slot& slot, int timeoutMs, bool* connectFailed = nullptr,
        const std::atomic<bool>* giveUp = nullptr);
    /// At a stop: the open-loop arrivals that were due and never started (held is one already
    /// taken from the schedule, if any) are counted as skipped, not dropped.
    void countUnserved(Worker& worker, Schedule* schedule, Clock::time_point t0, const double* held, int heldPhase);
    static void record(Worker& worker, int phase, const Outcome& o, double latencyUs, double serviceUs, double lagMs);
};

} // namespace htap::workload
