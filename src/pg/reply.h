#pragma once

#include "pgerror.h"

#include <memory>

namespace htap::pg {

/// One statement's answer as libpq gave it, owned by one holder and read in place: what a load
/// generator takes thousands of times a second. Nothing is converted or allocated for a good
/// answer (no shared ownership, no QString); a failure carries its PgError. Move-only; Result
/// is the shareable, immutable form (Result(Reply&&) takes one over).
class Reply
{
public:
    Reply() = default;
    /// Takes ownership of a PGresult; a failed status becomes error(), with connectionMessage
    /// as the text when the result has none, and query naming the statement.
    Reply(pg_result* result, const QString& query, const QString& connectionMessage);
    /// A Reply that holds only an error (nothing reached the server, or the connection broke).
    explicit Reply(PgError error);
    ~Reply();
    Reply(Reply&& other) noexcept;
    Reply& operator=(Reply&& other) noexcept;
    Reply(const Reply&) = delete;
    Reply& operator=(const Reply&) = delete;

    bool ok() const { return !m_error; }
    /// The failure; an empty PgError when ok().
    const PgError& error() const;

    int rowCount() const;
    /// A value in text form as libpq holds it (valid while this Reply lives); nullptr for SQL
    /// NULL or out of range.
    const char* value(int row, int column) const;
    /// A value read as an integer; fallback for NULL, out of range or not a number.
    qint64 toInt64(int row, int column, qint64 fallback = 0) const;
    /// Rows touched by INSERT/UPDATE/DELETE, -1 when not applicable.
    qint64 affectedRows() const;

    /// Hands the PGresult over (the caller clears it); the error stays.
    pg_result* release();

private:
    pg_result* m_result = nullptr;
    std::unique_ptr<PgError> m_error; ///< only a failure pays for one
};

} // namespace htap::pg
