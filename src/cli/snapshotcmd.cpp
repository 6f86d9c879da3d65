// htapctl snapshot: export a window of the history as JSON, CSV, HTML, PDF or PNG; show; diff.
#include "common.h"

#include <core/format.h>
#include <core/inputfile.h>
#include <pg/sandbox.h>
#include <report/reportwriter.h>
#include <store/historyfile.h>

#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QRegularExpression>

#include <cmath>

namespace htap::cli {

using namespace Qt::StringLiterals;
using namespace htap::report;

namespace {

/// "2026-11-26T14:00:00Z", "2026-11-26 14:00" (local time), "now", "-5m", "-1h", "-30s".
bool parseTime(const QString& text, const QDateTime& now, QDateTime* out)
{
    const QString t = text.trimmed();
    if (t == u"now"_s) {
        *out = now;
        return true;
    }
    static const QRegularExpression rel(u"^-(\\d+)\\s*(s|m|min|h|d)$"_s);
    if (const QRegularExpressionMatch m = rel.match(t); m.hasMatch()) {
        const QString u = m.captured(2);
        const qint64 n = m.captured(1).toLongLong() * (u == u"s"_s ? 1 : u == u"h"_s ? 3600 : u == u"d"_s ? 86400 : 60);
        *out = now.addSecs(-n);
        return true;
    }
    for (const QString& f : {u"yyyy-MM-dd HH:mm:ss"_s, u"yyyy-MM-dd HH:mm"_s}) {
        const QDateTime d = QDateTime::fromString(t, f);
        if (d.isValid()) {
            *out = d.toUTC();
            return true;
        }
    }
    QDateTime d = QDateTime::fromString(t, Qt::ISODateWithMs);
    if (!d.isValid())
        d = QDateTime::fromString(t, Qt::ISODate);
    if (!d.isValid())
        return false;
    *out = d.toUTC();
    return true;
}

bool readSnapshot(const QString& path, Snapshot* s, int* code)
{
    QString error;
    if (!Snapshot::fromFile(path, s, &error)) {
        *code = fail(u"%1: %2"_s.arg(path, error));
        return false;
    }
    return true;
}

QString value(double v, const QString& unit)
{
    return std::isfinite(v) ? figureText(v, unit) : u"-"_s;
}

QString changeText(double pct)
{
    return std::isfinite(pct) ? htap::core::formatNumber(std::round(pct)) + u" %"_s : u"-"_s;
}

} // namespace

int cmdSnapshot(const QStringList& args)
{
    const QString action = args.value(1);
    static const QStringList actions {u"export"_s, u"show"_s, u"diff"_s, u"list"_s};
    int code = ExitOk;
    if (!checkAction(u"snapshot"_s, action, actions,
            "Usage: htapctl snapshot ACTION (see htapctl snapshot ACTION --help)\n\n"
            "  export --from T --to T --out PATH [--format json|csv|html|pdf|png]\n"
            "                         a window of the history as one document (docs/snapshot.md)\n"
            "  show FILE              a snapshot's key figures\n"
            "  diff A B               two snapshots' key figures side by side, better or worse\n"
            "  list                   the servers in the history and the snapshots kept there\n\n"
            "T: 2026-11-26T14:00:00Z, \"2026-11-26 14:00\" (local time), now, -5m, -1h.\n",
            &code))
        return code;
    QCommandLineParser parser;
    const QCommandLineOption from(u"from"_s, u"export: start of the window"_s, u"T"_s);
    const QCommandLineOption to(u"to"_s, u"export: end of the window (default now)"_s, u"T"_s);
    const QCommandLineOption last(u"last"_s, u"export: the last N s|m|h instead of --from/--to"_s, u"N"_s);
    const QCommandLineOption format(u"format"_s, u"export: json, csv, html, pdf or png (default: from --out)"_s, u"f"_s);
    const QCommandLineOption outPath(u"out"_s, u"export: the file to write (png: one file per chart beside it)"_s, u"path"_s);
    const QCommandLineOption server(u"server"_s, u"export: the server as the history names it (see snapshot list)"_s, u"name"_s);
    const QCommandLineOption history(u"history"_s, u"The history file (default: %1)"_s.arg(htap::store::HistoryFile().path()),
        u"file"_s);
    const QCommandLineOption title(u"title"_s, u"export: a title"_s, u"text"_s);
    const QCommandLineOption note(u"note"_s, u"export: a note"_s, u"text"_s);
    const QCommandLineOption scenario(u"scenario"_s, u"export: a scenario result (htapctl scenario run --out) to include; repeatable"_s,
        u"result.json"_s);
    const QCommandLineOption noFacts(u"no-facts"_s, u"export: do not connect to the server for its settings, roles and views"_s);
    parser.addOptions({from, to, last, format, outPath, server, history, title, note, scenario, noFacts, connOption, jsonOption});
    if (!parseOptions(parser, args.mid(1), u"Performance snapshots: export, show, diff."_s, &code))
        return code;
    const QStringList pos = parser.positionalArguments();
    const bool json = parser.isSet(jsonOption);
    const htap::store::HistoryFile file(parser.value(history));
    QString error;

    if (action == u"show"_s || action == u"diff"_s) {
        if (pos.size() < (action == u"show"_s ? 2 : 3))
            return fail(action == u"show"_s ? u"snapshot show needs a file"_s : u"snapshot diff needs two files"_s, ExitUsage);
        Snapshot a, b;
        if (!readSnapshot(pos[1], &a, &code) || (action == u"diff"_s && !readSnapshot(pos[2], &b, &code)))
            return code;
        if (action == u"show"_s) {
            if (json) {
                QJsonObject o = a.toJson();
                o.remove(u"samples"_s);
                o.remove(u"series"_s);
                printJson(o);
                return ExitOk;
            }
            out() << (a.title.isEmpty() ? u"(untitled)"_s : a.title) << "\n" << a.server << ", "
                  << a.from.toString(Qt::ISODate) << " to " << a.to.toString(Qt::ISODate) << ", " << a.samples.size()
                  << " samples, " << a.series.size() << " series" << Qt::endl;
            if (!a.note.isEmpty())
                out() << a.note << Qt::endl;
            for (const KeyFigure& k : a.keyFigures())
                out() << "  " << k.label.leftJustified(56) << " " << value(k.value, k.unit) << Qt::endl;
            return ExitOk;
        }
        const QList<FigureChange> changes = compare(a, b);
        if (json) {
            QJsonArray rows;
            for (const FigureChange& c : changes)
                rows << QJsonObject {{u"key"_s, c.before.key}, {u"label"_s, c.before.label}, {u"unit"_s, c.before.unit},
                    {u"a"_s, std::isfinite(c.before.value) ? QJsonValue(c.before.value) : QJsonValue()},
                    {u"b"_s, std::isfinite(c.after.value) ? QJsonValue(c.after.value) : QJsonValue()},
                    {u"change_pct"_s, std::isfinite(c.changePct()) ? QJsonValue(c.changePct()) : QJsonValue()},
                    {u"verdict"_s, c.verdict() > 0 ? u"better"_s : c.verdict() < 0 ? u"worse"_s : u"same"_s}};
            printJson(QJsonObject {{u"a"_s, pos[1]}, {u"b"_s, pos[2]}, {u"figures"_s, rows}});
            return ExitOk;
        }
        out() << "A: " << (a.title.isEmpty() ? pos[1] : a.title) << " (" << a.from.toString(Qt::ISODate) << ")\n"
              << "B: " << (b.title.isEmpty() ? pos[2] : b.title) << " (" << b.from.toString(Qt::ISODate) << ")\n\n"
              << u"figure"_s.leftJustified(56) << u"A"_s.rightJustified(18) << u"B"_s.rightJustified(18)
              << u"change"_s.rightJustified(10) << Qt::endl;
        for (const FigureChange& c : changes)
            out() << c.before.label.leftJustified(56) << value(c.before.value, c.before.unit).rightJustified(18)
                  << value(c.after.value, c.after.unit).rightJustified(18)
                  << changeText(c.changePct()).rightJustified(10)
                  << (c.verdict() > 0 ? "  better" : c.verdict() < 0 ? "  WORSE" : "") << Qt::endl;
        return ExitOk;
    }

    if (action == u"list"_s) {
        const QStringList servers = file.servers(&error);
        if (!error.isEmpty())
            return fail(error);
        out() << "history " << file.path() << Qt::endl;
        for (const QString& s : servers) {
            const auto [first, lastSample] = file.range(s, &error);
            out() << "  " << s << "  " << first.toString(Qt::ISODate) << " to " << lastSample.toString(Qt::ISODate) << Qt::endl;
        }
        const QList<htap::store::StoredSnapshot> kept = file.snapshots(&error);
        if (!kept.isEmpty())
            out() << "snapshots kept in it:" << Qt::endl;
        for (const auto& k : kept)
            out() << "  #" << k.id << "  " << k.createdAt.toString(Qt::ISODate) << "  " << k.title << "  " << k.server << "  "
                  << k.from.toString(Qt::ISODate) << " to " << k.to.toString(Qt::ISODate) << "  " << k.file << Qt::endl;
        return ExitOk;
    }

    // export
    if (!parser.isSet(outPath))
        return fail(u"snapshot export needs --out PATH"_s, ExitUsage);
    const QString path = parser.value(outPath);
    Format fmt = Format::Json;
    const QString formatText = parser.isSet(format) ? parser.value(format) : QFileInfo(path).suffix();
    if (!parseFormat(formatText, &fmt))
        return fail(u"unknown format \"%1\": json, csv, html, pdf or png"_s.arg(formatText), ExitUsage);
    const QDateTime now = QDateTime::currentDateTimeUtc();
    QDateTime fromTime, toTime = now;
    if (parser.isSet(last)) {
        if (!parseTime(u"-"_s + parser.value(last), now, &fromTime))
            return fail(u"invalid --last \"%1\": e.g. 5m, 1h, 30s"_s.arg(parser.value(last)), ExitUsage);
    } else {
        if (!parser.isSet(from))
            return fail(u"snapshot export needs --from T (or --last 5m)"_s, ExitUsage);
        if (!parseTime(parser.value(from), now, &fromTime))
            return fail(u"invalid --from \"%1\""_s.arg(parser.value(from)), ExitUsage);
        if (parser.isSet(to) && !parseTime(parser.value(to), now, &toTime))
            return fail(u"invalid --to \"%1\""_s.arg(parser.value(to)), ExitUsage);
    }
    if (fromTime.secsTo(toTime) > 24 * 3600)
        return fail(u"a snapshot covers at most 24 hours; make one per day"_s, ExitUsage);
    if (toTime <= fromTime)
        return fail(u"the window is empty: --to (%1) is not after --from (%2)"_s.arg(toTime.toString(Qt::ISODate),
                        fromTime.toString(Qt::ISODate)),
            ExitUsage);

    // Facts from the server, unless told not to; the history names the server the same way.
    Snapshot snap;
    QString serverName = parser.value(server);
    if (!parser.isSet(noFacts)) {
        htap::pg::ConnInfo info;
        if (!connInfoOrSandbox(parser, &info, &code))
            return code;
        htap::pg::Connection conn;
        if (htap::pg::PgError e = conn.open(info, {10000, u"htapctl snapshot"_s})) {
            snap.facts.unavailable << u"server facts: cannot connect (%1)"_s.arg(e.oneLine());
        } else if (!serverName.isEmpty() && serverName != conn.effectiveInfo().displayName()) {
            // Facts of another server than the samples' would mislead.
            snap.facts.unavailable << u"server facts: the connection (%1) is not the server of the samples (%2); "
                                      "give --conn for it"_s.arg(conn.effectiveInfo().displayName(), serverName);
        } else {
            snap.facts = readFacts(conn, fromTime, toTime);
            if (serverName.isEmpty())
                serverName = conn.effectiveInfo().displayName();
        }
    }
    const QStringList servers = file.servers(&error);
    if (!error.isEmpty())
        return fail(error);
    if (serverName.isEmpty() && servers.size() == 1)
        serverName = servers.first();
    if (!servers.contains(serverName))
        return fail(serverName.isEmpty() ? u"which server? the history has: %1 (--server NAME)"_s.arg(servers.join(u", "_s))
                                         : u"the history has no samples of %1; it has: %2"_s.arg(serverName, servers.join(u", "_s)),
            ExitUsage);
    snap.samples = file.load(serverName, fromTime, toTime, &error);
    if (error.isEmpty())
        for (const QJsonObject& i : file.incidents(serverName, fromTime, toTime, &error))
            snap.incidents.append(i);
    if (!error.isEmpty())
        return fail(error);
    if (snap.samples.isEmpty()) {
        const auto [first, lastSample] = file.range(serverName, &error);
        return fail(u"no samples of %1 between %2 and %3 UTC: its history runs from %4 to %5"_s.arg(serverName,
                        fromTime.toString(u"yyyy-MM-dd HH:mm:ss"_s), toTime.toString(u"yyyy-MM-dd HH:mm:ss"_s),
                        first.toString(u"yyyy-MM-dd HH:mm:ss"_s), lastSample.toString(u"yyyy-MM-dd HH:mm:ss"_s)));
    }
    for (const QString& r : parser.values(scenario)) {
        QByteArray bytes;
        if (!htap::core::readInputFile(r, htap::core::kMaxSnapshotBytes, u"scenario result"_s, &bytes, &error))
            return fail(error, ExitUsage);
        const QJsonDocument d = QJsonDocument::fromJson(bytes);
        if (d.object().value(u"format"_s).toString() != u"htap-scenario-result"_s)
            return fail(u"%1 is not a scenario result (htap-scenario-result)"_s.arg(r), ExitUsage);
        snap.scenarioResults << d.object();
    }
    snap.title = parser.value(title);
    snap.note = parser.value(note);
    snap.createdAt = now;
    snap.createdBy = u"htapctl "_s + QStringLiteral(HTAP_VERSION);
    snap.server = serverName;
    snap.from = fromTime;
    snap.to = toTime;
    if (!Snapshot::build(&snap, &error))
        return fail(error);
    QStringList written;
    if (!exportSnapshot(snap, fmt, path, &written, &error))
        return fail(error);
    const QByteArray body = QJsonDocument(snap.toJson()).toJson(QJsonDocument::Compact);
    const qint64 id = file.saveSnapshot({0, now, snap.title, serverName, fromTime, toTime, QFileInfo(path).absoluteFilePath()},
        body, &error);
    for (const QString& w : written)
        out() << "wrote " << w << Qt::endl;
    out() << snap.samples.size() << " samples, " << snap.series.size() << " series"
          << (id ? u"; kept in the history as snapshot #%1"_s.arg(id) : u"; not kept in the history: "_s + error) << Qt::endl;
    for (const QString& u : snap.facts.unavailable)
        err() << "htapctl: note: " << u << Qt::endl;
    return ExitOk;
}

} // namespace htap::cli
