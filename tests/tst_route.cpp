// The parse-tree router (issue 24 item 4): its decisions on a table of statements (the seed's
// 4.1 and 4.2 and the seed keyword router's mistakes) against a topology read from the test
// sandbox, rewritten queries that return the same rows as the originals, and the topology
// fetch against a real standby.
#include "testutil.h"

#include <mv/mvservice.h>
#include <pg/sqlfile.h>
#include <route/router.h>
#include <route/topologyreader.h>

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QScopeGuard>

#include <algorithm>
#include <thread>
#include <vector>

using namespace Qt::StringLiterals;
using htap::route::Decision;

namespace {

struct Row {
    const char* name;
    QString sql;
    double budget;        ///< the workload's, -1: none
    QString standbys;     ///< "two", "lagging", "idle", "unknown", "none"
    QString target;       ///< primary, standby, view
    QString where;        ///< the standby or view, or empty
    QString reason;       ///< a part of the reason
    QString keyword;      ///< what the seed's keyword router says (olap: the replica), or empty
};

QStringList sortedRows(htap::pg::Connection& c, const QString& sql, QString* error)
{
    const htap::pg::Result r = c.exec(sql);
    if (!r.ok()) {
        *error = r.error().oneLine();
        return {};
    }
    QStringList rows;
    for (int i = 0; i < r.rowCount(); ++i) {
        QStringList cells;
        for (int k = 0; k < r.columnCount(); ++k)
            cells << (r.isNull(i, k) ? u"NULL"_s : r.text(i, k));
        rows << cells.join(u'|');
    }
    rows.sort();
    return rows;
}

} // namespace

class TestRoute : public QObject
{
    Q_OBJECT

    htap::pg::Connection m_conn;
    htap::route::Topology m_topology;
    QList<Row> m_rows;

