// The tuning advisor on the test sandbox (issue 25): each check finds the case planted for it in
// schema advise_t and is silent on a healthy neighbour; a BRIN change applied, measured (sizes
// and statements before and after) and undone; hypopg missing (the finding installs it); a table
// changed since the advice, a lock held by another session (named in the refusal), a user who
// may not change anything (read-only advice); the Advisor page advising, applying and undoing.
#include "testutil.h"

#include <advise/adviceservice.h>
#include <advise/advisor.h>
#include <pg/identifier.h>
#include <roles/rolecatalog.h>
#include <ui/advisorpage.h>
#include <ui/mainwindow.h>

#include <QApplication>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>

using namespace Qt::StringLiterals;
using namespace htap::advise;
using htap::pg::Connection;

namespace {

void openOrDie(Connection& c, const QString& user = {})
{
    htap::pg::ConnInfo info = htap::test::sandboxConnInfo();
    if (!user.isEmpty())
        info = info.with(u"user"_s, user);
    if (const htap::pg::PgError e = c.open(info, {10000, u"tst_advise"_s}))
        qFatal("cannot connect to the test sandbox: %s", qPrintable(e.oneLine()));
}

void exec(Connection& c, const QString& sql)
{
    const htap::pg::Result r = c.exec(sql);
    if (!r.ok())
        qFatal("%s: %s", qPrintable(sql), qPrintable(r.error().oneLine()));
}

const Finding* findingOf(const AdviceReport& r, const QString& id)
{
    return r.find(id);
}

QStringList ids(const AdviceReport& r)
{
    QStringList l;
    for (const Finding& f : r.findings)
        l << f.id;
    return l;
}

} // namespace

class TestAdvise : public QObject
{
    Q_OBJECT

    Connection m_conn;
    QTemporaryDir m_dir;
    AdvisorOptions m_options;

    AdviceReport advise(Connection& conn, const QStringList& checks = {})
    {
        AdvisorOptions o = m_options;
        o.checks = checks;
        QString error;
        // The planted tables are a few MB: parallel scans start above this session's threshold.
        exec(conn, u"SET min_parallel_table_scan_size = '64kB'"_s);
        AdviceReport r = runAdvisor(conn, o, &error);
        if (!error.isEmpty())
            qFatal("advisor: %s", qPrintable(error));
        return r;
    }

    /// Range scans through the time B-trees of these tables of advise_t, five each.
    void rangeScans(const QStringList& tables)
    {
        Connection reader;
        openOrDie(reader);
        exec(reader, u"SET enable_seqscan = off"_s);
        exec(reader, u"SET enable_bitmapscan = off"_s);
        for (int i = 0; i < 5; ++i)
            for (const QString& t : tables)
                exec(reader, u"SELECT count(*) FROM advise_t.%1 WHERE ts >= '2026-02-01' AND ts < '2026-02-02'"_s.arg(t));
        exec(reader, u"SELECT pg_stat_force_next_flush()"_s);
    }

