// One way to write every figure a person reads: pages, tooltips, htapctl's text, reports.
#pragma once

#include <QString>

namespace htap::core {

/// "850 ms", "12.3 s", "4.2 min", "3.1 h"; "unknown" for a negative value or NaN.
QString formatSeconds(double seconds);
/// "1,820", "-3": a count with thousands separators, never in scientific notation.
QString formatCount(qint64 n);
/// A measured value: thousands separators, three significant digits below 100 ("0.213",
/// "42.5"), whole above; past a quadrillion "1.06 × 10^18" rather than 19 digits; never "e+".
/// "–" for NaN.
QString formatNumber(double v);

} // namespace htap::core
