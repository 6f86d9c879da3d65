#include "runner_p.h"

namespace htap::workload {

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
