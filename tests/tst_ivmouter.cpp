// Outer joins over tables without keys, maintained incrementally on the sandbox (counted views
// whose merges recompute the part of the view the changes reach, docs/ivm.md), and EXISTS over
// them (a semi-join, merged the same way): --check passes
// and enable succeeds; a bulk change large against the base is rebuilt instead and logged so;
// then concurrent random writers (inserts, updates that move rows to other matches, NULL join
// values, multi-row deletes, rollbacks) with merges interleaved, compared row for row with the
// definitions. The tables live in a schema of this test's own.
#include "ivmtestutil.h"
#include "testutil.h"

#include <mv/mvservice.h>
#include <pg/identifier.h>

#include <QRandomGenerator>

#include <atomic>
#include <mutex>
#include <thread>

using namespace Qt::StringLiterals;
using namespace htap::mv;
using namespace htap::pg;

namespace {

const QString kSchema = u"ivm outer"_s;

struct View {
    QString name;
    QString definition;
};

// Three keyless tables joined two ways, the distinct rows of a full join with a WHERE, a table
// full-joined with itself, and a semi-join.
const QList<View> kViews {
    {u"rst"_s, u"SELECT r.i AS ri, s.i AS si, s.j AS sj, t.j AS tj, t.v FROM r FULL JOIN s ON r.i = s.i LEFT JOIN t ON s.j = t.j"_s},
    {u"rst distinct"_s, u"SELECT DISTINCT r.i AS ri, t.j AS tj FROM r RIGHT JOIN s ON r.i = s.i FULL JOIN t ON s.j = t.j WHERE coalesce(t.v, 0) >= 0"_s},
    {u"self"_s, u"SELECT a.i AS ai, b.i AS bi FROM r a FULL JOIN r b ON a.i = b.i AND b.i > 2"_s},
    // EXISTS not on a key: a semi-join, merged the same way.
    {u"semi"_s, u"SELECT r.i AS ri FROM r WHERE EXISTS (SELECT 1 FROM s WHERE s.i = r.i AND s.j > 5)"_s},
};

QString obj(const QString& name)
{
    return quoteQualified(kSchema, name);
}

} // namespace

class TestIvmOuter : public QObject
{
    Q_OBJECT

    Connection m_conn;

    void mergeAndCompare(const char* when)
    {
        MvService s(m_conn);
        for (const View& v : kViews) {
            QVERIFY2(htap::test::ivmDrain(s, obj(v.name)), qPrintable(v.name + u" "_s + QLatin1StringView(when)));
            QCOMPARE(htap::test::ivmDifferences(m_conn, kSchema, v.name), 0);
        }
    }

private Q_SLOTS:
    void initTestCase()
    {
        htap::test::openOrDie(m_conn, u"tst_ivmouter"_s);
        MvService s(m_conn);
        QCOMPARE(s.ensureRegistry(), QString());
        m_conn.exec(u"DROP SCHEMA IF EXISTS %1 CASCADE"_s.arg(quoteIdentifier(kSchema)));
        s.recoverInterrupted();
        EXEC(m_conn, u"CREATE SCHEMA %1"_s.arg(quoteIdentifier(kSchema)));
        EXEC(m_conn, u"CREATE TABLE %1 (i int)"_s.arg(obj(u"r"_s)));
        EXEC(m_conn, u"CREATE TABLE %1 (i int, j int)"_s.arg(obj(u"s"_s)));
        EXEC(m_conn, u"CREATE TABLE %1 (j int, v int)"_s.arg(obj(u"t"_s)));
        EXEC(m_conn, u"INSERT INTO %1 SELECT g % 40 FROM generate_series(1, 300) g"_s.arg(obj(u"r"_s)));
        EXEC(m_conn, u"INSERT INTO %1 SELECT g % 50, g % 30 FROM generate_series(1, 300) g"_s.arg(obj(u"s"_s)));
        EXEC(m_conn, u"INSERT INTO %1 SELECT g % 35, g FROM generate_series(1, 200) g"_s.arg(obj(u"t"_s)));
        EXEC(m_conn, u"SET search_path TO %1, public"_s.arg(quoteIdentifier(kSchema)));
        for (const View& v : kViews)
            EXEC(m_conn, u"CREATE MATERIALIZED VIEW %1 AS %2"_s.arg(obj(v.name), v.definition));
        EXEC(m_conn, u"RESET search_path"_s);
    }

