#include "topologyrun.h"

#include <monitor/heartbeat.h>
#include <pg/sqlfile.h>
#include <route/router.h>
#include <route/topologyreader.h>

#include <algorithm>
#include <cmath>

namespace htap::workload {

using namespace Qt::StringLiterals;
using htap::pg::Connection;

namespace {

QString sql(const QString& name)
{
    return htap::pg::namedStatements(u"workload/topology.sql"_s).value(name);
}

/// The statements of a workload by the name the result gives them: its reports, or "sql".
QList<QPair<QString, QString>> statementsOf(const Workload& w)
{
    QList<QPair<QString, QString>> out;
    if (w.kind == Workload::Kind::Sql) {
        out.append({u"sql"_s, w.sqlText});
        return out;
    }
    const auto reports = htap::pg::namedStatements(u"workload/reports.sql"_s);
    for (const QString& r : w.reports)
        if (std::none_of(out.cbegin(), out.cend(), [&](const auto& p) { return p.first == r; }))
            out.append({r, reports.value(r)});
    return out;
}

QString routeTarget(htap::route::Decision::Target t)
{
    switch (t) {
    case htap::route::Decision::Target::Standby:
        return u"standby"_s;
    case htap::route::Decision::Target::View:
        return u"view"_s;
    case htap::route::Decision::Target::Primary:
        break;
    }
    return u"primary"_s;
}

} // namespace

ReplicaStats replicaStats(const QList<SecondStats>& seconds, const QString& previousPhase, const QString& phase)
{
    ReplicaStats st;
    std::vector<double> lags, ages;
    qint64 before = 0, last = -1;
    for (const SecondStats& s : seconds) {
        if (!previousPhase.isEmpty() && s.phase == previousPhase && s.replica.conflicts >= 0)
            before = s.replica.conflicts;
        if (s.phase != phase || !s.replica.sampled)
            continue;
        ++st.samples;
        if (s.replica.replayLagSeconds >= 0)
            lags.push_back(s.replica.replayLagSeconds);
        if (s.replica.dataAgeSeconds >= 0)
            ages.push_back(s.replica.dataAgeSeconds);
        if (s.replica.conflicts >= 0)
            last = s.replica.conflicts;
    }
    auto quantiles = [](std::vector<double>& v, double* p50, double* p99, double* max) {
        if (v.empty())
            return;
        std::sort(v.begin(), v.end());
        auto at = [&](double q) { return v[std::min(v.size() - 1, std::size_t(std::ceil(q * double(v.size()))) - 1)]; };
        *p50 = at(0.50);
        *p99 = at(0.99);
        *max = v.back();
    };
    quantiles(lags, &st.lagP50, &st.lagP99, &st.lagMax);
    quantiles(ages, &st.dataAgeP50, &st.dataAgeP99, &st.dataAgeMax);
    st.conflicts = last >= before ? last - before : 0;
    return st;
}

RunTopology::RunTopology() = default;

RunTopology::~RunTopology()
{
    finish();
}

bool RunTopology::needed(const Scenario& s)
{
    return std::any_of(s.workloads.cbegin(), s.workloads.cend(), [](const Workload& w) { return w.target != Workload::Target::Primary; });
}

bool RunTopology::openStandby(int timeoutMs)
{
    m_lastAttempt = std::chrono::steady_clock::now();
    const htap::pg::PgError e = m_standby.open(m_standbyInfo, {timeoutMs, u"htap-studio scenario"_s});
    m_openError = e.oneLine();
    return !e.isError();
}

QString RunTopology::prepare(Connection& admin, const htap::pg::ConnInfo& primary, const htap::pg::ConnInfo& standby,
    const std::shared_ptr<const Scenario>& scenario)
{
    const bool needsStandby = std::any_of(scenario->workloads.cbegin(), scenario->workloads.cend(),
        [](const Workload& w) { return w.target == Workload::Target::Standby; });
    QStringList functions;
    for (const Workload& w : scenario->workloads)
        if (w.target == Workload::Target::Router)
            for (const auto& [name, text] : statementsOf(w))
                functions << htap::route::calledFunctions(text);
    htap::route::Topology topology;
    htap::route::TopologyReader reader;
    QString error;
    if (!reader.fetch(admin, functions, &topology, &error))
        return u"cannot read the topology of %1: %2"_s.arg(admin.effectiveInfo().displayName(), error);
    if (topology.connectedIsStandby)
        return u"%1 is a standby: run the scenario against its primary (the orders write there); standby and router "
                "workloads then read from the standby"_s.arg(admin.effectiveInfo().displayName());

    const QString howToAdd = u"add one with `htapctl sandbox add-standby` (Sandbox > Add standby), or give one with "
                              "`htapctl scenario run --standby CONNINFO` (the Standby field of the Scenarios page)"_s;
    QList<htap::route::Standby> chosen;
    if (!standby.isEmpty()) {
        m_standbyInfo = standby;
        if (!openStandby(10000))
            return u"cannot connect to the standby %1: %2"_s.arg(standby.displayName(), m_openError);
        const htap::pg::Result state = m_standby.exec(sql(u"standby_state"_s));
        if (!state.ok())
            return u"standby %1: %2"_s.arg(standby.displayName(), state.error().oneLine());
        if (!state.toBool(0, 0))
            return u"%1 is not a standby (pg_is_in_recovery() is false): give the conninfo of a standby of %2"_s.arg(
                standby.displayName(), admin.effectiveInfo().displayName());
        // The name the primary knows it by: its cluster_name (a sandbox standby's), or the only standby there is.
        const QString name = state.text(0, 1);
        for (const htap::route::Standby& s : std::as_const(topology.standbys))
            if (s.name == name)
                chosen = {s};
        if (chosen.isEmpty() && topology.standbys.size() == 1)
            chosen = {topology.standbys.first()};
        m_standbyName = chosen.isEmpty() ? (name.isEmpty() ? standby.displayName() : name) : chosen.first().name;
    } else {
        const htap::route::Standby* best = nullptr;
        for (const htap::route::Standby& s : std::as_const(topology.standbys)) {
            if (s.state != u"streaming"_s || s.conninfo.isEmpty())
                continue;
            const double lag = s.effectiveLag();
            if (!best || (lag >= 0 && (best->effectiveLag() < 0 || lag < best->effectiveLag())))
                best = &s;
        }
        if (best) {
            QString parseError;
            m_standbyInfo = htap::pg::ConnInfo::parse(best->conninfo, &parseError);
            if (parseError.isEmpty() && openStandby(10000)) {
                chosen = {*best};
                m_standbyName = best->name;
            } else if (needsStandby) {
                return u"cannot connect to standby %1 (%2): %3"_s.arg(best->name, m_standbyInfo.displayName(),
                    parseError.isEmpty() ? m_openError : parseError);
            }
        }
    }
    if (needsStandby && m_standbyName.isEmpty()) {
        QStringList seen;
        for (const htap::route::Standby& s : std::as_const(topology.standbys))
            seen << u"%1 (%2%3)"_s.arg(s.name, s.state, s.conninfo.isEmpty() ? u", not a sandbox standby of this machine"_s : QString());
        return u"a workload targets the standby, but %1 has %2: %3"_s.arg(admin.effectiveInfo().displayName(),
            seen.isEmpty() ? u"no standby"_s : u"no streaming standby this machine can reach (%1)"_s.arg(seen.join(u", "_s)), howToAdd);
    }
    if (!m_standbyName.isEmpty())
        m_standbyServer = m_standby.effectiveInfo().displayName();

    // The router decides once per statement, against the standby the run reads from.
    topology.standbys = chosen;
    for (const Workload& w : scenario->workloads) {
        if (w.target == Workload::Target::Primary)
            continue;
        for (const auto& [name, text] : statementsOf(w)) {
            StatementRoute r;
            r.workload = w.name;
            r.statement = name;
            if (w.target == Workload::Target::Standby) {
                r.target = u"standby"_s;
                r.server = m_standbyName;
                r.reason = u"the workload's target is the standby"_s;
            } else {
                htap::route::Budget budget;
                if (w.freshnessSeconds >= 0)
                    budget = {w.freshnessSeconds, u"workload"_s};
                const htap::route::Decision d = htap::route::route(text, budget, topology);
                r.target = routeTarget(d.target);
                r.server = d.server;
                r.view = d.view;
                r.reason = d.reason;
                r.rewrittenSql = d.rewrittenSql;
                r.budgetSeconds = d.budget.seconds;
            }
            m_routes << r;
        }
    }

    if (!m_standbyName.isEmpty()) {
        // Readers' data age is read from the heartbeat the standby replays: written for the run.
        m_heartbeat = std::make_unique<htap::monitor::HeartbeatWriter>(primary);
        const htap::pg::Result c = m_standby.exec(sql(u"conflicts"_s));
        m_conflictsAtStart = c.ok() ? c.toInt64(0, 0, -1) : -1;
    }
    return {};
}

std::vector<std::unique_ptr<Lane>> RunTopology::lanes(const std::shared_ptr<const Scenario>& scenario,
    const htap::pg::ConnInfo& primary) const
{
    std::vector<std::unique_ptr<Lane>> out;
    for (int wi = 0; wi < scenario->workloads.size(); ++wi) {
        const Workload& w = scenario->workloads[wi];
        const htap::pg::ConnInfo standby = m_standbyInfo;
        auto as = [&w](const htap::pg::ConnInfo& info) { return w.role.isEmpty() ? info : info.with(u"user"_s, w.role); };
        if (w.target != Workload::Target::Router) {
            auto lane = std::make_unique<Lane>();
            lane->workload = wi;
            lane->target = w.target == Workload::Target::Standby ? u"standby"_s : u"primary"_s;
            lane->w = w;
            lane->info = as(w.target == Workload::Target::Standby ? standby : primary);
            lane->scenario = scenario;
            out.push_back(std::move(lane));
            continue;
        }
        // Router: one lane per target, with the statements sent there, in the workload's order.
        QList<QPair<QString, QStringList>> groups; // target -> statements (with repeats, as the workload takes them in turn)
        const QStringList taken = w.kind == Workload::Kind::Sql ? QStringList {u"sql"_s} : w.reports;
        for (const QString& name : taken) {
            QString target = u"primary"_s;
            for (const StatementRoute& r : m_routes)
                if (r.workload == w.name && r.statement == name)
                    target = r.target;
            auto g = std::find_if(groups.begin(), groups.end(), [&](const auto& p) { return p.first == target; });
            if (g == groups.end())
                groups.append({target, {name}});
            else
                g->second << name;
        }
        for (int gi = 0; gi < groups.size(); ++gi) {
            const auto& [target, names] = groups[gi];
            const double share = double(names.size()) / double(taken.size());
            auto lane = std::make_unique<Lane>();
            lane->workload = wi;
            lane->ordinal = gi;
            lane->target = target;
            lane->w = w;
            lane->w.connections = std::max(1, int(std::lround(w.connections * share)));
            if (w.kind == Workload::Kind::Report)
                lane->w.reports = names;
            for (const StatementRoute& r : m_routes) {
                if (r.workload != w.name || r.target != u"view"_s || !names.contains(r.statement))
                    continue;
                if (w.kind == Workload::Kind::Sql)
                    lane->w.sqlText = r.rewrittenSql;
                else
                    lane->w.rewrittenReports.insert(r.statement, r.rewrittenSql);
            }
            lane->info = as(target == u"standby"_s ? standby : primary);
            if (share >= 1) {
                lane->scenario = scenario;
            } else {
                // The lane's share of the workload's demand: its rate, or its clients (at least one).
                Scenario s = *scenario;
                for (Workload& x : s.workloads)
                    if (x.name == w.name)
                        x = lane->w;
                for (Phase& p : s.phases) {
                    auto it = p.demand.find(w.name);
                    if (it == p.demand.end())
                        continue;
                    if (w.open()) {
                        it->from *= share;
                        it->to *= share;
                    } else {
                        it->from = it->to = std::clamp(std::round(it->from * share), 1.0, double(lane->w.connections));
                    }
                }
                lane->scenario = std::make_shared<const Scenario>(std::move(s));
            }
            out.push_back(std::move(lane));
        }
    }
    return out;
}

ReplicaSample RunTopology::sample(Connection& admin)
{
    ReplicaSample s;
    if (!watchesStandby())
        return s;
    s.sampled = true;
    if (admin.isOpen()) {
        const htap::pg::Result r = admin.exec(sql(u"standby_lag"_s), {m_standbyName});
        if (r.ok() && r.rowCount() == 1) {
            htap::route::Standby st;
            st.replayLagSeconds = r.isNull(0, 0) ? -1 : std::max(0.0, r.toDouble(0, 0));
            st.replayGapBytes = r.isNull(0, 1) ? -1 : std::max<qint64>(0, r.toInt64(0, 1));
            s.replayLagSeconds = st.effectiveLag();
            s.replayGapBytes = st.replayGapBytes;
        }
    }
    // A standby that went away is tried again once a second, briefly: the run goes on without it.
    if (!m_standby.isOpen() && std::chrono::steady_clock::now() - m_lastAttempt >= std::chrono::seconds(1))
        openStandby(1000);
    if (!m_standby.isOpen())
        return s;
    const htap::pg::Result age = m_standby.exec(sql(u"data_age"_s));
    if (age.ok() && age.rowCount() == 1 && !age.isNull(0, 0))
        s.dataAgeSeconds = std::max(0.0, age.toDouble(0, 0));
    const htap::pg::Result c = m_standby.exec(sql(u"conflicts"_s));
    if (c.ok()) {
        s.reachable = true;
        const qint64 now = c.toInt64(0, 0, -1);
        if (m_conflictsAtStart < 0)
            m_conflictsAtStart = now;
        s.conflicts = now >= m_conflictsAtStart ? now - m_conflictsAtStart : -1; // -1: its statistics were reset
    } else if (!m_standby.isOpen() || c.error().kind == htap::pg::PgError::Kind::Connection) {
        m_standby.close();
    }
    return s;
}

void RunTopology::finish()
{
    m_heartbeat.reset();
    m_standby.close();
}

} // namespace htap::workload
