// The capture shared by the views of a table (engine generation 6): one statement trigger per
// base table and event runs every capturing view's statement over the same transition tables.
// Its own risks, on the sandbox, under concurrent random writers: a view disabled while the
// writers run leaves the shared function, and the other view of the table stays exact; a view
// enabled while the writers run joins it without losing or doubling a change; a view's capture
// switched off and on (htap.ivm_set_capture) leaves the other views capturing, flags only that
// view, and a table no view captures any more has no capture trigger at all. Capture mode c
// (row triggers of the htap_capture extension): views of one table in both modes, switched
// while writers without the engine's privileges run, a renamed column, an UPDATE of columns no
// view reads, a disabled row trigger, a partitioned table and a partition made later, a view
// calling a function of its own (refused), a REPEATABLE READ writer older than the switch, an
// inheritance child that leaves, values stored out of line (TOAST); bad input. The tables
// live in a schema of this test's own, so that its writes reach no other test's views.
#include "ivmtestutil.h"
#include "testutil.h"

#include <mv/mvservice.h>
#include <pg/identifier.h>

#include <QRandomGenerator>
#include <QScopeGuard>

#include <atomic>
#include <mutex>
#include <thread>

using namespace Qt::StringLiterals;
using namespace htap::mv;
using namespace htap::pg;

namespace {

const QString kSchema = u"IVM Capture"_s;

QString obj(const QString& name)
{
    return quoteQualified(kSchema, name);
}

/// Views over the one table t: an aggregate, an aggregate with a distinct count, and a join
/// view (one table with a primary key), so that the shared function runs statements of both
/// generators.
const QList<QPair<QString, QString>> kViews {
    {u"Totals"_s, u"SELECT g, count(*) AS n, sum(v) AS total FROM %1 GROUP BY g"_s},
    {u"Distinct"_s, u"SELECT g, count(DISTINCT v) AS n_values, max(v) AS top FROM %1 GROUP BY g"_s},
    {u"Large"_s, u"SELECT id, g, v FROM %1 WHERE v > 50"_s},
};

QString definition(int i)
{
    return kViews[i].second.arg(obj(u"t"_s));
}

} // namespace

class TestIvmCapture : public QObject
{
    Q_OBJECT

    Connection m_conn;

    /// Random writers on t until stop: single and multi-row inserts, updates of the group, the
    /// value and a column no view reads, deletes, and rolled-back work. Statements that fail
    /// (other than deadlocks between the writers) are counted, the first kept.
    struct Writers {
        std::atomic<bool> stop {false};
        std::atomic<int> committed {0}, unexpected {0};
        std::mutex lock;
        QString first;
        std::vector<std::thread> threads;
        QString role; ///< SET ROLE to this one first, when set

        void start(int n)
        {
            for (int i = 0; i < n; ++i)
                threads.emplace_back([this, i] { run(7000 + quint32(i)); });
        }
        /// Stops them; what failed, or empty.
        QString finish()
        {
            stop = true;
            for (std::thread& t : threads)
                t.join();
            threads.clear();
            return unexpected == 0 ? QString() : u"%1 statements failed, the first: %2"_s.arg(unexpected.load()).arg(first);
        }
        void run(quint32 seed)
        {
            Connection c;
            htap::test::openOrDie(c, u"tst_ivmcapture writer"_s);
            if (!role.isEmpty())
                c.exec(u"SET ROLE %1"_s.arg(quoteIdentifier(role)));
            QRandomGenerator rng(seed);
            const auto exec = [&](const QString& sql, const QVariantList& params = {}) {
                const Result r = c.exec(sql, params);
                if (!r.ok() && r.error().sqlstate != u"40P01"_s && r.error().sqlstate != u"25P02"_s && ++unexpected == 1) {
                    const std::lock_guard g(lock);
                    first = r.error().oneLine();
                }
                return r.ok();
            };
            const QString t = obj(u"t"_s);
            while (!stop) {
                exec(u"BEGIN"_s);
                const int op = rng.bounded(100);
                const int id = 1 + rng.bounded(3000);
                bool ok = true;
                if (op < 35)
                    ok = exec(u"INSERT INTO %1 (g, v) SELECT $1, $2 + k FROM generate_series(1, $3) k"_s.arg(t),
                        {rng.bounded(12), rng.bounded(100), 1 + (rng.bounded(4) == 0 ? rng.bounded(20) : 0)});
                else if (op < 55)
                    ok = exec(u"UPDATE %1 SET v = v + $2 WHERE id BETWEEN $1 AND $1 + $3"_s.arg(t), {id, rng.bounded(40) - 20, rng.bounded(3)});
                else if (op < 65)
                    ok = exec(u"UPDATE %1 SET g = $2 WHERE id = $1"_s.arg(t), {id, rng.bounded(12)});
                else if (op < 75)
                    ok = exec(u"UPDATE %1 SET note = note || 'x' WHERE id = $1"_s.arg(t), {id});
                else if (op < 90)
                    ok = exec(u"DELETE FROM %1 WHERE id BETWEEN $1 AND $1 + $2"_s.arg(t), {id, rng.bounded(2)});
                else {
                    exec(u"INSERT INTO %1 (g, v) VALUES (1, 1)"_s.arg(t));
                    ok = false;
                }
                if (ok && rng.bounded(8) > 0) {
                    exec(u"COMMIT"_s);
                    ++committed;
                } else {
                    exec(u"ROLLBACK"_s);
                }
            }
        }
    };

