#include "reportwriter.h"

#include "chartpainter.h"

#include <core/format.h>
#include <core/privatefile.h>

#include <pg/connection.h>
#include <roles/rolecatalog.h>
#include <mv/mvservice.h>

#include <QBuffer>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>

#include <cmath>

namespace htap::report {

using namespace Qt::StringLiterals;

namespace {

QString esc(const QString& s)
{
    return s.toHtmlEscaped();
}

QString fmt(double v, const QString& unit = {})
{
    if (!std::isfinite(v))
        return u"–"_s;
    const QString n = std::fabs(v) >= 100 ? QString::number(v, 'f', 0) : QString::number(v, 'g', 3);
    if (unit.isEmpty())
        return n;
    return unit == u"1/s"_s ? QString(n + u"/s"_s) : QString(n + u' ' + unit);
}

QString jsonText(const QJsonValue& v)
{
    if (v.isDouble())
        return fmt(v.toDouble());
    if (v.isBool())
        return v.toBool() ? u"yes"_s : u"no"_s;
    if (v.isNull() || v.isUndefined())
        return QString();
    if (v.isString())
        return v.toString();
    return QString::fromUtf8(QJsonDocument(v.isArray() ? QJsonDocument(v.toArray()) : QJsonDocument(v.toObject())).toJson(QJsonDocument::Compact));
}

/// A table of JSON objects, with the given columns (key, heading).
QString table(const QJsonArray& rows, const QList<std::pair<QString, QString>>& columns, int limit = 50)
{
    if (rows.isEmpty())
        return u"<p class=\"none\">none</p>\n"_s;
    QString h = u"<table><tr>"_s;
    for (const auto& [key, heading] : columns)
        h += u"<th>"_s + esc(heading) + u"</th>"_s;
    h += u"</tr>\n"_s;
    for (int i = 0; i < rows.size() && i < limit; ++i) {
        h += u"<tr>"_s;
        for (const auto& [key, heading] : columns)
            h += u"<td>"_s + esc(jsonText(rows[i].toObject().value(key))) + u"</td>"_s;
        h += u"</tr>\n"_s;
    }
    h += u"</table>\n"_s;
    if (rows.size() > limit)
        h += u"<p class=\"none\">%1 more not shown (all of them are in the JSON)</p>\n"_s.arg(rows.size() - limit);
    return h;
}

QByteArray png(const QImage& image)
{
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    if (!image.save(&buffer, "PNG"))
        return {};
    return bytes;
}

QString chartFile(const QString& out, const QString& id)
{
    const QString base = out.endsWith(u".png"_s, Qt::CaseInsensitive) ? out.chopped(4) : out;
    return base + u'-' + id + u".png"_s;
}

} // namespace

bool parseFormat(const QString& text, Format* format)
{
    static const QList<std::pair<QString, Format>> names {{u"json"_s, Format::Json}, {u"csv"_s, Format::Csv},
        {u"html"_s, Format::Html}, {u"pdf"_s, Format::Pdf}, {u"png"_s, Format::Png}};
    for (const auto& [name, f] : names)
        if (text.compare(name, Qt::CaseInsensitive) == 0) {
            *format = f;
            return true;
        }
    return false;
}

QString formatName(Format format)
{
    switch (format) {
    case Format::Json: return u"json"_s;
    case Format::Csv: return u"csv"_s;
    case Format::Html: return u"html"_s;
    case Format::Pdf: return u"pdf"_s;
    case Format::Png: return u"png"_s;
    }
    return {};
}

ServerFacts readFacts(htap::pg::Connection& conn, const QDateTime& from, const QDateTime& to)
{
    ServerFacts f;
    const htap::pg::Result info = conn.exec(u"SELECT current_database(), pg_is_in_recovery(), version()"_s);
    if (info.ok())
        f.server = {{u"endpoint"_s, conn.effectiveInfo().displayName()}, {u"version"_s, conn.serverVersion()},
            {u"database"_s, info.text(0, 0)}, {u"in_recovery"_s, info.toBool(0, 1)}, {u"version_string"_s, info.text(0, 2)}};
    else
        f.unavailable << u"server: "_s + info.error().oneLine();
    // The settings an HTAP server lives by: memory, parallelism, autovacuum, timeouts, WAL.
    const htap::pg::Result settings = conn.exec(
        u"SELECT name, setting, coalesce(unit, '') AS unit, source FROM pg_settings WHERE name = ANY ($1::text[])"
        " OR name LIKE 'autovacuum%' ORDER BY name"_s,
        {QStringList {u"shared_buffers"_s, u"work_mem"_s, u"maintenance_work_mem"_s, u"effective_cache_size"_s,
            u"max_connections"_s, u"max_worker_processes"_s, u"max_parallel_workers"_s, u"max_parallel_workers_per_gather"_s,
            u"random_page_cost"_s, u"default_transaction_isolation"_s, u"statement_timeout"_s, u"lock_timeout"_s,
            u"idle_in_transaction_session_timeout"_s, u"wal_level"_s, u"synchronous_commit"_s, u"checkpoint_timeout"_s,
            u"max_wal_size"_s, u"jit"_s, u"track_io_timing"_s, u"hot_standby_feedback"_s, u"old_snapshot_threshold"_s,
            u"shared_preload_libraries"_s}});
    if (settings.ok())
        for (int i = 0; i < settings.rowCount(); ++i)
            f.settings << QJsonObject {{u"name"_s, settings.text(i, 0)}, {u"setting"_s, settings.text(i, 1)},
                {u"unit"_s, settings.text(i, 2)}, {u"source"_s, settings.text(i, 3)}};
    else
        f.unavailable << u"settings: "_s + settings.error().oneLine();
    const htap::pg::Result ext = conn.exec(u"SELECT extname, extversion FROM pg_extension ORDER BY 1"_s);
    if (ext.ok())
        for (int i = 0; i < ext.rowCount(); ++i)
            f.extensions << QJsonObject {{u"name"_s, ext.text(i, 0)}, {u"version"_s, ext.text(i, 1)}};
    else
        f.unavailable << u"extensions: "_s + ext.error().oneLine();
    QString error;
    const htap::roles::Catalog catalog = htap::roles::readCatalog(conn, &error);
    if (error.isEmpty())
        for (const htap::roles::RoleInfo& r : catalog.roles)
            f.roles << r.toJson();
    else
        f.unavailable << u"roles: "_s + error;
    htap::mv::MvService mv(conn);
    error.clear();
    const QList<htap::mv::ViewInfo> views = mv.list(&error);
    if (error.isEmpty())
        for (const htap::mv::ViewInfo& v : views)
            f.views << v.toJson();
    else
        f.unavailable << u"views: "_s + error;
    const htap::pg::Result log = conn.exec(
        u"SELECT id, view_name, mode, started_at::text, extract(epoch FROM finished_at - started_at)::float8 AS seconds,"
        " rows, outcome, coalesce(sqlstate, '') AS sqlstate, coalesce(message, '') AS message, by_role"
        " FROM htap.refresh_log WHERE started_at BETWEEN $1::timestamptz AND $2::timestamptz ORDER BY id LIMIT 10000"_s,
        {from.toString(Qt::ISODateWithMs), to.toString(Qt::ISODateWithMs)});
    if (log.ok())
        for (int i = 0; i < log.rowCount(); ++i)
            f.refreshLog << QJsonObject {{u"id"_s, log.toInt64(i, 0)}, {u"view"_s, log.text(i, 1)}, {u"mode"_s, log.text(i, 2)},
                {u"started_at"_s, log.text(i, 3)}, {u"seconds"_s, log.isNull(i, 4) ? QJsonValue() : QJsonValue(log.toDouble(i, 4))},
                {u"rows"_s, log.isNull(i, 5) ? QJsonValue() : QJsonValue(double(log.toInt64(i, 5)))}, {u"outcome"_s, log.text(i, 6)},
                {u"sqlstate"_s, log.text(i, 7)}, {u"message"_s, log.text(i, 8)}, {u"by"_s, log.text(i, 9)}};
    else if (log.error().sqlstate == u"42P01"_s)
        f.unavailable << u"refresh log: this database has no htap.refresh_log (no refresh made by HTAP Studio yet)"_s;
    else
        f.unavailable << u"refresh log: "_s + log.error().oneLine();
    return f;
}

QByteArray toHtml(const Snapshot& s)
{
    QString h;
    h += u"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>"_s + esc(s.title) + u"</title>\n"_s;
    h += u"<style>body{font-family:sans-serif;margin:2em;color:#222;max-width:1100px}h1{font-size:1.6em}"
         "h2{margin-top:1.6em;border-bottom:1px solid #ccc}table{border-collapse:collapse;margin:.5em 0}"
         "td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;font-size:.9em}th{background:#f3f3f3}"
         "img{max-width:100%;border:1px solid #eee;margin:.4em 0}.none{color:#888}.note{white-space:pre-wrap}"
         ".muted{color:#666}</style>\n</head><body>\n"_s;
    h += u"<h1>"_s + esc(s.title.isEmpty() ? u"Performance snapshot"_s : s.title) + u"</h1>\n"_s;
    h += u"<p class=\"muted\">%1 · %2 to %3 UTC · %4 samples · made %5 by %6</p>\n"_s.arg(esc(s.server),
        s.from.toString(u"yyyy-MM-dd HH:mm:ss"_s), s.to.toString(u"yyyy-MM-dd HH:mm:ss"_s), QString::number(s.samples.size()),
        s.createdAt.toString(u"yyyy-MM-dd HH:mm:ss"_s), esc(s.createdBy));
    if (!s.note.isEmpty())
        h += u"<p class=\"note\">"_s + esc(s.note) + u"</p>\n"_s;

    // What a DBA had to act on in the window comes first: the report tells that story.
    h += u"<h2>Incidents</h2>\n"_s;
    if (s.incidents.isEmpty()) {
        h += u"<p class=\"none\">None in this window: every target met, no blocking episode, the server answering.</p>\n"_s;
    } else {
        h += u"<table><tr><th>started</th><th>ended</th><th>lasted</th><th>what</th><th>worst</th><th>detail</th></tr>\n"_s;
        for (const QJsonValue& v : s.incidents) {
            const QJsonObject i = v.toObject();
            const QDateTime start = QDateTime::fromString(i.value(u"start"_s).toString(), Qt::ISODateWithMs);
            const QDateTime end = QDateTime::fromString(i.value(u"end"_s).toString(), Qt::ISODateWithMs);
            const double lasted = start.isValid() ? start.msecsTo(end.isValid() ? end : s.to) / 1000.0 : -1;
            h += u"<tr><td>%1</td><td>%2</td><td>%3</td><td>%4</td><td>%5</td><td>%6</td></tr>\n"_s.arg(
                start.toUTC().toString(u"yyyy-MM-dd HH:mm:ss"_s),
                end.isValid() ? end.toUTC().toString(u"HH:mm:ss"_s) : u"still open at the end"_s,
                htap::core::formatSeconds(lasted), esc(i.value(u"title"_s).toString()),
                htap::core::formatSeconds(i.value(u"worstSeconds"_s).toDouble()), esc(i.value(u"detail"_s).toString()));
        }
        h += u"</table>\n"_s;
    }

    // The seed's way of putting it (5.2): one row, OLTP and OLAP side by side. Client-side
    // figures from a scenario run where there is one (what the seed measured), else the server's.
    const QList<KeyFigure> figures = s.keyFigures();
    {
        auto figure = [&](const QString& prefix, const QString& suffix) {
            for (const KeyFigure& k : figures)
                if (k.key.startsWith(prefix) && k.key.endsWith(suffix))
                    return k.value;
            return qQNaN();
        };
        const bool scenario = std::isfinite(figure(u"scenario.oltp."_s, u".p99_ms"_s));
        const QString oltp = scenario ? u"scenario.oltp."_s : u"oltp."_s;
        const QString olap = scenario ? u"scenario.olap."_s : u"olap."_s;
        h += u"<h2>At a glance</h2>\n<table><tr><th>OLTP TPS</th><th>OLTP p50</th><th>OLTP p99</th><th>OLAP p50</th>"
             "<th>OLAP p99</th><th>view staleness p99</th><th>lock waits (max)</th><th>dead tuples (end)</th>"
             "<th>horizon age (max)</th></tr>\n<tr>"_s;
        for (const QString& cell : {fmt(scenario ? figure(oltp, u".tps"_s) : figure(u"throughput.commits_per_s"_s, QString()), u"1/s"_s),
                 fmt(figure(oltp, u".p50_ms"_s), u"ms"_s), fmt(figure(oltp, u".p99_ms"_s), u"ms"_s),
                 fmt(figure(olap, u".p50_ms"_s), u"ms"_s), fmt(figure(olap, u".p99_ms"_s), u"ms"_s),
                 fmt(figure(u"views.staleness_p99_s"_s, QString()), u"s"_s), fmt(figure(u"locks.waiting_max"_s, QString())),
                 fmt(figure(u"vacuum.dead_tuples_end"_s, QString())), fmt(figure(u"vacuum.horizon_age_max"_s, QString()))})
            h += u"<td>"_s + esc(cell) + u"</td>"_s;
        h += u"</tr></table>\n<p class=\"muted\">%1</p>\n"_s.arg(scenario
                ? u"Latency and TPS measured by the scenario's clients from each request's intended start."_s
                : u"Latency: percentiles of the per-second mean statement time (pg_stat_statements); TPS: commits per second."_s);
    }
    h += u"<h2>Summary</h2>\n<table><tr><th>figure</th><th>value</th></tr>\n"_s;
    for (const KeyFigure& k : figures)
        h += u"<tr><td>%1</td><td>%2</td></tr>\n"_s.arg(esc(k.label), esc(fmt(k.value, k.unit)));
    h += u"</table>\n"_s;

    h += u"<h2>Charts</h2>\n"_s;
    for (const ChartSpec& c : reportCharts(s))
        h += u"<img alt=\"%1\" src=\"data:image/png;base64,%2\">\n"_s.arg(esc(c.title),
            QString::fromLatin1(png(renderChart(s, c)).toBase64()));

    for (const QJsonValue& rv : s.scenarioResults) {
        const QJsonObject r = rv.toObject();
        h += u"<h2>Scenario %1</h2>\n"_s.arg(esc(r.value(u"scenario"_s).toObject().value(u"name"_s).toString()));
        QJsonArray rows;
        const QJsonObject ws = r.value(u"workloads"_s).toObject();
        for (auto it = ws.begin(); it != ws.end(); ++it) {
            const QJsonObject sum = it.value().toObject().value(u"summary"_s).toObject();
            const QJsonObject lat = sum.value(u"latency_ms"_s).toObject();
            rows << QJsonObject {{u"workload"_s, it.key()}, {u"committed"_s, sum.value(u"committed"_s)},
                {u"failed"_s, sum.value(u"failed"_s)}, {u"tps"_s, sum.value(u"tps"_s)}, {u"p50"_s, lat.value(u"p50"_s)},
                {u"p99"_s, lat.value(u"p99"_s)}, {u"max"_s, lat.value(u"max"_s)}};
        }
        h += table(rows, {{u"workload"_s, u"workload"_s}, {u"committed"_s, u"committed"_s}, {u"failed"_s, u"failed"_s},
                             {u"tps"_s, u"tps"_s}, {u"p50"_s, u"p50 ms"_s}, {u"p99"_s, u"p99 ms"_s}, {u"max"_s, u"max ms"_s}});
        h += u"<p class=\"muted\">%1 to %2%3</p>\n"_s.arg(esc(r.value(u"startedAt"_s).toString()), esc(r.value(u"finishedAt"_s).toString()),
            r.value(u"partial"_s).toBool() ? u" · partial: "_s + esc(r.value(u"stopReason"_s).toString()) : QString());
    }

    h += u"<h2>Locks at the end</h2>\n"_s;
    h += u"<p>%1 session(s) waiting</p>\n"_s.arg(s.locksAtEnd.value(u"waitingSessions"_s).toInt());
    h += table(s.locksAtEnd.value(u"nodes"_s).toArray(), {{u"pid"_s, u"pid"_s}, {u"role"_s, u"role"_s}, {u"state"_s, u"state"_s},
                                                              {u"wait"_s, u"wait"_s}, {u"waitSeconds"_s, u"waiting s"_s},
                                                              {u"blockedBy"_s, u"blocked by"_s}, {u"query"_s, u"query"_s}});
    h += u"<h2>Vacuum at the end</h2>\n<p>xmin horizon age: %1</p>\n"_s.arg(fmt(s.vacuumAtEnd.value(u"horizonAge"_s).toDouble()));
    QJsonArray tables = s.vacuumAtEnd.value(u"tables"_s).toArray();
    h += table(tables, {{u"table"_s, u"table"_s}, {u"deadTuples"_s, u"dead tuples"_s}, {u"pctOfTrigger"_s, u"% of trigger"_s},
                           {u"liveTuples"_s, u"live tuples"_s}, {u"lastVacuum"_s, u"last vacuum"_s}},
        20);
    h += u"<h3>Who holds the horizon</h3>\n"_s;
    h += table(s.vacuumAtEnd.value(u"xminHolders"_s).toArray(), {{u"kind"_s, u"kind"_s}, {u"holder"_s, u"holder"_s},
                                                                     {u"role"_s, u"role"_s}, {u"application"_s, u"application"_s},
                                                                     {u"state"_s, u"state"_s}, {u"xidAge"_s, u"xid age"_s},
                                                                     {u"heldSeconds"_s, u"held s"_s}});
    h += u"<h2>Materialized views</h2>\n"_s;
    h += table(s.facts.views, {{u"view"_s, u"view"_s}, {u"mode"_s, u"mode"_s}, {u"populated"_s, u"populated"_s},
                                  {u"stalenessSeconds"_s, u"staleness s"_s}, {u"pendingRows"_s, u"pending"_s},
                                  {u"totalBytes"_s, u"bytes"_s}});
    h += u"<h3>Refresh log in the window</h3>\n"_s;
    h += table(s.facts.refreshLog, {{u"view"_s, u"view"_s}, {u"mode"_s, u"mode"_s}, {u"started_at"_s, u"started"_s},
                                       {u"seconds"_s, u"took s"_s}, {u"rows"_s, u"rows"_s}, {u"outcome"_s, u"outcome"_s},
                                       {u"message"_s, u"message"_s}},
        100);
    h += u"<h2>Role settings</h2>\n"_s;
    h += table(s.facts.roles, {{u"name"_s, u"role"_s}, {u"login"_s, u"login"_s}, {u"connection_limit"_s, u"connection limit"_s},
                                  {u"settings"_s, u"settings"_s}});
    h += u"<h2>Server</h2>\n<p>%1</p>\n"_s.arg(esc(s.facts.server.value(u"version_string"_s).toString()));
    h += table(s.facts.settings, {{u"name"_s, u"setting"_s}, {u"setting"_s, u"value"_s}, {u"unit"_s, u"unit"_s},
                                     {u"source"_s, u"source"_s}},
        100);
    h += u"<h3>Extensions</h3>\n"_s;
    h += table(s.facts.extensions, {{u"name"_s, u"extension"_s}, {u"version"_s, u"version"_s}});
    if (!s.facts.unavailable.isEmpty()) {
        h += u"<h3>Not in this snapshot</h3>\n<ul>"_s;
        for (const QString& u : s.facts.unavailable)
            h += u"<li>"_s + esc(u) + u"</li>"_s;
        h += u"</ul>\n"_s;
    }
    // For checks in a browser (and the tests): how many chart images decoded.
    h += u"<script>window.addEventListener('load',function(){var im=document.images,ok=0;"
         "for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0)ok++;}"
         "document.body.setAttribute('data-images-ok',ok+'/'+im.length);});</script>\n"_s;
    h += u"</body></html>\n"_s;
    return h.toUtf8();
}

bool writeAtomically(const QString& path, const QByteArray& bytes, QString* error)
{
    return htap::core::writePrivateFile(path, bytes, error);
}

bool exportSnapshot(const Snapshot& s, Format format, const QString& out, QStringList* written, QString* error)
{
    written->clear();
    switch (format) {
    case Format::Json:
        if (!writeAtomically(out, QJsonDocument(s.toJson()).toJson(QJsonDocument::Compact), error))
            return false;
        break;
    case Format::Csv:
        if (!writeAtomically(out, s.toCsv(), error))
            return false;
        break;
    case Format::Html:
        if (!writeAtomically(out, toHtml(s), error))
            return false;
        break;
    case Format::Pdf: {
        QByteArray bytes;
        {
            QBuffer buffer(&bytes);
            buffer.open(QIODevice::WriteOnly);
            QPdfWriter pdf(&buffer);
            pdf.setPageSize(QPageSize(QPageSize::A4));
            pdf.setPageOrientation(QPageLayout::Landscape);
            pdf.setResolution(150);
            pdf.setTitle(s.title);
            pdf.setCreator(s.createdBy);
            QPainter p(&pdf);
            const QRectF page(0, 0, pdf.width(), pdf.height());
            const QList<ChartSpec> charts = reportCharts(s);
            QFont font = p.font();
            font.setPixelSize(int(page.height() / 30));
            p.setFont(font);
            p.drawText(QRectF(page.left(), page.top(), page.width(), page.height() / 12), Qt::AlignLeft | Qt::AlignVCenter,
                (s.title.isEmpty() ? u"Performance snapshot"_s : s.title) + u" — "_s + s.server + u", "_s
                    + s.from.toString(u"yyyy-MM-dd HH:mm:ss"_s) + u" to "_s + s.to.toString(u"HH:mm:ss"_s) + u" UTC"_s);
            double y = page.height() / 12;
            const double h = (page.height() - page.height() / 12) / 2;
            for (int i = 0; i < charts.size(); ++i) {
                if (y + h > page.height() + 1) {
                    pdf.newPage();
                    y = 0;
                }
                paintChart(p, QRectF(0, y, page.width(), h - 10), s, charts[i]);
                y += h;
            }
            p.end();
        }
        if (!writeAtomically(out, bytes, error))
            return false;
        break;
    }
    case Format::Png: {
        // Every image first: a chart that does not encode writes nothing at all.
        QList<std::pair<QString, QByteArray>> files;
        for (const ChartSpec& c : reportCharts(s)) {
            const QByteArray bytes = png(renderChart(s, c, {1400, 500}));
            if (bytes.isEmpty()) {
                *error = u"cannot draw the chart %1"_s.arg(c.id);
                return false;
            }
            files.append({chartFile(out, c.id), bytes});
        }
        QStringList existed;
        for (const auto& [file, bytes] : files)
            if (QFileInfo::exists(file))
                existed << file;
        for (const auto& [file, bytes] : files) {
            if (!writeAtomically(file, bytes, error)) {
                for (const QString& w : std::as_const(*written)) // all or none; files from before stay
                    if (!existed.contains(w))
                        QFile::remove(w);
                written->clear();
                return false;
            }
            *written << file;
        }
        return true;
    }
    }
    *written << out;
    return true;
}

} // namespace htap::report
