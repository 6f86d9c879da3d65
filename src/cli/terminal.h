#pragma once

#include <QString>

namespace htap::cli {

/// Asks for a password on the controlling terminal without echo. Empty when there is no
/// terminal (CI, pipes): then libpq's own sources (PGPASSWORD, ~/.pgpass) are all there is.
QString promptPassword(const QString& prompt);

} // namespace htap::cli