    /// The capture triggers on t, "name|event" sorted (per-view TRUNCATE triggers left out).
    QStringList sharedTriggers()
    {
        const Result r = m_conn.exec(
            u"SELECT string_agg(tgname || '|' || CASE WHEN tgtype & 4 <> 0 THEN 'INSERT' WHEN tgtype & 8 <> 0 THEN 'DELETE' "
            u"ELSE 'UPDATE' END, ',' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname LIKE 'htap\\_ivm\\_%' "
            u"AND tgtype & 32 = 0"_s,
            {obj(u"t"_s)});
        return r.text(0, 0).split(u',', Qt::SkipEmptyParts);
    }

    /// How many views' statements the shared INSERT capture function of t runs.
    int viewsInInsertCapture()
    {
        const Result r = m_conn.exec(u"SELECT (SELECT count(*) FROM regexp_matches(p.prosrc, '-- view [0-9]+', 'g')) FROM pg_proc p "
                                     u"WHERE p.pronamespace = 'htap_ivm'::regnamespace AND p.proname = 'c' || $1::regclass::oid || '_ins'"_s,
            {obj(u"t"_s)});
        return r.rowCount() == 1 ? int(r.toInt64(0, 0)) : 0;
    }

    int viewId(const QString& name)
    {
        return int(m_conn.exec(u"SELECT view_id FROM htap.ivm_views WHERE view_schema = $1 AND view_name = $2"_s, {kSchema, name})
                       .toInt64(0, 0));
    }

    /// When the guard goes: the view of this test's schema disabled and dropped, then its tables.
    auto dropLater(const QString& view, const QStringList& tables)
    {
        return qScopeGuard([this, view, tables] {
            MvService(m_conn).disableIncremental(obj(view));
            m_conn.exec(u"DROP MATERIALIZED VIEW IF EXISTS %1"_s.arg(obj(view)));
            for (const QString& t : tables)
                m_conn.exec(u"DROP TABLE IF EXISTS %1"_s.arg(obj(t)));
        });
    }

    void exactAfterDrain(const QString& name)
    {
        MvService s(m_conn);
        QVERIFY2(htap::test::ivmDrain(s, obj(name)), qPrintable(name));
        QCOMPARE(htap::test::ivmDifferences(m_conn, kSchema, name), 0);
    }

private Q_SLOTS:
    void initTestCase()
    {
        htap::test::openOrDie(m_conn, u"tst_ivmcapture"_s);
        MvService s(m_conn);
        QCOMPARE(s.ensureRegistry(), QString());
        QVERIFY(m_conn.exec(u"DROP SCHEMA IF EXISTS %1 CASCADE"_s.arg(quoteIdentifier(kSchema))).ok());
        s.recoverInterrupted(); // engines of views an earlier run dropped with its schema
        EXEC(m_conn, u"CREATE SCHEMA %1"_s.arg(quoteIdentifier(kSchema)));
        EXEC(m_conn, u"CREATE TABLE %1 (id serial PRIMARY KEY, g int, v int, note text NOT NULL DEFAULT '')"_s.arg(obj(u"t"_s)));
        EXEC(m_conn, u"INSERT INTO %1 (g, v) SELECT k % 12, k % 97 FROM generate_series(1, 3000) k"_s.arg(obj(u"t"_s)));
        EXEC(m_conn, u"ANALYZE %1"_s.arg(obj(u"t"_s)));
        for (int i = 0; i < kViews.size(); ++i)
            EXEC(m_conn, u"CREATE MATERIALIZED VIEW %1 AS %2"_s.arg(obj(kViews[i].first), definition(i)));
    }

