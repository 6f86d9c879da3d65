// htapctl mv: list, refresh, incremental maintenance, refresh log and schedules of materialized views.
#include "common.h"
#include "interrupt.h"

#include <mv/ivmsql.h>
#include <mv/mvservice.h>
#include <mv/schedulerunner.h>
#include <pg/identifier.h>
#include <pg/sandbox.h>

#include <QElapsedTimer>
#include <QEventLoop>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QThread>

#include <atomic>
#include <csignal>
#include <thread>

namespace htap::cli {

using namespace Qt::StringLiterals;
using htap::pg::ConnInfo;
using htap::pg::PgError;

namespace {

QString humanBytes(qint64 b)
{
    if (b >= (qint64(1) << 30))
        return QString::number(b / double(qint64(1) << 30), 'f', 1) + u" GiB"_s;
    if (b >= (1 << 20))
        return QString::number(b / double(1 << 20), 'f', 1) + u" MiB"_s;
    return QString::number(b / 1024.0, 'f', 0) + u" kiB"_s;
}

QString humanSeconds(double s)
{
    if (s < 0)
        return u"unknown"_s;
    if (s < 120)
        return QString::number(s, 'f', s < 10 ? 1 : 0) + u" s"_s;
    if (s < 7200)
        return QString::number(s / 60, 'f', 0) + u" min"_s;
    return QString::number(s / 3600, 'f', 1) + u" h"_s;
}

/// Runs a step that may take minutes (a build, a refresh) on a thread of its own while this one
/// waits for Ctrl-C or SIGTERM: they cancel the statement in flight and set the service's
/// interrupt flag, so that the step rolls back what it did and returns (the process then exits
/// 1), instead of the process dying with its step half done on the server.
template <typename Step>
auto interruptible(htap::pg::Connection& conn, htap::mv::MvService& service, Step step)
{
    std::atomic<bool> stop {false};
    service.setInterruptFlag(&stop);
    const std::shared_ptr<const htap::pg::Canceller> canceller = conn.canceller();
    QEventLoop loop;
    stopOnInterrupt(&loop, [&] {
        stop = true;
        canceller->cancel();
    });
    std::invoke_result_t<Step> result {};
    // The connection is the worker's until it has finished: this thread only cancels.
    std::thread worker([&] {
        result = step();
        QMetaObject::invokeMethod(&loop, [&loop] { loop.quit(); }, Qt::QueuedConnection);
    });
    loop.exec();
    worker.join();
    service.setInterruptFlag(nullptr);
    return result;
}

} // namespace

int cmdMv(const QStringList& args)
{
    using namespace htap::mv;
    static const QStringList actions {u"list"_s, u"refresh"_s, u"enable-incremental"_s, u"disable-incremental"_s, u"log"_s,
        u"schedule"_s, u"unschedule"_s, u"run-schedules"_s, u"capture"_s};
    if (args.value(1) == u"--help"_s || args.value(1) == u"-h"_s) {
        out() << "Usage: htapctl mv ACTION [VIEW] [options] (see htapctl mv ACTION --help)\n\n"
                 "  list                      materialized and incremental views: mode, staleness, pending changes\n"
                 "  refresh VIEW --mode M     plain | concurrent | incremental (merge) | rebuild\n"
                 "  enable-incremental VIEW   maintain it incrementally (--check: print the SQL, change nothing)\n"
                 "  disable-incremental VIEW  back to a materialized view\n"
                 "  log [VIEW]                the refresh log, newest first\n"
                 "  schedule VIEW --mode M --every 5m [--runner app|pg_cron]\n"
                 "  schedule VIEW --mode incremental --target 1s [--nice 10]\n"
                 "                            merge when the freshness target needs it, at lower CPU priority\n"
                 "  unschedule VIEW\n"
                 "  run-schedules             run the app's schedules until Ctrl-C\n"
                 "  capture VIEW --mode sql|c how an incremental view captures changes: statement triggers\n"
                 "                            (sql) or the htap_capture extension's row triggers in C (c)\n\n"
                 "VIEW is spelled as in SQL: sales_hourly_mv, public.\"Sales MV\". Without --conn: the sandbox.\n";
        return ExitOk;
    }
    QCommandLineParser parser;
    const QCommandLineOption mode(u"mode"_s, u"refresh: plain, concurrent, incremental (merge) or rebuild; capture: sql or c"_s, u"mode"_s);
    const QCommandLineOption lockTimeout(u"lock-timeout"_s,
        u"refresh --mode plain: give up after this many ms waiting for readers (default 5000)"_s, u"ms"_s);
    const QCommandLineOption check(u"check"_s, u"enable-incremental: only check, and print the SQL it would install"_s);
    const QCommandLineOption limit(u"limit"_s, u"log: how many entries (default 50)"_s, u"n"_s);
    const QCommandLineOption every(u"every"_s, u"schedule: interval, e.g. 1s, 30s, 5m, 1h"_s, u"interval"_s);
    const QCommandLineOption runner(u"runner"_s, u"schedule: app (run-schedules or the GUI runs it) or pg_cron (default app)"_s, u"runner"_s);
    const QCommandLineOption seconds(u"seconds"_s, u"run-schedules: stop after this many seconds (default: until Ctrl-C)"_s, u"s"_s);
    const QCommandLineOption target(u"target"_s,
        u"schedule --mode incremental: adaptive cadence, merged when the oldest change would otherwise exceed this staleness, e.g. 1s"_s,
        u"interval"_s);
    const QCommandLineOption niceOption(u"nice"_s,
        u"schedule --mode incremental: run the merges at this lower CPU priority, 1..19 (prioritize extension)"_s, u"n"_s);
    parser.addOptions({connOption, jsonOption, mode, lockTimeout, check, limit, every, runner, seconds, target, niceOption});
    int code = ExitOk;
    if (!parseOptions(parser, args, u"Materialized views: list, refresh, incremental maintenance, refresh log."_s, &code))
        return code;
    // [mv, action, VIEW]: the action is the first word that is not an option, wherever the options are.
    const QStringList pos = parser.positionalArguments();
    const QString action = pos.value(1);
    if (!actions.contains(action))
        return fail(u"mv needs an action: %1 (see htapctl mv --help)"_s.arg(actions.join(u", "_s)), ExitUsage);
    const QString view = pos.value(2);
    const bool takesView = action != u"list"_s && action != u"run-schedules"_s;
    if (takesView && action != u"log"_s && view.isEmpty())
        return fail(u"mv %1 needs a view name"_s.arg(action), ExitUsage);
    if (pos.size() > (takesView ? 3 : 2))
        return fail(u"unexpected argument \"%1\" (see htapctl mv --help)"_s.arg(pos.value(takesView ? 3 : 2)), ExitUsage);
    // An option another action takes is a mistake to point out, not a setting to ignore.
    const QHash<QString, QList<const QCommandLineOption*>> takes {{u"list"_s, {&jsonOption}},
        {u"refresh"_s, {&jsonOption, &mode, &lockTimeout}}, {u"enable-incremental"_s, {&jsonOption, &check}},
        {u"disable-incremental"_s, {&jsonOption}}, {u"log"_s, {&jsonOption, &limit}}, {u"schedule"_s, {&mode, &every, &runner, &target, &niceOption}},
        {u"unschedule"_s, {}}, {u"run-schedules"_s, {&jsonOption, &seconds}}, {u"capture"_s, {&mode}}};
    for (const QCommandLineOption* o : {&jsonOption, &mode, &lockTimeout, &check, &limit, &every, &runner, &seconds, &target, &niceOption}) {
        if (parser.isSet(*o) && !takes.value(action).contains(o))
            return fail(u"--%1 does not apply to mv %2 (see htapctl mv %2 --help)"_s.arg(o->names().constLast(), action), ExitUsage);
    }
    RefreshMode refreshMode = RefreshMode::Plain;
    int everySeconds = 0;
    MergeOptions mergeOptions;
    if (action == u"schedule"_s) {
        static const QRegularExpression re(u"^(\\d+)\\s*(s|m|min|h)?$"_s);
        if (parser.isSet(every) == parser.isSet(target))
            return fail(u"mv schedule needs either --every N[s|m|h] (a fixed interval, e.g. --every 5m) or --target N[s|m|h] "
                        u"(incremental views: an adaptive cadence that keeps the view this fresh)"_s, ExitUsage);
        const QCommandLineOption& given = parser.isSet(every) ? every : target;
        const QRegularExpressionMatch m = re.match(parser.value(given).trimmed());
        if (!m.hasMatch())
            return fail(u"invalid --%1 \"%2\": N[s|m|h], e.g. 30s or 5m"_s.arg(given.names().constFirst(), parser.value(given)), ExitUsage);
        const QString unit = m.captured(2);
        everySeconds = m.captured(1).toInt() * (unit == u"h"_s ? 3600 : unit.startsWith(u'm') ? 60 : 1);
        if (everySeconds < 1 || everySeconds > 604800)
            return fail(u"invalid --%1 \"%2\": from 1 s to 7 days"_s.arg(given.names().constFirst(), parser.value(given)), ExitUsage);
        mergeOptions.adaptive = parser.isSet(target);
        if (parser.isSet(niceOption)) {
            bool ok = false;
            mergeOptions.nice = parser.value(niceOption).toInt(&ok);
            if (!ok || mergeOptions.nice < 0 || mergeOptions.nice > 19)
                return fail(u"invalid --nice \"%1\": a level from 0 (normal) to 19 (lowest)"_s.arg(parser.value(niceOption)), ExitUsage);
        }
        if (parser.isSet(runner) && parser.value(runner) != u"app"_s && parser.value(runner) != u"pg_cron"_s)
            return fail(u"invalid --runner \"%1\": app or pg_cron"_s.arg(parser.value(runner)), ExitUsage);
    }
    if (action == u"capture"_s && parser.value(mode) != u"sql"_s && parser.value(mode) != u"c"_s)
        return fail(parser.isSet(mode) ? u"invalid --mode \"%1\": expected sql (statement triggers) or c (row triggers in C)"_s.arg(parser.value(mode))
                                       : u"mv capture needs --mode sql|c"_s,
            ExitUsage);
    if (action == u"refresh"_s || action == u"schedule"_s) {
        if (!parser.isSet(mode))
            return fail(u"mv %1 needs --mode plain|concurrent|incremental%2"_s.arg(action, action == u"refresh"_s ? u"|rebuild"_s : QString()), ExitUsage);
        if (!parseMode(parser.value(mode), &refreshMode))
            return fail(u"invalid --mode \"%1\": expected plain, concurrent, incremental or rebuild"_s.arg(parser.value(mode)), ExitUsage);
        if (action == u"schedule"_s && refreshMode == RefreshMode::Rebuild)
            return fail(u"rebuilds are not scheduled: they are for repairs (--mode plain, concurrent or incremental)"_s, ExitUsage);
    }
    double lockMs = 5000, limitValue = 50, limitSeconds = 0;
    if (!parseNumber(parser, lockTimeout, 0, 3600000, &lockMs, &code) || !parseNumber(parser, limit, 1, 100000, &limitValue, &code)
        || !parseNumber(parser, seconds, 1, 86400 * 365, &limitSeconds, &code))
        return code;
    ConnInfo info;
    if (!parseConn(parser, &info, &code))
        return code;
    if (!parser.isSet(connOption))
        info = htap::pg::Sandbox().connInfo();
    htap::pg::Connection conn;
    if (PgError e = connectInteractive(conn, info, {10000, u"htapctl mv"_s}))
        return fail(e.oneLine());
    // A name the server cannot even parse (an unbalanced quote, four dotted parts) is bad input,
    // not a view that happens to be missing.
    if (!view.isEmpty()) {
        if (const htap::pg::Result r = conn.exec(u"SELECT to_regclass($1)"_s, {view}); !r.ok())
            return fail(u"%1 is not a valid view name: %2"_s.arg(view, r.error().message), ExitUsage);
    }
    MvService service(conn);
    // --check runs on a connection of its own, opened as this one was.
    service.setConnInfo(info);
    // What an earlier command left half done when it was killed (or the server stopped under
    // it) is finished first, whatever this command is, and told on stderr.
    for (const Recovery& r : service.recoverInterrupted())
        err() << "htapctl: " << (r.ok ? "note: " : "warning: ") << r.view << ": " << r.message << Qt::endl;
    const bool json = parser.isSet(jsonOption);
    if (action == u"list"_s) {
        QString error;
        const QList<ViewInfo> views = service.list(&error);
        if (!error.isEmpty())
            return fail(error);
        const QList<Schedule> schedules = service.schedules(&error);
        if (json) {
            QJsonArray a;
            const int cores = localServerCores(conn);
            for (const ViewInfo& v : views) {
                QJsonObject o = v.toJson();
                if (v.incremental && cores > 0)
                    o.insert(u"writers_share_lost"_s, v.writersShareLost(cores));
                for (const Schedule& sch : schedules)
                    if (sch.view == v.label())
                        o.insert(u"schedule"_s, sch.toJson());
                a << o;
            }
            printJson(a);
            return ExitOk;
        }
        if (views.isEmpty())
            out() << "no materialized views in database " << conn.effectiveInfo().value(u"dbname"_s) << Qt::endl;
        for (const ViewInfo& v : views) {
            out() << v.label() << Qt::endl;
            out() << "  mode:        " << (v.incremental ? u"incremental ("_s + v.ivmState + u")"_s : u"materialized"_s)
                  << ", " << humanBytes(v.totalBytes) << (v.populated ? "" : ", not populated") << Qt::endl;
            if (v.incremental) {
                out() << "  pending:     " << v.pendingRows << " changes, oldest " << humanSeconds(v.oldestPendingSeconds)
                      << ", last merge " << QString::number(v.lastMergeMs, 'f', 1) << " ms" << Qt::endl;
                const int cores = localServerCores(conn);
                out() << "  capture:     " << v.captureModeText()
                      << (v.captureSharedWith.isEmpty() ? QString() : u", shared with "_s + v.captureSharedWith.join(u", "_s))
                      << "; merges in the last minute: " << v.mergesLastMinute << ", "
                      << QString::number(v.mergeSecondsPerSecond, 'f', 3) << " s per s";
                if (cores > 0)
                    out() << ", about " << QString::number(100 * v.writersShareLost(cores), 'f', 1) << " % of the writers' CPU ("
                          << cores << " cores)";
                out() << Qt::endl;
                if (!v.ivmReason.isEmpty())
                    out() << "  rebuild:     needed: " << v.ivmReason << Qt::endl;
                if (v.engineOutdated())
                    out() << "  engine:      built by an older HTAP Studio (generation " << v.engineVersion << ", now "
                          << kIvmEngineVersion << "): disable-incremental and enable-incremental to get its fixes" << Qt::endl;
            } else {
                out() << "  concurrent:  " << (v.concurrentBlocker.isEmpty() ? u"possible"_s : u"not possible: "_s + v.concurrentBlocker)
                      << Qt::endl;
            }
            out() << "  staleness:   " << humanSeconds(v.stalenessSeconds);
            if (v.lastRefresh.isValid())
                out() << " (last " << v.lastMode << " at " << v.lastRefresh.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s)
                      << ", took " << humanSeconds(v.lastDurationSeconds) << ")";
            out() << Qt::endl;
            for (const Schedule& sch : std::as_const(schedules))
                if (sch.view == v.label())
                    out() << "  schedule:    " << modeName(sch.mode) << ", " << sch.describe() << ", by " << sch.runner << Qt::endl;
            if (v.refreshingPid)
                out() << "  refreshing:  now, by pid " << v.refreshingPid << Qt::endl;
        }
        return ExitOk;
    }
    if (action == u"log"_s) {
        QString error;
        const QList<RefreshLogEntry> entries = service.log(view, int(limitValue), &error);
        if (!error.isEmpty())
            return fail(error);
        if (json) {
            QJsonArray a;
            for (const RefreshLogEntry& e : entries)
                a << e.toJson();
            printJson(a);
            return ExitOk;
        }
        for (const RefreshLogEntry& e : entries) {
            out() << e.started.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s) << "  " << qSetFieldWidth(24) << Qt::left
                  << e.view << qSetFieldWidth(12) << e.mode << qSetFieldWidth(10) << e.outcome << qSetFieldWidth(0)
                  << humanSeconds(e.seconds()) << (e.rows >= 0 ? u", %1 rows"_s.arg(e.rows) : QString())
                  << (e.message.isEmpty() ? QString() : u"  "_s + (e.sqlstate.isEmpty() ? QString() : e.sqlstate + u": "_s) + e.message)
                  << Qt::endl;
        }
        return ExitOk;
    }
    if (action == u"refresh"_s) {
        const RefreshOutcome r = interruptible(conn, service, [&] { return service.refresh(view, refreshMode, int(lockMs)); });
        if (json) {
            QJsonObject o = r.toJson();
            o.insert(u"view"_s, view);
            o.insert(u"mode"_s, modeName(refreshMode));
            printJson(o);
        } else if (r.ok) {
            out() << view << ": " << modeName(refreshMode) << " refresh done in " << QString::number(r.seconds, 'f', 3) << " s"
                  << (r.rows >= 0 ? u", %1 %2"_s.arg(r.rows).arg(refreshMode == RefreshMode::Incremental ? u"changes merged"_s : u"rows"_s)
                                  : QString())
                  << Qt::endl;
        }
        if (!r.ok)
            return json ? ExitFailure : fail(r.message);
        return ExitOk;
    }
    if (action == u"schedule"_s) {
        const QString e = service.setSchedule(view, refreshMode, everySeconds, parser.isSet(runner) ? parser.value(runner) : u"app"_s,
            mergeOptions);
        if (!e.isEmpty())
            return fail(e);
        Schedule shown;
        shown.everySeconds = everySeconds;
        shown.cadence = mergeOptions.adaptive ? u"adaptive"_s : u"fixed"_s;
        shown.nice = mergeOptions.nice;
        out() << view << ": " << modeName(refreshMode) << ", " << shown.describe() << ", run by "
              << (parser.value(runner) == u"pg_cron"_s ? u"pg_cron"_s : u"the app (htap-studio, or htapctl mv run-schedules)"_s) << Qt::endl;
        return ExitOk;
    }
    if (action == u"capture"_s) {
        const QString e = service.setCaptureMode(view, parser.value(mode));
        if (!e.isEmpty())
            return fail(e);
        out() << view << ": captures with " << (parser.value(mode) == u"c"_s ? "row triggers in C (c)" : "statement triggers (sql)")
              << Qt::endl;
        return ExitOk;
    }
    if (action == u"unschedule"_s) {
        const QString e = service.clearSchedule(view);
        if (!e.isEmpty())
            return fail(e);
        out() << view << ": no schedule" << Qt::endl;
        return ExitOk;
    }
    if (action == u"run-schedules"_s) {
        // The app-run schedules, headless: fixed ones at most once per interval, adaptive ones
        // when their freshness target needs it, one run at a time.
        static std::atomic<bool> interrupted {false};
        std::signal(SIGINT, [](int) { interrupted = true; });
        std::signal(SIGTERM, [](int) { interrupted = true; });
        qint64 runs = 0, failures = 0;
        ScheduleRunner scheduleRunner(conn, info);
        const QString e = scheduleRunner.run(&interrupted, limitSeconds,
            [&](const ScheduleRunner::Run& r) {
                ++runs;
                if (!r.outcome.ok) {
                    ++failures;
                    err() << "htapctl: " << r.view << ": " << modeName(r.mode) << " failed: " << r.outcome.message << Qt::endl;
                } else if (json) {
                    QJsonObject o = r.outcome.toJson();
                    o.insert(u"view"_s, r.view);
                    o.insert(u"mode"_s, modeName(r.mode));
                    o.insert(u"nice"_s, r.nice);
                    out() << QJsonDocument(o).toJson(QJsonDocument::Compact) << Qt::endl;
                }
            },
            [](const QString& warning) { err() << "htapctl: warning: " << warning << Qt::endl; });
        if (!e.isEmpty())
            return fail(e);
        out() << runs << " scheduled refreshes run, " << failures << " failed" << Qt::endl;
        return failures ? ExitFailure : ExitOk;
    }
    if (action == u"enable-incremental"_s) {
        if (parser.isSet(check)) {
            QString plan;
            const QString e = service.checkIncremental(view, &plan);
            if (!e.isEmpty())
                return fail(e);
            out() << plan;
            return ExitOk;
        }
        QString notes;
        const QString e = interruptible(conn, service, [&] { return service.enableIncremental(view, &notes); });
        if (json) {
            printJson(QJsonObject {{u"view"_s, view}, {u"ok"_s, e.isEmpty()}, {u"message"_s, e.isEmpty() ? notes : e}});
            return e.isEmpty() ? ExitOk : ExitFailure;
        }
        if (!e.isEmpty())
            return fail(e);
        out() << notes << Qt::endl;
        return ExitOk;
    }
    // disable-incremental
    const QString e = interruptible(conn, service, [&] { return service.disableIncremental(view); });
    if (json) {
        printJson(QJsonObject {{u"view"_s, view}, {u"ok"_s, e.isEmpty()}, {u"message"_s, e}});
        return e.isEmpty() ? ExitOk : ExitFailure;
    }
    if (!e.isEmpty())
        return fail(e);
    out() << view << ": a materialized view again (built WITH DATA); the engine's objects are removed" << Qt::endl;
    return ExitOk;
}

} // namespace htap::cli
