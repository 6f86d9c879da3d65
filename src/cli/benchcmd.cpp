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

#include <unistd.h>

namespace htap::cli {

using namespace Qt::StringLiterals;
using htap::pg::ConnInfo;
using htap::pg::PgError;

namespace {

/// CPU time (user + system) of one of the server's processes so far, from /proc, in seconds;
/// -1 when it cannot be read (another machine, another account's process).
double processCpuSeconds(qint64 pid)
{
    QFile f(u"/proc/%1/stat"_s.arg(pid));
    if (pid <= 0 || !f.open(QIODevice::ReadOnly))
        return -1;
    // Fields after the command name (which may hold spaces, so split after its closing ')'):
    // utime and stime are the 14th and 15th of the line, in clock ticks.
    const QByteArray line = f.readAll();
    const QList<QByteArray> fields = line.mid(line.lastIndexOf(')') + 2).split(' ');
    if (fields.size() < 13)
        return -1;
    return double(fields[11].toLongLong() + fields[12].toLongLong()) / double(::sysconf(_SC_CLK_TCK));
}

/// Server time spent by the monitor's own statements per second of wall time, from
/// pg_stat_statements, for a role that only the monitor uses: at the default cadence with and
/// without the field extensions' probes (pg_wait_sampling, pg_stat_kcache), and every probe
/// every second.
int cmdBenchMonitor(const QStringList& args)
{
    using namespace htap::monitor;
    QCommandLineParser parser;
    const QCommandLineOption seconds(u"seconds"_s, u"Length of each run (default 30)"_s, u"s"_s);
    parser.addOptions({connOption, seconds});
    int code = ExitOk;
    if (!parseOptions(parser, args.mid(1), u"The collectors' own cost on the server, at a 1 s interval."_s, &code))
        return code;
    ConnInfo info;
    double secondsValue = 30;
    if (!parseConn(parser, &info, &code) || !parseNumber(parser, seconds, 5, 3600, &secondsValue, &code))
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
    const auto present = admin.exec(u"SELECT string_agg(extname, ', ' ORDER BY extname) FROM pg_extension "
                                    "WHERE extname IN ('pg_wait_sampling', 'pg_stat_kcache')"_s);
    const QString extensions = present.text(0, 0);
    // pg_wait_sampling samples every process every 10 ms in a background process of its own,
    // whether anyone reads the profile or not: its cost, where /proc shows it (a local server).
    const qint64 samplerPid = admin.exec(u"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_wait_sampling collector'"_s)
                                  .toInt64(0, 0, 0);

    struct Run {
        QString name;
        int slowEvery;
        bool fieldExtensions;
        double serverMs = 0;
        double extensionMs = 0;
        qint64 calls = 0;
        double wallSeconds = 0;
        int samples = 0;
        double samplerSeconds = -1;
        double perSecond() const { return wallSeconds > 0 ? serverMs / wallSeconds : 0; }
    };
    QList<Run> runs {{u"default cadence, without the field extensions' probes"_s, 10, false},
        {u"default cadence (slow probes every 10th sample), all probes"_s, 10, true},
        {u"every probe every second (worst case)"_s, 1, true}};
    out() << "Collector cost on " << admin.effectiveInfo().displayName() << ", sampling every 1 s for "
          << secondsValue << " s per run, as role " << role << "; field extensions in this database: "
          << (extensions.isEmpty() ? u"none"_s : extensions) << Qt::endl;
    for (Run& run : runs) {
        const auto before = admin.exec(costSql, {role});
        const double samplerBefore = processCpuSeconds(samplerPid);
        ActivityCollector collector;
        collector.setInterval(1000);
        collector.setSlowEvery(run.slowEvery);
        collector.setFieldExtensions(run.fieldExtensions);
        QEventLoop loop;
        QObject::connect(&collector, &ActivityCollector::sampleAvailable, &loop, [&](const ServerSample&) { ++run.samples; });
        QObject::connect(&collector, &ActivityCollector::stateChanged, &loop, [&](ConnectionState st, const QString& text) {
            if (st == ConnectionState::Failed) {
                code = fail(text);
                loop.quit();
            }
        });
        QElapsedTimer wall;
        wall.start();
        QTimer::singleShot(int(secondsValue * 1000), &loop, &QEventLoop::quit);
        collector.connectTo(info.with(u"user"_s, role).without(u"password"_s));
        loop.exec();
        collector.disconnectFromServer();
        run.wallSeconds = wall.elapsed() / 1000.0;
        if (code != ExitOk)
            return code;
        QThread::msleep(300); // let the last statements land in pg_stat_statements
        const auto after = admin.exec(costSql, {role});
        const double samplerAfter = processCpuSeconds(samplerPid);
        if (samplerBefore >= 0 && samplerAfter >= samplerBefore)
            run.samplerSeconds = samplerAfter - samplerBefore;
        run.serverMs = after.toDouble(0, 0) - before.toDouble(0, 0);
        run.calls = after.toInt64(0, 1) - before.toInt64(0, 1);
        run.extensionMs = after.toDouble(0, 2) - before.toDouble(0, 2);
        const double pctOfCore = run.serverMs / (run.wallSeconds * 1000) * 100;
        out() << "  " << run.name << ":" << Qt::endl
              << "      " << run.samples << " samples, " << htap::core::formatCount(run.calls) << " statements, "
              << QString::number(run.perSecond(), 'f', 2) << " ms of server time per second = "
              << QString::number(pctOfCore, 'f', 3) << "% of one core (goal < 1%: " << (pctOfCore < 1 ? "met" : "NOT met")
              << ")" << Qt::endl;
        if (run.fieldExtensions)
            out() << "      of which the pg_wait_sampling and pg_stat_kcache probes: "
                  << QString::number(run.extensionMs / run.wallSeconds, 'f', 2) << " ms per second" << Qt::endl;
    }
    const double base = runs[1].perSecond();
    if (runs[0].perSecond() > 0)
        out() << "  with the field extensions' probes / without: " << QString::number(base / runs[0].perSecond(), 'f', 2)
              << "x" << Qt::endl;
    if (base > 0)
        out() << "  worst case / default: " << QString::number(runs[2].perSecond() / base, 'f', 2) << "x" << Qt::endl;
    double samplerSeconds = 0, samplerWall = 0;
    for (const Run& run : std::as_const(runs))
        if (run.samplerSeconds >= 0) {
            samplerSeconds += run.samplerSeconds;
            samplerWall += run.wallSeconds;
        }
    if (samplerWall > 0)
        out() << "  pg_wait_sampling's own sampling process (pid " << samplerPid << ", /proc): "
              << QString::number(samplerSeconds / samplerWall * 1000, 'f', 2) << " ms of CPU per second = "
              << QString::number(samplerSeconds / samplerWall * 100, 'f', 3)
              << "% of one core, with or without a reader (not the collector's)" << Qt::endl;
    out() << "  (server time = pg_stat_statements total_exec_time + total_plan_time of the role's statements)" << Qt::endl;
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
        out() << "Usage: htapctl bench monitor [--conn C] [--seconds N]\n"
                 "  monitor   the collectors' own server cost at 1 s (default cadence without and with the field\n"
                 "            extensions' probes, and every probe every second)\n"
                 "The chart redraw benchmark is a GUI program: tests/bench/run.sh runs both.\n";
        return ExitOk;
    }
    return fail(what.isEmpty() ? u"bench needs a benchmark name: monitor"_s : u"unknown benchmark \"%1\" (expected monitor)"_s.arg(what),
        ExitUsage);
}

} // namespace htap::cli
