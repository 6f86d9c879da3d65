#pragma once

#include "snapshot.h"

#include <QImage>

class QPainter;

namespace htap::report {

/// One chart of a report: the series of one group (Series::chart).
struct ChartSpec {
    QString id;    ///< file-name friendly: latency, throughput, ...
    QString title;
    QString unit;
};

/// The charts a snapshot has data for, in report order.
QList<ChartSpec> reportCharts(const Snapshot& s);
/// Draws one chart into rect: title, axes with round ticks, a time axis in UTC, one line per
/// series (broken where samples are missing), a legend. Plain QPainter: the same drawing for
/// the screen, PNG and PDF, with no widget. Needs a QGuiApplication (fonts).
void paintChart(QPainter& p, const QRectF& rect, const Snapshot& s, const ChartSpec& chart);
QImage renderChart(const Snapshot& s, const ChartSpec& chart, const QSize& size = {960, 360});

} // namespace htap::report
