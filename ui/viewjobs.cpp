#include "viewjobs.h"

#include <pg/connection.h>
#include <pg/identifier.h>

#include <QElapsedTimer>

#include <optional>
#include <QFutureWatcher>
#include <QThreadPool>
#include <QTimer>
#include <QtConcurrent>

using namespace Qt::StringLiterals;
using htap::mv::MvService;
using htap::mv::RefreshMode;

namespace htap::ui {

namespace {

struct Outcome {
    bool ok = false;
    QString message;
    QString note; ///< why a lowered priority could not be set
    double seconds = 0;
};

/// The label "schema.name" back to a name the server resolves exactly (both parts quoted).
QString sqlName(const QString& label)
{
    const qsizetype dot = label.indexOf(u'.');
    return dot < 0 ? htap::pg::quoteIdentifier(label) : htap::pg::quoteQualified(label.left(dot), label.mid(dot + 1));
}

} // namespace

QString ViewJobs::Job::describe() const
{
    switch (kind) {
    case Kind::Refresh:
        switch (mode) {
        case RefreshMode::Plain:
            return tr("refresh");
        case RefreshMode::Concurrent:
            return tr("refresh concurrently");
        case RefreshMode::Incremental:
            return tr("merge");
        case RefreshMode::Rebuild:
            return tr("full rebuild");
        }
        break;
    case Kind::EnableIncremental:
        return tr("enable incremental maintenance");
    case Kind::DisableIncremental:
        return tr("disable incremental maintenance");
    case Kind::SetSchedule:
        return tr("set schedule");
    case Kind::ClearSchedule:
        return tr("remove schedule");
    case Kind::SetCaptureMode:
        return captureMode == u"c"_s ? tr("switch capture to C row triggers") : tr("switch capture to SQL statement triggers");
    }
    return {};
}

ViewJobs::ViewJobs(QObject* parent)
    : QObject(parent), m_timer(new QTimer(this)), m_pool(new QThreadPool(this)), m_idle(std::make_shared<Idle>())
{
    m_pool->setMaxThreadCount(6);
    qRegisterMetaType<QList<htap::mv::RefreshLogEntry>>();
    qRegisterMetaType<QList<htap::mv::Schedule>>();
    m_timer->setInterval(100); // adaptive merges start within a tenth of a second of coming due
    connect(m_timer, &QTimer::timeout, this, &ViewJobs::tick);
}

ViewJobs::~ViewJobs()
{
    // Pool threads may still run: they hold only values and shared pointers, and their
    // watchers die with us, so nothing reaches a deleted object.
    for (const QString& view : m_running.keys())
        cancel(view);
    // A cancelled refresh ends at once; one stuck on a host that does not answer must not hold
    // the GUI thread (removing a server, closing the window): its pool is left to finish on its
    // own (the tasks hold no pointer to us).
    if (!m_pool->waitForDone(200))
        m_pool->setParent(nullptr);
}

void ViewJobs::setConnInfo(const htap::pg::ConnInfo& info)
{
    if (info.toConnString() == m_info.toConnString())
        return;
    ++m_generation;
    m_info = info;
    m_idle = std::make_shared<Idle>(); // the old server's sessions close with their last job
    m_schedules.clear();
    m_lastScheduledRun.clear();
    m_queued.clear();
    if (m_info.isEmpty()) {
        m_timer->stop();
    } else {
        m_timer->start();
        fetchSchedules();
    }
}

QString ViewJobs::runningWhat(const QString& view) const
{
    const auto it = m_running.constFind(view);
    return it == m_running.cend() ? QString() : it->job.describe();
}

QString ViewJobs::runningText(const QString& view) const
{
    const auto it = m_running.constFind(view);
    if (it == m_running.cend())
        return {};
    return tr("%1 running for %2 s").arg(it->job.describe()).arg(it->since.secsTo(QDateTime::currentDateTimeUtc()));
}

bool ViewJobs::isBusy(const QString& view) const
{
    const auto it = m_running.constFind(view);
    return it != m_running.cend() && (!it->job.scheduled || m_queued.contains(view));
}

bool ViewJobs::start(const Job& job)
{
    if (m_info.isEmpty())
        return false;
    if (m_running.contains(job.view)) {
        // Behind a scheduled merge the operator's action waits its turn; behind their own, no.
        if (job.scheduled || !m_running.value(job.view).job.scheduled || m_queued.contains(job.view))
            return false;
        m_queued.insert(job.view, job);
        return true;
    }
    Running r {job, QDateTime::currentDateTimeUtc(), std::make_shared<std::mutex>(),
        std::make_shared<std::shared_ptr<const htap::pg::Canceller>>(), std::make_shared<std::atomic<bool>>(false),
        std::make_shared<std::atomic<int>>(0)};
    m_running.insert(job.view, r);
    Q_EMIT jobStarted(job.view, job.describe());

    auto* watcher = new QFutureWatcher<Outcome>(this);
    const quint64 generation = m_generation;
    connect(watcher, &QFutureWatcher<Outcome>::finished, this, [this, watcher, job, generation] {
        const Outcome o = watcher->result();
        watcher->deleteLater();
        m_running.remove(job.view);
        if (generation != m_generation)
            return; // another server by now
        if (job.scheduled && m_cadence.contains(job.view))
            m_cadence[job.view].merged(o.seconds);
        Q_EMIT jobFinished(job.view, job.describe(), o.ok, o.message, o.seconds);
        if (m_queued.contains(job.view))
            start(m_queued.take(job.view));
        if (job.kind == Kind::SetSchedule || job.kind == Kind::ClearSchedule || job.kind == Kind::DisableIncremental)
            fetchSchedules();
    });
    watcher->setFuture(QtConcurrent::run(m_pool, [info = m_info, job, mutex = r.mutex, canceller = r.canceller, cancelled = r.cancelled,
                                             pid = r.pid, idle = m_idle]() -> Outcome {
        Outcome out;
        QElapsedTimer timer;
        timer.start();
        std::unique_ptr<htap::pg::Connection> held;
        const int nice = job.kind == Kind::Refresh ? job.merge.nice : 0;
        {
            std::lock_guard lock(idle->mutex);
            auto& pool = idle->connections[nice];
            if (!pool.empty()) {
                held = std::move(pool.back());
                pool.pop_back();
            }
        }
        if (!held || !held->isOpen()) {
            held = std::make_unique<htap::pg::Connection>();
            if (htap::pg::PgError e = held->open(info, {10000, u"htap-studio views"_s}, [cancelled] { return cancelled->load(); })) {
                out.message = cancelled->load() ? tr("cancelled before it started") : e.oneLine();
                return out;
            }
            // Merges at lower priority: without the extension they run at normal priority, and
            // the outcome's message says so.
            if (nice > 0)
                out.note = MvService(*held).lowerOwnPriority(nice);
        }
        htap::pg::Connection& conn = *held;
        {
            std::lock_guard lock(*mutex);
            *canceller = conn.canceller();
        }
        pid->store(conn.backendPid()); // so that the page can tell who it waits for
        if (cancelled->load()) {
            out.message = tr("cancelled before it started");
            return out;
        }
        MvService service(conn);
        // A cancel that comes between two statements (its request finds nothing to cancel) still
        // stops an enable, a disable or a rebuild: it rolls back instead of going on.
        service.setInterruptFlag(cancelled.get());
        const QString name = sqlName(job.view);
        switch (job.kind) {
        case Kind::Refresh: {
            const htap::mv::RefreshOutcome r = service.refresh(name, job.mode);
            out.ok = r.ok;
            out.message = r.ok ? (r.rows >= 0 ? tr("%1 rows").arg(r.rows) : QString())
                               : (r.cancelled ? tr("cancelled: %1").arg(r.message) : r.message);
            if (!out.note.isEmpty())
                out.message += tr(" (at normal priority: %1)").arg(out.note);
            break;
        }
        case Kind::EnableIncremental: {
            QString notes;
            const QString e = service.enableIncremental(name, &notes);
            out.ok = e.isEmpty();
            out.message = out.ok ? notes.split(u'\n').join(u"; "_s) : e; // one status line
            break;
        }
        case Kind::DisableIncremental:
            out.message = service.disableIncremental(name);
            out.ok = out.message.isEmpty();
            break;
        case Kind::SetSchedule:
            out.message = service.setSchedule(name, job.mode, job.everySeconds, job.runner, job.merge);
            out.ok = out.message.isEmpty();
            break;
        case Kind::ClearSchedule:
            out.message = service.clearSchedule(name);
            out.ok = out.message.isEmpty();
            break;
        case Kind::SetCaptureMode:
            out.message = service.setCaptureMode(name, job.captureMode);
            out.ok = out.message.isEmpty();
            break;
        }
        {
            std::lock_guard lock(*mutex);
            canceller->reset();
        }
        out.seconds = timer.nsecsElapsed() / 1e9;
        // A session that ended its work cleanly serves the next job; a failed one is closed.
        if (out.ok && conn.isOpen()) {
            std::lock_guard lock(idle->mutex);
            if (idle->connections[nice].size() < 4)
                idle->connections[nice].push_back(std::move(held));
        }
        return out;
    }));
    return true;
}

int ViewJobs::backendPid(const QString& view) const
{
    const auto it = m_running.constFind(view);
    return it == m_running.cend() ? 0 : it->pid->load();
}

void ViewJobs::cancel(const QString& view)
{
    const auto it = m_running.constFind(view);
    if (it == m_running.cend())
        return;
    it->cancelled->store(true);
    // PQcancel opens a connection of its own and may wait on the network: not on this thread.
    (void)QtConcurrent::run(m_pool, [mutex = it->mutex, canceller = it->canceller] {
        std::shared_ptr<const htap::pg::Canceller> c;
        {
            std::lock_guard lock(*mutex);
            c = *canceller;
        }
        if (c)
            c->cancel();
    });
}

void ViewJobs::fetchLog(int limit)
{
    if (m_info.isEmpty())
        return;
    // One read at a time; asks made meanwhile are served by one more read afterwards.
    if (m_logInFlight) {
        m_logAgain = true;
        return;
    }
    m_logInFlight = true;
    auto* watcher = new QFutureWatcher<QList<htap::mv::RefreshLogEntry>>(this);
    const quint64 generation = m_generation;
    connect(watcher, &QFutureWatcher<QList<htap::mv::RefreshLogEntry>>::finished, this, [this, watcher, generation, limit] {
        const auto entries = watcher->result();
        watcher->deleteLater();
        m_logInFlight = false;
        if (generation == m_generation)
            Q_EMIT logAvailable(entries);
        if (m_logAgain) {
            m_logAgain = false;
            fetchLog(limit);
        }
    });
    watcher->setFuture(QtConcurrent::run(m_pool, [info = m_info, limit]() {
        htap::pg::Connection conn;
        if (conn.open(info, {10000, u"htap-studio views"_s}))
            return QList<htap::mv::RefreshLogEntry>();
        QString error;
        return MvService(conn).log(QString(), limit, &error);
    }));
}

void ViewJobs::fetchSchedules()
{
    if (m_info.isEmpty())
        return;
    m_schedulesFetched = QDateTime::currentDateTimeUtc();
    struct Answer {
        std::optional<QList<htap::mv::Schedule>> schedules;
        QList<htap::mv::Recovery> recovered;
        double recoverySeconds = 0;
    };
    auto* watcher = new QFutureWatcher<Answer>(this);
    const quint64 generation = m_generation;
    connect(watcher, &QFutureWatcher<Answer>::finished, this, [this, watcher, generation] {
        const Answer answer = watcher->result();
        watcher->deleteLater();
        if (generation != m_generation)
            return;
        for (const htap::mv::Recovery& r : answer.recovered)
            Q_EMIT jobFinished(r.view, tr("clean-up after an interrupted step"), r.ok, r.message, answer.recoverySeconds);
        // A failed read keeps the schedules known so far (they go on running).
        if (!answer.schedules)
            return;
        m_schedules = *answer.schedules;
        Q_EMIT schedulesAvailable(*answer.schedules);
    });
    watcher->setFuture(QtConcurrent::run(m_pool, [info = m_info]() -> Answer {
        htap::pg::Connection conn;
        if (conn.open(info, {10000, u"htap-studio views"_s}))
            return {};
        MvService service(conn);
        // On connecting and every 30 s after: an enable killed half way (htapctl, another
        // window) leaves capture triggers whose changes nobody merges until this rolls it back.
        Answer answer;
        QElapsedTimer timer;
        timer.start();
        answer.recovered = service.recoverInterrupted();
        answer.recoverySeconds = timer.nsecsElapsed() / 1e9;
        QString error;
        QList<htap::mv::Schedule> list = service.schedules(&error);
        if (error.isEmpty())
            answer.schedules = list;
        return answer;
    }));
}

void ViewJobs::tick()
{
    // Schedules the app runs: each view at most once per interval, never two runs at once.
    const QDateTime now = QDateTime::currentDateTimeUtc();
    // Schedules set elsewhere (htapctl, another window) are picked up within 30 s.
    if (!m_schedulesFetched.isValid() || m_schedulesFetched.secsTo(now) >= 30)
        fetchSchedules();
    for (const htap::mv::Schedule& s : std::as_const(m_schedules)) {
        if (s.runner != u"app"_s || isRunning(s.view))
            continue;
        const QDateTime last = m_lastScheduledRun.value(s.view);
        if (s.adaptive()) {
            // Merges run in parallel here (a session each), so others' merges do not delay it.
            if (!m_cadence.contains(s.view) || m_cadence[s.view].targetSeconds() != s.everySeconds)
                m_cadence.insert(s.view, htap::mv::MergeCadence(s.everySeconds));
            if (last.isValid() && last.msecsTo(now) < qint64(1000 * m_cadence[s.view].startAge()))
                continue;
        } else if (last.isValid() && last.msecsTo(now) < qint64(s.everySeconds) * 1000 - 200) {
            continue;
        }
        Job job;
        job.kind = Kind::Refresh;
        job.view = s.view;
        job.mode = s.mode;
        job.merge.nice = s.mode == htap::mv::RefreshMode::Incremental ? s.nice : 0;
        job.scheduled = true;
        if (start(job))
            m_lastScheduledRun.insert(s.view, now);
    }
}

} // namespace htap::ui
