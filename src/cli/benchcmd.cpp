// htapctl bench: benchmarks that print numbers against a baseline run in the same invocation.
#include "common.h"

#include <core/format.h>
#include <monitor/activitycollector.h>
#include <pg/sandbox.h>

#include <QElapsedTimer>
#include <QFile>
#include <QEventLoop>
#include <QThread>
#include <QTimer>

#include <algorithm>

#include <ctime>
#include <unistd.h>

namespace htap::cli {

using namespace Qt::StringLiterals;
using htap::pg::ConnInfo;
using htap::pg::PgError;

namespace {

/// CPU time of a server process so far (a backend has one thread), in seconds: from
/// /proc/PID/schedstat (nanoseconds) where the kernel keeps it, else /proc/PID/stat (clock
/// ticks, 10 ms); -1 when neither can be read (another machine, another account's process).
/// pid 0: this process, all its threads.
double processCpuSeconds(qint64 pid)
{
    if (pid == 0) {
        timespec t {};
        return ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) == 0 ? double(t.tv_sec) + double(t.tv_nsec) / 1e9 : -1;
    }
    const QString dir = u"/proc/%1"_s.arg(pid);
    QFile sched(dir + u"/schedstat"_s);
    if (sched.open(QIODevice::ReadOnly)) {
        bool ok = false;
        const qint64 ns = sched.readAll().split(' ').value(0).toLongLong(&ok);
        if (ok)
            return double(ns) / 1e9;
    }
    QFile f(dir + u"/stat"_s);
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    // Fields after the command name (which may hold spaces, so split after its closing ')'):
    // utime and stime are the 14th and 15th of the line, in clock ticks.
    const QByteArray line = f.readAll();
    const QList<QByteArray> fields = line.mid(line.lastIndexOf(')') + 2).split(' ');
    if (fields.size() < 13)
        return -1;
    return double(fields[11].toLongLong() + fields[12].toLongLong()) / double(::sysconf(_SC_CLK_TCK));
}

/// One collector run of the benchmark and what it cost, per second of wall time.
struct MonitorRun {
    bool fieldExtensions = true;
    int slowEvery = 10;
    double wallSeconds = 0;
    int samples = 0;
    qint64 calls = 0;
    double serverMs = 0;    ///< pg_stat_statements: execution + planning of the role's statements
    double extensionMs = 0; ///< of which the statements reading pg_wait_sampling and pg_stat_kcache
    double backendCpu = -1; ///< the collector's backend, /proc, from its first sample to the end
    double backendSpan = 0;
    double clientCpu = -1;  ///< this process (the collector's thread, an idle event loop, the admin's reads)
    double samplerCpu = -1; ///< pg_wait_sampling's collector process
    double serverMsPerSecond() const { return wallSeconds > 0 ? serverMs / wallSeconds : 0; }
    double backendMsPerSecond() const { return backendCpu >= 0 && backendSpan > 0 ? backendCpu * 1000 / backendSpan : -1; }
    double clientMsPerSecond() const { return clientCpu >= 0 && wallSeconds > 0 ? clientCpu * 1000 / wallSeconds : -1; }
};

QString median(QList<double> values, int decimals)
{
    values.removeIf([](double v) { return v < 0; });
    if (values.isEmpty())
        return u"n/a"_s;
    std::sort(values.begin(), values.end());
    const qsizetype n = values.size();
    const double mid = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    // The interval the runs spanned, so that a reader sees how far one run is from another.
    return n == 1 ? QString::number(mid, 'f', decimals)
                  : u"%1 [%2-%3]"_s.arg(QString::number(mid, 'f', decimals), QString::number(values.first(), 'f', decimals),
                        QString::number(values.last(), 'f', decimals));
}

/// What the monitor costs, per second of wall time, for a role that only the monitor uses: the
/// server time of its statements (pg_stat_statements), its backend's CPU and this process's
/// (/proc, a local server), at the default cadence without and with the field extensions'
/// probes (pg_wait_sampling, pg_stat_kcache) in alternating rounds, then every probe every
/// second once.
int cmdBenchMonitor(const QStringList& args)
{
    using namespace htap::monitor;
    QCommandLineParser parser;
    const QCommandLineOption seconds(u"seconds"_s, u"Length of each run (default 30)"_s, u"s"_s);
    const QCommandLineOption rounds(u"rounds"_s, u"Rounds of the two default-cadence runs, in alternating order (default 3)"_s, u"n"_s);
    parser.addOptions({connOption, seconds, rounds});
    int code = ExitOk;
    if (!parseOptions(parser, args.mid(1), u"The collectors' own cost, at a 1 s interval."_s, &code))
        return code;
    ConnInfo info;
    double secondsValue = 30, roundsValue = 3;
    if (!parseConn(parser, &info, &code) || !parseNumber(parser, seconds, 5, 3600, &secondsValue, &code)
        || !parseNumber(parser, rounds, 1, 50, &roundsValue, &code))
        return code;
    if (info.isEmpty())
        info = htap::pg::Sandbox().connInfo();

    htap::pg::Connection admin;
    if (PgError e = connectInteractive(admin, info, {10000, u"htapctl bench"_s}))
        return fail(e.oneLine());
    const QString role = u"htap_bench_monitor"_s;
    // A role of its own, with only pg_monitor, so its statements are the monitor's alone.
    const auto made = admin.runScript(u"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'htap_bench_monitor') "
                                      "THEN CREATE ROLE htap_bench_monitor LOGIN IN ROLE pg_monitor; END IF; END $$"_s);
    if (!made.ok())
        return fail(u"cannot create the benchmark role htap_bench_monitor: %1"_s.arg(made.error().oneLine()));
    // The field extensions' statements are told apart by the objects they read.
    const QString costSql = u"SELECT coalesce(sum(s.total_exec_time + s.total_plan_time), 0)::float8, coalesce(sum(s.calls), 0)::bigint, "
                            "coalesce(sum(s.total_exec_time + s.total_plan_time) FILTER (WHERE s.query LIKE '%pg_wait_sampling_profile%' "
                            "OR s.query LIKE '%pg_stat_kcache%'), 0)::float8 "
                            "FROM pg_stat_statements(true) s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = $1"_s;
    if (!admin.exec(costSql, {role}).ok())
        return fail(u"pg_stat_statements is needed in this database for this benchmark"_s);
    // Which field extensions this database has: without them the runs with and without their
    // probes differ only by a catalog look every 30 s.
    const QString extensions = admin.exec(u"SELECT string_agg(extname, ', ' ORDER BY extname) FROM pg_extension "
                                          "WHERE extname IN ('pg_wait_sampling', 'pg_stat_kcache')"_s)
                                   .text(0, 0);
    // pg_wait_sampling samples every process every 10 ms in a background process of its own,
    // whether anyone reads the profile or not: its cost, where /proc shows it (a local server).
    const qint64 samplerPid = admin.exec(u"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_wait_sampling collector'"_s)
                                  .toInt64(0, 0, 0);
    // The profile's size drives the cost of reading it: it keeps every pid since its last reset.
    const auto profileSize = [&] {
        if (!extensions.contains(u"pg_wait_sampling"_s))
            return QString();
        const auto r = admin.exec(u"SELECT count(*), count(DISTINCT pid) FROM pg_wait_sampling_profile"_s);
        return r.ok() ? u"%1 rows, %2 pids"_s.arg(htap::core::formatCount(r.toInt64(0, 0)), htap::core::formatCount(r.toInt64(0, 1)))
                      : QString();
    };
    const QString profileBefore = profileSize();

    out() << "Collector cost on " << admin.effectiveInfo().displayName() << ", sampling every 1 s for " << secondsValue
          << " s per run, as role " << role << "; field extensions in this database: "
          << (extensions.isEmpty() ? u"none"_s : extensions) << Qt::endl;
    const auto runOnce = [&](MonitorRun& run) {
        const auto before = admin.exec(costSql, {role});
        const double samplerBefore = processCpuSeconds(samplerPid);
        const double clientBefore = processCpuSeconds(0);
        ActivityCollector collector;
        collector.setInterval(1000);
        collector.setSlowEvery(run.slowEvery);
        collector.setFieldExtensions(run.fieldExtensions);
        // The sampler's own cost, as measured before the heartbeat came (its 10 updates a
        // second are measured on their own: docs/benchmarks.md, Heartbeat).
        collector.setHeartbeat(false);
        QEventLoop loop;
        QElapsedTimer wall, sinceFirst;
        qint64 backendPid = 0;
        double backendBefore = -1;
        QObject::connect(&collector, &ActivityCollector::sampleAvailable, &loop, [&](const ServerSample&) {
            if (++run.samples == 1) { // connected: its backend is there to be read
                backendPid = admin.exec(u"SELECT pid FROM pg_stat_activity WHERE usename = $1 AND application_name = 'htap-studio monitor' "
                                                "ORDER BY backend_start DESC LIMIT 1"_s,
                                      {role})
                                 .toInt64(0, 0, 0);
                backendBefore = processCpuSeconds(backendPid);
                sinceFirst.start();
            }
        });
        QObject::connect(&collector, &ActivityCollector::stateChanged, &loop, [&](ConnectionState st, const QString& text) {
            if (st == ConnectionState::Failed) {
                code = fail(text);
                loop.quit();
            }
        });
        wall.start();
        QTimer::singleShot(int(secondsValue * 1000), &loop, &QEventLoop::quit);
        collector.connectTo(info.with(u"user"_s, role).without(u"password"_s));
        loop.exec();
        const double backendAfter = processCpuSeconds(backendPid);
        if (backendBefore >= 0 && backendAfter >= backendBefore) {
            run.backendCpu = backendAfter - backendBefore;
            run.backendSpan = sinceFirst.elapsed() / 1000.0;
        }
        collector.disconnectFromServer();
        run.wallSeconds = wall.elapsed() / 1000.0;
        const double clientAfter = processCpuSeconds(0);
        if (clientBefore >= 0 && clientAfter >= clientBefore)
            run.clientCpu = clientAfter - clientBefore;
        QThread::msleep(300); // let the last statements land in pg_stat_statements
        const auto after = admin.exec(costSql, {role});
        const double samplerAfter = processCpuSeconds(samplerPid);
        if (samplerBefore >= 0 && samplerAfter >= samplerBefore)
            run.samplerCpu = samplerAfter - samplerBefore;
        run.serverMs = after.toDouble(0, 0) - before.toDouble(0, 0);
        run.calls = after.toInt64(0, 1) - before.toInt64(0, 1);
        run.extensionMs = after.toDouble(0, 2) - before.toDouble(0, 2);
        out() << "  " << (run.slowEvery == 1 ? "every probe every second" : run.fieldExtensions ? "with the field extensions' probes" : "without them")
              << ": " << run.samples << " samples, " << htap::core::formatCount(run.calls) << " statements, server time "
              << QString::number(run.serverMsPerSecond(), 'f', 2) << " ms/s (field extensions "
              << QString::number(run.extensionMs / run.wallSeconds, 'f', 2) << "), backend CPU "
              << QString::number(run.backendMsPerSecond(), 'f', 2) << " ms/s, client CPU " << QString::number(run.clientMsPerSecond(), 'f', 2)
              << " ms/s" << Qt::endl;
    };

    // Alternating order (without, with; with, without; ...): a drift of the machine during the
    // invocation falls on both.
    QList<MonitorRun> without, with;
    for (int round = 0; round < int(roundsValue) && code == ExitOk; ++round) {
        for (bool on : {round % 2 == 1, round % 2 == 0}) {
            MonitorRun run;
            run.fieldExtensions = on;
            runOnce(run);
            if (code != ExitOk)
                break;
            (on ? with : without).append(run);
        }
    }
    MonitorRun worst;
    worst.slowEvery = 1;
    if (code == ExitOk)
        runOnce(worst);
    if (code != ExitOk)
        return code;

    const auto figures = [](const QList<MonitorRun>& runs, double (MonitorRun::*f)() const) {
        QList<double> v;
        for (const MonitorRun& r : runs)
            v << (r.*f)();
        return v;
    };
    const auto pct = [](QList<double> msPerSecond) {
        for (double& v : msPerSecond)
            v = v < 0 ? v : v / 10; // ms per second -> % of one core
        return msPerSecond;
    };
    const auto total = [](const MonitorRun& r) {
        return r.backendMsPerSecond() >= 0 && r.clientMsPerSecond() >= 0 ? r.backendMsPerSecond() + r.clientMsPerSecond() : -1.0;
    };
    const auto report = [&](const char* name, const QList<MonitorRun>& runs) {
        QList<double> totals, ext;
        for (const MonitorRun& r : runs) {
            totals << total(r);
            ext << r.extensionMs / r.wallSeconds;
        }
        out() << "  " << name << " (median [range] of " << runs.size() << "):" << Qt::endl
              << "      server time of its statements " << median(figures(runs, &MonitorRun::serverMsPerSecond), 2)
              << " ms/s (of which the field extensions' " << median(ext, 2) << "), its backend's CPU "
              << median(figures(runs, &MonitorRun::backendMsPerSecond), 2) << " ms/s, this process's CPU "
              << median(figures(runs, &MonitorRun::clientMsPerSecond), 2) << " ms/s" << Qt::endl
              << "      backend + client = " << median(pct(totals), 3) << " % of one core (goal < 1 %)" << Qt::endl;
        return totals;
    };
    out() << "Summary:" << Qt::endl;
    const QList<double> totalsWithout = report("default cadence, without the field extensions' probes", without);
    const QList<double> totalsWith = report("default cadence, with them", with);
    report("every probe every second (worst case)", {worst});
    // Paired by round: each round ran both, one after the other.
    QList<double> ratios;
    for (qsizetype i = 0; i < std::min(totalsWith.size(), totalsWithout.size()); ++i)
        if (totalsWith[i] > 0 && totalsWithout[i] > 0)
            ratios << totalsWith[i] / totalsWithout[i];
    out() << "  with / without, per round: " << median(ratios, 2) << "x" << Qt::endl;
    double samplerSeconds = 0, samplerWall = 0;
    for (const QList<MonitorRun>* runs : {&without, &with})
        for (const MonitorRun& run : *runs)
            if (run.samplerCpu >= 0) {
                samplerSeconds += run.samplerCpu;
                samplerWall += run.wallSeconds;
            }
    if (samplerWall > 0)
        out() << "  pg_wait_sampling's own sampling process (pid " << samplerPid << ", /proc): "
              << QString::number(samplerSeconds / samplerWall * 1000, 'f', 2) << " ms of CPU per second = "
              << QString::number(samplerSeconds / samplerWall * 100, 'f', 3)
              << " % of one core, with or without a reader (the extension's cost, not the collector's)" << Qt::endl;
    if (!profileBefore.isEmpty())
        out() << "  pg_wait_sampling_profile: " << profileBefore << " before, " << profileSize() << " after" << Qt::endl;
    out() << "  (server time: pg_stat_statements total_exec_time + total_plan_time of the role's statements; CPU: "
             "/proc/PID/schedstat of the collector's backend and of this process)"
          << Qt::endl;
    admin.exec(u"SELECT pg_stat_statements_reset((SELECT oid FROM pg_roles WHERE rolname = $1))"_s, {role});
    if (!admin.runScript(u"DROP ROLE htap_bench_monitor"_s).ok())
        err() << "htapctl: warning: could not drop the benchmark role htap_bench_monitor" << Qt::endl;
    return ExitOk;
}

} // namespace

int cmdBench(const QStringList& args)
{
    const QString what = args.value(1);
    if (what == u"monitor"_s)
        return cmdBenchMonitor(args);
    if (what == u"--help"_s || what == u"-h"_s) {
        out() << "Usage: htapctl bench monitor [--conn C] [--seconds N] [--rounds N]\n"
                 "  monitor   the collector's own cost at 1 s (server time, its backend's and this process's CPU):\n"
                 "            default cadence without and with the field extensions' probes in alternating\n"
                 "            rounds, then every probe every second\n"
                 "The chart redraw benchmark is a GUI program: tests/bench/run.sh runs both.\n";
        return ExitOk;
    }
    return fail(what.isEmpty() ? u"bench needs a benchmark name: monitor"_s : u"unknown benchmark \"%1\" (expected monitor)"_s.arg(what),
        ExitUsage);
}

} // namespace htap::cli
