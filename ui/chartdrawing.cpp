// ChartWidget's drawing: colours from the palette, per-column means and bands for dense
// windows, dashes for series that lie on each other, the legend below the plot, the axes
// fitted to what is in view, and the tooltip. Data and configuration: chartwidget.cpp.
#include "chartparts.h"
#include "chartwidget.h"
#include "colours.h"

#include <QToolTip>

#include <limits>

namespace htap::ui {

using namespace chart;

void ChartWidget::applyPalette()
{
    // Background, axes, grid and text from the palette: a dark theme gets a dark chart.
    const QPalette p = palette();
    const QColor base = p.color(QPalette::Base), text = p.color(QPalette::Text);
    m_plot->setBackground(base);
    m_plot->axisRect()->setBackground(base);
    for (QCPAxis* axis : {m_plot->xAxis, m_plot->yAxis, m_plot->xAxis2, m_plot->yAxis2}) {
        const QPen line(colours::mix(base, text, 0.55), 0);
        axis->setBasePen(line);
        axis->setTickPen(line);
        axis->setSubTickPen(line);
        axis->setTickLabelColor(text);
        axis->setLabelColor(text);
        axis->grid()->setPen(QPen(colours::mix(base, text, 0.18), 0, Qt::DotLine));
        axis->grid()->setZeroLinePen(Qt::NoPen);
    }
    m_title->setTextColor(text);
    m_plot->legend->setTextColor(text);
    m_legendLayout.clear(); // entries take the colours when built again
    m_plot->selectionRect()->setPen(QPen(p.color(QPalette::Highlight), 1, Qt::DashLine));
    QColor band = p.color(QPalette::Highlight);
    band.setAlpha(50);
    m_plot->selectionRect()->setBrush(band);
    m_dirty = true;
    m_plot->replot(QCustomPlot::rpQueuedReplot); // the layers' buffers too, not only the margin
}

void ChartWidget::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::PaletteChange)
        applyPalette();
    QWidget::changeEvent(event);
}

void ChartWidget::setPen(Series& s, Qt::PenStyle style)
{
    const bool wide = m_wide;
    QPen pen(s.graph->pen().color(), wide ? 1.0 : 1.5, style == Qt::CustomDashLine ? Qt::SolidLine : style);
    if (style == Qt::CustomDashLine) {
        int earlier = 0; // the how-manieth dashed series this is
        for (const Series& other : std::as_const(m_series)) {
            if (&other == &s)
                break;
            earlier += other.drawn == Qt::CustomDashLine;
        }
        pen.setDashPattern(overlapDashes(earlier));
        pen.setWidthF(wide ? 1.5 : 2.0); // a dashed line over a solid one needs the weight
    }
    s.graph->setPen(pen);
    s.drawn = style;
}

