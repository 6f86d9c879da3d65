#include "result.h"

#include <libpq-fe.h>

namespace htap::pg {

Result::Result(PGresult* result, const QString& query, const QString& connectionMessage)
    : Result(Reply(result, query, connectionMessage))
{
}

Result::Result(Reply&& reply)
    : m_error(reply.error())
{
    if (pg_result* r = reply.release())
        m_result.reset(r, [](const PGresult* p) { PQclear(const_cast<PGresult*>(p)); });
}

Result::Result(PgError error)
    : m_error(std::move(error))
{
}

int Result::rowCount() const
{
    return m_result && ok() ? PQntuples(m_result.get()) : 0;
}

int Result::columnCount() const
{
    return m_result && ok() ? PQnfields(m_result.get()) : 0;
}

QString Result::columnName(int column) const
{
    if (column < 0 || column >= columnCount())
        return {};
    return QString::fromUtf8(PQfname(m_result.get(), column));
}

int Result::column(const QString& name) const
{
    for (int c = 0; c < columnCount(); ++c)
        if (columnName(c) == name)
            return c;
    return -1;
}

bool Result::isNull(int row, int column) const
{
    if (row < 0 || row >= rowCount() || column < 0 || column >= columnCount())
        return true;
    return PQgetisnull(m_result.get(), row, column) != 0;
}

QString Result::text(int row, int column) const
{
    if (isNull(row, column))
        return {};
    return QString::fromUtf8(PQgetvalue(m_result.get(), row, column),
        PQgetlength(m_result.get(), row, column));
}

qint64 Result::toInt64(int row, int column, qint64 fallback) const
{
    if (isNull(row, column))
        return fallback;
    bool ok = false;
    const qint64 v = QByteArray(PQgetvalue(m_result.get(), row, column)).toLongLong(&ok);
    return ok ? v : fallback;
}

double Result::toDouble(int row, int column, double fallback) const
{
    if (isNull(row, column))
        return fallback;
    bool ok = false;
    const double v = QByteArray(PQgetvalue(m_result.get(), row, column)).toDouble(&ok);
    return ok ? v : fallback;
}

bool Result::toBool(int row, int column) const
{
    return !isNull(row, column) && PQgetvalue(m_result.get(), row, column)[0] == 't';
}

qint64 Result::affectedRows() const
{
    if (!m_result || !ok())
        return -1;
    const char* n = PQcmdTuples(const_cast<PGresult*>(m_result.get()));
    if (!n || !*n)
        return -1;
    return QByteArray(n).toLongLong();
}

} // namespace htap::pg
