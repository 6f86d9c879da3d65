// The partition finding's online move on the test sandbox (issue 25, item 3), on a small copy of
// orders in a schema whose names need quotes, while writer threads insert, update and delete
// orders (and write the same to a plain ledger table in the same transaction): a move killed
// half-way (htapctl SIGKILLed during the copy) leaves the table serving the writers and is undone;
// killed again, it is resumed and swapped; the table then equals the ledger (count and checksum),
// an incremental view over it is exact and captures the new table, a plain materialized view and
// a view read it; the swap's pause is reported; undo swaps back losing nothing; bad input.
#include "testutil.h"

#include <advise/adviceservice.h>
#include <advise/advisor.h>
#include <advise/partitionmove.h>
#include <mv/mvservice.h>
#include <roles/rolecatalog.h>
#include <ui/advisorpage.h>
#include <ui/mainwindow.h>
#include <ui/theme.h>

#include <QElapsedTimer>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTableWidget>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

using namespace Qt::StringLiterals;
using namespace htap::advise;
using htap::pg::Connection;

namespace {

const QString kTable = u"\"Part Move\".\"Orders\""_s;
const QString kFinding = u"partition:Part Move.Orders.created_at"_s;
const QString kStatement = u"SELECT count(*), sum(total_amount) FROM \"Part Move\".\"Orders\" WHERE created_at >= now() - interval '30 days'"_s;

void openOrDie(Connection& c, const QString& app = u"tst_partitionmove"_s)
{
    if (const htap::pg::PgError e = c.open(htap::test::sandboxConnInfo(), {10000, app}))
        qFatal("cannot connect to the test sandbox: %s", qPrintable(e.oneLine()));
}

void exec(Connection& c, const QString& sql)
{
    const htap::pg::Result r = c.exec(sql);
    if (!r.ok())
        qFatal("%s: %s", qPrintable(sql.left(200)), qPrintable(r.error().oneLine()));
}

/// Writer threads: the seed's order shape (an order, its item) plus updates and deletes, each
/// change written to the ledger too in the same transaction; every failed transaction counted.
class Writers
{
public:
    explicit Writers(int n)
    {
        for (int i = 0; i < n; ++i)
            m_threads.emplace_back([this, i] { loop(i); });
    }
    ~Writers() { stop(); }
    void stop()
    {
        m_stop = true;
        for (auto& t : m_threads)
            if (t.joinable())
                t.join();
    }
    int failed() const { return m_failed; }
    int committed() const { return m_committed; }
    double maxMs() const { return m_maxMs.load(); }
    QString firstError()
    {
        const std::lock_guard l(m_m);
        return m_error;
    }

private:
    void loop(int seed)
    {
        Connection c;
        openOrDie(c, u"tst_partitionmove writer"_s);
        // The seed's order role, with the grants of its tables only: a moved table must keep them.
        exec(c, u"SET ROLE oltp_user"_s);
        QRandomGenerator rng(quint32(1000 + seed));
        while (!m_stop) {
            QElapsedTimer t;
            t.start();
            const int what = int(rng.bounded(10));
            QString why;
            auto step = [&](const htap::pg::Result& x) {
                if (!x.ok() && why.isEmpty())
                    why = x.error().oneLine();
                return x.ok();
            };
            bool ok = step(c.exec(u"BEGIN"_s));
            htap::pg::Result r;
            if (what < 6) {
                r = c.exec(u"INSERT INTO \"Part Move\".\"Orders\" (user_id, total_amount, status) VALUES ($1, $2, 'pending') "
                           "RETURNING order_id, created_at, updated_at"_s,
                    {qint64(rng.bounded(1000)), QString::number(rng.bounded(10000) / 100.0, 'f', 2)});
                ok = ok && step(r);
                if (ok)
                    ok = step(c.exec(u"INSERT INTO \"Part Move\".ledger SELECT order_id, user_id, total_amount, status, created_at, updated_at "
                                     "FROM \"Part Move\".\"Orders\" WHERE order_id = $1"_s,
                             {r.toInt64(0, 0)}))
                        && step(c.exec(u"INSERT INTO \"Part Move\".items (order_id, qty) VALUES ($1, 1)"_s, {r.toInt64(0, 0)}));
            } else if (what < 9) {
                const qint64 id = 1 + rng.bounded(4000);
                r = c.exec(u"UPDATE \"Part Move\".\"Orders\" SET status = 'completed', total_amount = total_amount + 1, updated_at = now() "
                           "WHERE order_id = $1"_s,
                    {id});
                ok = ok && step(r)
                    && step(c.exec(u"UPDATE \"Part Move\".ledger l SET status = o.status, total_amount = o.total_amount, updated_at = o.updated_at "
                                   "FROM \"Part Move\".\"Orders\" o WHERE l.order_id = $1 AND o.order_id = $1"_s,
                        {id}));
            } else {
                // Only the loaded orders have no items: deleting them needs no cascade.
                const qint64 id = 1 + rng.bounded(4000);
                r = c.exec(u"DELETE FROM \"Part Move\".\"Orders\" WHERE order_id = $1"_s, {id});
                ok = ok && step(r) && step(c.exec(u"DELETE FROM \"Part Move\".ledger WHERE order_id = $1"_s, {id}));
            }
            const bool done = step(c.exec(ok ? u"COMMIT"_s : u"ROLLBACK"_s));
            if (!ok || !done) {
                ++m_failed;
                const std::lock_guard l(m_m);
                if (m_error.isEmpty())
                    m_error = why;
            } else {
                ++m_committed;
            }
            const double ms = t.nsecsElapsed() / 1e6;
            double seen = m_maxMs.load();
            while (ms > seen && !m_maxMs.compare_exchange_weak(seen, ms)) {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(3));
        }
    }

    std::vector<std::thread> m_threads;
    std::atomic<bool> m_stop {false};
    std::atomic<int> m_failed {0}, m_committed {0};
    std::atomic<double> m_maxMs {0};
    std::mutex m_m;
    QString m_error;
};

} // namespace

class TestPartitionMove : public QObject
{
    Q_OBJECT

    Connection m_conn;
    QTemporaryDir m_dir;

    QString auditPath() const { return m_dir.filePath(u"audit.sqlite"_s); }

