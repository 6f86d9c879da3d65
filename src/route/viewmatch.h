// Matching a query to a registered view; not part of the library's interface.
#pragma once

#include "selectshape.h"

namespace htap::route {

/// Whether view answers the (analyzed) query exactly: empty with *rewritten set to the query
/// over the view, else why not.
QString answerFrom(SelectShape& query, const RegisteredView& view, const Topology& topology,
    const std::function<bool(const QString&)>& isAggregate, QString* rewritten);

} // namespace htap::route
