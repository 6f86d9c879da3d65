// htap_pg: the libpq layer. One Connection owns one PGconn and is used from one thread;
// results and errors are immutable values that may cross threads.
#pragma once

#include <QMetaType>
#include <QString>

struct pg_result;

namespace htap::pg {

/// An error from the server, from libpq or from our own checks, as a value.
struct PgError {
    enum class Kind {
        None,
        InvalidConnInfo, ///< the conninfo string or URI could not be parsed
        Connection,      ///< could not connect, or the connection broke
        Timeout,         ///< connect did not finish within the connect timeout
        Server,          ///< the server reported an error for a statement
        Cancelled,       ///< the statement was cancelled (SQLSTATE 57014) or connect aborted
        Usage,           ///< the caller used the API wrongly (no connection, bad parameter)
    };

    Kind kind = Kind::None;
    QString sqlstate; ///< five-character SQLSTATE, empty when the server did not send one
    QString severity; ///< ERROR, FATAL, PANIC (non-localised) when known
    QString message;  ///< primary message
    QString detail;
    QString hint;
    QString query; ///< the statement that failed, when there was one

    bool isError() const { return kind != Kind::None; }
    explicit operator bool() const { return isError(); }

    /// SQLSTATE class (first two characters), e.g. "08" connection exception, "40" rollback.
    QString sqlstateClass() const { return sqlstate.left(2); }
    /// True for errors a client may retry: serialization failure and deadlock.
    bool isRetryable() const { return sqlstate == QLatin1String("40001") || sqlstate == QLatin1String("40P01"); }

    /// One line for a terminal or a status bar: "SQLSTATE 42P01: relation "x" does not exist".
    QString oneLine() const;
    /// Several lines with detail and hint, for a banner or a log.
    QString fullText() const;

    static PgError make(Kind kind, const QString& message, const QString& query = {});
    /// Builds an error from a failed PGresult (fields from PQresultErrorField).
    static PgError fromResult(const pg_result* result, const QString& fallbackMessage, const QString& query);
};

} // namespace htap::pg

Q_DECLARE_METATYPE(htap::pg::PgError)
