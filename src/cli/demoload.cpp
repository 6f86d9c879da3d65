#include "demoload.h"

#include <pg/connection.h>
#include <pg/sqlfile.h>

#include <QHash>
#include <QRandomGenerator>

#include <chrono>

namespace htap::cli {

using namespace Qt::StringLiterals;


DemoLoad::DemoLoad(htap::pg::ConnInfo info, int clients, double ratePerClient, double reportsPerSecond)
    : m_info(std::move(info))
    , m_clients(clients)
    , m_rate(ratePerClient)
    , m_reportRate(reportsPerSecond)
{
}

DemoLoad::~DemoLoad()
{
    stop();
}

void DemoLoad::start()
{
    for (int i = 0; i < m_clients; ++i)
        m_threads.emplace_back([this, i] { run(i); });
    if (m_reportRate > 0)
        m_threads.emplace_back([this] { runReports(); });
}

void DemoLoad::stop()
{
    m_stop = true;
    for (auto& t : m_threads)
        if (t.joinable())
            t.join();
    m_threads.clear();
}

void DemoLoad::run(int client)
{
    using clock = std::chrono::steady_clock;
    const auto sql = htap::pg::namedStatements(u"demo/order_entry.sql"_s);
    htap::pg::Connection conn;
    if (conn.open(m_info.with(u"user"_s, u"oltp_user"_s), {10000, u"htap-studio oltp demo"_s})) {
        ++m_failed;
        return;
    }
    QRandomGenerator rng(quint32(42 + client));
    const qint64 users = conn.exec(u"SELECT max(user_id) FROM dim_users"_s).toInt64(0, 0, 1);
    const qint64 products = conn.exec(u"SELECT max(product_id) FROM dim_products"_s).toInt64(0, 0, 1);
    const auto period = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(1.0 / m_rate));
    auto next = clock::now();
    while (!m_stop) {
        std::this_thread::sleep_until(next);
        next += period;
        // As in the seed: price the basket, then one transaction inserts the order and its items
        // and takes the stock, rolling back when any item is short.
        struct Line {
            qint64 product;
            int quantity;
            QString price;
        };
        QList<Line> lines;
        double total = 0;
        bool ok = true;
        for (int i = 0, n = 1 + int(rng.bounded(5)); ok && i < n; ++i) {
            const Line line {1 + qint64(rng.bounded(quint64(products))), 1 + int(rng.bounded(3)), {}};
            const auto price = conn.exec(sql[u"product_price"_s], {line.product});
            ok = price.ok();
            lines.append({line.product, line.quantity, price.text(0, 0)});
            total += price.toDouble(0, 0) * line.quantity;
        }
        ok = ok && conn.exec(u"BEGIN"_s).ok();
        htap::pg::Result order;
        if (ok) // never insert an order outside its transaction
            order = conn.exec(sql[u"insert_order"_s], {1 + qint64(rng.bounded(quint64(users))), QString::number(total, 'f', 2)});
        ok = ok && order.ok();
        bool shortStock = false;
        for (const Line& line : std::as_const(lines)) {
            if (!ok || shortStock)
                break;
            const auto item = conn.exec(sql[u"insert_item"_s], {order.toInt64(0, 0), line.product, line.quantity, line.price});
            const auto stock = conn.exec(sql[u"decrement_stock"_s], {line.quantity, line.product});
            ok = item.ok() && stock.ok();
            shortStock = ok && stock.affectedRows() == 0;
        }
        if (ok && !shortStock && conn.exec(u"COMMIT"_s).ok()) {
            ++m_committed;
        } else {
            conn.exec(u"ROLLBACK"_s);
            ok ? ++m_rolledBack : ++m_failed;
            if (!conn.isOpen())
                return;
        }
    }
}

void DemoLoad::runReports()
{
    using clock = std::chrono::steady_clock;
    const auto sql = htap::pg::namedStatements(u"workload/reports.sql"_s);
    htap::pg::Connection conn;
    if (conn.open(m_info.with(u"user"_s, u"olap_user"_s), {10000, u"htap-studio olap demo"_s}))
        return;
    // The seed runs reports in REPEATABLE READ (2.3): one consistent snapshot per report.
    conn.exec(u"SET default_transaction_isolation = 'repeatable read'"_s);
    const QStringList reports {u"hourly"_s, u"category"_s};
    const auto period = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(1.0 / m_reportRate));
    auto next = clock::now();
    for (int i = 0; !m_stop; ++i) {
        std::this_thread::sleep_until(next);
        next += period;
        if (conn.exec(sql[reports[i % reports.size()]]).ok())
            ++m_reports;
        else if (!conn.isOpen())
            return;
    }
}

} // namespace htap::cli