    void cleanupTestCase()
    {
        MvService s(m_conn);
        for (const View& v : kViews)
            s.disableIncremental(obj(v.name));
        m_conn.exec(u"DROP SCHEMA IF EXISTS %1 CASCADE"_s.arg(quoteIdentifier(kSchema)));
    }

    void checkThenEnable()
    {
        MvService s(m_conn);
        for (const View& v : kViews) {
            QString plan;
            QCOMPARE(s.checkIncremental(obj(v.name), &plan), QString());
            QString notes;
            QCOMPARE(s.enableIncremental(obj(v.name), &notes), QString());
            QCOMPARE(htap::test::ivmDifferences(m_conn, kSchema, v.name), 0);
        }
    }

    void bulkChangeIsRebuiltNotMerged()
    {
        // Half of s replaced: large against the base, so the merge rebuilds instead, and says why.
        EXEC(m_conn, u"ANALYZE %1, %2, %3"_s.arg(obj(u"r"_s), obj(u"s"_s), obj(u"t"_s)));
        EXEC(m_conn, u"SET htap.ivm_rebuild_min_changes = 100"_s);
        EXEC(m_conn, u"UPDATE %1 SET j = j + 1 WHERE i % 2 = 0"_s.arg(obj(u"s"_s)));
        MvService s(m_conn);
        const RefreshOutcome o = s.refresh(obj(kViews[0].name), RefreshMode::Incremental);
        QVERIFY2(o.ok, qPrintable(o.message));
        QString error;
        const QList<RefreshLogEntry> log = s.log(obj(kViews[0].name), 1, &error);
        QCOMPARE(log.size(), 1);
        QCOMPARE(log[0].mode, u"rebuild"_s);
        QVERIFY2(log[0].message.contains(u"pending changes"_s), qPrintable(log[0].message));
        EXEC(m_conn, u"RESET htap.ivm_rebuild_min_changes"_s);
        mergeAndCompare("after the bulk change");
        // A few changes are merged.
        EXEC(m_conn, u"INSERT INTO %1 VALUES (7, 7), (NULL, 3)"_s.arg(obj(u"s"_s)));
        QVERIFY(s.refresh(obj(kViews[0].name), RefreshMode::Incremental).ok);
        QCOMPARE(s.log(obj(kViews[0].name), 1, &error).value(0).mode, u"incremental"_s);
        mergeAndCompare("after a few changes");
    }

