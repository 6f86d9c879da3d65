#pragma once

#include "pgerror.h"
#include "reply.h"

#include <QMetaType>
#include <QString>
#include <QVariant>

#include <memory>

namespace htap::pg {

/// The outcome of one statement: rows, or an error. Immutable and cheap to copy; the PGresult is
/// shared read-only, so a Result may be read from any thread (libpq allows that for PGresult).
class Result
{
public:
    Result() = default;
    /// Takes ownership of a PGresult; a failed status becomes error().
    Result(pg_result* result, const QString& query, const QString& connectionMessage);
    /// A Result that holds only an error (nothing reached the server, or the connection broke).
    explicit Result(PgError error);
    /// Takes over a Reply's PGresult and error.
    explicit Result(Reply&& reply);

    bool ok() const { return !m_error.isError(); }
    const PgError& error() const { return m_error; }

    int rowCount() const;
    int columnCount() const;
    QString columnName(int column) const;
    /// Column number by name, or -1.
    int column(const QString& name) const;

    bool isNull(int row, int column) const;
    /// Text form of a value (libpq text format); empty for NULL.
    QString text(int row, int column) const;
    QString text(int row, const QString& column) const { return text(row, this->column(column)); }
    qint64 toInt64(int row, int column, qint64 fallback = 0) const;
    qint64 toInt64(int row, const QString& column, qint64 fallback = 0) const
    {
        return toInt64(row, this->column(column), fallback);
    }
    double toDouble(int row, int column, double fallback = 0) const;
    double toDouble(int row, const QString& column, double fallback = 0) const
    {
        return toDouble(row, this->column(column), fallback);
    }
    bool toBool(int row, int column) const;
    bool toBool(int row, const QString& column) const { return toBool(row, this->column(column)); }

    /// Rows touched by INSERT/UPDATE/DELETE, -1 when not applicable.
    qint64 affectedRows() const;

private:
    std::shared_ptr<const pg_result> m_result;
    PgError m_error;
};

} // namespace htap::pg

Q_DECLARE_METATYPE(htap::pg::Result)
