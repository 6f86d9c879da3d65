// Ctrl-C and SIGTERM as a request to stop, delivered through the event loop.
#pragma once

#include <QObject>

#include <functional>

namespace htap::cli {

/// On Ctrl-C or SIGTERM, calls stop (once per signal) from the event loop and says so; with
/// partialResult, that the result will be marked partial. The handlers live as long as context.
void stopOnInterrupt(QObject* context, const std::function<void()>& stop, bool partialResult = false);

} // namespace htap::cli