    static AdvisorOptions partitionOnly()
    {
        AdvisorOptions o;
        o.checks = {u"partition"_s};
        o.schemas = {u"Part Move"_s};
        o.minPartitionBytes = 0;
        o.statements = {kStatement};
        return o;
    }

    AdviceReport advise()
    {
        QString error;
        AdviceReport r = runAdvisor(m_conn, partitionOnly(), &error);
        if (!error.isEmpty())
            qFatal("advisor: %s", qPrintable(error));
        return r;
    }

    /// htapctl advise apply of the finding, slowed down so that it can be killed mid-copy.
    void startSlowApply(QProcess& p, bool declarative)
    {
        QStringList args {u"advise"_s, u"apply"_s, kFinding, u"--yes"_s, u"--check"_s, u"partition"_s, u"--schema"_s, u"Part Move"_s,
            u"--min-partition-mb"_s, u"0"_s, u"--statement"_s, kStatement, u"--runs"_s, u"1"_s, u"--batch-rows"_s, u"200"_s,
            u"--batch-pause-ms"_s, u"400"_s, u"--audit"_s, auditPath(), u"--conn"_s, htap::test::sandboxConnInfo().toConnString()};
        if (declarative)
            args << u"--declarative"_s;
        p.setStandardInputFile(QProcess::nullDevice());
        p.start(qEnvironmentVariable("HTAP_TEST_BINDIR") + u"/htapctl"_s, args);
        QVERIFY(p.waitForStarted());
    }

    /// Waits until the move has copied at least rows rows, then SIGKILLs htapctl.
    void killAfter(QProcess& p, qint64 rows)
    {
        const QDeadlineTimer deadline(60000);
        qint64 copied = 0;
        while (!deadline.hasExpired() && p.state() != QProcess::NotRunning) {
            const auto r = m_conn.exec(u"SELECT rows_copied FROM htap.partition_moves WHERE source_name = 'Orders' AND phase = 'copying'"_s);
            copied = r.ok() && r.rowCount() ? r.toInt64(0, 0) : 0;
            if (copied >= rows)
                break;
            QThread::msleep(50);
        }
        QVERIFY2(copied >= rows, qPrintable(QString::fromUtf8(p.readAllStandardError())));
        p.kill();
        QVERIFY(p.waitForFinished(10000));
        QCOMPARE(p.exitStatus(), QProcess::CrashExit);
    }

    qint64 latestAuditId()
    {
        const htap::store::AuditLog audit(auditPath());
        QString error;
        const auto l = audit.list(htap::roles::serverKeyOf(m_conn), 1, &error);
        return l.isEmpty() ? 0 : l.first().id;
    }

    /// The table and the ledger hold the same rows: count and checksum.
    void compareWithLedger()
    {
        const QString sum = u"SELECT count(*), md5(coalesce(string_agg(format('%s|%s|%s|%s|%s|%s', order_id, user_id, total_amount, status, "
                            "created_at, updated_at), ',' ORDER BY order_id), '')) FROM %1"_s;
        const auto a = m_conn.exec(sum.arg(kTable)), b = m_conn.exec(sum.arg(u"\"Part Move\".ledger"_s));
        QVERIFY2(a.ok() && b.ok(), qPrintable(a.error().oneLine() + b.error().oneLine()));
        qInfo("rows %s (ledger %s), checksum %s (ledger %s)", qPrintable(a.text(0, 0)), qPrintable(b.text(0, 0)), qPrintable(a.text(0, 1)),
            qPrintable(b.text(0, 1)));
        QCOMPARE(a.text(0, 0), b.text(0, 0));
        QCOMPARE(a.text(0, 1), b.text(0, 1));
    }

    /// The incremental view, merged, equals its definition run afresh; so does the materialized view after a refresh.
    void viewsExact()
    {
        htap::mv::MvService mv(m_conn);
        const auto merged = mv.refresh(u"\"Part Move\".\"Daily\""_s, htap::mv::RefreshMode::Incremental);
        QVERIFY2(merged.ok || merged.message.contains(u"nothing"_s), qPrintable(merged.message));
        const QString def = u"SELECT date_trunc('day', created_at) AS day, count(*) AS n, sum(total_amount) AS amount FROM %1 GROUP BY 1"_s.arg(kTable);
        const auto diff = m_conn.exec(u"SELECT count(*) FROM ((SELECT day, n, amount FROM \"Part Move\".\"Daily\" EXCEPT ALL (%1)) UNION ALL "
                                      "((%1) EXCEPT ALL SELECT day, n, amount FROM \"Part Move\".\"Daily\")) d"_s.arg(def));
        QVERIFY2(diff.ok(), qPrintable(diff.error().oneLine()));
        QCOMPARE(diff.toInt64(0, 0), 0);
        const auto refreshed = mv.refresh(u"\"Part Move\".by_status"_s, htap::mv::RefreshMode::Plain);
        QVERIFY2(refreshed.ok, qPrintable(refreshed.message));
        const auto mvDiff = m_conn.exec(u"SELECT count(*) FROM ((SELECT status, n FROM \"Part Move\".by_status EXCEPT SELECT status, count(*) FROM %1 "
                                        "GROUP BY 1) UNION ALL (SELECT status, count(*) FROM %1 GROUP BY 1 EXCEPT SELECT status, n FROM "
                                        "\"Part Move\".by_status)) d"_s.arg(kTable));
        QCOMPARE(mvDiff.toInt64(0, 0), 0);
        QCOMPARE(m_conn.exec(u"SELECT count(*) FROM \"Part Move\".recent"_s).toInt64(0, 0),
            m_conn.exec(u"SELECT count(*) FROM %1 WHERE status = 'completed'"_s.arg(kTable)).toInt64(0, 0));
    }

    QString relkind(const QString& table = kTable)
    {
        return m_conn.exec(u"SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)"_s, {table}).text(0, 0);
    }

