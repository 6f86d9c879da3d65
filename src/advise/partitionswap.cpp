// The partition move's swap (and swap back), and the steps that drive it: run, undo, finish.
#include "partitionmove_p.h"

#include <core/format.h>
#include <pg/connection.h>

#include <QElapsedTimer>
#include <QJsonDocument>
#include <QThread>

namespace htap::advise {

using namespace Qt::StringLiterals;
using namespace partition_detail;
using htap::core::formatCount;
using htap::core::formatDuration;
using htap::core::formatNumber;
using htap::pg::quoteLiteral;

namespace {

/// Who holds a lock on any of the tables: the first three, as a person reads them.
QString lockHolders(htap::pg::Connection& conn, const QStringList& tables)
{
    QStringList quoted;
    for (QString t : tables)
        quoted << u'"' + t.replace(u'\\', u"\\\\"_s).replace(u'"', u"\\\""_s) + u'"';
    const auto r = conn.exec(sqlOf(u"lock_holders"_s), {QVariant(u'{' + quoted.join(u',') + u'}')});
    QStringList who;
    for (int i = 0; r.ok() && i < r.rowCount(); ++i)
        who << u"pid %1 (%2 on %3, user %4, application %5, %6, transaction open %7): %8"_s.arg(r.text(i, 0), r.text(i, 1), r.text(i, 8),
            r.text(i, 3), r.text(i, 4), r.text(i, 5), formatDuration(r.toDouble(i, 6)), r.text(i, 7).simplified());
    return who.isEmpty() ? u"nobody holds it now (the holder finished meanwhile)"_s : u"held by "_s + who.join(u"; "_s);
}

/// Tags the move's statements (and the view engine's it calls) so that pg_stat_statements readers,
/// the advisor's own checks among them, can tell them from the application's.
struct MoveTag {
    explicit MoveTag(htap::pg::Connection& c)
        : conn(c)
    {
        conn.setStatementTag(u"/* htap-studio partition move */\n"_s);
    }
    ~MoveTag() { conn.setStatementTag({}); }
    htap::pg::Connection& conn;
};

/// One run at a time per table: run, undo and finish hold a session advisory lock on the
/// table's name while they work (released when they return, or when a killed program's
/// connection closes), so that two programs (the app and htapctl, two DBAs) never copy, swap or
/// drop the same move at once.
struct MoveClaim {
    MoveClaim(htap::pg::Connection& c, const QString& schema, const QString& table)
        : conn(c)
        , name(quoteIdentifier(schema) + u'.' + quoteIdentifier(table))
    {
        const auto r = conn.exec(u"SELECT pg_try_advisory_lock(hashtext('htap partition move'), hashtext($1))"_s, {name});
        held = r.ok() && r.toBool(0, 0);
        if (held)
            return;
        if (!r.ok()) {
            refusal = r.error().oneLine();
            return;
        }
        const auto w = conn.exec(u"SELECT l.pid, a.application_name, a.usename, now() - a.backend_start FROM pg_locks l "
                                 "LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                                 "AND l.classid = hashtext('htap partition move')::oid AND l.objid = hashtext($1)::oid AND l.objsubid = 2"_s,
            {name});
        const QString who = w.ok() && w.rowCount() > 0
            ? u"pid %1, application %2, user %3, connected %4 ago"_s.arg(w.text(0, 0), w.text(0, 1), w.text(0, 2), formatDuration(w.toDouble(0, 3)))
            : u"its holder finished meanwhile: try again"_s;
        refusal = u"another program is working on the move of %1 now (%2): wait for it to finish, or stop it"_s.arg(name, who);
    }
    ~MoveClaim()
    {
        if (held)
            conn.exec(u"SELECT pg_advisory_unlock(hashtext('htap partition move'), hashtext($1))"_s, {name});
    }
    htap::pg::Connection& conn;
    QString name;
    bool held = false;
    QString refusal;
};

QString savedJson(const QJsonObject& o)
{
    return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact));
}

} // namespace

