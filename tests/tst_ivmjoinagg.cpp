// Aggregates over inner joins, maintained incrementally, on the sandbox: the seed's revenue by
// category (order_items JOIN orders JOIN dim_products) and by user segment (JOIN dim_users), and
// one by both over the four tables, with sum, count(*), count(x), avg, min, max and
// count(DISTINCT). --check passes and enable succeeds; targeted cases (a product moving to
// another category, an item's product changed, a product deleted, a NULL category and segment,
// distinct customers across a regroup, a rebuild); then concurrent random writers with merges
// interleaved, compared row for row with the definition. The tables are copies of the shop's in
// a schema of this test's own, so that its writes reach no other test's views.
#include "ivmtestutil.h"
#include "testutil.h"

#include <mv/mvservice.h>
#include <pg/identifier.h>

#include <QRandomGenerator>

#include <atomic>

using namespace Qt::StringLiterals;
using namespace htap::mv;
using namespace htap::pg;

namespace {

const QString kSchema = u"IVM Join Agg"_s;
const QStringList kViews {u"revenue_by_category"_s, u"revenue_by_segment"_s, u"Revenue by category & segment"_s, u"items_by_category_left"_s};

QString obj(const QString& name)
{
    return quoteQualified(kSchema, name);
}

} // namespace

class TestIvmJoinAgg : public QObject
{
    Q_OBJECT

    Connection m_conn;

    /// Merges every view until nothing is pending, then each must equal its definition.
    void mergeAndCompare(const char* when)
    {
        MvService s(m_conn);
        for (const QString& v : kViews) {
            QVERIFY2(htap::test::ivmDrain(s, obj(v)), qPrintable(v + u" "_s + QLatin1StringView(when)));
            QCOMPARE(htap::test::ivmDifferences(m_conn, kSchema, v), 0);
        }
    }