void ChartWidget::redraw()
{
    // Incident spans that ended before what the chart keeps go too (oldest first).
    const double keepFrom = m_newestKey - retentionSeconds();
    while (!m_spanOrder.isEmpty()) {
        const Span& first = m_spans[m_spanOrder.first()];
        if (first.open || first.rect->bottomRight->coords().x() >= keepFrom)
            break;
        m_plot->removeItem(m_spans.take(m_spanOrder.takeFirst()).rect);
    }
    if (!m_dirty || !isVisible() || m_plot->width() <= 0 || m_plot->height() <= 0)
        return;
    m_dirty = false;
    for (const Span& s : std::as_const(m_spans)) // open incidents reach the newest point
        if (s.open && s.rect->bottomRight->coords().x() < m_newestKey)
            s.rect->bottomRight->setCoords(m_newestKey, 1);
    if (!m_paused) { // paused: the range stays where the operator put it
        const double right = m_newestKey > 0 ? m_newestKey : QDateTime::currentMSecsSinceEpoch() / 1000.0;
        m_plot->xAxis->setRange(right - m_visibleSeconds, right);
    }
    decimate();
    if (!m_paused) // after decimate(): a dense window fits the axis to its columns
        fitValueAxis();
    styleOverlaps();
    placeThresholdLabels();
    fitLegend();
    markLonePoints();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void ChartWidget::redrawNow()
{
    m_dirty = true;
    redraw();
    m_plot->replot(QCustomPlot::rpImmediateRefresh);
}

void ChartWidget::decimate()
{
    // More points in view than pixels would paint a noisy series as a solid block: each column
    // of kColumnPixels shows the mean of its points as the line, and a band from the least to
    // the greatest. Columns are aligned to multiples of their width, so that a live chart
    // scrolling by does not shimmer. A column that holds a gap breaks the line after its mean.
    const QCPRange range = m_plot->xAxis->range();
    const int pixels = m_plot->axisRect()->width();
    m_decimatedWidth = pixels;
    qsizetype most = 0;
    if (!m_pointsOnly && pixels > 0)
        for (const Series& s : std::as_const(m_series))
            most = std::max<qsizetype>(most, s.raw->findEnd(range.upper, false) - s.raw->findBegin(range.lower, false));
    m_dense = pixels > 0 && most > pixels;
    m_decimatedFrom = range.lower;
    m_decimatedTo = range.upper;
    for (Series& s : m_series) {
        if (s.band)
            s.band->setVisible(m_dense && !s.hidden);
        if (!m_dense) {
            if (s.graph->data() != s.raw)
                s.graph->setData(s.raw);
            continue;
        }
        const double width = range.size() / std::max(1, pixels / kColumnPixels);
        const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
        const double first = std::floor((range.lower - width) / width), last = std::floor((range.upper + width) / width);
        // The cache: dropped for another width, a window before it, or a point added in the
        // past; cut where a point came in late; trimmed to the window's first column.
        if (s.columnWidth != width || first < s.foldedFrom || (s.columns.isEmpty() && s.foldedTo <= first)) {
            s.columns.clear();
            s.columnWidth = width;
            s.foldedFrom = s.foldedTo = first;
        }
        if (std::isfinite(s.changedFrom)) {
            const double c = std::floor(s.changedFrom / width);
            while (!s.columns.isEmpty() && s.columns.last().c >= c)
                s.columns.removeLast();
            s.foldedTo = std::max(s.foldedFrom, std::min(s.foldedTo, c));
            s.changedFrom = inf;
        }
        qsizetype drop = 0;
        while (drop < s.columns.size() && s.columns[drop].c < first)
            ++drop;
        s.columns.remove(0, drop);
        s.foldedFrom = std::max(s.foldedFrom, first);
        s.foldedTo = std::max(s.foldedTo, s.foldedFrom);
        // Columns before the newest point's are complete: folded once. The newest (more points
        // may come into it) and any past the window's end are summed at each frame.
        const double newest = s.raw->isEmpty() ? first : std::floor((s.raw->constEnd() - 1)->key / width);
        const double completeTo = std::min(newest, last + 1);
        QVector<Series::Column> open;
        const auto fold = [&](double from, double to, QVector<Series::Column>& into) {
            const auto end = s.raw->constEnd();
            for (auto it = s.raw->findBegin(from * width - width, false); it != end; ++it) {
                const double c = std::floor(it->key / width);
                if (c < from)
                    continue;
                if (c >= to)
                    break;
                if (into.isEmpty() || into.last().c != c)
                    into.append(Series::Column {c, 0, 0, 0, 0, inf, false});
                Series::Column& col = into.last();
                if (std::isnan(it->value)) {
                    col.gap = true;
                    continue;
                }
                col.lo = col.n ? std::min(col.lo, it->value) : it->value;
                col.hi = col.n ? std::max(col.hi, it->value) : it->value;
                if (it->value > 0)
                    col.loPositive = std::min(col.loPositive, it->value);
                col.sum += it->value;
                ++col.n;
            }
        };
        if (s.foldedTo < completeTo) {
            fold(s.foldedTo, completeTo, s.columns);
            s.foldedTo = completeTo;
        }
        fold(std::max(s.foldedTo, first), last + 1, open);
        auto mean = QSharedPointer<Data>::create();
        QVector<double> below, above; // the band: how far the least and greatest lie from the mean
        s.shownAny = false;
        s.shownLo = s.shownLoPositive = inf;
        s.shownHi = -inf;
        const auto showColumn = [&](const Series::Column& col) {
            const double key = (col.c + 0.5) * width;
            if (col.n > 0) {
                const double m = col.sum / col.n;
                mean->add(QCPGraphData(key, m));
                below << m - col.lo;
                above << col.hi - m;
                s.shownAny = true;
                s.shownLo = std::min(s.shownLo, col.lo);
                s.shownHi = std::max(s.shownHi, col.hi);
                s.shownLoPositive = std::min(s.shownLoPositive, col.loPositive);
            }
            if (col.gap) { // a gap breaks the line after the column's mean
                mean->add(QCPGraphData(col.n > 0 ? (col.c + 0.99) * width : key, nan));
                below << 0;
                above << 0;
            }
        };
        for (const Series::Column& col : std::as_const(s.columns))
            if (col.c <= last)
                showColumn(col);
        for (const Series::Column& col : std::as_const(open))
            showColumn(col);
        s.graph->setData(mean);
        if (s.band)
            s.band->setData(below, above);
    }
}

void ChartWidget::placeThresholdLabels()
{
    // A reference line's label sits above its line, unless the next line up is too close for
    // it (an OLTP target of 50 ms under an OLAP one of 1 s in a short linear chart): then below.
    const int height = QFontMetrics(font()).height();
    for (int i = 0; i < m_thresholds.size(); ++i) {
        auto* text = static_cast<QCPItemText*>(m_thresholdItems.value(2 * i + 1));
        if (!text)
            continue;
        const double y = m_plot->yAxis->coordToPixel(m_thresholds[i]);
        bool crowded = false;
        for (int j = 0; j < m_thresholds.size(); ++j)
            if (j != i && m_thresholds[j] > m_thresholds[i]) {
                const double above = m_plot->yAxis->coordToPixel(m_thresholds[j]);
                crowded = crowded || (y - above) < height + 2;
            }
        text->setPositionAlignment(Qt::AlignRight | (crowded ? Qt::AlignTop : Qt::AlignBottom));
    }
}

void ChartWidget::styleOverlaps()
{
    // A series whose line in view lies on an earlier one's (within two pixels at four in five
    // of their common times) would hide it: it is drawn dashed, so that both show.
    if (m_stacked || m_pointsOnly)
        return;
    const QCPRange range = m_plot->xAxis->range();
    for (int j = 0; j < m_series.size(); ++j) {
        Series& s = m_series[j];
        if (s.style != Qt::SolidLine)
            continue;
        bool lies = false;
        for (int i = 0; i < j && !lies && !s.hidden; ++i) {
            if (m_series[i].hidden)
                continue;
            const Data& a = *m_series[i].graph->data();
            const Data& b = *s.graph->data();
            auto ia = a.findBegin(range.lower, false), ib = b.findBegin(range.lower, false);
            const auto ea = a.findEnd(range.upper, false), eb = b.findEnd(range.upper, false);
            int common = 0, close = 0;
            while (ia != ea && ib != eb) {
                if (std::abs(ia->key - ib->key) < 1e-3) {
                    if (!std::isnan(ia->value) && !std::isnan(ib->value)) {
                        ++common;
                        close += std::abs(m_plot->yAxis->coordToPixel(ia->value) - m_plot->yAxis->coordToPixel(ib->value)) < 2;
                    }
                    ++ia;
                    ++ib;
                } else if (ia->key < ib->key) {
                    ++ia;
                } else {
                    ++ib;
                }
            }
            lies = common >= 3 && close * 5 >= common * 4;
        }
        const Qt::PenStyle want = lies ? Qt::CustomDashLine : Qt::SolidLine;
        if (want != s.drawn) {
            setPen(s, want);
            m_legendLayout.clear(); // the entry's line shows the dashes
        }
    }
}

void ChartWidget::fitLegend()
{
    // Below the plot, in as many columns as its width holds (a group of series, a workload's
    // rate and target, on one row), at most a third of the chart's height: beyond that the
    // legend shows what fits and "+N more", which opens it.
    QCPLegend* legend = m_plot->legend;
    if (m_series.isEmpty() || !notice().isEmpty()) {
        showLegend(false);
        return;
    }
    const QFontMetrics metrics(legend->font());
    int widest = 0;
    for (const Series& s : std::as_const(m_series))
        widest = std::max(widest, metrics.horizontalAdvance(s.graph->name()));
    const int entryWidth = widest + legend->iconSize().width() + legend->iconTextPadding() + legend->columnSpacing() + 12;
    // An entry's own margins (QCustomPlot's 7, 5, 7, 4) count: a row is about 24 px, not 17.
    int entryHeight = std::max(metrics.height(), legend->iconSize().height()) + 9;
    if (legend->itemCount() > 0)
        entryHeight = std::max(entryHeight, legend->item(0)->minimumOuterSizeHint().height() + legend->rowSpacing());
    const int n = int(m_series.size());
    int columns = std::clamp((m_plot->width() - 20) / std::max(1, entryWidth), 1, n);
    if (m_legendGroup > 1 && columns >= m_legendGroup)
        columns = columns / m_legendGroup * m_legendGroup;
    const int rows = (n + columns - 1) / columns;
    // A third of the chart at most, and what leaves the plot its axes and some room (about
    // 120 px under the title): a short chart's third row was cut off at its bottom edge.
    const int room = m_plot->height() - m_title->outerRect().height() - 120;
    const int maxRows = std::max(1, std::min(m_plot->height() / 3, room) / entryHeight);
    const bool collapse = rows > maxRows;
    const int shown = collapse && !m_legendExpanded ? std::max(1, maxRows * columns - 1) : n;
    QStringList key {QString::number(columns), QString::number(shown), QString::number(collapse)};
    for (const Series& s : std::as_const(m_series))
        key << QString::number(s.hidden) + QString::number(int(s.drawn));
    const QString layout = key.join(QLatin1Char(','));
    if (layout == m_legendLayout)
        return;
    m_legendLayout = layout;
    m_legendCollapsed = collapse && !m_legendExpanded;
    legend->clearItems();
    const QColor text = palette().color(QPalette::Text), muted = palette().color(QPalette::PlaceholderText);
    for (int i = 0; i < shown; ++i) {
        auto* item = new QCPPlottableLegendItem(legend, m_series[i].graph);
        item->setTextColor(m_series[i].hidden ? muted : text);
        legend->addItem(item);
    }
    if (collapse) {
        auto* more = new MoreLegendItem(legend, m_legendCollapsed ? tr("+%1 more").arg(n - shown) : tr("fewer"));
        more->setTextColor(palette().color(QPalette::Link));
        legend->addItem(more);
    }
    legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, false);
    legend->setWrap(columns);
    legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, true);
    showLegend(true);
}