    /// A declarative move of a test table in batches of batchRows; between two batches (part of
    /// the table copied), once, meanwhile().
    static void moveWithOnce(PartitionMove& move, int batchRows, bool* done, std::function<void()> meanwhile)
    {
        PartitionMoveOptions o;
        o.batchRows = batchRows;
        o.declarativeOnly = true;
        move.setOptions(o);
        move.setProgress([done, meanwhile = std::move(meanwhile)](const QString& l) {
            if (!*done && l.startsWith(u"copied"_s)) {
                *done = true;
                meanwhile();
            }
        });
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        openOrDie(m_conn);
        m_conn.exec(u"SET client_min_messages = warning"_s);
        htap::mv::MvService mv(m_conn);
        QCOMPARE(mv.ensureRegistry(), QString());
        // A previous run's engine and move, if it was stopped.
        if (m_conn.exec(u"SELECT to_regclass('\"Part Move\".\"Daily\"') IS NOT NULL AND EXISTS (SELECT 1 FROM pg_class WHERE oid = "
                        "to_regclass('\"Part Move\".\"Daily\"') AND relkind = 'v')"_s)
                .toBool(0, 0))
            mv.disableIncremental(u"\"Part Move\".\"Daily\""_s);
        m_conn.exec(u"UPDATE htap.partition_moves SET phase = 'undone' WHERE source_schema = 'Part Move'"_s);
        // A run stopped half-way (or a move that went further than it should have) leaves its
        // log tables and capture functions behind; move ids start again with the state table.
        exec(m_conn, uR"(DO $$ DECLARE o record; busy boolean := false; BEGIN
            IF to_regclass('htap.partition_moves') IS NOT NULL THEN
                EXECUTE 'SELECT EXISTS (SELECT 1 FROM htap.partition_moves)' INTO busy;
            END IF;
            IF NOT busy THEN
                FOR o IN SELECT c.oid::regclass AS t FROM pg_class c WHERE c.relnamespace = 'htap'::regnamespace AND c.relkind = 'r'
                         AND c.relname LIKE 'partition\_move\_%' LOOP EXECUTE format('DROP TABLE %s CASCADE', o.t); END LOOP;
                FOR o IN SELECT p.oid::regprocedure AS f FROM pg_proc p WHERE p.pronamespace = 'htap'::regnamespace
                         AND p.proname LIKE 'partition\_move\_%' LOOP EXECUTE format('DROP FUNCTION %s CASCADE', o.f); END LOOP;
            END IF; END $$)"_s);
        m_conn.exec(u"DELETE FROM partman.part_config WHERE parent_table LIKE 'Part Move.%'"_s);
        exec(m_conn, u"DROP SCHEMA IF EXISTS \"Part Move\" CASCADE"_s);
        // Copy statements of builds before they were marked (htap_move_batch): not the application's.
        m_conn.exec(u"SELECT pg_stat_statements_reset(userid, dbid, queryid) FROM pg_stat_statements WHERE query LIKE 'WITH b AS (SELECT%Part Move%'"_s);
        // 4,000 orders over 4 months, one every 40 minutes up to now; a view, a materialized view
        // and one to make incremental over them; the order role's grants.
        const htap::pg::Result setup = m_conn.runScript(uR"(
            CREATE SCHEMA "Part Move";
            CREATE TABLE "Part Move"."Orders" (
                order_id bigint PRIMARY KEY, user_id bigint NOT NULL, total_amount numeric(12,2) NOT NULL CHECK (total_amount >= 0),
                status varchar(20) NOT NULL, created_at timestamp NOT NULL DEFAULT now(), updated_at timestamp NOT NULL DEFAULT now());
            CREATE SEQUENCE "Part Move"."Orders_order_id_seq" OWNED BY "Part Move"."Orders".order_id;
            ALTER TABLE "Part Move"."Orders" ALTER COLUMN order_id SET DEFAULT nextval('"Part Move"."Orders_order_id_seq"');
            CREATE INDEX "Orders by time" ON "Part Move"."Orders" (created_at);
            CREATE INDEX orders_user ON "Part Move"."Orders" (user_id);
            CREATE TABLE "Part Move".items (item_id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES "Part Move"."Orders" (order_id), qty int);
            CREATE TABLE "Part Move".ledger (order_id bigint PRIMARY KEY, user_id bigint, total_amount numeric(12,2), status varchar(20),
                created_at timestamp, updated_at timestamp);
            INSERT INTO "Part Move"."Orders" (user_id, total_amount, status, created_at, updated_at)
            SELECT g % 1000, (g % 500) + 0.25, CASE WHEN g % 3 = 0 THEN 'completed' ELSE 'pending' END,
                   now()::timestamp - (4001 - g) * interval '40 minutes', now()::timestamp - (4001 - g) * interval '40 minutes'
            FROM generate_series(1, 4000) g;
            INSERT INTO "Part Move".ledger SELECT order_id, user_id, total_amount, status, created_at, updated_at FROM "Part Move"."Orders";
            CREATE VIEW "Part Move".recent AS SELECT order_id, status FROM "Part Move"."Orders" WHERE status = 'completed';
            CREATE MATERIALIZED VIEW "Part Move".by_status AS SELECT status, count(*) AS n FROM "Part Move"."Orders" GROUP BY status;
            CREATE MATERIALIZED VIEW "Part Move"."Daily" AS SELECT date_trunc('day', created_at) AS day, count(*) AS n,
                sum(total_amount) AS amount FROM "Part Move"."Orders" GROUP BY 1;
            CREATE UNIQUE INDEX daily_day ON "Part Move"."Daily" (day);
            ANALYZE "Part Move"."Orders";
            GRANT USAGE ON SCHEMA "Part Move" TO oltp_user;
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "Part Move" TO oltp_user;
            GRANT USAGE ON ALL SEQUENCES IN SCHEMA "Part Move" TO oltp_user;
        )"_s);
        QVERIFY2(setup.ok(), qPrintable(setup.error().oneLine()));
        QString notes;
        QCOMPARE(mv.enableIncremental(u"\"Part Move\".\"Daily\""_s, &notes), QString());
    }

    void cleanupTestCase()
    {
        htap::mv::MvService mv(m_conn);
        mv.disableIncremental(u"\"Part Move\".\"Daily\""_s);
        m_conn.exec(u"DELETE FROM partman.part_config WHERE parent_table LIKE 'Part Move.%'"_s);
        m_conn.exec(u"DROP SCHEMA IF EXISTS \"Part Move\" CASCADE"_s);
        m_conn.exec(u"DROP TABLE IF EXISTS htap.partition_moves CASCADE"_s);
    }

