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

/// The one function that puts a value into SQL text, for the utility statements that take no
/// bound parameters (ALTER ROLE ... SET name = 'value', CREATE ROLE ... PASSWORD '...'). Single
/// quotes are doubled; a value with a backslash becomes an E'' literal with backslashes doubled,
/// so the result means the same whatever standard_conforming_strings is. Refuses (empty string)
/// a value with a NUL character. Everything that can be bound is bound instead.
QString quoteLiteral(const QString& value);

} // namespace htap::pg
