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

} // namespace

class TestIvmOuter : public QObject
{
    Q_OBJECT

    Connection m_conn;

    static QString obj(const QString& name) { return quoteQualified(kSchema, name); }

    /// Every view merged until nothing is pending, then equal to its definition.
    QString exact()
    {
        MvService s(m_conn);
        QStringList names;
        for (const View& v : kViews)
            names << v.name;
        return htap::test::ivmDrainAndCompare(s, m_conn, kSchema, names);
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
        QCOMPARE(exact(), QString()); // after the bulk change
        // A few changes are merged.
        EXEC(m_conn, u"INSERT INTO %1 VALUES (7, 7), (NULL, 3)"_s.arg(obj(u"s"_s)));
        QVERIFY(s.refresh(obj(kViews[0].name), RefreshMode::Incremental).ok);
        QCOMPARE(s.log(obj(kViews[0].name), 1, &error).value(0).mode, u"incremental"_s);
        QCOMPARE(exact(), QString()); // after a few changes
    }

    void stayExactUnderConcurrentRandomWriters()
    {
        QStringList views;
        for (const View& v : kViews)
            views << obj(v.name);
        htap::test::RandomWriters w;
        w.run(u"tst_ivmouter"_s, {3000, 3001, 3002}, views, 50, 8000, [](const auto& exec, QRandomGenerator& rng) {
            // A value in a small domain (many matches come and go), sometimes NULL.
            const auto value = [&](int domain) { return rng.bounded(12) == 0 ? QVariant() : QVariant(int(rng.bounded(domain))); };
            const int op = rng.bounded(100);
            if (op < 15)
                return exec(u"INSERT INTO %1 VALUES ($1::int), ($2::int)"_s.arg(obj(u"r"_s)), {value(45), value(45)}).ok();
            if (op < 30)
                return exec(u"INSERT INTO %1 VALUES ($1::int, $2::int)"_s.arg(obj(u"s"_s)), {value(55), value(35)}).ok();
            if (op < 40)
                return exec(u"INSERT INTO %1 VALUES ($1::int, $2::int)"_s.arg(obj(u"t"_s)), {value(40), int(rng.bounded(100)) - 10}).ok();
            if (op < 55) // a row's match moves: its old match may dangle now, its new one not
                return exec(u"UPDATE %1 SET j = $1::int WHERE i = $2::int"_s.arg(obj(u"s"_s)), {value(35), int(rng.bounded(55))}).ok();
            if (op < 62)
                return exec(u"UPDATE %1 SET i = $1::int WHERE i = $2::int"_s.arg(obj(u"r"_s)), {value(45), int(rng.bounded(45))}).ok();
            if (op < 68)
                return exec(u"UPDATE %1 SET v = v + $1::int WHERE j = $2::int"_s.arg(obj(u"t"_s)), {int(rng.bounded(20)) - 10, int(rng.bounded(40))})
                    .ok();
            if (op < 78)
                return exec(u"DELETE FROM %1 WHERE i = $1::int"_s.arg(obj(u"r"_s)), {int(rng.bounded(45))}).ok();
            if (op < 86)
                return exec(u"DELETE FROM %1 WHERE j = $1::int"_s.arg(obj(u"s"_s)), {int(rng.bounded(35))}).ok();
            if (op < 92)
                return exec(u"DELETE FROM %1 WHERE j = $1::int"_s.arg(obj(u"t"_s)), {int(rng.bounded(40))}).ok();
            exec(u"DELETE FROM %1"_s.arg(obj(u"s"_s)), {}); // work that is rolled back
            return false;
        });
        QVERIFY(w.transactions > 200);
        QVERIFY(w.merges > 10);
        QVERIFY2(w.unexpected == 0, qPrintable(u"%1 statements failed, the first: %2"_s.arg(w.unexpected.load()).arg(w.firstError)));
        QCOMPARE(exact(), QString()); // after the writers
        for (const View& v : kViews)
            QCOMPARE(m_conn.exec(u"SELECT state FROM htap.ivm_views WHERE view_schema = $1 AND view_name = $2"_s, {kSchema, v.name}).text(0, 0),
                u"ready"_s);
    }
};

QTEST_GUILESS_MAIN(TestIvmOuter)
#include "tst_ivmouter.moc"
