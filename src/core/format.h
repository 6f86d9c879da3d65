// One way to write every figure a person reads: pages, tooltips, htapctl's text, reports.
#pragma once

#include <QString>

namespace htap::core {

/// "850 ms", "12.3 s", "4.2 min", "3.1 h"; "unknown" for a negative value or NaN.
QString formatSeconds(double seconds);
/// A span a person plans by: "45 s", "3 min 12 s", "1 h 5 min", "2 d 3 h" (whole units, the two
/// largest); below 10 s one decimal ("2.5 s"); "unknown" for a negative value or NaN.
QString formatDuration(double seconds);
/// "1,820", "-3": a count with thousands separators, never in scientific notation.
QString formatCount(qint64 n);
/// A measured value: thousands separators, three significant digits below 100 ("0.213",
/// "42.5"), whole above; past a quadrillion "1.06 × 10^18" rather than 19 digits; never "e+".
/// "–" for NaN.
QString formatNumber(double v);
/// "24.0 KB", "43.1 MB": a size in bytes, 1024-based as PostgreSQL's pg_size_pretty counts.
QString formatBytes(qint64 bytes);

} // namespace htap::core