    QString value(const QString& sql)
    {
        const htap::pg::Result r = m_conn.exec(sql);
        return r.ok() && r.rowCount() == 1 ? r.text(0, 0) : u"(%1 rows) %2"_s.arg(r.rowCount()).arg(r.error().oneLine());
    }

private Q_SLOTS:
    void initTestCase()
    {
        htap::test::openOrDie(m_conn, u"tst_ivmjoinagg"_s);
        MvService service(m_conn);
        QCOMPARE(service.ensureRegistry(), QString());
        QVERIFY(m_conn.exec(u"DROP SCHEMA IF EXISTS %1 CASCADE"_s.arg(quoteIdentifier(kSchema))).ok());
        service.recoverInterrupted(); // engines of views an earlier run dropped with its schema
        EXEC(m_conn, u"CREATE SCHEMA %1"_s.arg(quoteIdentifier(kSchema)));
        // The shop's tables as the seed has them (no foreign key from items to products: a
        // product may go while items name it), their data copied.
        for (const QString& t : {u"orders"_s, u"order_items"_s, u"dim_products"_s, u"dim_users"_s}) {
            EXEC(m_conn, u"CREATE TABLE %1 (LIKE public.%2 INCLUDING DEFAULTS INCLUDING INDEXES)"_s.arg(obj(t), t));
            EXEC(m_conn, u"INSERT INTO %1 SELECT * FROM public.%2"_s.arg(obj(t), t));
        }
        EXEC(m_conn, u"ALTER TABLE %1 ADD FOREIGN KEY (order_id) REFERENCES %2"_s.arg(obj(u"order_items"_s), obj(u"orders"_s)));
        // A category may be unknown: NULL groups.
        EXEC(m_conn, u"ALTER TABLE %1 ALTER COLUMN category DROP NOT NULL"_s.arg(obj(u"dim_products"_s)));
        EXEC(m_conn, u"ANALYZE %1, %2, %3, %4"_s.arg(obj(u"orders"_s), obj(u"order_items"_s), obj(u"dim_products"_s), obj(u"dim_users"_s)));

        const QString oi = obj(u"order_items"_s), o = obj(u"orders"_s), p = obj(u"dim_products"_s), u = obj(u"dim_users"_s);
        const QStringList definitions {
            u"SELECT p.category, count(*) AS items, sum(oi.quantity) AS quantity, sum(oi.price * oi.quantity) AS revenue, "
            u"avg(oi.price) AS avg_price, min(oi.price) AS min_price, max(oi.price) AS max_price, "
            u"count(DISTINCT o.user_id) AS customers FROM %1 oi JOIN %2 o ON o.order_id = oi.order_id "
            u"JOIN %3 p ON oi.product_id = p.product_id WHERE o.status = 'completed' GROUP BY p.category"_s.arg(oi, o, p),
            u"SELECT u.user_segment, count(*) AS items, sum(oi.price * oi.quantity) AS revenue, avg(oi.price * oi.quantity) AS avg_line, "
            u"count(u.registration_date) AS registered, count(DISTINCT o.user_id) AS customers, count(DISTINCT oi.order_id) AS orders "
            u"FROM %1 oi JOIN %2 o ON o.order_id = oi.order_id JOIN %3 u ON o.user_id = u.user_id GROUP BY u.user_segment"_s.arg(oi, o, u),
            u"SELECT p.category AS \"Category\", u.user_segment AS \"Segment\", sum(oi.price * oi.quantity) AS revenue, "
            u"count(*) AS items, max(o.created_at) AS last_sale, count(DISTINCT o.user_id) AS customers "
            u"FROM %1 oi JOIN %2 o ON o.order_id = oi.order_id JOIN %3 p ON oi.product_id = p.product_id "
            u"JOIN %4 u ON o.user_id = u.user_id WHERE o.status IN ('completed', 'paid') GROUP BY p.category, u.user_segment"_s.arg(oi, o, p, u),
            // A LEFT JOIN to the dimension by its key: items whose product is gone (or never was)
            // in the NULL group, with those of products without a category.
            u"SELECT p.category, count(*) AS items, sum(oi.quantity) AS quantity, sum(oi.price * oi.quantity) AS revenue, "
            u"count(p.product_id) AS matched, count(DISTINCT oi.order_id) AS orders FROM %1 oi LEFT JOIN %2 p "
            u"ON p.product_id = oi.product_id GROUP BY p.category"_s.arg(oi, p),
        };
        for (int i = 0; i < kViews.size(); ++i)
            EXEC(m_conn, u"CREATE MATERIALIZED VIEW %1 AS %2"_s.arg(obj(kViews[i]), definitions[i]));
    }

    void cleanupTestCase()
    {
        MvService s(m_conn);
        ViewInfo info;
        QString error;
        for (const QString& v : kViews)
            if (s.find(obj(v), &info, &error) && info.incremental)
                QCOMPARE(s.disableIncremental(obj(v)), QString());
        m_conn.exec(u"DROP SCHEMA IF EXISTS %1 CASCADE"_s.arg(quoteIdentifier(kSchema)));
    }

    void checkPassesAndEnables()
    {
        MvService s(m_conn);
        for (const QString& v : kViews) {
            QString plan, notes;
            QCOMPARE(s.checkIncremental(obj(v), &plan), QString());
            QVERIFY(plan.contains(u"_rows"_s)); // the join's rows, kept by fact key
            QCOMPARE(s.enableIncremental(obj(v), &notes), QString());
            QVERIFY2(notes.contains(u"join aggregate view"_s), qPrintable(notes));
            QVERIFY2(notes.contains(u"reference counts of the join's rows"_s), qPrintable(notes));
            QCOMPARE(htap::test::ivmDifferences(m_conn, kSchema, v), 0);
        }
        // Nothing captured yet: a merge finds nothing to do.
        mergeAndCompare("after enable");
    }

