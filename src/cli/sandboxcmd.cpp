// htapctl sandbox: start, stop, status, destroy, conninfo of the private cluster.
#include "common.h"

#include <pg/sandbox.h>

#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>

#include <cstdio>
#include <unistd.h>

namespace htap::cli {

using namespace Qt::StringLiterals;
using htap::pg::ConnInfo;
using htap::pg::PgError;

namespace {

QString statusText(const htap::pg::SandboxStatus& s)
{
    if (!s.initialized)
        return u"no sandbox in %1"_s.arg(s.dir);
    QString text = s.running ? u"running on 127.0.0.1:%1 (pid %2)"_s.arg(s.port).arg(s.pid) : u"stopped"_s;
    text += u"\nfolder:     %1\nserver:     %2\ndemo data:  %3\nlog:        %4"_s.arg(s.dir, s.binDir,
        s.loaded ? u"scale %1"_s.arg(s.scale) : u"not loaded"_s, s.logFile);
    return text;
}

} // namespace

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
    qint64 portValue = 0;
    double scaleValue = 1;
    if (!parseWholeNumber(parser, port, 1, 65535, &portValue, &code) || !parseNumber(parser, scale, 0.001, 1000, &scaleValue, &code))
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

} // namespace htap::cli
