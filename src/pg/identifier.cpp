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

} // namespace htap::pg
