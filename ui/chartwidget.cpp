#include "chartparts.h"
#include "chartwidget.h"

#include "colours.h"
#include "core/format.h"

#include <QLabel>
#include <QLocale>
#include <QResizeEvent>
#include <QToolTip>
#include <QVBoxLayout>

#include <cmath>
#include <limits>

namespace htap::ui {

using namespace chart;

namespace {
/// Points are kept for the shown window (or range) and a quarter more, and at least 5 minutes:
/// memory stays flat however long the app runs; a wider window reloads from the history.
constexpr double kMinRetentionSeconds = 5 * 60;
} // namespace

ChartWidget::ChartWidget(const QString& title, const QString& unit, QWidget* parent)
    : QWidget(parent)
    , m_plot(new QCustomPlot(this))
    , m_unit(unit)
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);
    // Below this a plot is a strip nobody can read (the Latency page at 1024x700 squeezed its
    // charts to 30 px): the page scrolls instead.
    setMinimumHeight(170);

    m_plot->plotLayout()->insertRow(0);
    m_titleText = title;
    m_title = new QCPTextElement(m_plot, title, QFont(font().family(), font().pointSize() + 1, QFont::Bold));
    // The title does not set the chart's minimum width (a long one on a single line made the
    // window wider than the screen): it wraps at spaces instead (wrapTitle).
    m_title->setMinimumSize(60, 0);
    m_plot->plotLayout()->addElement(0, 0, m_title);
    // The legend below the plot, never over the lines; its row as tall as its entries.
    m_plot->setAutoAddPlottableToLegend(false); // entries are built by fitLegend
    // It is in the layout only with entries (showLegend).
    m_plot->axisRect()->insetLayout()->take(m_plot->legend);
    m_plot->axisRect()->insetLayout()->simplify();
    m_plot->plotLayout()->setRowSpacing(0);
    m_plot->legend->setMargins(QMargins(6, 0, 6, 2));
    m_plot->legend->setBorderPen(Qt::NoPen);
    m_plot->legend->setBrush(Qt::NoBrush);
    m_plot->legend->setColumnSpacing(14);
    m_plot->legend->setRowSpacing(0);
    m_plot->legend->setIconSize(22, 10);
    m_plot->legend->setVisible(false); // shown with the first series' entry
    connect(m_plot, &QCustomPlot::legendClick, this,
        [this](QCPLegend*, QCPAbstractLegendItem* item, QMouseEvent*) { onLegendClick(item); });

    auto ticker = QSharedPointer<QCPAxisTickerDateTime>::create();
    ticker->setDateTimeFormat(QStringLiteral("HH:mm:ss"));
    ticker->setDateTimeSpec(Qt::LocalTime);
    ticker->setTickCount(5);
    m_plot->xAxis->setTicker(ticker);
    m_plot->yAxis->setTicker(QSharedPointer<NumberTicker>::create());
    m_plot->yAxis->setLabel(unit);
    m_plot->yAxis->setRangeLower(0);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal);
    m_plot->setNoAntialiasingOnDrag(true);
    m_plot->setPlottingHint(QCP::phFastPolylines, true);
    // Above an hour of 1 s samples, antialiased lines cost more than they show (QCustomPlot's
    // performance advice): draw them plain, and the pens thin. Labels as long as the span needs.
    connect(m_plot->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this](const QCPRange& r) {
        const bool wide = r.size() > 3600;
        if (m_paused) // panned or zoomed by hand: the points in view changed (live, redraw() set it)
            m_dirty = true;
        // The range moves every frame; the pens change only when the window crosses an hour.
        if (wide != m_wide) {
            m_wide = wide;
            m_plot->setNotAntialiasedElements(wide ? QCP::aePlottables : QCP::aeNone);
            for (Series& s : m_series)
                setPen(s, s.drawn);
        }
        if (auto t = qSharedPointerDynamicCast<QCPAxisTickerDateTime>(m_plot->xAxis->ticker()))
            t->setDateTimeFormat(r.size() <= 15 * 60 ? QStringLiteral("HH:mm:ss")
                    : r.size() <= 36 * 3600     ? QStringLiteral("HH:mm")
                                                : QStringLiteral("d MMM HH:mm"));
    });
    m_plot->setMouseTracking(true);
    m_plot->installEventFilter(this);
    // Shift + drag picks a time window (a rectangle, read for its horizontal extent only); a plain
    // drag pans. QCustomPlot decides per press, so the mode is set just before it sees one.
    m_plot->selectionRect()->setPen(QPen(QColor(0x1f, 0x77, 0xb4), 1, Qt::DashLine));
    m_plot->selectionRect()->setBrush(QColor(0x1f, 0x77, 0xb4, 40));
    connect(m_plot->selectionRect(), &QCPSelectionRect::accepted, this, [this](const QRect& rect, QMouseEvent*) {
        const double a = m_plot->xAxis->pixelToCoord(rect.left()), b = m_plot->xAxis->pixelToCoord(rect.right());
        if (std::abs(b - a) >= 1)
            Q_EMIT rangeSelected(QDateTime::fromMSecsSinceEpoch(qint64(std::min(a, b) * 1000), Qt::UTC),
                QDateTime::fromMSecsSinceEpoch(qint64(std::max(a, b) * 1000), Qt::UTC));
    });
    // Dragging or zooming the plot by hand means "let me look": stop following live data (a
    // click on the legend below it does not).
    connect(m_plot, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) {
        if (m_plot->axisRect()->rect().contains(e->pos()))
            m_paused = true;
    });
    connect(m_plot, &QCustomPlot::mouseWheel, this, [this] { m_paused = true; });
    const double now = QDateTime::currentMSecsSinceEpoch() / 1000.0;
    m_plot->xAxis->setRange(now - m_visibleSeconds, now);
    applyPalette();

    connect(m_plot, &QCustomPlot::afterLayout, this, [this] {
        placeNotice(); // over the axis rect as laid out
        if (m_plot->axisRect()->width() != m_decimatedWidth)
            m_dirty = true; // columns per pixel as laid out now
    });
    m_redrawTimer.setInterval(200);
    connect(&m_redrawTimer, &QTimer::timeout, this, &ChartWidget::redraw);
    m_redrawTimer.start();
}