void ChartWidget::showLegend(bool shown)
{
    // The legend is in the layout only with its entries: an empty one's maximum width is its
    // margins, and QCustomPlot gives a column the least of its elements' maximum widths (an
    // empty chart, or one showing a notice, was 50 px wide).
    QCPLayoutGrid* layout = m_plot->plotLayout();
    if (shown && !m_legendInLayout) {
        layout->addElement(2, 0, m_plot->legend);
        layout->setRowStretchFactor(2, 0.001); // as tall as its entries
    } else if (!shown && m_legendInLayout) {
        layout->take(m_plot->legend);
        layout->simplify(); // its row goes too
        m_legendLayout.clear();
    }
    m_legendInLayout = shown;
    m_plot->legend->setVisible(shown);
}

void ChartWidget::markLonePoints()
{
    // A line needs two points in a row: a lone one (a series' first sample, or one between gaps,
    // such as a second in which a sparse workload finished one request) would show nothing, so
    // a series with such a point in view is drawn with dots. Past one point per pixel a lone
    // point would be a pixel either way, and the series is not searched.
    if (m_showPoints || m_pointsOnly)
        return;
    const QCPRange range = m_plot->xAxis->range();
    const int pixels = m_plot->axisRect()->width();
    for (const Series& s : std::as_const(m_series)) {
        const Data& data = *s.graph->data();
        const auto begin = data.findBegin(range.lower, false), end = data.findEnd(range.upper, false);
        bool lone = false;
        if (end - begin <= std::max(pixels, 2)) {
            bool before = false; // the point before this one is a number
            for (auto it = begin; it != end && !lone; ++it) {
                const bool here = !std::isnan(it->value);
                const bool after = it + 1 != end && !std::isnan((it + 1)->value);
                lone = here && !before && !after;
                before = here;
            }
        }
        if (lone != (s.graph->scatterStyle().shape() != QCPScatterStyle::ssNone))
            s.graph->setScatterStyle(lone ? QCPScatterStyle(QCPScatterStyle::ssDisc, 5) : QCPScatterStyle());
    }
}