    qint64 indexScans(const QString& index)
    {
        return m_conn.exec(u"SELECT coalesce(idx_scan, 0) FROM pg_stat_all_indexes WHERE indexrelid = to_regclass($1)"_s, {index}).toInt64(0, 0);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.path());
        QSettings::setDefaultFormat(QSettings::NativeFormat);
        QCoreApplication::setOrganizationName(u"htap-studio-tests"_s);
        QCoreApplication::setApplicationName(u"tst_advise"_s);
        QSettings().setValue(u"history/path"_s, m_dir.filePath(u"history.sqlite"_s));
        openOrDie(m_conn);
        for (const QString& role : {u"advise_olap"_s, u"advise_olap2"_s, u"advise_reader"_s}) {
            m_conn.exec(u"DROP OWNED BY %1"_s.arg(role));
            m_conn.exec(u"DROP ROLE IF EXISTS %1"_s.arg(role));
        }
        exec(m_conn, u"DROP SCHEMA IF EXISTS advise_t CASCADE"_s);
        exec(m_conn, u"DELETE FROM htap.refresh_log WHERE view_name LIKE 'advise\\_t.%'"_s);
        exec(m_conn, u"CREATE SCHEMA advise_t"_s);
        // Time-ordered: appended in time order, every 2 minutes over 83 days (3 months).
        exec(m_conn, u"CREATE TABLE advise_t.events (id bigint, ts timestamp NOT NULL, payload text)"_s);
        exec(m_conn, u"INSERT INTO advise_t.events SELECT i, '2026-01-01'::timestamp + i * interval '2 minutes', md5(i::text)"
                     " FROM generate_series(1, 60000) i"_s);
        exec(m_conn, u"CREATE INDEX events_ts ON advise_t.events (ts)"_s);
        exec(m_conn, u"CREATE INDEX events_payload ON advise_t.events (payload)"_s); // never used
        // The same rows in random order: a B-tree on ts that BRIN could not replace.
        exec(m_conn, u"CREATE TABLE advise_t.shuffled AS SELECT * FROM advise_t.events ORDER BY md5(id::text)"_s);
        exec(m_conn, u"CREATE INDEX shuffled_ts ON advise_t.shuffled (ts)"_s);
        // Duplicate, redundant and foreign-key indexes.
        exec(m_conn, u"CREATE TABLE advise_t.parents (id int PRIMARY KEY)"_s);
        exec(m_conn, u"INSERT INTO advise_t.parents SELECT generate_series(1, 100)"_s);
        exec(m_conn, u"CREATE TABLE advise_t.items (item_id int PRIMARY KEY, parent_id int REFERENCES advise_t.parents (id), "
                     "product int, qty int)"_s);
        exec(m_conn, u"INSERT INTO advise_t.items SELECT i, 1 + i % 100, i % 500, i % 7 FROM generate_series(1, 20000) i"_s);
        exec(m_conn, u"CREATE INDEX items_parent ON advise_t.items (parent_id)"_s);
        exec(m_conn, u"CREATE INDEX items_product ON advise_t.items (product)"_s);
        exec(m_conn, u"CREATE INDEX items_product_copy ON advise_t.items (product)"_s);
        exec(m_conn, u"CREATE INDEX items_product_qty ON advise_t.items (product, qty)"_s);
        // Churn: hot is updated twice over with the server's autovacuum settings; calm the same,
        // with per-table settings that keep up.
        for (const QString& t : {u"hot"_s, u"calm"_s}) {
            exec(m_conn, u"CREATE TABLE advise_t.%1 (id int PRIMARY KEY, n int)"_s.arg(t));
            exec(m_conn, u"INSERT INTO advise_t.%1 SELECT i, 0 FROM generate_series(1, 20000) i"_s.arg(t));
        }
        exec(m_conn, u"ALTER TABLE advise_t.calm SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10, "
                     "autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 10)"_s);
        for (int i = 0; i < 2; ++i) {
            exec(m_conn, u"UPDATE advise_t.hot SET n = n + 1"_s);
            exec(m_conn, u"UPDATE advise_t.calm SET n = n + 1"_s);
        }
        // This backend's counts reach pg_stat_user_tables when it next goes idle, not within
        // the second the statistics collector may otherwise wait (under load the advice read
        // the inserts and not yet the updates).
        exec(m_conn, u"SELECT pg_stat_force_next_flush()"_s);
        // A table the top statement filters on a column without an index.
        exec(m_conn, u"CREATE TABLE advise_t.big (id int PRIMARY KEY, code int, note text)"_s);
        exec(m_conn, u"INSERT INTO advise_t.big SELECT i, i % 1000, repeat('x', 40) FROM generate_series(1, 50000) i"_s);
        // Sales by region and day: a report on one day of one region wants both columns.
        exec(m_conn, u"CREATE TABLE advise_t.sales (id int PRIMARY KEY, region int, day int, amount numeric)"_s);
        exec(m_conn, u"INSERT INTO advise_t.sales SELECT i, i % 20, (i / 7) % 365, i % 97 FROM generate_series(1, 60000) i"_s);
        // Views: one without a unique index, one with, refreshed 20 times in the last hour over a
        // base table that never changed (resetting a table's counters would restart the whole
        // database's statistics window, stats_reset).
        exec(m_conn, u"CREATE TABLE advise_t.dim (k int, v int)"_s);
        exec(m_conn, u"CREATE MATERIALIZED VIEW advise_t.mv_nokey AS SELECT product, sum(qty) AS qty FROM advise_t.items GROUP BY product"_s);
        exec(m_conn, u"CREATE MATERIALIZED VIEW advise_t.mv_key AS SELECT k, v FROM advise_t.dim"_s);
        exec(m_conn, u"CREATE UNIQUE INDEX mv_key_k ON advise_t.mv_key (k)"_s);
        exec(m_conn, u"INSERT INTO htap.refresh_log (view_name, mode, started_at, finished_at, outcome)"
                     " SELECT 'advise_t.mv_key', 'concurrent', now() - i * interval '2 minutes', now() - i * interval '2 minutes', 'ok'"
                     " FROM generate_series(1, 20) i"_s);
        exec(m_conn, u"ANALYZE advise_t.events, advise_t.shuffled, advise_t.items, advise_t.big, advise_t.sales, advise_t.mv_nokey, advise_t.mv_key, "
                     "advise_t.hot, advise_t.calm"_s);
        rangeScans({u"events"_s, u"shuffled"_s});
        QTRY_VERIFY_WITH_TIMEOUT(indexScans(u"advise_t.events_ts"_s) >= 5 && indexScans(u"advise_t.shuffled_ts"_s) >= 5, 15000);
        exec(m_conn, u"CREATE ROLE advise_olap NOLOGIN"_s);
        exec(m_conn, u"ALTER ROLE advise_olap SET max_parallel_workers_per_gather = 0"_s);
        exec(m_conn, u"CREATE ROLE advise_olap2 NOLOGIN"_s);
        exec(m_conn, u"ALTER ROLE advise_olap2 SET max_parallel_workers_per_gather = 2"_s);
        exec(m_conn, u"CREATE ROLE advise_reader LOGIN"_s);
        exec(m_conn, u"GRANT USAGE ON SCHEMA advise_t TO advise_olap, advise_olap2, advise_reader"_s);
        exec(m_conn, u"GRANT SELECT ON ALL TABLES IN SCHEMA advise_t TO advise_olap, advise_olap2, advise_reader"_s);

