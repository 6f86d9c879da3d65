#include "htapctl.h"

#include "common.h"
#include "demoload.h"
#include "terminal.h"

#include <monitor/activitycollector.h>
#include <monitor/samplejson.h>
#include <mv/ivmsql.h>
#include <mv/mvservice.h>
#include <report/reportwriter.h>
#include <workload/comparison.h>
#include <workload/runner.h>
#include <pg/connection.h>
#include <pg/identifier.h>
#include <pg/sandbox.h>
#include <store/historystore.h>

#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSaveFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTextStream>
#include <QSocketNotifier>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

#include <cmath>

namespace htap::cli {

using namespace Qt::StringLiterals;
using htap::pg::ConnInfo;
using htap::pg::PgError;

namespace {

const char* kUsage = R"(Usage: htapctl <command> [options]

HTAP Studio's command line: the same libraries as the GUI, no widgets.

Commands:
  ping       Connect to a server and report version, latency and pg_stat_statements
  watch      Print server activity (transactions/s, sessions by state) every interval
  monitor    Sample everything the GUI shows (latency, locks, vacuum, views, replication) as JSON
  sandbox    Manage the private PostgreSQL sandbox: start, stop, status, destroy, conninfo
  demo       Start the sandbox, run a light order-entry load and watch it (the headless demo)
  scenario   Mixed-load scenarios: scenario list | validate FILE | run PRESET|FILE
  mv         Materialized views: mv list | refresh VIEW --mode M | enable-incremental VIEW |
             disable-incremental VIEW | log [VIEW] | schedule VIEW --mode M --every 5m |
             unschedule VIEW | run-schedules
  roles      Role resource settings: show, plan, apply, undo, log, sessions, wizard, renice
  snapshot   Performance snapshots: export a window (JSON, CSV, HTML, PDF, PNG), show, diff, list
  bench      Benchmarks that print numbers against a baseline run: bench monitor

Options:
  -h, --help     Show this help (also: htapctl <command> --help)
  -v, --version  Show the version

Connections are libpq conninfo strings or postgresql:// URIs (--conn); what they leave out
comes from PG* environment variables, pg_service.conf and ~/.pgpass, as with psql.

Exit codes: 0 success, 1 the operation failed, 2 bad usage or invalid input.
)";

const QCommandLineOption dirOption(u"dir"_s, u"Sandbox folder (default: %1)"_s.arg(htap::pg::Sandbox::defaultDir()),
    u"folder"_s);

int cmdPing(const QStringList& args)
{
    QCommandLineParser parser;
    const QCommandLineOption timeout(u"timeout"_s, u"Connect timeout in seconds (default 10)"_s, u"seconds"_s);
    parser.addOptions({connOption, timeout, jsonOption});
    int code = ExitOk;
    if (!parseOptions(parser, args, u"Connect and report server version, latency and pg_stat_statements."_s, &code))
        return code;
    ConnInfo info;
    double timeoutSeconds = 10;
    if (!parseConn(parser, &info, &code) || !parseNumber(parser, timeout, 0.1, 3600, &timeoutSeconds, &code))
        return code;

    htap::pg::Connection conn;
    QElapsedTimer clock;
    clock.start();
    if (PgError e = connectInteractive(conn, info, {int(timeoutSeconds * 1000), u"htapctl ping"_s}))
        return fail(e.oneLine());
    const double connectMs = clock.nsecsElapsed() / 1e6;

    QList<double> trips;
    for (int i = 0; i < 5; ++i) {
        clock.restart();
        const auto r = conn.exec(u"SELECT 1"_s);
        if (!r.ok())
            return fail(r.error().oneLine());
        trips << clock.nsecsElapsed() / 1e6;
    }
    std::sort(trips.begin(), trips.end());
    const double rttMs = trips[trips.size() / 2];

    // pg_stat_statements needs both: the library preloaded and the extension in this database.
    // Reading the view tells both without superuser rights (shared_preload_libraries is not
    // readable by everyone).
    const QString extVersion
        = conn.exec(u"SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'"_s).text(0, 0);
    bool usable = false;
    QString pgss;
    if (extVersion.isEmpty()) {
        const bool installable
            = conn.exec(u"SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements'"_s).rowCount() == 1;
        pgss = installable ? u"not created in this database (CREATE EXTENSION pg_stat_statements; it must also be "
                              "in shared_preload_libraries)"_s
                           : u"not installed on the server (postgresql-contrib)"_s;
    } else {
        const auto probe = conn.exec(u"SELECT 1 FROM pg_stat_statements LIMIT 1"_s);
        usable = probe.ok();
        if (usable)
            pgss = u"available (%1)"_s.arg(extVersion);
        else if (probe.error().sqlstate == u"55000"_s)
            pgss = u"created but not in shared_preload_libraries (add it and restart the server)"_s;
        else
            pgss = u"not readable: %1"_s.arg(probe.error().oneLine());
    }

    const QString endpoint = conn.effectiveInfo().displayName();
    if (parser.isSet(jsonOption)) {
        const QJsonObject o {{u"server"_s, endpoint}, {u"version"_s, conn.serverVersion()},
            {u"versionNum"_s, conn.serverVersionNum()}, {u"connectMs"_s, connectMs}, {u"roundTripMs"_s, rttMs},
            {u"pgStatStatements"_s, usable}, {u"pgStatStatementsStatus"_s, pgss},
            {u"pgStatStatementsVersion"_s, extVersion}};
        out() << QJsonDocument(o).toJson(QJsonDocument::Compact) << Qt::endl;
    } else {
        out() << "server:             " << endpoint << Qt::endl
              << "version:            PostgreSQL " << conn.serverVersion() << Qt::endl
              << "connect:            " << QString::number(connectMs, 'f', 1) << " ms" << Qt::endl
              << "round trip:         " << QString::number(rttMs, 'f', 2) << " ms (median of 5)" << Qt::endl
              << "pg_stat_statements: " << pgss << Qt::endl;
    }
    return ExitOk;
}

QString statusText(const htap::pg::SandboxStatus& s)
{
    if (!s.initialized)
        return u"no sandbox in %1"_s.arg(s.dir);
    QString text = s.running ? u"running on 127.0.0.1:%1 (pid %2)"_s.arg(s.port).arg(s.pid) : u"stopped"_s;
    text += u"\nfolder:     %1\nserver:     %2\ndemo data:  %3\nlog:        %4"_s.arg(s.dir, s.binDir,
        s.loaded ? u"scale %1"_s.arg(s.scale) : u"not loaded"_s, s.logFile);
    return text;
}

int cmdSandbox(const QStringList& args)
{
    const QString action = args.value(1);
    static const QStringList actions {u"start"_s, u"stop"_s, u"status"_s, u"destroy"_s, u"conninfo"_s};
    if (action == u"--help"_s || action == u"-h"_s) {
        out() << "Usage: htapctl sandbox start|stop|status|destroy|conninfo [--dir D] [options]\n"
                 "  start     [--port P] [--scale N]  create on first use, start, load the shop schema\n"
                 "  stop                             stop the server, keeping its data\n"
                 "  status    [--json]               whether it exists and runs, its port and folder\n"
                 "  destroy   [--yes]                stop it and delete its folder\n"
                 "  conninfo                         print a conninfo string for psql or --conn\n"
                 "Scale 1 is about 100k orders, 300k items, 10k users, 1k products.\n";
        return ExitOk;
    }
    if (!actions.contains(action))
        return fail(action.isEmpty() ? u"sandbox needs an action: start, stop, status, destroy or conninfo"_s
                                     : u"unknown sandbox action \"%1\" (expected start, stop, status, destroy or conninfo)"_s.arg(action),
            ExitUsage);

    QCommandLineParser parser;
    const QCommandLineOption port(u"port"_s, u"TCP port on 127.0.0.1 (default: saved or a free one)"_s, u"port"_s);
    const QCommandLineOption scale(u"scale"_s, u"Demo data size on first load (default 1 = about 100k orders)"_s, u"n"_s);
    const QCommandLineOption yes(u"yes"_s, u"Do not ask before deleting the sandbox"_s);
    parser.addOptions({dirOption, port, scale, yes, jsonOption});
    int code = ExitOk;
    if (!parseOptions(parser, args.mid(1), u"Manage the private PostgreSQL sandbox."_s, &code))
        return code;
    if (parser.positionalArguments().size() > 1)
        return fail(u"unexpected argument \"%1\""_s.arg(parser.positionalArguments().value(1)), ExitUsage);
    double portValue = 0, scaleValue = 1;
    if (!parseNumber(parser, port, 1, 65535, &portValue, &code) || !parseNumber(parser, scale, 0.001, 1000, &scaleValue, &code))
        return code;

    htap::pg::Sandbox sandbox(parser.isSet(dirOption) ? parser.value(dirOption) : htap::pg::Sandbox::defaultDir());
    QString error;
    if (action == u"start"_s) {
        QElapsedTimer clock;
        clock.start();
        const bool ok = sandbox.start(int(portValue), scaleValue,
            [](const QString& step) { err() << "sandbox: " << step << Qt::endl; }, &error);
        if (!ok)
            return fail(error);
        err() << "sandbox: ready in " << QString::number(clock.elapsed() / 1000.0, 'f', 1) << " s" << Qt::endl;
        out() << sandbox.connInfo().toConnString() << Qt::endl;
        return ExitOk;
    }
    if (action == u"stop"_s) {
        const bool wasRunning = sandbox.status().running;
        if (!sandbox.stop(&error))
            return fail(error);
        out() << (wasRunning ? "sandbox stopped" : "sandbox was not running") << Qt::endl;
        return ExitOk;
    }
    if (action == u"status"_s) {
        const auto s = sandbox.status();
        if (parser.isSet(jsonOption)) {
            const QJsonObject o {{u"dir"_s, s.dir}, {u"initialized"_s, s.initialized}, {u"running"_s, s.running},
                {u"port"_s, s.port}, {u"pid"_s, s.pid}, {u"loaded"_s, s.loaded}, {u"scale"_s, s.scale},
                {u"binDir"_s, s.binDir}, {u"logFile"_s, s.logFile},
                {u"conninfo"_s, s.initialized ? sandbox.connInfo().toConnString() : QString()}};
            out() << QJsonDocument(o).toJson(QJsonDocument::Compact) << Qt::endl;
        } else {
            out() << statusText(s) << Qt::endl;
        }
        return s.initialized ? ExitOk : ExitFailure;
    }
    if (action == u"conninfo"_s) {
        const auto s = sandbox.status();
        if (!s.initialized)
            return fail(u"no sandbox in %1 (run: htapctl sandbox start)"_s.arg(s.dir));
        if (!s.running)
            err() << "htapctl: warning: the sandbox is stopped (run: htapctl sandbox start)" << Qt::endl;
        out() << sandbox.connInfo().toConnString() << Qt::endl;
        return ExitOk;
    }
    // destroy
    if (!parser.isSet(yes)) {
        if (!::isatty(STDIN_FILENO))
            return fail(u"destroy deletes %1 and all its data; pass --yes to confirm"_s.arg(sandbox.dir()), ExitUsage);
        err() << "Delete the sandbox in " << sandbox.dir() << " and all its data? [y/N] " << Qt::flush;
        char answer[16] = {};
        if (!std::fgets(answer, sizeof answer, stdin) || (answer[0] != 'y' && answer[0] != 'Y'))
            return fail(u"not confirmed; nothing deleted"_s);
    }
    if (!sandbox.destroy(&error))
        return fail(error);
    out() << "sandbox deleted: " << sandbox.dir() << Qt::endl;
    return ExitOk;
}

/// What every command that runs a collector does with its trouble: a failed connect ends it
/// with a one-line error, an outage is told on stderr, a password is asked for on a terminal.
void reportCollectorTrouble(htap::monitor::ActivityCollector& collector, QEventLoop& loop, int& code)
{
    using namespace htap::monitor;
    QObject::connect(&collector, &ActivityCollector::stateChanged, &loop, [&](ConnectionState state, const QString& text) {
        if (state == ConnectionState::Failed) {
            code = fail(text);
            loop.quit();
        } else if (state == ConnectionState::Reconnecting || state == ConnectionState::NotResponding) {
            err() << "htapctl: " << text << Qt::endl;
        }
    });
    QObject::connect(&collector, &ActivityCollector::passwordRequired, &loop, [&](const ConnInfo& needs) {
        const QString pw = promptPassword(u"Password for %1: "_s.arg(needs.displayName()));
        if (pw.isEmpty()) {
            code = fail(u"the server asks for a password and none was given (PGPASSWORD, ~/.pgpass or a terminal)"_s);
            loop.quit();
        } else {
            collector.connectTo(needs.with(u"password"_s, pw));
        }
    });
}

/// Prints activity samples until `seconds` have passed (0: until interrupted).
int watchActivity(const ConnInfo& info, double seconds, int intervalMs, bool json)
{
    using namespace htap::monitor;
    ActivityCollector collector;
    collector.setInterval(intervalMs);
    QEventLoop loop;
    int code = ExitOk;
    int lines = 0;
    reportCollectorTrouble(collector, loop, code);
    QObject::connect(&collector, &ActivityCollector::connected, &loop, [&](const ServerInfo& s) {
        if (!json)
            err() << "watching " << s.endpoint << " (PostgreSQL " << s.version << ")" << Qt::endl;
    });
    QObject::connect(&collector, &ActivityCollector::activityAvailable, &loop, [&](const ActivitySample& s) {
        if (!s.hasRates)
            return; // the first sample is only a baseline
        if (json) {
            const QJsonObject o {{u"time"_s, s.sampledAt.toString(Qt::ISODateWithMs)},
                {u"commitsPerSecond"_s, s.commitsPerSecond}, {u"rollbacksPerSecond"_s, s.rollbacksPerSecond},
                {u"active"_s, s.active}, {u"idle"_s, s.idle}, {u"idleInTransaction"_s, s.idleInTransaction},
                {u"waitingOnLock"_s, s.waitingOnLock}};
            out() << QJsonDocument(o).toJson(QJsonDocument::Compact) << Qt::endl;
            return;
        }
        if (lines++ % 20 == 0)
            out() << "time          commit/s  rollback/s  active  idle  idle-in-tx  lock-wait" << Qt::endl;
        out() << qSetFieldWidth(12) << Qt::left << s.sampledAt.toLocalTime().toString(u"HH:mm:ss.zzz"_s)
              << qSetFieldWidth(10) << Qt::right << QString::number(s.commitsPerSecond, 'f', 1)
              << qSetFieldWidth(12) << QString::number(s.rollbacksPerSecond, 'f', 1) << qSetFieldWidth(8)
              << s.active << qSetFieldWidth(6) << s.idle << qSetFieldWidth(12) << s.idleInTransaction
              << qSetFieldWidth(11) << s.waitingOnLock << qSetFieldWidth(0) << Qt::endl;
    });
    if (seconds > 0)
        QTimer::singleShot(int(seconds * 1000), &loop, &QEventLoop::quit);
    collector.connectTo(info);
    loop.exec();
    return code;
}

int cmdWatch(const QStringList& args)
{
    QCommandLineParser parser;
    const QCommandLineOption seconds(u"seconds"_s, u"Stop after this many seconds (default 10, 0 = until Ctrl-C)"_s, u"s"_s);
    const QCommandLineOption interval(u"interval"_s, u"Sample interval in milliseconds (default 1000)"_s, u"ms"_s);
    parser.addOptions({connOption, seconds, interval, jsonOption});
    int code = ExitOk;
    if (!parseOptions(parser, args, u"Print server activity every interval."_s, &code))
        return code;
    ConnInfo info;
    double secondsValue = 10, intervalValue = 1000;
    if (!parseConn(parser, &info, &code) || !parseNumber(parser, seconds, 0, 86400 * 7, &secondsValue, &code)
        || !parseNumber(parser, interval, 100, 3600000, &intervalValue, &code))
        return code;
    return watchActivity(info, secondsValue, int(intervalValue), parser.isSet(jsonOption));
}

/// A short text rendering of a sample for a terminal.
void printSample(const htap::monitor::ServerSample& s)
{
    using namespace htap::monitor;
    const ActivitySample& a = s.activity;
    out() << "activity:   " << QString::number(a.commitsPerSecond, 'f', 1) << " commits/s, "
          << QString::number(a.rollbacksPerSecond, 'f', 1) << " rollbacks/s, " << a.active << " active, "
          << a.idleInTransaction << " idle in transaction, " << a.waitingOnLock << " waiting on a lock" << Qt::endl;
    if (s.latency && s.latency->hasDeltas) {
        for (const LatencyFigures& f : s.latency->classes)
            out() << "latency:    " << qSetFieldWidth(6) << Qt::left << f.name << qSetFieldWidth(0)
                  << QString::number(f.callsPerSecond, 'f', 1) << " calls/s, mean "
                  << QString::number(f.meanExecMs, 'f', 3) << " ms, " << f.activeNow << " running (oldest "
                  << QString::number(f.oldestActiveSeconds, 'f', 1) << " s)" << Qt::endl;
    }
    if (s.locks) {
        out() << "locks:      " << s.locks->waitingSessions << " waiting";
        for (int root : s.locks->roots)
            out() << "; root " << (root == 0 ? u"[prepared xact]"_s : QString::number(root)) << " blocks "
                  << s.locks->totalWaitersUnder(root);
        out() << Qt::endl;
    }
    if (s.vacuum) {
        out() << "horizon:    xid age " << s.vacuum->horizonAge;
        if (!s.vacuum->holders.isEmpty()) {
            const XminHolder& h = s.vacuum->holders.first();
            out() << ", oldest holder " << h.kind << " " << h.holder << " (" << h.state << ", "
                  << QString::number(h.heldSeconds, 'f', 0) << " s)";
        }
        out() << Qt::endl;
        for (int i = 0; i < std::min<qsizetype>(5, s.vacuum->tables.size()); ++i) {
            const TableVacuum& t = s.vacuum->tables[i];
            out() << "vacuum:     " << t.table << ": " << t.deadTuples << " dead, "
                  << QString::number(t.pctOfTrigger, 'f', 1) << "% of its autovacuum trigger" << Qt::endl;
        }
    }
    if (s.views)
        for (const ViewState& v : s.views->views)
            out() << "view:       " << v.view << (v.populated ? "" : " (not populated)") << ", staleness "
                  << (v.stalenessSeconds >= 0 ? QString::number(v.stalenessSeconds, 'f', 0) + u" s"_s
                                              : u"unknown (no refresh in the registry)"_s)
                  << Qt::endl;
    for (auto it = s.unavailable.cbegin(); it != s.unavailable.cend(); ++it)
        out() << "unavailable: " << it.value() << Qt::endl;
}

/// On Ctrl-C or SIGTERM, calls stop (once per signal) from the event loop and says so; with
/// partialResult, that the result will be marked partial.
void stopOnInterrupt(QObject* context, const std::function<void()>& stop, bool partialResult = false);

int cmdMonitor(const QStringList& args)
{
    using namespace htap::monitor;
    QCommandLineParser parser;
    const QCommandLineOption once(u"once"_s, u"Print one complete sample (after a one-interval baseline) and exit"_s);
    const QCommandLineOption interval(u"interval"_s, u"Seconds between samples (default 1)"_s, u"s"_s);
    const QCommandLineOption duration(u"duration"_s, u"Stop after this many seconds (default: until Ctrl-C)"_s, u"s"_s);
    const QCommandLineOption outFile(u"out"_s, u"Append samples to this file, one JSON document a line"_s, u"file.jsonl"_s);
    const QCommandLineOption oltpRoles(u"oltp-roles"_s, u"Roles whose statements are OLTP (default oltp_user; * and ? match)"_s, u"list"_s);
    const QCommandLineOption olapRoles(u"olap-roles"_s, u"Roles whose statements are OLAP (default olap_user)"_s, u"list"_s);
    const QCommandLineOption history(u"history"_s,
        u"Also keep every sample in the history file (as the GUI does), for snapshot export; default file: %1"_s.arg(
            htap::store::HistoryStore::defaultPath()),
        u"file"_s);
    const QCommandLineOption keepHistory(u"keep-history"_s, u"Keep every sample in the default history file"_s);
    parser.addOptions({connOption, once, interval, duration, outFile, jsonOption, oltpRoles, olapRoles, history, keepHistory});
    int code = ExitOk;
    if (!parseOptions(parser, args, u"Sample everything the GUI shows, as text or JSON."_s, &code))
        return code;
    ConnInfo info;
    double intervalValue = 1, durationValue = 0;
    if (!parseConn(parser, &info, &code) || !parseNumber(parser, interval, 0.1, 3600, &intervalValue, &code)
        || !parseNumber(parser, duration, 0, 86400 * 30, &durationValue, &code))
        return code;
    const bool json = parser.isSet(jsonOption) || parser.isSet(outFile);

    QFile file;
    if (parser.isSet(outFile)) {
        file.setFileName(parser.value(outFile));
        if (!file.open(QIODevice::Append | QIODevice::Text))
            return fail(u"cannot write %1: %2"_s.arg(file.fileName(), file.errorString()));
    }

    std::unique_ptr<htap::store::HistoryStore> store;
    if (parser.isSet(history) || parser.isSet(keepHistory)) {
        store = std::make_unique<htap::store::HistoryStore>();
        QEventLoop opening;
        QString historyError;
        QObject::connect(store.get(), &htap::store::HistoryStore::opened, &opening, &QEventLoop::quit);
        QObject::connect(store.get(), &htap::store::HistoryStore::failed, &opening, [&](const QString& m) {
            historyError = m;
            opening.quit();
        });
        store->open(parser.isSet(history) ? parser.value(history) : htap::store::HistoryStore::defaultPath());
        opening.exec();
        if (!historyError.isEmpty())
            return fail(historyError);
    }

    ActivityCollector collector;
    collector.setInterval(int(intervalValue * 1000));
    if (parser.isSet(once))
        collector.setSlowEvery(1);
    WorkloadClassifier classifier;
    if (parser.isSet(oltpRoles))
        classifier.oltpRoles = parser.value(oltpRoles).split(u',', Qt::SkipEmptyParts);
    if (parser.isSet(olapRoles))
        classifier.olapRoles = parser.value(olapRoles).split(u',', Qt::SkipEmptyParts);
    collector.setClassifier(classifier);
    QEventLoop loop;
    QString endpoint;
    int samples = 0;
    reportCollectorTrouble(collector, loop, code);
    QObject::connect(&collector, &ActivityCollector::connected, &loop, [&](const ServerInfo& s) { endpoint = s.endpoint; });
    QObject::connect(&collector, &ActivityCollector::sampleAvailable, &loop, [&](const ServerSample& s) {
        ++samples;
        if (store)
            store->append(endpoint, s.sampledAt, toJson(s, endpoint));
        if (parser.isSet(once) && samples < 2)
            return; // the first sample is the baseline for rates and deltas
        if (json) {
            const QByteArray line = QJsonDocument(toJson(s, endpoint))
                                        .toJson(parser.isSet(once) && !file.isOpen() ? QJsonDocument::Indented
                                                                                      : QJsonDocument::Compact);
            if (file.isOpen()) {
                file.write(line.trimmed() + '\n');
                file.flush();
            } else {
                out() << QString::fromUtf8(line.trimmed()) << Qt::endl;
            }
        } else {
            if (!parser.isSet(once))
                out() << "--- " << s.sampledAt.toLocalTime().toString(u"HH:mm:ss"_s) << Qt::endl;
            printSample(s);
        }
        if (parser.isSet(once))
            loop.quit();
    });
    if (durationValue > 0)
        QTimer::singleShot(int(durationValue * 1000), &loop, &QEventLoop::quit);
    stopOnInterrupt(&loop, [&] { loop.quit(); });
    collector.connectTo(info);
    loop.exec();
    if (store) { // what is queued goes to the file before we exit
        QEventLoop flushing;
        QObject::connect(store.get(), &htap::store::HistoryStore::flushed, &flushing, &QEventLoop::quit);
        store->flush();
        flushing.exec();
    }
    if (file.isOpen() && file.error() != QFileDevice::NoError)
        return fail(u"writing %1 failed: %2"_s.arg(file.fileName(), file.errorString()));
    return code;
}

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

/// Loads a preset by name or a scenario file, printing what is wrong with it.
bool loadScenario(const QString& nameOrFile, htap::workload::Scenario* scenario, int* code)
{
    using namespace htap::workload;
    QByteArray json = presetJson(nameOrFile);
    QString baseDir;
    if (json.isEmpty()) {
        QFile f(nameOrFile);
        if (!f.open(QIODevice::ReadOnly)) {
            *code = fail(u"no preset named \"%1\" and cannot read it as a file: %2 (presets: %3)"_s.arg(
                             nameOrFile, f.errorString(), presetNames().join(u", "_s)),
                ExitUsage);
            return false;
        }
        json = f.readAll();
        baseDir = QFileInfo(nameOrFile).absolutePath();
    }
    QStringList errors, warnings;
    const bool ok = Scenario::fromJson(json, scenario, &errors, &warnings, baseDir);
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

/// Ctrl-C and SIGTERM ask a run to stop (it then cancels what is in flight, restores what it
/// changed and writes a partial result) instead of killing the process mid-way.
std::atomic<bool>& interruptFlag()
{
    static std::atomic<bool> flag {false};
    return flag;
}

/// The write end of the pipe that wakes the event loop on Ctrl-C (-1: none).
std::atomic<int>& interruptPipe()
{
    static std::atomic<int> fd {-1};
    return fd;
}

/// Ctrl-C and SIGTERM end the process again, and the handler has no pipe to write to.
void restoreSignals()
{
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    interruptPipe() = -1;
}

void stopOnInterrupt(QObject* context, const std::function<void()>& stop, bool partialResult)
{
    // The handler sets the flag and writes a byte to a pipe that the event loop watches (the
    // way Qt's documentation calls Qt from a signal handler): the loop sleeps until then
    // instead of waking to look at the flag.
    interruptFlag() = false;
    interruptPipe() = -1; // both statics exist before the handler can run
    int fds[2] = {-1, -1};
    QSocketNotifier* notifier = nullptr;
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0) {
        interruptPipe() = fds[1];
        notifier = new QSocketNotifier(fds[0], QSocketNotifier::Read, context);
    }
    auto handler = [](int) {
        interruptFlag() = true;
        const int saved = errno;
        if (const int fd = interruptPipe(); fd >= 0) {
            const char byte = 1;
            [[maybe_unused]] const auto written = ::write(fd, &byte, 1);
        }
        errno = saved;
    };
    std::signal(SIGINT, handler);
    std::signal(SIGTERM, handler);
    auto onInterrupt = [stop, partialResult] {
        if (interruptFlag().exchange(false)) {
            err() << "htapctl: stopping (interrupted)" << (partialResult ? "; the result will be marked partial" : "") << Qt::endl;
            stop();
        }
    };
    if (notifier) {
        QObject::connect(notifier, &QSocketNotifier::activated, context, [onInterrupt, fd = fds[0]] {
            char bytes[16];
            while (::read(fd, bytes, sizeof bytes) > 0) {
            }
            onInterrupt();
        });
        QObject::connect(notifier, &QObject::destroyed, [fds] {
            restoreSignals();
            ::close(fds[0]);
            ::close(fds[1]);
        });
        return;
    }
    // No pipe: look at the flag ten times a second.
    auto* timer = new QTimer(context);
    QObject::connect(timer, &QTimer::timeout, context, onInterrupt);
    timer->start(100);
    QObject::connect(timer, &QObject::destroyed, restoreSignals);
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
    if (action == u"validate"_s) {
        if (args.size() < 3)
            return fail(u"scenario validate needs a file or preset name"_s, ExitUsage);
        Scenario s;
        int code = ExitOk;
        if (!loadScenario(args.value(2), &s, &code))
            return code;
        out() << s.name << ": valid, " << s.workloads.size() << " workloads, " << s.phases.size() << " phases, "
              << QString::number(s.totalSeconds(), 'f', 0) << " s" << Qt::endl;
        return ExitOk;
    }
    if (action != u"run"_s)
        return fail(u"scenario needs an action: list, validate FILE or run PRESET|FILE"_s, ExitUsage);

    QCommandLineParser parser;
    const QCommandLineOption outFile(u"out"_s, u"Write the result JSON here (and the per-second CSV beside it)"_s, u"result.json"_s);
    const QCommandLineOption rateScale(u"rate-scale"_s, u"Multiply every open-loop rate (default 1)"_s, u"f"_s);
    const QCommandLineOption durationScale(u"duration-scale"_s, u"Multiply every phase's duration (default 1)"_s, u"f"_s);
    const QCommandLineOption threads(u"threads"_s,
        u"Client threads per workload, sharing its connections (like pgbench -j); 0: one per CPU core (default: the scenario's)"_s, u"n"_s);
    const QCommandLineOption confirm(u"confirm-database"_s,
        u"Required to run against a server that is not the local sandbox: the name of its database"_s, u"name"_s);
    parser.addOptions({connOption, outFile, rateScale, durationScale, threads, confirm, jsonOption});
    int code = ExitOk;
    if (!parseOptions(parser, args.mid(1), u"Run a scenario and report per second and per phase."_s, &code))
        return code;
    if (parser.positionalArguments().size() < 2)
        return fail(u"scenario run needs a preset name or a scenario file"_s, ExitUsage);
    Scenario scenario;
    if (!loadScenario(parser.positionalArguments().value(1), &scenario, &code))
        return code;
    double rates = 1, durations = 1;
    if (!parseNumber(parser, rateScale, 0.001, 1000, &rates, &code) || !parseNumber(parser, durationScale, 0.001, 1000, &durations, &code))
        return code;
    scenario.scale(rates, durations);
    if (parser.isSet(threads)) {
        double n = 0;
        if (!parseNumber(parser, threads, 0, 256, &n, &code))
            return code;
        if (n != std::floor(n))
            return fail(u"--threads takes a whole number, not %1"_s.arg(parser.value(threads)), ExitUsage);
        scenario.threads = int(n);
    }
    ConnInfo info;
    if (!parseConn(parser, &info, &code))
        return code;
    if (!parser.isSet(connOption))
        info = htap::pg::Sandbox().connInfo();

    // A scenario writes orders: anywhere but the sandbox only when the operator names the database.
    if (!htap::pg::Sandbox::isLocalSandbox(info)) {
        htap::pg::Connection probe;
        if (PgError e = connectInteractive(probe, info, {10000, u"htapctl scenario"_s}))
            return fail(e.oneLine());
        const QString db = probe.exec(u"SELECT current_database()"_s).text(0, 0);
        if (parser.value(confirm) != db)
            return fail(u"this scenario writes data; %1 is not the local sandbox. Run again with --confirm-database %2 "
                        "if you mean it"_s.arg(probe.effectiveInfo().displayName(), db),
                ExitUsage);
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
        }
        out() << Qt::endl;
    });
    QObject::connect(&runner, &ScenarioRunner::finished, &loop, [&](const ScenarioResult& r) {
        result = r;
        done = true;
        loop.quit();
    });
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
        if (result.interferenceP99 >= 0)
            out() << "interference: OLTP p99 with reports / without = " << QString::number(result.interferenceP99, 'f', 2)
                  << "x" << Qt::endl;
        if (result.oltpAchievedOverTarget >= 0)
            out() << "OLTP achieved / target rate in mixed phases = " << QString::number(result.oltpAchievedOverTarget, 'f', 3)
                  << Qt::endl;
        out() << "cross-check: clients committed " << result.clientCommitted << ", server counted "
              << result.serverCommitDelta << " commits in the database (all sessions)" << Qt::endl;
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

