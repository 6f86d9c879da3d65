#include "runner.h"

#include <QJsonArray>

namespace htap::workload {

using namespace Qt::StringLiterals;

namespace {

QJsonObject percentiles(const Percentiles& p)
{
    return {{u"p50"_s, p.p50}, {u"p90"_s, p.p90}, {u"p99"_s, p.p99}, {u"p999"_s, p.p999}, {u"max"_s, p.max},
        {u"mean"_s, p.mean}};
}

/// -1 (unknown) as null.
QJsonValue known(double v)
{
    return v >= 0 ? QJsonValue(v) : QJsonValue();
}

QJsonObject stats(const WorkloadStats& s)
{
    QJsonObject bySqlstate;
    for (auto it = s.failedBySqlstate.cbegin(); it != s.failedBySqlstate.cend(); ++it)
        bySqlstate.insert(it.key(), it.value());
    QJsonObject retriesBySqlstate; // what made requests try again: only the ones that did
    if (s.deadlockRetries > 0)
        retriesBySqlstate.insert(u"40P01"_s, s.deadlockRetries);
    if (s.retries > s.deadlockRetries)
        retriesBySqlstate.insert(u"40001"_s, s.retries - s.deadlockRetries);
    QJsonObject o {{u"committed"_s, s.committed}, {u"rolledBack"_s, s.rolledBack}, {u"failed"_s, s.failed},
        {u"failedBySqlstate"_s, bySqlstate}, {u"retries"_s, s.retries}, {u"retriesBySqlstate"_s, retriesBySqlstate},
        {u"late"_s, s.late}, {u"skipped"_s, s.skipped},
        {u"maxLagMs"_s, s.maxLagMs}, {u"inFlight"_s, s.inFlight}, {u"seconds"_s, s.seconds}, {u"tps"_s, s.tps()},
        {u"targetRate"_s, s.targetRate}, {u"latency_ms"_s, percentiles(s.latency)},
        {u"service_ms"_s, percentiles(s.service)}};
    // Standby and router workloads only: older readers see the same document otherwise.
    if (s.conflicts > 0 || !s.targets.isEmpty())
        o.insert(u"conflicts"_s, s.conflicts);
    if (!s.targets.isEmpty()) {
        QJsonObject targets;
        for (auto it = s.targets.cbegin(); it != s.targets.cend(); ++it)
            targets.insert(it.key(), QJsonObject {{u"committed"_s, it->committed}, {u"failed"_s, it->failed},
                                         {u"conflicts"_s, it->conflicts}, {u"latency_ms"_s, percentiles(it->latency)}});
        o.insert(u"targets"_s, targets);
    }
    return o;
}

QJsonObject replicaSecond(const ReplicaSample& r)
{
    return {{u"reachable"_s, r.reachable}, {u"replayLag_s"_s, known(r.replayLagSeconds)},
        {u"replayGap_bytes"_s, r.replayGapBytes >= 0 ? QJsonValue(r.replayGapBytes) : QJsonValue()},
        {u"dataAge_s"_s, known(r.dataAgeSeconds)}, {u"conflicts"_s, r.conflicts >= 0 ? QJsonValue(r.conflicts) : QJsonValue()}};
}

QJsonObject replicaPhase(const ReplicaStats& r)
{
    return {{u"samples"_s, r.samples},
        {u"replayLag_s"_s, QJsonObject {{u"p50"_s, known(r.lagP50)}, {u"p99"_s, known(r.lagP99)}, {u"max"_s, known(r.lagMax)}}},
        {u"dataAge_s"_s, QJsonObject {{u"p50"_s, known(r.dataAgeP50)}, {u"p99"_s, known(r.dataAgeP99)}, {u"max"_s, known(r.dataAgeMax)}}},
        {u"conflicts"_s, r.conflicts}};
}

QJsonObject byWorkload(const QMap<QString, WorkloadStats>& m)
{
    QJsonObject o;
    for (auto it = m.cbegin(); it != m.cend(); ++it)
        o.insert(it.key(), stats(it.value()));
    return o;
}

} // namespace

QJsonObject ScenarioResult::toJson() const
{
    QJsonObject workloads;
    for (auto it = summary.cbegin(); it != summary.cend(); ++it) {
        const Workload* w = scenario.workload(it.key());
        QJsonObject entry {{u"summary"_s, stats(it.value())}};
        if (w && w->sloP99Ms > 0)
            entry.insert(u"slo"_s, QJsonObject {{u"p99Ms"_s, w->sloP99Ms}, {u"met"_s, it->latency.p99 <= w->sloP99Ms}});
        workloads.insert(it.key(), entry);
    }
    QJsonArray phaseArray;
    for (const PhaseResult& p : phases) {
        QJsonObject o {{u"name"_s, p.name}, {u"warmup"_s, p.warmup}, {u"workloads"_s, byWorkload(p.workloads)}};
        if (!p.staleness.isEmpty()) {
            QJsonObject st;
            for (auto it = p.staleness.cbegin(); it != p.staleness.cend(); ++it)
                st.insert(it.key(), QJsonObject {{u"samples"_s, it->samples}, {u"p50_s"_s, it->p50}, {u"p99_s"_s, it->p99},
                                        {u"max_s"_s, it->max}});
            o.insert(u"staleness"_s, st);
        }
        if (!standby.isEmpty())
            o.insert(u"replica"_s, replicaPhase(p.replica));
        phaseArray.append(o);
    }
    QJsonArray secondArray;
    for (const SecondStats& s : seconds) {
        QJsonObject o {{u"second"_s, s.second}, {u"at"_s, s.at.toString(Qt::ISODateWithMs)}, {u"phase"_s, s.phase},
            {u"workloads"_s, byWorkload(s.workloads)}};
        if (!s.staleness.isEmpty()) {
            QJsonObject st;
            for (auto it = s.staleness.cbegin(); it != s.staleness.cend(); ++it)
                st.insert(it.key(), it.value() >= 0 ? QJsonValue(it.value()) : QJsonValue());
            o.insert(u"staleness_s"_s, st);
        }
        if (s.replica.sampled)
            o.insert(u"replica"_s, replicaSecond(s.replica));
        secondArray.append(o);
    }
    QJsonObject o {{u"format"_s, u"htap-scenario-result"_s}, {u"version"_s, 1}, {u"scenario"_s, scenario.toJson()},
        {u"server"_s, QJsonObject {{u"endpoint"_s, server}, {u"version"_s, serverVersion}}},
        {u"startedAt"_s, startedAt.toString(Qt::ISODateWithMs)}, {u"finishedAt"_s, finishedAt.toString(Qt::ISODateWithMs)},
        {u"partial"_s, partial}, {u"stopReason"_s, stopReason}, {u"workloads"_s, workloads}, {u"phases"_s, phaseArray},
        {u"seconds"_s, secondArray},
        {u"crossCheck"_s, QJsonObject {{u"clientCommitted"_s, clientCommitted},
                              {u"serverCommitDelta"_s, serverCommitDelta >= 0 ? QJsonValue(serverCommitDelta) : QJsonValue()},
                              {u"serverDeadlockDelta"_s, serverDeadlockDelta >= 0 ? QJsonValue(serverDeadlockDelta) : QJsonValue()},
                              {u"note"_s, u"the server's count covers every session of the database during the run"_s}}},
        {u"interference"_s, QJsonObject {
            {u"oltpP99MixedOverBaseline"_s, interferenceP99 >= 0 ? QJsonValue(interferenceP99) : QJsonValue()},
            {u"oltpAchievedOverTarget"_s, oltpAchievedOverTarget >= 0 ? QJsonValue(oltpAchievedOverTarget) : QJsonValue()}}}};
    if (!standby.isEmpty())
        o.insert(u"standby"_s, QJsonObject {{u"name"_s, standby}, {u"endpoint"_s, standbyServer}});
    if (!routes.isEmpty()) {
        QJsonArray rs;
        for (const StatementRoute& r : routes) {
            QJsonObject ro {{u"workload"_s, r.workload}, {u"statement"_s, r.statement}, {u"target"_s, r.target},
                {u"server"_s, r.server}, {u"reason"_s, r.reason}};
            if (!r.view.isEmpty()) {
                ro.insert(u"view"_s, r.view);
                ro.insert(u"rewrittenSql"_s, r.rewrittenSql);
            }
            if (r.budgetSeconds >= 0)
                ro.insert(u"budget_s"_s, r.budgetSeconds);
            rs.append(ro);
        }
        o.insert(u"routes"_s, rs);
    }
    return o;
}

QByteArray ScenarioResult::toCsv() const
{
    QByteArray out = "second,at,phase,workload,committed,rolled_back,failed,tps,target_rate,p50_ms,p90_ms,p99_ms,"
                     "p999_ms,max_ms,service_p99_ms,late,skipped,max_lag_ms,in_flight\n";
    for (const SecondStats& s : seconds) {
        for (auto it = s.workloads.cbegin(); it != s.workloads.cend(); ++it) {
            const WorkloadStats& w = it.value();
            const QStringList cells {QString::number(s.second), s.at.toString(Qt::ISODateWithMs), s.phase, it.key(),
                QString::number(w.committed), QString::number(w.rolledBack), QString::number(w.failed),
                QString::number(w.tps(), 'f', 2), QString::number(w.targetRate, 'f', 2),
                QString::number(w.latency.p50, 'f', 3), QString::number(w.latency.p90, 'f', 3),
                QString::number(w.latency.p99, 'f', 3), QString::number(w.latency.p999, 'f', 3),
                QString::number(w.latency.max, 'f', 3), QString::number(w.service.p99, 'f', 3), QString::number(w.late),
                QString::number(w.skipped), QString::number(w.maxLagMs, 'f', 2), QString::number(w.inFlight)};
            QStringList quoted;
            for (const QString& c : cells) // phase and workload names are the user's: quote them
                quoted << (c.contains(u',') || c.contains(u'"') || c.contains(u'\n')
                        ? u'"' + QString(c).replace(u"\""_s, u"\"\""_s) + u'"'
                        : c);
            out += quoted.join(u',').toUtf8() + '\n';
        }
    }
    return out;
}

} // namespace htap::workload
