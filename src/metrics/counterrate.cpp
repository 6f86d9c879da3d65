#include "counterrate.h"

namespace htap::metrics {

std::optional<double> counterRate(qint64 before, qint64 after, double elapsedSeconds)
{
    if (!(elapsedSeconds > 0) || after < before)
        return std::nullopt;
    return double(after - before) / elapsedSeconds;
}

} // namespace htap::metrics