bool PartitionMove::swap(Move& m, bool back, PartitionMoveOutcome* out)
{
    QString error;
    const QString live = m.qTable();                     // the name the writers use
    const QString other = back ? m.qOld() : m.qTemp();   // the table that takes it
    if (!back) {
        // What follows the table by name: read before the lock, with every name schema-qualified.
        m_conn.exec(u"SET search_path = pg_catalog, pg_temp"_s);
        QJsonArray views, ivm, fks, seqs;
        const auto v = m_conn.exec(sqlOf(u"dependent_views"_s), {live});
        for (int i = 0; v.ok() && i < v.rowCount(); ++i)
            views << QJsonArray {v.text(i, 0), v.text(i, 1), v.text(i, 2), v.text(i, 3)};
        if (m_conn.exec(u"SELECT to_regclass('htap.ivm_capture') IS NOT NULL"_s).toBool(0, 0)) {
            const auto iv = m_conn.exec(u"SELECT v.view_schema, v.view_name, rtrim(btrim(pg_get_viewdef(to_regclass('htap_ivm.v' || v.view_id "
                                        "|| '_def'))), ';') FROM htap.ivm_views v WHERE v.state <> 'building' AND EXISTS (SELECT 1 FROM "
                                        "htap.ivm_capture k WHERE k.view_id = v.view_id AND k.root = to_regclass($1))"_s,
                {live});
            for (int i = 0; iv.ok() && i < iv.rowCount(); ++i)
                ivm << QJsonArray {iv.text(i, 0), iv.text(i, 1), iv.text(i, 2)};
        }
        const auto f = m_conn.exec(sqlOf(u"constraints_in"_s), {live});
        for (int i = 0; f.ok() && i < f.rowCount(); ++i)
            fks << QJsonArray {f.text(i, 0), f.text(i, 1), f.text(i, 2)};
        m_conn.exec(u"RESET search_path"_s);
        const auto s = m_conn.exec(sqlOf(u"sequences"_s), {live});
        for (int i = 0; s.ok() && i < s.rowCount(); ++i)
            seqs << QJsonArray {s.text(i, 0), s.text(i, 1), s.toBool(i, 2)};
        m.saved.insert(u"views"_s, views);
        m.saved.insert(u"ivm_views"_s, ivm);
        m.saved.insert(u"foreign_keys"_s, fks);
        m.saved.insert(u"sequences"_s, seqs);
    }
    // Catch up outside the lock, so that little is left to replay under it.
    const QString log = back ? m.object(u"back"_s) : m.object(u"log"_s);
    qint64 replayed = 0;
    progress(u"replaying the writes captured during the copy"_s);
    if (!replay(m, log, live, other, false, &replayed, &error)) {
        out->message = error;
        return false;
    }
    const QString partitioned = back ? live : other;
    QStringList children;
    const auto ch = m_conn.exec(sqlOf(u"children"_s), {partitioned});
    for (int i = 0; ch.ok() && i < ch.rowCount(); ++i)
        children << ch.text(i, 0);
    QString partmanSchema;
    if (m.method == u"pg_partman"_s)
        partmanVersion(m_conn, &partmanSchema);

    QStringList tables {live, other};
    for (const QJsonValue& f : m.saved.value(u"foreign_keys"_s).toArray())
        tables << f.toArray().at(1).toString();
    for (int attempt = 1; attempt <= m_options.swapAttempts; ++attempt) {
        QElapsedTimer clock;
        QStringList sent;
        auto run = [&](const QString& sql) {
            if (!exec(sql, &error))
                return false;
            sent << sql;
            return true;
        };
        bool ok = exec(u"BEGIN"_s, &error) && exec(u"SET LOCAL lock_timeout = '%1ms'"_s.arg(m_options.lockTimeoutMs), &error);
        clock.start();
        // The old table first: a writer holding it and waiting for order_items must not wait for us.
        ok = ok && run(u"LOCK TABLE %1, %2 IN ACCESS EXCLUSIVE MODE"_s.arg(live, other));
        const double lockWait = clock.nsecsElapsed() / 1e6;
        qint64 last = 0;
        if (ok && !replay(m, log, live, other, true, &last, &error))
            ok = false;
        ok = ok && run(u"DROP TRIGGER IF EXISTS %1 ON %2"_s.arg(m.trigger(back ? u"back"_s : u"log"_s), live));
        ok = ok && run(u"DROP TRIGGER IF EXISTS %1 ON %2"_s.arg(m.trigger(back ? u"back_truncate"_s : u"log_truncate"_s), live));
        const QJsonArray fks = m.saved.value(u"foreign_keys"_s).toArray();
        if (!back)
            for (const QJsonValue& f : fks)
                ok = ok && run(u"ALTER TABLE %1 DROP CONSTRAINT %2"_s.arg(f.toArray().at(1).toString(), quoteIdentifier(f.toArray().at(0).toString())));
        const QJsonArray newIdx = m.saved.value(u"indexes"_s).toArray(), oldIdx = m.saved.value(u"old_indexes"_s).toArray();
        auto renameIndexes = [&](const QJsonArray& l, bool forward) {
            for (const QJsonValue& p : l) {
                const QString from = p.toArray().at(forward ? 0 : 1).toString(), to = p.toArray().at(forward ? 1 : 0).toString();
                ok = ok && run(u"ALTER INDEX %1 RENAME TO %2"_s.arg(m.q(from), quoteIdentifier(to)));
            }
        };
        const QString fromPrefix = (back ? m.table : m.tempName) + u'_', toPrefix = (back ? m.tempName : m.table) + u'_';
        if (!back) {
            renameIndexes(oldIdx, true);
            ok = ok && run(u"ALTER TABLE %1 RENAME TO %2"_s.arg(live, quoteIdentifier(m.oldName)));
            ok = ok && run(u"ALTER TABLE %1 RENAME TO %2"_s.arg(other, quoteIdentifier(m.table)));
            renameIndexes(newIdx, true);
        } else {
            renameIndexes(newIdx, false);
            ok = ok && run(u"ALTER TABLE %1 RENAME TO %2"_s.arg(live, quoteIdentifier(m.tempName)));
            ok = ok && run(u"ALTER TABLE %1 RENAME TO %2"_s.arg(other, quoteIdentifier(m.table)));
            renameIndexes(oldIdx, false);
        }
        for (const QString& c : children)
            if (c.startsWith(fromPrefix))
                ok = ok && run(u"ALTER TABLE %1 RENAME TO %2"_s.arg(m.q(c), quoteIdentifier(shortName(toPrefix + c.mid(fromPrefix.size()), {}))));
        // Sequences go on where they were: a serial's is handed to the table that now has the
        // name; an identity's (each table has its own) is set to the last value given out.
        const QString previous = back ? m.qTemp() : m.qOld();
        for (const QJsonValue& s : m.saved.value(u"sequences"_s).toArray()) {
            const QJsonArray a = s.toArray();
            const QString col = a.at(0).toString();
            if (!a.at(2).toBool()) {
                ok = ok && run(u"ALTER SEQUENCE %1 OWNED BY %2.%3"_s.arg(a.at(1).toString(), live, quoteIdentifier(col)));
                continue;
            }
            ok = ok && run(u"SELECT setval(pg_get_serial_sequence(%1, %2)::regclass, coalesce(pg_sequence_last_value(pg_get_serial_sequence(%3, %2)::regclass), 1), "
                           "pg_sequence_last_value(pg_get_serial_sequence(%3, %2)::regclass) IS NOT NULL)"_s.arg(quoteLiteral(live), quoteLiteral(col),
                               quoteLiteral(previous)));
        }
        if (!partmanSchema.isEmpty())
            ok = ok && run(u"UPDATE %1.part_config SET parent_table = %2 WHERE parent_table = %3"_s.arg(quoteIdentifier(partmanSchema),
                           quoteLiteral(m.schema + u'.' + (back ? m.tempName : m.table)), quoteLiteral(m.schema + u'.' + (back ? m.table : m.tempName))));
        if (back)
            for (const QJsonValue& f : fks)
                ok = ok && run(u"ALTER TABLE %1 ADD CONSTRAINT %2 %3 NOT VALID"_s.arg(f.toArray().at(1).toString(),
                               quoteIdentifier(f.toArray().at(0).toString()), f.toArray().at(2).toString()));
        // Plain views are redefined in place (same columns): they read the table by its name again.
        if (ok)
            ok = exec(u"SET LOCAL search_path = pg_catalog, pg_temp"_s, &error);
        for (const QJsonValue& v : m.saved.value(u"views"_s).toArray())
            if (v.toArray().at(2).toString() == u"v"_s)
                ok = ok && run(u"CREATE OR REPLACE VIEW %1 AS %2"_s.arg(quoteQualified(v.toArray().at(0).toString(), v.toArray().at(1).toString()),
                               v.toArray().at(3).toString()));
        if (!back) {
            // From now on, what writers do to the new table is logged for an undo to copy back.
            ok = ok && run(u"CREATE TRIGGER %1 AFTER INSERT OR UPDATE OR DELETE ON %2 FOR EACH ROW EXECUTE FUNCTION %3()"_s.arg(
                           m.trigger(u"back"_s), live, m.object(u"back_capture"_s)));
            // A move prepared by a build before the function was made has none yet (made here,
            // not replaced: the program that swaps need not own what another one made).
            if (ok && m_conn.exec(u"SELECT to_regprocedure($1) IS NULL"_s, {QVariant(m.object(u"truncate"_s) + u"()"_s)}).toBool(0, 0))
                ok = run(m.truncateFunction()) && run(u"REVOKE ALL ON FUNCTION %1() FROM PUBLIC"_s.arg(m.object(u"truncate"_s)));
            ok = ok && run(m.truncateTrigger(u"back"_s, live, m.qOld()));
        }
        ok = ok && exec(u"UPDATE htap.partition_moves SET phase = %1, saved = %2::jsonb, swapped_at = now() WHERE id = %3"_s.arg(
                            quoteLiteral(back ? u"undone"_s : u"swapped"_s), quoteLiteral(savedJson(m.saved)), QString::number(m.id)),
                     &error);
        ok = ok && exec(u"COMMIT"_s, &error);
        const double held = clock.nsecsElapsed() / 1e6 - lockWait;
        if (ok) {
            out->swapLockWaitMs = lockWait;
            out->swapHeldMs = held;
            out->replayed += replayed + last;
            out->sent << sent;
            m.phase = back ? u"undone"_s : u"swapped"_s;
            m_conn.exec(u"UPDATE htap.partition_moves SET swap_pause_ms = $1 WHERE id = $2"_s, {lockWait + held, m.id});
            progress(u"swapped: writers waited at most %1 ms (%2 ms for the locks, %3 ms holding them; %4 keys replayed under the lock)"_s.arg(
                formatNumber(lockWait + held), formatNumber(lockWait), formatNumber(held), formatCount(last)));
            break;
        }
        m_conn.exec(u"ROLLBACK"_s);
        const bool lockTimeout = error.contains(u"55P03"_s) || error.contains(u"lock timeout"_s);
        if (!lockTimeout) {
            out->message = u"the swap failed, nothing of it was kept: %1"_s.arg(error);
            return false;
        }
        const QString who = lockHolders(m_conn, tables);
        progress(u"swap attempt %1: no lock within %2 ms, %3"_s.arg(attempt).arg(m_options.lockTimeoutMs).arg(who));
        if (attempt == m_options.swapAttempts) {
            out->message = u"the swap could not get its locks within %1 (%2 tries): %3. The table serves writers as before and the "
                           "move stays resumable: apply again, or undo it"_s.arg(htap::core::formatSeconds(m_options.lockTimeoutMs / 1000.0))
                               .arg(m_options.swapAttempts)
                               .arg(who);
            return false;
        }
        QThread::msleep(1000);
        replay(m, log, live, other, false, &replayed, &error);
    }
    if (back)
        for (const QJsonValue& f : m.saved.value(u"foreign_keys"_s).toArray()) {
            const auto r = m_conn.exec(u"ALTER TABLE %1 VALIDATE CONSTRAINT %2"_s.arg(f.toArray().at(1).toString(), quoteIdentifier(f.toArray().at(0).toString())));
            out->notes << (r.ok() ? u"foreign key %1 of %2 is back and valid"_s.arg(f.toArray().at(0).toString(), f.toArray().at(1).toString())
                                  : u"foreign key %1 of %2 is back but NOT VALID: %3"_s.arg(f.toArray().at(0).toString(), f.toArray().at(1).toString(), r.error().oneLine()));
        }
    else
        for (const QJsonValue& f : m.saved.value(u"foreign_keys"_s).toArray())
            out->notes << u"foreign key %1 of %2 (%3) dropped: a foreign key must point to a unique key, and the partitioned "
                          "table's is (%4, %5); undo puts it back"_s.arg(f.toArray().at(0).toString(), f.toArray().at(1).toString(),
                              f.toArray().at(2).toString(), m.keyColumn, m.column);
    return true;
}