    void theFindingSaysHowAndWhatStandsInTheWay()
    {
        const AdviceReport r = advise();
        const Finding* f = r.find(kFinding);
        QVERIFY2(f, qPrintable(r.notes.join(u"; "_s)));
        QVERIFY(f->isMove());
        QVERIFY2(f->canApply, qPrintable(f->whyNotApply));
        QVERIFY(!f->inTransaction);
        QVERIFY(f->note.contains(u"Method: "_s));
        QVERIFY(f->note.contains(u"postgresql-15-partman"_s) || f->note.contains(u"pg_partman"_s));
        QVERIFY2(f->note.contains(u"items_order_id_fkey"_s), qPrintable(f->note));
        QVERIFY(f->note.contains(u"Part Move.Daily"_s));
        QCOMPARE(Finding::fromJson(f->toJson()).moveTable, u"Orders"_s);
    }

    void whatTheMoveWouldNotCarryIsRefused()
    {
        // A trigger of the application's, row-level security, a column grant, a rule, a publication: the
        // partitioned table would not get them, so the finding says so and apply refuses,
        // naming each and changing nothing. (Before, the new table ran without them after the
        // swap: an audit trigger silently stopped, every row shown past the policy.)
        const htap::store::AuditLog audit(auditPath());
        AdviceService service(m_conn, audit);
        exec(m_conn, u"CREATE FUNCTION \"Part Move\".stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); "
                     "RETURN NEW; END $$"_s);
        const QList<QPair<QString, QString>> cases {
            {u"CREATE TRIGGER \"Stamp It\" BEFORE UPDATE ON \"Part Move\".\"Orders\" FOR EACH ROW EXECUTE FUNCTION \"Part Move\".stamp()"_s,
                u"trigger \"Stamp It\""_s},
            {u"ALTER TABLE \"Part Move\".\"Orders\" ENABLE ROW LEVEL SECURITY; CREATE POLICY own_rows ON \"Part Move\".\"Orders\" "
             "USING (user_id = 7)"_s,
                u"policy own_rows"_s},
            {u"GRANT UPDATE (status) ON \"Part Move\".\"Orders\" TO olap_user"_s, u"column grants on status"_s},
            {u"CREATE RULE no_delete AS ON DELETE TO \"Part Move\".\"Orders\" DO INSTEAD NOTHING"_s, u"rule no_delete"_s},
            {u"CREATE PUBLICATION \"Part Move orders\" FOR TABLE \"Part Move\".\"Orders\""_s, u"publication \"Part Move orders\""_s},
        };
        const QStringList undo {u"DROP TRIGGER \"Stamp It\" ON \"Part Move\".\"Orders\""_s,
            u"DROP POLICY own_rows ON \"Part Move\".\"Orders\"; ALTER TABLE \"Part Move\".\"Orders\" DISABLE ROW LEVEL SECURITY"_s,
            u"REVOKE UPDATE (status) ON \"Part Move\".\"Orders\" FROM olap_user"_s, u"DROP RULE no_delete ON \"Part Move\".\"Orders\""_s, u"DROP PUBLICATION \"Part Move orders\""_s};
        for (int i = 0; i < cases.size(); ++i) {
            // Made after the advice: the move itself refuses.
            const AdviceReport before = advise();
            QVERIFY(before.find(kFinding) && before.find(kFinding)->canApply);
            const htap::pg::Result made = m_conn.runScript(cases[i].first);
            QVERIFY2(made.ok(), qPrintable(made.error().oneLine()));
            const ChangeOutcome o = service.apply(*before.find(kFinding), {});
            QVERIFY(!o.ok);
            QVERIFY2(o.message.contains(cases[i].second) && o.message.contains(u"would not carry"_s), qPrintable(o.message));
            QCOMPARE(relkind(), u"r"_s);
            QVERIFY(m_conn.exec(u"SELECT to_regclass('\"Part Move\".\"Orders_p\"') IS NULL"_s).toBool(0, 0));
            // And the advice made now says why it cannot be applied.
            const AdviceReport r = advise();
            const Finding* f = r.find(kFinding);
            QVERIFY2(f, qPrintable(r.notes.join(u"; "_s)));
            QVERIFY2(!f->canApply && f->whyNotApply.contains(cases[i].second), qPrintable(f->whyNotApply));
            const htap::pg::Result undone = m_conn.runScript(undo[i]);
            QVERIFY2(undone.ok(), qPrintable(undone.error().oneLine()));
        }
        exec(m_conn, u"DROP FUNCTION \"Part Move\".stamp()"_s);
        const AdviceReport r = advise();
        QVERIFY2(r.find(kFinding) && r.find(kFinding)->canApply, qPrintable(r.find(kFinding) ? r.find(kFinding)->whyNotApply : QString()));
    }

    void killedHalfWayServesWritersAndUndoes()
    {
        Writers writers(3);
        QProcess p;
        startSlowApply(p, true);
        killAfter(p, 400);
        // The table serves the writers as before; its capture trigger goes on logging.
        const int before = writers.committed();
        QThread::msleep(500);
        QVERIFY(writers.committed() > before);
        QCOMPARE(relkind(), u"r"_s);
        QCOMPARE(m_conn.exec(u"SELECT phase FROM htap.partition_moves WHERE source_name = 'Orders' ORDER BY id DESC LIMIT 1"_s).text(0, 0), u"copying"_s);
        // Undo of its audit entry (left "applying" by the killed program) drops the copy.
        const htap::store::AuditLog audit(auditPath());
        AdviceService service(m_conn, audit);
        const qint64 id = latestAuditId();
        QVERIFY(id > 0);
        const ChangeOutcome u = service.undo(id, {});
        QVERIFY2(u.ok, qPrintable(u.message));
        writers.stop();
        QVERIFY2(writers.failed() == 0, qPrintable(writers.firstError()));
        QCOMPARE(m_conn.exec(u"SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname LIKE 'htap_partition_move%'"_s, {kTable}).toInt64(0, 0), 0);
        QVERIFY(m_conn.exec(u"SELECT to_regclass('\"Part Move\".\"Orders_p\"') IS NULL"_s).toBool(0, 0));
        compareWithLedger();
    }

