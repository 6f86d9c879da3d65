#include "reply.h"

#include <hotpath.h>

#include <libpq-fe.h>

#include <charconv>
#include <cstring>

namespace htap::pg {

HTAP_HOT Reply::Reply(PGresult* result, const QString& query, const QString& connectionMessage)
    : m_result(result)
{
    const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    switch (status) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_SINGLE_TUPLE:
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_PIPELINE_SYNC:
        break;
    default: {
        QString fallback = result ? QString::fromUtf8(PQresultErrorMessage(result)) : QString();
        if (fallback.trimmed().isEmpty())
            fallback = connectionMessage;
        m_error = std::make_unique<PgError>(PgError::fromResult(result, fallback, query));
    }
    }
}

Reply::Reply(PgError error)
    : m_error(std::make_unique<PgError>(std::move(error)))
{
}

HTAP_HOT Reply::~Reply()
{
    if (m_result)
        PQclear(m_result);
}

HTAP_HOT Reply::Reply(Reply&& other) noexcept
    : m_result(std::exchange(other.m_result, nullptr))
    , m_error(std::move(other.m_error))
{
}

HTAP_HOT Reply& Reply::operator=(Reply&& other) noexcept
{
    if (this != &other) {
        if (m_result)
            PQclear(m_result);
        m_result = std::exchange(other.m_result, nullptr);
        m_error = std::move(other.m_error);
    }
    return *this;
}

const PgError& Reply::error() const
{
    static const PgError none;
    return m_error ? *m_error : none;
}

int Reply::rowCount() const
{
    return m_result && ok() ? PQntuples(m_result) : 0;
}

HTAP_HOT const char* Reply::value(int row, int column) const
{
    if (row < 0 || row >= rowCount() || column < 0 || column >= PQnfields(m_result)
        || PQgetisnull(m_result, row, column))
        return nullptr;
    return PQgetvalue(m_result, row, column);
}

namespace {
/// The whole of text as an integer (QByteArray::toLongLong's rule, without the copy).
bool parseInt64(const char* text, qint64* out)
{
    if (!text)
        return false;
    const char* end = text + std::strlen(text);
    const auto [ptr, ec] = std::from_chars(text, end, *out);
    return ec == std::errc() && ptr == end && ptr != text;
}
} // namespace

HTAP_HOT qint64 Reply::toInt64(int row, int column, qint64 fallback) const
{
    qint64 v = 0;
    return parseInt64(value(row, column), &v) ? v : fallback;
}

HTAP_HOT qint64 Reply::affectedRows() const
{
    if (!m_result || !ok())
        return -1;
    const char* n = PQcmdTuples(m_result);
    if (!n || !*n)
        return -1;
    qint64 v = 0;
    return parseInt64(n, &v) ? v : 0;
}

pg_result* Reply::release()
{
    return std::exchange(m_result, nullptr);
}

} // namespace htap::pg
