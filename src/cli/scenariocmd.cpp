// htapctl scenario: list, validate and run mixed-load scenarios; the seed's comparison tables.
#include "common.h"
#include "interrupt.h"

#include <core/inputfile.h>
#include <core/number.h>
#include <core/privatefile.h>

#include <pg/sandbox.h>
#include <report/reportwriter.h>
#include <workload/comparison.h>
#include <workload/runner.h>

#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cmath>

namespace htap::cli {

using namespace Qt::StringLiterals;
using htap::pg::ConnInfo;
using htap::pg::PgError;

namespace {

const QCommandLineOption allowSqlFrom(u"allow-sql-from"_s,
    u"A folder a sql workload's sqlFile may be read from, besides the scenario file's own (repeatable)"_s, u"folder"_s);

const QCommandLineOption standbyOption(u"standby"_s,
    u"The standby that standby and router workloads read from (default: the primary's streaming sandbox standby with the least lag)"_s,
    u"conninfo"_s);

/// Loads a preset by name or a scenario file, printing what is wrong with it.
bool loadScenario(const QString& nameOrFile, const QStringList& sqlDirs, htap::workload::Scenario* scenario, int* code)
{
    using namespace htap::workload;
    QByteArray json = presetJson(nameOrFile);
    QString baseDir;
    if (json.isEmpty()) {
        QString error;
        if (!QFileInfo::exists(nameOrFile)) {
            *code = fail(u"no preset named \"%1\" and no such file (presets: %2)"_s.arg(
                             htap::core::excerpt(nameOrFile), presetNames().join(u", "_s)),
                ExitUsage);
            return false;
        }
        if (!htap::core::readInputFile(nameOrFile, htap::core::kMaxScenarioBytes, u"scenario file"_s, &json, &error)) {
            *code = fail(error, ExitUsage);
            return false;
        }
        baseDir = QFileInfo(nameOrFile).absolutePath();
    }
    QStringList errors, warnings;
    const bool ok = Scenario::fromJson(json, scenario, &errors, &warnings, baseDir, sqlDirs);
    for (const QString& w : std::as_const(warnings))
        err() << "htapctl: warning: " << w << Qt::endl;
    if (!ok) {
        for (const QString& e : std::as_const(errors))
            err() << "htapctl: error: " << e << Qt::endl;
        *code = ExitUsage;
        return false;
    }
    return true;
}

/// The seed's 8.1 table, when workloads read from a standby or through the router: per phase,
/// the orders' throughput and p99 beside each report workload's p99, where its requests ran,
/// and the standby's replay lag, its readers' data age and the conflicts recovery caused.
void printTopologyTable(const htap::workload::ScenarioResult& result)
{
    using namespace htap::workload;
    if (result.standby.isEmpty() && result.routes.isEmpty())
        return;
    const Scenario& sc = result.scenario;
    auto seconds = [](double s) { return s >= 0 ? QString::number(s, 'f', 2) : u"–"_s; };
    out() << Qt::endl << "across the topology (standby " << (result.standby.isEmpty() ? u"none"_s : result.standby) << ")" << Qt::endl
          << "phase           orders tps  orders p99 ms  reports p99 ms  reports ran on             failed  conflicts  lag p99 s  data age p99 s"
          << Qt::endl;
    for (const PhaseResult& p : std::as_const(result.phases)) {
        if (p.warmup)
            continue;
        double oltpTps = 0, oltpP99 = 0, reportP99 = 0;
        qint64 failed = 0, conflicts = 0;
        QStringList ranOn;
        for (auto it = p.workloads.cbegin(); it != p.workloads.cend(); ++it) {
            const Workload* w = sc.workload(it.key());
            const WorkloadStats& st = it.value();
            if (!w || st.committed + st.rolledBack + st.failed == 0)
                continue;
            if (w->kind == Workload::Kind::Order) {
                oltpTps += st.tps();
                oltpP99 = std::max(oltpP99, st.latency.p99);
            } else if (w->kind != Workload::Kind::Refresh) {
                reportP99 = std::max(reportP99, st.latency.p99);
                failed += st.failed;
                conflicts += st.conflicts;
                if (st.targets.isEmpty())
                    ranOn << u"primary %1"_s.arg(st.committed + st.rolledBack + st.failed);
                for (auto t = st.targets.cbegin(); t != st.targets.cend(); ++t)
                    ranOn << u"%1 %2"_s.arg(t.key()).arg(t->committed + t->failed);
            }
        }
        out() << qSetFieldWidth(16) << Qt::left << p.name << qSetFieldWidth(10) << Qt::right << QString::number(oltpTps, 'f', 1)
              << qSetFieldWidth(15) << QString::number(oltpP99, 'f', 2) << qSetFieldWidth(16) << QString::number(reportP99, 'f', 1)
              << qSetFieldWidth(0) << "  " << qSetFieldWidth(25) << Qt::left << ranOn.join(u", "_s) << qSetFieldWidth(7) << Qt::right
              << failed << qSetFieldWidth(11) << QString::number(conflicts) + u"/"_s + QString::number(p.replica.conflicts)
              << qSetFieldWidth(11) << seconds(p.replica.lagP99) << qSetFieldWidth(16) << seconds(p.replica.dataAgeP99)
              << qSetFieldWidth(0) << Qt::endl;
    }
    out() << "(conflicts: reports cancelled by recovery, as our clients saw them / as the standby counted them)" << Qt::endl;
    for (const StatementRoute& r : std::as_const(result.routes))
        if (sc.workload(r.workload) && sc.workload(r.workload)->target == Workload::Target::Router)
            out() << "  " << r.workload << "." << r.statement << " -> " << r.target
                  << (r.view.isEmpty() ? QString() : u" "_s + r.view) << ": " << r.reason << Qt::endl;
}

/// The seed's 5.3.3 table: per refresh strategy (a phase with a refresh workload), the order
/// workload's throughput and p99 against the phase without refreshes, the refresh duration and
/// each view's staleness.
void printRefreshComparison(const htap::workload::ScenarioResult& result)
{
    using namespace htap::workload;
    const Scenario& sc = result.scenario;
    auto kindOf = [&](const QString& name) {
        const Workload* w = sc.workload(name);
        return w ? w->kind : Workload::Kind::Sql;
    };
    const PhaseResult* baseline = nullptr;
    bool anyRefresh = false;
    for (int i = 0; i < result.phases.size() && i < sc.phases.size(); ++i) {
        bool refresh = false;
        for (auto it = sc.phases[i].demand.cbegin(); it != sc.phases[i].demand.cend(); ++it)
            refresh |= kindOf(it.key()) == Workload::Kind::Refresh;
        anyRefresh |= refresh;
        if (!baseline && !refresh && !result.phases[i].warmup)
            baseline = &result.phases[i];
    }
    if (!anyRefresh)
        return;
    auto orders = [&](const PhaseResult& p) {
        WorkloadStats all;
        double p99 = 0;
        for (auto it = p.workloads.cbegin(); it != p.workloads.cend(); ++it)
            if (kindOf(it.key()) == Workload::Kind::Order) {
                all.committed += it->committed + it->rolledBack;
                all.seconds = it->seconds;
                p99 = std::max(p99, it->latency.p99);
            }
        return std::pair {all.tps(), p99};
    };
    const auto [baseTps, baseP99] = baseline ? orders(*baseline) : std::pair {0.0, 0.0};
    out() << Qt::endl << "refresh strategies (seed 5.3.3), against phase \"" << (baseline ? baseline->name : u"-"_s) << "\":" << Qt::endl
          << "phase              OLTP tps  change  OLTP p99 ms   +ms  readers p99 ms  refreshes  refresh p50 s  max s  view: staleness p50 / p99 s"
          << Qt::endl;
    for (int i = 0; i < result.phases.size() && i < sc.phases.size(); ++i) {
        const PhaseResult& p = result.phases[i];
        if (p.warmup)
            continue;
        const auto [tps, p99] = orders(p);
        WorkloadStats refresh;
        double readersP99 = -1; // the reports of the phase: a plain refresh blocks those reading the view
        for (auto it = p.workloads.cbegin(); it != p.workloads.cend(); ++it) {
            if (kindOf(it.key()) == Workload::Kind::Refresh && it->committed + it->failed > 0)
                refresh = it.value();
            if ((kindOf(it.key()) == Workload::Kind::Report || kindOf(it.key()) == Workload::Kind::Sql) && it->committed + it->failed > 0)
                readersP99 = std::max(readersP99, it->latency.p99);
        }
        out() << qSetFieldWidth(18) << Qt::left << p.name << qSetFieldWidth(9) << Qt::right << QString::number(tps, 'f', 1)
              << qSetFieldWidth(7) << (baseTps > 0 ? QString::number((tps / baseTps - 1) * 100, 'f', 1) + u'%' : u"-"_s)
              << qSetFieldWidth(12) << QString::number(p99, 'f', 2) << qSetFieldWidth(7)
              << (baseline ? QString::number(p99 - baseP99, 'f', 1) : u"-"_s) << qSetFieldWidth(16)
              << (readersP99 >= 0 ? QString::number(readersP99, 'f', 1) : u"-"_s) << qSetFieldWidth(11)
              << refresh.committed + refresh.failed << qSetFieldWidth(14)
              << (refresh.committed ? QString::number(refresh.service.p50 / 1000, 'f', 3) : u"-"_s) << qSetFieldWidth(8)
              << (refresh.committed ? QString::number(refresh.service.max / 1000, 'f', 2) : u"-"_s) << qSetFieldWidth(0);
        for (auto it = p.staleness.cbegin(); it != p.staleness.cend(); ++it)
            out() << "  " << it.key().section(u'.', 1) << ": "
                  << (it->samples ? QString::number(it->p50, 'f', 1) + u" / "_s + QString::number(it->p99, 'f', 1) : u"-"_s);
        out() << Qt::endl;
    }
}

QString pct(double now, double before)
{
    return before > 0 ? QString::number((now / before - 1) * 100, 'f', 0) + u'%' : u"-"_s;
}

bool writeAtomically(const QList<std::pair<QString, QByteArray>>& files, int* code)
{
    for (const auto& [file, bytes] : files) {
        QString error;
        if (!htap::report::writeAtomically(file, bytes, &error)) { // never a half-written result
            *code = fail(error);
            return false;
        }
    }
    return true;
}

/// scenario run with compare_profiles: both sides, then the seed's 5.2.4 table.
int runComparison(const htap::workload::Scenario& scenario, const ConnInfo& info, const QString& outPath, bool json)
{
    using namespace htap::workload;
    ProfileComparison comparison;
    QEventLoop loop;
    ComparisonResult result;
    bool done = false;
    int code = ExitOk;
    stopOnInterrupt(&loop, [&] { comparison.stop(u"interrupted"_s); }, true);
    QObject::connect(&comparison, &ProfileComparison::failedToStart, &loop, [&](const QString& message) {
        code = fail(message);
        loop.quit();
    });
    QObject::connect(&comparison, &ProfileComparison::progress, &loop, [](const QString& m) { err() << m << Qt::endl; });
    QObject::connect(&comparison, &ProfileComparison::sideStarted, &loop, [&](const QString& side) {
        err() << "running " << scenario.name << " " << side << " the profiles of " << scenario.compareProfiles << " for "
              << QString::number(scenario.totalSeconds(), 'f', 0) << " s" << Qt::endl;
    });
    QObject::connect(&comparison, &ProfileComparison::secondAvailable, &loop, [&](const QString& side, const SecondStats& s) {
        if (json)
            return;
        out() << qSetFieldWidth(8) << Qt::left << side << qSetFieldWidth(5) << Qt::right << s.second << qSetFieldWidth(0) << "s";
        for (auto it = s.workloads.cbegin(); it != s.workloads.cend(); ++it) {
            const WorkloadStats& w = it.value();
            out() << " | " << it.key() << " " << QString::number(w.tps(), 'f', 1) << "/s";
            if (w.committed + w.rolledBack + w.failed > 0)
                out() << " p99 " << QString::number(w.latency.p99, 'f', 1) << " ms";
            if (w.failed)
                out() << " failed " << w.failed;
        }
        out() << Qt::endl;
    });
    QObject::connect(&comparison, &ProfileComparison::finished, &loop, [&](const ComparisonResult& r) {
        result = r;
        done = true;
        loop.quit();
    });
    comparison.start(scenario, info);
    loop.exec();
    if (!done)
        return code;
    if (json) {
        out() << QJsonDocument(result.toJson()).toJson(QJsonDocument::Indented);
    } else {
        out() << Qt::endl << "isolation-compare (seed 5.2.4): without vs with the role profiles of " << result.profileSet
              << " (warmup excluded)" << Qt::endl
              << "workload        side       committed  failed      tps   p50 ms   p99 ms  mean ms   change p99   change tps" << Qt::endl;
        for (const ComparisonResult::Row& r : result.rows()) {
            for (const auto& [side, w] : {std::pair {u"without"_s, r.without}, {u"with"_s, r.with}}) {
                if (side == u"with"_s && !result.ranWith)
                    continue;
                out() << qSetFieldWidth(16) << Qt::left << r.workload << qSetFieldWidth(8) << side << qSetFieldWidth(12)
                      << Qt::right << w.committed << qSetFieldWidth(8) << w.failed << qSetFieldWidth(9)
                      << QString::number(w.tps(), 'f', 1) << QString::number(w.latency.p50, 'f', 1)
                      << QString::number(w.latency.p99, 'f', 1) << QString::number(w.latency.mean, 'f', 1) << qSetFieldWidth(13)
                      << (side == u"with"_s ? pct(w.latency.p99, r.without.latency.p99) : QString()) << qSetFieldWidth(13)
                      << (side == u"with"_s ? pct(w.tps(), r.without.tps()) : QString()) << qSetFieldWidth(0) << Qt::endl;
            }
        }
        for (const QString& n : result.notes)
            out() << n << Qt::endl;
        out() << (result.restored ? "" : "WARNING: ") << result.restoreMessage << Qt::endl;
        if (result.partial)
            out() << "PARTIAL: " << result.stopReason << Qt::endl;
    }
    if (!outPath.isEmpty()) {
        const QString base = outPath.endsWith(u".json"_s) ? outPath.chopped(5) : outPath;
        QList<std::pair<QString, QByteArray>> files {{outPath, QJsonDocument(result.toJson()).toJson()},
            {base + u"-without.csv"_s, result.without.toCsv()}};
        if (result.ranWith)
            files.append({base + u"-with.csv"_s, result.with.toCsv()});
        if (!writeAtomically(files, &code))
            return code;
        err() << "wrote " << outPath << " and the per-second CSV of each side beside it" << Qt::endl;
    }
    return result.partial || !result.restored ? ExitFailure : ExitOk;
}

} // namespace

int cmdScenario(const QStringList& args)
{
    using namespace htap::workload;
    const QString action = args.value(1);
    if (action == u"list"_s) {
        const QStringList names = presetNames();
        qsizetype width = 0; // the longest name and two spaces: columns line up, whatever the names
        for (const QString& name : names)
            width = std::max(width, name.size() + 2);
        for (const QString& name : names) {
            Scenario s;
            QStringList errors, warnings;
            Scenario::fromJson(presetJson(name), &s, &errors, &warnings);
            out() << name.leftJustified(width) << QString::number(s.totalSeconds(), 'f', 0).rightJustified(4)
                  << " s  " << s.description << Qt::endl;
        }
        return ExitOk;
    }
    if (action != u"run"_s && action != u"validate"_s)
        return fail(u"scenario needs an action: list, validate FILE or run PRESET|FILE"_s, ExitUsage);
    if (action == u"validate"_s) {
        QCommandLineParser parser;
        parser.addOption(allowSqlFrom);
        int code = ExitOk;
        if (!parseOptions(parser, args.mid(1), u"Check a scenario file (or a preset) and say what is wrong with it."_s, &code))
            return code;
        if (parser.positionalArguments().size() != 2)
            return fail(u"scenario validate needs one file or preset name"_s, ExitUsage);
        Scenario s;
        if (!loadScenario(parser.positionalArguments().value(1), parser.values(allowSqlFrom), &s, &code))
            return code;
        out() << s.name << ": valid, " << s.workloads.size() << " workloads, " << s.phases.size() << " phases, "
              << QString::number(s.totalSeconds(), 'f', 0) << " s" << Qt::endl;
        return ExitOk;
    }

    QCommandLineParser parser;
    const QCommandLineOption outFile(u"out"_s, u"Write the result JSON here (and the per-second CSV beside it)"_s, u"result.json"_s);
    const QCommandLineOption rateScale(u"rate-scale"_s, u"Multiply every open-loop rate (default 1)"_s, u"f"_s);
    const QCommandLineOption durationScale(u"duration-scale"_s, u"Multiply every phase's duration (default 1)"_s, u"f"_s);
    const QCommandLineOption threads(u"threads"_s,
        u"Client threads per workload, sharing its connections (like pgbench -j); 0: one per CPU core (default: the scenario's)"_s, u"n"_s);
    const QCommandLineOption confirm(u"confirm-database"_s,
        u"Required to run against a server that is not the local sandbox: the name of its database"_s, u"name"_s);
    parser.addOptions({connOption, outFile, rateScale, durationScale, threads, confirm, allowSqlFrom, standbyOption, jsonOption});
    int code = ExitOk;
    if (!parseOptions(parser, args.mid(1), u"Run a scenario and report per second and per phase."_s, &code))
        return code;
    if (parser.positionalArguments().size() != 2)
        return fail(parser.positionalArguments().size() < 2 ? u"scenario run needs a preset name or a scenario file"_s
                                                            : u"scenario run takes one preset or file, not %1"_s.arg(
                                                                parser.positionalArguments().size() - 1),
            ExitUsage);
    Scenario scenario;
    if (!loadScenario(parser.positionalArguments().value(1), parser.values(allowSqlFrom), &scenario, &code))
        return code;
    double rates = 1, durations = 1;
    if (!parseNumber(parser, rateScale, 0.001, 1000, &rates, &code) || !parseNumber(parser, durationScale, 0.001, 1000, &durations, &code))
        return code;
    scenario.scale(rates, durations);
    if (const QStringList problems = scenario.limitProblems(); !problems.isEmpty()) {
        for (const QString& p : problems)
            err() << "htapctl: error: " << p << " (after --rate-scale and --duration-scale)" << Qt::endl;
        return ExitUsage;
    }
    if (parser.isSet(threads)) {
        qint64 n = 0;
        if (!parseWholeNumber(parser, threads, 0, 256, &n, &code))
            return code;
        scenario.threads = int(n);
    }
    // A run can last hours: a result that cannot be written must say so now, not at the end.
    if (parser.isSet(outFile)) {
        QString error;
        if (!htap::core::canWriteFile(parser.value(outFile), &error))
            return fail(error, ExitUsage);
    }
    ConnInfo info;
    if (!parseConn(parser, &info, &code))
        return code;
    if (!parser.isSet(connOption))
        info = htap::pg::Sandbox().connInfo();
    ConnInfo standby;
    if (parser.isSet(standbyOption)) {
        QString error;
        standby = ConnInfo::parse(parser.value(standbyOption), &error);
        if (!error.isEmpty() || standby.isEmpty())
            return fail(u"--standby: %1"_s.arg(error.isEmpty() ? u"an empty conninfo"_s : error), ExitUsage);
    }

    // A scenario writes orders: anywhere but a sandbox of this machine only when the operator
    // names the database. What the server says decides, not the conninfo.
    {
        htap::pg::Connection probe;
        if (PgError e = connectInteractive(probe, info, {10000, u"htapctl scenario"_s}))
            return fail(e.oneLine());
        if (!htap::pg::Sandbox::isSandboxServer(probe)) {
            const QString db = probe.exec(u"SELECT current_database()"_s).text(0, 0);
            if (parser.value(confirm) != db)
                return fail(u"this scenario writes data; %1 is not a sandbox of this machine. Run again with "
                            "--confirm-database %2 if you mean it"_s.arg(probe.effectiveInfo().displayName(), db),
                    ExitUsage);
        }
    }

    if (!scenario.compareProfiles.isEmpty())
        return runComparison(scenario, info, parser.value(outFile), parser.isSet(jsonOption));

    ScenarioRunner runner;
    QEventLoop loop;
    ScenarioResult result;
    bool done = false;
    stopOnInterrupt(&loop, [&] { runner.stop(u"interrupted"_s); }, true);
    QObject::connect(&runner, &ScenarioRunner::failedToStart, &loop, [&](const QString& message) {
        code = fail(message);
        loop.quit();
    });
    QObject::connect(&runner, &ScenarioRunner::started, &loop, [&](const QString& server) {
        err() << "running " << scenario.name << " on " << server << " for " << QString::number(scenario.totalSeconds(), 'f', 0)
              << " s, up to " << scenario.effectiveThreads() << " client threads per workload" << Qt::endl;
    });
    QObject::connect(&runner, &ScenarioRunner::secondAvailable, &loop, [&](const SecondStats& s) {
        if (parser.isSet(jsonOption))
            return;
        out() << qSetFieldWidth(5) << Qt::right << s.second << qSetFieldWidth(0) << "s " << qSetFieldWidth(14) << Qt::left
              << s.phase << qSetFieldWidth(0);
        for (auto it = s.workloads.cbegin(); it != s.workloads.cend(); ++it) {
            const WorkloadStats& w = it.value();
            out() << " | " << it.key() << " " << QString::number(w.tps(), 'f', 1) << "/s";
            if (w.targetRate > 0)
                out() << " (of " << QString::number(w.targetRate, 'f', 1) << ")";
            if (w.committed + w.rolledBack + w.failed > 0)
                out() << " p99 " << QString::number(w.latency.p99, 'f', 1) << " ms";
            else
                out() << " p99 –"; // nothing finished this second
            if (w.failed)
                out() << " failed " << w.failed;
            if (w.retries)
                out() << " retried " << w.retries << (w.deadlockRetries ? u" (deadlocks "_s + QString::number(w.deadlockRetries) + u")"_s : QString());
            if (w.late)
                out() << " late " << w.late;
            if (w.conflicts)
                out() << " conflicts " << w.conflicts;
        }
        if (s.replica.sampled)
            out() << " | standby " << (s.replica.reachable ? QString() : u"unreachable "_s) << "lag "
                  << (s.replica.replayLagSeconds >= 0 ? QString::number(s.replica.replayLagSeconds, 'f', 2) + u" s"_s : u"–"_s)
                  << " data age " << (s.replica.dataAgeSeconds >= 0 ? QString::number(s.replica.dataAgeSeconds, 'f', 2) + u" s"_s : u"–"_s);
        out() << Qt::endl;
    });
    QObject::connect(&runner, &ScenarioRunner::finished, &loop, [&](const ScenarioResult& r) {
        result = r;
        done = true;
        loop.quit();
    });
    runner.setStandby(standby);
    runner.start(scenario, info);
    loop.exec();
    if (!done)
        return code;

    if (parser.isSet(jsonOption)) {
        out() << QJsonDocument(result.toJson()).toJson(QJsonDocument::Indented);
    } else {
        out() << Qt::endl << "workload        committed  rolled back  failed  retried      tps   p50 ms   p99 ms  p99.9 ms   max ms   late" << Qt::endl;
        for (auto it = result.summary.cbegin(); it != result.summary.cend(); ++it) {
            const WorkloadStats& w = it.value();
            out() << qSetFieldWidth(14) << Qt::left << it.key() << qSetFieldWidth(11) << Qt::right << w.committed
                  << qSetFieldWidth(13) << w.rolledBack << qSetFieldWidth(8) << w.failed << qSetFieldWidth(9) << w.retries
                  << QString::number(w.tps(), 'f', 1) << QString::number(w.latency.p50, 'f', 2)
                  << QString::number(w.latency.p99, 'f', 2) << qSetFieldWidth(10) << QString::number(w.latency.p999, 'f', 2)
                  << qSetFieldWidth(9) << QString::number(w.latency.max, 'f', 1) << qSetFieldWidth(7) << w.late
                  << qSetFieldWidth(0) << Qt::endl;
        }
        out() << "(warmup excluded; latency from each request's intended start)" << Qt::endl;
        if (result.phases.size() > 1) {
            // One row per phase and workload, like the seed's tables (5.2.1, 5.2.2).
            out() << Qt::endl << "phase           workload        target      tps   p50 ms   p99 ms   max ms  failed" << Qt::endl;
            for (const PhaseResult& p : std::as_const(result.phases)) {
                if (p.warmup)
                    continue;
                for (auto it = p.workloads.cbegin(); it != p.workloads.cend(); ++it) {
                    const WorkloadStats& w = it.value();
                    if (w.committed + w.rolledBack + w.failed == 0 && w.targetRate == 0)
                        continue; // idle in this phase
                    out() << qSetFieldWidth(16) << Qt::left << p.name << it.key() << qSetFieldWidth(6) << Qt::right
                          << QString::number(w.targetRate, 'f', 0) << qSetFieldWidth(9) << QString::number(w.tps(), 'f', 1)
                          << QString::number(w.latency.p50, 'f', 2) << QString::number(w.latency.p99, 'f', 2)
                          << QString::number(w.latency.max, 'f', 1) << qSetFieldWidth(8) << w.failed << qSetFieldWidth(0)
                          << Qt::endl;
                }
            }
        }
        printRefreshComparison(result);
        printTopologyTable(result);
        if (result.interferenceP99 >= 0)
            out() << "interference: OLTP p99 with reports / without = " << QString::number(result.interferenceP99, 'f', 2)
                  << "x" << Qt::endl;
        if (result.oltpAchievedOverTarget >= 0)
            out() << "OLTP achieved / target rate in mixed phases = " << QString::number(result.oltpAchievedOverTarget, 'f', 3)
                  << Qt::endl;
        out() << "cross-check: clients committed " << result.clientCommitted << ", "
              << (result.serverCommitDelta >= 0
                         ? u"server counted %1 commits in the database (all sessions)"_s.arg(result.serverCommitDelta)
                         : u"the server's count is unknown (it could not be asked after the run)"_s)
              << Qt::endl;
        // Over the whole run, warmup included, as the server's count is.
        qint64 deadlockRetries = 0, deadlockFailures = 0;
        for (const PhaseResult& p : std::as_const(result.phases))
            for (const WorkloadStats& w : p.workloads) {
                deadlockRetries += w.deadlockRetries;
                deadlockFailures += w.failedBySqlstate.value(u"40P01"_s);
            }
        if (result.serverDeadlockDelta > 0 || deadlockRetries + deadlockFailures > 0)
            out() << "deadlocks: " << (result.serverDeadlockDelta >= 0 ? QString::number(result.serverDeadlockDelta) : u"unknown"_s)
                  << " in the database during the run (all sessions); our requests lost " << deadlockRetries + deadlockFailures
                  << " (" << deadlockRetries << " tried again, " << deadlockFailures
                  << " failed); each one stalls its transactions for deadlock_timeout" << Qt::endl;
        if (result.partial)
            out() << "PARTIAL: " << result.stopReason << Qt::endl;
    }
    if (parser.isSet(outFile)) {
        const QString path = parser.value(outFile);
        const QString csvPath = (path.endsWith(u".json"_s) ? path.chopped(5) : path) + u".csv"_s;
        if (!writeAtomically({{path, QJsonDocument(result.toJson()).toJson()}, {csvPath, result.toCsv()}}, &code))
            return code;
        err() << "wrote " << path << " and " << csvPath << Qt::endl;
    }
    return result.partial ? ExitFailure : ExitOk;
}

} // namespace htap::cli