PartitionMoveOutcome PartitionMove::run(const QString& schema, const QString& table, const QString& column)
{
    const MoveTag tag(m_conn);
    PartitionMoveOutcome out;
    const MoveClaim claim(m_conn, schema, table);
    if (!claim.held) {
        out.message = claim.refusal;
        return out;
    }
    Move m;
    QString error;
    const PartitionMoveState st = current(m_conn, schema, table, &error);
    if (!error.isEmpty()) {
        out.message = error;
        return out;
    }
    if (st.id && st.phase == u"swapped"_s) {
        out.message = u"%1.%2 was moved to partitions already (move #%3): undo or finish that move first"_s.arg(schema, table).arg(st.id);
        return out;
    }
    if (st.id) {
        if (!load(st.id, &m, &error)) {
            out.message = error;
            return out;
        }
        if (m.column != column) {
            out.message = u"a move of %1.%2 by %3 is under way (#%4): resume it by that column, or undo it"_s.arg(schema, table, m.column).arg(m.id);
            return out;
        }
        progress(u"resuming move #%1 after %2 rows"_s.arg(m.id).arg(formatCount(m.rowsCopied)));
        out.resumed = true;
        out.notes << u"resumed move #%1, %2 rows copied before"_s.arg(m.id).arg(formatCount(m.rowsCopied));
        const QString v = partmanVersion(m_conn);
        out.method = m.method == u"pg_partman"_s ? u"pg_partman "_s + v : m.method;
    } else if (!prepare(schema, table, column, &m, &out)) {
        return out;
    }
    out.moveId = m.id;
    out.phase = m.phase;
    if (!copy(m, &out) || !swap(m, false, &out))
        return out;
    out.phase = m.phase;
    followViews(m, false, &out);
    out.ok = true;
    out.message = u"Moved %1.%2 to monthly partitions by %3 (%4): %5 rows copied in %6 batch(es), %7 written meanwhile replayed; "
                  "the swap held writers for at most %8 ms (%9 ms waiting for the locks). The old table is kept as %1.%10 until you "
                  "finish the move (it drops it); writes to the new table are logged so that an undo loses nothing."_s.arg(schema, table, column,
                      out.method, formatCount(m.rowsCopied), QString::number(out.batches), formatCount(out.replayed),
                      formatNumber(out.swapPauseMs()), formatNumber(out.swapLockWaitMs))
                      .arg(m.oldName);
    return out;
}