ChartWidget::~ChartWidget() = default;

int ChartWidget::addSeries(const QString& name, const QColor& color, Qt::PenStyle style)
{
    Series series;
    series.raw = QSharedPointer<Data>::create();
    series.style = style;
    // The band first, so that it lies under every line: a bar per pixel column from the least
    // to the greatest value (error bars on the means; a channel fill between two graphs cost
    // 160 ms a frame for 12 series over 24 h).
    if (!m_stacked && !m_pointsOnly) {
        QColor fill = color;
        fill.setAlpha(70);
        series.band = new QCPErrorBars(m_plot->xAxis, m_plot->yAxis);
        series.band->setErrorType(QCPErrorBars::etValueError);
        series.band->setWhiskerWidth(0);
        series.band->setSymbolGap(0);
        QPen bar(fill, kColumnPixels);
        bar.setCapStyle(Qt::FlatCap);
        series.band->setPen(bar);
        series.band->setVisible(false);
        series.band->setSelectable(QCP::stNone);
    }
    series.graph = m_plot->addGraph();
    if (series.band)
        series.band->setDataPlottable(series.graph);
    series.graph->setName(name);
    series.graph->setPen(QPen(color));
    series.graph->setData(series.raw);
    if (m_stacked) {
        QColor fill = color;
        fill.setAlpha(140);
        series.graph->setBrush(fill);
        if (!m_series.isEmpty())
            series.graph->setChannelFillGraph(m_series.last().graph); // down to the series below; the first to zero
    }
    if (m_showPoints || m_pointsOnly)
        series.graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, m_pointsOnly ? 6 : 4));
    if (m_pointsOnly)
        series.graph->setLineStyle(QCPGraph::lsNone);
    m_series.append(series);
    setPen(m_series.last(), style);

    m_legendLayout.clear(); // shown with its entries at the next redraw
    m_dirty = true;
    return int(m_series.size() - 1);
}

