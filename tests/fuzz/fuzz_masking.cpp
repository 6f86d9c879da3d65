// Statement masking (style.md 14): maskStatement, which every other session's statement passes
// before it is stored, exported or shown. Two oracles besides "no crash": the content of a string
// literal of the input never appears in the output, and masking twice equals masking once.
#include "fuzzutil.h"

#include <pg/statementtext.h>

#include <QList>
#include <QRegularExpression>

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

using namespace Qt::StringLiterals;
using htap::fuzz::check;

namespace {

struct Literal {
    int start, end; ///< byte offsets of the whole token in the text
    QByteArray content;
};

/// The string-like constants of text as PostgreSQL's lexer reads them, with their contents: the
/// bytes between the quotes or dollar tags. Empty when the lexer cannot read the text.
QList<Literal> literals(const QByteArray& text)
{
    QList<Literal> out;
    PgQueryScanResult raw = pg_query_scan(text.constData());
    PgQuery__ScanResult* result = raw.error ? nullptr
        : pg_query__scan_result__unpack(nullptr, raw.pbuf.len, reinterpret_cast<const uint8_t*>(raw.pbuf.data));
    for (size_t i = 0; result && i < result->n_tokens; ++i) {
        const PgQuery__ScanToken* t = result->tokens[i];
        if (t->token != PG_QUERY__TOKEN__SCONST && t->token != PG_QUERY__TOKEN__USCONST && t->token != PG_QUERY__TOKEN__BCONST
            && t->token != PG_QUERY__TOKEN__XCONST)
            continue;
        // libpg_query 15-4 ends a U&'...' token at its start: take the text to its closing quote.
        const int end = t->end > t->start ? t->end : int(text.indexOf('\'', text.indexOf('\'', t->start) + 1)) + 1;
        const QByteArray token = text.mid(t->start, end - t->start);
        QByteArray content;
        if (token.startsWith('$')) {
            const qsizetype tag = token.indexOf('$', 1) + 1;
            content = token.mid(tag, token.size() - 2 * tag);
        } else {
            const qsizetype open = token.indexOf('\'');
            content = token.mid(open + 1, token.size() - open - 2);
        }
        out << Literal {t->start, end, content};
    }
    if (result)
        pg_query__scan_result__free_unpacked(result, nullptr);
    pg_query_free_scan_result(raw);
    return out;
}

/// The byte offset of the token the lexer cannot finish, or -1 when it reads the whole text.
/// Counted here from the error's character position on the UTF-8 bytes, independently of
/// statementtext.cpp.
int unreadableFrom(const QByteArray& text)
{
    PgQueryScanResult raw = pg_query_scan(text.constData());
    const int chars = raw.error ? raw.error->cursorpos - 1 : -2;
    pg_query_free_scan_result(raw);
    if (chars == -2)
        return -1;
    int seen = 0;
    for (qsizetype i = 0; i < text.size(); ++i)
        if ((uchar(text[i]) & 0xc0) != 0x80 && seen++ == chars)
            return int(i);
    return chars < 0 ? 0 : int(text.size());
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    htap::fuzz::quietQt();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const QString sql = QString::fromUtf8(htap::fuzz::bytes(data, size));
    const QString masked = htap::pg::maskStatement(sql);
    const QString twice = htap::pg::maskStatement(masked);
    check(twice == masked, "masking twice equals masking once", sql + u"\n -> "_s + masked + u"\n -> "_s + twice);

    // What the lexer can read (up to a NUL byte, up to the token it cannot finish) and the rest,
    // which must be withheld.
    QByteArray read = sql.toUtf8(), unread;
    if (const qsizetype nul = read.indexOf('\0'); nul >= 0) {
        unread = read.mid(nul + 1);
        read.truncate(nul);
    }
    if (const int at = unreadableFrom(read); at >= 0) {
        unread.prepend(read.mid(at));
        read.truncate(at);
    }

    // What maskStatement keeps is text from outside every constant and comment, joined by white
    // space, and $n: a piece without white space or '$', not all digits (n has any), that occurs
    // nowhere else in what was read can only reach the output from a literal or the unread rest.
    // Each $n is searched as a NUL, which no such piece holds: "1,x" is not found across the
    // "$1" written for 'fX' and the ",x" kept after it.
    static const QRegularExpression parameter(u"\\$[0-9]+"_s);
    const QByteArray out = QString(masked).replace(parameter, QString(QChar(0))).toUtf8();
    const QByteArray fixed = QByteArray(htap::pg::kWithheldStatement) + " …";
    auto telling = [&](const QByteArray& piece, const QByteArray& elsewhere) {
        return piece.size() >= 3 && !piece.contains('$') && !fixed.contains(piece) && !elsewhere.contains(piece)
            && std::none_of(piece.cbegin(), piece.cend(), [](char c) { return c == '\0' || QChar::isSpace(uchar(c)); })
            && !std::all_of(piece.cbegin(), piece.cend(), [](char c) { return c >= '0' && c <= '9'; });
    };
    for (const Literal& l : literals(read)) {
        if (telling(l.content, read.left(l.start) + '\x01' + read.mid(l.end)))
            check(!out.contains(l.content), "a literal's content never reaches the output",
                sql + u"\n -> "_s + masked + u"\n literal: "_s + QString::fromUtf8(l.content));
    }
    for (qsizetype i = 0; i + 6 <= unread.size(); ++i) {
        const QByteArray piece = unread.mid(i, 6);
        if (telling(piece, read))
            check(!out.contains(piece), "what the lexer could not read never reaches the output",
                sql + u"\n -> "_s + masked + u"\n piece: "_s + QString::fromUtf8(piece));
    }
    return 0;
}
