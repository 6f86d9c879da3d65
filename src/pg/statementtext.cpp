#include "statementtext.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <algorithm>
#include <climits>
#include <vector>

namespace htap::pg {

using namespace Qt::StringLiterals;

namespace {

struct Token {
    int start;
    int end;
    PgQuery__Token kind;
};

/// The tokens of text, or false with *errorAt set (a byte offset, -1 if unknown).
bool scan(const QByteArray& text, std::vector<Token>* tokens, int* errorAt)
{
    PgQueryScanResult raw = pg_query_scan(text.constData());
    bool ok = raw.error == nullptr;
    if (!ok) {
        // cursorpos counts characters from 1; we need bytes. The lexer stops at the token it
        // could not finish, so everything before that token's start is whole.
        const int chars = raw.error->cursorpos - 1;
        *errorAt = chars < 0 ? -1 : int(QString::fromUtf8(text).left(chars).toUtf8().size());
    } else {
        PgQuery__ScanResult* result = pg_query__scan_result__unpack(
            nullptr, raw.pbuf.len, reinterpret_cast<const uint8_t*>(raw.pbuf.data));
        if (!result) {
            ok = false;
            *errorAt = -1;
        } else {
            tokens->reserve(result->n_tokens);
            for (size_t i = 0; i < result->n_tokens; ++i)
                tokens->push_back({result->tokens[i]->start, result->tokens[i]->end, result->tokens[i]->token});
            pg_query__scan_result__free_unpacked(result, nullptr);
            // libpg_query 15-4 reports a U&'...' constant with its end at its start: it reaches
            // to the next token, less the white space before it.
            for (size_t i = 0; i < tokens->size(); ++i) {
                Token& t = (*tokens)[i];
                if (t.end > t.start)
                    continue;
                int end = i + 1 < tokens->size() ? (*tokens)[i + 1].start : int(text.size());
                while (end > t.start && QChar::isSpace(uchar(text.at(end - 1))))
                    --end;
                t.end = end;
            }
        }
    }
    pg_query_free_scan_result(raw);
    return ok;
}

bool isConstant(PgQuery__Token kind)
{
    switch (kind) {
    case PG_QUERY__TOKEN__SCONST: // '...', E'...', $$...$$, N'...'
    case PG_QUERY__TOKEN__USCONST: // U&'...'
    case PG_QUERY__TOKEN__BCONST: // B'...'
    case PG_QUERY__TOKEN__XCONST: // X'...'
    case PG_QUERY__TOKEN__ICONST:
    case PG_QUERY__TOKEN__FCONST:
        return true;
    default:
        return false;
    }
}

bool isComment(PgQuery__Token kind)
{
    return kind == PG_QUERY__TOKEN__SQL_COMMENT || kind == PG_QUERY__TOKEN__C_COMMENT;
}

/// What the lexer reads as the start of an identifier (scan.l's ident_start).
bool isIdentifierStart(uchar c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80;
}

/// What the lexer reads as the rest of one (ident_cont).
bool isIdentifierPart(uchar c)
{
    return isIdentifierStart(c) || (c >= '0' && c <= '9') || c == '$';
}

/// text with its constants numbered from after its highest $n and its comments dropped.
QByteArray mask(const QByteArray& text, const std::vector<Token>& tokens)
{
    // The lexer takes any digits after $; numbering on from $2147483647 or more must not overflow.
    qint64 highest = 0;
    for (const Token& t : tokens)
        if (t.kind == PG_QUERY__TOKEN__PARAM) {
            bool ok = false;
            const qint64 n = text.mid(t.start + 1, t.end - t.start - 1).toLongLong(&ok);
            highest = std::max(highest, ok ? std::min(n, qint64(INT_MAX)) : qint64(INT_MAX));
        }
    QByteArray out;
    out.reserve(text.size());
    int copied = 0;
    for (const Token& t : tokens) {
        if (!isConstant(t.kind) && !isComment(t.kind))
            continue;
        out += text.mid(copied, t.start - copied);
        if (isConstant(t.kind)) {
            // $n stands as a token of its own, or the masked text reads otherwise when masked
            // again: "ROLE$1" is a word, "$t$2" opens a dollar quote, and "$1b" is refused as
            // trailing junk after a parameter (the text was then withheld).
            if (!out.isEmpty() && isIdentifierPart(uchar(out.back())))
                out += ' ';
            out += '$' + QByteArray::number(++highest);
            if (t.end < text.size() && isIdentifierStart(uchar(text.at(t.end))))
                out += ' ';
        } else if (!out.isEmpty() && !out.endsWith(' ') && t.end < text.size())
            out += ' '; // "a/*x*/b" must not become "ab"
        copied = t.end;
    }
    out += text.mid(copied);
    return out;
}

} // namespace

QString maskStatement(const QString& sql)
{
    if (sql.isEmpty())
        return sql;
    QByteArray text = sql.toUtf8();
    // The lexer reads up to a NUL byte; a text with one in it is cut there, and the rest withheld.
    const qsizetype nul = text.indexOf('\0');
    bool cut = nul >= 0;
    if (cut)
        text.truncate(nul);
    std::vector<Token> tokens;
    int errorAt = -1;
    if (!scan(text, &tokens, &errorAt)) {
        // Read what came before the token the lexer could not finish; withhold the rest.
        if (errorAt <= 0)
            return QString::fromLatin1(kWithheldStatement);
        text.truncate(errorAt);
        tokens.clear();
        if (!scan(text, &tokens, &errorAt))
            return QString::fromLatin1(kWithheldStatement);
        cut = true;
    }
    QString masked = QString::fromUtf8(mask(text, tokens));
    if (cut)
        masked = masked.trimmed() + u" …"_s;
    return masked;
}

} // namespace htap::pg
