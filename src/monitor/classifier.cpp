#include "classifier.h"

#include <QRegularExpression>

namespace htap::monitor {

namespace {
bool matchesAny(const QStringList& patterns, const QString& name)
{
    if (name.isEmpty())
        return false;
    for (const QString& p : patterns) {
        const QRegularExpression re(QRegularExpression::wildcardToRegularExpression(p));
        if (re.match(name).hasMatch())
            return true;
    }
    return false;
}
} // namespace

QString toString(WorkloadClass c)
{
    switch (c) {
    case WorkloadClass::Oltp:
        return QStringLiteral("oltp");
    case WorkloadClass::Olap:
        return QStringLiteral("olap");
    case WorkloadClass::Other:
        break;
    }
    return QStringLiteral("other");
}

WorkloadClass WorkloadClassifier::classify(const QString& role, const QString& application) const
{
    if (matchesAny(oltpRoles, role))
        return WorkloadClass::Oltp;
    if (matchesAny(olapRoles, role))
        return WorkloadClass::Olap;
    if (matchesAny(oltpApps, application))
        return WorkloadClass::Oltp;
    if (matchesAny(olapApps, application))
        return WorkloadClass::Olap;
    return WorkloadClass::Other;
}

} // namespace htap::monitor
