// htapctl: usage and dispatch; each command lives in its own <command>cmd.cpp.
#include "htapctl.h"

#include "common.h"

#include <pg/connection.h>

#include <csignal>

namespace htap::cli {

using namespace Qt::StringLiterals;

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
  route      Where the parse-tree router sends a statement (primary, standby, or a view that answers it)
  advise     Tuning advisor: findings with evidence and SQL; advise apply ID | undo N | measure ID | log
  bench      Benchmarks that print numbers against a baseline run: bench monitor

Options:
  -h, --help     Show this help (also: htapctl <command> --help)
  -v, --version  Show the version

Connections are libpq conninfo strings or postgresql:// URIs (--conn); what they leave out
comes from PG* environment variables, pg_service.conf and ~/.pgpass, as with psql.

Exit codes: 0 success, 1 the operation failed, 2 bad usage or invalid input.
)";

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
    if (command == u"route"_s)
        return cmdRoute(arguments);
    if (command == u"advise"_s)
        return cmdAdvise(arguments);
    return fail(u"unknown command \"%1\" (see htapctl --help)"_s.arg(command), ExitUsage);
}

} // namespace htap::cli
