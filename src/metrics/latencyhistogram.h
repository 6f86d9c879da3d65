#pragma once

#include <QtGlobal>

#include <memory>
#include <span>

namespace htap::metrics {

/// A log-linear latency histogram in the manner of HdrHistogram: values in microseconds from
/// 1 us to 10 minutes, kept to 3 significant digits (each power of two is split into 2,048
/// linear sub-buckets, so any recorded value is off by at most 1/2048 of itself). Fixed memory,
/// O(1) record, mergeable; percentiles are read from the counts. Not thread-safe: each worker
/// thread records into its own and a coordinator merges them.
class LatencyHistogram
{
public:
    static constexpr qint64 kLowestUs = 1;
    static constexpr qint64 kHighestUs = 600LL * 1000 * 1000;

    LatencyHistogram();
    LatencyHistogram(const LatencyHistogram& other);
    LatencyHistogram& operator=(const LatencyHistogram& other);
    /// A histogram moved from reads as empty; it may be assigned to or destroyed, not recorded
    /// or merged into.
    LatencyHistogram(LatencyHistogram&& other) noexcept;
    LatencyHistogram& operator=(LatencyHistogram&& other) noexcept;

    /// Values above the range are clamped to it (and counted), values below 1 us count as 1 us.
    void record(qint64 microseconds, qint64 count = 1);
    /// Records each value once, as single records would. The buckets are looked up and
    /// prefetched first, so that their cache misses can overlap.
    void record(std::span<const qint64> microseconds);
    void merge(const LatencyHistogram& other);
    void reset();

    qint64 count() const { return m_count; }
    qint64 maxUs() const { return m_count ? m_max : 0; }
    qint64 minUs() const { return m_count ? m_min : 0; }
    double meanUs() const { return m_count ? double(m_sum) / double(m_count) : 0; }
    /// The value at percentile p (0..100): the smallest recorded value that at least p% of the
    /// recorded values do not exceed, reported as the highest value of its bucket (like HdrHistogram's
    /// valueAtPercentile). 0 when empty.
    qint64 percentileUs(double p) const;

private:
    int indexOf(qint64 value) const;
    qint64 highestOf(int index) const;

    /// The counts (172 KB) come zeroed from calloc, which usually need not write them (fresh
    /// pages from the system are zero): then the pages a histogram never uses are never
    /// touched. Merging, resetting and reading go over the buckets between the smallest and
    /// largest value recorded, not the whole range.
    struct Free {
        void operator()(qint64* p) const;
    };
    std::unique_ptr<qint64[], Free> m_counts;
    qint64 m_count = 0;
    qint64 m_sum = 0;
    qint64 m_min = 0;
    qint64 m_max = 0;
};

} // namespace htap::metrics