    void productMovesToAnotherCategory()
    {
        // The product with the most completed items: its rows leave its group for a new one.
        const QString product = value(u"SELECT oi.product_id FROM %1 oi JOIN %2 o USING (order_id) WHERE o.status = 'completed' "
                                      u"GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"_s.arg(obj(u"order_items"_s), obj(u"orders"_s)));
        const QString items = value(u"SELECT count(*) FROM %1 oi JOIN %2 o USING (order_id) WHERE o.status = 'completed' AND oi.product_id = %3"_s
                                        .arg(obj(u"order_items"_s), obj(u"orders"_s), product));
        EXEC(m_conn, u"UPDATE %1 SET category = 'Moved here' WHERE product_id = %2"_s.arg(obj(u"dim_products"_s), product));
        mergeAndCompare("after a product moved");
        QCOMPARE(value(u"SELECT items FROM %1 WHERE category = 'Moved here'"_s.arg(obj(kViews[0]))), items);
        // Back, and to no category at all (a NULL group), and a user to no segment.
        EXEC(m_conn, u"UPDATE %1 SET category = NULL WHERE product_id = %2"_s.arg(obj(u"dim_products"_s), product));
        // Customers who are there and have items (other tests' writers delete customers).
        EXEC(m_conn, u"UPDATE %1 SET user_segment = NULL WHERE user_id IN (SELECT o.user_id FROM %2 o JOIN %3 oi USING (order_id) "
                     u"JOIN %1 u USING (user_id) ORDER BY o.order_id LIMIT 3)"_s.arg(obj(u"dim_users"_s), obj(u"orders"_s), obj(u"order_items"_s)));
        mergeAndCompare("after NULL groups");
        QCOMPARE(value(u"SELECT count(*) FROM %1 WHERE category = 'Moved here'"_s.arg(obj(kViews[0]))), u"0"_s); // emptied: gone
        QCOMPARE(value(u"SELECT items FROM %1 WHERE category IS NULL"_s.arg(obj(kViews[0]))), items);
        QCOMPARE(value(u"SELECT count(*) FROM %1 WHERE user_segment IS NULL"_s.arg(obj(kViews[1]))), u"1"_s);
    }

    void itemChangesProductAndProductsGo()
    {
        // Two products of new categories, one order of one customer with an item of each.
        const QString p = obj(u"dim_products"_s);
        EXEC(m_conn, u"INSERT INTO %1 (product_id, product_name, category, price) VALUES (900001, 'A', 'Cat A', 10), "
                     u"(900002, 'B', 'Cat B', 20)"_s.arg(p));
        EXEC(m_conn, u"INSERT INTO %1 (order_id, user_id, total_amount, status) VALUES (900001, 1, 30, 'completed')"_s.arg(obj(u"orders"_s)));
        EXEC(m_conn, u"INSERT INTO %1 (item_id, order_id, product_id, quantity, price) VALUES (900001, 900001, 900001, 1, 10), "
                     u"(900002, 900001, 900002, 2, 20)"_s.arg(obj(u"order_items"_s)));
        mergeAndCompare("after the new order");
        const QString v = obj(kViews[0]);
        QCOMPARE(value(u"SELECT format('%s %s %s', items, revenue, customers) FROM %1 WHERE category = 'Cat A'"_s.arg(v)), u"1 10.00 1"_s);
        // B moves to A's category: one customer still, two items; B's group empties.
        EXEC(m_conn, u"UPDATE %1 SET category = 'Cat A' WHERE product_id = 900002"_s.arg(p));
        mergeAndCompare("after B moved to Cat A");
        QCOMPARE(value(u"SELECT format('%s %s %s %s', items, revenue, customers, max_price) FROM %1 WHERE category = 'Cat A'"_s.arg(v)),
            u"2 50.00 1 20.00"_s);
        QCOMPARE(value(u"SELECT count(*) FROM %1 WHERE category = 'Cat B'"_s.arg(v)), u"0"_s);
        // The fact's key to the dimension changes: the item of B now names A (max falls back).
        EXEC(m_conn, u"UPDATE %1 SET product_id = 900001 WHERE item_id = 900002"_s.arg(obj(u"order_items"_s)));
        EXEC(m_conn, u"UPDATE %1 SET category = 'Cat B' WHERE product_id = 900001"_s.arg(p));
        mergeAndCompare("after the item's product changed");
        QCOMPARE(value(u"SELECT format('%s %s %s %s', items, revenue, customers, max_price) FROM %1 WHERE category = 'Cat B'"_s.arg(v)),
            u"2 50.00 1 20.00"_s);
        QCOMPARE(value(u"SELECT count(*) FROM %1 WHERE category = 'Cat A'"_s.arg(v)), u"0"_s);
        // The product goes: its items find no product (an inner join), they leave the view.
        EXEC(m_conn, u"DELETE FROM %1 WHERE product_id = 900001"_s.arg(p));
        mergeAndCompare("after the product was deleted");
        QCOMPARE(value(u"SELECT count(*) FROM %1 WHERE category = 'Cat B'"_s.arg(v)), u"0"_s);
        // It comes back (its items join again), and a rebuild agrees with the merges.
        EXEC(m_conn, u"INSERT INTO %1 (product_id, product_name, category, price) VALUES (900001, 'A', 'Cat C', 10)"_s.arg(p));
        mergeAndCompare("after the product came back");
        QCOMPARE(value(u"SELECT items FROM %1 WHERE category = 'Cat C'"_s.arg(v)), u"2"_s);
        MvService s(m_conn);
        for (const QString& view : kViews) {
            const RefreshOutcome r = s.refresh(obj(view), RefreshMode::Rebuild);
            QVERIFY2(r.ok, qPrintable(r.message));
            QCOMPARE(htap::test::ivmDifferences(m_conn, kSchema, view), 0);
        }
    }

