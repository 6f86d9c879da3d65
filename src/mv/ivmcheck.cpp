// --check of enable-incremental: every statement the engine would run, run for real in one
// transaction that is rolled back, on a connection of its own, so that what passes the check
// enables (a plan that only parsed passed views whose SQL then failed on the server).
#include "mvservice.h"

#include "ivmprepare.h"
#include "ivmsql.h"
#include "mvcommon.h"
#include <pg/identifier.h>
#include <pg/sqlfile.h>

using namespace Qt::StringLiterals;
using htap::pg::quoteIdentifier;
using htap::pg::quoteQualified;
using htap::pg::Result;

namespace htap::mv {

namespace {

/// Rows of each base table the check builds and merges: the statements run as they will, on
/// a sample, so that the check costs milliseconds whatever the tables' size.
constexpr int kSampleRows = 1000;

bool isTriggerStatement(const QString& sql)
{
    return sql.startsWith(u"CREATE TRIGGER "_s) || (sql.startsWith(u"ALTER TABLE "_s) && sql.contains(u" ENABLE ALWAYS TRIGGER "_s));
}

} // namespace

void MvService::setConnInfo(const pg::ConnInfo& info)
{
    m_info = info;
}

QString MvService::dryRun(const EnginePrep& prep, const IvmSql& sql, const QString& qualified)
{
    // A connection of its own: nothing the check sets or leaves (a failed transaction, a lock
    // waited for) touches the caller's session. When none can be opened (a password that was
    // typed, not stored), the caller's, in a transaction it rolls back all the same.
    pg::Connection own;
    const pg::ConnInfo info = m_info.isEmpty() ? m_conn.effectiveInfo() : m_info;
    const bool separate = !own.open(info, {10000, u"htap-studio check"_s});
    pg::Connection& c = separate ? own : m_conn;

    QString step;
    const auto fail = [&](const Result& r) {
        c.exec(u"ROLLBACK"_s);
        const bool lock = r.error().sqlstate == u"55P03"_s;
        return lock ? u"--check could not finish: %1 waited more than 2 s for a lock others hold (nothing was changed; try "
                      u"again when they let go): %2"_s.arg(step, statementError(r))
                    : u"the engine's SQL fails on this server (%1): %2; nothing was changed"_s.arg(step, statementError(r));
    };
    const auto run = [&](const QString& what, const QString& statement) {
        step = what;
        return c.exec(statement);
    };
    Result r = run(u"BEGIN"_s, u"BEGIN ISOLATION LEVEL REPEATABLE READ"_s);
    if (!r.ok())
        return fail(r);
    // It must never queue writers or readers behind a long transaction: it gives up instead.
    // Its statements all run on samples: a minute is far more than they need.
    c.exec(u"SELECT set_config('lock_timeout', '2s', true)"_s);
    c.exec(u"SELECT set_config('statement_timeout', '60s', true) FROM pg_settings WHERE name = 'statement_timeout' "
           u"AND (setting::bigint = 0 OR setting::bigint > 60000)"_s);
    // The registry as this build would install it, if the server's is older.
    r = run(u"the registry"_s, u"SELECT CASE WHEN to_regprocedure('htap.registry_version()') IS NULL THEN 0 ELSE htap.registry_version() END"_s);
    if (!r.ok())
        return fail(r);
    if (r.toInt64(0, 0) < kRegistryVersion) {
        for (const QString& file : pg::engineScripts()) {
            step = u"installing sql/%1"_s.arg(file);
            if (r = c.runScript(pg::sqlFile(file)); !r.ok())
                return fail(r);
        }
    }
    // The engine's objects; its triggers last (they lock the base tables against writers).
    QStringList triggers;
    for (const QString& s : sql.install) {
        if (isTriggerStatement(s)) {
            triggers << s;
            continue;
        }
        if (r = run(u"installing the engine"_s, s); !r.ok())
            return fail(r);
    }
    // Each source view reads a sample instead of its table: the statements' plans and types are
    // those of the real thing, their cost that of a thousand rows.
    for (int i = 0; i < prep.plan.tables.size(); ++i) {
        const PlanTable& t = prep.plan.tables[i];
        const QString sample = u"htap_ivm."_s + quoteIdentifier(u"v0_t%1_sample"_s.arg(i));
        if (r = run(u"sampling %1"_s.arg(t.ref.name), u"CREATE TABLE %1 AS SELECT * FROM %2 LIMIT %3"_s.arg(
                        sample, quoteQualified(t.ref.schema, t.ref.name)).arg(kSampleRows));
            !r.ok())
            return fail(r);
        QStringList cols;
        for (const QString& col : t.captured)
            cols << quoteIdentifier(col);
        if (cols.isEmpty())
            cols << u"NULL::boolean AS __ivm_none"_s;
        if (r = run(u"sampling %1"_s.arg(t.ref.name), u"CREATE OR REPLACE VIEW htap_ivm.%1 AS SELECT %2 FROM %3"_s.arg(
                        quoteIdentifier(u"v0_t%1_src"_s.arg(i)), cols.join(u", "_s), sample));
            !r.ok())
            return fail(r);
    }
    if (r = run(u"the first build"_s, u"SELECT %1()"_s.arg(sql.rebuildTransaction)); !r.ok())
        return fail(r);
    // The build's swap waits longer for its own state table; the check goes back to its 2 s.
    c.exec(u"SELECT set_config('lock_timeout', '2s', true)"_s);
    QStringList skipped;
    step = u"replacing the materialized view"_s;
    if (const QString e = switchToView(c, qualified, prep, sql, 0, &skipped); !e.isEmpty()) {
        c.exec(u"ROLLBACK"_s);
        return u"the engine's SQL fails on this server (%1): %2; nothing was changed"_s.arg(step, e);
    }
    // Capture and merge: the sample deleted, inserted back and updated in place, each followed
    // by a merge, so that every branch of the merge runs (groups emptied, made again, rescanned).
    r = run(u"capture"_s, u"SELECT set_config('search_path', 'pg_catalog, pg_temp', true)"_s);
    for (const QString& event : {u"DELETE"_s, u"INSERT"_s, u"UPDATE"_s}) {
        for (const CaptureStatement& cs : sql.captureStatements) {
            if (cs.event != event || !r.ok())
                continue;
            const QString sample = u"htap_ivm."_s + quoteIdentifier(u"v0_t%1_sample"_s.arg(cs.tableIndex));
            // The transition tables the trigger would see, as temporary tables of the same name.
            for (const QString& tt : {u"__ivm_old"_s, u"__ivm_new"_s}) {
                if (r.ok())
                    r = run(u"capture"_s, u"DROP TABLE IF EXISTS pg_temp.%1"_s.arg(tt));
                if (r.ok())
                    r = run(u"capture"_s, u"CREATE TEMP TABLE %1 ON COMMIT DROP AS SELECT * FROM %2"_s.arg(tt, sample));
            }
            if (r.ok())
                r = run(u"capturing an %1 on %2"_s.arg(event, prep.plan.tables.value(cs.tableIndex).ref.name), cs.sql);
        }
        if (r.ok())
            r = run(u"merging after an %1"_s.arg(event), u"SELECT %1()"_s.arg(sql.mergeFunction));
    }
    if (!r.ok())
        return fail(r);
    for (const QString& s : std::as_const(triggers)) {
        if (r = run(u"creating the capture triggers"_s, s); !r.ok())
            return fail(r);
    }
    c.exec(u"ROLLBACK"_s);
    return {};
}

} // namespace htap::mv