    void cleanupTestCase()
    {
        MvService s(m_conn);
        for (const auto& v : kViews)
            s.disableIncremental(obj(v.first));
        m_conn.exec(u"DROP SCHEMA IF EXISTS %1 CASCADE"_s.arg(quoteIdentifier(kSchema)));
    }

    void oneTriggerPerTableAndEventForAllItsViews()
    {
        MvService s(m_conn);
        QCOMPARE(s.enableIncremental(obj(u"Totals"_s)), QString());
        QCOMPARE(s.enableIncremental(obj(u"Distinct"_s)), QString());
        const QString oid = m_conn.exec(u"SELECT $1::regclass::oid"_s, {obj(u"t"_s)}).text(0, 0);
        QCOMPARE(sharedTriggers(),
            (QStringList {u"htap_ivm_c%1_del|DELETE"_s.arg(oid), u"htap_ivm_c%1_ins|INSERT"_s.arg(oid), u"htap_ivm_c%1_upd|UPDATE"_s.arg(oid)}));
        QCOMPARE(viewsInInsertCapture(), 2);
        // Both views registered the shared triggers: a disabled one flags both.
        QCOMPARE(m_conn.exec(u"SELECT count(*) FROM htap.ivm_views v, unnest(v.triggers) t WHERE v.view_schema = $1 "
                             u"AND t LIKE '%|htap\\_ivm\\_c%'"_s,
                             {kSchema})
                     .toInt64(0, 0),
            6);
        // mv list says which views a view's capture triggers serve.
        ViewInfo info;
        QString error;
        QVERIFY2(s.find(obj(u"Totals"_s), &info, &error), qPrintable(error));
        QCOMPARE(info.captureSharedWith, QStringList {kSchema + u".Distinct"_s});
        EXEC(m_conn, u"INSERT INTO %1 (g, v) VALUES (1, 5), (2, 500)"_s.arg(obj(u"t"_s)));
        EXEC(m_conn, u"UPDATE %1 SET v = v + 1 WHERE id % 10 = 0"_s.arg(obj(u"t"_s)));
        EXEC(m_conn, u"DELETE FROM %1 WHERE id % 17 = 0"_s.arg(obj(u"t"_s)));
        exactAfterDrain(u"Totals"_s);
        exactAfterDrain(u"Distinct"_s);
    }

    void disableOneViewWhileWritersRun()
    {
        MvService s(m_conn);
        Writers w;
        w.start(3);
        QTest::qWait(1500);
        // Its statements leave the shared function in the disable's transaction: the other
        // view's capture goes on around it, and nothing writes to its dropped tables.
        QCOMPARE(s.disableIncremental(obj(u"Distinct"_s)), QString());
        QTest::qWait(1500);
        QCOMPARE(w.finish(), QString());
        QVERIFY(w.committed > 20);
        qInfo("%d transactions committed", w.committed.load());
        QCOMPARE(viewsInInsertCapture(), 1);
        QCOMPARE(m_conn.exec(u"SELECT relkind::text FROM pg_class WHERE oid = $1::regclass"_s, {obj(u"Distinct"_s)}).text(0, 0), u"m"_s);
        exactAfterDrain(u"Totals"_s);
    }

    void enableViewsWhileWritersRun()
    {
        // The enable's first transaction regenerates the shared function under SHARE ROW
        // EXCLUSIVE on t, and its first build starts after that commits: every change is in the
        // build's snapshot or captured for the new view, never both, never neither.
        MvService s(m_conn);
        Writers w;
        w.start(3);
        QTest::qWait(1000);
        QCOMPARE(s.enableIncremental(obj(u"Large"_s)), QString());
        QTest::qWait(500);
        QCOMPARE(s.enableIncremental(obj(u"Distinct"_s)), QString());
        QTest::qWait(1000);
        QCOMPARE(w.finish(), QString());
        QCOMPARE(viewsInInsertCapture(), 3);
        for (const auto& v : kViews) {
            QCOMPARE(m_conn.exec(u"SELECT state FROM htap.ivm_views WHERE view_schema = $1 AND view_name = $2"_s, {kSchema, v.first})
                         .text(0, 0),
                u"ready"_s);
            exactAfterDrain(v.first);
        }
    }