void ChartWidget::addPoint(int series, const QDateTime& time, double value)
{
    if (series < 0 || series >= m_series.size())
        return;
    const double key = time.toMSecsSinceEpoch() / 1000.0;
    if (m_stacked && series > 0 && !std::isnan(value)) {
        // On top of the series below at the same time (it was given its point first).
        const Data& below = *m_series[series - 1].raw;
        if (!below.isEmpty()) {
            const auto last = below.constEnd() - 1;
            if (last->key == key && !std::isnan(last->value))
                value += last->value;
        }
    }
    Data& raw = *m_series[series].raw;
    if (!raw.isEmpty() && key < (raw.constEnd() - 1)->key) // into the past: cached columns from there are stale
        m_series[series].changedFrom = std::min(m_series[series].changedFrom, key);
    raw.add(QCPGraphData(key, value));
    raw.removeBefore(key - retentionSeconds());
    m_newestKey = std::max(m_newestKey, key);
    m_dirty = true;
}

void ChartWidget::advanceTo(const QDateTime& time)
{
    const double key = time.toMSecsSinceEpoch() / 1000.0;
    if (key > m_newestKey) {
        m_newestKey = key;
        m_dirty = true;
    }
}

void ChartWidget::addGap(const QDateTime& time)
{
    for (int i = 0; i < m_series.size(); ++i)
        addPoint(i, time, std::numeric_limits<double>::quiet_NaN());
}

void ChartWidget::clear()
{
    for (Series& s : m_series) {
        s.raw->clear();
        s.columns.clear();
        s.columnWidth = 0;
        if (s.band)
            s.band->data()->clear();
    }
    clearSpans();
    m_newestKey = 0;
    m_dirty = true;
}

void ChartWidget::removeAllSeries()
{
    m_plot->legend->clearItems();
    m_plot->clearPlottables(); // the graphs and their bands
    m_series.clear();
    showLegend(false); // until a series comes again
    m_legendLayout.clear();
    m_newestKey = 0;
    m_dirty = true;
}

double ChartWidget::retentionSeconds() const
{
    return 1.25 * std::max({double(m_visibleSeconds), m_rangeSeconds, kMinRetentionSeconds});
}

void ChartWidget::setVisibleSeconds(int seconds)
{
    m_visibleSeconds = std::max(10, seconds);
    m_rangeSeconds = 0;
    m_dirty = true;
}

QColor ChartWidget::seriesColor(int n)
{
    static const QColor palette[] = {QColor(0x1f, 0x77, 0xb4), QColor(0xff, 0x7f, 0x0e), QColor(0x2c, 0xa0, 0x2c),
        QColor(0xd6, 0x27, 0x28), QColor(0x94, 0x67, 0xbd), QColor(0x8c, 0x56, 0x4b), QColor(0xe3, 0x77, 0xc2),
        QColor(0x7f, 0x7f, 0x7f)};
    return palette[std::abs(n) % 8];
}

void ChartWidget::setShowPoints(bool on)
{
    m_showPoints = on;
    for (const Series& s : std::as_const(m_series))
        s.graph->setScatterStyle(on ? QCPScatterStyle(QCPScatterStyle::ssDisc, 4) : QCPScatterStyle());
}

void ChartWidget::setLegendGroup(int seriesPerGroup)
{
    m_legendGroup = std::max(1, seriesPerGroup);
    m_legendLayout.clear();
    m_dirty = true;
}

void ChartWidget::setPointsOnly(bool on)
{
    m_pointsOnly = on;
    setShowPoints(on || m_showPoints);
    for (const Series& s : std::as_const(m_series))
        s.graph->setLineStyle(on ? QCPGraph::lsNone : QCPGraph::lsLine);
}

