#include "figuretile.h"
#include "colours.h"

#include <core/format.h>

#include <QLabel>
#include <QPainter>
#include <QPainterPath>
#include <QVBoxLayout>

#include <cmath>
#include <limits>

namespace htap::ui {

namespace {
constexpr std::size_t kHistory = 300; // five minutes at one sample a second
}

FigureTile::FigureTile(const QString& caption, const QString& unit, double threshold, QWidget* parent)
    : QFrame(parent)
    , m_caption(caption)
    , m_unit(unit)
    , m_threshold(threshold)
    , m_value(new QLabel(QStringLiteral("–"), this))
    , m_label(new QLabel(caption, this))
{
    setFrameShape(QFrame::StyledPanel);
    setMinimumSize(180, 120); // four in a row fit beside the page list at 1024 px
    QFont big = m_value->font();
    big.setPointSizeF(big.pointSizeF() * 2);
    big.setBold(true);
    m_value->setFont(big);
    m_value->setWordWrap(true); // "44 ms · 19 calls" in a tile a quarter of 1024 px wide
    m_label->setWordWrap(true);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_label);
    layout->addWidget(m_value);
    layout->addStretch(1);
    if (std::isfinite(threshold))
        setToolTip(tr("Turns red above %1 %2").arg(threshold).arg(unit));
}

void FigureTile::setValue(double value, const QString& text)
{
    m_history.push_back(value);
    if (m_history.size() > kHistory)
        m_history.pop_front();
    if (std::isnan(value)) {
        m_value->setText(text.isEmpty() ? QStringLiteral("–") : text); // "none finished" says more than a dash
        m_alarmed = false;
    } else {
        m_value->setText(text.isEmpty() ? htap::core::formatNumber(value) + QLatin1Char(' ') + m_unit : text);
        m_alarmed = value > m_threshold;
    }
    m_value->setPalette(palette()); // out of the grey of "no data"
    m_value->setStyleSheet(m_alarmed ? QStringLiteral("color: %1").arg(colours::toneText(colours::Tone::Bad, palette()).name()) : QString());
    update();
}

void FigureTile::setNoData(double seconds)
{
    m_alarmed = false;
    m_value->setText(tr("no data for %1").arg(htap::core::formatSeconds(seconds)));
    QPalette p = m_value->palette();
    p.setColor(QPalette::WindowText, palette().color(QPalette::PlaceholderText));
    m_value->setPalette(p);
    m_value->setStyleSheet({});
    update();
}

void FigureTile::addGap()
{
    m_history.push_back(std::numeric_limits<double>::quiet_NaN());
    if (m_history.size() > kHistory)
        m_history.pop_front();
    update();
}

void FigureTile::clear()
{
    m_history.clear();
    m_alarmed = false;
    m_value->setText(QStringLiteral("–"));
    m_value->setStyleSheet({});
    update();
}

QString FigureTile::valueText() const
{
    return m_value->text();
}

void FigureTile::paintEvent(QPaintEvent* event)
{
    QFrame::paintEvent(event);
    if (m_history.size() < 2)
        return;
    double top = std::isfinite(m_threshold) ? m_threshold : 0;
    for (double v : m_history)
        if (!std::isnan(v))
            top = std::max(top, v);
    if (!(top > 0))
        return;
    const QRectF area(8, height() * 0.62, width() - 16, height() * 0.33);
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const double step = area.width() / double(kHistory - 1);
    const double x0 = area.right() - step * double(m_history.size() - 1);
    QPainterPath path;
    bool pen = false;
    for (std::size_t i = 0; i < m_history.size(); ++i) {
        const double v = m_history[i];
        if (std::isnan(v)) {
            pen = false; // a gap stays a gap
            continue;
        }
        const QPointF pt(x0 + step * double(i), area.bottom() - area.height() * std::min(1.0, v / top));
        pen ? path.lineTo(pt) : path.moveTo(pt);
        pen = true;
    }
    if (std::isfinite(m_threshold)) {
        const double ty = area.bottom() - area.height() * std::min(1.0, m_threshold / top);
        QColor line = colours::toneText(colours::Tone::Bad, palette());
        line.setAlpha(110);
        p.setPen(QPen(line, 1, Qt::DashLine));
        p.drawLine(QPointF(area.left(), ty), QPointF(area.right(), ty));
    }
    p.setPen(QPen(m_alarmed ? colours::toneText(colours::Tone::Bad, palette()) : palette().color(QPalette::Highlight), 1.5));
    p.drawPath(path);
}

} // namespace htap::ui
