#pragma once

#include "snapshot.h"

namespace htap::pg {
class Connection;
}

namespace htap::report {

enum class Format { Json, Csv, Html, Pdf, Png };
bool parseFormat(const QString& text, Format* format);
QString formatName(Format format);

/// What the connected server says now: version, the settings that matter to HTAP, extensions,
/// roles and their settings, views and their refresh log in [from, to]. A part that cannot be
/// read is named in unavailable; the rest is still returned.
ServerFacts readFacts(htap::pg::Connection& conn, const QDateTime& from, const QDateTime& to);

/// The self-contained HTML report (htmlreport.h): what happened in the window first, then the
/// key figures, the charts as inline PNG images, the state at the end, the facts. Opens with no
/// network. Needs a QGuiApplication (charts). The PDF holds the same report.
QByteArray toHtml(const Snapshot& s);

/// Writes bytes to path through a temporary file renamed at the end: never a half file, also
/// when the disk fills up; the file is the user's alone (0600): snapshots and results hold
/// statements and settings.
bool writeAtomically(const QString& path, const QByteArray& bytes, QString* error);

/// Exports in one format. json, csv, html and pdf write the file out; png writes one file per
/// chart, named out with "-<chart>.png" in place of ".png" (all or none). written lists the files.
bool exportSnapshot(const Snapshot& s, Format format, const QString& out, QStringList* written, QString* error);

} // namespace htap::report