    void captureSwitchedOffPerView()
    {
        MvService s(m_conn);
        const int distinct = viewId(u"Distinct"_s);
        Writers w;
        w.start(2);
        QTest::qWait(500);
        EXEC(m_conn, u"SELECT htap.ivm_set_capture(%1, false)"_s.arg(distinct));
        QTest::qWait(1000);
        QCOMPARE(w.finish(), QString());
        QCOMPARE(viewsInInsertCapture(), 2);
        // Only that view is flagged, and says why; the others stay exact.
        ViewInfo info;
        QString error;
        QVERIFY2(s.find(obj(u"Distinct"_s), &info, &error), qPrintable(error));
        QVERIFY2(info.ivmReason.contains(u"switched off"_s), qPrintable(info.ivmReason));
        QCOMPARE(info.captureSharedWith, QStringList());
        // The views still capturing share the triggers with each other only.
        QVERIFY2(s.find(obj(u"Totals"_s), &info, &error), qPrintable(error));
        QCOMPARE(info.captureSharedWith, QStringList {kSchema + u".Large"_s});
        exactAfterDrain(u"Totals"_s);
        exactAfterDrain(u"Large"_s);
        QVERIFY(!s.refresh(obj(u"Distinct"_s), RefreshMode::Incremental).ok); // refused: a rebuild is needed

        // No view capturing t: no trigger left to fire.
        for (const auto& v : kViews)
            EXEC(m_conn, u"SELECT htap.ivm_set_capture(%1, false)"_s.arg(viewId(v.first)));
        QCOMPARE(sharedTriggers(), QStringList());
        EXEC(m_conn, u"INSERT INTO %1 (g, v) VALUES (3, 77)"_s.arg(obj(u"t"_s)));
        // A rebuild switches the view's capture on again and makes it exact.
        for (const auto& v : kViews) {
            const RefreshOutcome o = s.refresh(obj(v.first), RefreshMode::Rebuild);
            QVERIFY2(o.ok, qPrintable(o.message));
            QCOMPARE(htap::test::ivmDifferences(m_conn, kSchema, v.first), 0);
        }
        QCOMPARE(sharedTriggers().size(), 3);
        QCOMPARE(viewsInInsertCapture(), 3);
        EXEC(m_conn, u"UPDATE %1 SET v = v - 3 WHERE id % 7 = 0"_s.arg(obj(u"t"_s)));
        for (const auto& v : kViews)
            exactAfterDrain(v.first);
    }

