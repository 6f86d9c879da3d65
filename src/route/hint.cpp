// Freshness budgets as statements and options spell them: durations, and the comment hint
// /* htap:fresh=2s */ read with PostgreSQL's own lexer.
#include "router.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <QRegularExpression>

#include <cmath>

using namespace Qt::StringLiterals;

namespace htap::route {

bool parseDuration(const QString& text, double* seconds, QString* error)
{
    thread_local const QRegularExpression re(u"^\\s*([0-9]+(?:\\.[0-9]+)?)\\s*(ms|s|m|min|h)?\\s*$"_s);
    const QRegularExpressionMatch m = re.match(text);
    if (!m.hasMatch()) {
        *error = u"\"%1\" is not a duration (write e.g. 2s, 500ms, 1.5s, 5m, 1h or 0)"_s.arg(text);
        return false;
    }
    const double value = m.captured(1).toDouble();
    const QString unit = m.captured(2);
    const double factor = unit == u"ms"_s ? 0.001 : unit == u"m"_s || unit == u"min"_s ? 60 : unit == u"h"_s ? 3600 : 1;
    const double s = value * factor;
    if (!std::isfinite(s) || s > 7 * 86400.0) {
        *error = u"\"%1\" is out of range (at most 7 days)"_s.arg(text);
        return false;
    }
    *seconds = s;
    return true;
}

bool findHint(const QString& sql, double* seconds, QString* error)
{
    error->clear();
    const QByteArray text = sql.toUtf8();
    PgQueryScanResult raw = pg_query_scan(text.constData());
    bool found = false;
    if (!raw.error) {
        PgQuery__ScanResult* scan = pg_query__scan_result__unpack(nullptr, raw.pbuf.len, reinterpret_cast<const uint8_t*>(raw.pbuf.data));
        for (size_t i = 0; scan && i < scan->n_tokens; ++i) {
            const PgQuery__ScanToken* t = scan->tokens[i];
            if (t->token != PG_QUERY__TOKEN__C_COMMENT && t->token != PG_QUERY__TOKEN__SQL_COMMENT)
                continue;
            QString body = QString::fromUtf8(text.mid(t->start, t->end - t->start));
            body = t->token == PG_QUERY__TOKEN__C_COMMENT ? body.mid(2, body.size() - 4) : body.mid(2);
            body = body.trimmed();
            if (!body.startsWith(u"htap:"_s))
                continue;
            if (found) {
                *error = u"two htap: hints in one statement"_s;
                break;
            }
            found = true;
            const QString hint = body.mid(5).trimmed();
            const int eq = int(hint.indexOf(u'='));
            const QString key = eq < 0 ? hint : hint.left(eq).trimmed();
            if (key != u"fresh"_s) {
                *error = u"unknown hint \"%1\" (the router knows htap:fresh=DURATION)"_s.arg(body);
                continue;
            }
            if (eq < 0) {
                *error = u"the hint \"%1\" lacks its duration (htap:fresh=2s)"_s.arg(body);
                continue;
            }
            QString why;
            if (!parseDuration(hint.mid(eq + 1), seconds, &why))
                *error = u"the hint \"%1\": %2"_s.arg(body, why);
        }
        if (scan)
            pg_query__scan_result__free_unpacked(scan, nullptr);
    }
    pg_query_free_scan_result(raw);
    return found;
}

} // namespace htap::route
