// Shared by the partition move's files: the move as loaded from htap.partition_moves, and helpers.
#pragma once

#include "partitionmove.h"

#include <pg/connection.h>
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

/// Why the move refuses a table (empty: it does not): what it has that the partitioned table
/// would not get at the swap (its own triggers, row-level security, column grants, rules,
/// publications).
inline QString notCarried(htap::pg::Connection& conn, const QString& qualifiedTable)
{
    const auto r = conn.exec(sqlOf(QStringLiteral("not_carried")), {qualifiedTable});
    if (!r.ok())
        return QStringLiteral("cannot read what %1 has beside its rows: %2").arg(qualifiedTable, r.error().oneLine());
    QStringList what;
    for (int i = 0; i < r.rowCount(); ++i)
        what << r.text(i, 0);
    if (what.isEmpty())
        return {};
    return QStringLiteral("%1 has %2, which the move would not carry to the partitioned table (it would run without them "
                          "after the swap): move it by hand, or drop them and make them again on the new table")
        .arg(qualifiedTable, what.join(QStringLiteral(", ")));
}

/// pg_partman's template table for the parent schema.name (as part_config spells it), quoted;
/// query partman_template, or partman_template_own (only when no other parent shares it).
inline QString partmanTemplate(htap::pg::Connection& conn, const QString& partmanSchema, const QString& parent, bool ownOnly = false)
{
    const auto r = conn.exec(sqlOf(ownOnly ? QStringLiteral("partman_template_own") : QStringLiteral("partman_template"))
                                 .replace(QStringLiteral("@partman@"), htap::pg::quoteIdentifier(partmanSchema)),
        {QVariant(parent)});
    return r.ok() && r.rowCount() ? r.text(0, 0) : QString();
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
    /// A TRUNCATE of the table that writers use empties the other one too (as the trigger's
    /// argument names it: the partitioned copy before the swap, the old table after it), in the
    /// same transaction: otherwise the copy, or an undo's copy back, would bring the rows back.
    QString truncateFunction() const
    {
        return QStringLiteral("CREATE OR REPLACE FUNCTION %1() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp "
                              "AS $f$\nDECLARE\n    other regclass := to_regclass(TG_ARGV[0]);\nBEGIN\n"
                              // Gone (dropped by hand after the swap): nothing to empty, and the TRUNCATE goes on.
                              "    IF other IS NOT NULL THEN\n        EXECUTE format('TRUNCATE %s', other);\n    END IF;\n    RETURN NULL;\n"
                              // TRUNCATE ... CASCADE may be emptying it in this very statement (both tables keep
                              // the foreign keys to other tables): then there is nothing left to do.
                              "EXCEPTION WHEN object_in_use THEN\n    RETURN NULL;\nEND $f$")
            .arg(object(QStringLiteral("truncate")));
    }
    /// dir: log (on the old table, emptying the copy) or back (on the new table, emptying the old).
    QString truncateTrigger(const QString& dir, const QString& on, const QString& empties) const
    {
        return QStringLiteral("CREATE TRIGGER %1 AFTER TRUNCATE ON %2 FOR EACH STATEMENT EXECUTE FUNCTION %3(%4)")
            .arg(trigger(dir + QStringLiteral("_truncate")), on, object(QStringLiteral("truncate")), htap::pg::quoteLiteral(empties));
    }
    QString columnList() const
    {
        QStringList l;
        for (const QString& c : columns)
            l << quoteIdentifier(c);
        return l.join(QStringLiteral(", "));
    }
};


} // namespace htap::advise
