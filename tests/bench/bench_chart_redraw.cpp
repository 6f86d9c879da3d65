// qcustomplot.h itself uses foreach.
#undef QT_NO_FOREACH

// Benchmark: time to draw a frame of a chart holding 24 h of 1 s samples for 12 series, against
// the same chart showing only the last 5 minutes (the baseline, in the same run). A frame is
// what the chart's 5 Hz timer does (the window, per-pixel-column means and bands when the points
// outnumber the pixels, dashes for series lying on each other, the legend) and the replot.
// Goal: < 16 ms. Prints numbers; asserts nothing (speed is not a test).
#include <ui/chartwidget.h>

#include <QApplication>
#include <QElapsedTimer>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace {
double medianReplotMs(htap::ui::ChartWidget& chart, int runs)
{
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
        QElapsedTimer t;
        t.start();
        chart.redrawNow();
        ms.push_back(t.nsecsElapsed() / 1e6);
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}
} // namespace

int main(int argc, char** argv)
{
    qputenv("QT_QPA_PLATFORM", qgetenv("QT_QPA_PLATFORM").isEmpty() ? "offscreen" : qgetenv("QT_QPA_PLATFORM"));
    QApplication app(argc, argv);
    const int series = 12;
    const int seconds = 24 * 3600;
    htap::ui::ChartWidget chart(QStringLiteral("bench"), QStringLiteral("value"));
    chart.resize(1200, 400);
    chart.show();
    const QDateTime start = QDateTime::currentDateTimeUtc().addSecs(-seconds);
    for (int s = 0; s < series; ++s)
        chart.addSeries(QStringLiteral("series %1").arg(s), QColor::fromHsv(s * 30, 200, 200));
    chart.setVisibleSeconds(seconds); // the chart keeps what its window needs: all 24 h
    QElapsedTimer fill;
    fill.start();
    for (int t = 0; t < seconds; ++t) {
        const QDateTime at = start.addSecs(t);
        for (int s = 0; s < series; ++s)
            chart.addPoint(s, at, 100 + 50 * std::sin(t / 600.0 + s) + (t * 7919 + s * 104729) % 37);
    }
    const double fillMs = fill.nsecsElapsed() / 1e6;
    const double right = (start.toMSecsSinceEpoch() / 1000.0) + seconds;

    (void)right;
    chart.setVisibleSeconds(300);
    const double window5m = medianReplotMs(chart, 30);
    chart.setVisibleSeconds(seconds);
    const double window24h = medianReplotMs(chart, 30);
    int dashed = 0;
    for (int s = 0; s < series; ++s)
        dashed += chart.drawnStyle(s) != Qt::SolidLine;
    std::printf("  series drawn dashed (lying on another): %d of %d\n", dashed, series);
    if (!chart.drawsEnvelope())
        std::printf("warning: the 24 h frame was not drawn per pixel column\n");

    std::printf("chart redraw, %d series x %d points (24 h at 1 s), 1200x400 px, median of 30\n", series, seconds);
    std::printf("  baseline, last 5 minutes visible: %8.2f ms\n", window5m);
    std::printf("  all 24 hours visible:             %8.2f ms  (%.1fx the baseline; goal < 16 ms: %s)\n", window24h,
        window24h / window5m, window24h < 16 ? "met" : "NOT met");
    std::printf("  appending the %d points took      %8.1f ms\n", series * seconds, fillMs);
    return 0;
}
