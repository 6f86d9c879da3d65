// What "healthy" means for this server: the DBA's targets, per class and per view.
#pragma once

#include "serversample.h"

#include <QMap>

class QSettings;

namespace htap::monitor {

/// The seed's targets by default (OLTP < 50 ms, OLAP < 1 s, freshness < 5 s); the DBA sets
/// them (Monitor > Targets…, kept in the settings, read by htapctl too).
struct Targets {
    double oltpSeconds = 0.050; ///< the oldest order statement or transaction, the longest lock wait
    double olapSeconds = 1.0;   ///< the same for reports
    /// The freshness of a view kept by the incremental engine, unless it has a target of its own.
    double freshnessSeconds = 5;
    /// Lock waits at least this long make a blocking episode (whatever the waiters' class).
    double blockingSeconds = 1;
    /// A view's own freshness target in seconds; 0: none (never late, its age only shown).
    QMap<QString, double> views;

    /// Seconds for a class (Other has none: -1).
    double classSeconds(WorkloadClass c) const;
    /// How fresh view must be, and where the figure comes from ("its target", "its schedule
    /// every 1 h", "the default for incremental views"); -1 when it has no target: a plain
    /// view refreshed by hand, or hourly with no schedule here, is never late.
    double viewSeconds(const ViewState& view, double scheduleSeconds, QString* from = nullptr) const;

    static Targets load(QSettings& settings);
    void save(QSettings& settings) const;
    bool operator==(const Targets&) const = default;
};

} // namespace htap::monitor
