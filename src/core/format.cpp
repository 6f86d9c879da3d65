#include "format.h"

#include <QLocale>

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

QString formatCount(qint64 n)
{
    QLocale c = QLocale::c();
    c.setNumberOptions(QLocale::DefaultNumberOptions); // the C locale leaves out group separators
    return c.toString(n);
}

} // namespace htap::core