void ChartWidget::setStacked(bool on)
{
    m_stacked = on;
}

void ChartWidget::setNotice(const QString& text)
{
    if (text.isEmpty()) {
        if (m_notice)
            m_notice->hide();
        m_legendLayout.clear(); // back with its entries at the next redraw
        m_dirty = true;
        return;
    }
    if (!m_notice) {
        m_notice = new QLabel(m_plot);
        m_notice->setObjectName(QStringLiteral("notice"));
        m_notice->setWordWrap(true);
        m_notice->setAlignment(Qt::AlignCenter);
        m_notice->setTextInteractionFlags(Qt::TextSelectableByMouse); // the install command can be copied
        m_notice->setAutoFillBackground(true); // the palette's Window over the empty plot
        m_notice->setMargin(8);
    }
    m_notice->setText(text);
    showLegend(false); // a legend of series without data says nothing
    m_notice->show();
    placeNotice();
    m_dirty = true;
}

QString ChartWidget::notice() const
{
    return m_notice && !m_notice->isHidden() ? m_notice->text() : QString();
}

void ChartWidget::wrapTitle()
{
    const int width = m_plot->width() - 16;
    if (width <= 0 || width == m_titleWidth)
        return;
    m_titleWidth = width;
    const QFontMetrics metrics(m_title->font());
    QStringList lines;
    for (const QString& word : m_titleText.split(QLatin1Char(' '))) {
        if (!lines.isEmpty() && metrics.horizontalAdvance(lines.last() + QLatin1Char(' ') + word) <= width)
            lines.last() += QLatin1Char(' ') + word;
        else
            lines << word;
    }
    m_title->setText(lines.join(QLatin1Char('\n')));
}

void ChartWidget::placeNotice()
{
    if (!m_notice || m_notice->isHidden())
        return;
    const QRect area = m_plot->axisRect()->rect();
    m_notice->setGeometry(area.isEmpty() ? m_plot->rect().adjusted(20, 30, -20, -20) : area.adjusted(4, 4, -4, -4));
}

double ChartWidget::ownValue(int series, double key, double stackedValue) const
{
    if (!m_stacked || series <= 0 || std::isnan(stackedValue))
        return stackedValue;
    const Data& below = *m_series[series - 1].raw;
    const auto it = below.findBegin(key, false);
    if (it == below.constEnd() || it->key != key || std::isnan(it->value))
        return stackedValue;
    return stackedValue - it->value;
}

void ChartWidget::addThreshold(double value, const QString& label, const QColor& color)
{
    auto* line = new QCPItemStraightLine(m_plot);
    line->point1->setType(QCPItemPosition::ptPlotCoords);
    line->point2->setType(QCPItemPosition::ptPlotCoords);
    line->point1->setCoords(0, value);
    line->point2->setCoords(1, value);
    line->setPen(QPen(color, 1, Qt::DashLine));
    auto* text = new QCPItemText(m_plot);
    text->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
    text->position->setTypeY(QCPItemPosition::ptPlotCoords);
    text->position->setCoords(0.995, value);
    text->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
    text->setText(label);
    text->setColor(color);
    m_thresholds.append(value);
    m_thresholdItems << line << text;
    m_dirty = true;
}

void ChartWidget::clearThresholds()
{
    for (QCPAbstractItem* item : std::as_const(m_thresholdItems))
        m_plot->removeItem(item);
    m_thresholdItems.clear();
    m_thresholds.clear();
    m_dirty = true;
}