    void captureModeCPerView()
    {
        MvService s(m_conn);
        const QString oid = m_conn.exec(u"SELECT $1::regclass::oid"_s, {obj(u"t"_s)}).text(0, 0);
        // Bad input says what is expected, and changes nothing.
        QVERIFY(s.setCaptureMode(obj(u"Totals"_s), u"C++"_s).contains(u"sql (statement triggers) or c"_s));
        QVERIFY(s.setCaptureMode(obj(u"t"_s), u"c"_s).contains(u"not a materialized view"_s));
        QVERIFY(s.setCaptureMode(obj(u"no such view"_s), u"c"_s).contains(u"no relation named"_s));

        // Two views in C, one in SQL: the table has both kinds of trigger, each view in one.
        QCOMPARE(s.setCaptureMode(obj(u"Totals"_s), u"c"_s), QString());
        QCOMPARE(s.setCaptureMode(obj(u"Large"_s), u"c"_s), QString());
        QCOMPARE(viewsInInsertCapture(), 1);
        QCOMPARE(sharedTriggers().size(), 6);
        QVERIFY2(sharedTriggers().contains(u"htap_ivm_r%1_upd|UPDATE"_s.arg(oid)), qPrintable(sharedTriggers().join(u' ')));
        ViewInfo info;
        QString error;
        QVERIFY2(s.find(obj(u"Totals"_s), &info, &error), qPrintable(error));
        QCOMPARE(info.captureMode, u"c"_s);
        QCOMPARE(info.captureSharedWith, QStringList {kSchema + u".Large"_s}); // the same triggers: the same mode
        QCOMPARE(info.captureModeText(), u"row triggers in C (c)"_s);

        // Writers that own nothing of the engine (only their table's privileges), while a view
        // switches to C and back: the row capture runs as the engine's owner, as the statement
        // capture does, and no change is lost or doubled at a switch.
        EXEC(m_conn, u"DROP ROLE IF EXISTS \"IVM Writer\""_s);
        EXEC(m_conn, u"CREATE ROLE \"IVM Writer\""_s);
        EXEC(m_conn, u"GRANT USAGE ON SCHEMA %1 TO \"IVM Writer\""_s.arg(quoteIdentifier(kSchema)));
        EXEC(m_conn, u"GRANT SELECT, INSERT, UPDATE, DELETE ON %1 TO \"IVM Writer\""_s.arg(obj(u"t"_s)));
        EXEC(m_conn, u"GRANT USAGE ON ALL SEQUENCES IN SCHEMA %1 TO \"IVM Writer\""_s.arg(quoteIdentifier(kSchema)));
        const auto dropRole = qScopeGuard([this] {
            m_conn.exec(u"REVOKE ALL ON ALL TABLES IN SCHEMA %1 FROM \"IVM Writer\""_s.arg(quoteIdentifier(kSchema)));
            m_conn.exec(u"REVOKE ALL ON ALL SEQUENCES IN SCHEMA %1 FROM \"IVM Writer\""_s.arg(quoteIdentifier(kSchema)));
            m_conn.exec(u"REVOKE ALL ON SCHEMA %1 FROM \"IVM Writer\""_s.arg(quoteIdentifier(kSchema)));
            m_conn.exec(u"DROP ROLE IF EXISTS \"IVM Writer\""_s);
        });
        Writers w;
        w.role = u"IVM Writer"_s;
        w.start(3);
        QTest::qWait(700);
        QCOMPARE(s.setCaptureMode(obj(u"Distinct"_s), u"c"_s), QString());
        QTest::qWait(700);
        QCOMPARE(s.setCaptureMode(obj(u"Large"_s), u"sql"_s), QString());
        QTest::qWait(700);
        QCOMPARE(w.finish(), QString());
        QVERIFY(w.committed > 20);
        qInfo("%d transactions committed by a writer without the engine's privileges", w.committed.load());
        for (const auto& v : kViews)
            exactAfterDrain(v.first);

        // A column the views read renamed (capitals, a quote) while they capture in C: the next
        // statement plans the capture under its new name.
        EXEC(m_conn, u"ALTER TABLE %1 RENAME COLUMN v TO \"Value \"\"V\"\"\""_s.arg(obj(u"t"_s)));
        EXEC(m_conn, u"INSERT INTO %1 (g, \"Value \"\"V\"\"\") VALUES (4, 61), (5, 7)"_s.arg(obj(u"t"_s)));
        EXEC(m_conn, u"UPDATE %1 SET \"Value \"\"V\"\"\" = \"Value \"\"V\"\"\" + 40 WHERE id % 11 = 0"_s.arg(obj(u"t"_s)));
        EXEC(m_conn, u"ALTER TABLE %1 RENAME COLUMN \"Value \"\"V\"\"\" TO v"_s.arg(obj(u"t"_s)));
        for (const auto& v : kViews)
            exactAfterDrain(v.first);

        // An UPDATE that changes no captured column is not captured; one that does, is.
        const auto pending = [&](const QString& view) -> qint64 { return s.find(obj(view), &info, &error) ? info.pendingRows : -1; };
        EXEC(m_conn, u"UPDATE %1 SET note = note || 'y', v = v WHERE id <= 50"_s.arg(obj(u"t"_s)));
        QCOMPARE(pending(u"Totals"_s), 0);
        EXEC(m_conn, u"UPDATE %1 SET v = v + 1 WHERE id <= 50"_s.arg(obj(u"t"_s)));
        QVERIFY(pending(u"Totals"_s) > 0);

        // Its row trigger disabled: the views in C say so and need a rebuild, which switches it
        // on again; the view in SQL is not concerned.
        EXEC(m_conn, u"ALTER TABLE %1 DISABLE TRIGGER %2"_s.arg(obj(u"t"_s), quoteIdentifier(u"htap_ivm_r%1_ins"_s.arg(oid))));
        QVERIFY2(s.find(obj(u"Totals"_s), &info, &error), qPrintable(error));
        QVERIFY2(info.ivmReason.contains(u"htap_ivm_r%1_ins"_s.arg(oid)), qPrintable(info.ivmReason));
        QVERIFY2(s.find(obj(u"Large"_s), &info, &error), qPrintable(error));
        QCOMPARE(info.ivmReason, QString());
        EXEC(m_conn, u"INSERT INTO %1 (g, v) VALUES (6, 66)"_s.arg(obj(u"t"_s))); // slips by
        for (const QString& v : {u"Totals"_s, u"Distinct"_s}) {
            const RefreshOutcome o = s.refresh(obj(v), RefreshMode::Rebuild);
            QVERIFY2(o.ok, qPrintable(o.message));
        }
        EXEC(m_conn, u"INSERT INTO %1 (g, v) VALUES (6, 67)"_s.arg(obj(u"t"_s)));
        for (const auto& v : kViews)
            exactAfterDrain(v.first);

        // All back to SQL: no row trigger left.
        for (const auto& v : kViews)
            QCOMPARE(s.setCaptureMode(obj(v.first), u"sql"_s), QString());
        QCOMPARE(sharedTriggers().size(), 3);
        QCOMPARE(viewsInInsertCapture(), 3);
    }

