// Statement texts that leave the server's hands: masked before we store, export or show them.
#pragma once

#include <QString>

namespace htap::pg {

/// Another session's statement as we may keep it: every constant of every literal form
/// ('...', E'...', U&'...', $$...$$, B'...', X'...', numbers) replaced by $n, numbered after
/// the statement's own parameters as pg_stat_statements numbers them, and comments removed
/// (they can carry anything). Built on PostgreSQL's own lexer (libpg_query's pg_query_scan),
/// so it reads the text exactly as the server does: a password in ALTER ROLE ... PASSWORD
/// E'...' is a constant like any other.
///
/// A text the lexer cannot read to the end (a statement cut off by
/// track_activity_query_size inside a literal, or not SQL at all) is shown up to the last
/// token read cleanly and then "…": what was not read is withheld, never shown raw. Masking a
/// masked text changes nothing.
QString maskStatement(const QString& sql);

/// What maskStatement shows in place of a text the lexer could not read from its start.
inline constexpr const char* kWithheldStatement = "(statement withheld: not readable as SQL)";

} // namespace htap::pg
