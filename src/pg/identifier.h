#pragma once

#include <QString>

namespace htap::pg {

/// The one function that puts a name into SQL text. Always double-quotes, doubling embedded
/// quotes, so "Order Entry" and O"Brien keep their exact spelling and case. Refuses (returns an
/// empty string) a name that PostgreSQL cannot store: empty or containing a NUL character.
/// Values never go through here: they are bound as parameters.
QString quoteIdentifier(const QString& name);

/// schema.name with both parts quoted.
QString quoteQualified(const QString& schema, const QString& name);

} // namespace htap::pg
