// The clients' request loops of a scenario run: one connection per thread (blocking), or many
// per thread on epoll (multiplexed).
#include "runner_p.h"

namespace htap::workload {

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

} // namespace htap::workload