namespace {
/// The least and greatest values in keys (positive ones only when asked): QCustomPlot's
/// valueRange looked at every point kept, a day of them, on every frame.
QCPRange valuesIn(const QCPDataContainer<QCPGraphData>& data, const QCPRange& keys, bool positive, bool* found)
{
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    const auto end = data.findEnd(keys.upper, false);
    for (auto it = data.findBegin(keys.lower, false); it != end; ++it)
        if (!std::isnan(it->value) && (!positive || it->value > 0)) {
            lo = std::min(lo, it->value);
            hi = std::max(hi, it->value);
        }
    *found = lo <= hi;
    return *found ? QCPRange(lo, hi) : QCPRange();
}
} // namespace

void ChartWidget::fitValueAxis()
{
    // Fit the value axis to what is visible, from zero, with headroom; reference lines stay in
    // view; a hidden series does not count.
    double top = 0;
    double lowestLine = std::numeric_limits<double>::infinity();
    for (double t : std::as_const(m_thresholds)) {
        top = std::max(top, t);
        if (t > 0)
            lowestLine = std::min(lowestLine, t);
    }
    const QCPRange keys = m_plot->xAxis->range();
    // A dense window decimated for this very range: its columns' least and greatest (the
    // columns reach a column beyond each edge, two pixels), not a day of points again.
    const bool columns = m_dense && m_decimatedFrom == keys.lower && m_decimatedTo == keys.upper;
    for (const Series& s : std::as_const(m_series)) {
        bool found = columns && s.shownAny;
        const QCPRange r = columns ? QCPRange(s.shownLo, s.shownHi) : valuesIn(*s.raw, keys, false, &found);
        if (!s.hidden && found && std::isfinite(r.upper))
            top = std::max(top, r.upper);
    }
    if (m_log) {
        double bottom = std::min(top, lowestLine); // the lowest reference line too, data or not
        for (const Series& s : std::as_const(m_series)) {
            bool found = columns && s.shownAny && std::isfinite(s.shownLoPositive);
            const QCPRange r = columns ? QCPRange(s.shownLoPositive, s.shownLoPositive) : valuesIn(*s.raw, keys, true, &found);
            if (!s.hidden && found && r.lower > 0)
                bottom = std::min(bottom, r.lower);
        }
        m_plot->yAxis->setRange(std::max(1e-3, bottom / 2), top > 0 ? top * 2 : 1);
    } else {
        m_plot->yAxis->setRange(0, top > 0 ? top * 1.15 : 1);
    }
}