    void movesUnderWritersResumedAfterAKill()
    {
        Writers writers(3);
        QProcess p;
        startSlowApply(p, false);
        killAfter(p, 600);
        const qint64 killed = latestAuditId();
        // Resumed in this process, writers still going, through the advisor like any finding.
        const htap::store::AuditLog audit(auditPath());
        AdviceService service(m_conn, audit);
        PartitionMoveOptions o;
        o.batchRows = 500;
        service.setPartitionOptions(o);
        QStringList progress;
        service.setProgress([&](const QString& l) { progress << l; });
        const AdviceReport r = advise();
        const Finding* f = r.find(kFinding);
        QVERIFY(f);
        QVERIFY(f->note.contains(u"under way"_s));
        {
            // While another program works on the move (its claim held), this one is refused, named
            // the holder, and touches nothing.
            Connection other;
            openOrDie(other, u"tst_partitionmove other program"_s);
            QVERIFY(other.exec(u"SELECT pg_advisory_lock(hashtext('htap partition move'), hashtext('\"Part Move\".\"Orders\"'))"_s).ok());
            const qint64 copied = m_conn.exec(u"SELECT rows_copied FROM htap.partition_moves WHERE source_name = 'Orders' AND phase = 'copying'"_s).toInt64(0, 0);
            const ChangeOutcome busy = service.apply(*f, {});
            QVERIFY(!busy.ok);
            QVERIFY2(busy.message.contains(u"another program is working on the move"_s) && busy.message.contains(u"pid "_s), qPrintable(busy.message));
            QCOMPARE(m_conn.exec(u"SELECT rows_copied FROM htap.partition_moves WHERE source_name = 'Orders' AND phase = 'copying'"_s).toInt64(0, 0), copied);
        }
        const Proof proof = service.applyAndMeasure(*f, {}, 1);
        QVERIFY2(proof.change.ok, qPrintable(proof.change.message + u" | "_s + progress.join(u" | "_s)));
        QThread::msleep(500); // writers on the new table
        writers.stop();
        const QJsonObject move = proof.change.move;
        qInfo("%s", qPrintable(proof.change.message));
        qInfo("swap pause %.1f ms (lock wait %.1f ms, held %.1f ms); writers: %d committed, %d failed, slowest transaction %.1f ms",
            move.value(u"swap_pause_ms"_s).toDouble(), move.value(u"swap_lock_wait_ms"_s).toDouble(), move.value(u"swap_held_ms"_s).toDouble(),
            writers.committed(), writers.failed(), writers.maxMs());
        QVERIFY2(writers.failed() == 0, qPrintable(writers.firstError()));
        QVERIFY(move.value(u"swap_pause_ms"_s).toDouble() > 0);
        QVERIFY(proof.change.message.contains(u"resumed"_s) || move.value(u"notes"_s).toArray().first().toString().contains(u"resumed"_s));
        // The killed program's entry no longer says "applying": the resumed run settled it.
        QString error;
        const auto entry = audit.find(killed, &error);
        QVERIFY2(entry, qPrintable(error));
        QCOMPARE(entry->status, u"interrupted"_s);
        QVERIFY2(entry->message.contains(u"resumed by #%1"_s.arg(proof.change.auditId)), qPrintable(entry->message));
        QCOMPARE(relkind(), u"p"_s);
        QVERIFY(m_conn.exec(u"SELECT count(*) FROM pg_inherits WHERE inhparent = to_regclass($1)"_s, {kTable}).toInt64(0, 0) >= 5);
        // The serial goes on with the new table, which owns it.
        QCOMPARE(m_conn.exec(u"SELECT pg_get_serial_sequence($1, 'order_id')"_s, {kTable}).text(0, 0), u"\"Part Move\".\"Orders_order_id_seq\""_s);
        QVERIFY(m_conn.exec(u"SELECT to_regclass('\"Part Move\".\"Orders_old\"') IS NOT NULL"_s).toBool(0, 0));
        QVERIFY(m_conn.exec(u"SELECT to_regclass('\"Part Move\".\"Orders by time\"') IS NOT NULL AND "
                            "(SELECT indrelid FROM pg_index WHERE indexrelid = to_regclass('\"Part Move\".\"Orders by time\"')) = to_regclass($1)"_s,
            {kTable})
                    .toBool(0, 0));
        compareWithLedger();
        // The incremental view's capture is on the new table: writes after the swap reach it.
        QVERIFY(m_conn.exec(u"SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname LIKE '%ivm%'"_s, {kTable}).toInt64(0, 0) > 0);
        QCOMPARE(m_conn.exec(u"SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass('\"Part Move\".\"Orders_old\"') AND tgname LIKE '%ivm%'"_s).toInt64(0, 0), 0);
        exec(m_conn, u"INSERT INTO \"Part Move\".\"Orders\" (user_id, total_amount, status) VALUES (1, 5, 'completed')"_s);
        exec(m_conn, u"INSERT INTO \"Part Move\".ledger SELECT order_id, user_id, total_amount, status, created_at, updated_at FROM \"Part Move\".\"Orders\" "
                     "WHERE order_id = (SELECT max(order_id) FROM \"Part Move\".\"Orders\")"_s);
        viewsExact();
        // Pruning: a month's range reads one partition.
        const auto plan = m_conn.exec(u"EXPLAIN (FORMAT JSON) SELECT count(*) FROM %1 WHERE created_at >= date_trunc('month', now()::timestamp) "
                                      "AND created_at < date_trunc('month', now()::timestamp) + interval '1 month'"_s.arg(kTable));
        QCOMPARE(plan.text(0, 0).count(u"\"Relation Name\""_s), 1);
        // The finish finding is offered, and the table is no longer a candidate.
        const AdviceReport after = advise();
        QVERIFY(!after.find(kFinding));
        QVERIFY(after.find(u"partition-finish:Part Move.Orders"_s));
    }

