// Shared by the partition move's files: the move as loaded from htap.partition_moves, and helpers.
#pragma once

#include "partitionmove.h"

#include <pg/identifier.h>
#include <pg/sqlfile.h>

#include <QJsonArray>
#include <QJsonObject>
#include <QPair>

namespace htap::advise {

namespace partition_detail {

inline QString sqlOf(const QString& name)
{
    return htap::pg::namedStatements(QStringLiteral("advise/partition.sql")).value(name);
}

/// A name of at most 63 bytes (PostgreSQL truncates longer ones), not cutting a character.
inline QString shortName(const QString& base, const QString& suffix)
{
    QByteArray b = base.toUtf8();
    const QByteArray s = suffix.toUtf8();
    if (b.size() + s.size() > 63)
        b.truncate(63 - s.size());
    return QString::fromUtf8(b).remove(QChar::ReplacementCharacter) + suffix;
}

inline QJsonArray pairs(const QList<QPair<QString, QString>>& l)
{
    QJsonArray a;
    for (const auto& [x, y] : l)
        a << QJsonArray {x, y};
    return a;
}

} // namespace partition_detail

using htap::pg::quoteIdentifier;
using htap::pg::quoteQualified;

struct PartitionMove::Move {
    qint64 id = 0;
    QString schema, table, column, keyColumn, keyType, tempName, oldName, method, phase, copiedUpTo, copyUpper;
    qint64 rowsCopied = 0;
    QJsonObject saved;
    QStringList columns;
    QString q(const QString& name) const { return quoteQualified(schema, name); }
    QString qTable() const { return q(table); }
    QString qTemp() const { return q(tempName); }
    QString qOld() const { return q(oldName); }
    QString object(const QString& suffix) const { return quoteQualified(QStringLiteral("htap"), QStringLiteral("partition_move_%1_%2").arg(id).arg(suffix)); }
    QString trigger(const QString& suffix) const { return quoteIdentifier(QStringLiteral("htap_partition_move_%1_%2").arg(id).arg(suffix)); }
    QString columnList() const
    {
        QStringList l;
        for (const QString& c : columns)
            l << quoteIdentifier(c);
        return l.join(QStringLiteral(", "));
    }
};


} // namespace htap::advise
