#include "sqlfile.h"

#include <QFile>

namespace htap::pg {

QString sqlFile(const QString& relativePath)
{
    QFile f(QStringLiteral(":/sql/") + relativePath);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QString::fromUtf8(f.readAll());
}

} // namespace htap::pg