    void undoAfterTheSwapSwapsBackLosingNothing()
    {
        Writers writers(3);
        QThread::msleep(300);
        const htap::store::AuditLog audit(auditPath());
        AdviceService service(m_conn, audit);
        const qint64 id = latestAuditId();
        const ChangeOutcome u = service.undo(id, {});
        QVERIFY2(u.ok, qPrintable(u.message));
        QThread::msleep(300);
        writers.stop();
        qInfo("%s", qPrintable(u.message));
        QVERIFY2(writers.failed() == 0, qPrintable(writers.firstError()));
        QCOMPARE(relkind(), u"r"_s);
        QVERIFY(m_conn.exec(u"SELECT to_regclass('\"Part Move\".\"Orders_p\"') IS NULL AND to_regclass('\"Part Move\".\"Orders_old\"') IS NULL"_s).toBool(0, 0));
        QVERIFY(m_conn.exec(u"SELECT convalidated FROM pg_constraint WHERE conname = 'items_order_id_fkey' AND confrelid = to_regclass($1)"_s, {kTable}).toBool(0, 0));
        compareWithLedger();
        viewsExact();
        QCOMPARE(audit.find(id, nullptr) ? audit.find(id, nullptr)->status : QString(), u"undone"_s);
    }

    void theAdvisorPageMovesAndUndoesOnAWorker()
    {
        htap::ui::MainWindow window;
        htap::ui::AdvisorPage* page = window.advisorPage();
        page->setOptions(partitionOnly());
        page->setAuditPath(m_dir.filePath(u"audit-gui.sqlite"_s));
        window.resize(1024, 700);
        window.show();
        QSignalSpy advised(page, &htap::ui::AdvisorPage::advised);
        window.connectTo(htap::test::sandboxConnInfo());
        QTRY_VERIFY_WITH_TIMEOUT(window.connectionStateText().startsWith(u"Connected to"_s), 10000);
        window.showPage(u"Advisor"_s);
        QTRY_VERIFY_WITH_TIMEOUT(advised.count() >= 1, 30000);
        page->selectFinding(kFinding);
        // The moves before ran their copy statements here: they are not taken for the application's.
        const Finding* shown = page->report().find(kFinding);
        QVERIFY2(shown, "the partition finding is not on the page");
        for (const Evidence& e : shown->evidence)
            QVERIFY2(!e.text.contains(u"htap_move_"_s) && !e.text.contains(u"WITH b AS"_s), qPrintable(e.text));
        QVERIFY2(page->sqlView()->toPlainText().contains(u"PARTITION BY RANGE (\"created_at\")"_s), qPrintable(page->sqlView()->toPlainText()));
        QVERIFY(page->sqlView()->toPlainText().contains(u"-- after it: the writes since copied back"_s));
        // Nothing scrolls sideways at 1024 wide; the pictures to look at, light and dark.
        QVERIFY(!page->sqlView()->horizontalScrollBar()->isVisible());
        if (const QString bin = qEnvironmentVariable("HTAP_TEST_BINDIR"); !bin.isEmpty()) {
            window.grab().save(QDir(bin).filePath(u"../tst_partitionmove-advisor.png"_s));
            htap::ui::applyTheme(htap::ui::Theme::Dark);
            QCoreApplication::processEvents();
            window.grab().save(QDir(bin).filePath(u"../tst_partitionmove-advisor-dark.png"_s));
            htap::ui::applyTheme(htap::ui::Theme::Light);
        }

        QSignalSpy applied(page, &htap::ui::AdvisorPage::applied);
        page->applySelectedWithoutConfirmation();
        QTRY_COMPARE_WITH_TIMEOUT(applied.count(), 1, 60000);
        const Proof p = applied.first().first().value<Proof>();
        QVERIFY2(p.change.ok, qPrintable(p.change.message));
        QCOMPARE(relkind(), u"p"_s);
        QVERIFY(p.change.move.value(u"swap_pause_ms"_s).toDouble() > 0);
        QTRY_VERIFY_WITH_TIMEOUT(page->changesTable()->rowCount() >= 1 && page->changesTable()->item(0, 4)->text() == u"applied"_s, 5000);
        if (const QString bin = qEnvironmentVariable("HTAP_TEST_BINDIR"); !bin.isEmpty())
            window.grab().save(QDir(bin).filePath(u"../tst_partitionmove-applied.png"_s));

        QSignalSpy undone(page, &htap::ui::AdvisorPage::undone);
        page->undoLatestWithoutConfirmation();
        QTRY_COMPARE_WITH_TIMEOUT(undone.count(), 1, 60000);
        QVERIFY2(undone.first().first().value<ChangeOutcome>().ok, qPrintable(undone.first().first().value<ChangeOutcome>().message));
        QCOMPARE(relkind(), u"r"_s);
        compareWithLedger();
    }

    void badInput()
    {
        const htap::store::AuditLog audit(auditPath());
        AdviceService service(m_conn, audit);
        // pg_partman missing: plain declarative partitions, and the finding says how to install it.
        if (m_conn.exec(u"SELECT count(*) FROM pg_extension WHERE extname = 'pg_partman'"_s).toInt64(0, 0) == 1) {
            exec(m_conn, u"DROP EXTENSION pg_partman"_s);
            const AdviceReport r = advise();
            const QString note = r.find(kFinding) ? r.find(kFinding)->note : QString();
            exec(m_conn, u"CREATE EXTENSION pg_partman SCHEMA partman"_s);
            QVERIFY2(note.contains(u"plain declarative"_s) && note.contains(u"postgresql-15-partman"_s)
                    && note.contains(u"CREATE EXTENSION pg_partman SCHEMA partman"_s),
                qPrintable(note));
        }
        // A table changed since the advice.
        AdviceReport r = advise();
        Finding f = *r.find(kFinding);
        exec(m_conn, u"ALTER TABLE \"Part Move\".\"Orders\" ADD COLUMN note text"_s);
        ChangeOutcome o = service.apply(f, {});
        QVERIFY(!o.ok);
        QVERIFY2(o.message.contains(u"changed since the advice"_s), qPrintable(o.message));
        exec(m_conn, u"ALTER TABLE \"Part Move\".\"Orders\" DROP COLUMN note"_s);
        // A lock that cannot be had: a report holds the table; the swap says who, the table stays plain.
        Connection holder;
        openOrDie(holder, u"tst_partitionmove holder"_s);
        r = advise();
        f = *r.find(kFinding);
        PartitionMoveOptions po;
        po.lockTimeoutMs = 200;
        po.swapAttempts = 2;
        service.setPartitionOptions(po);
        QStringList progress;
        service.setProgress([&](const QString& l) {
            progress << l;
            if (l.startsWith(u"replaying"_s) && progress.filter(u"replaying"_s).size() == 1) {
                exec(holder, u"BEGIN"_s);
                exec(holder, u"SELECT count(*) FROM \"Part Move\".\"Orders\""_s);
            }
        });
        o = service.apply(f, {});
        exec(holder, u"ROLLBACK"_s);
        QVERIFY(!o.ok);
        QVERIFY2(o.message.contains(u"could not get its locks"_s) && o.message.contains(u"tst_partitionmove holder"_s), qPrintable(o.message));
        QCOMPARE(relkind(), u"r"_s);
        // It stays resumable: undo drops the copy.
        const ChangeOutcome u = service.undo(o.auditId, {});
        QVERIFY2(u.ok, qPrintable(u.message));
        QVERIFY(m_conn.exec(u"SELECT to_regclass('\"Part Move\".\"Orders_p\"') IS NULL"_s).toBool(0, 0));
    }

