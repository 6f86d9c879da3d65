#include "format.h"

#include <QLocale>

#include <algorithm>
#include <cmath>

namespace htap::core {

using namespace Qt::StringLiterals;

QString formatSeconds(double seconds)
{
    if (!(seconds >= 0) || !std::isfinite(seconds))
        return u"unknown"_s;
    if (seconds == 0)
        return u"0 s"_s;
    if (seconds < 1)
        return u"%1 ms"_s.arg(QString::number(seconds * 1000, 'f', seconds < 0.01 ? 2 : 0));
    if (seconds < 120)
        return u"%1 s"_s.arg(QString::number(seconds, 'f', 1));
    if (seconds < 7200)
        return u"%1 min"_s.arg(QString::number(seconds / 60, 'f', 1));
    return u"%1 h"_s.arg(QString::number(seconds / 3600, 'f', 1));
}

QString formatDuration(double seconds)
{
    if (!(seconds >= 0) || !std::isfinite(seconds))
        return u"unknown"_s;
    if (seconds < 10)
        return u"%1 s"_s.arg(QString::number(seconds, 'f', seconds == std::floor(seconds) ? 0 : 1));
    const qint64 s = qint64(std::llround(std::min(seconds, 1e15)));
    struct Unit { qint64 size; const char* name; };
    static constexpr Unit units[] {{86400, "d"}, {3600, "h"}, {60, "min"}, {1, "s"}};
    for (int i = 0; i < 3; ++i) {
        if (s < units[i].size)
            continue;
        const qint64 major = s / units[i].size;
        const qint64 minor = (s % units[i].size) / units[i + 1].size;
        const QString head = u"%1 %2"_s.arg(formatCount(major), QLatin1StringView(units[i].name));
        return minor ? u"%1 %2 %3"_s.arg(head).arg(minor).arg(QLatin1StringView(units[i + 1].name)) : head;
    }
    return u"%1 s"_s.arg(s);
}

QString formatBytes(qint64 bytes)
{
    return QLocale::c().formattedDataSize(bytes, 1, QLocale::DataSizeTraditionalFormat);
}

QString formatCount(qint64 n)
{
    QLocale c = QLocale::c();
    c.setNumberOptions(QLocale::DefaultNumberOptions); // the C locale leaves out group separators
    return c.toString(n);
}

QString formatNumber(double v)
{
    if (std::isnan(v))
        return u"–"_s;
    if (std::isinf(v))
        return v > 0 ? u"∞"_s : u"-∞"_s;
    const double a = std::fabs(v);
    if (a >= 1e15) {
        const int exponent = int(std::floor(std::log10(a)));
        return u"%1 × 10^%2"_s.arg(QString::number(v / std::pow(10.0, exponent), 'f', 2)).arg(exponent);
    }
    QLocale c = QLocale::c();
    c.setNumberOptions(QLocale::DefaultNumberOptions);
    if (a >= 100 || v == std::floor(v))
        return c.toString(v, 'f', 0);
    const int decimals = a >= 10 ? 1 : a >= 1 ? 2 : a >= 0.001 ? 3 - int(std::floor(std::log10(a))) - 1 : 6;
    return c.toString(v, 'f', std::clamp(decimals, 0, 6));
}

} // namespace htap::core