    htap::route::Topology topologyWith(const QString& standbys) const
    {
        htap::route::Topology t = m_topology;
        t.standbys.clear();
        const auto add = [&](const QString& name, double lag, qint64 gap) {
            htap::route::Standby s;
            s.name = name;
            s.state = u"streaming"_s;
            s.replayLagSeconds = lag;
            s.replayGapBytes = gap;
            t.standbys << s;
        };
        if (standbys == u"two"_s) {
            add(u"standby2"_s, 3.0, 9000);
            add(u"standby1"_s, 0.4, 1200);
        } else if (standbys == u"lagging"_s) {
            add(u"standby1"_s, 12.0, 900000);
        } else if (standbys == u"idle"_s) {
            add(u"standby1"_s, -1, 0); // NULL replay_lag, nothing to replay: caught up
        } else if (standbys == u"unknown"_s) {
            add(u"standby1"_s, -1, 5000); // NULL replay_lag with WAL to replay: not known
        }
        // The views as if refreshed a second ago: the budget decides, not the test's timing.
        for (htap::route::RegisteredView& v : t.views)
            v.stalenessSeconds = 1.0;
        return t;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(!m_conn.open(htap::test::sandboxConnInfo(), {10000, u"tst_route"_s}));
        const auto order = htap::pg::namedStatements(u"workload/order.sql"_s);
        const auto reports = htap::pg::namedStatements(u"workload/reports.sql"_s);
        QVERIFY(order.size() >= 5 && reports.size() >= 5);
        const QString fact = u"FROM orders o JOIN order_items oi ON o.order_id = oi.order_id JOIN dim_products p ON oi.product_id = "
                             u"p.product_id JOIN dim_users u ON o.user_id = u.user_id WHERE o.status = 'completed'"_s;
        const QString hourly = u"SELECT date_trunc('hour', created_at) AS hour, count(*) AS order_count, sum(total_amount) AS total_sales "
                               u"FROM orders WHERE status = 'completed' GROUP BY 1"_s;
        m_rows = {
            // The seed's order transaction (4.1), statement by statement and as one text.
            {"4.1 insert order", order.value(u"insert_order"_s), -1, u"two"_s, u"primary"_s, {}, u"INSERT writes"_s, u"oltp"_s},
            {"4.1 insert item", order.value(u"insert_item"_s), -1, u"two"_s, u"primary"_s, {}, u"INSERT writes"_s, u"oltp"_s},
            {"4.1 insert item, currval", order.value(u"insert_item_currval"_s), -1, u"two"_s, u"primary"_s, {}, u"INSERT writes"_s, u"oltp"_s},
            {"4.1 decrement stock", order.value(u"decrement_stock"_s), -1, u"two"_s, u"primary"_s, {}, u"UPDATE writes"_s, u"oltp"_s},
            {"4.1 as one CTE (keyword: sum( -> replica)", order.value(u"order_cte"_s), -1, u"two"_s, u"primary"_s, {}, u"writes"_s, u"olap"_s},
            {"4.1 as a transaction", u"BEGIN; "_s + order.value(u"insert_order"_s) + u"; "_s + order.value(u"insert_item"_s) + u"; "_s
                    + order.value(u"decrement_stock"_s) + u"; COMMIT;"_s,
                -1, u"two"_s, u"primary"_s, {}, u"an explicit transaction that writes (statement 2 of 5"_s, u"oltp"_s},
            {"BEGIN alone", u"BEGIN"_s, -1, u"two"_s, u"primary"_s, {}, u"transaction"_s, {}},
            {"4.1 prices", order.value(u"prices"_s), -1, u"two"_s, u"standby"_s, u"standby1"_s, u"least lag of 2 standbys"_s, u"oltp"_s},
            {"4.1 max user", order.value(u"max_user"_s), -1, u"two"_s, u"standby"_s, u"standby1"_s, {}, u"oltp"_s},
            // The seed's reports (4.2) and its base-table aggregation (5.2.3).
            {"4.2 hourly, filtered on created_at", reports.value(u"hourly"_s), -1, u"two"_s, u"standby"_s, u"standby1"_s,
                u"not one of the view's group columns"_s, u"olap"_s},
            {"4.2 category (3 of fact_sales_mv's 4 tables)", reports.value(u"category"_s), -1, u"two"_s, u"standby"_s, u"standby1"_s,
                u"public.fact_sales_mv: it reads public.dim_products, public.dim_users"_s, u"olap"_s},
            {"4.2 rfm (WITH)", reports.value(u"rfm"_s), -1, u"two"_s, u"standby"_s, u"standby1"_s, u"a WITH clause"_s, u"olap"_s},
            {"5.2.3 base aggregation", reports.value(u"base_aggregation"_s), -1, u"two"_s, u"view"_s, u"public.fact_sales_mv"_s,
                u"answers exactly"_s, u"olap"_s},
            {"4.2 hourly from the view", reports.value(u"hourly_mv"_s), -1, u"two"_s, u"standby"_s, u"standby1"_s,
                u"no registered view reads sales_hourly_mv"_s, {}},
            {"seed 4.2 query 2 on fact_sales_mv",
                u"SELECT category, SUM(sales_amount) AS total_sales, SUM(quantity) AS total_quantity FROM fact_sales_mv "
                u"WHERE sale_time >= NOW() - INTERVAL '7 days' GROUP BY category ORDER BY total_sales DESC LIMIT 10"_s,
                -1, u"two"_s, u"standby"_s, u"standby1"_s, {}, u"olap"_s},
            // Reads a view answers.
            {"hourly, the view's groups", hourly, -1, u"two"_s, u"view"_s, u"public.sales_hourly_mv"_s, u"answers exactly"_s, u"olap"_s},
            {"hourly, filter on the group column",
                u"SELECT date_trunc('hour', created_at), sum(total_amount), avg(total_amount) FROM orders WHERE status = 'completed' "
                u"AND date_trunc('hour', created_at) >= '2020-01-01' GROUP BY date_trunc('hour', created_at) ORDER BY 1 DESC"_s,
                -1, u"two"_s, u"view"_s, u"public.sales_hourly_mv"_s, {}, u"olap"_s},
            {"all completed orders: sums of sums",
                u"SELECT count(*), sum(total_amount), avg(total_amount) FROM orders o WHERE o.status = 'completed'"_s,
                -1, u"two"_s, u"view"_s, u"public.sales_hourly_mv"_s, {}, u"olap"_s},
            {"distinct customers per hour",
                u"SELECT date_trunc('hour', created_at) AS h, count(DISTINCT user_id) FROM orders WHERE status = 'completed' GROUP BY h"_s,
                -1, u"two"_s, u"view"_s, u"public.sales_hourly_mv"_s, {}, u"olap"_s},
            {"hourly with HAVING", u"SELECT date_trunc('hour', created_at), sum(total_amount) FROM orders WHERE status = 'completed' "
                                   u"GROUP BY 1 HAVING count(*) > 1"_s,
                -1, u"two"_s, u"view"_s, u"public.sales_hourly_mv"_s, {}, u"olap"_s},
            {"distinct customers overall: not derivable",
                u"SELECT count(DISTINCT user_id) FROM orders WHERE status = 'completed'"_s, -1, u"two"_s, u"standby"_s, u"standby1"_s,
                u"cannot be added up"_s, u"oltp"_s},
            {"hourly without the view's status filter",
                u"SELECT date_trunc('hour', created_at), count(*) FROM orders GROUP BY 1"_s, -1, u"two"_s, u"standby"_s, u"standby1"_s,
                u"keeps only the rows where"_s, u"olap"_s},
            {"daily summary, its groups",
                u"SELECT DATE(created_at) AS sale_date, product_id, SUM(price * quantity) AS total_amount FROM order_items "
                u"GROUP BY DATE(created_at), product_id"_s,
                -1, u"two"_s, u"view"_s, u"public.daily_sales_summary"_s, {}, u"olap"_s},
            {"daily summary, per product", u"SELECT product_id, sum(price * quantity) AS sales FROM order_items GROUP BY product_id "
                                           u"ORDER BY sales DESC, product_id LIMIT 5"_s,
                -1, u"two"_s, u"view"_s, u"public.daily_sales_summary"_s, {}, u"olap"_s},
            {"daily summary, one product", u"SELECT sum(price * quantity) FROM order_items WHERE product_id = 7"_s, -1, u"two"_s,
                u"view"_s, u"public.daily_sales_summary"_s, {}, u"olap"_s},
            {"daily summary, filter on a non-group column",
                u"SELECT product_id, sum(price * quantity) FROM order_items WHERE quantity > 2 GROUP BY product_id"_s, -1, u"two"_s,
                u"standby"_s, u"standby1"_s, u"is not one of the view's group columns"_s, u"olap"_s},
            {"fact view: category ranking over its four tables",
                u"SELECT p.category, sum(oi.price * oi.quantity) AS total_sales "_s + fact + u" GROUP BY p.category ORDER BY 2 DESC, 1 LIMIT 10"_s,
                -1, u"two"_s, u"view"_s, u"public.fact_sales_mv"_s, {}, u"olap"_s},
            {"fact view: other aliases and join order",
                u"SELECT segment_users.user_segment, count(*) FROM order_items i JOIN orders ON i.order_id = orders.order_id "
                u"JOIN dim_users segment_users ON segment_users.user_id = orders.user_id JOIN dim_products pr ON pr.product_id = "
                u"i.product_id WHERE orders.status = 'completed' AND pr.category IS NOT NULL GROUP BY 1"_s,
                -1, u"two"_s, u"view"_s, u"public.fact_sales_mv"_s, {}, u"olap"_s},
            {"fact view's tables with a LEFT JOIN", u"SELECT p.category, count(*) FROM orders o JOIN order_items oi ON o.order_id = "
                                                     u"oi.order_id LEFT JOIN dim_products p ON oi.product_id = p.product_id JOIN dim_users u "
                                                     u"ON o.user_id = u.user_id WHERE o.status = 'completed' GROUP BY 1"_s,
                -1, u"two"_s, u"standby"_s, u"standby1"_s, u"an outer join"_s, u"olap"_s},
            {"fact view's tables, SELECT *", u"SELECT * "_s + fact + u" AND o.order_id = 1"_s, -1, u"two"_s, u"standby"_s, u"standby1"_s,
                u"* (every column)"_s, u"oltp"_s},
            // Freshness: the hint, the workload's budget, the standbys' lag.
            {"view too stale for a 500 ms hint", u"/* htap:fresh=500ms */ "_s + hourly, -1, u"two"_s, u"standby"_s, u"standby1"_s,
                u"past the 500 ms budget"_s, u"olap"_s},
            {"hint fresh=0: the primary", hourly + u" -- htap:fresh=0"_s, 10, u"two"_s, u"primary"_s, {}, u"no standby within"_s, u"olap"_s},
            {"workload budget 200 ms", u"SELECT user_id FROM orders WHERE order_id = 5"_s, 0.2, u"two"_s, u"primary"_s, {},
                u"standby1 is 400 ms behind"_s, u"oltp"_s},
            {"workload budget 10 s", u"SELECT user_id FROM orders WHERE order_id = 5"_s, 10, u"two"_s, u"standby"_s, u"standby1"_s, {}, u"oltp"_s},
            {"the only standby 12 s behind", u"SELECT user_id FROM orders WHERE order_id = 5"_s, -1, u"lagging"_s, u"primary"_s, {},
                u"standby1 is 12"_s, u"oltp"_s},
            {"an idle standby (no replay_lag, nothing to replay)", u"SELECT user_id FROM orders WHERE order_id = 5"_s, -1, u"idle"_s,
                u"standby"_s, u"standby1"_s, {}, u"oltp"_s},
            {"a standby whose lag is unknown", u"SELECT user_id FROM orders WHERE order_id = 5"_s, -1, u"unknown"_s, u"primary"_s, {},
                u"lag is unknown"_s, u"oltp"_s},
            {"no standby at all", u"SELECT user_id FROM orders WHERE order_id = 5"_s, -1, u"none"_s, u"primary"_s, {}, u"no standby"_s, u"oltp"_s},
            {"a hint inside a string is no hint", u"SELECT '/* htap:fresh=0 */' AS s, user_id FROM dim_users LIMIT 1"_s, -1, u"two"_s,
                u"standby"_s, u"standby1"_s, {}, u"oltp"_s},
            // The keyword router's mistakes, and what the parse tree says.
            {"count(*) FOR UPDATE (keyword: replica)", u"SELECT count(*) FROM inventory WHERE product_id = 1 FOR UPDATE"_s, -1,
                u"two"_s, u"primary"_s, {}, u"FOR UPDATE locks"_s, u"olap"_s},
            {"sum() FOR SHARE (keyword: replica)", u"SELECT sum(quantity) FROM inventory WHERE product_id < 10 FOR SHARE"_s, -1,
                u"two"_s, u"primary"_s, {}, u"FOR SHARE locks"_s, u"olap"_s},
            {"FOR UPDATE in a sub-query", u"SELECT * FROM (SELECT product_id FROM inventory WHERE quantity > 0 FOR UPDATE) t"_s, -1,
                u"two"_s, u"primary"_s, {}, u"FOR UPDATE"_s, u"oltp"_s},
            {"UPDATE with sum() (keyword: replica)", u"UPDATE inventory SET quantity = (SELECT sum(quantity) FROM order_items "
                                                      u"WHERE product_id = 1) WHERE product_id = 1"_s,
                -1, u"two"_s, u"primary"_s, {}, u"UPDATE writes"_s, u"olap"_s},
            {"INSERT ... SELECT ... GROUP BY (keyword: replica)", u"INSERT INTO htap_route_totals SELECT user_id, sum(total_amount) "
                                                                   u"FROM orders GROUP BY user_id"_s,
                -1, u"two"_s, u"primary"_s, {}, u"INSERT writes"_s, u"olap"_s},
            {"CREATE TABLE AS ... GROUP BY (keyword: replica)", u"CREATE TABLE t AS SELECT user_id, count(*) FROM orders GROUP BY 1"_s,
                -1, u"two"_s, u"primary"_s, {}, u"DDL"_s, u"olap"_s},
            {"nextval", u"SELECT nextval('orders_order_id_seq')"_s, -1, u"two"_s, u"primary"_s, {}, u"advances a sequence"_s, u"oltp"_s},
            {"random() (volatile in pg_proc)", u"SELECT user_id FROM dim_users ORDER BY random() LIMIT 1"_s, -1, u"two"_s,
                u"primary"_s, {}, u"random() is volatile (pg_proc"_s, u"oltp"_s},
            {"pg_sleep()", u"SELECT pg_sleep(0.1)"_s, -1, u"two"_s, u"primary"_s, {}, u"pg_sleep() is volatile"_s, u"oltp"_s},
            {"an unknown function", u"SELECT no_such_function(1)"_s, -1, u"two"_s, u"primary"_s, {}, u"not a function this server knows"_s, u"oltp"_s},
            {"lower() is immutable", u"SELECT lower(category) FROM dim_products"_s, -1, u"two"_s, u"standby"_s, u"standby1"_s, {}, u"oltp"_s},
            {"SELECT INTO", u"SELECT * INTO scratch_copy FROM dim_users"_s, -1, u"two"_s, u"primary"_s, {}, u"SELECT INTO creates"_s, u"oltp"_s},
            {"CREATE INDEX", u"CREATE INDEX ON orders (status)"_s, -1, u"two"_s, u"primary"_s, {}, u"CREATE INDEX"_s, u"oltp"_s},
            {"SET", u"SET work_mem = '64MB'"_s, -1, u"two"_s, u"primary"_s, {}, u"not a plain query"_s, u"oltp"_s},
            {"VACUUM", u"VACUUM orders"_s, -1, u"two"_s, u"primary"_s, {}, u"VACUUM"_s, u"oltp"_s},
            {"a transaction of reads", u"BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM orders; SELECT sum(total_amount) "
                                       u"FROM orders; COMMIT;"_s,
                -1, u"two"_s, u"standby"_s, u"standby1"_s, u"a transaction of reads"_s, u"olap"_s},
            {"a SERIALIZABLE transaction of reads", u"BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT count(*) FROM orders; COMMIT;"_s, -1,
                u"two"_s, u"primary"_s, {}, u"SERIALIZABLE"_s, u"olap"_s},
            // Bad input.
            {"does not parse", u"SELEC user_id FROM orders"_s, -1, u"two"_s, u"primary"_s, {}, u"does not parse (syntax error at or near"_s, u"oltp"_s},
            {"a hint with a bad duration", u"SELECT user_id FROM orders /* htap:fresh=2x */"_s, -1, u"two"_s, u"primary"_s, {},
                u"\"2x\" is not a duration"_s, u"oltp"_s},
            {"an unknown hint", u"/* htap:stale=2s */ SELECT 1"_s, -1, u"two"_s, u"primary"_s, {}, u"unknown hint"_s, u"oltp"_s},
        };
        QVERIFY(m_rows.size() >= 40);

        // The seed's views, refreshed: their registry rows give staleness, and they equal their
        // base tables (the same-rows test below compares them).
        htap::mv::MvService service(m_conn);
        QCOMPARE(service.ensureRegistry(), QString());
        for (const QString& v : {u"sales_hourly_mv"_s, u"fact_sales_mv"_s, u"daily_sales_summary"_s}) {
            const htap::mv::RefreshOutcome r = service.refresh(v, htap::mv::RefreshMode::Plain);
            QVERIFY2(r.ok, qPrintable(v + u": "_s + r.message));
        }
        QStringList functions;
        for (const Row& r : std::as_const(m_rows))
            functions << htap::route::calledFunctions(r.sql);
        htap::route::TopologyReader reader;
        QString error;
        QVERIFY2(reader.fetch(m_conn, functions, &m_topology, &error), qPrintable(error));
        QVERIFY2(m_topology.notes.isEmpty(), qPrintable(m_topology.notes.join(u'\n')));
        QStringList views;
        for (const auto& v : std::as_const(m_topology.views))
            views << v.label();
        for (const QString& v : {u"public.sales_hourly_mv"_s, u"public.fact_sales_mv"_s, u"public.daily_sales_summary"_s})
            QVERIFY2(views.contains(v), qPrintable(views.join(u", "_s)));
        QVERIFY(m_topology.tables.value(u"public.orders"_s).visible);
        QCOMPARE(m_topology.volatileFunctions.value(u"random"_s, false), true);
        QCOMPARE(m_topology.volatileFunctions.value(u"lower"_s, true), false);
        QVERIFY(m_topology.functionsLookedUp.contains(u"no_such_function"_s));
        QVERIFY(!m_topology.volatileFunctions.contains(u"no_such_function"_s));
    }

