#include "schedulerunner.h"

#include "mvcommon.h"

#include <QElapsedTimer>
#include <QStringList>
#include <QThread>

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

using namespace Qt::StringLiterals;

namespace htap::mv {

void MergeCadence::merged(double seconds)
{
    m_recent.push_back(std::max(0.0, seconds));
    if (m_recent.size() > 8)
        m_recent.pop_front();
}

void MergeCadence::sawPending(double oldestAgeSeconds, double sinceMergeStart)
{
    m_late.push_back(std::max(0.0, oldestAgeSeconds - sinceMergeStart));
    if (m_late.size() > 32)
        m_late.pop_front();
}

double MergeCadence::lateSeconds() const
{
    return m_late.empty() ? 0.0 : *std::max_element(m_late.begin(), m_late.end());
}

double MergeCadence::expectedSeconds() const
{
    if (m_recent.empty())
        return 0.1 * m_target; // before the first merge: a guess, corrected by the first one
    return 1.25 * *std::max_element(m_recent.begin(), m_recent.end());
}

double MergeCadence::startAge() const
{
    return std::max(0.0, m_target - expectedSeconds() - lateSeconds() - kPollSlackSeconds);
}

double MergeCadence::dueIn(double oldestAgeSeconds) const
{
    const double start = startAge();
    if (oldestAgeSeconds < 0)
        return std::max(start - lateSeconds(), kPollSlackSeconds);
    return std::max(0.0, start - oldestAgeSeconds);
}

ScheduleRunner::ScheduleRunner(pg::Connection& connection, const pg::ConnInfo& info) : m_conn(connection), m_info(info) {}

namespace {

/// One schedule's loop, on its own thread and session, until *stop.
void runSchedule(const Schedule& s, const pg::ConnInfo& info, const std::atomic<bool>& stop,
    const std::function<void(const ScheduleRunner::Run&)>& report, const std::function<void(const QString&)>& warn)
{
    QElapsedTimer clock;
    clock.start();
    const auto now = [&clock] { return clock.nsecsElapsed() / 1e9; };
    const auto sleepUntil = [&](double t) {
        while (!stop && now() < t)
            QThread::usleep(static_cast<unsigned long>(std::min(t - now(), 0.1) * 1e6) + 1);
    };
    const bool merges = s.mode == RefreshMode::Incremental;
    pg::Connection conn;
    while (!stop) {
        if (pg::PgError e = conn.open(info, {10000, merges && s.nice > 0 ? u"htapctl merges (nice %1)"_s.arg(s.nice) : u"htapctl schedules"_s})) {
            warn(u"%1: no session (%2); trying again in 10 s"_s.arg(s.view, e.oneLine()));
            sleepUntil(now() + 10);
            continue;
        }
        break;
    }
    if (stop)
        return;
    int nice = 0;
    if (merges && s.nice > 0) {
        if (const QString e = MvService(conn).lowerOwnPriority(s.nice); !e.isEmpty())
            warn(u"%1: merges at normal priority, not nice %2: %3"_s.arg(s.view).arg(s.nice).arg(e));
        else
            nice = s.nice;
    }
    MvService service(conn);
    const QString name = pg::quoteQualified(s.view.section(u'.', 0, 0), s.view.section(u'.', 1));
    const auto runOnce = [&] {
        ScheduleRunner::Run r {s.view, s.mode, service.refresh(name, s.mode), nice};
        report(r);
        return r.outcome;
    };
    if (!s.adaptive()) {
        while (!stop) {
            const double started = now();
            runOnce();
            sleepUntil(started + s.everySeconds);
        }
        return;
    }
    MergeCadence cadence(s.everySeconds);
    double lastStart = -1;
    while (!stop) {
        const pg::Result p = conn.exec(
            u"SELECT extract(epoch FROM clock_timestamp() - p.oldest)::float8 FROM htap.ivm_views v, LATERAL htap.ivm_pending(v.view_id) p "
            u"WHERE v.view_schema = $1 AND v.view_name = $2"_s,
            {s.view.section(u'.', 0, 0), s.view.section(u'.', 1)});
        const double age = p.ok() && p.rowCount() == 1 && !p.isNull(0, 0) ? p.toDouble(0, 0) : -1.0;
        if (age >= 0 && lastStart >= 0)
            cadence.sawPending(age, now() - lastStart);
        const double in = cadence.dueIn(age);
        if (age < 0 || in > 0) {
            sleepUntil(now() + std::max(in, 0.01));
            continue;
        }
        const double started = lastStart = now();
        const RefreshOutcome o = runOnce();
        cadence.merged(o.seconds);
        // What is left pending came after this merge's snapshot; a failed merge (a rebuild
        // needed, the view gone) is tried again no sooner than the target.
        sleepUntil(started + (o.ok ? cadence.startAge() : s.everySeconds));
    }
}

bool sameSchedules(const QList<Schedule>& a, const QList<Schedule>& b)
{
    if (a.size() != b.size())
        return false;
    for (qsizetype i = 0; i < a.size(); ++i)
        if (a[i].view != b[i].view || a[i].mode != b[i].mode || a[i].everySeconds != b[i].everySeconds || a[i].runner != b[i].runner
            || a[i].cadence != b[i].cadence || a[i].nice != b[i].nice)
            return false;
    return true;
}

} // namespace

QString ScheduleRunner::run(const std::atomic<bool>* stop, double limitSeconds, const std::function<void(const Run&)>& onRun,
    const std::function<void(const QString&)>& onWarning)
{
    QElapsedTimer clock;
    clock.start();
    std::mutex callbacks;
    const auto report = [&](const Run& r) {
        const std::lock_guard lock(callbacks);
        if (onRun)
            onRun(r);
    };
    const auto warn = [&](const QString& w) {
        const std::lock_guard lock(callbacks);
        if (onWarning)
            onWarning(w);
    };
    QList<Schedule> running;
    std::atomic<bool> stopWorkers {false};
    std::vector<std::thread> workers;
    const auto stopAll = [&] {
        stopWorkers = true;
        for (std::thread& t : workers)
            t.join();
        workers.clear();
        stopWorkers = false;
    };
    QString error;
    qint64 reloaded = -1;
    while (!(stop && stop->load()) && (limitSeconds <= 0 || clock.elapsed() < qint64(limitSeconds * 1000))) {
        if (reloaded < 0 || clock.elapsed() - reloaded >= 10000) {
            MvService service(m_conn);
            QList<Schedule> schedules = service.schedules(&error);
            if (!error.isEmpty())
                break;
            reloaded = clock.elapsed();
            schedules.removeIf([](const Schedule& s) { return s.runner != u"app"_s; });
            if (!sameSchedules(schedules, running)) {
                stopAll();
                running = schedules;
                for (const Schedule& s : std::as_const(running))
                    workers.emplace_back(runSchedule, s, m_info, std::cref(stopWorkers), report, warn);
            }
        }
        QThread::msleep(100);
    }
    stopAll();
    return error;
}

} // namespace htap::mv
