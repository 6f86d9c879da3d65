#include "common.h"

#include "terminal.h"

#include <core/number.h>

#include <monitor/activitycollector.h>
#include <pg/sandbox.h>

#include <QElapsedTimer>
#include <QEventLoop>

#include <memory>

#include <cstdio>
#include <unistd.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace htap::cli {

using namespace Qt::StringLiterals;
using htap::pg::ConnInfo;
using htap::pg::PgError;

const QCommandLineOption dirOption(u"dir"_s, u"Sandbox folder (default: %1)"_s.arg(htap::pg::Sandbox::defaultDir()),
    u"folder"_s);

QTextStream& out()
{
    static QTextStream s(stdout);
    return s;
}

QTextStream& err()
{
    static QTextStream s(stderr);
    return s;
}

void printJson(const QJsonValue& value)
{
    out() << (value.isArray() ? QJsonDocument(value.toArray()) : QJsonDocument(value.toObject())).toJson(QJsonDocument::Indented);
}

int fail(const QString& message, int code)
{
    err() << "htapctl: error: " << message << Qt::endl;
    return code;
}

/// Parses a subcommand's options; returns false (and the exit code) on --help or an error.
bool confirm(bool yes, const QString& question, int* code)
{
    if (yes)
        return true;
    if (!::isatty(STDIN_FILENO)) {
        *code = fail(u"%1 Pass --yes to confirm (there is no terminal to ask on); nothing was changed."_s.arg(question), ExitUsage);
        return false;
    }
    err() << question << " [y/N] " << Qt::flush;
    char answer[16] = {};
    if (!std::fgets(answer, sizeof answer, stdin) || (answer[0] != 'y' && answer[0] != 'Y')) {
        *code = fail(u"not confirmed; nothing was changed"_s);
        return false;
    }
    return true;
}

bool connInfoOrSandbox(const QCommandLineParser& parser, htap::pg::ConnInfo* info, int* code)
{
    if (!parseConn(parser, info, code))
        return false;
    if (!parser.isSet(connOption))
        *info = htap::pg::Sandbox().connInfo();
    return true;
}

bool connectConnOrSandbox(const QCommandLineParser& parser, htap::pg::Connection& conn, const QString& applicationName, int* code)
{
    htap::pg::ConnInfo info;
    if (!connInfoOrSandbox(parser, &info, code))
        return false;
    if (htap::pg::PgError e = connectInteractive(conn, info, {10000, applicationName})) {
        *code = fail(e.oneLine());
        return false;
    }
    return true;
}

bool parseAuditId(const QString& command, const QString& arg, qint64* id, int* code)
{
    bool ok = false;
    *id = arg.toLongLong(&ok);
    if (ok && *id > 0)
        return true;
    *code = fail(u"%1 undo needs the number of an audit entry (see htapctl %1 log)"_s.arg(command), ExitUsage);
    return false;
}

bool checkAction(const QString& command, const QString& action, const QStringList& actions, const char* usage, int* code)
{
    if (action.isEmpty() || action == u"--help"_s || action == u"-h"_s) {
        out() << usage;
        *code = action.isEmpty() ? ExitUsage : ExitOk;
        return false;
    }
    if (!actions.contains(action)) {
        *code = fail(u"%1 needs an action: %2 (see htapctl %1 --help)"_s.arg(command, actions.join(u", "_s)), ExitUsage);
        return false;
    }
    return true;
}

bool parseOptions(QCommandLineParser& parser, const QStringList& args, const QString& synopsis, int* code)
{
    parser.setApplicationDescription(synopsis);
    parser.addHelpOption();
    if (!parser.parse(QStringList {u"htapctl"_s} + args)) {
        *code = fail(parser.errorText() + u" (see htapctl "_s + args.value(0) + u" --help)"_s, ExitUsage);
        return false;
    }
    if (parser.isSet(u"help"_s)) {
        out() << parser.helpText();
        *code = ExitOk;
        return false;
    }
    return true;
}


bool parseConn(const QCommandLineParser& parser, ConnInfo* info, int* code)
{
    QString error;
    *info = ConnInfo::parse(parser.value(connOption), &error);
    if (!error.isEmpty()) {
        *code = fail(u"invalid conninfo: "_s + htap::core::excerpt(error, 200), ExitUsage);
        return false;
    }
    return true;
}

namespace {

bool parseRule(const QCommandLineParser& parser, const QCommandLineOption& option, const htap::core::NumberRule& rule,
    double* value, int* code)
{
    if (!parser.isSet(option))
        return true;
    QString error;
    const auto v = htap::core::parseNumber(u"--"_s + option.names().constLast(), parser.value(option), rule, &error);
    if (!v) {
        *code = fail(error, ExitUsage);
        return false;
    }
    *value = *v;
    return true;
}

} // namespace

bool parseNumber(const QCommandLineParser& parser, const QCommandLineOption& option, double min, double max,
    double* value, int* code)
{
    return parseRule(parser, option, {min, max}, value, code);
}

bool parseWholeNumber(const QCommandLineParser& parser, const QCommandLineOption& option, qint64 min, qint64 max,
    qint64* value, int* code)
{
    double v = double(*value);
    if (!parseRule(parser, option, {double(min), double(max), true}, &v, code))
        return false;
    *value = qint64(v);
    return true;
}

/// Connects, asking for a password on the terminal when the server wants one.
PgError connectInteractive(htap::pg::Connection& conn, ConnInfo info, const htap::pg::ConnectOptions& options)
{
    PgError e = conn.open(info, options);
    if (e && conn.neededPassword() && !info.contains(u"password"_s)) {
        const QString pw = promptPassword(u"Password for %1: "_s.arg(info.displayName()));
        if (!pw.isEmpty())
            e = conn.open(info.with(u"password"_s, pw), options);
        else
            e.message += u" (the server asks for a password: set PGPASSWORD, add it to ~/.pgpass, or run on a terminal to be asked)"_s;
    }
    return e;
}

/// What every command that runs a collector does with its trouble: a failed connect ends it
/// with a one-line error, an outage is told on stderr, a password is asked for on a terminal.
void reportCollectorTrouble(htap::monitor::ActivityCollector& collector, QEventLoop& loop, int& code)
{
    using namespace htap::monitor;
    // An outage is told once, not at every reconnect attempt, and so is its end.
    auto outage = std::make_shared<std::pair<QString, QElapsedTimer>>();
    QObject::connect(&collector, &ActivityCollector::stateChanged, &loop, [&code, &loop, outage](ConnectionState state, const QString& text) {
        if (state == ConnectionState::Failed) {
            code = fail(text);
            loop.quit();
        } else if (state == ConnectionState::Reconnecting || state == ConnectionState::NotResponding) {
            if (!outage->second.isValid())
                outage->second.start();
            if (outage->first != text)
                err() << "htapctl: " << text << Qt::endl;
            outage->first = text;
        } else if (state == ConnectionState::Connected && outage->second.isValid()) {
            err() << "htapctl: " << text << " (after " << QString::number(outage->second.elapsed() / 1000.0, 'f', 1)
                  << " s without the server)" << Qt::endl;
            *outage = {};
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

} // namespace htap::cli
