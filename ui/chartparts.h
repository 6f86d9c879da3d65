// ChartWidget's parts that only its own files see: they include QCustomPlot, which the
// rest of the app does not (chartwidget.cpp and chartdrawing.cpp).
#pragma once

// qcustomplot.h itself uses foreach.
#undef QT_NO_FOREACH
#include <qcustomplot.h>

#include "core/format.h"

#include <QLocale>

#include <algorithm>
#include <cmath>

namespace htap::ui::chart {

/// A dense chart is drawn per column of this many pixels.
constexpr int kColumnPixels = 2;
/// A value axis label with thousands separators and no more decimals than the tick has, never
/// in scientific notation (past a quadrillion the app's "× 10^n").
inline QString tickText(double v)
{
    if (v == 0 || !std::isfinite(v))
        return core::formatNumber(v);
    if (std::fabs(v) >= 1e15)
        return core::formatNumber(v);
    const double rounded = QString::number(v, 'g', 12).toDouble(); // 0.30000000000000004
    QString fixed = QString::number(rounded, 'f', 9);
    while (fixed.endsWith(QLatin1Char('0')))
        fixed.chop(1);
    const qsizetype dot = fixed.indexOf(QLatin1Char('.'));
    const int decimals = dot < 0 ? 0 : int(fixed.size() - dot - 1);
    QLocale c = QLocale::c();
    c.setNumberOptions(QLocale::DefaultNumberOptions); // the C locale leaves out group separators
    return c.toString(rounded, 'f', decimals);
}

class NumberTicker : public QCPAxisTicker
{
protected:
    QString getTickLabel(double tick, const QLocale&, QChar, int) override { return tickText(tick); }
};

class LogNumberTicker : public QCPAxisTickerLog
{
protected:
    QString getTickLabel(double tick, const QLocale&, QChar, int) override { return tickText(tick); }
};

/// The last entry of a collapsed legend: "+3 more" (or "fewer" when opened), a click toggles.
class MoreLegendItem : public QCPAbstractLegendItem
{
public:
    MoreLegendItem(QCPLegend* legend, const QString& text)
        : QCPAbstractLegendItem(legend)
        , m_text(text)
    {
    }

protected:
    void draw(QCPPainter* painter) override
    {
        QFont f = mFont;
        f.setUnderline(true);
        painter->setFont(f);
        painter->setPen(QPen(mTextColor));
        painter->drawText(mRect, Qt::AlignLeft | Qt::AlignVCenter, m_text);
    }
    QSize minimumOuterSizeHint() const override
    {
        const QFontMetrics metrics(mFont);
        return QSize(metrics.horizontalAdvance(m_text) + mMargins.left() + mMargins.right(),
            metrics.height() + mMargins.top() + mMargins.bottom());
    }

private:
    QString m_text;
};

/// The dash patterns of series that lie on earlier ones: the first such series long dashes, the
/// next dots, then dash-dots, so that the line below shows through.
inline QList<qreal> overlapDashes(int n)
{
    static const QList<QList<qreal>> patterns {{5, 4}, {1.5, 3}, {6, 3, 1.5, 3}};
    return patterns[std::clamp(n, 0, int(patterns.size()) - 1)];
}

} // namespace htap::ui::chart