    void finishDropsTheOldTableForGood()
    {
        const htap::store::AuditLog audit(auditPath());
        AdviceService service(m_conn, audit);
        service.setPartitionOptions({});
        AdviceReport r = advise();
        QVERIFY(r.find(kFinding));
        const ChangeOutcome moved = service.apply(*r.find(kFinding), {});
        QVERIFY2(moved.ok, qPrintable(moved.message));
        r = advise();
        const Finding* finish = r.find(u"partition-finish:Part Move.Orders"_s);
        QVERIFY(finish);
        QVERIFY(finish->undo.isEmpty());
        const ChangeOutcome done = service.apply(*finish, {});
        QVERIFY2(done.ok, qPrintable(done.message));
        QCOMPARE(relkind(), u"p"_s);
        QVERIFY(m_conn.exec(u"SELECT to_regclass('\"Part Move\".\"Orders_old\"') IS NULL"_s).toBool(0, 0));
        QCOMPARE(m_conn.exec(u"SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'htap_partition_move%'"_s).toInt64(0, 0), 0);
        QVERIFY(!advise().find(u"partition-finish:Part Move.Orders"_s));
        compareWithLedger();
        const ChangeOutcome again = service.undo(done.auditId, {});
        QVERIFY(!again.ok);
        QVERIFY2(again.message.contains(u"cannot be undone"_s), qPrintable(again.message));
    }

    /// An identity column (GENERATED ALWAYS): each table has its own sequence, so the swap sets
    /// the new table's to where the old one's was, and the swap back the other way: writers'
    /// next rows take the next numbers, no key given twice, in both directions.
    void anIdentityGoesOnWhereItWas()
    {
        const QString t = u"\"Part Move\".\"Ident Ity\""_s;
        exec(m_conn, u"CREATE TABLE %1 (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, created_at timestamp NOT NULL, note text)"_s.arg(t));
        exec(m_conn, u"INSERT INTO %1 (created_at, note) SELECT now()::timestamp - g * interval '1 hour', 'before' FROM generate_series(1, 1000) g"_s.arg(t));
        PartitionMove move(m_conn);
        bool wrote = false;
        moveWithOnce(move, 300, &wrote, [&] { // a writer during the copy, given 1001
            exec(m_conn, u"INSERT INTO %1 (created_at, note) VALUES (now(), 'during the copy')"_s.arg(t));
        });
        const PartitionMoveOutcome moved = move.run(u"Part Move"_s, u"Ident Ity"_s, u"created_at"_s);
        QVERIFY2(moved.ok, qPrintable(moved.message));
        QVERIFY(wrote);
        QCOMPARE(relkind(t), u"p"_s);
        const auto next = [&](const QString& note) {
            const auto r = m_conn.exec(u"INSERT INTO %1 (created_at, note) VALUES (now(), $1) RETURNING id"_s.arg(t), {note});
            return r.ok() ? r.text(0, 0) : r.error().oneLine();
        };
        QCOMPARE(next(u"after the swap"_s), u"1002"_s);
        QCOMPARE(m_conn.exec(u"SELECT count(*), count(DISTINCT id), max(id) FROM %1"_s.arg(t)).text(0, 0), u"1002"_s);
        const PartitionMoveOutcome undone = move.undo(moved.moveId);
        QVERIFY2(undone.ok, qPrintable(undone.message));
        QCOMPARE(relkind(t), u"r"_s);
        QCOMPARE(next(u"after the undo"_s), u"1003"_s);
        QCOMPARE(m_conn.exec(u"SELECT count(*) || '/' || count(DISTINCT id) FROM %1"_s.arg(t)).text(0, 0), u"1003/1003"_s);
        exec(m_conn, u"DROP TABLE %1"_s.arg(t));
    }

