#include "conninfo.h"

#include <core/number.h>

#include <libpq-fe.h>

namespace htap::pg {

using namespace Qt::StringLiterals;

namespace {
const QString kPassword = u"password"_s;

bool isNumber(const QString& s, long min, long max)
{
    bool ok = false;
    const long v = s.toLong(&ok);
    return ok && v >= min && v <= max;
}
} // namespace

ConnInfo ConnInfo::parse(const QString& text, QString* error)
{
    const QString trimmed = text.trimmed();
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(trimmed.toUtf8().constData(), &err);
    if (!opts) {
        if (error)
            *error = err ? htap::core::excerpt(QString::fromUtf8(err).simplified(), 200) : u"out of memory parsing conninfo"_s;
        PQfreemem(err);
        return {};
    }
    ConnInfo info;
    for (PQconninfoOption* o = opts; o->keyword; ++o) {
        if (o->val)
            info.m_options.append({QString::fromUtf8(o->keyword), QString::fromUtf8(o->val)});
    }
    PQconninfoFree(opts);

    // libpq checks these only at connect time; say so now, before any network call.
    auto fail = [&](const QString& msg) {
        if (error)
            *error = msg;
        return ConnInfo();
    };
    const QString port = info.value(u"port"_s);
    if (!port.isEmpty()) {
        for (const QString& p : port.split(u','))
            if (!isNumber(p, 1, 65535))
                return fail(u"invalid port \"%1\": expected a number from 1 to 65535"_s.arg(htap::core::excerpt(p)));
    }
    const QString timeout = info.value(u"connect_timeout"_s);
    if (!timeout.isEmpty() && !isNumber(timeout, 0, 86400))
        return fail(u"invalid connect_timeout \"%1\": expected seconds from 0 to 86400"_s.arg(htap::core::excerpt(timeout)));
    const QString sslmode = info.value(u"sslmode"_s);
    static const QStringList sslModes
        = {u"disable"_s, u"allow"_s, u"prefer"_s, u"require"_s, u"verify-ca"_s, u"verify-full"_s};
    if (!sslmode.isEmpty() && !sslModes.contains(sslmode))
        return fail(u"invalid sslmode \"%1\": expected one of %2"_s.arg(htap::core::excerpt(sslmode), sslModes.join(u", "_s)));
    if (error)
        error->clear();
    return info;
}

QString ConnInfo::value(const QString& keyword) const
{
    for (const auto& [k, v] : m_options)
        if (k == keyword)
            return v;
    return {};
}

bool ConnInfo::contains(const QString& keyword) const
{
    for (const auto& kv : m_options)
        if (kv.first == keyword)
            return true;
    return false;
}

ConnInfo ConnInfo::with(const QString& keyword, const QString& value) const
{
    ConnInfo copy = without(keyword);
    copy.m_options.append({keyword, value});
    return copy;
}

ConnInfo ConnInfo::without(const QString& keyword) const
{
    ConnInfo copy;
    for (const auto& kv : m_options)
        if (kv.first != keyword)
            copy.m_options.append(kv);
    return copy;
}

QString ConnInfo::quoteValue(const QString& value)
{
    bool bare = !value.isEmpty();
    for (QChar c : value)
        if (c.isSpace() || c == u'\'' || c == u'\\' || c == u'=')
            bare = false;
    if (bare)
        return value;
    QString out = u"'"_s;
    for (QChar c : value) {
        if (c == u'\'' || c == u'\\')
            out += u'\\';
        out += c;
    }
    return out + u'\'';
}

QString ConnInfo::toConnString() const
{
    QStringList parts;
    for (const auto& [k, v] : m_options)
        parts << k + u'=' + quoteValue(v);
    return parts.join(u' ');
}

QString ConnInfo::redacted() const
{
    QStringList parts;
    for (const auto& [k, v] : m_options)
        parts << k + u'=' + (k == kPassword ? u"********"_s : quoteValue(v));
    return parts.join(u' ');
}

QString ConnInfo::displayName() const
{
    const QString service = value(u"service"_s);
    QString host = value(u"host"_s);
    if (host.isEmpty())
        host = value(u"hostaddr"_s);
    if (host.isEmpty())
        host = service.isEmpty() ? u"(default host)"_s : u"service "_s + service;
    QString user = value(u"user"_s);
    const QString port = value(u"port"_s);
    const QString db = value(u"dbname"_s);
    QString label = user.isEmpty() ? host : user + u'@' + host;
    if (!port.isEmpty())
        label += u':' + port;
    if (!db.isEmpty())
        label += u'/' + db;
    return label;
}

} // namespace htap::pg
