// htap_metrics: turning samples into numbers — counter rates, series, latency histograms.
#pragma once

#include <QtGlobal>

#include <optional>

namespace htap::metrics {

/// Rate of a cumulative counter between two samples, per second of real elapsed time.
/// No rate (nullopt) when there is no usable interval or the counter went backwards, which
/// means it was reset (pg_stat_reset, a crash restart): the caller takes the new value as a
/// fresh baseline instead of drawing a negative spike.
std::optional<double> counterRate(qint64 before, qint64 after, double elapsedSeconds);

} // namespace htap::metrics
