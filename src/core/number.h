// Numbers from people: command-line flags and file fields, checked by one set of rules.
#pragma once

#include <QString>

#include <optional>

namespace htap::core {

/// What a number must be: finite, from min to max (min itself excluded with minExclusive),
/// and whole where a count, a port or a priority is meant.
struct NumberRule {
    double min = 0;
    double max = 0;
    bool whole = false;
    bool minExclusive = false;
};

/// Why v breaks rule, in words that follow a name ("must be a whole number from 1 to 65535"),
/// or empty when it does not. NaN and infinities always break it.
QString numberProblem(double v, const NumberRule& rule);

/// text as a number for `what` (a flag as the user typed it: "--interval"): finite, within
/// rule, or nothing with *error set to a one-line message naming what and the text.
std::optional<double> parseNumber(const QString& what, const QString& text, const NumberRule& rule, QString* error);

/// A piece of user input fit to repeat in a one-line message: at most maxChars characters
/// (then "…" and the full length), control characters shown as spaces.
QString excerpt(const QString& text, int maxChars = 60);

} // namespace htap::core