    void decisions_data()
    {
        QTest::addColumn<int>("row");
        for (int i = 0; i < m_rows.size(); ++i)
            QTest::newRow(m_rows[i].name) << i;
    }

    void decisions()
    {
        QFETCH(int, row);
        const Row& r = m_rows[row];
        const Decision d = htap::route::route(r.sql, {r.budget, r.budget >= 0 ? u"workload"_s : QString()}, topologyWith(r.standbys));
        const QString shown = u"%1 %2 %3 | %4 | %5 | %6"_s.arg(htap::route::targetName(d.target), d.server, d.view, d.reason,
            d.rewrittenSql, d.viewsConsidered.join(u" / "_s));
        QVERIFY2(htap::route::targetName(d.target) == r.target, qPrintable(shown));
        if (r.target == u"standby"_s)
            QVERIFY2(d.server == r.where, qPrintable(shown));
        if (r.target == u"view"_s) {
            QVERIFY2(d.view == r.where, qPrintable(shown));
            QVERIFY2(d.rewrittenSql.contains(r.where.section(u'.', 1)), qPrintable(shown));
        } else {
            QVERIFY2(d.rewrittenSql.isEmpty(), qPrintable(shown));
        }
        if (!r.reason.isEmpty())
            QVERIFY2(d.reason.contains(r.reason) || d.viewsConsidered.join(u'\n').contains(r.reason), qPrintable(shown));
        if (!r.keyword.isEmpty())
            QCOMPARE(htap::route::seedKeywordRoute(r.sql), r.keyword);
        // The JSON document carries the same decision.
        const QJsonObject o = d.toJson();
        QCOMPARE(o.value(u"format"_s).toString(), u"htap-route-decision"_s);
        QCOMPARE(o.value(u"version"_s).toInt(), htap::route::kDecisionFormatVersion);
        QCOMPARE(o.value(u"target"_s).toString(), r.target);
    }

