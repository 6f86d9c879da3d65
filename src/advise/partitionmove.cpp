#include "partitionmove_p.h"

#include <core/format.h>
#include <mv/mvservice.h>
#include <pg/connection.h>

#include <QDate>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>
#include <QThread>

namespace htap::advise {

using namespace Qt::StringLiterals;
using namespace htap::core;
using htap::pg::quoteLiteral;

using namespace partition_detail;

QJsonObject PartitionMoveOutcome::toJson() const
{
    return {{u"ok"_s, ok}, {u"message"_s, message}, {u"move_id"_s, moveId}, {u"phase"_s, phase}, {u"method"_s, method},
        {u"rows_copied"_s, rowsCopied}, {u"batches"_s, batches}, {u"replayed"_s, replayed},
        {u"swap_lock_wait_ms"_s, swapLockWaitMs}, {u"swap_held_ms"_s, swapHeldMs}, {u"swap_pause_ms"_s, swapPauseMs()},
        {u"notes"_s, QJsonArray::fromStringList(notes)}, {u"sent"_s, QJsonArray::fromStringList(sent)}};
}

PartitionMove::PartitionMove(htap::pg::Connection& conn)
    : m_conn(conn)
{
}

void PartitionMove::progress(const QString& line)
{
    if (m_progress)
        m_progress(line);
}

bool PartitionMove::exec(const QString& sql, QString* error, PartitionMoveOutcome* out)
{
    const auto r = m_conn.exec(sql);
    if (!r.ok()) {
        *error = u"%1 failed: %2"_s.arg(sql.left(300), r.error().oneLine());
        return false;
    }
    if (out)
        out->sent << sql;
    return true;
}

QString PartitionMove::partmanVersion(htap::pg::Connection& conn, QString* schema)
{
    const auto r = conn.exec(u"SELECT extversion, extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_partman'"_s);
    if (!r.ok() || r.rowCount() == 0)
        return {};
    if (schema)
        *schema = r.text(0, 1);
    return r.text(0, 0);
}

PartitionMoveState PartitionMove::byId(htap::pg::Connection& conn, qint64 id, QString* error)
{
    PartitionMoveState s;
    if (!conn.exec(u"SELECT to_regclass('htap.partition_moves') IS NOT NULL"_s).toBool(0, 0))
        return s;
    const auto r = conn.exec(sqlOf(u"load"_s), {id});
    if (!r.ok()) {
        *error = r.error().oneLine();
        return s;
    }
    if (r.rowCount() == 0)
        return s;
    s.id = r.toInt64(0, 0);
    s.schema = r.text(0, 1);
    s.table = r.text(0, 2);
    s.column = r.text(0, 3);
    s.tempName = r.text(0, 6);
    s.oldName = r.text(0, 7);
    s.method = r.text(0, 8);
    s.phase = r.text(0, 9);
    s.rowsCopied = r.toInt64(0, 12);
    s.swapPauseMs = r.toDouble(0, 14);
    return s;
}

PartitionMoveState PartitionMove::current(htap::pg::Connection& conn, const QString& schema, const QString& table, QString* error)
{
    if (!conn.exec(u"SELECT to_regclass('htap.partition_moves') IS NOT NULL"_s).toBool(0, 0))
        return {};
    const auto r = conn.exec(sqlOf(u"move_of"_s), {schema, table});
    if (!r.ok()) {
        *error = r.error().oneLine();
        return {};
    }
    return r.rowCount() ? byId(conn, r.toInt64(0, 0), error) : PartitionMoveState {};
}

bool PartitionMove::load(qint64 id, Move* m, QString* error)
{
    const auto r = m_conn.exec(sqlOf(u"load"_s), {id});
    if (!r.ok() || r.rowCount() == 0) {
        *error = r.ok() ? u"no partition move #%1 on this server"_s.arg(id) : r.error().oneLine();
        return false;
    }
    m->id = id;
    m->schema = r.text(0, 1);
    m->table = r.text(0, 2);
    m->column = r.text(0, 3);
    m->keyColumn = r.text(0, 4);
    m->keyType = r.text(0, 5);
    m->tempName = r.text(0, 6);
    m->oldName = r.text(0, 7);
    m->method = r.text(0, 8);
    m->phase = r.text(0, 9);
    m->copiedUpTo = r.isNull(0, 10) ? QString() : r.text(0, 10);
    m->copyUpper = r.isNull(0, 11) ? QString() : r.text(0, 11);
    m->rowsCopied = r.toInt64(0, 12);
    m->saved = QJsonDocument::fromJson(r.text(0, 13).toUtf8()).object();
    // The columns a copy writes (the same in both tables).
    const auto c = m_conn.exec(sqlOf(u"columns"_s), {m->qTable()});
    for (int i = 0; c.ok() && i < c.rowCount(); ++i)
        m->columns << c.text(i, 0);
    return true;
}

bool PartitionMove::prepare(const QString& schema, const QString& table, const QString& column, Move* m, PartitionMoveOutcome* out)
{
    QString error;
    m->schema = schema;
    m->table = table;
    m->column = column;
    const QString t = m->qTable();
    const auto kind = m_conn.exec(u"SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)"_s, {t});
    if (!kind.ok() || kind.rowCount() == 0 || kind.text(0, 0) != u"r"_s) {
        out->message = kind.rowCount() ? u"%1 is not a plain table (it is partitioned already, or a view)"_s.arg(t)
                                       : u"%1 does not exist"_s.arg(t);
        return false;
    }
    const auto key = m_conn.exec(sqlOf(u"key_column"_s), {t});
    if (!key.ok() || key.rowCount() == 0 || key.toInt64(0, 2) != 1) {
        out->message = u"%1 has no one-column primary key: the online copy follows changed rows by it"_s.arg(t);
        return false;
    }
    m->keyColumn = key.text(0, 0);
    m->keyType = key.text(0, 1);
    if (const QString why = notCarried(m_conn, t); !why.isEmpty()) {
        out->message = why;
        return false;
    }
    const auto cols = m_conn.exec(sqlOf(u"columns"_s), {t});
    for (int i = 0; cols.ok() && i < cols.rowCount(); ++i)
        m->columns << cols.text(i, 0);
    QString partmanSchema;
    const QString partman = m_options.declarativeOnly ? QString() : partmanVersion(m_conn, &partmanSchema);
    m->method = partman.isEmpty() ? u"declarative"_s : u"pg_partman"_s;
    out->method = partman.isEmpty() ? u"declarative"_s : u"pg_partman "_s + partman;
    m->tempName = shortName(table, u"_p"_s);
    m->oldName = shortName(table, u"_old"_s);
    for (const QString& n : {m->tempName, m->oldName})
        if (m_conn.exec(u"SELECT to_regclass($1) IS NOT NULL"_s, {m->q(n)}).toBool(0, 0)) {
            out->message = u"%1 exists already: the move needs the name (rename or drop it)"_s.arg(m->q(n));
            return false;
        }
    // Indexes: each is made again on the partitioned table; unique ones must hold the partition key.
    const auto idx = m_conn.exec(sqlOf(u"indexes"_s), {t, column});
    QStringList indexSql;
    QList<QPair<QString, QString>> newIndexes, oldIndexes;
    const QString prefixOf = u"CREATE %1INDEX %2 ON %3 USING "_s;
    const auto serverPrefix = [&](int i) {
        // pg_get_indexdef quotes as quote_ident does; ask the server to spell the prefix.
        return m_conn.exec(u"SELECT 'CREATE ' || CASE WHEN $1 THEN 'UNIQUE ' ELSE '' END || 'INDEX ' || quote_ident($2) || ' ON ' "
                           "|| quote_ident($3) || '.' || quote_ident($4) || ' USING '"_s,
                             {idx.toBool(i, 3), idx.text(i, 0), schema, table})
            .text(0, 0);
    };
    m_conn.exec(u"SET search_path = pg_catalog, pg_temp"_s);
    const auto idxDefs = m_conn.exec(sqlOf(u"indexes"_s), {t, column});
    m_conn.exec(u"RESET search_path"_s);
    for (int i = 0; idx.ok() && i < idx.rowCount(); ++i) {
        const QString name = idx.text(i, 0), def = idxDefs.text(i, 1), cons = idx.text(i, u"constraint_name"_s);
        const bool primary = idx.toBool(i, 2), unique = idx.toBool(i, 3), hasColumn = idx.toBool(i, 4);
        const QString temp = shortName(name, u"_p"_s);
        newIndexes << qMakePair(temp, name);
        oldIndexes << qMakePair(name, shortName(name, u"_old"_s));
        if (primary) {
            indexSql << u"ALTER TABLE %1 ADD CONSTRAINT %2 PRIMARY KEY (%3%4)"_s.arg(m->qTemp(), quoteIdentifier(temp), idx.text(i, 5),
                hasColumn ? QString() : u", "_s + quoteIdentifier(column));
            continue;
        }
        if (unique && !hasColumn) {
            out->message = u"the unique index %1 does not hold %2: a partitioned table can only enforce uniqueness with the "
                           "partition key (add %2 to it, or drop it, then advise again)"_s.arg(name, column);
            return false;
        }
        if (!cons.isEmpty()) {
            indexSql << u"ALTER TABLE %1 ADD CONSTRAINT %2 UNIQUE (%3)"_s.arg(m->qTemp(), quoteIdentifier(temp), idx.text(i, 5));
            continue;
        }
        const QString prefix = serverPrefix(i);
        if (!def.startsWith(prefix)) {
            out->message = u"cannot read the definition of index %1 (%2)"_s.arg(name, def);
            return false;
        }
        indexSql << prefixOf.arg(unique ? u"UNIQUE "_s : QString(), quoteIdentifier(temp), m->qTemp()) + def.mid(prefix.size());
    }
    const auto range = m_conn.exec(QString(sqlOf(u"range"_s))
                                       .replace(u"%COL%"_s, quoteIdentifier(column))
                                       .replace(u"%KEY%"_s, quoteIdentifier(m->keyColumn))
                                       .replace(u"%TABLE%"_s, t));
    if (!range.ok()) {
        out->message = range.error().oneLine();
        return false;
    }
    const QDate today = QDate::currentDate();
    QDate first = range.isNull(0, 0) ? QDate(today.year(), today.month(), 1) : QDate::fromString(range.text(0, 0), Qt::ISODate);
    QDate last = range.isNull(0, 1) ? first : QDate::fromString(range.text(0, 1), Qt::ISODate);
    last = std::max(last, QDate(today.year(), today.month(), 1)).addMonths(3);

    QStringList ddl;
    ddl << u"CREATE SCHEMA IF NOT EXISTS htap"_s << sqlOf(u"state_table"_s) << sqlOf(u"state_index"_s);
    if (!exec(u"BEGIN"_s, &error) || !exec(u"SET LOCAL lock_timeout = '%1ms'"_s.arg(m_options.lockTimeoutMs), &error)) {
        out->message = error;
        return false;
    }
    auto fail = [&](const QString& why) {
        m_conn.exec(u"ROLLBACK"_s);
        out->message = why + u" Nothing was changed."_s;
        out->sent.clear();
        return false;
    };
    for (const QString& s : ddl)
        if (!exec(s, &error))
            return fail(error);
    const auto ins = m_conn.exec(u"INSERT INTO htap.partition_moves (source_schema, source_name, column_name, key_column, key_type, "
                                 "temp_name, old_name, method, phase) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'copying') RETURNING id"_s,
        {schema, table, column, m->keyColumn, m->keyType, m->tempName, m->oldName, m->method});
    if (!ins.ok())
        return fail(ins.error().sqlstate == u"23505"_s ? u"another move of %1 is under way"_s.arg(t) : ins.error().oneLine());
    m->id = ins.toInt64(0, 0);
    m->phase = u"copying"_s;
    ddl.clear();
    ddl << u"CREATE TABLE %1 (LIKE %2 INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING IDENTITY "
           "INCLUDING STORAGE INCLUDING COMMENTS INCLUDING STATISTICS INCLUDING COMPRESSION) PARTITION BY RANGE (%3)"_s.arg(
               m->qTemp(), t, quoteIdentifier(column));
    ddl << indexSql;
    // Its owner and grants (LIKE copies neither): the writers' role must keep writing after the swap.
    const auto grants = m_conn.exec(sqlOf(u"grants"_s), {t, m->qTemp()});
    if (grants.ok() && grants.rowCount()) {
        ddl << u"ALTER TABLE %1 OWNER TO %2"_s.arg(m->qTemp(), quoteIdentifier(grants.text(0, 0)));
        ddl << grants.text(0, 1).split(u';', Qt::SkipEmptyParts);
    }
    const auto fks = m_conn.exec(sqlOf(u"constraints_out"_s), {t});
    for (int i = 0; fks.ok() && i < fks.rowCount(); ++i)
        ddl << u"ALTER TABLE %1 ADD CONSTRAINT %2 %3"_s.arg(m->qTemp(), quoteIdentifier(fks.text(i, 0)), fks.text(i, 1));
    if (m->method == u"pg_partman"_s) {
        // pg_partman names the parent schema.name unquoted; it creates the months from the
        // first one to premake months past today, and a DEFAULT partition.
        const int premake = std::max(4, int((QDate(today.year(), today.month(), 1).daysTo(last)) / 28));
        ddl << u"SELECT %1.create_parent(p_parent_table := %2, p_control := %3, p_type := 'native', p_interval := 'monthly', "
               "p_premake := %4, p_start_partition := %5)"_s.arg(quoteIdentifier(partmanSchema), quoteLiteral(schema + u'.' + m->tempName),
                   quoteLiteral(column), QString::number(premake), quoteLiteral(first.toString(Qt::ISODate)));
    } else {
        for (QDate d = first; d <= last; d = d.addMonths(1))
            ddl << u"CREATE TABLE %1 PARTITION OF %2 FOR VALUES FROM (%3) TO (%4)"_s.arg(m->q(shortName(m->tempName, d.toString(u"_pyyyy_MM"_s))),
                m->qTemp(), quoteLiteral(d.toString(Qt::ISODate)), quoteLiteral(d.addMonths(1).toString(Qt::ISODate)));
        ddl << u"CREATE TABLE %1 PARTITION OF %2 DEFAULT"_s.arg(m->q(shortName(m->tempName, u"_default"_s)), m->qTemp());
    }
    // The capture: every key written to the old table (forward, until the swap) or to the new one
    // (back, after it: what an undo copies back) goes to a log that the copy replays.
    for (const QString& dir : {u"log"_s, u"back"_s}) {
        ddl << u"CREATE TABLE %1 (id bigserial PRIMARY KEY, k %2)"_s.arg(m->object(dir), m->keyType);
        const QString k = quoteIdentifier(m->keyColumn);
        ddl << u"CREATE FUNCTION %1() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$\n"
               "BEGIN\n"
               "    IF TG_OP <> 'INSERT' THEN INSERT INTO %2 (k) VALUES (OLD.%3); END IF;\n"
               "    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.%3 IS DISTINCT FROM OLD.%3) THEN INSERT INTO %2 (k) VALUES (NEW.%3); END IF;\n"
               "    RETURN NULL;\n"
               "END $f$"_s.arg(m->object(dir + u"_capture"_s), m->object(dir), k);
    }
    m->saved.insert(u"indexes"_s, pairs(newIndexes));
    m->saved.insert(u"old_indexes"_s, pairs(oldIndexes));
    ddl << u"UPDATE htap.partition_moves SET saved = %1::jsonb WHERE id = %2"_s.arg(
        quoteLiteral(QString::fromUtf8(QJsonDocument(m->saved).toJson(QJsonDocument::Compact))), QString::number(m->id));
    ddl << m->truncateFunction();
    // The functions act with the mover's rights: no one else may call them (a trigger on a
    // table of one's own that names another table would empty it).
    for (const QString& f : {u"log_capture"_s, u"back_capture"_s, u"truncate"_s})
        ddl << u"REVOKE ALL ON FUNCTION %1() FROM PUBLIC"_s.arg(m->object(f));
    for (const QString& s : ddl)
        if (!exec(s, &error, out))
            return fail(error);
    if (!carryStorageOptions(*m, t, m->method == u"pg_partman"_s ? partmanSchema : QString(), &error, out))
        return fail(error);
    // Last, so that the table's lock (SHARE ROW EXCLUSIVE: writers wait) is held for moments.
    for (const QString& s : {u"CREATE TRIGGER %1 AFTER INSERT OR UPDATE OR DELETE ON %2 FOR EACH ROW EXECUTE FUNCTION %3()"_s.arg(
                                 m->trigger(u"log"_s), t, m->object(u"log_capture"_s)),
             m->truncateTrigger(u"log"_s, t, m->qTemp())})
        if (!exec(s, &error, out))
            return fail(error);
    if (!exec(u"COMMIT"_s, &error))
        return fail(error);
    // Every writer from now on is captured; rows up to this key are copied, later ones replayed.
    const auto upper = m_conn.exec(u"SELECT max(%1)::text FROM %2"_s.arg(quoteIdentifier(m->keyColumn), t));
    m->copyUpper = upper.isNull(0, 0) ? QString() : upper.text(0, 0);
    m_conn.exec(u"UPDATE htap.partition_moves SET copy_upper = $1 WHERE id = $2"_s, {m->copyUpper.isEmpty() ? QVariant() : QVariant(m->copyUpper), m->id});
    progress(u"created %1 (%2), capturing writes to %3; copying up to key %4"_s.arg(m->qTemp(), out->method, t, m->copyUpper));
    return true;
}

bool PartitionMove::carryStorageOptions(const Move& m, const QString& table, const QString& partmanSchema, QString* error, PartitionMoveOutcome* out)
{
    const auto opts = m_conn.exec(sqlOf(u"storage_options"_s), {table});
    if (!opts.ok()) {
        *error = u"cannot read the storage parameters of %1: %2"_s.arg(table, opts.error().oneLine());
        return false;
    }
    if (opts.rowCount() == 0)
        return true;
    QStringList set, shown;
    for (int i = 0; i < opts.rowCount(); ++i) {
        const QString name = opts.text(i, 0), value = opts.text(i, 1);
        set << (name.startsWith(u"toast."_s) ? u"toast."_s + quoteIdentifier(name.mid(6)) : quoteIdentifier(name)) + u" = "_s + htap::pg::quoteLiteral(value);
        shown << name + u'=' + value;
    }
    QStringList targets;
    const auto ch = m_conn.exec(sqlOf(u"children"_s), {m.qTemp()});
    for (int i = 0; ch.ok() && i < ch.rowCount(); ++i)
        targets << m.q(ch.text(i, 0));
    const QString template_ = partmanSchema.isEmpty() ? QString() : partmanTemplate(m_conn, partmanSchema, m.schema + u'.' + m.tempName);
    if (!template_.isEmpty())
        targets << template_;
    for (const QString& target : std::as_const(targets))
        if (!exec(u"ALTER TABLE %1 SET (%2)"_s.arg(target, set.join(u", "_s)), error, out))
            return false;
    out->notes << u"storage parameters %1 set on the %2 partitions%3 (a partitioned table takes none)"_s.arg(shown.join(u", "_s))
                      .arg(targets.size() - (template_.isEmpty() ? 0 : 1))
                      .arg(template_.isEmpty() ? u"; partitions made later need them too"_s
                                               : u" and on pg_partman's template %1, which the partitions it makes later take them from "
                                                 "(not the TOAST ones: set those on later partitions by hand)"_s.arg(template_));
    return true;
}

bool PartitionMove::copy(Move& m, PartitionMoveOutcome* out)
{
    const QString k = quoteIdentifier(m.keyColumn);
    // The CTEs' names mark the statement in pg_stat_statements (whatever its comment says: the
    // first caller's text is kept), so that the advisor does not take it for the application's.
    const QString sql = u"WITH htap_move_batch AS (SELECT %1 FROM %2 WHERE ($1::text IS NULL OR %3 > $1::%4) AND %3 <= $2::%4 ORDER BY %3 LIMIT %5), "
                        "htap_move_copied AS (INSERT INTO %6 (%1) OVERRIDING SYSTEM VALUE SELECT %1 FROM htap_move_batch RETURNING %3) "
                        "SELECT max(%3)::text, count(*) FROM htap_move_copied"_s.arg(m.columnList(), m.qTable(), k, m.keyType)
                            .arg(m_options.batchRows)
                            .arg(m.qTemp());
    while (!m.copyUpper.isEmpty()) {
        if (m_interrupt && m_interrupt->load()) {
            out->message = u"stopped after %1 rows: the move is resumable (apply again) or can be undone"_s.arg(formatCount(m.rowsCopied));
            return false;
        }
        auto r = m_conn.exec(u"BEGIN"_s);
        if (r.ok())
            r = m_conn.exec(sql, {m.copiedUpTo.isEmpty() ? QVariant() : QVariant(m.copiedUpTo), m.copyUpper});
        const qint64 n = r.ok() ? r.toInt64(0, 1) : 0;
        if (r.ok() && n > 0)
            r = m_conn.exec(u"UPDATE htap.partition_moves SET copied_up_to = $1, rows_copied = rows_copied + $2 WHERE id = $3"_s,
                {r.text(0, 0), n, m.id});
        const QString last = n > 0 ? m_conn.exec(u"SELECT copied_up_to FROM htap.partition_moves WHERE id = $1"_s, {m.id}).text(0, 0) : QString();
        if (r.ok())
            r = m_conn.exec(u"COMMIT"_s);
        if (!r.ok()) {
            m_conn.exec(u"ROLLBACK"_s);
            out->message = u"copy batch after key %1 failed: %2; the move is resumable"_s.arg(m.copiedUpTo, r.error().oneLine());
            return false;
        }
        if (n == 0)
            break;
        m.copiedUpTo = last;
        m.rowsCopied += n;
        out->rowsCopied += n;
        ++out->batches;
        progress(u"copied %1 rows (up to key %2 of %3)"_s.arg(formatCount(m.rowsCopied), m.copiedUpTo, m.copyUpper));
        if (m_options.batchPauseMs > 0)
            QThread::msleep(m_options.batchPauseMs);
    }
    return true;
}

bool PartitionMove::replay(const Move& m, const QString& log, const QString& from, const QString& to, bool locked, qint64* rows, QString* error)
{
    const QString k = quoteIdentifier(m.keyColumn);
    for (;;) {
        // One snapshot for the log and the rows: a key whose change is not visible yet stays in
        // the log for the next round.
        if (!locked && !exec(u"BEGIN ISOLATION LEVEL REPEATABLE READ"_s, error))
            return false;
        // The table read first, as a TRUNCATE (its trigger empties the other one) and the copy
        // batches lock them: the DELETE below would otherwise lock `to` first, and deadlock.
        if (!locked && !exec(u"LOCK TABLE %1 IN ACCESS SHARE MODE"_s.arg(from), error)) {
            m_conn.exec(u"ROLLBACK"_s);
            return false;
        }
        auto r = m_conn.exec(u"SELECT coalesce(array_agg(id)::text, '{}'), coalesce(array_agg(DISTINCT k)::text, '{}'), count(*) "
                             "FROM (SELECT id, k FROM %1 ORDER BY id LIMIT %2) s"_s.arg(log).arg(m_options.batchRows));
        const qint64 n = r.ok() ? r.toInt64(0, 2) : 0;
        const QString ids = r.ok() ? r.text(0, 0) : QString(), keys = r.ok() ? r.text(0, 1) : QString();
        if (r.ok() && n > 0)
            r = m_conn.exec(u"DELETE FROM %1 WHERE %2 = ANY ($1::%3[])"_s.arg(to, k, m.keyType), {keys});
        if (r.ok() && n > 0)
            r = m_conn.exec(u"INSERT INTO %1 (%2) OVERRIDING SYSTEM VALUE SELECT %2 FROM %3 WHERE %4 = ANY ($1::%5[])"_s.arg(to,
                                m.columnList(), from, k, m.keyType),
                {keys});
        if (r.ok() && n > 0)
            r = m_conn.exec(u"DELETE FROM %1 WHERE id = ANY ($1::bigint[])"_s.arg(log), {ids});
        if (!r.ok()) {
            *error = u"replaying the writes captured in %1 failed: %2"_s.arg(log, r.error().oneLine());
            if (!locked)
                m_conn.exec(u"ROLLBACK"_s);
            return false;
        }
        if (!locked && !exec(u"COMMIT"_s, error))
            return false;
        *rows += n;
        if (n == 0 || (!locked && n < m_options.batchRows))
            return true;
    }
}

void PartitionMove::followViews(const Move& m, bool back, PartitionMoveOutcome* out)
{
    const QString nowTable = back ? u"the table again"_s : u"the partitioned table"_s;
    const QJsonArray ivm = m.saved.value(u"ivm_views"_s).toArray();
    QSet<QString> ivmNames;
    htap::mv::MvService mv(m_conn);
    for (const QJsonValue& v : ivm) {
        const QJsonArray a = v.toArray();
        const QString schema = a.at(0).toString(), name = a.at(1).toString(), def = a.at(2).toString();
        const QString label = quoteQualified(schema, name);
        ivmNames << schema + u'.' + name;
        // Its capture triggers and source views are on the old table: put the materialized view
        // back, make it read the table by name again, and let the engine capture the new one.
        QString why = mv.disableIncremental(label);
        if (why.isEmpty())
            why = repointMatview(schema, name, def);
        if (why.isEmpty())
            why = mv.enableIncremental(label);
        out->notes << (why.isEmpty() ? u"incremental view %1.%2 follows %3: maintenance disabled and enabled again, its state "
                                        "built from %3 and its capture on it"_s.arg(schema, name, nowTable)
                                     : u"incremental view %1.%2 could not follow the swap (%3): disable and enable it again "
                                        "(htapctl mv disable-incremental / enable-incremental)"_s.arg(schema, name, why));
    }
    for (const QJsonValue& v : m.saved.value(u"views"_s).toArray()) {
        const QJsonArray a = v.toArray();
        const QString schema = a.at(0).toString(), name = a.at(1).toString(), kind = a.at(2).toString(), def = a.at(3).toString();
        if (kind == u"v"_s) {
            out->notes << u"view %1.%2 reads %3 (redefined in the swap)"_s.arg(schema, name, nowTable);
            continue;
        }
        if (ivmNames.contains(schema + u'.' + name))
            continue;
        const QString why = repointMatview(schema, name, def);
        out->notes << (why.isEmpty() ? u"materialized view %1.%2 rebuilt over %3 (built beside it, then swapped in)"_s.arg(schema, name, nowTable)
                                     : u"materialized view %1.%2 still reads %3 (%4): recreate it by hand"_s.arg(schema, name,
                                           back ? m.tempName : m.oldName, why));
    }
}

QString PartitionMove::repointMatview(const QString& schema, const QString& name, const QString& definition)
{
    const QString target = quoteQualified(schema, name);
    const QString tmpName = shortName(name, u"_moved"_s);
    const QString tmp = quoteQualified(schema, tmpName);
    QString error;
    m_conn.exec(u"DROP MATERIALIZED VIEW IF EXISTS %1"_s.arg(tmp));
    // The definition names every table with its schema (read with search_path = pg_catalog).
    m_conn.exec(u"SET search_path = pg_catalog, pg_temp"_s);
    const auto idx = m_conn.exec(u"SELECT i.relname, x.indisunique, pg_get_indexdef(x.indexrelid), 'CREATE ' || CASE WHEN x.indisunique "
                                 "THEN 'UNIQUE ' ELSE '' END || 'INDEX ' || quote_ident(i.relname) || ' ON ' || quote_ident($2) || '.' "
                                 "|| quote_ident($3) || ' USING ' FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                                 "WHERE x.indrelid = to_regclass($1) ORDER BY 1"_s,
        {target, schema, name});
    const auto grants = m_conn.exec(sqlOf(u"grants"_s), {target, target});
    bool ok = exec(u"CREATE MATERIALIZED VIEW %1 AS %2 WITH DATA"_s.arg(tmp, definition), &error);
    QList<QPair<QString, QString>> renames;
    for (int i = 0; ok && idx.ok() && i < idx.rowCount(); ++i) {
        const QString def = idx.text(i, 2), prefix = idx.text(i, 3);
        if (!def.startsWith(prefix))
            continue;
        const QString t = shortName(idx.text(i, 0), u"_moved"_s);
        renames << qMakePair(t, idx.text(i, 0));
        ok = exec(u"CREATE %1INDEX %2 ON %3 USING "_s.arg(idx.toBool(i, 1) ? u"UNIQUE "_s : QString(), quoteIdentifier(t), tmp)
                + def.mid(prefix.size()), &error);
    }
    m_conn.exec(u"RESET search_path"_s);
    if (!ok) {
        m_conn.exec(u"DROP MATERIALIZED VIEW IF EXISTS %1"_s.arg(tmp));
        return error;
    }
    for (int attempt = 0; attempt < m_options.swapAttempts; ++attempt) {
        ok = exec(u"BEGIN"_s, &error) && exec(u"SET LOCAL lock_timeout = '%1ms'"_s.arg(m_options.lockTimeoutMs), &error)
            && exec(u"DROP MATERIALIZED VIEW %1"_s.arg(target), &error)
            && exec(u"ALTER MATERIALIZED VIEW %1 RENAME TO %2"_s.arg(tmp, quoteIdentifier(name)), &error);
        for (const auto& [from, to] : renames)
            ok = ok && exec(u"ALTER INDEX %1 RENAME TO %2"_s.arg(quoteQualified(schema, from), quoteIdentifier(to)), &error);
        if (ok && grants.ok() && grants.rowCount()) {
            ok = exec(u"ALTER MATERIALIZED VIEW %1 OWNER TO %2"_s.arg(target, quoteIdentifier(grants.text(0, 0))), &error);
            for (const QString& g : grants.text(0, 1).split(u';', Qt::SkipEmptyParts))
                ok = ok && exec(g, &error);
        }
        ok = ok && exec(u"COMMIT"_s, &error);
        if (ok)
            return {};
        m_conn.exec(u"ROLLBACK"_s);
        if (!error.contains(u"55P03"_s) && !error.contains(u"lock timeout"_s))
            break;
        QThread::msleep(500);
    }
    m_conn.exec(u"DROP MATERIALIZED VIEW IF EXISTS %1"_s.arg(tmp));
    return error;
}

} // namespace htap::advise
