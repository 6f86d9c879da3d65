// Helpers shared by the files that implement MvService; not part of the library's interface.
#pragma once

#include <pg/result.h>

#include <QString>

namespace htap::mv {

/// A failed statement as one line for the operator (message, SQLSTATE, detail).
inline QString statementError(const pg::Result& r)
{
    return r.error().oneLine();
}

} // namespace htap::mv
