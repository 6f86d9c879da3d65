#pragma once

#include <limits>

#include <QColor>
#include <QDateTime>
#include <QHash>
#include <QSharedPointer>
#include <QTimer>
#include <QWidget>

class QCustomPlot;
class QCPGraph;
class QCPErrorBars;
class QCPGraphData;
template <class DataType>
class QCPDataContainer;
class QCPTextElement;
class QCPAbstractItem;
class QCPAbstractLegendItem;
class QCPItemRect;
class QLabel;

namespace htap::ui {

/// A live time-series chart over QCustomPlot: points are appended, points older than the
/// retention are dropped, and redraws are coalesced on one 5 Hz timer. A NaN value breaks the
/// line, so a gap in the data shows as a gap. Colours follow the widget's palette; the legend
/// sits below the plot (a click on an entry hides its series); a series that lies on an
/// earlier one is drawn dashed; more points in view than pixels are drawn per pixel column as
/// the mean with a band from the least to the greatest value.
class ChartWidget : public QWidget
{
    Q_OBJECT
public:
    explicit ChartWidget(const QString& title, const QString& unit, QWidget* parent = nullptr);
    ~ChartWidget() override;

    int addSeries(const QString& name, const QColor& color, Qt::PenStyle style = Qt::SolidLine);
    /// The n-th colour of the charts' palette (it repeats after eight).
    static QColor seriesColor(int n);
    /// Draws each point as a dot too, so that isolated points (between gaps) stay visible.
    void setShowPoints(bool on);
    /// Series come in groups of this many (a workload's rate and target, say): when the legend
    /// needs several columns, a group is not split between two.
    void setLegendGroup(int seriesPerGroup);
    /// Dots without lines: for events (one refresh, one point) rather than a sampled series.
    void setPointsOnly(bool on);
    /// Stacked areas: each series is drawn on top of those added before it and filled down to
    /// them, so the top edge is the total. At each time, points must come in series order (the
    /// first series first); tooltips show each series' own value. Set before adding series.
    void setStacked(bool on);
    bool isStacked() const { return m_stacked; }
    /// A message across the plotting area instead of data (what is missing and how to install
    /// it, say); empty to show the data again.
    void setNotice(const QString& text);
    QString notice() const;
    void addPoint(int series, const QDateTime& time, double value);
    /// Moves the chart's "now" to time without adding a point: a chart of events (refreshes)
    /// ends its window where the sampled charts end theirs, not at its newest event.
    void advanceTo(const QDateTime& time);
    /// Breaks every line at this time (the connection was lost, the counters were reset).
    void addGap(const QDateTime& time);
    void clear();
    /// Removes every series, with its legend entry (reference lines stay).
    void removeAllSeries();
    /// Width of the visible window that follows the newest point.
    void setVisibleSeconds(int seconds);
    /// A horizontal reference line (an SLO, a trigger), drawn dashed and labelled.
    void addThreshold(double value, const QString& label, const QColor& color);
    /// Removes every reference line (the targets changed).
    void clearThresholds();
    /// A shaded span behind the lines (an incident), under key: set again to move its end; an
    /// invalid `to` reaches the newest point (it is still going on).
    void setSpan(const QString& key, const QDateTime& from, const QDateTime& to, const QString& label);
    void clearSpans();
    int spanCount() const { return int(m_spans.size()); }
    /// While paused the chart stops following new points (they are still recorded), so the
    /// operator can pan and zoom; unpausing jumps back to live.
    void setPaused(bool paused);
    bool isPaused() const { return m_paused; }
    int visibleSeconds() const { return m_visibleSeconds; }
    /// How far back points are kept: the window (or range) shown and a quarter, 5 min at least.
    double retentionSeconds() const;
    /// Value axis on a log scale (latencies spanning ms to s).
    void setLogarithmic(bool on);
    int seriesCount() const;
    int pointCount(int series) const;
    double lastValue(int series) const;
    /// The series' values, oldest first; a gap is a NaN.
    QList<double> values(int series) const;
    /// Time of the oldest point of a series (invalid when empty).
    QDateTime firstTime(int series) const;
    /// Time of the newest point of a series (invalid when empty).
    QDateTime lastTime(int series) const;
    /// The time range the chart shows now (after panning and zooming).
    std::pair<QDateTime, QDateTime> visibleRange() const;
    /// Shows exactly [from, to] and stops following live data (a custom range).
    void showRange(const QDateTime& from, const QDateTime& to);
    /// The plotting area and the legend below it, in the plot's pixels (empty before the
    /// first layout); the legend's number of columns, and whether it shows only its first row
    /// and a "+N more" entry (a click on that entry opens it, another closes it).
    QRect plotArea() const;
    QRect legendArea() const;
    int legendColumns() const;
    bool legendCollapsed() const { return m_legendCollapsed; }
    /// Whether the legend got the height its rows need (a squeezed one loses its last rows).
    bool legendFits() const;
    /// A series hidden by a click on its legend entry is not drawn and does not scale the axis.
    void setSeriesVisible(int series, bool visible);
    bool isSeriesVisible(int series) const;
    /// Whether the points in view outnumber the pixels, so that series are drawn as a mean
    /// with a min/max band per pixel column.
    bool drawsEnvelope() const { return m_dense; }
    /// The pen style a series is drawn with now: dashed while it lies on an earlier series.
    Qt::PenStyle drawnStyle(int series) const;
    /// The time axis' and the value axis' labels as the last layout drew them.
    QStringList timeLabels() const;
    QStringList valueLabels() const;
    /// What the tooltip says at a time (the values of each series, with the unit).
    QString valuesText(const QDateTime& time) const;
    /// What the 5 Hz timer does (window, per-column means, dashes, legend), then an immediate
    /// replot: the whole cost of a frame, for bench_chart_redraw.
    void redrawNow();
    /// Whether the series' points are drawn as dots (always so with setShowPoints, and while a
    /// point in view stands alone, between gaps or as the first, which a line cannot show).
    bool drawsDots(int series) const;

Q_SIGNALS:
    /// Shift + drag on the time axis picked a window (for a snapshot).
    void rangeSelected(const QDateTime& from, const QDateTime& to);

public:

