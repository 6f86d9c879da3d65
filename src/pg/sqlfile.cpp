#include "sqlfile.h"

#include <QFile>

#include <mutex>

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
    // The files are compiled in: each is split once (a load run prepares on every connection,
    // from several threads when they reconnect).
    static std::mutex m;
    static QHash<QString, QHash<QString, QString>> cache;
    const std::lock_guard lock(m);
    const auto cached = cache.constFind(relativePath);
    if (cached != cache.cend())
        return *cached;
    QHash<QString, QString>& out = cache[relativePath];
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

QStringList engineScripts()
{
    return {QStringLiteral("htap/registry.sql"), QStringLiteral("htap/ivm.sql"), QStringLiteral("htap/ivmrowcapture.sql")};
}

} // namespace htap::pg
