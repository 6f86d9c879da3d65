// htapctl ping: connect, report version, round trip and pg_stat_statements.
#include "common.h"

#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>

namespace htap::cli {

using namespace Qt::StringLiterals;
using htap::pg::ConnInfo;
using htap::pg::PgError;

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

} // namespace htap::cli
