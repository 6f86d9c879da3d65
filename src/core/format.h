// One way to write every figure a person reads: pages, tooltips, htapctl's text, reports.
#pragma once

#include <QString>

namespace htap::core {

/// "850 ms", "12.3 s", "4.2 min", "3.1 h"; "unknown" for a negative value or NaN.
QString formatSeconds(double seconds);
/// "1,820", "-3": a count with thousands separators, never in scientific notation.
QString formatCount(qint64 n);

} // namespace htap::core
