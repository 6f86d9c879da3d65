// htapctl bench: benchmarks that print numbers against a baseline run in the same invocation.
#include "common.h"

#include <monitor/activitycollector.h>
#include <pg/sandbox.h>

#include <QElapsedTimer>
#include <QEventLoop>
#include <QThread>
#include <QTimer>

namespace htap::cli {

using namespace Qt::StringLiterals;
using htap::pg::ConnInfo;
using htap::pg::PgError;

namespace {

/// Server time spent by the monitor's own statements per second of wall time, from
/// pg_stat_statements, for a role that only the monitor uses.
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
    const QString costSql = u"SELECT coalesce(sum(s.total_exec_time + s.total_plan_time), 0)::float8, coalesce(sum(s.calls), 0)::bigint "
                            "FROM pg_stat_statements(false) s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = $1"_s;
    if (!admin.exec(costSql, {role}).ok())
        return fail(u"pg_stat_statements is needed in this database for this benchmark"_s);

    struct Run {
        QString name;
        int slowEvery;
        double serverMs = 0;
        qint64 calls = 0;
        double wallSeconds = 0;
        int samples = 0;
    };
    QList<Run> runs {{u"default cadence (vacuum and views every 10th sample)"_s, 10},
        {u"every probe every second (worst case)"_s, 1}};
    out() << "Collector cost on " << admin.effectiveInfo().displayName() << ", sampling every 1 s for "
          << secondsValue << " s per run, as role " << role << ":" << Qt::endl;
    for (Run& run : runs) {
        const auto before = admin.exec(costSql, {role});
        ActivityCollector collector;
        collector.setInterval(1000);
        collector.setSlowEvery(run.slowEvery);
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
        run.serverMs = after.toDouble(0, 0) - before.toDouble(0, 0);
        run.calls = after.toInt64(0, 1) - before.toInt64(0, 1);
        const double pctOfCore = run.serverMs / (run.wallSeconds * 1000) * 100;
        out() << "  " << run.name << ":" << Qt::endl
              << "      " << run.samples << " samples, " << run.calls << " statements, "
              << QString::number(run.serverMs / run.wallSeconds, 'f', 2) << " ms of server time per second = "
              << QString::number(pctOfCore, 'f', 3) << "% of one core (goal < 1%: " << (pctOfCore < 1 ? "met" : "NOT met")
              << ")" << Qt::endl;
    }
    const double base = runs[0].serverMs / runs[0].wallSeconds;
    if (base > 0)
        out() << "  worst case / default: " << QString::number((runs[1].serverMs / runs[1].wallSeconds) / base, 'f', 2)
              << "x" << Qt::endl;
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
                 "  monitor   the collectors' own server cost at 1 s (default cadence vs every probe every second)\n"
                 "The chart redraw benchmark is a GUI program: tests/bench/run.sh runs both.\n";
        return ExitOk;
    }
    return fail(what.isEmpty() ? u"bench needs a benchmark name: monitor"_s : u"unknown benchmark \"%1\" (expected monitor)"_s.arg(what),
        ExitUsage);
}

} // namespace htap::cli
