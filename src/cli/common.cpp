#include "common.h"

#include "terminal.h"

#include <monitor/activitycollector.h>
#include <pg/sandbox.h>

#include <QEventLoop>

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
        *code = fail(u"invalid conninfo: "_s + error, ExitUsage);
        return false;
    }
    return true;
}

bool parseNumber(const QCommandLineParser& parser, const QCommandLineOption& option, double min, double max,
    double* value, int* code)
{
    if (!parser.isSet(option))
        return true;
    bool ok = false;
    const double v = parser.value(option).toDouble(&ok);
    if (!ok || v < min || v > max) {
        *code = fail(u"invalid --%1 \"%2\": expected a number from %3 to %4"_s.arg(option.names().constLast(),
                         parser.value(option), QString::number(min), QString::number(max)),
            ExitUsage);
        return false;
    }
    *value = v;
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

} // namespace htap::cli