int cmdMv(const QStringList& args)
{
    using namespace htap::mv;
    const QString action = args.value(1);
    static const QStringList actions {u"list"_s, u"refresh"_s, u"enable-incremental"_s, u"disable-incremental"_s, u"log"_s,
        u"schedule"_s, u"unschedule"_s, u"run-schedules"_s};
    if (action == u"--help"_s || action == u"-h"_s) {
        out() << "Usage: htapctl mv ACTION [VIEW] [options] (see htapctl mv ACTION --help)\n\n"
                 "  list                      materialized and incremental views: mode, staleness, pending changes\n"
                 "  refresh VIEW --mode M     plain | concurrent | incremental (merge) | rebuild\n"
                 "  enable-incremental VIEW   maintain it incrementally (--check: print the SQL, change nothing)\n"
                 "  disable-incremental VIEW  back to a materialized view\n"
                 "  log [VIEW]                the refresh log, newest first\n"
                 "  schedule VIEW --mode M --every 5m [--runner app|pg_cron]\n"
                 "  unschedule VIEW\n"
                 "  run-schedules             run the app's schedules until Ctrl-C\n\n"
                 "VIEW is spelled as in SQL: sales_hourly_mv, public.\"Sales MV\". Without --conn: the sandbox.\n";
        return ExitOk;
    }
    if (!actions.contains(action))
        return fail(u"mv needs an action: %1 (see htapctl mv --help)"_s.arg(actions.join(u", "_s)), ExitUsage);
    QCommandLineParser parser;
    const QCommandLineOption mode(u"mode"_s, u"refresh: plain, concurrent, incremental (merge) or rebuild"_s, u"mode"_s);
    const QCommandLineOption lockTimeout(u"lock-timeout"_s,
        u"refresh --mode plain: give up after this many ms waiting for readers (default 5000)"_s, u"ms"_s);
    const QCommandLineOption check(u"check"_s, u"enable-incremental: only check, and print the SQL it would install"_s);
    const QCommandLineOption limit(u"limit"_s, u"log: how many entries (default 50)"_s, u"n"_s);
    const QCommandLineOption every(u"every"_s, u"schedule: interval, e.g. 1s, 30s, 5m, 1h"_s, u"interval"_s);
    const QCommandLineOption runner(u"runner"_s, u"schedule: app (run-schedules or the GUI runs it) or pg_cron (default app)"_s, u"runner"_s);
    const QCommandLineOption seconds(u"seconds"_s, u"run-schedules: stop after this many seconds (default: until Ctrl-C)"_s, u"s"_s);
    parser.addOptions({connOption, jsonOption, mode, lockTimeout, check, limit, every, runner, seconds});
    int code = ExitOk;
    if (!parseOptions(parser, args.mid(1), u"Materialized views: list, refresh, incremental maintenance, refresh log."_s, &code))
        return code;
    const QStringList pos = parser.positionalArguments(); // [action, VIEW]
    const QString view = pos.value(1);
    if ((action == u"refresh"_s || action.endsWith(u"-incremental"_s) || action.endsWith(u"schedule"_s)) && view.isEmpty())
        return fail(u"mv %1 needs a view name"_s.arg(action), ExitUsage);
    RefreshMode refreshMode = RefreshMode::Plain;
    int everySeconds = 0;
    if (action == u"schedule"_s) {
        static const QRegularExpression re(u"^(\\d+)\\s*(s|m|min|h)?$"_s);
        const QRegularExpressionMatch m = re.match(parser.value(every).trimmed());
        if (!parser.isSet(every) || !m.hasMatch())
            return fail(u"mv schedule needs --every N[s|m|h], e.g. --every 5m"_s, ExitUsage);
        const QString unit = m.captured(2);
        everySeconds = m.captured(1).toInt() * (unit == u"h"_s ? 3600 : unit.startsWith(u'm') ? 60 : 1);
        if (everySeconds < 1 || everySeconds > 604800)
            return fail(u"invalid --every \"%1\": from 1 s to 7 days"_s.arg(parser.value(every)), ExitUsage);
        if (parser.isSet(runner) && parser.value(runner) != u"app"_s && parser.value(runner) != u"pg_cron"_s)
            return fail(u"invalid --runner \"%1\": app or pg_cron"_s.arg(parser.value(runner)), ExitUsage);
    }
    if (action == u"refresh"_s || action == u"schedule"_s) {
        if (!parser.isSet(mode))
            return fail(u"mv %1 needs --mode plain|concurrent|incremental%2"_s.arg(action, action == u"refresh"_s ? u"|rebuild"_s : QString()), ExitUsage);
        if (!parseMode(parser.value(mode), &refreshMode))
            return fail(u"invalid --mode \"%1\": expected plain, concurrent, incremental or rebuild"_s.arg(parser.value(mode)), ExitUsage);
    }
    double lockMs = 5000, limitValue = 50;
    if (!parseNumber(parser, lockTimeout, 0, 3600000, &lockMs, &code) || !parseNumber(parser, limit, 1, 100000, &limitValue, &code))
        return code;
    ConnInfo info;
    if (!parseConn(parser, &info, &code))
        return code;
    if (!parser.isSet(connOption))
        info = htap::pg::Sandbox().connInfo();
    htap::pg::Connection conn;
    if (PgError e = connectInteractive(conn, info, {10000, u"htapctl mv"_s}))
        return fail(e.oneLine());
    MvService service(conn);
    const bool json = parser.isSet(jsonOption);
    if (action == u"list"_s) {
        QString error;
        const QList<ViewInfo> views = service.list(&error);
        if (!error.isEmpty())
            return fail(error);
        const QList<Schedule> schedules = service.schedules(&error);
        if (json) {
            QJsonArray a;
            for (const ViewInfo& v : views) {
                QJsonObject o = v.toJson();
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
                    out() << "  schedule:    " << modeName(sch.mode) << " every " << sch.everySeconds << " s by " << sch.runner << Qt::endl;
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
        const RefreshOutcome r = service.refresh(view, refreshMode, int(lockMs));
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
        const QString e = service.setSchedule(view, refreshMode, everySeconds, parser.isSet(runner) ? parser.value(runner) : u"app"_s);
        if (!e.isEmpty())
            return fail(e);
        out() << view << ": " << modeName(refreshMode) << " every " << everySeconds << " s, run by "
              << (parser.value(runner) == u"pg_cron"_s ? u"pg_cron"_s : u"the app (htap-studio, or htapctl mv run-schedules)"_s) << Qt::endl;
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
        // The app-run schedules, headless: each view at most once per interval, one at a time.
        double limitSeconds = 0;
        if (!parseNumber(parser, seconds, 1, 86400 * 365, &limitSeconds, &code))
            return code;
        static std::atomic<bool> interrupted {false};
        std::signal(SIGINT, [](int) { interrupted = true; });
        std::signal(SIGTERM, [](int) { interrupted = true; });
        QHash<QString, QElapsedTimer> last;
        QElapsedTimer total, reload;
        total.start();
        QList<Schedule> schedules;
        qint64 runs = 0, failures = 0;
        while (!interrupted && (limitSeconds <= 0 || total.elapsed() < qint64(limitSeconds * 1000))) {
            if (!reload.isValid() || reload.elapsed() > 10000) {
                QString error;
                schedules = service.schedules(&error);
                if (!error.isEmpty())
                    return fail(error);
                reload.start();
            }
            for (const Schedule& sch : std::as_const(schedules)) {
                if (sch.runner != u"app"_s || (last.contains(sch.view) && last[sch.view].elapsed() < qint64(sch.everySeconds) * 1000))
                    continue;
                last[sch.view].start();
                const RefreshOutcome r = service.refresh(htap::pg::quoteQualified(sch.view.section(u'.', 0, 0), sch.view.section(u'.', 1)), sch.mode);
                ++runs;
                if (!r.ok) {
                    ++failures;
                    err() << "htapctl: " << sch.view << ": " << modeName(sch.mode) << " failed: " << r.message << Qt::endl;
                } else if (json) {
                    QJsonObject o = r.toJson();
                    o.insert(u"view"_s, sch.view);
                    o.insert(u"mode"_s, modeName(sch.mode));
                    out() << QJsonDocument(o).toJson(QJsonDocument::Compact) << Qt::endl;
                }
            }
            QThread::msleep(100);
        }
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
        const QString e = service.enableIncremental(view, &notes);
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
    const QString e = service.disableIncremental(view);
    if (json) {
        printJson(QJsonObject {{u"view"_s, view}, {u"ok"_s, e.isEmpty()}, {u"message"_s, e}});
        return e.isEmpty() ? ExitOk : ExitFailure;
    }
    if (!e.isEmpty())
        return fail(e);
    out() << view << ": a materialized view again (built WITH DATA); the engine's objects are removed" << Qt::endl;
    return ExitOk;
}

int cmdDemo(const QStringList& args)
{
    QCommandLineParser parser;
    const QCommandLineOption seconds(u"seconds"_s, u"How long to run the load (default 20)"_s, u"s"_s);
    const QCommandLineOption scale(u"scale"_s, u"Demo data size if the sandbox is new (default 1)"_s, u"n"_s);
    const QCommandLineOption rate(u"rate"_s, u"Order transactions per second (default 100)"_s, u"tps"_s);
    parser.addOptions({dirOption, seconds, scale, rate});
    int code = ExitOk;
    if (!parseOptions(parser, args, u"Start the sandbox, run a light order-entry load and watch it."_s, &code))
        return code;
    double secondsValue = 20, scaleValue = 1, rateValue = 100;
    if (!parseNumber(parser, seconds, 1, 86400, &secondsValue, &code) || !parseNumber(parser, scale, 0.001, 1000, &scaleValue, &code)
        || !parseNumber(parser, rate, 1, 10000, &rateValue, &code))
        return code;

    htap::pg::Sandbox sandbox(parser.isSet(dirOption) ? parser.value(dirOption) : htap::pg::Sandbox::defaultDir());
    QString error;
    if (!sandbox.start(0, scaleValue, [](const QString& step) { err() << "sandbox: " << step << Qt::endl; }, &error))
        return fail(error);
    const ConnInfo info = sandbox.connInfo();
    out() << "Sandbox: " << info.toConnString() << Qt::endl
          << "Running the seed's order transaction (4.1) as oltp_user at " << rateValue
          << " per second and two of its reports (4.2) as olap_user every 2 s, for " << secondsValue
          << " s, sampled every second:" << Qt::endl;

    htap::pg::Connection probe;
    if (PgError e = probe.open(info, {10000, u"htapctl demo"_s}))
        return fail(e.oneLine());
    const qint64 before = probe.exec(u"SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"_s).toInt64(0, 0);

    const int clients = 4;
    DemoLoad load(info, clients, rateValue / clients);
    load.start();
    code = watchActivity(info, secondsValue, 1000, false);
    load.stop();

    probe.exec(u"SELECT pg_stat_force_next_flush()"_s);
    const qint64 after = probe.exec(u"SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"_s).toInt64(0, 0);
    out() << Qt::endl
          << "Order transactions: " << load.committed() << " committed, " << load.rolledBack()
          << " rolled back for short stock, " << load.failed() << " failed; " << load.reports()
          << " reports run." << Qt::endl
          << "Server commits in database shop meanwhile: " << (after - before)
          << " (includes the monitor's own statements)." << Qt::endl
          << "Open the GUI on it with: htap-studio --sandbox" << Qt::endl;
    return code;
}

} // namespace

int runHtapctl(const QStringList& arguments)
{
    // A closed pipe (htapctl ... | head) must end quietly, not kill us mid-write.
    std::signal(SIGPIPE, SIG_IGN);
    const QString command = arguments.value(0);
    if (command.isEmpty() || command == u"-h"_s || command == u"--help"_s || command == u"help"_s) {
        out() << kUsage;
        return command.isEmpty() ? ExitUsage : ExitOk;
    }
    if (command == u"-v"_s || command == u"--version"_s) {
        out() << "htapctl " << HTAP_VERSION << " (libpq " << htap::pg::Connection::libraryVersion() << ")" << Qt::endl;
        return ExitOk;
    }
    if (command == u"ping"_s)
        return cmdPing(arguments);
    if (command == u"watch"_s)
        return cmdWatch(arguments);
    if (command == u"sandbox"_s)
        return cmdSandbox(arguments);
    if (command == u"demo"_s)
        return cmdDemo(arguments);
    if (command == u"monitor"_s)
        return cmdMonitor(arguments);
    if (command == u"bench"_s)
        return cmdBench(arguments);
    if (command == u"scenario"_s)
        return cmdScenario(arguments);
    if (command == u"mv"_s)
        return cmdMv(arguments);
    if (command == u"roles"_s)
        return cmdRoles(arguments);
    if (command == u"snapshot"_s)
        return cmdSnapshot(arguments);
    return fail(u"unknown command \"%1\" (see htapctl --help)"_s.arg(command), ExitUsage);
}

} // namespace htap::cli