    void routesFromManyThreadsAtOnce()
    {
        // The scenario engine routes on its workers' threads: the same decisions from four at once.
        const htap::route::Topology t = topologyWith(u"two"_s);
        QStringList expected;
        for (const Row& r : std::as_const(m_rows))
            expected << htap::route::route(r.sql, {r.budget, u"workload"_s}, t).toJson().value(u"reason"_s).toString();
        std::vector<QStringList> got(4);
        std::vector<std::thread> threads;
        for (int k = 0; k < 4; ++k)
            threads.emplace_back([&, k] {
                for (int round = 0; round < 5; ++round)
                    for (const Row& r : std::as_const(m_rows))
                        if (round == 4)
                            got[k] << htap::route::route(r.sql, {r.budget, u"workload"_s}, t).toJson().value(u"reason"_s).toString();
                        else
                            htap::route::route(r.sql, {r.budget, u"workload"_s}, t);
            });
        for (std::thread& th : threads)
            th.join();
        for (const QStringList& g : got)
            QCOMPARE(g, expected);
    }

    void keywordRouterMistakesAreCounted()
    {
        // Writes and locking reads the seed's router sends to a replica: each a test row above.
        int mistakes = 0;
        for (const Row& r : std::as_const(m_rows))
            if (r.keyword == u"olap"_s && r.target == u"primary"_s && !r.reason.contains(u"budget"_s) && !r.sql.contains(u"fresh="_s))
                ++mistakes;
        QVERIFY2(mistakes >= 6, qPrintable(QString::number(mistakes)));
    }

