#include "comparison.h"

#include <pg/connection.h>
#include <roles/roleservice.h>

#include <QJsonArray>
#include <QtConcurrent>

namespace htap::workload {

using namespace Qt::StringLiterals;
using namespace htap::roles;

namespace {

QJsonObject figures(const WorkloadStats& w)
{
    return {{u"committed"_s, w.committed}, {u"failed"_s, w.failed}, {u"tps"_s, w.tps()}, {u"p50_ms"_s, w.latency.p50},
        {u"p99_ms"_s, w.latency.p99}, {u"mean_ms"_s, w.latency.mean}, {u"max_ms"_s, w.latency.max}};
}

/// Opens a connection and a role service for one step of the comparison.
template <typename F>
auto withService(const htap::pg::ConnInfo& info, const QString& auditPath, F&& body)
{
    htap::pg::Connection conn;
    if (htap::pg::PgError e = conn.open(info, {10000, u"htap-studio isolation-compare"_s}))
        return std::pair {false, u"cannot connect: %1"_s.arg(e.oneLine())};
    const htap::store::AuditLog audit(auditPath);
    RoleService service(conn, audit);
    return body(service);
}

} // namespace

QList<ComparisonResult::Row> ComparisonResult::rows() const
{
    QList<Row> out;
    for (auto it = without.summary.cbegin(); it != without.summary.cend(); ++it)
        out << Row {it.key(), it.value(), with.summary.value(it.key())};
    return out;
}

QJsonObject ComparisonResult::toJson() const
{
    QJsonArray comparison;
    for (const Row& r : rows()) {
        QJsonObject change;
        if (r.without.latency.p99 > 0 && ranWith)
            change.insert(u"p99_pct"_s, (r.with.latency.p99 / r.without.latency.p99 - 1) * 100);
        if (r.without.tps() > 0 && ranWith)
            change.insert(u"tps_pct"_s, (r.with.tps() / r.without.tps() - 1) * 100);
        comparison << QJsonObject {{u"workload"_s, r.workload}, {u"without"_s, figures(r.without)},
            {u"with"_s, ranWith ? QJsonValue(figures(r.with)) : QJsonValue()}, {u"change"_s, change}};
    }
    QJsonArray ids;
    for (qint64 id : auditIds)
        ids << id;
    return {{u"format"_s, QString::fromLatin1(kComparisonFormat)}, {u"version"_s, kComparisonVersion},
        {u"profile_set"_s, profileSet}, {u"server"_s, server}, {u"partial"_s, partial}, {u"stop_reason"_s, stopReason},
        {u"restored"_s, restored}, {u"restore_message"_s, restoreMessage}, {u"audit_ids"_s, ids},
        {u"notes"_s, QJsonArray::fromStringList(notes)}, {u"comparison"_s, comparison},
        {u"sides"_s, QJsonObject {{u"without"_s, without.toJson()}, {u"with"_s, ranWith ? QJsonValue(with.toJson()) : QJsonValue()}}}};
}

ProfileComparison::ProfileComparison(QObject* parent)
    : QObject(parent)
    , m_runner(new ScenarioRunner(this))
{
    qRegisterMetaType<ComparisonResult>();
    connect(&m_watcher, &QFutureWatcher<StepOutcome>::finished, this, &ProfileComparison::onStepDone);
    connect(m_runner, &ScenarioRunner::secondAvailable, this, [this](const SecondStats& s) {
        Q_EMIT secondAvailable(m_step == Step::With ? u"with"_s : u"without"_s, s);
    });
    connect(m_runner, &ScenarioRunner::finished, this, &ProfileComparison::onRunFinished);
    connect(m_runner, &ScenarioRunner::failedToStart, this, [this](const QString& message) {
        m_result.partial = true;
        m_result.stopReason = message;
        restore();
    });
    connect(m_runner, &ScenarioRunner::started, this, [this] {
        if (m_step != Step::With)
            return;
        // CPU priority is per backend: lower it for the sessions this run just opened.
        QList<std::pair<QString, int>> nices;
        for (const RoleProfile& p : m_set.profiles)
            if (p.cpuNice > 0)
                nices << std::pair {p.role, p.cpuNice};
        if (nices.isEmpty())
            return;
        const htap::pg::ConnInfo info = m_info;
        const QString auditPath = m_auditPath;
        m_renice = QtConcurrent::run([this, nices, info, auditPath] {
            QStringList notes;
            withService(info, auditPath, [&](RoleService& service) {
                for (const auto& [role, nice] : nices) {
                    QString error;
                    int changed = 0;
                    const QString note = service.renice(role, nice, &changed, &error);
                    notes << (error.isEmpty() ? note : error);
                }
                return std::pair {true, QString()};
            });
            QMetaObject::invokeMethod(this, [this, notes] {
                m_result.notes << notes;
                for (const QString& n : notes)
                    Q_EMIT progress(n);
            });
        });
    });
}

ProfileComparison::~ProfileComparison()
{
    m_watcher.waitForFinished();
    m_renice.waitForFinished();
}

void ProfileComparison::start(const Scenario& scenario, const htap::pg::ConnInfo& info, const QString& auditPath)
{
    if (isRunning())
        return;
    m_scenario = scenario;
    m_info = info;
    m_auditPath = auditPath.isEmpty() ? htap::store::AuditLog::defaultPath() : auditPath;
    m_stopRequested = false;
    m_result = ComparisonResult();
    m_result.profileSet = scenario.compareProfiles;
    m_resetId = m_applyId = 0;
    // Read once: both sides and the CPU priority use the set as it was when the run began.
    ProfileSet& set = m_set;
    QStringList errors;
    if (!loadProfileSet(scenario.compareProfiles, &set, &errors)) {
        // Queued: a caller may connect and then wait in an event loop after start() returns.
        QMetaObject::invokeMethod(this, [this, errors] { Q_EMIT failedToStart(errors.join(u"; "_s)); }, Qt::QueuedConnection);
        return;
    }
    Q_EMIT progress(u"Resetting the settings of %1 (the side without isolation)"_s.arg(set.name));
    const QString path = m_auditPath;
    runStep(Step::Reset, [info, path, set] {
        StepOutcome o;
        std::tie(o.ok, o.message) = withService(info, path, [&](RoleService& service) {
            QString error;
            Plan plan = service.plan(set.resetting(), &error);
            if (!error.isEmpty())
                return std::pair {false, error};
            plan.kind = u"reset"_s;
            plan.title = u"isolation-compare: %1 reset"_s.arg(set.name);
            const ApplyOutcome a = service.apply(plan);
            o.auditId = a.auditId;
            return std::pair {a.ok, a.message};
        });
        return o;
    });
}

void ProfileComparison::stop(const QString& reason)
{
    if (!isRunning() || m_stopRequested)
        return;
    m_stopRequested = true;
    m_result.partial = true;
    m_result.stopReason = reason;
    if (m_step == Step::Without || m_step == Step::With)
        m_runner->stop(reason); // finishes the run, then restores
}

void ProfileComparison::runStep(Step step, std::function<StepOutcome()> work)
{
    m_step = step;
    m_watcher.setFuture(QtConcurrent::run(std::move(work)));
}

void ProfileComparison::onStepDone()
{
    const StepOutcome o = m_watcher.result();
    switch (m_step) {
    case Step::Reset:
        if (!o.ok) {
            m_step = Step::Idle;
            Q_EMIT failedToStart(u"could not reset the roles for the side without isolation: %1"_s.arg(o.message));
            return;
        }
        m_resetId = o.auditId;
        if (o.auditId)
            m_result.auditIds << o.auditId;
        if (m_stopRequested)
            return restore();
        startSide(u"without"_s);
        return;
    case Step::Apply:
        if (o.ok && o.auditId) { // a failed apply rolled back: there is nothing of it to undo
            m_applyId = o.auditId;
            m_result.auditIds << o.auditId;
        }
        if (!o.ok) {
            m_result.partial = true;
            m_result.stopReason = u"could not apply the profile set: %1"_s.arg(o.message);
            return restore();
        }
        if (m_stopRequested)
            return restore();
        startSide(u"with"_s);
        return;
    case Step::Restore:
        m_step = Step::Idle;
        m_result.restored = o.ok;
        m_result.restoreMessage = o.message;
        Q_EMIT progress(o.message);
        Q_EMIT finished(m_result);
        return;
    default:
        return;
    }
}

void ProfileComparison::startSide(const QString& side)
{
    m_step = side == u"with"_s ? Step::With : Step::Without;
    Q_EMIT sideStarted(side);
    m_runner->start(m_scenario, m_info);
}

void ProfileComparison::onRunFinished(const ScenarioResult& r)
{
    m_result.server = r.server;
    if (m_step == Step::Without) {
        m_result.without = r;
        if (r.partial) {
            m_result.partial = true;
            if (m_result.stopReason.isEmpty())
                m_result.stopReason = r.stopReason;
        }
        if (m_stopRequested || r.partial)
            return restore();
        const ProfileSet set = m_set;
        Q_EMIT progress(u"Applying %1 (the side with isolation)"_s.arg(set.name));
        const htap::pg::ConnInfo info = m_info;
        const QString path = m_auditPath;
        runStep(Step::Apply, [info, path, set] {
            StepOutcome o;
            std::tie(o.ok, o.message) = withService(info, path, [&](RoleService& service) {
                QString error;
                Plan plan = service.plan(set, &error);
                if (!error.isEmpty())
                    return std::pair {false, error};
                plan.title = u"isolation-compare: %1"_s.arg(set.name);
                const ApplyOutcome a = service.apply(plan);
                o.auditId = a.auditId;
                return std::pair {a.ok, a.message};
            });
            return o;
        });
        return;
    }
    if (m_step == Step::With) {
        m_result.with = r;
        m_result.ranWith = true;
        if (r.partial) {
            m_result.partial = true;
            if (m_result.stopReason.isEmpty())
                m_result.stopReason = r.stopReason;
        }
        restore();
    }
}

void ProfileComparison::restore()
{
    Q_EMIT progress(u"Putting the roles back as they were"_s);
    const htap::pg::ConnInfo info = m_info;
    const QString path = m_auditPath;
    const QList<qint64> ids {m_applyId, m_resetId}; // newest first
    runStep(Step::Restore, [info, path, ids] {
        StepOutcome o;
        std::tie(o.ok, o.message) = withService(info, path, [&](RoleService& service) {
            QStringList done;
            for (qint64 id : ids) {
                if (!id)
                    continue;
                QString error;
                const Plan plan = service.planUndo(id, &error);
                if (!error.isEmpty())
                    return std::pair {false, u"could not undo #%1: %2 (undo it with htapctl roles undo %1)"_s.arg(QString::number(id), error)};
                const ApplyOutcome a = service.apply(plan);
                if (!a.ok)
                    return std::pair {false, u"could not undo #%1: %2 (undo it with htapctl roles undo %1)"_s.arg(QString::number(id), a.message)};
                done << u"#%1"_s.arg(id);
            }
            return std::pair {true, done.isEmpty() ? u"The roles needed no change and were left as they were."_s
                                                   : u"The roles are back as they were (undid %1 in the role audit log)."_s.arg(done.join(u", "_s))};
        });
        return o;
    });
}

} // namespace htap::workload
