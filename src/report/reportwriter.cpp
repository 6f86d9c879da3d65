#include "reportwriter.h"

#include "chartpainter.h"
#include "htmlreport.h"

#include <core/privatefile.h>

#include <pg/connection.h>
#include <roles/rolecatalog.h>
#include <mv/mvservice.h>

#include <QBuffer>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>

#include <cmath>

namespace htap::report {

using namespace Qt::StringLiterals;

namespace {

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
    return reportHtml(s, ChartImages::Inline).toUtf8();
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
    case Format::Pdf:
        if (!writeAtomically(out, reportPdf(s), error))
            return false;
        break;
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