    void rewrittenQueriesReturnTheSameRows_data()
    {
        QTest::addColumn<int>("row");
        for (int i = 0; i < m_rows.size(); ++i)
            if (m_rows[i].target == u"view"_s)
                QTest::newRow(m_rows[i].name) << i;
    }

    void rewrittenQueriesReturnTheSameRows()
    {
        QFETCH(int, row);
        const Row& r = m_rows[row];
        const Decision d = htap::route::route(r.sql, {}, topologyWith(u"none"_s));
        QCOMPARE(htap::route::targetName(d.target), u"view"_s);
        QString error;
        const QStringList original = sortedRows(m_conn, r.sql, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        const QStringList rewritten = sortedRows(m_conn, d.rewrittenSql, &error);
        QVERIFY2(error.isEmpty(), qPrintable(d.rewrittenSql + u": "_s + error));
        QVERIFY2(!original.isEmpty(), qPrintable(r.sql));
        QCOMPARE(rewritten, original);
        // The rewritten statement reads the view alone.
        const htap::pg::Result plan = m_conn.exec(u"EXPLAIN (FORMAT JSON) "_s + d.rewrittenSql);
        QVERIFY(plan.ok());
        const QString text = plan.text(0, 0);
        QVERIFY2(text.contains(d.view.section(u'.', 1)) && !text.contains(u"\"orders\""_s) && !text.contains(u"\"order_items\""_s),
            qPrintable(text.left(400)));
    }

    void aStaleViewIsCaughtByTheSameRowsCheck()
    {
        // The check above can fail: new completed orders the view has not seen change the
        // original's rows and not the rewritten statement's.
        const QString sql = u"SELECT count(*), sum(total_amount) FROM orders WHERE status = 'completed'"_s;
        const Decision d = htap::route::route(sql, {}, topologyWith(u"none"_s));
        QCOMPARE(d.view, u"public.sales_hourly_mv"_s);
        QVERIFY(m_conn.exec(u"BEGIN"_s).ok());
        const auto rollback = qScopeGuard([this] { m_conn.exec(u"ROLLBACK"_s); });
        QVERIFY(m_conn.exec(u"INSERT INTO orders (user_id, total_amount, status, created_at) VALUES (1, 10, 'completed', localtimestamp)"_s).ok());
        QString error;
        QVERIFY(sortedRows(m_conn, sql, &error) != sortedRows(m_conn, d.rewrittenSql, &error));
        QVERIFY2(error.isEmpty(), qPrintable(error));
    }

    void budgetsAndHints()
    {
        double s = -1;
        QString error;
        QVERIFY(htap::route::parseDuration(u"500ms"_s, &s, &error));
        QCOMPARE(s, 0.5);
        QVERIFY(htap::route::parseDuration(u"1.5s"_s, &s, &error));
        QCOMPARE(s, 1.5);
        QVERIFY(htap::route::parseDuration(u"2m"_s, &s, &error));
        QCOMPARE(s, 120.0);
        QVERIFY(htap::route::parseDuration(u"0"_s, &s, &error));
        QCOMPARE(s, 0.0);
        QVERIFY(!htap::route::parseDuration(u"-1s"_s, &s, &error));
        QVERIFY(!htap::route::parseDuration(u"fast"_s, &s, &error));
        QVERIFY(!htap::route::parseDuration(u"9999h"_s, &s, &error));
        QVERIFY(error.contains(u"out of range"_s));
        QVERIFY(htap::route::findHint(u"SELECT 1 /* htap:fresh = 2s */"_s, &s, &error));
        QVERIFY(error.isEmpty());
        QCOMPARE(s, 2.0);
        QVERIFY(htap::route::findHint(u"SELECT 1 /* htap:fresh=1s */ /* htap:fresh=2s */"_s, &s, &error));
        QVERIFY(error.contains(u"two htap: hints"_s));
        QVERIFY(!htap::route::findHint(u"SELECT 1 /* fresh=2s */"_s, &s, &error));
        QVERIFY(!htap::route::findHint(u"SELECT '/* htap:fresh=0 */', $$ -- htap:fresh=0 $$"_s, &s, &error));
        QCOMPARE(htap::route::route(u"SELECT '/* htap:fresh=0 */' AS s FROM dim_users"_s, {}, topologyWith(u"two"_s)).budget.source,
            u"default"_s);
        // The hint overrides the workload's budget.
        const Decision d = htap::route::route(u"/* htap:fresh=30s */ SELECT 1 FROM dim_users"_s, {1, u"workload"_s}, topologyWith(u"lagging"_s));
        QCOMPARE(d.budget.source, u"hint"_s);
        QCOMPARE(d.budget.seconds, 30.0);
        QCOMPARE(d.server, u"standby1"_s);
    }

    void topologyOfARealStandby()
    {
        // A streaming standby of the test sandbox: the fetch lists it under its folder's name,
        // with the conninfo that reaches it, and a read goes there.
        htap::pg::Sandbox sandbox = htap::test::testSandbox();
        QString dir, error;
        QVERIFY2(sandbox.addStandby(&dir, 0, false, {}, &error), qPrintable(error));
        const auto cleanup = qScopeGuard([&] {
            QString e;
            htap::test::testSandbox().removeStandby(dir, &e);
        });
        htap::route::TopologyReader reader;
        htap::route::Topology t;
        const QString name = QFileInfo(dir).fileName();
        QTRY_VERIFY_WITH_TIMEOUT(reader.fetch(m_conn, {u"random"_s}, &t, &error) && t.standbys.size() == 1
                && t.standbys[0].state == u"streaming"_s && t.standbys[0].effectiveLag() >= 0,
            30000);
        QCOMPARE(t.standbys[0].name, name);
        QVERIFY(t.standbys[0].replayGapBytes >= 0);
        QVERIFY2(!t.standbys[0].conninfo.isEmpty(), qPrintable(name));
        htap::pg::Connection standby;
        QVERIFY(!standby.open(htap::pg::ConnInfo::parse(t.standbys[0].conninfo, &error), {10000, u"tst_route"_s}));
        QCOMPARE(standby.exec(u"SELECT pg_is_in_recovery()"_s).toBool(0, 0), true);
        const Decision d = htap::route::route(u"SELECT user_id FROM orders WHERE order_id = 5"_s, {60, u"workload"_s}, t);
        QCOMPARE(d.server, name);
        QCOMPARE(d.target, Decision::Target::Standby);
        // The same reader answers the next fetch's functions from its cache.
        htap::route::Topology again;
        QVERIFY(reader.fetch(m_conn, {u"random"_s}, &again, &error));
        QCOMPARE(again.volatileFunctions.value(u"random"_s), true);
        // The topology's JSON names the standby and its conninfo.
        const QJsonObject o = htap::route::toJson(t);
        QCOMPARE(o.value(u"standbys"_s).toArray().at(0).toObject().value(u"name"_s).toString(), name);
    }

    void htapctlRoute()
    {
        const auto run = [](const QStringList& args, QString* out, QString* err) {
            QProcess p;
            p.setStandardInputFile(QProcess::nullDevice());
            p.start(qEnvironmentVariable("HTAP_TEST_BINDIR") + u"/htapctl"_s,
                QStringList {u"route"_s, u"--conn"_s, htap::test::sandboxConnInfo().toConnString()} + args);
            if (!p.waitForFinished(60000))
                qFatal("htapctl route did not finish");
            *out = QString::fromUtf8(p.readAllStandardOutput());
            *err = QString::fromUtf8(p.readAllStandardError());
            return p.exitCode();
        };
        QString out, err;
        QCOMPARE(run({u"--json"_s, u"SELECT count(*) FROM inventory WHERE product_id = 1 FOR UPDATE"_s}, &out, &err), 0);
        const QJsonObject o = QJsonDocument::fromJson(out.toUtf8()).object();
        QCOMPARE(o.value(u"target"_s).toString(), u"primary"_s);
        QCOMPARE(o.value(u"kind"_s).toString(), u"locking read"_s);
        QCOMPARE(run({u"--topology"_s, u"SELECT date_trunc('hour', created_at), count(*) FROM orders WHERE status = 'completed' GROUP BY 1"_s},
                     &out, &err),
            0);
        QVERIFY2(out.contains(u"rewritten: SELECT"_s) || out.contains(u"route:     standby"_s) || out.contains(u"route:     primary"_s),
            qPrintable(out));
        QVERIFY2(out.contains(u"view public.sales_hourly_mv"_s), qPrintable(out));
        // Bad input: a bad hint is an error (exit 2) and the decision still says where it went.
        QCOMPARE(run({u"SELECT 1 /* htap:fresh=soon */"_s}, &out, &err), 2);
        QVERIFY2(out.contains(u"route:     primary"_s) && err.contains(u"is not a duration"_s), qPrintable(out + err));
        QCOMPARE(run({u"--fresh"_s, u"2 weeks"_s, u"SELECT 1"_s}, &out, &err), 2);
        QVERIFY2(err.contains(u"--fresh"_s), qPrintable(err));
        QCOMPARE(run({u"SELEC 1"_s}, &out, &err), 0);
        QVERIFY2(out.contains(u"does not parse"_s), qPrintable(out));
        QCOMPARE(run({}, &out, &err), 2);
    }
};

QTEST_GUILESS_MAIN(TestRoute)
#include "tst_route.moc"
