#include "pgerror.h"

#include <core/number.h>

#include <QStringList>

#include <libpq-fe.h>

namespace htap::pg {

using namespace Qt::StringLiterals;

namespace {
QString field(const PGresult* r, int code)
{
    const char* v = PQresultErrorField(r, code);
    return v ? QString::fromUtf8(v).trimmed() : QString();
}
} // namespace

PgError PgError::make(Kind kind, const QString& message, const QString& query)
{
    PgError e;
    e.kind = kind;
    e.message = message.trimmed();
    e.query = query;
    return e;
}

PgError PgError::fromResult(const PGresult* r, const QString& fallbackMessage, const QString& query)
{
    PgError e;
    e.kind = Kind::Server;
    e.query = query;
    if (r) {
        e.sqlstate = field(r, PG_DIAG_SQLSTATE);
        e.severity = field(r, PG_DIAG_SEVERITY_NONLOCALIZED);
        e.message = field(r, PG_DIAG_MESSAGE_PRIMARY);
        e.detail = field(r, PG_DIAG_MESSAGE_DETAIL);
        e.hint = field(r, PG_DIAG_MESSAGE_HINT);
    }
    if (e.message.isEmpty())
        e.message = fallbackMessage.trimmed();
    // 57014 is both a cancel request and statement_timeout; only the first is "Cancelled".
    if (e.sqlstate == u"57014"_s && !e.message.contains(u"statement timeout"_s))
        e.kind = Kind::Cancelled;
    else if (e.sqlstate.startsWith(u"08"_s))
        e.kind = Kind::Connection;
    return e;
}

QString PgError::oneLine() const
{
    // libpq's messages run over several lines, tab-indented, and repeat themselves when every
    // address of a host fails the same way: one line, each distinct part once, of bounded length.
    QStringList parts;
    for (const QString& raw : message.split(u'\n', Qt::SkipEmptyParts)) {
        const QString part = raw.simplified();
        if (!part.isEmpty() && !parts.contains(part))
            parts << part;
    }
    QString line = htap::core::excerpt(parts.join(u' '), 1000);
    if (!sqlstate.isEmpty())
        line = u"SQLSTATE "_s + sqlstate + u": "_s + line;
    return line;
}

QString PgError::fullText() const
{
    QString text = oneLine();
    if (!detail.isEmpty())
        text += u"\nDetail: "_s + detail;
    if (!hint.isEmpty())
        text += u"\nHint: "_s + hint;
    return text;
}

} // namespace htap::pg