    void stayExactUnderConcurrentRandomWriters()
    {
        std::atomic<bool> stop {false};
        std::atomic<int> transactions {0}, rolledBack {0}, merges {0}, unexpected {0};
        std::mutex firstErrorLock;
        QString firstError;
        auto writer = [&](quint32 seed) {
            Connection c;
            htap::test::openOrDie(c, u"tst_ivmouter"_s);
            QRandomGenerator rng(seed);
            const auto exec = [&](const QString& sql, const QVariantList& params = {}) {
                const htap::pg::Result r = c.exec(sql, params);
                if (!r.ok() && r.error().sqlstate != u"40P01"_s && r.error().sqlstate != u"25P02"_s && ++unexpected == 1) {
                    const std::lock_guard g(firstErrorLock);
                    firstError = r.error().oneLine();
                }
                return r;
            };
            // A value in a small domain (many matches come and go), sometimes NULL.
            const auto value = [&](int domain) { return rng.bounded(12) == 0 ? QVariant() : QVariant(int(rng.bounded(domain))); };
            while (!stop) {
                const int op = rng.bounded(100);
                exec(u"BEGIN"_s);
                bool ok = true;
                if (op < 15) {
                    ok = exec(u"INSERT INTO %1 VALUES ($1::int), ($2::int)"_s.arg(obj(u"r"_s)), {value(45), value(45)}).ok();
                } else if (op < 30) {
                    ok = exec(u"INSERT INTO %1 VALUES ($1::int, $2::int)"_s.arg(obj(u"s"_s)), {value(55), value(35)}).ok();
                } else if (op < 40) {
                    ok = exec(u"INSERT INTO %1 VALUES ($1::int, $2::int)"_s.arg(obj(u"t"_s)), {value(40), int(rng.bounded(100)) - 10}).ok();
                } else if (op < 55) { // a row's match moves: its old match may dangle now, its new one not
                    ok = exec(u"UPDATE %1 SET j = $1::int WHERE i = $2::int"_s.arg(obj(u"s"_s)), {value(35), int(rng.bounded(55))}).ok();
                } else if (op < 62) {
                    ok = exec(u"UPDATE %1 SET i = $1::int WHERE i = $2::int"_s.arg(obj(u"r"_s)), {value(45), int(rng.bounded(45))}).ok();
                } else if (op < 68) {
                    ok = exec(u"UPDATE %1 SET v = v + $1::int WHERE j = $2::int"_s.arg(obj(u"t"_s)), {int(rng.bounded(20)) - 10, int(rng.bounded(40))})
                             .ok();
                } else if (op < 78) {
                    ok = exec(u"DELETE FROM %1 WHERE i = $1::int"_s.arg(obj(u"r"_s)), {int(rng.bounded(45))}).ok();
                } else if (op < 86) {
                    ok = exec(u"DELETE FROM %1 WHERE j = $1::int"_s.arg(obj(u"s"_s)), {int(rng.bounded(35))}).ok();
                } else if (op < 92) {
                    ok = exec(u"DELETE FROM %1 WHERE j = $1::int"_s.arg(obj(u"t"_s)), {int(rng.bounded(40))}).ok();
                } else { // work that is rolled back
                    exec(u"DELETE FROM %1"_s.arg(obj(u"s"_s)));
                    ok = false;
                }
                if (ok && rng.bounded(10) > 0) {
                    exec(u"COMMIT"_s);
                    ++transactions;
                } else {
                    exec(u"ROLLBACK"_s);
                    ++rolledBack;
                }
            }
        };
        auto merger = [&] {
            Connection c;
            htap::test::openOrDie(c, u"tst_ivmouter"_s);
            MvService ms(c);
            while (!stop) {
                for (const View& v : kViews)
                    if (ms.refresh(obj(v.name), RefreshMode::Incremental).ok)
                        ++merges;
                QThread::msleep(50);
            }
        };
        std::vector<std::thread> threads;
        threads.emplace_back(merger);
        for (const quint32 seed : {3000, 3001, 3002})
            threads.emplace_back(writer, seed);
        QTest::qWait(8000);
        stop = true;
        for (std::thread& t : threads)
            t.join();
        qInfo("%d transactions committed, %d rolled back, %d merges while writing", transactions.load(), rolledBack.load(), merges.load());
        QVERIFY(transactions > 200);
        QVERIFY(merges > 10);
        QVERIFY2(unexpected == 0, qPrintable(u"%1 statements failed, the first: %2"_s.arg(unexpected.load()).arg(firstError)));
        mergeAndCompare("after the writers");
        for (const View& v : kViews)
            QCOMPARE(m_conn.exec(u"SELECT state FROM htap.ivm_views WHERE view_schema = $1 AND view_name = $2"_s, {kSchema, v.name}).text(0, 0),
                u"ready"_s);
    }
};

QTEST_GUILESS_MAIN(TestIvmOuter)
#include "tst_ivmouter.moc"