    /// Storage parameters (the autovacuum settings the advisor itself proposes, a fillfactor, a
    /// TOAST option): a partitioned table takes none, so they go to every partition and to
    /// pg_partman's template, which the partitions it makes later take them from. Before, the
    /// move dropped them without a word.
    void storageParametersGoToEveryPartition()
    {
        const QString t = u"\"Part Move\".\"Tuned Up\""_s;
        exec(m_conn, u"CREATE TABLE %1 (id bigint PRIMARY KEY, created_at timestamp NOT NULL, note text) "
                     "WITH (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.01, toast.autovacuum_enabled = false)"_s.arg(t));
        exec(m_conn, u"INSERT INTO %1 SELECT g, now()::timestamp - g * interval '1 hour', 'x' FROM generate_series(1, 1000) g"_s.arg(t));
        PartitionMove move(m_conn);
        move.setOptions({}); // pg_partman, when it is installed (the sandbox has it)
        const PartitionMoveOutcome moved = move.run(u"Part Move"_s, u"Tuned Up"_s, u"created_at"_s);
        QVERIFY2(moved.ok, qPrintable(moved.message));
        QVERIFY2(moved.method.startsWith(u"pg_partman"_s), qPrintable(moved.method));
        const QString wanted = u"{fillfactor=80,autovacuum_vacuum_scale_factor=0.01}|{autovacuum_enabled=false}"_s;
        const auto parts = m_conn.exec(u"SELECT c.relname, coalesce(c.reloptions::text, '') || '|' || coalesce(tc.reloptions::text, '') FROM pg_inherits i "
                                       "JOIN pg_class c ON c.oid = i.inhrelid LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid "
                                       "WHERE i.inhparent = to_regclass($1) ORDER BY 1"_s, {t});
        QVERIFY(parts.ok() && parts.rowCount() >= 5);
        for (int i = 0; i < parts.rowCount(); ++i)
            QVERIFY2(parts.text(i, 1) == wanted, qPrintable(parts.text(i, 0) + u": "_s + parts.text(i, 1)));
        const QString note = moved.notes.filter(u"storage parameters"_s).join(u" "_s);
        QVERIFY2(note.contains(u"template"_s), qPrintable(moved.notes.join(u" | "_s)));
        QCOMPARE(m_conn.exec(u"SELECT c.reloptions::text FROM partman.part_config p JOIN pg_class c ON c.oid = "
                             "(SELECT oid FROM pg_class x WHERE x.relnamespace::regnamespace::text || '.' || x.relname = p.template_table "
                             "OR x.relnamespace::regnamespace::text || '.' || quote_ident(x.relname) = p.template_table) "
                             "WHERE p.parent_table = 'Part Move.Tuned Up'"_s).text(0, 0),
            u"{fillfactor=80,autovacuum_vacuum_scale_factor=0.01}"_s);
        const PartitionMoveOutcome undone = move.undo(moved.moveId);
        QVERIFY2(undone.ok, qPrintable(undone.message));
        QCOMPARE(m_conn.exec(u"SELECT reloptions::text FROM pg_class WHERE oid = to_regclass($1)"_s, {t}).text(0, 0),
            u"{fillfactor=80,autovacuum_vacuum_scale_factor=0.01}"_s);
        // The undo took pg_partman's template for the copy along (before, every undo left one).
        QCOMPARE(m_conn.exec(u"SELECT count(*) FROM pg_tables WHERE schemaname = 'partman' AND tablename LIKE '%Tuned Up%'"_s).toInt64(0, 0), 0);
        exec(m_conn, u"DROP TABLE %1"_s.arg(t));
    }

    /// A TRUNCATE while the rows are copied, and another after the swap: neither the copy nor the
    /// undo's copy back brings the removed rows back (before, both did: the row triggers that log
    /// the writes do not see a TRUNCATE).
    void aTruncateDuringTheMoveStaysATruncate()
    {
        const QString t = u"\"Part Move\".\"Cut Short\""_s;
        // It refers to another table: TRUNCATE ... CASCADE of that one empties it and its copy in
        // one statement (both keep the foreign key), with the move's trigger firing in between.
        const QString parent = u"\"Part Move\".\"Cut Parent\""_s;
        exec(m_conn, u"CREATE TABLE %1 (id int PRIMARY KEY)"_s.arg(parent));
        exec(m_conn, u"INSERT INTO %1 VALUES (1)"_s.arg(parent));
        exec(m_conn, u"CREATE TABLE %1 (id bigint PRIMARY KEY, created_at timestamp NOT NULL, note text, parent int DEFAULT 1 REFERENCES %2)"_s.arg(t, parent));
        exec(m_conn, u"INSERT INTO %1 SELECT g, now()::timestamp - g * interval '1 hour', 'before' FROM generate_series(1, 2000) g"_s.arg(t));
        const auto contents = [&] {
            return m_conn.exec(u"SELECT coalesce(string_agg(id || ':' || note, ',' ORDER BY id), '') FROM %1"_s.arg(t)).text(0, 0);
        };
        Connection other;
        openOrDie(other, u"tst_partitionmove truncator"_s);
        PartitionMove move(m_conn);
        bool cut = false;
        moveWithOnce(move, 200, &cut, [&] {
            exec(other, u"TRUNCATE %1 CASCADE"_s.arg(parent));
            exec(other, u"INSERT INTO %1 VALUES (1)"_s.arg(parent));
            exec(other, u"INSERT INTO %1 VALUES (5001, now(), 'after the first truncate'), (5002, now(), 'after the first truncate')"_s.arg(t));
        });
        const PartitionMoveOutcome moved = move.run(u"Part Move"_s, u"Cut Short"_s, u"created_at"_s);
        QVERIFY2(moved.ok, qPrintable(moved.message));
        QVERIFY(cut);
        // Its functions act with the mover's rights: no one else may put them in a trigger.
        QCOMPARE(m_conn.exec(u"SELECT count(*) FROM pg_proc WHERE proname LIKE $1 AND has_function_privilege('oltp_user', oid, 'EXECUTE')"_s,
                     {u"partition_move_%1_%"_s.arg(moved.moveId)})
                     .toInt64(0, 0),
            0);
        QCOMPARE(relkind(t), u"p"_s);
        QCOMPARE(contents(), u"5001:after the first truncate,5002:after the first truncate"_s);
        // After the swap: the new table is truncated; the undo copies back what was written since.
        exec(other, u"TRUNCATE %1"_s.arg(t));
        exec(other, u"INSERT INTO %1 VALUES (6001, now(), 'after the second truncate')"_s.arg(t));
        const PartitionMoveOutcome undone = move.undo(moved.moveId);
        QVERIFY2(undone.ok, qPrintable(undone.message));
        QCOMPARE(relkind(t), u"r"_s);
        QCOMPARE(contents(), u"6001:after the second truncate"_s);
        // Nothing of the move is left: its triggers and its functions.
        QCOMPARE(m_conn.exec(u"SELECT count(*) FROM pg_trigger WHERE tgname LIKE $1"_s, {u"htap_partition_move_%1_%"_s.arg(moved.moveId)}).toInt64(0, 0), 0);
        QCOMPARE(m_conn.exec(u"SELECT count(*) FROM pg_proc WHERE proname LIKE $1"_s, {u"partition_move_%1_%"_s.arg(moved.moveId)}).toInt64(0, 0), 0);
        exec(m_conn, u"DROP TABLE %1, %2"_s.arg(t, parent));
    }
};

QTEST_MAIN(TestPartitionMove)
#include "tst_partitionmove.moc"