    QCustomPlot* plot() const { return m_plot; }

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    using Data = QCPDataContainer<QCPGraphData>;
    struct Series {
        QSharedPointer<Data> raw; ///< every point kept; the graph draws it or its per-column means
        QCPGraph* graph = nullptr;
        QCPErrorBars* band = nullptr; ///< least to greatest per column while the chart is dense
        Qt::PenStyle style = Qt::SolidLine; ///< as asked; SolidLine may be drawn dashed
        Qt::PenStyle drawn = Qt::SolidLine;
        bool hidden = false;
        /// Dense windows: the complete columns' sums, counts, least and greatest (a column is
        /// complete once a later column has a point), kept from frame to frame, so that a frame
        /// folds only the points that came since, not a day of them. For one column width.
        struct Column {
            double c;         ///< floor(key / width)
            double sum;
            int n;
            double lo, hi;
            double loPositive; ///< the least value above zero (log axes); +inf if none
            bool gap;
        };
        QVector<Column> columns;
        double columnWidth = 0;
        double foldedFrom = 0, foldedTo = 0; ///< the column indices [from, to) that columns covers
        double changedFrom = std::numeric_limits<double>::infinity(); ///< a point added before the newest: its key
        /// What the last dense frame showed (its columns), for fitting the value axis.
        double shownLo = 0, shownHi = 0, shownLoPositive = 0;
        bool shownAny = false;
    };

    void redraw();
    void applyPalette();
    /// Per pixel column when the points in view outnumber the pixels; the raw points otherwise.
    void decimate();
    /// Dashes for a series whose line in view lies on an earlier one's.
    void styleOverlaps();
    /// Reference lines' labels above their lines, or below where the next line is too close.
    void placeThresholdLabels();
    void fitValueAxis();
    void fitLegend();
    void showLegend(bool shown);
    void onLegendClick(QCPAbstractLegendItem* item);
    void markLonePoints();
    void showValuesAt(const QPoint& pos);
    void placeNotice();
    /// Breaks the title over lines at spaces where the chart is too narrow for it in one.
    void wrapTitle();
    /// A stacked series' own value at a point: its height above the series below.
    double ownValue(int series, double key, double stackedValue) const;
    void setPen(Series& s, Qt::PenStyle style);

    QCustomPlot* m_plot;
    QList<Series> m_series;
    QString m_unit;
    bool m_dense = false;
    bool m_wide = false;            ///< the window spans more than an hour: thin, plain pens
    int m_decimatedWidth = -1;      ///< the plot's width in pixels when decimate() last ran
    double m_decimatedFrom = 0, m_decimatedTo = 0; ///< the time range decimate() last ran for
    bool m_legendExpanded = false;  ///< the operator opened a collapsed legend
    bool m_legendCollapsed = false;
    bool m_legendInLayout = false;
    QString m_legendLayout;         ///< what the legend was last built for
    QTimer m_redrawTimer;
    bool m_dirty = false;
    double m_newestKey = 0;
    int m_visibleSeconds = 300;
    double m_rangeSeconds = 0; ///< a custom range's length while one is shown
    bool m_paused = false;
    bool m_showPoints = false;
    bool m_pointsOnly = false;
    bool m_log = false;
    bool m_stacked = false;
    QLabel* m_notice = nullptr;
    QCPTextElement* m_title = nullptr;
    QString m_titleText;
    int m_titleWidth = -1; ///< the width the title was last wrapped for
    int m_yTickCount = 5;  ///< as many value labels as the plot's height holds (linear axis)
    int m_legendGroup = 1;
    QList<double> m_thresholds;
    QList<QCPAbstractItem*> m_thresholdItems;
    struct Span {
        QCPItemRect* rect;
        bool open;
    };
    QHash<QString, Span> m_spans;
    QStringList m_spanOrder; ///< oldest first, to drop the oldest past a few hundred
};

} // namespace htap::ui