    void captureModeCOnPartitions()
    {
        // A partitioned table: the row triggers go on it once and its partitions clone them,
        // those made later too; a row that moves between partitions is captured as a delete
        // and an insert.
        MvService s(m_conn);
        EXEC(m_conn, u"CREATE TABLE %1 (id int, \"Day\" date NOT NULL, amount numeric, PRIMARY KEY (id, \"Day\")) "
                     u"PARTITION BY RANGE (\"Day\")"_s.arg(obj(u"Parted"_s)));
        EXEC(m_conn, u"CREATE TABLE %1 PARTITION OF %2 FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')"_s.arg(obj(u"Parted Jan"_s), obj(u"Parted"_s)));
        EXEC(m_conn, u"CREATE TABLE %1 PARTITION OF %2 FOR VALUES FROM ('2026-02-01') TO ('2026-03-01')"_s.arg(obj(u"Parted Feb"_s), obj(u"Parted"_s)));
        EXEC(m_conn, u"INSERT INTO %1 SELECT k, date '2026-01-01' + k % 59, k * 1.5 FROM generate_series(1, 500) k"_s.arg(obj(u"Parted"_s)));
        EXEC(m_conn, u"CREATE MATERIALIZED VIEW %1 AS SELECT \"Day\", count(*) AS n, sum(amount) AS total FROM %2 GROUP BY \"Day\""_s.arg(
            obj(u"By Day"_s), obj(u"Parted"_s)));
        const auto cleanup = dropLater(u"By Day"_s, {u"Parted"_s});
        QCOMPARE(s.enableIncremental(obj(u"By Day"_s)), QString());
        QCOMPARE(s.setCaptureMode(obj(u"By Day"_s), u"c"_s), QString());
        EXEC(m_conn, u"CREATE TABLE %1 PARTITION OF %2 FOR VALUES FROM ('2026-03-01') TO ('2026-04-01')"_s.arg(obj(u"Parted Mar"_s), obj(u"Parted"_s)));
        QCOMPARE(m_conn.exec(u"SELECT count(*) FROM pg_trigger WHERE tgname ~ '^htap_ivm_r[0-9]+_ins$' AND tgenabled = 'A' "
                             u"AND tgrelid IN (SELECT relid FROM pg_partition_tree($1::regclass))"_s,
                             {obj(u"Parted"_s)})
                     .toInt64(0, 0),
            4); // the parent and its three partitions
        EXEC(m_conn, u"INSERT INTO %1 VALUES (1001, '2026-03-05', 10), (1002, '2026-01-05', 20)"_s.arg(obj(u"Parted"_s)));
        EXEC(m_conn, u"UPDATE %1 SET \"Day\" = \"Day\" + 31 WHERE id % 9 = 0"_s.arg(obj(u"Parted"_s))); // across partitions
        EXEC(m_conn, u"UPDATE %1 SET amount = amount * 2 WHERE id % 7 = 0"_s.arg(obj(u"Parted"_s)));
        EXEC(m_conn, u"DELETE FROM %1 WHERE id % 13 = 0"_s.arg(obj(u"Parted"_s)));
        ViewInfo info;
        QString error;
        QVERIFY2(s.find(obj(u"By Day"_s), &info, &error), qPrintable(error));
        QCOMPARE(info.ivmReason, QString()); // the clones count as its capture triggers, enabled
        exactAfterDrain(u"By Day"_s);
    }

