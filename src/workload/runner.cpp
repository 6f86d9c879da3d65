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

Percentiles Percentiles::of(const LatencyHistogram& h)
{
    Percentiles p;
    p.p50 = h.percentileUs(50) / 1000.0;
    p.p90 = h.percentileUs(90) / 1000.0;
    p.p99 = h.percentileUs(99) / 1000.0;
    p.p999 = h.percentileUs(99.9) / 1000.0;
    p.max = h.maxUs() / 1000.0;
    p.mean = h.meanUs() / 1000.0;
    return p;
}

namespace {

double secondsSince(Clock::time_point t0, Clock::time_point t)
{
    return std::chrono::duration<double>(t - t0).count();
}

/// The inverse: the time point seconds after t0.
Clock::time_point secondsAfter(Clock::time_point t0, double seconds)
{
    return t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

/// A wait as the system calls take it.
timespec toTimespec(Clock::duration d)
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
void cancelDetached(std::vector<std::shared_ptr<const htap::pg::Canceller>> cancellers)
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
int waitForEvents(int ep, epoll_event* events, int count, const timespec* timeout, bool* noPwait2)
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

QString applicationNameFor(const Workload& w)
{
    // The monitor classifies running sessions by these names (htap-studio oltp*, htap-studio olap*).
    if (w.kind == Workload::Kind::Refresh)
        return u"htap-studio refresh "_s + w.name;
    return (w.kind == Workload::Kind::Order ? u"htap-studio oltp "_s : u"htap-studio olap "_s) + w.name;
}

} // namespace

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

HTAP_HOT void RunCoordinator::record(Worker& worker, int phase, const Outcome& o, double latencyUs, double serviceUs, double lagMs)
{
    const std::lock_guard lock(worker.m);
    Acc& acc = worker.current[std::size_t(phase)];
    acc.add(qint64(latencyUs), qint64(serviceUs));
    acc.retries += o.tries - 1;
    acc.deadlockRetries += o.deadlocks;
    acc.maxLagMs = std::max(acc.maxLagMs, lagMs);
    if (lagMs > 1)
        ++acc.late;
    switch (o.kind) {
    case Outcome::Kind::Committed:
        ++acc.committed;
        break;
    case Outcome::Kind::BusinessRollback:
        ++acc.rolledBack;
        break;
    case Outcome::Kind::Failed:
        ++acc.failed;
        ++acc.bySqlstate[o.sqlstate];
        if (o.recoveryConflict)
            ++acc.conflicts;
        break;
    }
}

RunCoordinator::Link RunCoordinator::ensureConnected(Worker& worker, Slot& slot)
{
    if (slot.conn.isOpen())
        return Link::Open;
    slot.connected = false;
    // One attempt a second per thread: a connect blocks the thread (up to 3 s against a silent
    // server), and its other connections wait meanwhile.
    if (Clock::now() - worker.lastReconnect < std::chrono::seconds(1) || stopRequested)
        return worker.lastAttemptFailed ? Link::Failed : Link::Later;
    worker.lastReconnect = Clock::now();
    worker.lastAttemptFailed = bool(openSlot(worker, slot, 3000));
    return worker.lastAttemptFailed ? Link::Failed : Link::Open;
}

PgError RunCoordinator::openSlot(Worker& worker, Slot& slot, int timeoutMs, bool* connectFailed, const std::atomic<bool>* giveUp)
{
    PgError e = slot.conn.open(worker.info, {timeoutMs, worker.applicationName},
        [this, giveUp] { return stopRequested.load() || (giveUp && giveUp->load()); });
    if (connectFailed)
        *connectFailed = e.isError();
    if (!e)
        e = slot.executor->prepare(slot.conn);
    if (e) {
        slot.conn.close();
        return e;
    }
    ++slot.generation;
    if (worker.multiplexed) {
        slot.conn.setNonBlocking(true);
    } else {
        const std::lock_guard lock(worker.m);
        worker.canceller = slot.conn.canceller();
    }
    slot.connected = true;
    return {};
}

void RunCoordinator::countUnserved(Worker& worker, Schedule* schedule, Clock::time_point t0, const double* held, int heldPhase)
{
    const double now = secondsSince(t0, Clock::now());
    const std::lock_guard lock(worker.m);
    if (held && *held <= now)
        ++worker.current[std::size_t(heldPhase)].skipped;
    schedule->takeDue(now, [&](int phase, qint64 n) { worker.current[std::size_t(phase)].skipped += n; });
}

void RunCoordinator::blockingLoop(const Scenario& sc, const Workload& w, Worker& worker, Schedule* schedule, Clock::time_point t0)
{
    const Timeline timeline(sc);
    Slot& slot = *worker.connections.front();
    auto sleepUntil = [&](Clock::time_point when) {
        while (!stopRequested && Clock::now() < when)
            std::this_thread::sleep_until(std::min(when, Clock::now() + std::chrono::milliseconds(100)));
    };

    if (schedule) { // open loop
        double t = 0;
        int phase = 0;
        const auto runEnd = secondsAfter(t0, timeline.total);
        while (!stopRequested && schedule->next(&t, &phase)) {
            const auto intended = secondsAfter(t0, t);
            sleepUntil(intended);
            if (stopRequested || Clock::now() >= runEnd) {
                // Stopped, or the run is over with a backlog: what was due and not started is
                // counted as skipped; nothing starts after the end.
                countUnserved(worker, schedule, t0, &t, phase);
                return;
            }
            const auto start = Clock::now();
            const double lagMs = std::chrono::duration<double, std::milli>(start - intended).count();
            if (w.skipIfLaterThanMs > 0 && lagMs > w.skipIfLaterThanMs) {
                const std::lock_guard lock(worker.m);
                ++worker.current[std::size_t(phase)].skipped;
                continue;
            }
            Outcome o;
            if (ensureConnected(worker, slot) == Link::Later) // it broke again within a second
                sleepUntil(worker.lastReconnect + std::chrono::seconds(1));
            if (ensureConnected(worker, slot) != Link::Open) {
                o.kind = Outcome::Kind::Failed;
                o.sqlstate = u"08006"_s; // connection failure: counted, not dropped
            } else {
                ++worker.inFlight;
                o = slot.executor->run(slot.conn);
                --worker.inFlight;
            }
            const auto end = Clock::now();
            record(worker, phase, o, std::chrono::duration<double, std::micro>(end - intended).count(),
                std::chrono::duration<double, std::micro>(end - start).count(), lagMs);
        }
        if (stopRequested)
            countUnserved(worker, schedule, t0, nullptr, 0);
        return;
    }
    // Closed loop: the client runs while the phase asks for more than its number.
    while (!stopRequested) {
        const double el = secondsSince(t0, Clock::now());
        if (el >= timeline.total)
            break;
        if (el < 0) {
            sleepUntil(t0);
            continue;
        }
        const int phase = timeline.phaseAt(el);
        const int clients = int(sc.phases[phase].demand.value(w.name).from);
        if (slot.index >= clients) {
            sleepUntil(Clock::now() + std::chrono::milliseconds(50));
            continue;
        }
        Outcome o;
        const auto start = Clock::now();
        if (ensureConnected(worker, slot) == Link::Later)
            sleepUntil(worker.lastReconnect + std::chrono::seconds(1));
        if (ensureConnected(worker, slot) != Link::Open) {
            o.kind = Outcome::Kind::Failed;
            o.sqlstate = u"08006"_s;
            sleepUntil(Clock::now() + std::chrono::milliseconds(200));
        } else {
            ++worker.inFlight;
            o = slot.executor->run(slot.conn);
            --worker.inFlight;
        }
        const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
        record(worker, phase, o, us, us, 0);
        if (w.thinkMs > 0) // no further than the end of the run
            sleepUntil(std::min(Clock::now() + std::chrono::microseconds(qint64(w.thinkMs * 1000)),
                secondsAfter(t0, timeline.total)));
    }
}

HTAP_HOT void RunCoordinator::multiplexedLoop(const Scenario& sc, const Workload& w, Worker& worker, Schedule* schedule, Clock::time_point t0)
{
    // One thread, several connections, none of them waited on: requests are command sequences
    // (RequestExecutor::begin/advance) sent without blocking, and the thread sleeps in epoll
    // until a socket has something or the next request is due. Latency keeps the same two
    // clocks as the blocking loop: from the intended start and from the actual one.
    // Each wakeup costs no more than it must: the closed loop's client counts are read once,
    // the sockets are watched through epoll (registered once per connection, where ppoll()
    // would register and unregister every socket at every wakeup) and the registrations are
    // looked at only when a connection opened or closed or started or stopped waiting to
    // write, and the clock is read once per wakeup and once at each request's start and end.
    const Timeline timeline(sc);
    const auto think = std::chrono::microseconds(qint64(w.thinkMs * 1000));
    std::vector<int> clientsIn; // closed loop: by phase, the clients it asks for
    for (const Phase& p : sc.phases)
        clientsIn.push_back(int(p.demand.value(w.name).from));
    int busy = 0;
    bool fdsDirty = true; // a registration may be out of date
    bool stopping = false; // the run is stopping, as this thread has seen
    bool noPwait2 = false; // the kernel has no epoll_pwait2(): ppoll() on the set instead
    struct EpollSet {
        int fd = epoll_create1(EPOLL_CLOEXEC);
        ~EpollSet()
        {
            if (fd >= 0)
                ::close(fd);
        }
    } set;
    if (set.fd < 0) {
        requestStop(u"cannot watch the connections: %1"_s.arg(QString::fromLocal8Bit(strerror(errno))));
        return;
    }
    const int ep = set.fd;
    // The stop signal sits in the set with the sockets (a null pointer marks it), so that the
    // thread can sleep without a timeout while it has nothing timed to do.
    bool stopWatched = false;
    if (stopFd >= 0) {
        epoll_event ev {};
        ev.events = EPOLLIN;
        ev.data.ptr = nullptr;
        stopWatched = epoll_ctl(ep, EPOLL_CTL_ADD, stopFd, &ev) == 0;
    }
    bool tls = false; // a connection is encrypted: then every wait has a timeout (see below)
    // Brings the slot's registration up to date. A closed socket has left the set by itself,
    // so nothing is ever removed: a new connection (even on a reused descriptor) is added.
    auto watch = [&](Slot& slot) HTAP_HOT {
        const int fd = slot.conn.socket();
        const quint32 events = quint32(EPOLLIN) | (slot.busy && slot.writing ? quint32(EPOLLOUT) : 0u);
        if (fd == slot.watchedFd && slot.generation == slot.watchedGeneration && events == slot.watchedEvents)
            return;
        if (fd >= 0) {
            epoll_event ev {};
            ev.events = events;
            ev.data.ptr = &slot;
            const bool known = fd == slot.watchedFd && slot.generation == slot.watchedGeneration;
            if (epoll_ctl(ep, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0)
                epoll_ctl(ep, errno == EEXIST ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev); // ENOENT: it left the set
        }
        slot.watchedFd = fd;
        slot.watchedGeneration = slot.generation;
        slot.watchedEvents = events;
    };
    auto setWriting = [&](Slot& slot, bool writing) HTAP_HOT {
        if (slot.writing != writing)
            fdsDirty = true;
        slot.writing = writing;
    };

    auto finishRequest = [&](Slot& slot, const Outcome& o) HTAP_HOT {
        const auto end = Clock::now();
        record(worker, slot.phase, o, std::chrono::duration<double, std::micro>(end - slot.intended).count(),
            std::chrono::duration<double, std::micro>(end - slot.start).count(), slot.lagMs);
        setWriting(slot, false);
        slot.busy = false;
        --busy;
        --worker.inFlight;
        slot.nextStart = end + think;
        if (!slot.conn.isOpen()) {
            slot.conn.close(); // reopened by a later request
            slot.connected = false;
            fdsDirty = true;
        }
    };
    // Sends a command; a command that cannot be sent is answered at once with its error.
    auto send = [&](Slot& slot, Command command) HTAP_HOT {
        for (;;) {
            PgError e = sendCommand(slot.conn, command);
            if (!e) {
                const int flushed = slot.conn.flush();
                if (flushed >= 0) {
                    setWriting(slot, flushed == 1);
                    return;
                }
                e = PgError::make(PgError::Kind::Connection, slot.conn.lastErrorMessage(), QString::fromUtf8(command.statement));
                slot.conn.close();
            }
            const htap::pg::Reply failure(e);
            Step step = slot.executor->advance({&failure, 1}, slot.conn.isOpen());
            if (step.done) {
                finishRequest(slot, step.outcome);
                return;
            }
            command = step.command;
        }
    };
    // Starts a request on the slot; false when its connection is to be reopened in a moment
    // (the thread reopened another less than a second ago, successfully): it waits for that.
    auto startRequest = [&](Slot& slot, Clock::time_point intended, int phase, double lagMs, Clock::time_point start) HTAP_HOT {
        const int generation = slot.generation;
        const bool wasConnected = slot.connected;
        const Link link = ensureConnected(worker, slot);
        if (!wasConnected || slot.generation != generation)
            fdsDirty = true; // a connection (re)opened, or failed to
        if (link == Link::Later)
            return false;
        slot.intended = intended;
        // Service time starts once the connection is there (a reconnect is not the server's
        // answer time; the open loop's latency from the intended start still covers it).
        slot.start = wasConnected && slot.generation == generation ? start : Clock::now();
        slot.phase = phase;
        slot.lagMs = lagMs;
        ++busy;
        ++worker.inFlight;
        slot.busy = true;
        if (link == Link::Failed) {
            Outcome o;
            o.kind = Outcome::Kind::Failed;
            o.sqlstate = u"08006"_s; // connection failure: counted, not dropped
            finishRequest(slot, o);
            slot.nextStart = Clock::now() + std::chrono::milliseconds(200);
            return true;
        }
        send(slot, slot.executor->begin());
        return true;
    };
    // A closed-loop client without think time begins its next request the moment one ends, as
    // pgbench does: the end is the next start, and the loop's next turn has nothing to do.
    auto startNext = [&](Slot& slot) HTAP_HOT {
        if (schedule || think.count() > 0 || stopping || !slot.conn.isOpen())
            return;
        const double el = secondsSince(t0, slot.nextStart);
        if (el < 0 || el >= timeline.total)
            return;
        const int phase = timeline.phaseAt(el);
        if (slot.index < clientsIn[std::size_t(phase)])
            startRequest(slot, slot.nextStart, phase, 0, slot.nextStart);
    };
    // Reads what a busy connection has and moves its request on.
    auto serve = [&](Slot& slot) HTAP_HOT {
        slot.conn.consumeInput(); // a broken link shows in the results
        if (!slot.conn.takeReplies())
            return;
        const Step step = slot.executor->advance(slot.conn.replies(), slot.conn.isOpen());
        if (!step.done) {
            send(slot, step.command);
            return;
        }
        finishRequest(slot, step.outcome);
        startNext(slot);
    };
    // An idle connection that is open first; one to reopen only when there is none.
    auto idleSlot = [&]() -> Slot* {
        Slot* closed = nullptr;
        for (auto& slot : worker.connections) {
            if (slot->busy)
                continue;
            if (slot->conn.isOpen())
                return slot.get();
            if (!closed)
                closed = slot.get();
        }
        return closed;
    };

    const auto runEnd = secondsAfter(t0, timeline.total);
    bool pending = false; // open loop: an arrival taken from the schedule, not started yet
    double pendingT = 0;
    int pendingPhase = 0;
    bool scheduleDone = false;
    bool cancelled = false;
    Clock::time_point stopDeadline;
    std::vector<epoll_event> events(worker.connections.size() + 1); // and the stop signal
    for (;;) {
        auto now = Clock::now();
        // A stop arrives as the stop signal's event; without one (or once it has been seen),
        // from stopRequested (its cache line is the coordinator's: not read at every wakeup
        // when it need not be).
        if (!stopping && !stopWatched)
            stopping = stopRequested.load(std::memory_order_relaxed);
        if (stopping) {
            // Stop means now: cancel what is in flight, then take its (failed) results; what
            // has not answered 5 s later is given up and counted as cancelled.
            if (!cancelled) {
                cancelled = true;
                stopDeadline = now + std::chrono::seconds(5);
                std::vector<std::shared_ptr<const htap::pg::Canceller>> cancellers;
                for (auto& slot : worker.connections)
                    if (slot->busy && slot->conn.canceller())
                        cancellers.push_back(slot->conn.canceller());
                cancelDetached(std::move(cancellers));
            }
            if (busy > 0 && now > stopDeadline) {
                for (auto& slot : worker.connections) {
                    if (!slot->busy)
                        continue;
                    slot->conn.close();
                    finishRequest(*slot, {Outcome::Kind::Failed, u"57014"_s, u"no answer within 5 s of the stop"_s});
                }
            }
            if (busy == 0) {
                if (schedule)
                    countUnserved(worker, schedule, t0, pending ? &pendingT : nullptr, pendingPhase);
                break;
            }
        }
        // When the thread must wake with nothing on its sockets: the next open-loop arrival, a
        // closed-loop client's next start or phase, a reconnect. Otherwise it sleeps until a
        // socket or the stop signal has something, as pgbench does: no timer to set and cancel
        // at each wait.
        auto wake = Clock::time_point::max();
        if (!stopping && schedule) { // open loop
            if (!scheduleDone && now >= runEnd) {
                // The run is over with a backlog (arrivals faster than the connections serve):
                // what was due and not started is counted as skipped; nothing starts after the end.
                countUnserved(worker, schedule, t0, pending ? &pendingT : nullptr, pendingPhase);
                pending = false;
                scheduleDone = true;
            }
            // The count says whether a connection is idle without reaching into each slot.
            while (!scheduleDone && busy < int(worker.connections.size())) {
                Slot* slot = idleSlot();
                if (!slot) // every connection busy: the arrival waits in the schedule, and its wait is latency
                    break;
                if (!pending && !scheduleDone) {
                    pending = schedule->next(&pendingT, &pendingPhase);
                    scheduleDone = !pending;
                }
                if (!pending)
                    break;
                const auto intended = secondsAfter(t0, pendingT);
                if (intended > now) {
                    wake = std::min(wake, intended);
                    break;
                }
                const double lagMs = std::chrono::duration<double, std::milli>(now - intended).count();
                if (w.skipIfLaterThanMs > 0 && lagMs > w.skipIfLaterThanMs) {
                    pending = false;
                    const std::lock_guard lock(worker.m);
                    ++worker.current[std::size_t(pendingPhase)].skipped;
                    continue;
                }
                if (!startRequest(*slot, intended, pendingPhase, lagMs, Clock::now())) {
                    wake = std::min(wake, worker.lastReconnect + std::chrono::seconds(1));
                    break;
                }
                pending = false;
                now = slot->start;
            }
            if (scheduleDone && !pending && busy == 0)
                break;
        } else if (!stopping && busy < int(worker.connections.size())) { // closed loop
            // Usually every client is busy (each begins its next request as one ends): then
            // there is nothing to start, and the phases are not looked at.
            const double el = secondsSince(t0, now);
            if (el >= timeline.total) {
                if (busy == 0)
                    break;
            } else if (el < 0) {
                wake = std::min(wake, t0);
            } else {
                const int phase = timeline.phaseAt(el);
                const int clients = clientsIn[std::size_t(phase)];
                bool laterPhase = false; // a client this phase does not ask for, and a later one may
                for (auto& slot : worker.connections) {
                    if (busy == int(worker.connections.size()))
                        break;
                    if (slot->busy)
                        continue;
                    if (slot->index >= clients) {
                        laterPhase = true;
                        continue;
                    }
                    if (slot->nextStart > now) {
                        wake = std::min(wake, slot->nextStart);
                        continue;
                    }
                    if (startRequest(*slot, now, phase, 0, Clock::now())) {
                        now = slot->start;
                    } else {
                        slot->nextStart = worker.lastReconnect + std::chrono::seconds(1);
                        now = Clock::now();
                    }
                    if (!slot->busy && slot->nextStart > now)
                        wake = std::min(wake, slot->nextStart);
                }
                // An idle client may be thinking past the end of the run, which the loop must
                // see; or wait for a later phase that asks for it.
                const std::size_t next = std::size_t(phase) + 1;
                const double at = laterPhase && next < std::size_t(timeline.starts.size()) ? timeline.starts[qsizetype(next)] : timeline.total;
                wake = std::min(wake, secondsAfter(t0, at));
            }
        }

        // Busy connections wait for their results; idle open ones are watched too, so that a
        // connection the server ends between requests is seen at once (and the run notices
        // when the server has gone).
        if (fdsDirty) {
            fdsDirty = false;
            tls = false;
            for (auto& slot : worker.connections) {
                watch(*slot);
                tls = tls || slot->conn.usesTls();
            }
        }
        // Every 100 ms all the same while stopping (the 5 s deadline), without a stop signal
        // (to look at stopRequested), and with TLS (below).
        if (stopping || !stopWatched || tls)
            wake = std::min(wake, now + std::chrono::milliseconds(100));
        const bool timed = wake != Clock::time_point::max();
        const timespec timeout = timed ? toTimespec(wake - now) : timespec {};
        const int ready = waitForEvents(ep, events.data(), int(events.size()), timed ? &timeout : nullptr, &noPwait2);
        if (ready == 0) {
            // Nothing on any socket: with TLS still look at every busy connection, since it can
            // hold decrypted bytes that the socket no longer shows.
            if (tls)
                for (auto& slot : worker.connections)
                    if (slot->busy)
                        serve(*slot);
            continue;
        }
        if (ready < 0)
            continue;
        for (int i = 0; i < ready; ++i) {
            if (!events[std::size_t(i)].data.ptr) { // the stop signal: seen once, left readable for the other threads
                stopping = true;
                epoll_ctl(ep, EPOLL_CTL_DEL, stopFd, nullptr);
                stopWatched = false;
                continue;
            }
            Slot& slot = *static_cast<Slot*>(events[std::size_t(i)].data.ptr);
            const quint32 ev = events[std::size_t(i)].events;
            if (!slot.busy) { // between requests: only the server ending the connection, or a notice
                if (!slot.conn.consumeInput() || !slot.conn.isOpen()) {
                    slot.conn.close();
                    slot.connected = false;
                    fdsDirty = true;
                }
                continue;
            }
            if ((ev & EPOLLOUT) && slot.writing) {
                const int flushed = slot.conn.flush();
                setWriting(slot, flushed == 1);
                if (flushed < 0) { // the link broke while sending
                    const PgError e = PgError::make(PgError::Kind::Connection, slot.conn.lastErrorMessage());
                    slot.conn.close();
                    const htap::pg::Reply failure(e);
                    finishRequest(slot, slot.executor->advance({&failure, 1}, false).outcome);
                    continue;
                }
            }
            if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
                serve(slot);
        }
    }
}

void RunCoordinator::run()
{
    running = true;
    ScenarioResult result;
    result.scenario = *scenario;
    auto failStart = [&](const QString& message) {
        running = false;
        post([message](ScenarioRunner* r) { Q_EMIT r->failedToStart(message); });
    };

    Connection admin;
    if (PgError e = admin.open(info, {10000, u"htap-studio scenario"_s}))
        return failStart(u"cannot connect: %1"_s.arg(e.oneLine()));
    result.server = admin.effectiveInfo().displayName();
    result.serverVersion = admin.serverVersion();
    // The database's own counts, for the cross-check at the end: commits, and deadlocks (the
    // seed's order takes its items' stock in random order, so orders can deadlock each other).
    const QString countsSql = u"SELECT xact_commit, deadlocks FROM pg_stat_database WHERE datname = current_database()"_s;
    const htap::pg::Result countsBefore = admin.exec(countsSql);
    const qint64 commitsBefore = countsBefore.toInt64(0, 0, -1);
    const qint64 deadlocksBefore = countsBefore.toInt64(0, 1, -1);
    // The views that refresh workloads keep fresh: their staleness is sampled every second.
    QStringList stalenessViews;
    for (const Workload& w : std::as_const(scenario->workloads)) {
        if (w.kind != Workload::Kind::Refresh)
            continue;
        for (const QString& v : w.views) {
            htap::mv::ViewInfo found;
            QString error;
            if (htap::mv::MvService(admin).find(v, &found, &error) && !stalenessViews.contains(found.label()))
                stalenessViews << found.label();
        }
    }

    // Standby and router workloads: the standby, the router's decisions, the heartbeat.
    RunTopology topology;
    if (RunTopology::needed(*scenario)) {
        if (const QString problem = topology.prepare(admin, info, standbyInfo, scenario); !problem.isEmpty())
            return failStart(problem);
        result.standby = topology.standbyName();
        result.standbyServer = topology.standbyServer();
        result.routes = topology.routes();
    }
    const std::vector<std::unique_ptr<Lane>> lanes = topology.lanes(scenario, info);
    const bool byTarget = RunTopology::needed(*scenario);

    // Every connection opens and prepares before the clock starts: a role that does not exist
    // or a statement that does not prepare stops the run before it writes anything.
    std::vector<std::vector<std::unique_ptr<Worker>>> workers(std::size_t(scenario->workloads.size()));
    std::vector<std::unique_ptr<Schedule>> schedules;
    struct Opening {
        int workload = 0;
        int lane = 0;
        Worker* worker = nullptr;
        std::unique_ptr<Slot> slot;
        PgError error;
        bool connectFailed = false;
    };
    std::vector<Opening> openings; // by lane (a workload, or a router workload's share on one target), then client
    for (int li = 0; li < int(lanes.size()); ++li) {
        const Lane& lane = *lanes[std::size_t(li)];
        const int wi = lane.workload;
        const Workload& w = lane.w;
        const quint64 laneSeed = quint64(wi) + 7 * quint64(lane.ordinal); // a workload whole: as before lanes
        schedules.push_back(w.open() ? std::make_unique<Schedule>(*lane.scenario, w, scenario->seed * 7919 + laneSeed) : nullptr);
        auto& list = workers[std::size_t(wi)];
        const std::size_t laneStart = list.size();
        for (int i = 0; i < w.connections; ++i) {
            auto slot = std::make_unique<Slot>();
            slot->index = i;
            slot->executor = std::make_unique<RequestExecutor>(w, scenario->seed * 1000003 + laneSeed * 1009 + quint64(i),
                [this] { return stopRequested.load(); });
            if (i == 0) {
                // Requests that are command sequences share a few threads; those that wait on
                // purpose (held snapshots, refreshes) get a thread per connection.
                const bool multiplexed = slot->executor->multiplexed();
                const int threads = multiplexed ? std::min(w.connections, scenario->effectiveThreads()) : w.connections;
                for (int t = 0; t < threads; ++t) {
                    auto worker = std::make_unique<Worker>();
                    worker->info = lane.info;
                    worker->lane = li;
                    worker->target = lane.target;
                    worker->applicationName = applicationNameFor(w);
                    worker->multiplexed = multiplexed;
                    worker->current.resize(std::size_t(scenario->phases.size()));
                    worker->phases.resize(std::size_t(scenario->phases.size()));
                    list.push_back(std::move(worker));
                }
            }
            // Round robin, so that the first n clients of a closed loop spread over the threads.
            openings.push_back({wi, li, list[laneStart + std::size_t(i) % (list.size() - laneStart)].get(), std::move(slot), {}, false});
        }
    }
    auto failure = [&](const Opening& o) {
        const Workload& w = scenario->workloads[o.workload];
        const QString on = lanes[std::size_t(o.lane)]->target == u"standby"_s ? u" to the standby"_s : QString();
        return o.connectFailed ? u"workload %1: cannot connect%2%3: %4"_s.arg(w.name, on,
                                     w.role.isEmpty() ? QString() : u" as role %1"_s.arg(w.role), o.error.oneLine())
                               : u"workload %1: %2"_s.arg(w.name, o.error.oneLine());
    };
    // Each workload's first connection, one after the other: a role or a statement that is
    // wrong shows at once, and it reads the catalogue that the workload's others then share.
    std::vector<const RequestExecutor*> firsts(lanes.size(), nullptr);
    const QString stoppedWhileOpening = u"stopped while the connections were opening"_s;
    for (Opening& o : openings) {
        if (o.slot->index != 0)
            continue;
        if ((o.error = openSlot(*o.worker, *o.slot, 10000, &o.connectFailed)))
            return failStart(stopRequested ? stoppedWhileOpening : failure(o));
        firsts[std::size_t(o.lane)] = o.slot->executor.get();
    }
    // The others a few at a time: each connect and its preparation wait on the server, for
    // several round trips when it is distant. The first failure ends the others' attempts (a
    // server that stops answering must not cost every connection its timeout).
    std::atomic<std::size_t> nextOpening {0};
    std::atomic<bool> failed {false};
    std::atomic<std::size_t> firstFailure {openings.size()}; // the one that failed on its own
    auto openRest = [&] {
        for (std::size_t k; !failed && (k = nextOpening++) < openings.size();) {
            Opening& o = openings[k];
            if (o.slot->index == 0)
                continue;
            o.slot->executor->shareCatalogue(*firsts[std::size_t(o.lane)]);
            if ((o.error = openSlot(*o.worker, *o.slot, 10000, &o.connectFailed, &failed)) && !failed.exchange(true))
                firstFailure = k;
        }
    };
    const auto rest = std::count_if(openings.cbegin(), openings.cend(), [](const Opening& o) { return o.slot->index != 0; });
    std::vector<std::thread> openers;
    try {
        for (std::ptrdiff_t t = 1; t < std::min<std::ptrdiff_t>(8, rest); ++t)
            openers.emplace_back(openRest);
    } catch (const std::system_error&) {
        // No thread to spare: this one opens what the others do not.
    }
    openRest();
    for (std::thread& t : openers)
        t.join();
    if (stopRequested)
        return failStart(stoppedWhileOpening);
    if (failed) // not those it cut short
        return failStart(failure(openings[firstFailure]));
    for (Opening& o : openings)
        o.worker->connections.push_back(std::move(o.slot));

    post([server = result.server](ScenarioRunner* r) { Q_EMIT r->started(server); });
    const Timeline timeline(*scenario);
    const auto t0 = Clock::now() + std::chrono::milliseconds(200);
    result.startedAt = QDateTime::currentDateTimeUtc().addMSecs(200);
    for (int wi = 0; wi < scenario->workloads.size(); ++wi)
        for (auto& worker : workers[std::size_t(wi)])
            worker->thread = std::thread([this, t0, lane = lanes[std::size_t(worker->lane)].get(), worker = worker.get(),
                                             s = schedules[std::size_t(worker->lane)].get()] {
                if (worker->multiplexed)
                    multiplexedLoop(*lane->scenario, lane->w, *worker, s, t0);
                else
                    blockingLoop(*lane->scenario, lane->w, *worker, s, t0);
                for (auto& slot : worker->connections)
                    slot->conn.close(); // its statistics reach pg_stat_database when it ends
                worker->finished = true;
            });

    // Once a second: merge what the workers recorded.
    auto serverGoneSince = Clock::time_point();
    for (int second = 1;; ++second) {
        const auto tick = t0 + std::chrono::seconds(second);
        // Asleep until the second is over or the stop signal says otherwise: no wake-ups in
        // between to look at stopRequested (without the signal, one every 100 ms).
        for (auto now = Clock::now(); !stopRequested && now < tick; now = Clock::now()) {
            if (stopFd < 0) {
                std::this_thread::sleep_until(std::min(tick, now + std::chrono::milliseconds(100)));
                continue;
            }
            const timespec timeout = toTimespec(tick - now);
            pollfd stop {stopFd, POLLIN, 0};
            ::ppoll(&stop, 1, &timeout, nullptr);
        }
        SecondStats stats;
        stats.second = second;
        stats.at = result.startedAt.addSecs(second);
        const double mid = std::min(second - 0.5, timeline.total);
        const int phase = timeline.phaseAt(mid);
        stats.phase = scenario->phases[phase].name;
        bool anyConnected = false;
        for (int wi = 0; wi < scenario->workloads.size(); ++wi) {
            const Workload& w = scenario->workloads[wi];
            Acc merged;
            QMap<QString, Acc> perTarget;
            int inFlight = 0;
            for (auto& worker : workers[std::size_t(wi)]) {
                const std::lock_guard lock(worker->m);
                if (byTarget) {
                    Acc mine;
                    worker->take(&mine);
                    merged.merge(mine);
                    perTarget[worker->target].merge(mine);
                } else {
                    worker->take(&merged);
                }
                inFlight += worker->inFlight;
                for (const auto& slot : worker->connections)
                    anyConnected |= slot->connected.load();
            }
            const Phase& p = scenario->phases[phase];
            const double target = w.open() && p.demand.contains(w.name)
                ? p.demand.value(w.name).at(std::clamp((mid - timeline.starts[phase]) / p.durationSeconds, 0.0, 1.0))
                : 0;
            WorkloadStats ws = merged.stats(1.0, target, inFlight);
            if (w.target != Workload::Target::Primary)
                for (auto it = perTarget.cbegin(); it != perTarget.cend(); ++it)
                    ws.targets.insert(it.key(), it->targetStats());
            stats.workloads.insert(w.name, ws);
        }
        stats.replica = topology.sample(admin);
        if (!stalenessViews.isEmpty() && admin.isOpen()) {
            QString error;
            const QList<htap::mv::ViewInfo> views = htap::mv::MvService(admin).list(&error);
            for (const QString& label : std::as_const(stalenessViews)) {
                double value = -1;
                for (const htap::mv::ViewInfo& v : views)
                    if (v.label() == label)
                        value = v.stalenessSeconds;
                stats.staleness.insert(label, value);
            }
        }
        result.seconds.append(stats);
        post([stats](ScenarioRunner* r) { Q_EMIT r->secondAvailable(stats); });

        if (!anyConnected) {
            if (serverGoneSince == Clock::time_point())
                serverGoneSince = Clock::now();
            else if (Clock::now() - serverGoneSince > std::chrono::seconds(5))
                requestStop(u"the server went away: no connection for 5 s"_s);
        } else {
            serverGoneSince = Clock::time_point();
        }
        if (stopRequested || second >= int(std::ceil(timeline.total)))
            break;
    }
    // The schedule is over: requests still running get some time to finish, then are
    // cancelled (a frozen server must not keep the run, or the window closing, waiting).
    auto allFinished = [&] {
        for (auto& list : workers)
            for (auto& worker : list)
                if (!worker->finished)
                    return false;
        return true;
    };
    const auto graceEnd = Clock::now() + std::chrono::seconds(30);
    while (!stopRequested && !allFinished() && Clock::now() < graceEnd)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!stopRequested && !allFinished())
        requestStop(u"requests still running 30 s after the end were cancelled"_s);
    if (stopRequested) {
        // Stop means now: cancel what is in flight (multiplexed workers cancel their own), then
        // wait for the workers.
        std::vector<std::shared_ptr<const htap::pg::Canceller>> cancellers;
        for (auto& list : workers)
            for (auto& worker : list) {
                const std::lock_guard lock(worker->m);
                if (worker->canceller && worker->inFlight > 0)
                    cancellers.push_back(worker->canceller);
            }
        cancelDetached(std::move(cancellers));
    }
    for (auto& list : workers)
        for (auto& worker : list) {
            if (worker->thread.joinable())
                worker->thread.join();
            worker->take(nullptr); // what came after the last second
        }
    result.finishedAt = QDateTime::currentDateTimeUtc();
    {
        const std::lock_guard lock(reasonMutex);
        result.partial = stopRequested;
        result.stopReason = stopReason;
    }

    // Per phase and for the run (warmup excluded), from the workers' phase records.
    const double elapsed = secondsSince(t0, Clock::now());
    QMap<QString, Acc> summary;
    QMap<QString, QMap<QString, Acc>> summaryByTarget; // standby and router workloads: by workload, then target
    QMap<QString, double> summaryTargetRequests; // target rate x seconds, over measured phases
    QMap<QString, double> summarySeconds;        // measured seconds in which the workload ran
    Acc oltpBaseline, oltpMixed;
    double mixedTarget = 0, mixedSeconds = 0, mixedDone = 0;
    for (int p = 0; p < scenario->phases.size(); ++p) {
        const Phase& phase = scenario->phases[p];
        PhaseResult pr;
        pr.name = phase.name;
        pr.warmup = phase.warmup;
        const double seconds = std::clamp(elapsed - timeline.starts[p], 0.0, phase.durationSeconds);
        bool hasOltp = false, hasOlap = false;
        Acc phaseOltp;
        double phaseOltpTarget = 0;
        for (int wi = 0; wi < scenario->workloads.size(); ++wi) {
            const Workload& w = scenario->workloads[wi];
            Acc merged;
            QMap<QString, Acc> perTarget;
            for (auto& worker : workers[std::size_t(wi)]) {
                merged.merge(worker->phases[std::size_t(p)]);
                if (w.target != Workload::Target::Primary)
                    perTarget[worker->target].merge(worker->phases[std::size_t(p)]);
            }
            const double target = w.open() && phase.demand.contains(w.name)
                ? (phase.demand.value(w.name).from + phase.demand.value(w.name).to) / 2
                : 0;
            WorkloadStats ws = merged.stats(seconds, target, 0);
            for (auto it = perTarget.cbegin(); it != perTarget.cend(); ++it)
                ws.targets.insert(it.key(), it->targetStats());
            pr.workloads.insert(w.name, ws);
            if (!phase.warmup) {
                summary[w.name].merge(merged);
                for (auto it = perTarget.cbegin(); it != perTarget.cend(); ++it)
                    summaryByTarget[w.name][it.key()].merge(*it);
                summaryTargetRequests[w.name] += target * seconds;
                if (phase.demand.contains(w.name))
                    summarySeconds[w.name] += seconds;
            }
            if (phase.demand.contains(w.name)) {
                if (w.kind == Workload::Kind::Order) {
                    hasOltp = true;
                    phaseOltp.merge(merged);
                    phaseOltpTarget += target;
                } else if (w.kind != Workload::Kind::Refresh) {
                    hasOlap = true;
                }
            }
        }
        if (!phase.warmup && hasOltp && !hasOlap)
            oltpBaseline.merge(phaseOltp);
        if (!phase.warmup && hasOltp && hasOlap) {
            oltpMixed.merge(phaseOltp);
            mixedTarget += phaseOltpTarget * seconds;
            mixedSeconds += seconds;
            mixedDone += double(phaseOltp.committed + phaseOltp.rolledBack);
        }
        for (const QString& label : std::as_const(stalenessViews)) {
            std::vector<double> values;
            for (const SecondStats& sec : std::as_const(result.seconds))
                if (sec.phase == phase.name && sec.staleness.value(label, -1) >= 0)
                    values.push_back(sec.staleness.value(label));
            StalenessStats st;
            st.samples = int(values.size());
            if (!values.empty()) {
                std::sort(values.begin(), values.end());
                auto at = [&](double q) { return values[std::min(values.size() - 1, std::size_t(std::ceil(q * double(values.size()))) - 1)]; };
                st.p50 = at(0.50);
                st.p99 = at(0.99);
                st.max = values.back();
            }
            pr.staleness.insert(label, st);
        }
        if (topology.watchesStandby())
            pr.replica = replicaStats(result.seconds, p == 0 ? QString() : scenario->phases[p - 1].name, phase.name);
        result.phases.append(pr);
    }
    qint64 clientCommitted = 0;
    for (const Workload& w : std::as_const(scenario->workloads)) {
        Acc all;
        for (auto& worker : workers[std::size_t(&w - scenario->workloads.data())])
            for (const Acc& a : worker->phases)
                all.merge(a);
        clientCommitted += all.committed;
        const double ran = summarySeconds.value(w.name);
        WorkloadStats ws = summary[w.name].stats(ran, ran > 0 ? summaryTargetRequests.value(w.name) / ran : 0, 0);
        const QMap<QString, Acc> perTarget = summaryByTarget.value(w.name);
        for (auto it = perTarget.cbegin(); it != perTarget.cend(); ++it)
            ws.targets.insert(it.key(), it->targetStats());
        result.summary.insert(w.name, ws);
    }
    result.clientCommitted = clientCommitted;
    // Only where orders went through in both: failures (a server gone) have no latency to compare.
    if (oltpBaseline.committed + oltpBaseline.rolledBack > 0 && oltpMixed.committed + oltpMixed.rolledBack > 0)
        result.interferenceP99 = double(oltpMixed.latency.percentileUs(99)) / double(std::max<qint64>(1, oltpBaseline.latency.percentileUs(99)));
    if (mixedTarget > 0)
        result.oltpAchievedOverTarget = mixedDone / mixedTarget;

    topology.finish(); // the heartbeat stops before the commits are counted

    // Cross-check against the server. Our sessions have ended, so their counts are flushed.
    if (!admin.isOpen())
        admin.open(info, {5000, u"htap-studio scenario"_s});
    if (admin.isOpen() && commitsBefore >= 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        admin.exec(u"SELECT pg_stat_force_next_flush()"_s);
        const htap::pg::Result after = admin.exec(countsSql);
        const qint64 commitsAfter = after.toInt64(0, 0, -1), deadlocksAfter = after.toInt64(0, 1, -1);
        if (commitsAfter >= commitsBefore)
            result.serverCommitDelta = commitsAfter - commitsBefore;
        if (deadlocksBefore >= 0 && deadlocksAfter >= deadlocksBefore)
            result.serverDeadlockDelta = deadlocksAfter - deadlocksBefore;
    }
    running = false;
    post([result](ScenarioRunner* r) { Q_EMIT r->finished(result); });
}

ScenarioRunner::ScenarioRunner(QObject* parent)
    : QObject(parent)
{
    qRegisterMetaType<SecondStats>();
    qRegisterMetaType<ScenarioResult>();
}

ScenarioRunner::~ScenarioRunner()
{
    if (m_run) {
        m_run->requestStop(u"the application closed"_s);
        if (m_run->thread.joinable())
            m_run->thread.join();
    }
}

void ScenarioRunner::start(const Scenario& scenario, const htap::pg::ConnInfo& info)
{
    if (isRunning())
        return;
    if (m_run && m_run->thread.joinable())
        m_run->thread.join();
    m_run = std::make_shared<RunCoordinator>();
    m_run->owner = this;
    m_run->scenario = std::make_shared<const Scenario>(scenario);
    m_run->info = info;
    m_run->standbyInfo = m_standby;
    m_run->running = true;
    m_run->thread = std::thread([run = m_run] { run->run(); });
}

void ScenarioRunner::stop(const QString& reason)
{
    if (m_run)
        m_run->requestStop(reason);
}

bool ScenarioRunner::isRunning() const
{
    return m_run && m_run->running;
}

} // namespace htap::workload
