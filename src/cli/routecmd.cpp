// htapctl route: where the router sends a statement against the connected topology, and why.
#include "common.h"

#include <core/format.h>
#include <route/router.h>
#include <route/topologyreader.h>

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>

namespace htap::cli {

using namespace Qt::StringLiterals;

int cmdRoute(const QStringList& args)
{
    QCommandLineParser parser;
    const QCommandLineOption fresh(u"fresh"_s,
        u"The workload's freshness budget, e.g. 2s, 500ms (default 5 s; a /* htap:fresh=2s */ hint in the statement overrides it)"_s,
        u"duration"_s);
    const QCommandLineOption topology(u"topology"_s, u"Also print the topology the decision was made against"_s);
    parser.addOptions({connOption, jsonOption, fresh, topology});
    parser.addPositionalArgument(u"SQL"_s, u"The statement (or a transaction's statements); - reads it from stdin"_s);
    int code = ExitOk;
    if (!parseOptions(parser, args,
            u"Routes a statement by its parse tree: to the primary, a standby within the freshness budget, or a view "
            u"that answers it (rewritten). Nothing is run."_s,
            &code))
        return code;
    const QStringList pos = parser.positionalArguments();
    if (pos.size() != 2)
        return fail(pos.size() < 2 ? u"route needs one statement (quote it; - reads stdin)"_s
                                   : u"route takes one statement; quote it as one argument"_s,
            ExitUsage);
    QString sql = pos[1];
    if (sql == u"-"_s) {
        QFile in;
        if (!in.open(stdin, QIODevice::ReadOnly))
            return fail(u"cannot read stdin"_s);
        sql = QString::fromUtf8(in.readAll());
    }
    if (sql.trimmed().isEmpty())
        return fail(u"the statement is empty"_s, ExitUsage);
    htap::route::Budget budget;
    if (parser.isSet(fresh)) {
        QString why;
        if (!htap::route::parseDuration(parser.value(fresh), &budget.seconds, &why))
            return fail(u"--fresh: "_s + why, ExitUsage);
        budget.source = u"workload"_s;
    }
    htap::pg::ConnInfo info;
    if (!parseConn(parser, &info, &code))
        return code;
    htap::pg::Connection conn;
    if (htap::pg::PgError e = connectInteractive(conn, info, {10000, u"htapctl route"_s}))
        return fail(e.oneLine());
    htap::route::TopologyReader reader;
    htap::route::Topology topo;
    QString error;
    if (!reader.fetch(conn, htap::route::calledFunctions(sql), &topo, &error))
        return fail(u"cannot read the topology: "_s + error);
    const htap::route::Decision d = htap::route::route(sql, budget, topo);

    if (parser.isSet(jsonOption)) {
        QJsonObject o = d.toJson();
        if (parser.isSet(topology))
            o.insert(u"topology"_s, htap::route::toJson(topo));
        printJson(o);
    } else {
        const QString where = d.target == htap::route::Decision::Target::View
            ? u"view %1 (read on the primary %2)"_s.arg(d.view, d.server)
            : u"%1 %2"_s.arg(htap::route::targetName(d.target), d.server);
        out() << "route:     " << where << Qt::endl
              << "statement: " << d.kind << Qt::endl
              << "budget:    " << htap::core::formatSeconds(d.budget.seconds) << " (" << d.budget.source << ")" << Qt::endl
              << "reason:    " << d.reason << Qt::endl;
        if (!d.rewrittenSql.isEmpty())
            out() << "rewritten: " << d.rewrittenSql << Qt::endl;
        if (!d.viewsConsidered.isEmpty() && d.target != htap::route::Decision::Target::View) {
            out() << "views:" << Qt::endl;
            for (const QString& v : d.viewsConsidered)
                out() << "  " << v << Qt::endl;
        }
        if (parser.isSet(topology)) {
            out() << "topology:  primary " << topo.primary << (topo.connectedIsStandby ? " (a standby)" : "") << Qt::endl;
            for (const htap::route::Standby& s : std::as_const(topo.standbys))
                out() << "  standby " << s.name << ": " << s.state << ", replay lag "
                      << (s.replayLagSeconds < 0 ? u"none given"_s : htap::core::formatSeconds(s.replayLagSeconds)) << ", "
                      << (s.replayGapBytes < 0 ? u"?"_s : htap::core::formatCount(s.replayGapBytes)) << " bytes to replay" << Qt::endl;
            for (const htap::route::RegisteredView& v : std::as_const(topo.views))
                out() << "  view " << v.label() << " (" << (v.incremental ? "incremental" : "materialized") << "): data "
                      << htap::core::formatSeconds(v.stalenessSeconds) << " old" << Qt::endl;
            for (const QString& n : std::as_const(topo.notes))
                out() << "  note: " << n << Qt::endl;
        }
    }
    if (!d.hintError.isEmpty())
        return fail(d.hintError, ExitUsage);
    return ExitOk;
}

} // namespace htap::cli
