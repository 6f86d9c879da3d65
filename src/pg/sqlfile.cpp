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

QHash<QString, QString> namedStatements(const QString& relativePath)
{
    QHash<QString, QString> out;
    QString name;
    for (const QString& line : sqlFile(relativePath).split(QLatin1Char('\n'))) {
        if (line.startsWith(QLatin1String("-- name: ")))
            name = line.mid(9).trimmed();
        else if (!name.isEmpty() && !line.startsWith(QLatin1String("--")))
            out[name] += line + QLatin1Char('\n');
    }
    for (auto it = out.begin(); it != out.end(); ++it)
        *it = it->trimmed();
    return out;
}

} // namespace htap::pg
