#include "chartpainter.h"

#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>

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

QString tickText(double v)
{
    const double a = std::fabs(v);
    if (a >= 1e9)
        return QString::number(v / 1e9, 'g', 3) + u'G';
    if (a >= 1e6)
        return QString::number(v / 1e6, 'g', 3) + u'M';
    if (a >= 1e4)
        return QString::number(v / 1e3, 'g', 3) + u'k';
    return QString::number(v, 'g', 4);
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
        chart.title);
    p.setFont(font);

    const double legendRows = std::ceil(double(lines.size()) / 3.0);
    const QRectF plot(rect.left() + fm.horizontalAdvance(u"00000000"_s), rect.top() + fm.height() * 2 + 6,
        rect.width() - fm.horizontalAdvance(u"00000000"_s) - 16, rect.height() - fm.height() * (4.5 + legendRows) - 10);
    qint64 t0 = s.from.toMSecsSinceEpoch(), t1 = s.to.toMSecsSinceEpoch();
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
    if (t1 <= t0)
        t1 = t0 + 1000;
    auto xOf = [&](qint64 t) { return plot.left() + plot.width() * double(t - t0) / double(t1 - t0); };
    auto yOf = [&](double v) {
        if (!logarithmic)
            return plot.bottom() - plot.height() * v / vmax;
        const double f = (std::log10(std::max(v, lo)) - std::log10(lo)) / (std::log10(vmax) - std::log10(lo));
        return plot.bottom() - plot.height() * f;
    };

    // Grid and axes.
    p.setPen(QPen(QColor(0xe0, 0xe0, 0xe0), 1));
    QList<double> ticks;
    if (logarithmic)
        for (double v = lo; v <= vmax * 1.001; v *= 10)
            ticks << v;
    else
        for (double v = 0; v <= vmax + step / 2; v += step)
            ticks << v;
    for (double v : ticks) {
        p.drawLine(QPointF(plot.left(), yOf(v)), QPointF(plot.right(), yOf(v)));
        p.setPen(Qt::darkGray);
        p.drawText(QRectF(rect.left(), yOf(v) - fm.height() / 2, plot.left() - rect.left() - 6, fm.height()),
            Qt::AlignRight | Qt::AlignVCenter, tickText(v));
        p.setPen(QPen(QColor(0xe0, 0xe0, 0xe0), 1));
    }
    const double seconds = double(t1 - t0) / 1000;
    const double tstep = niceStep(seconds, 6) < 60 ? niceStep(seconds, 6) : std::ceil(niceStep(seconds, 6) / 60) * 60;
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

    // Lines: broken where the samples pause (more than 5 times the usual gap).
    for (int i = 0; i < lines.size(); ++i) {
        const Series& x = *lines[i];
        QVector<qint64> gaps;
        for (int k = 1; k < x.t.size(); ++k)
            gaps << x.t[k] - x.t[k - 1];
        std::sort(gaps.begin(), gaps.end());
        const qint64 usual = gaps.isEmpty() ? 1000 : std::max<qint64>(gaps[gaps.size() / 2], 1000);
        QPainterPath path;
        bool open = false;
        for (int k = 0; k < x.t.size(); ++k) {
            if (!std::isfinite(x.v[k])) {
                open = false;
                continue;
            }
            const QPointF pt(xOf(x.t[k]), yOf(x.v[k]));
            if (open && x.t[k] - x.t[k - 1] <= 5 * usual)
                path.lineTo(pt);
            else
                path.moveTo(pt);
            open = true;
        }
        p.setPen(QPen(colour(i), 1.6));
        p.setBrush(Qt::NoBrush);
        p.drawPath(path);
        if (x.t.size() == 1)
            p.drawEllipse(QPointF(xOf(x.t[0]), yOf(x.v[0])), 2.5, 2.5);
        // Legend entry.
        const double col = plot.width() / 3;
        const QPointF at(plot.left() + col * (i % 3), plot.bottom() + fm.height() * (2.4 + i / 3));
        p.fillRect(QRectF(at.x(), at.y() + fm.height() / 2 - 2, 18, 4), colour(i));
        p.setPen(Qt::black);
        p.drawText(QRectF(at.x() + 24, at.y(), col - 28, fm.height()), Qt::AlignLeft | Qt::AlignVCenter,
            fm.elidedText(x.label, Qt::ElideRight, col - 28));
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
