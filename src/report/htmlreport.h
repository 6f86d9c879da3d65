// The report a DBA reads: what happened in the window first (incidents, target misses, the
// worst moments), then the figures, the charts and every table, each cell filled or saying why
// not. One text for the HTML file and the PDF.
#pragma once

#include "snapshot.h"

class QTextDocument;

namespace htap::report {

/// How the report's HTML refers to its charts: inline PNG data for a browser, or resources
/// named "chart:<id>" of a QTextDocument (the PDF).
enum class ChartImages { Inline, Resources };

QString reportHtml(const Snapshot& s, ChartImages images);
/// The PDF: the whole report (title, what happened, figures, charts, tables) on A4 pages.
/// Needs a QGuiApplication.
QByteArray reportPdf(const Snapshot& s);

} // namespace htap::report