bool PartitionMove::loadFor(qint64 moveId, const QStringList& phases, const QString& what, Move* m, PartitionMoveOutcome* out)
{
    out->moveId = moveId;
    QString error;
    if (!load(moveId, m, &error)) {
        out->message = error;
        return false;
    }
    out->method = m->method;
    if (!phases.contains(m->phase)) {
        out->message = u"move #%1 is %2: nothing to %3"_s.arg(moveId).arg(m->phase, what);
        return false;
    }
    return true;
}

std::shared_ptr<void> PartitionMove::loadClaimed(qint64 moveId, const QStringList& phases, const QString& what, Move* m,
    PartitionMoveOutcome* out)
{
    if (!loadFor(moveId, phases, what, m, out))
        return nullptr;
    auto claim = std::make_shared<MoveClaim>(m_conn, m->schema, m->table);
    if (!claim->held) {
        out->message = claim->refusal;
        return nullptr;
    }
    // Read again under the claim: another run may have moved it on before the claim was taken.
    *m = Move {};
    if (!loadFor(moveId, phases, what, m, out))
        return nullptr;
    return claim;
}

PartitionMoveOutcome PartitionMove::undo(qint64 moveId)
{
    const MoveTag tag(m_conn);
    PartitionMoveOutcome out;
    Move m;
    QString error;
    const std::shared_ptr<void> claim = loadClaimed(moveId, {u"copying"_s, u"swapped"_s}, u"undo"_s, &m, &out);
    if (!claim)
        return out;
    const bool swapped = m.phase == u"swapped"_s;
    if (swapped) {
        if (!swap(m, true, &out))
            return out;
        followViews(m, true, &out);
    }
    QString partmanSchema;
    if (m.method == u"pg_partman"_s)
        partmanVersion(m_conn, &partmanSchema);
    // What is left of the move: the partitioned table (a copy now), the capture, the logs.
    for (int attempt = 1; attempt <= m_options.swapAttempts; ++attempt) {
        bool ok = exec(u"BEGIN"_s, &error) && exec(u"SET LOCAL lock_timeout = '%1ms'"_s.arg(m_options.lockTimeoutMs), &error);
        if (!swapped)
            ok = ok && exec(u"DROP TRIGGER IF EXISTS %1 ON %2"_s.arg(m.trigger(u"log"_s), m.qTable()), &error, &out)
                && exec(u"DROP TRIGGER IF EXISTS %1 ON %2"_s.arg(m.trigger(u"log_truncate"_s), m.qTable()), &error, &out);
        ok = ok && exec(u"DROP TABLE IF EXISTS %1"_s.arg(m.qTemp()), &error, &out);
        if (!partmanSchema.isEmpty() && ok) {
            // pg_partman's template for the partitioned copy goes with it, unless another parent shares it.
            const QString tt = partmanTemplate(m_conn, partmanSchema, m.schema + u'.' + m.tempName, true);
            if (!tt.isEmpty())
                ok = exec(u"DROP TABLE IF EXISTS %1"_s.arg(tt), &error, &out);
        }
        if (!partmanSchema.isEmpty())
            ok = ok && exec(u"DELETE FROM %1.part_config WHERE parent_table = %2"_s.arg(quoteIdentifier(partmanSchema),
                                quoteLiteral(m.schema + u'.' + m.tempName)),
                     &error, &out);
        for (const QString& dir : {u"log"_s, u"back"_s})
            ok = ok && exec(u"DROP TABLE IF EXISTS %1"_s.arg(m.object(dir)), &error, &out)
                && exec(u"DROP FUNCTION IF EXISTS %1()"_s.arg(m.object(dir + u"_capture"_s)), &error, &out);
        ok = ok && exec(u"DROP FUNCTION IF EXISTS %1()"_s.arg(m.object(u"truncate"_s)), &error, &out);
        ok = ok && exec(u"UPDATE htap.partition_moves SET phase = 'undone', finished_at = now() WHERE id = %1"_s.arg(moveId), &error);
        ok = ok && exec(u"COMMIT"_s, &error);
        if (ok)
            break;
        m_conn.exec(u"ROLLBACK"_s);
        out.sent.clear();
        if (!(error.contains(u"55P03"_s) || error.contains(u"lock timeout"_s)) || attempt == m_options.swapAttempts) {
            out.message = (swapped ? u"swapped back, but the partitioned copy %1 could not be dropped: %2"_s
                                   : u"the move could not be undone: %2; the table serves writers as before (its capture trigger "
                                     "stays until the undo succeeds)"_s)
                              .arg(m.qTemp(), error + u" ("_s + lockHolders(m_conn, {m.qTable(), m.qTemp()}) + u')');
            return out;
        }
        QThread::msleep(1000);
    }
    out.ok = true;
    out.phase = u"undone"_s;
    out.message = swapped ? u"Swapped %1.%2 back to the plain table (writers waited at most %3 ms); the writes made to the partitioned "
                            "table since the move were copied back (%4 rows), so nothing is lost; the partitioned table was dropped."_s
                                .arg(m.schema, m.table, formatNumber(out.swapPauseMs()), formatCount(out.replayed))
                          : u"Undid the unfinished move of %1.%2 (%3 rows had been copied): the partitioned copy, the capture trigger "
                            "and its log are dropped; the table was never changed."_s.arg(m.schema, m.table, formatCount(m.rowsCopied));
    return out;
}