void ChartWidget::setSpan(const QString& key, const QDateTime& from, const QDateTime& to, const QString& label)
{
    auto it = m_spans.find(key);
    if (it == m_spans.end()) {
        // A tint of the palette's highlight-free warning colour, faint, behind the lines.
        auto* rect = new QCPItemRect(m_plot);
        rect->setLayer(QStringLiteral("background"));
        rect->setClipToAxisRect(true);
        rect->topLeft->setTypeX(QCPItemPosition::ptPlotCoords);
        rect->topLeft->setTypeY(QCPItemPosition::ptAxisRectRatio);
        rect->bottomRight->setTypeX(QCPItemPosition::ptPlotCoords);
        rect->bottomRight->setTypeY(QCPItemPosition::ptAxisRectRatio);
        QColor fill(0xd0, 0x30, 0x30, 38);
        rect->setBrush(fill);
        rect->setPen(Qt::NoPen);
        it = m_spans.insert(key, Span {rect, true});
        m_spanOrder << key;
        while (m_spanOrder.size() > 300) // a day of flapping must not slow every redraw
            m_plot->removeItem(m_spans.take(m_spanOrder.takeFirst()).rect);
    }
    it->open = !to.isValid();
    it->rect->setObjectName(label);
    it->rect->topLeft->setCoords(from.toMSecsSinceEpoch() / 1000.0, 0);
    const double end = to.isValid() ? to.toMSecsSinceEpoch() / 1000.0 : std::max(m_newestKey, from.toMSecsSinceEpoch() / 1000.0);
    it->rect->bottomRight->setCoords(end, 1);
    m_dirty = true;
}

void ChartWidget::clearSpans()
{
    for (const Span& s : std::as_const(m_spans))
        m_plot->removeItem(s.rect);
    m_spans.clear();
    m_spanOrder.clear();
    m_dirty = true;
}

void ChartWidget::setPaused(bool paused)
{
    if (paused && !m_paused) {
        // Hold still where live data was, fitted to it, even if the chart was never drawn
        // since (a page not shown follows only when it is drawn).
        const double right = m_newestKey > 0 ? m_newestKey : QDateTime::currentMSecsSinceEpoch() / 1000.0;
        m_plot->xAxis->setRange(right - m_visibleSeconds, right);
        fitValueAxis();
    }
    m_paused = paused;
    m_dirty = true;
}

void ChartWidget::setLogarithmic(bool on)
{
    m_log = on;
    m_plot->yAxis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (on)
        m_plot->yAxis->setTicker(QSharedPointer<LogNumberTicker>::create());
    else
        m_plot->yAxis->setTicker(QSharedPointer<NumberTicker>::create());
    if (!on)
        m_plot->yAxis->ticker()->setTickCount(m_yTickCount);
    m_dirty = true;
}

bool ChartWidget::eventFilter(QObject* watched, QEvent* event)
{
    // A chart on a page never shown has no room yet (a stacked widget lays out its current page
    // only): an empty resize would have the plot paint into an empty buffer, which QPainter
    // refuses with a warning. The plot is sized for real when its page is shown.
    if (watched == m_plot && event->type() == QEvent::Resize) {
        if (static_cast<QResizeEvent*>(event)->size().isEmpty())
            return true;
        m_dirty = true; // the legend's columns follow the plot's height, the notice its area
        wrapTitle();
        // A time label needs about 100 px beside the value axis: five in a narrow chart ran into
        // each other (the ticker rounds the step to a readable one: fewer labels, never closer).
        const QSize size = static_cast<QResizeEvent*>(event)->size();
        if (auto ticker = qSharedPointerDynamicCast<QCPAxisTickerDateTime>(m_plot->xAxis->ticker()))
            ticker->setTickCount(std::clamp((size.width() - 60) / 100, 2, 5));
        // And a value label about 40 px of height below the title: eight in a short chart
        // were printed over each other. A log axis keeps a label a decade (short ones).
        m_yTickCount = std::clamp((size.height() - 60) / 40, 2, 5);
        if (!m_log)
            m_plot->yAxis->ticker()->setTickCount(m_yTickCount);
    }
    if (watched == m_plot && event->type() == QEvent::MouseMove)
        showValuesAt(static_cast<QMouseEvent*>(event)->pos());
    if (watched == m_plot && event->type() == QEvent::MouseButtonPress)
        m_plot->setSelectionRectMode(static_cast<QMouseEvent*>(event)->modifiers() & Qt::ShiftModifier ? QCP::srmCustom
                                                                                                      : QCP::srmNone);
    return QWidget::eventFilter(watched, event);
}