    void captureModeCRefusesWhatItCannotServe()
    {
        // A view calling a function of its own stays in mode sql: in C the function would run as
        // the engine's owner under the writer's search_path.
        MvService s(m_conn);
        EXEC(m_conn, u"CREATE FUNCTION %1(int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS 'BEGIN RETURN $1 > 50; END'"_s.arg(obj(u"Big"_s)));
        EXEC(m_conn, u"CREATE MATERIALIZED VIEW %1 AS SELECT g, count(*) AS n FROM %2 WHERE %3(v) GROUP BY g"_s.arg(
            obj(u"Mine"_s), obj(u"t"_s), obj(u"Big"_s)));
        const auto cleanup = qScopeGuard([&] {
            s.disableIncremental(obj(u"Mine"_s));
            m_conn.exec(u"DROP MATERIALIZED VIEW IF EXISTS %1"_s.arg(obj(u"Mine"_s)));
            m_conn.exec(u"DROP FUNCTION IF EXISTS %1(int)"_s.arg(obj(u"Big"_s)));
        });
        QCOMPARE(s.enableIncremental(obj(u"Mine"_s)), QString());
        const QString e = s.setCaptureMode(obj(u"Mine"_s), u"c"_s);
        QVERIFY2(e.contains(u"which is not built in"_s), qPrintable(e));
        ViewInfo info;
        QString error;
        QVERIFY2(s.find(obj(u"Mine"_s), &info, &error), qPrintable(error));
        QCOMPARE(info.captureMode, u"sql"_s);
        EXEC(m_conn, u"INSERT INTO %1 (g, v) VALUES (7, 70), (7, 7)"_s.arg(obj(u"t"_s)));
        exactAfterDrain(u"Mine"_s);
    }

    void captureModeCSeesTheSwitchFromAnOlderSnapshot()
    {
        // A REPEATABLE READ writer whose snapshot predates a switch to mode c fires the row
        // trigger (the catalog's latest) and must read the registry as committed now, not as its
        // snapshot saw it (it would find no view in mode c and capture nothing), in that
        // transaction and in the session's next ones.
        MvService s(m_conn);
        Connection rr;
        htap::test::openOrDie(rr, u"tst_ivmcapture repeatable read"_s);
        EXEC(rr, u"BEGIN ISOLATION LEVEL REPEATABLE READ"_s);
        EXEC(rr, u"SELECT count(*) FROM %1"_s.arg(obj(u"t"_s)));
        QCOMPARE(s.setCaptureMode(obj(u"Totals"_s), u"c"_s), QString());
        EXEC(rr, u"INSERT INTO %1 (g, v) VALUES (8, 80)"_s.arg(obj(u"t"_s)));
        EXEC(rr, u"COMMIT"_s);
        EXEC(rr, u"INSERT INTO %1 (g, v) VALUES (8, 81)"_s.arg(obj(u"t"_s)));
        exactAfterDrain(u"Totals"_s);
        QCOMPARE(s.setCaptureMode(obj(u"Totals"_s), u"sql"_s), QString());
    }

    void captureModeCFollowsInheritance()
    {
        // An inheritance child gets row triggers of its own; one that leaves (NO INHERIT) loses
        // them, and its rows stop reaching the parent's view.
        MvService s(m_conn);
        EXEC(m_conn, u"CREATE TABLE %1 (k int, v int)"_s.arg(obj(u"Inh"_s)));
        EXEC(m_conn, u"CREATE TABLE %1 () INHERITS (%2)"_s.arg(obj(u"Inh Kid"_s), obj(u"Inh"_s)));
        EXEC(m_conn, u"INSERT INTO %1 SELECT k, k FROM generate_series(1, 30) k"_s.arg(obj(u"Inh"_s)));
        EXEC(m_conn, u"CREATE MATERIALIZED VIEW %1 AS SELECT k % 3 AS g, count(*) AS n, sum(v) AS total FROM %2 GROUP BY k % 3"_s.arg(
            obj(u"Inh Sum"_s), obj(u"Inh"_s)));
        const auto cleanup = dropLater(u"Inh Sum"_s, {u"Inh Kid"_s, u"Inh"_s});
        QCOMPARE(s.enableIncremental(obj(u"Inh Sum"_s)), QString());
        QCOMPARE(s.setCaptureMode(obj(u"Inh Sum"_s), u"c"_s), QString());
        const auto rowTriggers = [&](const QString& table) {
            return m_conn.exec(u"SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname ~ '^htap_ivm_r'"_s, {obj(table)})
                .toInt64(0, 0);
        };
        QCOMPARE(rowTriggers(u"Inh Kid"_s), 3);
        EXEC(m_conn, u"INSERT INTO %1 VALUES (31, 31), (32, 32)"_s.arg(obj(u"Inh Kid"_s)));
        EXEC(m_conn, u"UPDATE %1 SET v = v + 1 WHERE k = 31"_s.arg(obj(u"Inh"_s)));
        exactAfterDrain(u"Inh Sum"_s);
        EXEC(m_conn, u"ALTER TABLE %1 NO INHERIT %2"_s.arg(obj(u"Inh Kid"_s), obj(u"Inh"_s)));
        QCOMPARE(rowTriggers(u"Inh Kid"_s), 0);
        const RefreshOutcome o = s.refresh(obj(u"Inh Sum"_s), RefreshMode::Rebuild); // its rows left with it
        QVERIFY2(o.ok, qPrintable(o.message));
        EXEC(m_conn, u"INSERT INTO %1 VALUES (40, 40)"_s.arg(obj(u"Inh Kid"_s)));
        EXEC(m_conn, u"INSERT INTO %1 VALUES (41, 41)"_s.arg(obj(u"Inh"_s)));
        exactAfterDrain(u"Inh Sum"_s);
    }

