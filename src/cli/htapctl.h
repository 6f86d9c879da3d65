#pragma once

#include <QStringList>

namespace htap::cli {

/// Exit codes of htapctl, documented in the README.
enum ExitCode { ExitOk = 0, ExitFailure = 1, ExitUsage = 2 };

/// Runs htapctl with its arguments (without the program name). Needs a QCoreApplication.
int runHtapctl(const QStringList& arguments);

} // namespace htap::cli
