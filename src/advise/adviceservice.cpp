#include "adviceservice.h"
#include "advisor.h"

#include <core/format.h>
#include <pg/connection.h>
#include <pg/identifier.h>
#include <pg/sandbox.h>
#include <pg/sqlfile.h>
#include <roles/rolecatalog.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>

#include <algorithm>

namespace htap::advise {

using namespace Qt::StringLiterals;
using htap::core::formatCount;
using htap::core::formatNumber;

namespace {

QString sqlOf(const QString& name)
{
    return htap::pg::namedStatements(u"advise/checks.sql"_s).value(name);
}

/// The plan's nodes one a line: type, relation, index, workers, rows, lossy blocks.
void describe(const QJsonObject& node, int depth, QStringList* lines)
{
    QString line = QString(depth * 2, u' ') + (node.value(u"Parallel Aware"_s).toBool() ? u"Parallel "_s : QString())
        + node.value(u"Node Type"_s).toString();
    if (node.contains(u"Relation Name"_s))
        line += u" on "_s + node.value(u"Relation Name"_s).toString();
    if (node.contains(u"Index Name"_s))
        line += u" using "_s + node.value(u"Index Name"_s).toString();
    if (node.contains(u"Workers Launched"_s))
        line += u" (%1 of %2 workers)"_s.arg(node.value(u"Workers Launched"_s).toInt()).arg(node.value(u"Workers Planned"_s).toInt());
    if (node.contains(u"Actual Rows"_s))
        line += u" rows=%1"_s.arg(formatCount(qint64(node.value(u"Actual Rows"_s).toDouble())));
    if (node.value(u"Lossy Heap Blocks"_s).toDouble() > 0)
        line += u" lossy=%1"_s.arg(formatCount(qint64(node.value(u"Lossy Heap Blocks"_s).toDouble())));
    if (node.value(u"Rows Removed by Index Recheck"_s).toDouble() > 0)
        line += u" rechecked=%1"_s.arg(formatCount(qint64(node.value(u"Rows Removed by Index Recheck"_s).toDouble())));
    *lines << line;
    for (const QJsonValue& child : node.value(u"Plans"_s).toArray())
        describe(child.toObject(), depth + 1, lines);
}

QJsonArray indexesJson(const QList<IndexSize>& l)
{
    QJsonArray a;
    for (const IndexSize& i : l)
        a << QJsonObject {{u"name"_s, i.name}, {u"method"_s, i.method}, {u"bytes"_s, i.bytes}};
    return a;
}

} // namespace

QJsonObject ChangeOutcome::toJson() const
{
    return {{u"ok"_s, ok}, {u"message"_s, message}, {u"audit_id"_s, auditId}, {u"audit_warning"_s, auditWarning},
        {u"sent"_s, QJsonArray::fromStringList(sent)}, {u"move"_s, move}};
}

QJsonObject Proof::toJson() const
{
    return {{u"before"_s, before.toJson()}, {u"after"_s, after.toJson()}, {u"indexes_before"_s, indexesJson(indexesBefore)},
        {u"indexes_after"_s, indexesJson(indexesAfter)}, {u"change"_s, change.toJson()}};
}

AdviceService::AdviceService(htap::pg::Connection& conn, const htap::store::AuditLog& audit)
    : m_conn(conn)
    , m_audit(audit)
{
}

QString AdviceService::lockHolders(const Finding& f)
{
    QStringList who;
    if (f.guardKind == u"table"_s) {
        const auto r = m_conn.exec(sqlOf(u"lock_holders"_s), {f.guardObject});
        for (int i = 0; r.ok() && i < r.rowCount() && i < 3; ++i)
            who << u"pid %1 (%2, user %3, application %4, %5, transaction open %6): %7"_s.arg(r.text(i, 0), r.text(i, 1), r.text(i, 2),
                r.text(i, 3), r.text(i, 4), htap::core::formatDuration(r.toDouble(i, 5)), r.text(i, 6).simplified());
    }
    if (who.isEmpty() && !f.inTransaction) {
        // CONCURRENTLY waits for the transactions that were open when it started.
        const auto r = m_conn.exec(sqlOf(u"oldest_transactions"_s));
        for (int i = 0; r.ok() && i < r.rowCount(); ++i)
            who << u"pid %1 (user %2, application %3, %4, transaction open %5): %6"_s.arg(r.text(i, 0), r.text(i, 1), r.text(i, 2),
                r.text(i, 3), htap::core::formatDuration(r.toDouble(i, 4)), r.text(i, 5).simplified());
    }
    return who.isEmpty() ? u"nobody holds it now (the holder finished meanwhile)"_s : u"held by "_s + who.join(u"; "_s);
}

bool AdviceService::confirmed(const QString& confirmDatabase, QString* why)
{
    // Anywhere but a sandbox of this machine, only when the operator names the database.
    if (htap::pg::Sandbox::isSandboxServer(m_conn))
        return true;
    const QString db = m_conn.exec(u"SELECT current_database()"_s).text(0, 0);
    if (confirmDatabase == db)
        return true;
    *why = u"%1 is not a sandbox of this machine: name its database (%2) to confirm; nothing was changed."_s.arg(
        m_conn.effectiveInfo().displayName(), db);
    return false;
}

bool AdviceService::newEntry(const Finding& f, const QString& kind, qint64 undoOf, const QStringList& statements,
    const QStringList& putBack, const QString& confirmDatabase, htap::store::AuditEntry* entry, QString* why)
{
    QString error;
    if (!confirmed(confirmDatabase, why))
        return false;
    if (!m_audit.checkWritable(&error)) {
        *why = error + u"; nothing was sent to the server."_s;
        return false;
    }
    entry->server = m_conn.effectiveInfo().displayName();
    entry->serverKey = htap::roles::serverKeyOf(m_conn);
    entry->appliedBy = m_conn.exec(u"SELECT current_user"_s).text(0, 0);
    entry->kind = kind;
    entry->title = f.title;
    entry->roles = {f.object};
    entry->undoOf = undoOf;
    entry->plan = QJsonObject {{u"format"_s, u"htap-advice-change"_s}, {u"version"_s, 1}, {u"finding"_s, f.toJson()},
        {u"statements"_s, QJsonArray::fromStringList(statements)}, {u"undo"_s, QJsonArray::fromStringList(putBack)},
        {u"in_transaction"_s, f.inTransaction && !f.isMove()}};
    return true;
}

ChangeOutcome AdviceService::move(const Finding& f, qint64 undoOf, const QString& confirmDatabase)
{
    ChangeOutcome out;
    QString error;
    htap::store::AuditEntry entry;
    // The statements are the move's plan as previewed; what ran is in the outcome's message.
    if (!newEntry(f, undoOf ? u"advice-undo"_s : u"advice"_s, undoOf, undoOf ? f.undo : f.sql, undoOf ? f.sql : f.undo,
            confirmDatabase, &entry, &out.message))
        return out;
    out.auditId = m_audit.begin(entry, &error);
    if (!out.auditId) {
        out.message = u"Cannot record the change in the audit log (%1), so it is not made."_s.arg(error);
        return out;
    }
    PartitionMove pm(m_conn);
    pm.setOptions(m_partition);
    pm.setProgress(m_progress);
    PartitionMoveOutcome o;
    if (f.check == u"partition-finish"_s) {
        const PartitionMoveState st = PartitionMove::current(m_conn, f.moveSchema, f.moveTable, &error);
        if (st.id && st.phase == u"swapped"_s)
            o = pm.finish(st.id);
        else
            o.message = error.isEmpty() ? u"no swapped move of %1.%2 to finish"_s.arg(f.moveSchema, f.moveTable) : error;
    } else if (undoOf) {
        const PartitionMoveState st = PartitionMove::current(m_conn, f.moveSchema, f.moveTable, &error);
        if (st.id)
            o = pm.undo(st.id);
        else
            o.message = error.isEmpty() ? u"no unfinished move of %1.%2 on this server (finished or undone already)"_s.arg(f.moveSchema, f.moveTable)
                                        : error;
    } else {
        o = pm.run(f.moveSchema, f.moveTable, f.moveColumn);
    }
    if (o.resumed)
        settleResumed(f, out.auditId);
    out.ok = o.ok;
    out.sent = o.sent;
    out.move = o.toJson();
    out.message = o.ok ? u"%1 (audit #%2)"_s.arg(o.message).arg(out.auditId) : o.message;
    if (!m_audit.finish(out.auditId, o.ok ? u"applied"_s : u"failed"_s, o.ok ? QString() : o.message, &error))
        out.auditWarning = error;
    if (o.ok && undoOf && !m_audit.finish(undoOf, u"undone"_s, u"undone by #%1"_s.arg(out.auditId), &error))
        out.auditWarning = error;
    return out;
}

void AdviceService::settleResumed(const Finding& f, qint64 resumedBy) const
{
    // The run that went on with the move proves the earlier ones stopped (a move's row is taken
    // by one run at a time): their entries, left "applying" by a killed program, say so.
    QString error;
    for (const htap::store::AuditEntry& e : m_audit.list(htap::roles::serverKeyOf(m_conn), 200, &error)) {
        if (e.id == resumedBy || e.kind != u"advice"_s || e.status != u"applying"_s)
            continue;
        const Finding earlier = Finding::fromJson(e.plan.value(u"finding"_s).toObject());
        if (earlier.isMove() && earlier.check != u"partition-finish"_s && earlier.moveSchema == f.moveSchema && earlier.moveTable == f.moveTable)
            m_audit.finish(e.id, u"interrupted"_s, u"stopped during the move; resumed by #%1"_s.arg(resumedBy), &error);
    }
}

ChangeOutcome AdviceService::run(const Finding& f, const QStringList& statements, const QStringList& putBack, const QString& kind,
    qint64 undoOf, const QString& confirmDatabase)
{
    ChangeOutcome out;
    if (statements.isEmpty()) {
        out.message = u"This finding is advice only: there is nothing to apply. "_s + f.note;
        return out;
    }
    QString error;
    htap::store::AuditEntry entry;
    if (!newEntry(f, kind, undoOf, statements, putBack, confirmDatabase, &entry, &out.message))
        return out;
    const QString timeout = u"SET %1lock_timeout = '%2ms'"_s.arg(f.inTransaction ? u"LOCAL "_s : QString()).arg(m_lockTimeoutMs);

    QStringList rebuilt; // invalid indexes of an interrupted build, dropped before building them
    auto failed = [&](const htap::pg::PgError& e, const QString& statement) {
        QString why = e.sqlstate == u"55P03"_s
            ? u"%1 could not get its lock within %2: %3."_s.arg(statement, htap::core::formatSeconds(m_lockTimeoutMs / 1000.0), lockHolders(f))
            : u"%1 failed: %2."_s.arg(statement, e.oneLine());
        return why;
    };

    if (f.inTransaction) {
        auto r = m_conn.exec(u"BEGIN ISOLATION LEVEL READ COMMITTED"_s);
        if (r.ok())
            r = m_conn.exec(u"SELECT pg_current_xact_id()::text, CASE WHEN has_function_privilege('pg_control_system()', 'EXECUTE') "
                            "THEN (SELECT system_identifier FROM pg_control_system())::text END"_s);
        if (!r.ok()) {
            m_conn.exec(u"ROLLBACK"_s);
            out.message = r.error().oneLine();
            return out;
        }
        entry.xid = r.text(0, 0);
        entry.systemIdentifier = r.text(0, 1);
        out.auditId = m_audit.begin(entry, &error);
        if (!out.auditId) {
            m_conn.exec(u"ROLLBACK"_s);
            out.message = u"Cannot record the change in the audit log (%1), so it is not made."_s.arg(error);
            return out;
        }
        r = m_conn.exec(timeout);
        QString why;
        if (!r.ok())
            why = r.error().oneLine();
        for (const QString& s : statements) {
            if (!why.isEmpty())
                break;
            r = m_conn.exec(s);
            if (!r.ok()) {
                m_conn.exec(u"ROLLBACK"_s);
                why = failed(r.error(), s);
            } else {
                out.sent << s;
            }
        }
        if (why.isEmpty()) {
            r = m_conn.exec(u"COMMIT"_s);
            if (!r.ok())
                why = u"COMMIT failed: "_s + r.error().oneLine();
        }
        if (!why.isEmpty()) {
            m_conn.exec(u"ROLLBACK"_s);
            out.message = why + u" Nothing was changed (one transaction)."_s;
            out.sent.clear();
            m_audit.finish(out.auditId, u"failed"_s, out.message, &error);
            return out;
        }
    } else {
        out.auditId = m_audit.begin(entry, &error);
        if (!out.auditId) {
            out.message = u"Cannot record the change in the audit log (%1), so it is not made."_s.arg(error);
            return out;
        }
        auto r = m_conn.exec(timeout);
        QString why = r.ok() ? QString() : r.error().oneLine();
        static const QRegularExpression created(u"^CREATE (UNIQUE )?INDEX CONCURRENTLY IF NOT EXISTS (\"(?:[^\"]|\"\")*\"|\\S+) ON (?:ONLY )?(\"(?:[^\"]|\"\")*\"|[^\\s.\"]+)\\."_s);
        for (const QString& s : statements) {
            if (!why.isEmpty())
                break;
            const auto m = created.match(s);
            const QString index = m.hasMatch() ? m.captured(3) + u'.' + m.captured(2) : QString();
            // A CREATE INDEX CONCURRENTLY killed half way (its session terminated, the server
            // restarted) leaves an invalid index of that name, which IF NOT EXISTS would take
            // for done: dropped first, so that the index is built.
            if (!index.isEmpty()
                && m_conn.exec(u"SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)"_s, {index}).toBool(0, 0)) {
                if (const auto d = m_conn.exec(u"DROP INDEX CONCURRENTLY IF EXISTS %1"_s.arg(index)); !d.ok()) {
                    why = u"%1 is an invalid index (left by an interrupted build) and could not be dropped: %2."_s.arg(index, d.error().oneLine());
                    break;
                }
                rebuilt << u"%1 was an invalid index left by an interrupted build: dropped and built again."_s.arg(index);
            }
            r = m_conn.exec(s);
            if (r.ok()) {
                out.sent << s;
                continue;
            }
            why = failed(r.error(), s);
            // A CREATE INDEX CONCURRENTLY that fails leaves an invalid index behind.
            if (!index.isEmpty()) {
                const auto drop = m_conn.exec(u"DROP INDEX CONCURRENTLY IF EXISTS %1"_s.arg(index));
                why += drop.ok() ? u" The invalid index it left was dropped."_s : u" The invalid index it left could not be dropped: "_s + drop.error().oneLine();
            }
        }
        if (!why.isEmpty() && !out.sent.isEmpty()) {
            // Put back what was done: every undo statement is idempotent (IF EXISTS, IF NOT EXISTS).
            QStringList putBackFailed;
            for (const QString& s : putBack)
                if (const auto u = m_conn.exec(s); !u.ok())
                    putBackFailed << u"%1: %2"_s.arg(s, u.error().oneLine());
            why += putBackFailed.isEmpty() ? u" What was done before it (%1 statement(s)) was put back."_s.arg(out.sent.size())
                                           : u" Putting back what was done failed: %1; run the undo of audit #%2."_s.arg(
                                                 putBackFailed.join(u"; "_s), QString::number(out.auditId));
        }
        m_conn.exec(u"RESET lock_timeout"_s);
        if (!why.isEmpty()) {
            out.message = why;
            m_audit.finish(out.auditId, u"failed"_s, out.message, &error);
            return out;
        }
    }
    out.ok = true;
    out.message = u"%1 %2 statement(s) %3 (audit #%4)."_s.arg(kind == u"advice-undo"_s ? u"Undid with"_s : u"Applied"_s)
                      .arg(out.sent.size())
                      .arg(f.inTransaction ? u"in one transaction"_s : u"one by one (CONCURRENTLY)"_s)
                      .arg(out.auditId);
    if (!rebuilt.isEmpty())
        out.message += u' ' + rebuilt.join(u' ');
    if (!m_audit.finish(out.auditId, u"applied"_s, QString(), &error))
        out.auditWarning = error;
    if (undoOf && !m_audit.finish(undoOf, u"undone"_s, u"undone by #%1"_s.arg(out.auditId), &error))
        out.auditWarning = error;
    return out;
}

ChangeOutcome AdviceService::apply(const Finding& f, const QString& confirmDatabase)
{
    ChangeOutcome out;
    if (!f.sql.isEmpty() && !f.canApply) {
        out.message = u"This finding cannot be applied here: %1. Nothing was changed."_s.arg(f.whyNotApply);
        return out;
    }
    if (!f.guardKind.isEmpty()) {
        QString error;
        // Reading the object's indexes waits behind an exclusive lock on it: no longer than a change would.
        m_conn.exec(u"SET lock_timeout = '%1ms'"_s.arg(m_lockTimeoutMs));
        const QString now = guardState(m_conn, f.guardKind, f.guardObject, &error);
        m_conn.exec(u"RESET lock_timeout"_s);
        if (!error.isEmpty()) {
            out.message = error.contains(u"55P03"_s)
                ? u"%1 could not be read within the lock timeout (%2): %3. Nothing was changed."_s.arg(f.guardObject,
                      htap::core::formatSeconds(m_lockTimeoutMs / 1000.0), lockHolders(f))
                : error;
            return out;
        }
        if (now != f.guard) {
            out.message = u"%1 changed since the advice was made (then: %2; now: %3): advise again. Nothing was changed."_s.arg(
                f.guardObject, f.guard.isEmpty() ? u"(nothing)"_s : f.guard, now.isEmpty() ? u"(nothing)"_s : now);
            return out;
        }
    }
    if (f.isMove() && !f.canApply) {
        ChangeOutcome out;
        out.message = u"This finding cannot be applied here: %1. Nothing was changed."_s.arg(f.whyNotApply);
        return out;
    }
    if (f.isMove())
        return move(f, 0, confirmDatabase);
    return run(f, f.sql, f.undo, u"advice"_s, 0, confirmDatabase);
}

ChangeOutcome AdviceService::undo(qint64 auditId, const QString& confirmDatabase)
{
    ChangeOutcome out;
    QString error;
    const std::optional<htap::store::AuditEntry> e = m_audit.find(auditId, &error);
    if (!e) {
        out.message = error;
        return out;
    }
    if (e->kind != u"advice"_s) {
        out.message = u"audit #%1 is not a change of the Advisor (%2): undo it where it was made."_s.arg(QString::number(auditId), e->kind);
        return out;
    }
    if (e->serverKey != htap::roles::serverKeyOf(m_conn)) {
        out.message = u"audit #%1 was made on %2, not on this server."_s.arg(QString::number(auditId), e->server);
        return out;
    }
    if (const Finding f = Finding::fromJson(e->plan.value(u"finding"_s).toObject()); f.isMove() && e->status != u"undone"_s) {
        if (f.check == u"partition-finish"_s) {
            out.message = u"audit #%1 finished a partition move: the old table is dropped, so it cannot be undone."_s.arg(QString::number(auditId));
            return out;
        }
        // A move stopped half-way (its entry applying or failed) leaves an unfinished move on the
        // server: undo finds it by its table.
        Finding u = f;
        u.title = u"Undo #%1: %2"_s.arg(QString::number(auditId), f.title);
        return move(u, auditId, confirmDatabase);
    }
    if (e->status == u"undone"_s) {
        out.message = u"audit #%1 is undone already (%2)."_s.arg(QString::number(auditId), e->message);
        return out;
    }
    if (e->status != u"applied"_s) {
        out.message = u"audit #%1 is %2, not applied: nothing to undo (%3)."_s.arg(QString::number(auditId), e->status, e->message);
        return out;
    }
    Finding f = Finding::fromJson(e->plan.value(u"finding"_s).toObject());
    f.title = u"Undo #%1: %2"_s.arg(QString::number(auditId), f.title);
    QStringList undo, redo;
    for (const QJsonValue& v : e->plan.value(u"undo"_s).toArray())
        undo << v.toString();
    for (const QJsonValue& v : e->plan.value(u"statements"_s).toArray())
        redo << v.toString();
    return run(f, undo, redo, u"advice-undo"_s, auditId, confirmDatabase);
}

Measurement AdviceService::measure(const QStringList& statements, int runs, const QMap<QString, QString>& settings)
{
    Measurement m;
    m.at = QDateTime::currentDateTimeUtc();
    runs = std::max(1, runs);
    for (const QString& statement : statements) {
        StatementRun s;
        s.statement = statement;
        static const QRegularExpression dollar(u"\\$\\d+"_s);
        if (dollar.match(statement).hasMatch()) {
            s.error = u"the statement has parameters ($1 ...): give it with values to measure it"_s;
            m.statements << s;
            continue;
        }
        struct One {
            double ms;
            qint64 hit, read;
            QString plan;
        };
        QList<One> all;
        for (int i = 0; i <= runs && s.error.isEmpty(); ++i) {
            // Read only, and rolled back: a statement with a data-modifying CTE changes nothing.
            // A statement of the top list may be an hour-long report: a minute at the most a run.
            auto r = m_conn.exec(u"BEGIN READ ONLY"_s);
            if (r.ok())
                r = m_conn.exec(u"SET LOCAL statement_timeout = '%1ms'"_s.arg(m_statementTimeoutMs));
            for (auto it = settings.cbegin(); r.ok() && it != settings.cend(); ++it)
                r = m_conn.exec(u"SET LOCAL %1 = %2"_s.arg(htap::pg::quoteIdentifier(it.key()), htap::pg::quoteLiteral(it.value())));
            if (r.ok())
                r = m_conn.exec(u"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "_s + statement);
            m_conn.exec(u"ROLLBACK"_s);
            if (!r.ok()) {
                s.error = r.error().oneLine();
                break;
            }
            if (i == 0)
                continue; // warm-up: the cache, and the plan's catalog lookups
            const QJsonObject top = QJsonDocument::fromJson(r.text(0, 0).toUtf8()).array().first().toObject();
            const QJsonObject plan = top.value(u"Plan"_s).toObject();
            QStringList lines;
            describe(plan, 0, &lines);
            all << One {top.value(u"Execution Time"_s).toDouble(), qint64(plan.value(u"Shared Hit Blocks"_s).toDouble()),
                qint64(plan.value(u"Shared Read Blocks"_s).toDouble()), lines.join(u'\n')};
        }
        if (!all.isEmpty()) {
            std::sort(all.begin(), all.end(), [](const One& a, const One& b) { return a.ms < b.ms; });
            const One& median = all[all.size() / 2];
            s.runs = int(all.size());
            s.medianMs = median.ms;
            s.minMs = all.first().ms;
            s.sharedHit = median.hit;
            s.sharedRead = median.read;
            s.plan = median.plan;
        }
        m.statements << s;
    }
    return m;
}

QList<IndexSize> AdviceService::indexSizes(const QString& table)
{
    QList<IndexSize> out;
    const auto r = m_conn.exec(u"SELECT i.relname, am.amname, pg_relation_size(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
                               " JOIN pg_am am ON am.oid = i.relam WHERE x.indrelid = to_regclass($1) ORDER BY i.relname"_s,
        {table});
    for (int i = 0; r.ok() && i < r.rowCount(); ++i)
        out << IndexSize {r.text(i, 0), r.text(i, 1), r.toInt64(i, 2)};
    return out;
}

Proof AdviceService::applyAndMeasure(const Finding& f, const QString& confirmDatabase, int runs)
{
    Proof p;
    if (f.guardKind == u"table"_s)
        p.indexesBefore = indexSizes(f.guardObject);
    p.before = measure(f.statements, runs, f.settingsBefore);
    p.change = apply(f, confirmDatabase);
    if (!p.change.ok)
        return p;
    if (f.guardKind == u"table"_s)
        p.indexesAfter = indexSizes(f.guardObject);
    p.after = measure(f.statements, runs, f.settingsAfter);
    return p;
}

QStringList AdviceService::settleInterrupted(QString* error)
{
    QStringList notes;
    error->clear();
    const QList<htap::store::AuditEntry> entries = m_audit.unsettled(htap::roles::serverKeyOf(m_conn), error);
    if (!error->isEmpty())
        return notes;
    const QString system = m_conn.exec(u"SELECT CASE WHEN has_function_privilege('pg_control_system()', 'EXECUTE') THEN"
                                       " (SELECT system_identifier FROM pg_control_system())::text END"_s)
                               .text(0, 0);
    for (const htap::store::AuditEntry& e : entries) {
        if (!e.kind.startsWith(u"advice"_s) || e.xid.isEmpty())
            continue;
        if (!e.systemIdentifier.isEmpty() && !system.isEmpty() && e.systemIdentifier != system)
            continue; // another cluster that had this address
        const auto r = m_conn.exec(u"SELECT pg_xact_status($1::xid8)"_s, {e.xid});
        const QString status = r.ok() && !r.isNull(0, 0) ? r.text(0, 0) : QString();
        if (status != u"committed"_s && status != u"aborted"_s)
            continue; // still open, or too old for the server to know
        const bool committed = status == u"committed"_s;
        QString why;
        if (!m_audit.finish(e.id, committed ? u"applied"_s : u"interrupted"_s,
                u"settled from the server's record of transaction %1"_s.arg(e.xid), &why)) {
            *error = why;
            return notes;
        }
        if (committed && e.undoOf)
            m_audit.finish(e.undoOf, u"undone"_s, u"undone by #%1"_s.arg(e.id), &why);
        notes << u"audit #%1 (%2) was left \"applying\" by a program that stopped: %3."_s.arg(QString::number(e.id), e.title,
            committed ? u"its transaction committed, so it is applied"_s : u"its transaction rolled back, so nothing was changed"_s);
    }
    return notes;
}

QList<htap::store::AuditEntry> AdviceService::log(int limit, QString* error) const
{
    QList<htap::store::AuditEntry> out;
    for (const htap::store::AuditEntry& e : m_audit.list(htap::roles::serverKeyOf(m_conn), limit * 4 + 50, error))
        if (e.kind.startsWith(u"advice"_s) && out.size() < limit)
            out << e;
    return out;
}

} // namespace htap::advise