    void captureModeCCarriesToastedValues()
    {
        // Values stored out of line (TOAST: long text, jsonb, arrays) reach the deltas whole: the
        // delta insert takes them out of the base table's TOAST and stores them again; an UPDATE
        // that rewrites a long value to itself is not captured, one that changes it is.
        MvService s(m_conn);
        EXEC(m_conn, u"CREATE TABLE %1 (id int PRIMARY KEY, g int, body text, meta jsonb, tags text[])"_s.arg(obj(u"Docs"_s)));
        EXEC(m_conn, u"INSERT INTO %1 SELECT k, k % 3, repeat(md5(k::text), 400 + k), jsonb_build_object('k', k, 'pad', repeat('x', 3000)), "
                     u"ARRAY[k::text, repeat('y', 2500)] FROM generate_series(1, 60) k"_s.arg(obj(u"Docs"_s)));
        EXEC(m_conn, u"CREATE MATERIALIZED VIEW %1 AS SELECT g, max(body) AS top, count(*) AS n, min(length(body)) AS shortest, "
                     u"max(meta->>'pad') AS pad, count(DISTINCT tags) AS kinds FROM %2 GROUP BY g"_s.arg(obj(u"Longest"_s), obj(u"Docs"_s)));
        EXEC(m_conn, u"CREATE MATERIALIZED VIEW %1 AS SELECT id, body, meta FROM %2 WHERE g <> 1"_s.arg(obj(u"Doc Rows"_s), obj(u"Docs"_s)));
        // Guards end in reverse: the aggregate first, then the row view and the table.
        const auto cleanupRows = dropLater(u"Doc Rows"_s, {u"Docs"_s});
        const auto cleanup = dropLater(u"Longest"_s, {});
        for (const QString& v : {u"Longest"_s, u"Doc Rows"_s}) {
            QCOMPARE(s.enableIncremental(obj(v)), QString());
            QCOMPARE(s.setCaptureMode(obj(v), u"c"_s), QString());
        }
        EXEC(m_conn, u"INSERT INTO %1 SELECT k, k % 3, repeat(md5(k::text), 900 + k), jsonb_build_object('k', k, 'pad', repeat('z', 4000)), "
                     u"ARRAY[repeat('w', 3000)] FROM generate_series(61, 70) k"_s.arg(obj(u"Docs"_s)));
        EXEC(m_conn, u"UPDATE %1 SET meta = meta, tags = tags WHERE id % 6 = 0"_s.arg(obj(u"Docs"_s)));
        ViewInfo info;
        QString error;
        QVERIFY2(s.find(obj(u"Longest"_s), &info, &error), qPrintable(error));
        QCOMPARE(info.pendingRows, 10); // the inserts only
        EXEC(m_conn, u"UPDATE %1 SET g = (g + 1) % 3 WHERE id % 4 = 0"_s.arg(obj(u"Docs"_s)));
        EXEC(m_conn, u"UPDATE %1 SET body = body || 'tail' WHERE id % 5 = 0"_s.arg(obj(u"Docs"_s)));
        EXEC(m_conn, u"DELETE FROM %1 WHERE id % 7 = 0"_s.arg(obj(u"Docs"_s)));
        exactAfterDrain(u"Longest"_s);
        exactAfterDrain(u"Doc Rows"_s);
    }
};

QTEST_GUILESS_MAIN(TestIvmCapture)
#include "tst_ivmcapture.moc"
