#include "identifier.h"

namespace htap::pg {

QString quoteIdentifier(const QString& name)
{
    if (name.isEmpty() || name.contains(QChar(0)))
        return {};
    QString out;
    out.reserve(name.size() + 2);
    out += u'"';
    for (QChar c : name) {
        if (c == u'"')
            out += u'"';
        out += c;
    }
    out += u'"';
    return out;
}

QString quoteQualified(const QString& schema, const QString& name)
{
    const QString s = quoteIdentifier(schema);
    const QString n = quoteIdentifier(name);
    if (s.isEmpty() || n.isEmpty())
        return {};
    return s + u'.' + n;
}

QString quoteLiteral(const QString& value)
{
    if (value.contains(QChar(0)))
        return {};
    const bool backslash = value.contains(u'\\');
    QString out;
    out.reserve(value.size() + 3);
    if (backslash)
        out += u'E';
    out += u'\'';
    for (QChar c : value) {
        if (c == u'\'' || c == u'\\')
            out += c;
        out += c;
    }
    out += u'\'';
    return out;
}

} // namespace htap::pg