int ChartWidget::seriesCount() const
{
    return int(m_series.size());
}

int ChartWidget::pointCount(int series) const
{
    return series >= 0 && series < m_series.size() ? m_series[series].raw->size() : 0;
}

QList<double> ChartWidget::values(int series) const
{
    QList<double> out;
    if (series < 0 || series >= m_series.size())
        return out;
    const Data& data = *m_series[series].raw;
    out.reserve(data.size());
    for (auto it = data.constBegin(); it != data.constEnd(); ++it)
        out << it->value;
    return out;
}

double ChartWidget::lastValue(int series) const
{
    if (pointCount(series) == 0)
        return std::numeric_limits<double>::quiet_NaN();
    return (m_series[series].raw->constEnd() - 1)->value;
}

QDateTime ChartWidget::firstTime(int series) const
{
    if (pointCount(series) == 0)
        return {};
    return QDateTime::fromMSecsSinceEpoch(qint64(m_series[series].raw->constBegin()->key * 1000), Qt::UTC);
}

QDateTime ChartWidget::lastTime(int series) const
{
    if (pointCount(series) == 0)
        return {};
    return QDateTime::fromMSecsSinceEpoch(qint64((m_series[series].raw->constEnd() - 1)->key * 1000), Qt::UTC);
}

std::pair<QDateTime, QDateTime> ChartWidget::visibleRange() const
{
    const QCPRange r = m_plot->xAxis->range();
    return {QDateTime::fromMSecsSinceEpoch(qint64(r.lower * 1000), Qt::UTC),
        QDateTime::fromMSecsSinceEpoch(qint64(r.upper * 1000), Qt::UTC)};
}

QRect ChartWidget::plotArea() const
{
    return m_plot->axisRect()->rect();
}

QRect ChartWidget::legendArea() const
{
    return m_plot->legend->visible() ? m_plot->legend->outerRect() : QRect();
}

bool ChartWidget::legendFits() const
{
    return m_plot->legend->outerRect().height() >= m_plot->legend->minimumOuterSizeHint().height();
}

int ChartWidget::legendColumns() const
{
    return m_plot->legend->columnCount();
}

void ChartWidget::setSeriesVisible(int series, bool visible)
{
    if (series < 0 || series >= m_series.size() || m_series[series].hidden == !visible)
        return;
    m_series[series].hidden = !visible;
    m_series[series].graph->setVisible(visible);
    m_legendLayout.clear(); // its entry greys out
    m_dirty = true;
}

bool ChartWidget::isSeriesVisible(int series) const
{
    return series >= 0 && series < m_series.size() && !m_series[series].hidden;
}

Qt::PenStyle ChartWidget::drawnStyle(int series) const
{
    if (series < 0 || series >= m_series.size())
        return Qt::NoPen;
    return m_series[series].drawn == Qt::CustomDashLine ? Qt::DashLine : m_series[series].drawn;
}

QStringList ChartWidget::timeLabels() const
{
    return m_plot->xAxis->tickVectorLabels();
}

QStringList ChartWidget::valueLabels() const
{
    return m_plot->yAxis->tickVectorLabels();
}

bool ChartWidget::drawsDots(int series) const
{
    return series >= 0 && series < m_series.size()
        && m_series[series].graph->scatterStyle().shape() != QCPScatterStyle::ssNone;
}

void ChartWidget::showRange(const QDateTime& from, const QDateTime& to)
{
    m_paused = true; // a chosen range stays where it is; new samples are still recorded
    m_rangeSeconds = std::max(0.0, (to.toMSecsSinceEpoch() - from.toMSecsSinceEpoch()) / 1000.0);
    // Paused, a new range marks the chart dirty: the next redraw looks at its points again.
    m_plot->xAxis->setRange(from.toMSecsSinceEpoch() / 1000.0, to.toMSecsSinceEpoch() / 1000.0);
    fitValueAxis();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace htap::ui