void ChartWidget::onLegendClick(QCPAbstractLegendItem* item)
{
    // Acted on at the next redraw: the legend is built again, and this item is one of its entries.
    if (dynamic_cast<MoreLegendItem*>(item)) {
        m_legendExpanded = !m_legendExpanded;
        m_legendLayout.clear();
        m_dirty = true;
        return;
    }
    auto* entry = dynamic_cast<QCPPlottableLegendItem*>(item);
    if (!entry)
        return;
    for (int i = 0; i < m_series.size(); ++i)
        if (m_series[i].graph == entry->plottable()) {
            setSeriesVisible(i, m_series[i].hidden);
            return;
        }
}

void ChartWidget::showValuesAt(const QPoint& pos)
{
    if (!m_plot->axisRect()->rect().contains(pos)) {
        QToolTip::hideText();
        return;
    }
    const double key = m_plot->xAxis->pixelToCoord(pos.x());
    QToolTip::showText(m_plot->mapToGlobal(pos), valuesText(QDateTime::fromMSecsSinceEpoch(qint64(key * 1000), Qt::UTC)), m_plot);
}

QString ChartWidget::valuesText(const QDateTime& time) const
{
    // The time, then each series' value near it with the unit; in a dense chart the mean of the
    // pixel column and its least and greatest values.
    const double key = time.toMSecsSinceEpoch() / 1000.0;
    const QCPRange range = m_plot->xAxis->range();
    const QDateTime local = time.toLocalTime();
    QStringList lines {range.size() > 36 * 3600 ? local.toString(QStringLiteral("d MMM HH:mm:ss")) : local.toString(QStringLiteral("HH:mm:ss"))};
    const double column = m_dense ? range.size() / std::max(1, m_plot->axisRect()->width() / kColumnPixels) : 0;
    const QString unit = m_unit.isEmpty() ? QString() : QLatin1Char(' ') + m_unit;
    for (int i = 0; i < m_series.size(); ++i) {
        const Series& s = m_series[i];
        if (s.hidden || s.raw->isEmpty())
            continue;
        if (column > 0 && !m_stacked) {
            double sum = 0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
            int n = 0;
            const double from = std::floor(key / column) * column;
            for (auto it = s.raw->findBegin(from, false); it != s.raw->constEnd() && it->key < from + column; ++it)
                if (!std::isnan(it->value)) {
                    sum += it->value;
                    lo = std::min(lo, it->value);
                    hi = std::max(hi, it->value);
                    ++n;
                }
            if (n > 0)
                lines << tr("%1: %2%3 (mean of %4; %5 to %6)")
                             .arg(s.graph->name(), core::formatNumber(sum / n), unit, core::formatCount(n),
                                 core::formatNumber(lo), core::formatNumber(hi));
            continue;
        }
        auto it = s.raw->findBegin(key, true);
        if (it == s.raw->constEnd())
            continue;
        if (std::abs(it->key - key) > std::max(2.0, range.size() / 100))
            continue; // nothing recorded near here: a gap
        const double value = ownValue(i, it->key, it->value);
        lines << QStringLiteral("%1: %2").arg(s.graph->name(), std::isnan(value) ? QStringLiteral("–") : core::formatNumber(value) + unit);
    }
    return lines.join(QLatin1Char('\n'));
}

} // namespace htap::ui