PartitionMoveOutcome PartitionMove::finish(qint64 moveId)
{
    PartitionMoveOutcome out;
    Move m;
    const std::shared_ptr<void> claim = loadClaimed(moveId, {u"swapped"_s}, u"finish"_s, &m, &out);
    if (!claim)
        return out;
    const MoveTag tag(m_conn);
    QString error;
    bool ok = exec(u"BEGIN"_s, &error) && exec(u"SET LOCAL lock_timeout = '%1ms'"_s.arg(m_options.lockTimeoutMs), &error)
        && exec(u"DROP TRIGGER IF EXISTS %1 ON %2"_s.arg(m.trigger(u"back"_s), m.qTable()), &error, &out)
        && exec(u"DROP TRIGGER IF EXISTS %1 ON %2"_s.arg(m.trigger(u"back_truncate"_s), m.qTable()), &error, &out)
        && exec(u"DROP TABLE %1"_s.arg(m.qOld()), &error, &out);
    for (const QString& dir : {u"log"_s, u"back"_s})
        ok = ok && exec(u"DROP TABLE IF EXISTS %1"_s.arg(m.object(dir)), &error, &out)
            && exec(u"DROP FUNCTION IF EXISTS %1()"_s.arg(m.object(dir + u"_capture"_s)), &error, &out);
    ok = ok && exec(u"DROP FUNCTION IF EXISTS %1()"_s.arg(m.object(u"truncate"_s)), &error, &out);
    ok = ok && exec(u"UPDATE htap.partition_moves SET phase = 'finished', finished_at = now() WHERE id = %1"_s.arg(moveId), &error)
        && exec(u"COMMIT"_s, &error);
    if (!ok) {
        m_conn.exec(u"ROLLBACK"_s);
        out.sent.clear();
        out.message = u"the move could not be finished: %1"_s.arg(error);
        return out;
    }
    out.ok = true;
    out.phase = u"finished"_s;
    out.message = u"Finished the move of %1.%2: %3 dropped with the undo log; the move can no longer be undone."_s.arg(m.schema, m.table, m.qOld());
    return out;
}

} // namespace htap::advise
