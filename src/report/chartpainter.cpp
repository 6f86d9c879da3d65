#include "chartpainter.h"

#include <core/format.h>

#include <QJsonObject>
#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>
#include <limits>

namespace htap::report {

using namespace Qt::StringLiterals;

namespace {

const QList<std::pair<QString, std::pair<QString, QString>>> kCharts {
    {u"latency"_s, {u"OLTP and OLAP: mean statement time per second (pg_stat_statements)"_s, u"ms"_s}},
    {u"throughput"_s, {u"Transactions per second"_s, u"1/s"_s}},
    {u"sessions"_s, {u"Sessions: active, idle in transaction, waiting on a lock"_s, u"sessions"_s}},
    {u"staleness"_s, {u"Materialized view staleness"_s, u"s"_s}},
    {u"vacuum"_s, {u"Vacuum lag: dead tuples of the worst table, % of its autovacuum trigger"_s, u"%"_s}},
    {u"horizon"_s, {u"Age of the xmin horizon"_s, u"transactions"_s}},
    {u"dead"_s, {u"Dead tuples, all tables"_s, u"tuples"_s}},
    {u"statements"_s, {u"Statements per second by class"_s, u"1/s"_s}},
    {u"wal"_s, {u"WAL written"_s, u"bytes/s"_s}},
    {u"replication"_s, {u"Replication: replay lag of the worst standby"_s, u"s"_s}},
};

QColor colour(int i)
{
    static const QList<QColor> palette {QColor(0x1f, 0x77, 0xb4), QColor(0xd6, 0x27, 0x28), QColor(0x2c, 0xa0, 0x2c),
        QColor(0xff, 0x7f, 0x0e), QColor(0x94, 0x67, 0xbd), QColor(0x8c, 0x56, 0x4b), QColor(0xe3, 0x77, 0xc2),
        QColor(0x7f, 0x7f, 0x7f)};
    return palette[i % palette.size()];
}

double niceStep(double range, int ticks)
{
    const double raw = range / std::max(1, ticks);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
        if (raw <= m * mag)
            return m * mag;
    return 10 * mag;
}

/// A tick's value: short (k, M, G) and in the one format, never "e+"; trailing zeros of a
/// round tick dropped ("2.5M", not "2.50M").
QString tickText(double v)
{
    const double a = std::fabs(v);
    const auto [scaled, suffix] = a >= 1e15 ? std::pair {v, QString()}
        : a >= 1e9                          ? std::pair {v / 1e9, u"G"_s}
        : a >= 1e6                          ? std::pair {v / 1e6, u"M"_s}
        : a >= 1e4                          ? std::pair {v / 1e3, u"k"_s}
                                            : std::pair {v, QString()};
    QString text = htap::core::formatNumber(scaled);
    if (text.contains(u'.') && !text.contains(u'^')) {
        while (text.endsWith(u'0'))
            text.chop(1);
        if (text.endsWith(u'.'))
            text.chop(1);
    }
    return text + suffix;
}

/// Legend entries flowed into rows as wide as the plot: whole labels where they fit (three
/// fixed columns cut "dead tuples, worst table (% of its autovacuum trigger)" to "dead tu…").
struct LegendEntry {
    QString text;
    QColor colour;
    bool band = false; ///< a shaded span (incidents), not a line
    QPointF at;
};

int layoutLegend(QList<LegendEntry>& entries, const QFontMetricsF& fm, double width)
{
    const double swatch = 24, gap = 18;
    double x = 0;
    int row = 0;
    for (LegendEntry& e : entries) {
        e.text = fm.elidedText(e.text, Qt::ElideRight, width - swatch);
        const double w = swatch + fm.horizontalAdvance(e.text) + gap;
        if (x > 0 && x + w - gap > width) {
            ++row;
            x = 0;
        }
        e.at = QPointF(x, row);
        x += w;
    }
    return entries.isEmpty() ? 0 : row + 1;
}

} // namespace

QList<ChartSpec> reportCharts(const Snapshot& s)
{
    QList<ChartSpec> out;
    for (const auto& [id, text] : kCharts)
        // id captured by copy: clang 14 (the fuzz build) does not capture structured bindings.
        if (std::any_of(s.series.begin(), s.series.end(),
                [&, id = id](const Series& x) { return x.chart == id && !x.isEmpty(); }))
            out << ChartSpec {id, text.first, text.second};
    return out;
}

void paintChart(QPainter& p, const QRectF& rect, const Snapshot& s, const ChartSpec& chart)
{
    p.save();
    p.setRenderHint(QPainter::Antialiasing);
    p.fillRect(rect, Qt::white);
    QFont font = p.font();
    font.setPixelSize(std::max(10, int(rect.height() / 28)));
    p.setFont(font);
    const QFontMetricsF fm(font);
    QList<const Series*> lines;
    for (const Series& x : s.series)
        if (x.chart == chart.id && !x.isEmpty())
            lines << &x;

    QFont titleFont = font;
    titleFont.setBold(true);
    p.setFont(titleFont);
    p.setPen(Qt::black);
    p.drawText(QRectF(rect.left() + 8, rect.top() + 4, rect.width() - 16, fm.height() + 4), Qt::AlignLeft | Qt::AlignVCenter,
        QFontMetricsF(titleFont).elidedText(chart.title, Qt::ElideRight, rect.width() - 16));
    p.setFont(font);

    // The time axis spans the data, not the window asked for: every chart of a report the same,
    // so a moment lines up from one to the next. A lone sample gets a minute around it.
    auto [t0, t1] = s.dataSpan();
    if (t1 <= t0) {
        t0 -= 30000;
        t1 += 30000;
    }
    // Incidents are shaded, as on the pages' charts: where the story happened.
    QList<std::pair<qint64, qint64>> shaded;
    for (const QJsonValue& v : s.incidents) {
        const QJsonObject i = v.toObject();
        const QDateTime start = QDateTime::fromString(i.value(u"start"_s).toString(), Qt::ISODateWithMs);
        const QDateTime end = QDateTime::fromString(i.value(u"end"_s).toString(), Qt::ISODateWithMs);
        if (!start.isValid())
            continue;
        const qint64 a = std::max(t0, start.toMSecsSinceEpoch());
        const qint64 b = std::min(t1, end.isValid() ? end.toMSecsSinceEpoch() : t1);
        if (b > a)
            shaded.append({a, b});
    }
    // Overlapping incidents (a blocking episode and the target it made orders miss) are one span.
    std::sort(shaded.begin(), shaded.end());
    for (int i = 1; i < shaded.size();)
        if (shaded[i].first <= shaded[i - 1].second) {
            shaded[i - 1].second = std::max(shaded[i - 1].second, shaded[i].second);
            shaded.removeAt(i);
        } else {
            ++i;
        }
    const QColor shade(0x60, 0x60, 0x60, 30); // grey: not to be read as a series' colour

    const double plotLeft = rect.left() + fm.horizontalAdvance(u"00000000"_s);
    const double plotWidth = rect.right() - 16 - plotLeft;
    // More points than the plot has pixels: drawn as a band (below), and the legend says so.
    auto isDense = [&](const Series& x) { return double(x.t.size()) > plotWidth / 2; };
    QList<LegendEntry> legend;
    for (int i = 0; i < lines.size(); ++i)
        legend.append({isDense(*lines[i]) ? lines[i]->label + u" (band: lowest to highest)"_s : lines[i]->label, colour(i), false, {}});
    if (!shaded.isEmpty())
        legend.append({u"incident"_s, shade, true, {}});
    const int legendRows = layoutLegend(legend, fm, plotWidth);
    const double rowHeight = fm.height() * 1.15;
    const QRectF plot(plotLeft, rect.top() + fm.height() * 2 + 6, plotWidth,
        rect.height() - (fm.height() * 2 + 6) - (fm.height() * 2.8 + legendRows * rowHeight) - 4);

    double vmax = 0;
    for (const Series* x : lines)
        for (double v : x->v)
            if (std::isfinite(v))
                vmax = std::max(vmax, v);
    if (vmax <= 0)
        vmax = 1;
    // Series of very different sizes (OLTP statements in microseconds, reports in seconds) share
    // a logarithmic axis, or the small one is a flat line at zero.
    double vminPositive = vmax;
    for (const Series* x : lines)
        for (double v : x->v)
            if (std::isfinite(v) && v > 0)
                vminPositive = std::min(vminPositive, v);
    const bool logarithmic = vmax / vminPositive > 1000;
    const double lo = logarithmic ? std::pow(10.0, std::floor(std::log10(vminPositive))) : 0;
    const double step = niceStep(vmax, 5);
    vmax = logarithmic ? std::pow(10.0, std::ceil(std::log10(vmax))) : std::ceil(vmax / step) * step;
    auto xOf = [&](qint64 t) { return plot.left() + plot.width() * double(t - t0) / double(t1 - t0); };
    auto yOf = [&](double v) {
        if (!logarithmic)
            return plot.bottom() - plot.height() * v / vmax;
        const double f = (std::log10(std::max(v, lo)) - std::log10(lo)) / (std::log10(vmax) - std::log10(lo));
        return plot.bottom() - plot.height() * f;
    };

    for (const auto& [a, b] : shaded)
        p.fillRect(QRectF(QPointF(xOf(a), plot.top()), QPointF(std::max(xOf(b), xOf(a) + 2), plot.bottom())), shade);

    // Grid and axes.
    p.setPen(QPen(QColor(0xe0, 0xe0, 0xe0), 1));
    QList<double> ticks;
    if (logarithmic) {
        // One label a decade while they fit, else every other decade.
        const int decades = int(std::lround(std::log10(vmax / lo)));
        const int every = std::max(1, int(std::ceil(decades * fm.height() * 1.5 / plot.height())));
        for (int d = 0; d <= decades; d += every)
            ticks << lo * std::pow(10.0, d);
    } else {
        for (double v = 0; v <= vmax + step / 2; v += step)
            ticks << v;
    }
    for (double v : ticks) {
        p.drawLine(QPointF(plot.left(), yOf(v)), QPointF(plot.right(), yOf(v)));
        p.setPen(Qt::darkGray);
        p.drawText(QRectF(rect.left(), yOf(v) - fm.height() / 2, plot.left() - rect.left() - 6, fm.height()),
            Qt::AlignRight | Qt::AlignVCenter, tickText(v));
        p.setPen(QPen(QColor(0xe0, 0xe0, 0xe0), 1));
    }
    const double seconds = double(t1 - t0) / 1000;
    // Round steps of a clock: seconds below a minute, then 1, 2, 5, 10, 15, 30 minutes, hours.
    double tstep = niceStep(seconds, 6);
    if (tstep >= 60)
        for (double minutes : {1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 360, 720, 1440}) {
            tstep = minutes * 60;
            if (seconds / tstep <= 7)
                break;
        }
    const qint64 first = qint64(std::ceil(double(t0) / (tstep * 1000)) * tstep * 1000);
    for (qint64 t = first; t <= t1; t += qint64(tstep * 1000)) {
        p.setPen(QPen(QColor(0xe0, 0xe0, 0xe0), 1));
        p.drawLine(QPointF(xOf(t), plot.top()), QPointF(xOf(t), plot.bottom()));
        p.setPen(Qt::darkGray);
        const QString label = QDateTime::fromMSecsSinceEpoch(t, Qt::UTC).toString(seconds > 86400 ? u"MM-dd HH:mm"_s : u"HH:mm:ss"_s);
        p.drawText(QRectF(xOf(t) - 60, plot.bottom() + 2, 120, fm.height()), Qt::AlignHCenter | Qt::AlignTop, label);
    }
    p.setPen(Qt::darkGray);
    p.drawText(QRectF(plot.right() - 200, plot.bottom() + fm.height() + 2, 200, fm.height()), Qt::AlignRight, u"UTC"_s);
    p.drawText(QRectF(plot.right() - 300, plot.top() - fm.height() - 2, 300, fm.height()), Qt::AlignRight,
        logarithmic ? chart.unit + u" (log scale)"_s : chart.unit);
    p.setPen(QPen(Qt::gray, 1));
    p.drawRect(plot);

    // Lines: broken where the samples pause (more than 5 times the usual gap). More points than
    // the plot has pixels are drawn as a band from each pixel's lowest to its highest value and a
    // line through their middle: one line zigzagging a thousand times between a report's seconds
    // and a quick statement's microseconds on a log axis is a solid block that hides the rest.
    p.save();
    p.setClipRect(plot.adjusted(-3, -3, 3, 3));
    struct Drawn {
        QPainterPath path;
        QList<QPointF> lone;
        QColor colour;
    };
    QList<Drawn> drawn;
    QList<std::pair<QRectF, QColor>> bands;
    for (int i = 0; i < lines.size(); ++i) {
        const Series& x = *lines[i];
        QVector<qint64> gaps;
        for (int k = 1; k < x.t.size(); ++k)
            gaps << x.t[k] - x.t[k - 1];
        std::sort(gaps.begin(), gaps.end());
        const qint64 usual = gaps.isEmpty() ? 1000 : std::max<qint64>(gaps[gaps.size() / 2], 1000);
        const bool dense = isDense(x);
        const double bucketWidth = dense ? 3.0 : 0.0;
        QPainterPath path;
        QColor band = colour(i);
        band.setAlpha(45);
        bool open = false;
        int segment = 0; ///< points in the line drawn so far since its last break
        QPointF lastPoint;
        QList<QPointF> lone;
        qint64 previousT = 0;
        int bucket = std::numeric_limits<int>::min();
        double bucketLow = 0, bucketHigh = 0, bucketSum = 0, bucketX = 0;
        int bucketCount = 0;
        auto flush = [&] {
            if (bucketCount == 0)
                return;
            const QPointF pt(bucketX, bucketSum / bucketCount);
            if (bucketLow - bucketHigh > 1) // y grows downwards: low is the larger y
                bands.append({QRectF(bucketX - bucketWidth / 2, bucketHigh, bucketWidth, bucketLow - bucketHigh), band});
            if (open)
                path.lineTo(pt);
            else
                path.moveTo(pt);
            open = true;
            bucketCount = 0;
            bucketSum = 0;
        };
        for (int k = 0; k < x.t.size(); ++k) {
            if (!std::isfinite(x.v[k])) {
                flush();
                open = false;
                if (segment == 1)
                    lone << lastPoint;
                segment = 0;
                continue;
            }
            const bool broken = k > 0 && x.t[k] - previousT > 5 * usual;
            previousT = x.t[k];
            const QPointF pt(xOf(x.t[k]), yOf(x.v[k]));
            if (dense) {
                const int b = int(std::floor((pt.x() - plot.left()) / bucketWidth));
                if (b != bucket || broken) {
                    flush();
                    if (broken)
                        open = false;
                    bucket = b;
                    bucketLow = bucketHigh = pt.y();
                    bucketX = plot.left() + (b + 0.5) * bucketWidth;
                }
                bucketLow = std::max(bucketLow, pt.y()); // y grows downwards
                bucketHigh = std::min(bucketHigh, pt.y());
                bucketSum += pt.y();
                ++bucketCount;
                continue;
            }
            if (open && !broken) {
                path.lineTo(pt);
                ++segment;
            } else {
                if (segment == 1)
                    lone << lastPoint;
                path.moveTo(pt);
                segment = 1;
            }
            lastPoint = pt;
            open = true;
        }
        flush();
        if (segment == 1)
            lone << lastPoint;
        drawn.append({path, lone, colour(i)});
    }
    // Every band under every line: a wide band does not hide the series drawn before it.
    for (const auto& [r, c] : std::as_const(bands))
        p.fillRect(r, c);
    for (const Drawn& d : std::as_const(drawn)) {
        p.setPen(QPen(d.colour, 1.6));
        p.setBrush(Qt::NoBrush);
        p.drawPath(d.path);
        // A value with no neighbour to draw a line to (the one statement that finished after a
        // 3-minute wait) is a dot, not nothing.
        p.setBrush(d.colour);
        for (const QPointF& pt : d.lone)
            p.drawEllipse(pt, 2.5, 2.5);
    }
    p.restore();

    // Legend.
    for (const LegendEntry& e : std::as_const(legend)) {
        const QPointF at(plot.left() + e.at.x(), plot.bottom() + fm.height() * 2.4 + e.at.y() * rowHeight);
        if (e.band)
            p.fillRect(QRectF(at.x(), at.y() + 1, 18, fm.height() - 2), e.colour);
        else
            p.fillRect(QRectF(at.x(), at.y() + fm.height() / 2 - 2, 18, 4), e.colour);
        p.setPen(Qt::black);
        p.drawText(QRectF(at.x() + 24, at.y(), plot.width() - e.at.x() - 24, fm.height()), Qt::AlignLeft | Qt::AlignVCenter,
            e.text);
    }
    if (lines.isEmpty()) {
        p.setPen(Qt::darkGray);
        p.drawText(plot, Qt::AlignCenter, u"no data in this window"_s);
    }
    p.restore();
}

QImage renderChart(const Snapshot& s, const ChartSpec& chart, const QSize& size)
{
    QImage image(size, QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::white);
    QPainter p(&image);
    paintChart(p, QRectF(QPointF(0, 0), QSizeF(size)), s, chart);
    p.end();
    return image;
}

} // namespace htap::report