    void stayExactUnderConcurrentRandomWriters()
    {
        const qint64 maxOrder = value(u"SELECT max(order_id) FROM %1"_s.arg(obj(u"orders"_s))).toLongLong();
        const qint64 maxItem = value(u"SELECT max(item_id) FROM %1"_s.arg(obj(u"order_items"_s))).toLongLong();
        const qint64 products = value(u"SELECT count(*) FROM %1"_s.arg(obj(u"dim_products"_s))).toLongLong();
        const qint64 users = value(u"SELECT count(*) FROM %1"_s.arg(obj(u"dim_users"_s))).toLongLong();
        QVERIFY(maxOrder > 0 && maxItem > 0 && products > 0 && users > 0);
        std::atomic<qint64> nextId {2000000};
        QStringList views;
        for (const QString& v : kViews)
            views << obj(v);
        htap::test::RandomWriters w;
        w.run(u"tst_ivmjoinagg"_s, {2000, 2001, 2002, 2003}, views, 100, 8000, [&](const auto& exec, QRandomGenerator& rng) {
            static const QStringList statuses {u"completed"_s, u"pending"_s, u"paid"_s, u"cancelled"_s};
            static const QStringList categories {u"Books"_s, u"Toys"_s, u"Garden"_s, u"Music"_s, u"Food"_s};
            const int op = rng.bounded(100);
            const qint64 order = 1 + rng.bounded(maxOrder);
            const qint64 product = 1 + rng.bounded(products);
            bool ok = true;
            if (op < 35) { // the order transaction, 1-4 items
                const qint64 id = nextId++;
                ok = exec(u"INSERT INTO %1 (order_id, user_id, total_amount, status) VALUES ($1, $2, 0, $3)"_s.arg(obj(u"orders"_s)),
                    {id, 1 + rng.bounded(users), statuses[rng.bounded(statuses.size())]})
                         .ok();
                for (int k = 0, n = 1 + rng.bounded(4); ok && k < n; ++k)
                    ok = exec(u"INSERT INTO %1 (item_id, order_id, product_id, quantity, price) SELECT $1, $2, product_id, $4, price "
                              u"FROM %2 WHERE product_id = $3"_s.arg(obj(u"order_items"_s), obj(u"dim_products"_s)),
                        {nextId++, id, 1 + rng.bounded(products), 1 + rng.bounded(3)})
                             .ok();
            } else if (op < 50) { // an item's product changed (the fact's key to a dimension)
                ok = exec(u"UPDATE %1 SET product_id = $1 WHERE item_id = $2"_s.arg(obj(u"order_items"_s)),
                    {product, 1 + rng.bounded(maxItem)})
                         .ok();
            } else if (op < 60) { // a product moves to another category, sometimes to none
                ok = exec(u"UPDATE %1 SET category = $1 WHERE product_id = $2"_s.arg(obj(u"dim_products"_s)),
                    {rng.bounded(8) == 0 ? QVariant() : QVariant(categories[rng.bounded(categories.size())]), product})
                         .ok();
            } else if (op < 70) { // a user changes segment
                ok = exec(u"UPDATE %1 SET user_segment = (ARRAY['VIP', 'Normal', NULL])[1 + $1] WHERE user_id = $2"_s.arg(
                              obj(u"dim_users"_s)),
                    {rng.bounded(3), 1 + rng.bounded(users)})
                         .ok();
            } else if (op < 78) { // status and customer of an order
                ok = exec(u"UPDATE %1 SET status = $1, user_id = CASE WHEN $3 THEN $4 ELSE user_id END WHERE order_id = $2"_s.arg(
                              obj(u"orders"_s)),
                    {statuses[rng.bounded(statuses.size())], order, rng.bounded(3) == 0, 1 + rng.bounded(users)})
                         .ok();
            } else if (op < 86) { // an item removed or changed
                ok = exec(rng.bounded(2) ? u"DELETE FROM %1 WHERE item_id = $1"_s.arg(obj(u"order_items"_s))
                                         : u"UPDATE %1 SET quantity = quantity + 1, price = price + 0.5 WHERE item_id = $1"_s.arg(
                                               obj(u"order_items"_s)),
                    {1 + rng.bounded(maxItem)})
                         .ok();
            } else if (op < 90) { // an order deleted with its items
                ok = exec(u"DELETE FROM %1 WHERE order_id = $1"_s.arg(obj(u"order_items"_s)), {order}).ok()
                    && exec(u"DELETE FROM %1 WHERE order_id = $1"_s.arg(obj(u"orders"_s)), {order}).ok();
            } else if (op < 93) { // a product or a user goes, or a product comes (back)
                switch (rng.bounded(3)) {
                case 0:
                    ok = exec(u"DELETE FROM %1 WHERE product_id = $1"_s.arg(obj(u"dim_products"_s)), {product}).ok();
                    break;
                case 1:
                    ok = exec(u"DELETE FROM %1 WHERE user_id = $1"_s.arg(obj(u"dim_users"_s)), {1 + rng.bounded(users)}).ok();
                    break;
                default:
                    ok = exec(u"INSERT INTO %1 (product_id, product_name, category, price) VALUES ($1, 'back', $2, 9.99) "
                              u"ON CONFLICT (product_id) DO NOTHING"_s.arg(obj(u"dim_products"_s)),
                        {product, categories[rng.bounded(categories.size())]})
                             .ok();
                    break;
                }
            } else { // work that is rolled back
                exec(u"UPDATE %1 SET category = 'Never' WHERE product_id = $1"_s.arg(obj(u"dim_products"_s)), {product});
                ok = false;
            }
            return ok;
        });
        QVERIFY(w.transactions > 200);
        // More than one round of merges while writing (a round of the four views takes seconds
        // under a loaded ctest -j2: each merge folds thousands of changes).
        QVERIFY(w.merges > kViews.size());
        QVERIFY2(w.unexpected == 0, qPrintable(u"%1 statements failed, the first: %2"_s.arg(w.unexpected.load()).arg(w.firstError)));
        mergeAndCompare("after the writers");
        MvService s(m_conn);
        for (const QString& v : kViews) {
            QCOMPARE(m_conn.exec(u"SELECT state FROM htap.ivm_views WHERE view_schema = $1 AND view_name = $2"_s, {kSchema, v}).text(0, 0),
                u"ready"_s);
        }
    }
};

QTEST_GUILESS_MAIN(TestIvmJoinAgg)
#include "tst_ivmjoinagg.moc"
