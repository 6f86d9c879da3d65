#pragma once

#include <monitor/serversample.h>

#include <QWidget>

namespace htap::ui {

class ChartWidget;

/// A page that shows part of what the collector samples. The main window hands every sample
/// to every page; pages keep what they draw and nothing else.
class MonitorPage : public QWidget
{
    Q_OBJECT
public:
    using QWidget::QWidget;
    virtual QString title() const = 0;
    virtual void addSample(const htap::monitor::ServerSample& sample) = 0;
    /// A sample from the history: draws it on the charts only. Tables, trees and figures show
    /// live samples alone (a pid from yesterday must not look like one to act on now).
    virtual void addPastSample(const htap::monitor::ServerSample& sample) { Q_UNUSED(sample) }
    /// Marks a break in the data (disconnect, reconnect) so lines do not bridge it.
    virtual void addGap(const QDateTime& at) = 0;
    virtual void clear() = 0;
    /// The server has not answered for this long (0: it answers again): what the page shows is
    /// no longer now.
    virtual void setNoData(double seconds) { Q_UNUSED(seconds) }
    /// The page's charts, for the window's shared time window and pause.
    virtual QList<ChartWidget*> charts() const { return {}; }
};

} // namespace htap::ui
