// The partition finding's move as the DBA previews it (the statements, costs, method and what
// stands in the way), and the finding that finishes a move once the DBA is satisfied.
#include "advisor_p.h"
#include "partitionmove_p.h"

#include <core/format.h>

namespace htap::advise::detail {

using namespace Qt::StringLiterals;
using namespace htap::core;
using htap::advise::partition_detail::notCarried;
using htap::advise::partition_detail::sqlOf;
using htap::pg::quoteLiteral;

void describeMove(Context& c, const QString& schema, const QString& table, const QString& column, bool canChange, qint64 bytes,
    int months, Finding* f)
{
    const QString t = qualified(schema, table);
    f->moveSchema = schema;
    f->moveTable = table;
    f->moveColumn = column;
    const QString col = quoteIdentifier(column);
    const QString temp = qualified(schema, objectName(table, u"_p"_s));
    const QString old = qualified(schema, objectName(table, u"_old"_s));
    QString partmanSchema;
    const QString partman = PartitionMove::partmanVersion(c.conn, &partmanSchema);
    const bool partmanAvailable = c.conn.exec(u"SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_partman')"_s).toBool(0, 0);

    QStringList blockers;
    const auto key = c.conn.exec(sqlOf(u"key_column"_s), {t});
    QString keyColumn;
    if (!key.ok() || key.rowCount() == 0 || key.toInt64(0, 2) != 1)
        blockers << u"%1 has no one-column primary key (the copy follows changed rows by it)"_s.arg(label(schema, table));
    else
        keyColumn = key.text(0, 0);
    if (const QString why = notCarried(c.conn, t); !why.isEmpty())
        blockers << why;
    const auto idx = c.conn.exec(sqlOf(u"indexes"_s), {t, column});
    for (int i = 0; idx.ok() && i < idx.rowCount(); ++i)
        if (idx.toBool(i, 3) && !idx.toBool(i, 2) && !idx.toBool(i, 4))
            blockers << u"the unique index %1 does not hold %2 (a partitioned table enforces uniqueness only with the partition key)"_s.arg(
                idx.text(i, 0), column);
    const auto fks = c.conn.exec(sqlOf(u"constraints_in"_s), {t});
    QStringList fkNames;
    for (int i = 0; fks.ok() && i < fks.rowCount(); ++i)
        fkNames << u"%1 of %2"_s.arg(fks.text(i, 0), fks.text(i, 1));
    const auto views = c.conn.exec(sqlOf(u"dependent_views"_s), {t});
    QStringList viewNames;
    for (int i = 0; views.ok() && i < views.rowCount(); ++i)
        viewNames << u"%1.%2"_s.arg(views.text(i, 0), views.text(i, 1));
    QStringList ivmNames;
    if (c.conn.exec(u"SELECT to_regclass('htap.ivm_capture') IS NOT NULL"_s).toBool(0, 0)) {
        const auto iv = c.conn.exec(sqlOf(u"ivm_views"_s), {t});
        for (int i = 0; iv.ok() && i < iv.rowCount(); ++i)
            ivmNames << u"%1.%2"_s.arg(iv.text(i, 0), iv.text(i, 1));
    }
    QString error;
    const PartitionMoveState under = PartitionMove::current(c.conn, schema, table, &error);

    const QString k = quoteIdentifier(keyColumn.isEmpty() ? u"id"_s : keyColumn);
    QStringList& sql = f->sql;
    sql << u"CREATE TABLE %1 (LIKE %2 INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING IDENTITY INCLUDING STORAGE "
           "INCLUDING COMMENTS INCLUDING STATISTICS INCLUDING COMPRESSION) PARTITION BY RANGE (%3)"_s.arg(temp, t, col)
        << u"ALTER TABLE %1 ADD PRIMARY KEY (%2, %3)"_s.arg(temp, k, col)
        << u"-- each other index and outgoing foreign key of %1, made again on %2"_s.arg(t, temp);
    if (!partman.isEmpty())
        sql << u"SELECT %1.create_parent(%2, %3, 'native', 'monthly', p_premake := 4, p_start_partition := <the first month>)"_s.arg(
            quoteIdentifier(partmanSchema), quoteLiteral(schema + u'.' + objectName(table, u"_p"_s)), quoteLiteral(column));
    else
        sql << u"-- one partition a month (%1 of data, and 3 ahead): CREATE TABLE ..._pYYYY_MM PARTITION OF %2 FOR VALUES FROM "
               "('YYYY-MM-01') TO (next month); and a DEFAULT partition"_s.arg(QString::number(months), temp);
    sql << u"-- a capture trigger logs the key of every row written from now on:"_s
        << u"CREATE TRIGGER ... AFTER INSERT OR UPDATE OR DELETE ON %1 FOR EACH ROW EXECUTE FUNCTION htap.partition_move_N_log_capture()"_s.arg(t)
        << u"-- copy, one transaction a batch: INSERT INTO %1 SELECT * FROM %2 WHERE %3 > $last AND %3 <= $highest ORDER BY %3 LIMIT $batch"_s.arg(
               temp, t, k)
        << u"-- replay: the logged keys deleted from %1 and copied again from %2, until few are left"_s.arg(temp, t)
        << u"BEGIN; SET LOCAL lock_timeout = '2s'; LOCK TABLE %1, %2 IN ACCESS EXCLUSIVE MODE"_s.arg(t, temp)
        << u"-- replay the last keys; DROP TRIGGER ... ON %1%2"_s.arg(t, fkNames.isEmpty() ? QString() : u"; drop the foreign key(s) "_s + fkNames.join(u", "_s))
        << u"ALTER TABLE %1 RENAME TO %2"_s.arg(t, quoteIdentifier(objectName(table, u"_old"_s)))
        << u"ALTER TABLE %1 RENAME TO %2"_s.arg(temp, quoteIdentifier(table))
        << u"-- and their indexes and partitions likewise"_s
        << u"-- the sequences owned by %1 handed to the new table; a trigger logs its writes for an undo; COMMIT"_s.arg(label(schema, table));
    if (!ivmNames.isEmpty() || !viewNames.isEmpty())
        sql << u"-- views over it follow: %1"_s.arg((ivmNames + viewNames).join(u", "_s));
    f->undo << u"-- before the swap: DROP TRIGGER ... ON %1; DROP TABLE %2 (the table was never changed)"_s.arg(t, temp)
            << u"-- after it: the writes since copied back to %1, then in one transaction the names swapped back%2; DROP TABLE %3"_s.arg(old,
                   fkNames.isEmpty() ? QString() : u", the foreign key(s) added again (NOT VALID, then VALIDATE)"_s, temp);
    f->inTransaction = false;

    QStringList notes;
    notes << (partman.isEmpty()
            ? u"Method: plain declarative partitions (pg_partman is not installed%1): months after the premade ones land in the DEFAULT "
              "partition until you create them. pg_partman would create them ahead: install it (Debian postgresql-15-partman, "
              "then CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman) and advise again."_s.arg(
                  partmanAvailable ? u" in this database, though the server has it"_s : QString())
            : u"Method: pg_partman %1 (create_parent, then its run_maintenance creates the months ahead: schedule it). Plain "
              "declarative partitions need nothing installed."_s.arg(partman));
    notes << u"The primary key becomes (%1, %2): %1 stays unique per partition only, and a foreign key can no longer point to %1 alone%3."_s.arg(
        keyColumn.isEmpty() ? u"key"_s : keyColumn, column,
        fkNames.isEmpty() ? QString() : u"; so the foreign key(s) %1 are dropped in the swap (the check is gone; undo puts them back)"_s.arg(fkNames.join(u", "_s)));
    notes << u"Writers go on during the copy; a kill leaves the table serving them: apply again resumes from the last batch, undo drops the copy."_s;
    if (!ivmNames.isEmpty())
        notes << u"Incremental views %1: disabled and enabled again right after the swap (their capture moves to the new table; "
                 "until then they serve the state of the swap)."_s.arg(ivmNames.join(u", "_s));
    if (under.id)
        notes << u"A move of this table is under way (#%1, %2 rows copied): apply resumes it, undo of its audit entry drops it."_s.arg(under.id).arg(
            formatCount(under.rowsCopied));
    f->note = notes.join(u' ');
    f->canApply = canChange && blockers.isEmpty();
    if (!canChange)
        f->whyNotApply = u"%1 does not own %2"_s.arg(c.user, label(schema, table));
    else if (!blockers.isEmpty())
        f->whyNotApply = blockers.join(u"; "_s);
    f->locks = u"SHARE ROW EXCLUSIVE on %1 for moments (the capture trigger; writers wait); the swap: ACCESS EXCLUSIVE on both tables%2 "
               "for the last replay and the renames (milliseconds once granted, at most 2 s waited, 3 tries)"_s.arg(label(schema, table),
                   fkNames.isEmpty() ? QString() : u" and the referencing tables"_s);
    f->time = u"the copy reads and writes the whole table (%1) in batches while writers go on; each write meanwhile costs a trigger call"_s.arg(formatBytes(bytes));
    f->disk = u"a second copy of the table and its indexes (%1 and more) until the move is finished and %2 dropped"_s.arg(formatBytes(bytes), old);
}

void checkUnfinishedMoves(Context& c)
{
    if (!c.conn.exec(u"SELECT to_regclass('htap.partition_moves') IS NOT NULL"_s).toBool(0, 0))
        return;
    const auto r = c.conn.exec(u"SELECT m.id, m.source_schema, m.source_name, m.old_name, m.column_name, m.method, m.rows_copied, "
                               "coalesce(m.swap_pause_ms, 0), to_char(m.swapped_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"'), "
                               "coalesce(pg_total_relation_size(to_regclass(quote_ident(m.source_schema) || '.' || quote_ident(m.old_name))), 0) "
                               "FROM htap.partition_moves m WHERE m.phase = 'swapped' ORDER BY m.id"_s);
    for (int i = 0; r.ok() && i < r.rowCount(); ++i) {
        const QString schema = r.text(i, 1), table = r.text(i, 2), old = r.text(i, 3);
        Finding f;
        f.check = u"partition-finish"_s;
        f.object = label(schema, table);
        f.id = u"partition-finish:"_s + f.object;
        f.moveSchema = schema;
        f.moveTable = table;
        f.moveColumn = r.text(i, 4);
        f.title = u"%1 was moved to monthly partitions at %2; the old table %3 is kept until you finish the move"_s.arg(f.object, r.text(i, 8),
            label(schema, old));
        f.evidence << ev(u"old_bytes"_s, r.toDouble(i, 9), u"%1 holds %2 with its indexes"_s.arg(label(schema, old), formatBytes(r.toInt64(i, 9))))
                   << ev(u"rows_copied"_s, r.toDouble(i, 6), u"%1 rows copied (%2)"_s.arg(formatCount(r.toInt64(i, 6)), r.text(i, 5)))
                   << ev(u"swap_pause_ms"_s, r.toDouble(i, 7), u"the swap held writers for at most %1 ms"_s.arg(formatNumber(r.toDouble(i, 7))));
        f.gain = u"%1 of disk back, and writes to %2 no longer logged for an undo"_s.arg(formatBytes(r.toInt64(i, 9)), f.object);
        f.sql << u"DROP TRIGGER htap_partition_move_%1_back ON %2"_s.arg(r.text(i, 0), qualified(schema, table))
              << u"DROP TABLE %1"_s.arg(qualified(schema, old))
              << u"DROP TABLE htap.partition_move_%1_log, htap.partition_move_%1_back -- and their capture functions"_s.arg(r.text(i, 0));
        f.inTransaction = false;
        f.note = u"Finishing cannot be undone. To go back to the plain table instead, undo the move's own audit entry (htapctl advise log)."_s;
        f.locks = u"ACCESS EXCLUSIVE on %1 (dropping the trigger) and on %2, for moments"_s.arg(f.object, label(schema, old));
        f.time = u"moments"_s;
        f.disk = u"frees %1"_s.arg(formatBytes(r.toInt64(i, 9)));
        c.report->findings << f;
    }
}

} // namespace htap::advise::detail
