#include "number.h"

#include <cmath>

namespace htap::core {

using namespace Qt::StringLiterals;

namespace {

QString shortNumber(double v)
{
    return QString::number(v, 'g', 12);
}

} // namespace

QString numberProblem(double v, const NumberRule& rule)
{
    const QString range = rule.minExclusive ? u"above %1 and at most %2"_s.arg(shortNumber(rule.min), shortNumber(rule.max))
                                            : u"from %1 to %2"_s.arg(shortNumber(rule.min), shortNumber(rule.max));
    const QString expected = (rule.whole ? u"must be a whole number "_s : u"must be a number "_s) + range;
    if (!std::isfinite(v) || v < rule.min || v > rule.max || (rule.minExclusive && v == rule.min))
        return expected;
    if (rule.whole && v != std::floor(v))
        return expected;
    return {};
}

std::optional<double> parseNumber(const QString& what, const QString& text, const NumberRule& rule, QString* error)
{
    bool ok = false;
    const double v = text.trimmed().toDouble(&ok);
    const QString problem = ok ? numberProblem(v, rule) : numberProblem(qQNaN(), rule);
    if (!problem.isEmpty()) {
        *error = u"invalid %1 \"%2\": %3"_s.arg(what, excerpt(text), problem);
        return std::nullopt;
    }
    return v;
}

QString excerpt(const QString& text, int maxChars)
{
    QString s = text.left(maxChars);
    for (QChar& c : s)
        if (c.category() == QChar::Other_Control || c == u'\n' || c == u'\r')
            c = u' ';
    if (text.size() > maxChars)
        s += u"… (%1 characters)"_s.arg(text.size());
    return s;
}

} // namespace htap::core
