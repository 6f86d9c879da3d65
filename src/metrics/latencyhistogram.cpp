#include "latencyhistogram.h"

#include <hotpath.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <new>
#include <utility>

namespace htap::metrics {

namespace {
// 2,048 sub-buckets = 3 significant decimal digits (HdrHistogram: 2 * 10^3 rounded up to a
// power of two). Bucket 0 holds 0..2047 linearly; bucket b >= 1 holds [2^(b+10), 2^(b+11))
// in its upper 1,024 sub-buckets at a resolution of 2^b.
constexpr int kSubBits = 11;
constexpr qint64 kSubCount = 1LL << kSubBits;
constexpr qint64 kHalf = kSubCount / 2;
constexpr int kBuckets = int(std::bit_width(quint64(LatencyHistogram::kHighestUs))) - kSubBits + 1;

constexpr std::size_t kCounts = std::size_t(kSubCount + (kBuckets - 1) * kHalf);

qint64* zeroedCounts()
{
    auto* p = static_cast<qint64*>(std::calloc(kCounts, sizeof(qint64)));
    if (!p)
        throw std::bad_alloc();
    return p;
}
} // namespace

void LatencyHistogram::Free::operator()(qint64* p) const
{
    std::free(p);
}

LatencyHistogram::LatencyHistogram()
    : m_counts(zeroedCounts())
{
}

LatencyHistogram::LatencyHistogram(const LatencyHistogram& other)
    : LatencyHistogram()
{
    merge(other);
}

LatencyHistogram& LatencyHistogram::operator=(const LatencyHistogram& other)
{
    if (this != &other) {
        if (!m_counts)
            m_counts.reset(zeroedCounts());
        reset();
        merge(other);
    }
    return *this;
}

LatencyHistogram::LatencyHistogram(LatencyHistogram&& other) noexcept
{
    *this = std::move(other);
}

LatencyHistogram& LatencyHistogram::operator=(LatencyHistogram&& other) noexcept
{
    if (this != &other) {
        m_counts = std::move(other.m_counts);
        m_count = std::exchange(other.m_count, 0);
        m_sum = std::exchange(other.m_sum, 0);
        m_min = std::exchange(other.m_min, 0);
        m_max = std::exchange(other.m_max, 0);
    }
    return *this;
}

HTAP_HOT int LatencyHistogram::indexOf(qint64 v) const
{
    if (v < kSubCount)
        return int(v);
    const int bucket = std::bit_width(quint64(v)) - kSubBits; // >= 1
    const qint64 sub = v >> bucket; // in [1024, 2048)
    return int(kSubCount + (bucket - 1) * kHalf + (sub - kHalf));
}

qint64 LatencyHistogram::highestOf(int index) const
{
    if (index < kSubCount)
        return index;
    const int bucket = int((index - kSubCount) / kHalf) + 1;
    const qint64 sub = (index - kSubCount) % kHalf + kHalf;
    return ((sub + 1) << bucket) - 1;
}

HTAP_HOT void LatencyHistogram::record(qint64 us, qint64 count)
{
    const qint64 v = std::clamp(us, kLowestUs, kHighestUs);
    m_counts[std::size_t(indexOf(v))] += count;
    m_min = m_count ? std::min(m_min, v) : v;
    m_max = m_count ? std::max(m_max, v) : v;
    m_count += count;
    m_sum += v * count;
}

HTAP_HOT void LatencyHistogram::record(std::span<const qint64> values)
{
    for (qint64 us : values)
        __builtin_prefetch(&m_counts[std::size_t(indexOf(std::clamp(us, kLowestUs, kHighestUs)))], 1);
    for (qint64 us : values)
        record(us);
}

void LatencyHistogram::merge(const LatencyHistogram& o)
{
    if (!o.m_count)
        return;
    for (int i = indexOf(o.m_min), last = indexOf(o.m_max); i <= last; ++i)
        m_counts[std::size_t(i)] += o.m_counts[std::size_t(i)];
    m_min = m_count ? std::min(m_min, o.m_min) : o.m_min;
    m_max = m_count ? std::max(m_max, o.m_max) : o.m_max;
    m_count += o.m_count;
    m_sum += o.m_sum;
}

void LatencyHistogram::reset()
{
    if (m_count)
        std::fill(&m_counts[std::size_t(indexOf(m_min))], &m_counts[std::size_t(indexOf(m_max))] + 1, 0);
    m_count = m_sum = m_min = m_max = 0;
}

qint64 LatencyHistogram::percentileUs(double p) const
{
    if (!m_count)
        return 0;
    const qint64 rank = std::max<qint64>(1, qint64(std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * double(m_count))));
    qint64 seen = 0;
    for (int i = indexOf(m_min), last = indexOf(m_max); i <= last; ++i) {
        seen += m_counts[std::size_t(i)];
        if (seen >= rank)
            return std::min(highestOf(i), m_max);
    }
    return m_max;
}

} // namespace htap::metrics
