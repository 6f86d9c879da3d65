#include "settingvalue.h"

#include <QRegularExpression>

#include <cmath>

namespace htap::roles {

using namespace Qt::StringLiterals;

namespace {

struct Unit {
    const char* name;
    double scale; // bytes or milliseconds
};

constexpr Unit kMemoryUnits[] = {{"TB", 1024.0 * 1024 * 1024 * 1024}, {"GB", 1024.0 * 1024 * 1024},
    {"MB", 1024.0 * 1024}, {"kB", 1024.0}, {"B", 1.0}};
constexpr Unit kTimeUnits[] = {{"d", 86400000.0}, {"h", 3600000.0}, {"min", 60000.0}, {"s", 1000.0}, {"ms", 1.0},
    {"us", 0.001}};

template <std::size_t N>
std::optional<double> scaleOf(const Unit (&units)[N], const QString& name)
{
    for (const Unit& u : units)
        if (name == QLatin1String(u.name))
            return u.scale;
    return std::nullopt;
}

template <std::size_t N>
QString unitList(const Unit (&units)[N])
{
    QStringList names;
    for (std::size_t i = N; i-- > 0;)
        names << u"\"%1\""_s.arg(QLatin1String(units[i].name));
    return names.join(u", "_s);
}

QString number(double v)
{
    if (v == std::floor(v) && std::fabs(v) < 1e15)
        return QString::number(qint64(v));
    return QString::number(v, 'g', 10);
}

// guc.c parse_bool_with_len: unique prefixes of true/false/yes/no, "on"/"off" (at least two
// letters), 1 and 0, any case.
std::optional<bool> parseBool(const QString& text)
{
    const QString t = text.trimmed().toLower();
    if (t.isEmpty())
        return std::nullopt;
    auto prefixOf = [&](const char* word) { return QLatin1String(word).startsWith(t); };
    if (prefixOf("true") || prefixOf("yes") || t == u"1"_s || (t.size() >= 2 && prefixOf("on")))
        return true;
    if (prefixOf("false") || prefixOf("no") || t == u"0"_s || (t.size() >= 2 && prefixOf("off")))
        return false;
    return std::nullopt;
}

} // namespace

bool ParamDef::isMemory() const
{
    static const QRegularExpression re(u"^\\d*(B|kB|MB|GB|TB)$"_s);
    return re.match(unit).hasMatch();
}

bool ParamDef::isTime() const
{
    static const QRegularExpression re(u"^\\d*(us|ms|s|min|h|d)$"_s);
    return re.match(unit).hasMatch();
}

double ParamDef::unitScale() const
{
    static const QRegularExpression re(u"^(\\d*)([A-Za-z]+)$"_s);
    const QRegularExpressionMatch m = re.match(unit);
    if (!m.hasMatch())
        return 1;
    const double factor = m.captured(1).isEmpty() ? 1 : m.captured(1).toDouble();
    const std::optional<double> s
        = isMemory() ? scaleOf(kMemoryUnits, m.captured(2)) : isTime() ? scaleOf(kTimeUnits, m.captured(2)) : std::nullopt;
    return factor * s.value_or(1);
}

QString ParamDef::formatInUnit(double value) const
{
    if (!isMemory() && !isTime())
        return number(value);
    if (value <= 0)
        return number(value); // 0 and -1 are the "off" and "use the default" values
    const double base = value * unitScale();
    auto pick = [&](const auto& units) -> QString {
        for (const Unit& u : units)
            if (base >= u.scale && std::fmod(base, u.scale) == 0)
                return number(base / u.scale) + QLatin1String(u.name);
        return number(value) + unit;
    };
    return isMemory() ? pick(kMemoryUnits) : pick(kTimeUnits);
}

QString ParamDef::display(const QString& value) const
{
    bool ok = false;
    const double v = value.toDouble(&ok);
    return ok && (isMemory() || isTime()) ? formatInUnit(v) : value;
}

QString ParamDef::allowedText() const
{
    if (vartype == u"bool"_s)
        return u"on or off"_s;
    if (vartype == u"enum"_s)
        return u"one of: "_s + enumValues.join(u", "_s);
    if (vartype == u"string"_s)
        return u"any text"_s;
    if (min && max && *max >= 2147483647) // INT_MAX: no real upper bound
        return u"%1 or more%2"_s.arg(formatInUnit(*min), isMemory() || isTime() ? u" (unit: %1)"_s.arg(unit) : QString());
    if (min && max)
        return formatInUnit(*min) + u" .. "_s + formatInUnit(*max);
    return u"a number"_s;
}

bool isListParam(const QString& name)
{
    static const QStringList names {u"search_path"_s, u"temp_tablespaces"_s, u"session_preload_libraries"_s,
        u"local_preload_libraries"_s, u"shared_preload_libraries"_s};
    return names.contains(name);
}

bool splitList(const QString& text, QStringList* elements, bool downcase)
{
    elements->clear();
    qsizetype i = 0;
    const qsizetype n = text.size();
    auto skipSpace = [&] {
        while (i < n && text[i].isSpace())
            ++i;
    };
    skipSpace();
    if (i == n)
        return true;
    for (;;) {
        QString element;
        if (text[i] == u'"') {
            ++i;
            for (;;) {
                if (i >= n)
                    return false;
                if (text[i] == u'"') {
                    if (i + 1 < n && text[i + 1] == u'"') {
                        element += u'"';
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                element += text[i++];
            }
        } else {
            while (i < n && text[i] != u',' && !text[i].isSpace())
                element += text[i++];
            if (element.isEmpty())
                return false;
            if (downcase)
                element = element.toLower();
        }
        *elements << element;
        skipSpace();
        if (i == n)
            return true;
        if (text[i] != u',')
            return false;
        ++i;
        skipSpace();
        if (i == n)
            return false; // a trailing comma
    }
}

bool listDowncases(const QString& name)
{
    return name == u"search_path"_s || name == u"temp_tablespaces"_s; // names; library paths keep their case
}

bool sameList(const QStringList& a, const QStringList& b)
{
    // An empty list is stored as "" (one empty name) by the server.
    auto norm = [](const QStringList& l) { return l == QStringList {QString()} ? QStringList() : l; };
    return norm(a) == norm(b);
}

QString joinList(const QStringList& elements)
{
    static const QRegularExpression bare(u"^[a-z_][a-z0-9_$]*$"_s);
    QStringList out;
    for (const QString& e : elements)
        out << (bare.match(e).hasMatch() ? e : u'"' + QString(e).replace(u"\""_s, u"\"\""_s) + u'"');
    return out.join(u", "_s);
}

ValueCheck checkValue(const ParamDef& def, const QString& text)
{
    ValueCheck c;
    const QString t = text.trimmed();
    auto refuse = [&](const QString& why) {
        c.ok = false;
        c.message = u"%1 = \"%2\": %3"_s.arg(def.name, text, why);
        return c;
    };
    if (text.contains(QChar(0)))
        return refuse(u"contains a NUL character"_s);
    if (def.vartype == u"string"_s) {
        QStringList elements;
        if (isListParam(def.name) && !splitList(text, &elements, listDowncases(def.name)))
            return refuse(u"not a list of names: separate them with commas and close every double quote "
                          "(e.g. \"$user\", public)"_s);
        c.ok = true;
        c.canonical = isListParam(def.name) ? joinList(elements) : text;
        return c;
    }
    if (t.isEmpty())
        return refuse(u"empty; allowed: %1"_s.arg(def.allowedText()));
    if (def.vartype == u"bool"_s) {
        const std::optional<bool> b = parseBool(t);
        if (!b)
            return refuse(u"not a Boolean; allowed: on or off (also true/false, yes/no, 1/0)"_s);
        c.ok = true;
        c.canonical = *b ? u"on"_s : u"off"_s;
        c.base = *b ? 1 : 0;
        return c;
    }
    if (def.vartype == u"enum"_s) {
        for (const QString& v : def.enumValues) {
            if (v.compare(t, Qt::CaseInsensitive) == 0) {
                c.ok = true;
                c.canonical = v;
                return c;
            }
        }
        // Enums with on/off also take the Boolean spellings, which pg_settings does not list
        // (synchronous_commit = true, huge_pages = 1, constraint_exclusion = yes).
        if (def.enumValues.contains(u"on"_s) && def.enumValues.contains(u"off"_s))
            if (const std::optional<bool> b = parseBool(t)) {
                c.ok = true;
                c.canonical = *b ? u"on"_s : u"off"_s;
                return c;
            }
        return refuse(u"not a value of this parameter; allowed: %1"_s.arg(def.enumValues.join(u", "_s)));
    }
    // integer or real, with an optional unit: "64MB", "1.5GB", "5s", "250", "0x10".
    static const QRegularExpression hex(u"^([+-]?0[xX][0-9a-fA-F]+)\\s*([A-Za-z]*)$"_s);
    if (def.vartype == u"integer"_s) {
        const QRegularExpressionMatch hm = hex.match(t);
        if (hm.hasMatch() && hm.captured(2).isEmpty()) {
            bool ok = false;
            const double v = double(hm.captured(1).toLongLong(&ok, 16));
            if (ok && (!def.min || v >= *def.min) && (!def.max || v <= *def.max)) {
                c.ok = true;
                c.canonical = hm.captured(1);
                c.base = v * def.unitScale();
                return c;
            }
            return refuse(u"out of range; allowed: %1"_s.arg(def.allowedText()));
        }
    }
    static const QRegularExpression re(u"^([+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?)\\s*([A-Za-z]*)$"_s);
    const QRegularExpressionMatch m = re.match(t);
    if (!m.hasMatch())
        return refuse(u"not a number%1; allowed: %2"_s.arg(
            def.isMemory() || def.isTime() ? u" with an optional unit"_s : QString(), def.allowedText()));
    double v = m.captured(1).toDouble();
    const QString unit = m.captured(2);
    // parse_int reads integers with base 0: 0x1F is hexadecimal and 010 octal (8).
    static const QRegularExpression octal(u"^[+-]?0[0-7]+$"_s);
    if (def.vartype == u"integer"_s && octal.match(m.captured(1)).hasMatch())
        v = double(m.captured(1).toLongLong(nullptr, 8));
    if (!unit.isEmpty()) {
        std::optional<double> scale;
        if (def.isMemory())
            scale = scaleOf(kMemoryUnits, unit);
        else if (def.isTime())
            scale = scaleOf(kTimeUnits, unit);
        else
            return refuse(u"this parameter takes a plain number, without a unit; allowed: %1"_s.arg(def.allowedText()));
        if (!scale)
            return refuse(u"\"%1\" is not a unit of this parameter; valid units are %2 (case matters), e.g. %3"_s.arg(
                unit, def.isMemory() ? unitList(kMemoryUnits) : unitList(kTimeUnits),
                def.formatInUnit((def.isMemory() ? 64.0 * 1024 * 1024 : 5000.0) / def.unitScale())));
        v = v * *scale / def.unitScale();
    }
    if (def.vartype == u"integer"_s)
        v = std::rint(v);
    if ((def.min && v < *def.min) || (def.max && v > *def.max))
        return refuse(u"out of range; allowed: %1"_s.arg(def.allowedText()));
    c.ok = true;
    c.canonical = unit.isEmpty() ? m.captured(1) : m.captured(1) + unit;
    c.base = v * def.unitScale();
    return c;
}

bool sameValue(const ParamDef& def, const QString& a, const QString& b)
{
    QStringList listA, listB;
    if (isListParam(def.name) && splitList(a, &listA, listDowncases(def.name)) && splitList(b, &listB, listDowncases(def.name)))
        return sameList(listA, listB);
    const ValueCheck x = checkValue(def, a);
    const ValueCheck y = checkValue(def, b);
    if (!x.ok || !y.ok)
        return a.trimmed() == b.trimmed();
    if (def.vartype == u"string"_s || def.vartype == u"enum"_s)
        return x.canonical == y.canonical;
    return std::fabs(x.base - y.base) <= 1e-9 * std::max(1.0, std::fabs(x.base));
}

bool sameStoredValue(const QString& name, const std::optional<QString>& a, const std::optional<QString>& b)
{
    if (a == b)
        return true;
    QStringList listA, listB;
    return a && b && isListParam(name) && splitList(*a, &listA, listDowncases(name))
        && splitList(*b, &listB, listDowncases(name)) && sameList(listA, listB);
}

QString roleSettableReason(const ParamDef& def, bool* superuserOnly)
{
    if (superuserOnly)
        *superuserOnly = def.context == u"superuser"_s;
    static const QStringList transactionOnly {u"transaction_isolation"_s, u"transaction_read_only"_s,
        u"transaction_deferrable"_s};
    if (transactionOnly.contains(def.name))
        return u"%1 applies to the current transaction only; the per-role setting is default_%1"_s.arg(def.name);
    if (def.name == u"session_authorization"_s || def.name == u"role"_s)
        return u"%1 changes who a session is; it is not a resource setting"_s.arg(def.name);
    if (def.context == u"user"_s || def.context == u"superuser"_s)
        return {};
    if (def.context == u"backend"_s || def.context == u"superuser-backend"_s)
        return u"%1 can only be set when a session starts (in its connection string), not per role"_s.arg(def.name);
    if (def.context == u"sighup"_s)
        return u"%1 is server-wide: set it in postgresql.conf or with ALTER SYSTEM, then reload"_s.arg(def.name);
    if (def.context == u"postmaster"_s)
        return u"%1 is server-wide and needs a restart: set it in postgresql.conf or with ALTER SYSTEM"_s.arg(def.name);
    if (def.context == u"internal"_s)
        return u"%1 is fixed when the server is built or initialised; it cannot be changed"_s.arg(def.name);
    return u"%1 has context \"%2\", which a role setting cannot change"_s.arg(def.name, def.context);
}

} // namespace htap::roles
