// qcustomplot.h itself uses foreach; this file is the only one that includes it.
#undef QT_NO_FOREACH

#include "chartwidget.h"

#include <qcustomplot.h>

#include <QVBoxLayout>

#include <cmath>
#include <limits>

namespace htap::ui {

namespace {
constexpr double kRetentionSeconds = 24 * 3600;
}

ChartWidget::ChartWidget(const QString& title, const QString& unit, QWidget* parent)
    : QWidget(parent)
    , m_plot(new QCustomPlot(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);

    m_plot->plotLayout()->insertRow(0);
    auto* titleElement = new QCPTextElement(m_plot, title, QFont(font().family(), font().pointSize() + 1, QFont::Bold));
    m_plot->plotLayout()->addElement(0, 0, titleElement);

    auto ticker = QSharedPointer<QCPAxisTickerDateTime>::create();
    ticker->setDateTimeFormat(QStringLiteral("HH:mm:ss"));
    ticker->setDateTimeSpec(Qt::LocalTime);
    m_plot->xAxis->setTicker(ticker);
    m_plot->yAxis->setLabel(unit);
    m_plot->yAxis->setRangeLower(0);
    m_plot->legend->setVisible(true);
    m_plot->legend->setBrush(QColor(255, 255, 255, 200));
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal);
    m_plot->setNoAntialiasingOnDrag(true);
    const double now = QDateTime::currentMSecsSinceEpoch() / 1000.0;
    m_plot->xAxis->setRange(now - m_visibleSeconds, now);

    m_redrawTimer.setInterval(200);
    connect(&m_redrawTimer, &QTimer::timeout, this, &ChartWidget::redraw);
    m_redrawTimer.start();
}

ChartWidget::~ChartWidget() = default;

int ChartWidget::addSeries(const QString& name, const QColor& color)
{
    QCPGraph* g = m_plot->addGraph();
    g->setName(name);
    g->setPen(QPen(color, 1.5));
    m_graphs.append(g);
    return int(m_graphs.size() - 1);
}

void ChartWidget::addPoint(int series, const QDateTime& time, double value)
{
    if (series < 0 || series >= m_graphs.size())
        return;
    const double key = time.toMSecsSinceEpoch() / 1000.0;
    m_graphs[series]->addData(key, value);
    m_graphs[series]->data()->removeBefore(key - kRetentionSeconds);
    m_newestKey = std::max(m_newestKey, key);
    m_dirty = true;
}

void ChartWidget::addGap(const QDateTime& time)
{
    for (int i = 0; i < m_graphs.size(); ++i)
        addPoint(i, time, std::numeric_limits<double>::quiet_NaN());
}

void ChartWidget::clear()
{
    for (QCPGraph* g : std::as_const(m_graphs))
        g->data()->clear();
    m_newestKey = 0;
    m_dirty = true;
}

void ChartWidget::setVisibleSeconds(int seconds)
{
    m_visibleSeconds = std::max(10, seconds);
    m_dirty = true;
}

int ChartWidget::seriesCount() const
{
    return int(m_graphs.size());
}

int ChartWidget::pointCount(int series) const
{
    return series >= 0 && series < m_graphs.size() ? m_graphs[series]->dataCount() : 0;
}

double ChartWidget::lastValue(int series) const
{
    if (pointCount(series) == 0)
        return std::numeric_limits<double>::quiet_NaN();
    return (m_graphs[series]->data()->constEnd() - 1)->value;
}

void ChartWidget::redraw()
{
    if (!m_dirty || !isVisible())
        return;
    m_dirty = false;
    const double right = m_newestKey > 0 ? m_newestKey : QDateTime::currentMSecsSinceEpoch() / 1000.0;
    m_plot->xAxis->setRange(right - m_visibleSeconds, right);
    // Fit the value axis to what is visible, from zero, with headroom.
    double top = 0;
    for (QCPGraph* g : std::as_const(m_graphs)) {
        bool found = false;
        const QCPRange r = g->getValueRange(found, QCP::sdBoth, m_plot->xAxis->range());
        if (found && std::isfinite(r.upper))
            top = std::max(top, r.upper);
    }
    m_plot->yAxis->setRange(0, top > 0 ? top * 1.15 : 1);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace htap::ui
