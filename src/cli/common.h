// Helpers every htapctl command shares: output streams, option parsing, connecting.
#pragma once

#include "htapctl.h"

#include <pg/connection.h>

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QJsonValue>
#include <QTextStream>

class QEventLoop;
namespace htap::monitor {
class ActivityCollector;
}

namespace htap::cli {

QTextStream& out();
QTextStream& err();
/// Prints an object or array as indented JSON on stdout.
void printJson(const QJsonValue& value);
/// Prints "htapctl: error: message" and returns code.
int fail(const QString& message, int code = ExitFailure);
/// A command with actions (`htapctl roles ACTION`): false, with *code set, when there is no
/// action to run (none, --help: the usage is printed) or it is not one of actions.
bool checkAction(const QString& command, const QString& action, const QStringList& actions, const char* usage, int* code);
/// Asks on the terminal unless yes (--yes); without a terminal, --yes is the only way to say yes.
bool confirm(bool yes, const QString& question, int* code);
/// The audit entry number of `htapctl COMMAND undo N`: false, with a usage error in *code, when
/// it is not a positive whole number.
bool parseAuditId(const QString& command, const QString& arg, qint64* id, int* code);
/// Parses a subcommand's options; returns false (and the exit code) on --help or an error.
bool parseOptions(QCommandLineParser& parser, const QStringList& args, const QString& synopsis, int* code);
bool parseConn(const QCommandLineParser& parser, htap::pg::ConnInfo* info, int* code);
/// An option's number, when it is set: finite, from min to max, or false with a one-line usage
/// error naming the option (*code = ExitUsage). *value keeps its default when the option is not set.
bool parseNumber(const QCommandLineParser& parser, const QCommandLineOption& option, double min, double max,
    double* value, int* code);
/// The same for a whole number (a port, a count, a priority).
bool parseWholeNumber(const QCommandLineParser& parser, const QCommandLineOption& option, qint64 min, qint64 max,
    qint64* value, int* code);
/// The server of --conn, or the sandbox without it: *info set, or false with the usage error in *code.
bool connInfoOrSandbox(const QCommandLineParser& parser, htap::pg::ConnInfo* info, int* code);
/// Connects conn to the server of --conn, or the sandbox (connectInteractive): false with the
/// one-line error's exit code in *code.
bool connectConnOrSandbox(const QCommandLineParser& parser, htap::pg::Connection& conn, const QString& applicationName, int* code);
/// Connects, asking for a password on the terminal when the server wants one.
htap::pg::PgError connectInteractive(htap::pg::Connection& conn, htap::pg::ConnInfo info,
    const htap::pg::ConnectOptions& options);

inline const QCommandLineOption connOption({QStringLiteral("c"), QStringLiteral("conn")},
    QStringLiteral("libpq conninfo or URI (default: from PG* environment variables)"), QStringLiteral("conninfo"));
inline const QCommandLineOption jsonOption(QStringLiteral("json"), QStringLiteral("Print JSON instead of text"));
/// --dir of the sandbox commands (sandbox, demo).
extern const QCommandLineOption dirOption;

/// What every command that runs a collector does with its trouble: a failed connect ends it
/// with a one-line error, an outage is told on stderr, a password is asked for on a terminal.
void reportCollectorTrouble(htap::monitor::ActivityCollector& collector, QEventLoop& loop, int& code);
/// Prints activity samples until `seconds` have passed (0: until interrupted).
int watchActivity(const htap::pg::ConnInfo& info, double seconds, int intervalMs, bool json);

// One function a command, each in <command>cmd.cpp.
int cmdPing(const QStringList& args);
int cmdWatch(const QStringList& args);
int cmdSandbox(const QStringList& args);
int cmdDemo(const QStringList& args);
int cmdMonitor(const QStringList& args);
int cmdBench(const QStringList& args);
int cmdScenario(const QStringList& args);
int cmdMv(const QStringList& args);
/// htapctl roles ...
int cmdRoles(const QStringList& args);
/// htapctl snapshot ...
int cmdSnapshot(const QStringList& args);
/// htapctl route [--json] "SQL"
int cmdRoute(const QStringList& args);
/// htapctl advise ...
int cmdAdvise(const QStringList& args);

} // namespace htap::cli
