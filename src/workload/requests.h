#pragma once

#include "scenario.h"

#include <pg/connection.h>

#include <QRandomGenerator>

#include <functional>
#include <vector>

namespace htap::workload {

/// What one request came to.
struct Outcome {
    enum class Kind { Committed, BusinessRollback, Failed };
    Kind kind = Kind::Committed;
    QString sqlstate; ///< Failed: the server's SQLSTATE, or "08000" for a lost connection
    QString message;
    int tries = 1;
};

/// Runs the requests of one workload on one connection (one per worker thread). Prepares its
/// statements once; draws products, users and quantities from its own seeded generator.
class RequestExecutor
{
public:
    /// stopRequested cuts a held snapshot short when the run stops.
    RequestExecutor(const Workload& workload, quint64 seed, std::function<bool()> stopRequested = {});
    /// Prepares statements and loads what the order transaction needs (prices, users).
    htap::pg::PgError prepare(htap::pg::Connection& conn);
    /// One request, with retries on serialization failures and deadlocks.
    Outcome run(htap::pg::Connection& conn);

private:
    Outcome once(htap::pg::Connection& conn);
    Outcome order(htap::pg::Connection& conn);
    Outcome orderPipelined(htap::pg::Connection& conn);
    Outcome orderCte(htap::pg::Connection& conn);
    /// A report or user statement inside a transaction held open holdSeconds after it ran.
    Outcome heldQuery(htap::pg::Connection& conn, const QString& statement);
    /// Refreshes (or merges) each view of a refresh workload, switching it to the workload's
    /// strategy (materialized or incremental) the first time.
    Outcome refresh(htap::pg::Connection& conn);
    qint64 drawProduct();

    struct Line {
        qint64 product;
        int quantity;
        QString price;
        double amount;
    };
    QList<Line> drawBasket();
    /// A customer, a basket and its total: what every form of the order starts from.
    struct Order {
        qint64 user;
        QList<Line> lines;
        QString total;
    };
    Order drawOrder();

    Workload m_workload;
    std::function<bool()> m_stopRequested;
    QRandomGenerator m_rng;
    std::vector<QString> m_prices; ///< index product_id - 1
    std::vector<double> m_zipfCdf;
    qint64 m_maxUser = 1;
    int m_nextReport = 0;
    bool m_modeChecked = false;
};

} // namespace htap::workload