        m_options.schemas = {u"advise_t"_s};
        m_options.minTableBytes = 1 << 20;
        m_options.minIndexBytes = 0;
        m_options.minPartitionBytes = 1 << 20;
        m_options.minStatsHours = 0;
        // Far below any churn's interval whenever the test runs (the statistics may be seconds old).
        m_options.autovacuumTargetMinutes = 0.0005;
        m_options.minChurnPerHour = 1;
        m_options.olapRoles = {u"advise_olap"_s, u"advise_olap2"_s};
        m_options.statements = {u"SELECT count(*) FROM advise_t.big WHERE code = 42"_s,
            u"SELECT count(*) FROM advise_t.big WHERE id = 5"_s,
            u"SELECT sum(amount) FROM advise_t.sales WHERE region = 3 AND day = 17"_s, u"SELECT sum(amount) FROM advise_t.sales WHERE day = 18"_s,
            u"SELECT count(*) FROM advise_t.events WHERE ts >= '2026-02-01' AND ts < '2026-03-01'"_s};
    }

    void cleanupTestCase()
    {
        m_conn.exec(u"DROP SCHEMA IF EXISTS advise_t CASCADE"_s);
        m_conn.exec(u"DELETE FROM htap.refresh_log WHERE view_name LIKE 'advise\\_t.%'"_s);
        for (const QString& role : {u"advise_olap"_s, u"advise_olap2"_s, u"advise_reader"_s}) {
            m_conn.exec(u"DROP OWNED BY %1"_s.arg(role));
            m_conn.exec(u"DROP ROLE IF EXISTS %1"_s.arg(role));
        }
        m_conn.exec(u"CREATE EXTENSION IF NOT EXISTS hypopg"_s);
    }

    void eachCheckFindsItsCaseAndNotTheHealthyOne()
    {
        const AdviceReport r = advise(m_conn);
        const QString all = ids(r).join(u", "_s);
        QVERIFY2(r.sandbox, "the test sandbox is a sandbox");
        QVERIFY2(!r.readOnly, qPrintable(r.notes.join(u"; "_s)));

        // BRIN: the ordered table's B-tree, not the shuffled one's.
        const Finding* brin = findingOf(r, u"brin:advise_t.events.ts"_s);
        QVERIFY2(brin, qPrintable(all));
        QVERIFY(!findingOf(r, u"brin:advise_t.shuffled.ts"_s));
        QVERIFY2(brin->sql.size() == 2 && brin->sql[0].contains(u"USING brin (\"ts\")"_s) && brin->sql[1].contains(u"\"events_ts\""_s),
            qPrintable(brin->sql.join(u"; "_s)));
        QVERIFY(brin->undo.first().startsWith(u"CREATE INDEX CONCURRENTLY IF NOT EXISTS events_ts ON advise_t.events USING btree (ts)"_s));
        QVERIFY(!brin->inTransaction);
        QCOMPARE(brin->statements.size(), 2);
        bool correlation = false;
        for (const Evidence& e : brin->evidence)
            correlation |= e.name == u"correlation"_s && e.value > 0.99;
        QVERIFY(correlation);

        // Indexes: never used, duplicate, redundant; the used, FK-serving and constraint ones kept.
        QVERIFY2(findingOf(r, u"unused-index:advise_t.events_payload"_s), qPrintable(all));
        QVERIFY2(findingOf(r, u"duplicate-index:advise_t.items_product_copy"_s), qPrintable(all));
        QVERIFY2(findingOf(r, u"redundant-index:advise_t.items_product"_s), qPrintable(all));
        QVERIFY2(findingOf(r, u"unused-index:advise_t.items_product_qty"_s), qPrintable(all));
        for (const QString& kept : {u"advise_t.events_ts"_s, u"advise_t.items_parent"_s, u"advise_t.items_pkey"_s, u"advise_t.shuffled_ts"_s})
            for (const QString& check : {u"unused-index"_s, u"duplicate-index"_s, u"redundant-index"_s})
                QVERIFY2(!findingOf(r, check + u':' + kept), qPrintable(check + u':' + kept));
        QVERIFY(r.notes.join(u' ').contains(u"advise_t.items_parent (checks and cascades of foreign key"_s));

        // Autovacuum: hot, not calm.
        const Finding* av = findingOf(r, u"autovacuum:advise_t.hot"_s);
        QVERIFY2(av, qPrintable(all));
        QVERIFY2(av->sql.first().startsWith(u"ALTER TABLE \"advise_t\".\"hot\" SET ("_s) && av->sql.first().contains(u"autovacuum_vacuum_scale_factor = "_s),
            qPrintable(av->sql.first()));
        QVERIFY2(av->undo.contains(u"ALTER TABLE \"advise_t\".\"hot\" RESET (autovacuum_vacuum_insert_scale_factor, autovacuum_vacuum_scale_factor)"_s)
                || av->undo.contains(u"ALTER TABLE \"advise_t\".\"hot\" RESET (autovacuum_vacuum_scale_factor)"_s),
            qPrintable(av->undo.join(u"; "_s)));
        QVERIFY(av->inTransaction);
        QVERIFY(!findingOf(r, u"autovacuum:advise_t.calm"_s));

        // Parallel: the role with 0 workers, not the one with 2.
        const Finding* par = findingOf(r, u"parallel:advise_olap"_s);
        QVERIFY2(par, qPrintable(all));
        QCOMPARE(par->sql, QStringList {u"ALTER ROLE \"advise_olap\" SET max_parallel_workers_per_gather = 2"_s});
        QCOMPARE(par->undo, QStringList {u"ALTER ROLE \"advise_olap\" SET max_parallel_workers_per_gather = '0'"_s});
        QCOMPARE(par->settingsBefore.value(u"max_parallel_workers_per_gather"_s), u"0"_s);
        QVERIFY(!findingOf(r, u"parallel:advise_olap2"_s));

        // Views: the one without a unique index; the one refreshed over an unchanged base.
        const Finding* mv = findingOf(r, u"mv-unique-index:advise_t.mv_nokey"_s);
        QVERIFY2(mv, qPrintable(all));
        QVERIFY2(mv->sql.value(0).contains(u"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"mv_nokey_product_key\""_s), qPrintable(mv->sql.join(u"; "_s)));
        QVERIFY(!findingOf(r, u"mv-unique-index:advise_t.mv_key"_s));
        QVERIFY2(findingOf(r, u"mv-refresh:advise_t.mv_key"_s), qPrintable(all));
        QVERIFY(!findingOf(r, u"mv-refresh:advise_t.mv_nokey"_s));

        // Missing index: code = 42, not the primary key lookup.
        const Finding* missing = findingOf(r, u"missing-index:advise_t.big.code"_s);
        QVERIFY2(missing, qPrintable(all));
        QCOMPARE(missing->statements, QStringList {u"SELECT count(*) FROM advise_t.big WHERE code = 42"_s});
        QVERIFY(!findingOf(r, u"missing-index:advise_t.big.id"_s));
        // Two columns when the second cuts the cost further; the statement on the leading column
        // alone is served by the same index (one index, not two).
        const Finding* both = findingOf(r, u"missing-index:advise_t.sales.day,region"_s);
        QVERIFY2(both, qPrintable(all));
        QVERIFY2(both->sql.value(0).endsWith(u"ON \"advise_t\".\"sales\" (\"day\", \"region\")"_s), qPrintable(both->sql.join(u"; "_s)));
        QCOMPARE(both->statements.size(), 2);
        QVERIFY(!findingOf(r, u"missing-index:advise_t.sales.day"_s));
        QVERIFY(!findingOf(r, u"missing-index:advise_t.sales.region"_s));

        // Partitions: events is filtered on ts and spans 3 months; big has no time column.
        const Finding* part = findingOf(r, u"partition:advise_t.events.ts"_s);
        QVERIFY2(part, qPrintable(all));
        QVERIFY2(part->sql.first().startsWith(u"CREATE TABLE \"advise_t\".\"events_p\" (LIKE \"advise_t\".\"events\" INCLUDING DEFAULTS"_s)
                && part->sql.first().endsWith(u"PARTITION BY RANGE (\"ts\")"_s),
            qPrintable(part->sql.join(u"\n"_s)));
        // events has no primary key: the online move (tst_partitionmove) cannot follow its rows.
        QVERIFY(!part->canApply);
        QVERIFY2(part->whyNotApply.contains(u"no one-column primary key"_s), qPrintable(part->whyNotApply));
        for (const Finding& f : r.findings)
            QVERIFY2(!(f.check == u"partition"_s && f.object.startsWith(u"advise_t.big"_s)), qPrintable(f.id));

        // The JSON round trip keeps what apply needs.
        const AdviceReport back = AdviceReport::fromJson(r.toJson());
        QCOMPARE(back.findings.size(), r.findings.size());
        QCOMPARE(back.find(brin->id)->sql, brin->sql);
        QCOMPARE(back.find(brin->id)->guard, brin->guard);
        QCOMPARE(r.toJson().value(u"format"_s).toString(), u"htap-advice"_s);
    }

    void brinAppliedMeasuredAndUndone()
    {
        const AdviceReport r = advise(m_conn, {u"brin"_s});
        const Finding* brin = findingOf(r, u"brin:advise_t.events.ts"_s);
        QVERIFY(brin);
        const QString indexdef = m_conn.exec(u"SELECT pg_get_indexdef('advise_t.events_ts'::regclass)"_s).text(0, 0);
        const htap::store::AuditLog audit(m_dir.filePath(u"audit.sqlite"_s));
        AdviceService service(m_conn, audit);
        const Proof p = service.applyAndMeasure(*brin, {}, 3);
        QVERIFY2(p.change.ok, qPrintable(p.change.message));
        QCOMPARE(p.change.sent, brin->sql);
        // The sizes, measured: the B-tree before, the BRIN after, far smaller.
        qint64 btree = 0, brinBytes = 0;
        for (const IndexSize& i : p.indexesBefore)
            if (i.name == u"events_ts"_s)
                btree = i.bytes;
        for (const IndexSize& i : p.indexesAfter) {
            QVERIFY2(i.name != u"events_ts"_s, "the B-tree is gone");
            if (i.method == u"brin"_s)
                brinBytes = i.bytes;
        }
        QVERIFY2(btree > 0 && brinBytes > 0 && brinBytes * 10 < btree, qPrintable(u"%1 vs %2"_s.arg(btree).arg(brinBytes)));
        // The statements, before and after, with time, buffers and plan.
        QCOMPARE(p.before.statements.size(), 2);
        QCOMPARE(p.after.statements.size(), 2);
        for (const StatementRun& s : p.before.statements + p.after.statements) {
            QVERIFY2(s.error.isEmpty(), qPrintable(s.error));
            QCOMPARE(s.runs, 3);
            QVERIFY(s.buffers() > 0);
            QVERIFY(!s.plan.isEmpty());
        }
        static const QRegularExpression btreeUsed(u"using events_ts( |$)"_s, QRegularExpression::MultilineOption);
        QVERIFY2(!btreeUsed.match(p.after.statements[0].plan).hasMatch(), qPrintable(p.after.statements[0].plan));

        // Audited with its undo; undone: the B-tree back as it was, the BRIN gone.
        QString error;
        const auto entry = audit.find(p.change.auditId, &error);
        QVERIFY2(entry, qPrintable(error));
        QCOMPARE(entry->kind, u"advice"_s);
        QCOMPARE(entry->status, u"applied"_s);
        const ChangeOutcome u = service.undo(p.change.auditId, {});
        QVERIFY2(u.ok, qPrintable(u.message));
        QCOMPARE(m_conn.exec(u"SELECT pg_get_indexdef('advise_t.events_ts'::regclass)"_s).text(0, 0), indexdef);
        QCOMPARE(m_conn.exec(u"SELECT count(*) FROM pg_indexes WHERE schemaname = 'advise_t' AND tablename = 'events' AND indexdef LIKE '%brin%'"_s).toInt64(0, 0), 0);
        QCOMPARE(audit.find(p.change.auditId, &error)->status, u"undone"_s);
        QCOMPARE(audit.find(u.auditId, &error)->undoOf, p.change.auditId);
        // A second undo is refused.
        QVERIFY(!service.undo(p.change.auditId, {}).ok);
        QVERIFY(service.log(10, &error).size() >= 2);
    }

    // An apply killed during CREATE INDEX CONCURRENTLY leaves an invalid index of the name the
    // finding builds; IF NOT EXISTS would take it for done. The next apply builds it.
    void anIndexLeftInvalidByAKilledBuildIsBuiltAgain()
    {
        rangeScans({u"events"_s}); // the B-tree put back by the undo before is used again
        QTRY_VERIFY_WITH_TIMEOUT(indexScans(u"advise_t.events_ts"_s) >= 5, 15000);
        const AdviceReport r = advise(m_conn, {u"brin"_s});
        const Finding* brin = findingOf(r, u"brin:advise_t.events.ts"_s);
        QVERIFY(brin);
        static const QRegularExpression name(u"IF NOT EXISTS (\\S+) ON"_s);
        const QString index = u"advise_t."_s + name.match(brin->sql[0]).captured(1);
        // A unique build over a constant fails and leaves its index invalid, as a killed one does.
        QVERIFY(!m_conn.exec(u"CREATE UNIQUE INDEX CONCURRENTLY %1 ON advise_t.events ((1))"_s.arg(name.match(brin->sql[0]).captured(1))).ok());
        QCOMPARE(m_conn.exec(u"SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)"_s, {index}).text(0, 0), u"f"_s);
        // Advised again (the table's indexes changed): the same index to build.
        const AdviceReport again = advise(m_conn, {u"brin"_s});
        brin = findingOf(again, u"brin:advise_t.events.ts"_s);
        QVERIFY(brin);
        QCOMPARE(u"advise_t."_s + name.match(brin->sql[0]).captured(1), index);
        const htap::store::AuditLog audit(m_dir.filePath(u"audit-invalid.sqlite"_s));
        AdviceService service(m_conn, audit);
        const ChangeOutcome a = service.apply(*brin, {});
        QVERIFY2(a.ok && a.message.contains(u"invalid index left by an interrupted build"_s), qPrintable(a.message));
        const htap::pg::Result after = m_conn.exec(
            u"SELECT i.indisvalid, am.amname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
            u"WHERE i.indexrelid = to_regclass($1)"_s, {index});
        QCOMPARE(after.text(0, 0) + u' ' + after.text(0, 1), u"t brin"_s);
        QVERIFY2(service.undo(a.auditId, {}).ok, "undone");
        QCOMPARE(m_conn.exec(u"SELECT count(*) FROM pg_index WHERE indexrelid = to_regclass($1)"_s, {index}).toInt64(0, 0), 0);
    }

    void aTableChangedSinceTheAdviceIsRefused()
    {
        const AdviceReport r = advise(m_conn, {u"indexes"_s});
        const Finding* unused = findingOf(r, u"unused-index:advise_t.items_product_qty"_s);
        QVERIFY(unused);
        exec(m_conn, u"CREATE INDEX items_qty ON advise_t.items (qty)"_s);
        const htap::store::AuditLog audit(m_dir.filePath(u"audit.sqlite"_s));
        AdviceService service(m_conn, audit);
        const ChangeOutcome o = service.apply(*unused, {});
        exec(m_conn, u"DROP INDEX advise_t.items_qty"_s);
        QVERIFY(!o.ok);
        QVERIFY2(o.message.contains(u"changed since the advice"_s), qPrintable(o.message));
        QVERIFY(m_conn.exec(u"SELECT to_regclass('advise_t.items_product_qty') IS NOT NULL"_s).toBool(0, 0));
    }

    void aLockHeldElsewhereNamesItsHolder()
    {
        const AdviceReport r = advise(m_conn, {u"autovacuum"_s});
        const Finding* av = findingOf(r, u"autovacuum:advise_t.hot"_s);
        QVERIFY(av);
        Connection holder;
        openOrDie(holder);
        exec(holder, u"BEGIN"_s);
        exec(holder, u"LOCK TABLE advise_t.hot IN SHARE UPDATE EXCLUSIVE MODE"_s);
        const htap::store::AuditLog audit(m_dir.filePath(u"audit.sqlite"_s));
        AdviceService service(m_conn, audit);
        service.setLockTimeoutMs(300);
        const ChangeOutcome o = service.apply(*av, {});
        exec(holder, u"ROLLBACK"_s);
        QVERIFY(!o.ok);
        QVERIFY2(o.message.contains(u"could not get its lock"_s) && o.message.contains(u"pid %1"_s.arg(holder.backendPid()))
                && o.message.contains(u"ShareUpdateExclusiveLock"_s),
            qPrintable(o.message));
        QString error;
        QCOMPARE(audit.find(o.auditId, &error)->status, u"failed"_s);
        QCOMPARE(m_conn.exec(u"SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_class WHERE oid = 'advise_t.hot'::regclass"_s).text(0, 0), QString());
        // Without the lock held, the same finding goes in, and its undo takes it out again.
        const ChangeOutcome in = service.apply(*av, {});
        QVERIFY2(in.ok, qPrintable(in.message));
        QVERIFY(m_conn.exec(u"SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = 'advise_t.hot'::regclass"_s).text(0, 0).contains(u"autovacuum_vacuum_scale_factor="_s));
        QVERIFY2(service.undo(in.auditId, {}).ok, "undo");
        QCOMPARE(m_conn.exec(u"SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_class WHERE oid = 'advise_t.hot'::regclass"_s).text(0, 0), QString());
    }

    void withoutPrivilegesTheAdviceIsReadOnly()
    {
        Connection reader;
        openOrDie(reader, u"advise_reader"_s);
        const AdviceReport r = advise(reader, {u"autovacuum"_s, u"parallel"_s});
        const Finding* av = findingOf(r, u"autovacuum:advise_t.hot"_s);
        QVERIFY2(av, qPrintable(ids(r).join(u", "_s)));
        QVERIFY(!av->canApply);
        QVERIFY2(av->whyNotApply.contains(u"does not own"_s), qPrintable(av->whyNotApply));
        const Finding* par = findingOf(r, u"parallel:advise_olap"_s);
        QVERIFY2(par && !par->canApply && par->whyNotApply.contains(u"CREATEROLE"_s), par ? qPrintable(par->whyNotApply) : "no finding");
        QVERIFY(r.readOnly);
        const htap::store::AuditLog audit(m_dir.filePath(u"audit.sqlite"_s));
        AdviceService service(reader, audit);
        const ChangeOutcome o = service.apply(*av, {});
        QVERIFY(!o.ok);
        QVERIFY2(o.message.contains(u"cannot be applied here"_s), qPrintable(o.message));
        QCOMPARE(m_conn.exec(u"SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_class WHERE oid = 'advise_t.hot'::regclass"_s).text(0, 0), QString());
    }

    void hypopgMissingIsAFindingThatInstallsIt()
    {
        exec(m_conn, u"DROP EXTENSION IF EXISTS hypopg"_s);
        const AdviceReport r = advise(m_conn, {u"missing-index"_s});
        const Finding* f = findingOf(r, u"hypopg:install"_s);
        QVERIFY2(f, qPrintable(ids(r).join(u", "_s)));
        QCOMPARE(f->sql, QStringList {u"CREATE EXTENSION hypopg"_s});
        QVERIFY(!findingOf(r, u"missing-index:advise_t.big.code"_s));
        const htap::store::AuditLog audit(m_dir.filePath(u"audit.sqlite"_s));
        AdviceService service(m_conn, audit);
        const ChangeOutcome o = service.apply(*f, {});
        QVERIFY2(o.ok, qPrintable(o.message));
        QVERIFY(findingOf(advise(m_conn, {u"missing-index"_s}), u"missing-index:advise_t.big.code"_s));
    }

    void entriesLeftApplyingAreSettledFromTheServer()
    {
        // Three changes whose program stopped before recording the outcome: one whose transaction
        // rolled back, one that committed, one still open.
        const htap::store::AuditLog audit(m_dir.filePath(u"audit-settle.sqlite"_s));
        Connection other;
        openOrDie(other);
        auto entryFor = [&](const QString& end) {
            exec(other, u"BEGIN"_s);
            htap::store::AuditEntry e;
            e.server = u"test"_s;
            e.serverKey = htap::roles::serverKeyOf(m_conn);
            e.appliedBy = u"postgres"_s;
            e.kind = u"advice"_s;
            e.title = end.isEmpty() ? u"still open"_s : end;
            e.xid = other.exec(u"SELECT pg_current_xact_id()::text"_s).text(0, 0);
            QString error;
            const qint64 id = audit.begin(e, &error);
            if (!id)
                qFatal("audit: %s", qPrintable(error));
            if (!end.isEmpty())
                exec(other, end);
            return id;
        };
        const qint64 rolledBack = entryFor(u"ROLLBACK"_s);
        const qint64 committed = entryFor(u"COMMIT"_s);
        const qint64 open = entryFor(QString());
        AdviceService service(m_conn, audit);
        QString error;
        const QStringList notes = service.settleInterrupted(&error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(notes.size(), 2);
        QCOMPARE(audit.find(rolledBack, &error)->status, u"interrupted"_s);
        QCOMPARE(audit.find(committed, &error)->status, u"applied"_s);
        QCOMPARE(audit.find(open, &error)->status, u"applying"_s);
        exec(other, u"ROLLBACK"_s);
    }

    void theAdvisorPageAdvisesAppliesAndUndoes()
    {
        htap::ui::MainWindow window;
        window.resize(1024, 700);
        window.show();
        htap::ui::AdvisorPage* page = window.advisorPage();
        page->setAuditPath(m_dir.filePath(u"audit-gui.sqlite"_s));
        AdvisorOptions o = m_options;
        o.checks = {u"missing-index"_s, u"indexes"_s};
        page->setOptions(o);
        QSignalSpy advised(page, &htap::ui::AdvisorPage::advised);
        window.connectTo(htap::test::sandboxConnInfo());
        QTRY_VERIFY_WITH_TIMEOUT(window.connectionStateText().startsWith(u"Connected to"_s), 10000);
        window.showPage(u"Advisor"_s);
        QTRY_VERIFY_WITH_TIMEOUT(advised.count() >= 1, 30000);
        QVERIFY(page->findingsTable()->rowCount() >= 2);
        page->selectFinding(u"missing-index:advise_t.big.code"_s);
        QVERIFY2(page->sqlView()->toPlainText().contains(u"CREATE INDEX CONCURRENTLY IF NOT EXISTS \"big_code_idx\" ON \"advise_t\".\"big\" (\"code\");"_s),
            qPrintable(page->sqlView()->toPlainText()));
        QVERIFY(page->sqlView()->toPlainText().contains(u"DROP INDEX CONCURRENTLY IF EXISTS \"advise_t\".\"big_code_idx\";"_s));

        QSignalSpy applied(page, &htap::ui::AdvisorPage::applied);
        page->applySelectedWithoutConfirmation();
        QTRY_COMPARE_WITH_TIMEOUT(applied.count(), 1, 30000);
        const Proof p = applied.first().first().value<Proof>();
        QVERIFY2(p.change.ok, qPrintable(p.change.message));
        QVERIFY(m_conn.exec(u"SELECT to_regclass('advise_t.big_code_idx') IS NOT NULL"_s).toBool(0, 0));
        QCOMPARE(page->measureTable()->rowCount(), 1);
        QVERIFY(!page->measureTable()->item(0, 1)->text().isEmpty() && !page->measureTable()->item(0, 2)->text().isEmpty());
        QVERIFY2(p.after.statements.value(0).plan.contains(u"big_code_idx"_s), qPrintable(p.after.statements.value(0).plan));
        QTRY_VERIFY_WITH_TIMEOUT(page->changesTable()->rowCount() >= 1 && page->changesTable()->item(0, 4)->text() == u"applied"_s, 5000);
        const QString shot = qEnvironmentVariable("HTAP_TEST_BINDIR");
        if (!shot.isEmpty())
            window.grab().save(QDir(shot).filePath(u"../tst_advise-advisor.png"_s));

        QSignalSpy undone(page, &htap::ui::AdvisorPage::undone);
        page->undoLatestWithoutConfirmation();
        QTRY_COMPARE_WITH_TIMEOUT(undone.count(), 1, 30000);
        QVERIFY2(undone.first().first().value<ChangeOutcome>().ok, qPrintable(undone.first().first().value<ChangeOutcome>().message));
        QVERIFY(m_conn.exec(u"SELECT to_regclass('advise_t.big_code_idx') IS NULL"_s).toBool(0, 0));
    }
};

QTEST_MAIN(TestAdvise)
#include "tst_advise.moc"
