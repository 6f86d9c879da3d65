// htapctl sandbox: start, stop, status, destroy, conninfo of the private cluster.
#include "common.h"

#include <pg/sandbox.h>

#include <QElapsedTimer>
#include <QJsonArray>
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
    if (s.standby)
        text += u", a standby of %1 (slot %2, hot_standby_feedback %3)"_s.arg(s.primary, s.slot, s.hotStandbyFeedback ? u"on"_s : u"off"_s);
    text += u"\nfolder:     %1\nserver:     %2\ndemo data:  %3\nlog:        %4"_s.arg(s.dir, s.binDir,
        s.loaded ? u"scale %1"_s.arg(s.scale) : u"not loaded"_s, s.logFile);
    for (const QString& dir : s.standbys) {
        const htap::pg::SandboxStatus st = htap::pg::Sandbox(dir).status();
        text += u"\nstandby:    %1, %2"_s.arg(dir,
            !st.initialized ? u"missing"_s
            : st.running    ? u"running on 127.0.0.1:%1, hot_standby_feedback %2"_s.arg(st.port).arg(st.hotStandbyFeedback ? u"on"_s : u"off"_s)
                            : u"stopped"_s);
    }
    return text;
}

} // namespace

int cmdSandbox(const QStringList& args)
{
    const QString action = args.value(1);
    static const QStringList actions {u"start"_s, u"stop"_s, u"status"_s, u"destroy"_s, u"conninfo"_s, u"add-standby"_s,
        u"remove-standby"_s};
    if (action == u"--help"_s || action == u"-h"_s) {
        out() << "Usage: htapctl sandbox start|stop|status|destroy|conninfo|add-standby|remove-standby [--dir D] [options]\n"
                 "  start     [--port P] [--scale N]  create on first use, start, load the shop schema (and its standbys)\n"
                 "  stop                             stop the server and its standbys, keeping their data\n"
                 "  status    [--json]               whether it exists and runs, its port, folder and standbys\n"
                 "  destroy   [--yes]                stop it and delete its folder and its standbys\n"
                 "  conninfo                         print a conninfo string for psql or --conn\n"
                 "  add-standby [--standby-dir S] [--port P] [--feedback]\n"
                 "                                   a streaming standby (pg_basebackup -R through a slot) in S\n"
                 "                                   (default: beside the sandbox, <dir>-standbyN); --feedback turns\n"
                 "                                   hot_standby_feedback on; prints its conninfo\n"
                 "  remove-standby [--standby-dir S] stop and delete a standby (the only one when S is left out)\n"
                 "                                   and drop its slot\n"
                 "Scale 1 is about 100k orders, 300k items, 10k users, 1k products.\n";
        return ExitOk;
    }
    if (!actions.contains(action))
        return fail(action.isEmpty() ? u"sandbox needs an action: start, stop, status, destroy, conninfo, add-standby or remove-standby"_s
                                     : u"unknown sandbox action \"%1\" (expected start, stop, status, destroy, conninfo, add-standby or "
                                       "remove-standby)"_s.arg(action),
            ExitUsage);

    QCommandLineParser parser;
    const QCommandLineOption port(u"port"_s, u"TCP port on 127.0.0.1 (default: saved or a free one)"_s, u"port"_s);
    const QCommandLineOption scale(u"scale"_s, u"Demo data size on first load (default 1 = about 100k orders)"_s, u"n"_s);
    const QCommandLineOption yes(u"yes"_s, u"Do not ask before deleting the sandbox"_s);
    const QCommandLineOption standbyDir(u"standby-dir"_s, u"A standby's folder (add-standby, remove-standby)"_s, u"folder"_s);
    const QCommandLineOption feedback(u"feedback"_s, u"add-standby: hot_standby_feedback on (reports on the standby hold the primary's vacuum)"_s);
    parser.addOptions({dirOption, port, scale, yes, jsonOption, standbyDir, feedback});
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
    if (action == u"add-standby"_s) {
        QString dir = parser.value(standbyDir);
        if (!sandbox.addStandby(&dir, int(portValue), parser.isSet(feedback),
                [](const QString& step) { err() << "sandbox: " << step << Qt::endl; }, &error))
            return fail(error);
        err() << "sandbox: standby ready in " << dir << Qt::endl;
        out() << htap::pg::Sandbox(dir).connInfo().toConnString() << Qt::endl;
        return ExitOk;
    }
    if (action == u"remove-standby"_s) {
        QString dir = parser.value(standbyDir);
        const QStringList standbys = sandbox.status().standbys;
        if (dir.isEmpty() && standbys.size() != 1)
            return fail(standbys.isEmpty() ? u"the sandbox in %1 has no standby"_s.arg(sandbox.dir())
                                           : u"the sandbox has %1 standbys; name one with --standby-dir (%2)"_s.arg(standbys.size())
                                                 .arg(standbys.join(u", "_s)),
                ExitUsage);
        if (dir.isEmpty())
            dir = standbys.first();
        if (!sandbox.removeStandby(dir, &error))
            return fail(error);
        out() << "standby deleted: " << dir << Qt::endl;
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
                {u"binDir"_s, s.binDir}, {u"logFile"_s, s.logFile}, {u"standby"_s, s.standby}, {u"primary"_s, s.primary},
                {u"standbys"_s, QJsonArray::fromStringList(s.standbys)},
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
