#include "requests.h"

#include <mv/mvservice.h>

#include <pg/sqlfile.h>

#include <QSet>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cmath>

namespace htap::workload {

using namespace Qt::StringLiterals;
using htap::pg::Connection;
using htap::pg::PgError;
using htap::pg::Result;

namespace {
Outcome failed(const PgError& e)
{
    Outcome o;
    o.kind = Outcome::Kind::Failed;
    o.sqlstate = e.sqlstate.isEmpty() ? (e.kind == PgError::Kind::Connection ? u"08000"_s : u"XX000"_s) : e.sqlstate;
    o.message = e.oneLine();
    return o;
}

Outcome businessRollback()
{
    Outcome o;
    o.kind = Outcome::Kind::BusinessRollback;
    return o;
}
} // namespace

RequestExecutor::RequestExecutor(const Workload& workload, quint64 seed, std::function<bool()> stopRequested)
    : m_workload(workload)
    , m_stopRequested(std::move(stopRequested))
    , m_rng(quint32(seed ^ (seed >> 32)))
{
}

PgError RequestExecutor::prepare(Connection& conn)
{
    if (auto r = conn.exec(u"SELECT set_config('default_transaction_isolation', $1, false)"_s, {m_workload.isolation}); !r.ok())
        return r.error();
    auto prep = [&](const QString& name, const QString& sql) -> PgError {
        const Result r = conn.prepare(name, sql);
        return r.ok() ? PgError {} : r.error();
    };
    switch (m_workload.kind) {
    case Workload::Kind::Order: {
        const auto sql = htap::pg::namedStatements(u"workload/order.sql"_s);
        for (const QString& name : {u"insert_order"_s, u"insert_item"_s, u"insert_item_currval"_s, u"decrement_stock"_s, u"order_cte"_s})
            if (PgError e = prep(name, sql.value(name)))
                return e;
        const Result prices = conn.exec(sql.value(u"prices"_s));
        if (!prices.ok())
            return prices.error();
        for (int i = 0; i < prices.rowCount(); ++i) {
            const qint64 id = prices.toInt64(i, 0);
            if (id >= 1 && id <= 10'000'000) {
                if (qsizetype(m_prices.size()) < id)
                    m_prices.resize(std::size_t(id));
                m_prices[std::size_t(id - 1)] = prices.text(i, 1);
            }
        }
        if (m_prices.empty())
            return PgError::make(PgError::Kind::Usage, u"dim_products is empty: the order workload needs the shop's products"_s);
        m_maxUser = conn.exec(sql.value(u"max_user"_s)).toInt64(0, 0, 1);
        if (m_workload.zipfian) {
            m_zipfCdf.resize(m_prices.size());
            double sum = 0;
            for (std::size_t k = 0; k < m_prices.size(); ++k)
                m_zipfCdf[k] = (sum += 1.0 / std::pow(double(k + 1), m_workload.zipfS));
            for (double& v : m_zipfCdf)
                v /= sum;
        }
        return {};
    }
    case Workload::Kind::Report: {
        const auto sql = htap::pg::namedStatements(u"workload/reports.sql"_s);
        for (const QString& name : std::as_const(m_workload.reports))
            if (PgError e = prep(name, sql.value(name)))
                return e;
        return {};
    }
    case Workload::Kind::Sql:
        return prep(u"user_sql"_s, m_workload.sqlText);
    case Workload::Kind::Refresh: {
        // Every view must exist before the clock starts; modes are switched on first use.
        conn.exec(u"SET default_transaction_isolation = 'read committed'"_s);
        htap::mv::MvService service(conn);
        for (const QString& v : std::as_const(m_workload.views)) {
            htap::mv::ViewInfo info;
            QString error;
            if (!service.find(v, &info, &error))
                return PgError::make(PgError::Kind::Usage, error);
        }
        return {};
    }
    }
    return {};
}

Outcome RequestExecutor::refresh(Connection& conn)
{
    htap::mv::MvService service(conn);
    htap::mv::RefreshMode mode = htap::mv::RefreshMode::Concurrent;
    htap::mv::parseMode(m_workload.refreshMode, &mode);
    const bool incremental = mode == htap::mv::RefreshMode::Incremental;
    for (const QString& v : std::as_const(m_workload.views)) {
        // The strategy this workload stands for: switch the view to it the first time.
        if (!m_modeChecked) {
            htap::mv::ViewInfo info;
            QString error;
            if (!service.find(v, &info, &error))
                return {Outcome::Kind::Failed, u"HV000"_s, error};
            if (info.incremental != incremental) {
                error = incremental ? service.enableIncremental(v) : service.disableIncremental(v);
                if (!error.isEmpty())
                    return {Outcome::Kind::Failed, u"HV000"_s, error};
            }
        }
        const htap::mv::RefreshOutcome o = service.refresh(v, mode);
        if (!o.ok && !o.message.contains(u"another merge"_s))
            return {Outcome::Kind::Failed, o.sqlstate.isEmpty() ? u"HV000"_s : o.sqlstate, o.message};
    }
    m_modeChecked = true;
    return {};
}

qint64 RequestExecutor::drawProduct()
{
    const auto n = qint64(m_prices.size());
    if (!m_workload.zipfian)
        return 1 + qint64(m_rng.bounded(quint64(n)));
    const double u = m_rng.generateDouble();
    return 1 + qint64(std::lower_bound(m_zipfCdf.begin(), m_zipfCdf.end(), u) - m_zipfCdf.begin());
}

QList<RequestExecutor::Line> RequestExecutor::drawBasket()
{
    // 1 to 5 distinct products (the seed's order), 1 to 3 of each.
    QList<Line> lines;
    QSet<qint64> seen;
    const int n = 1 + int(m_rng.bounded(5));
    for (int tries = 0; lines.size() < n && tries < 50; ++tries) {
        const qint64 p = drawProduct();
        if (seen.contains(p) || m_prices[std::size_t(p - 1)].isEmpty())
            continue;
        seen.insert(p);
        const int q = 1 + int(m_rng.bounded(3));
        const QString& price = m_prices[std::size_t(p - 1)];
        lines.append({p, q, price, price.toDouble() * q});
    }
    return lines;
}

RequestExecutor::Order RequestExecutor::drawOrder()
{
    Order o {1 + qint64(m_rng.bounded(quint64(m_maxUser))), drawBasket(), {}};
    double total = 0;
    for (const Line& l : std::as_const(o.lines))
        total += l.amount;
    o.total = QString::number(total, 'f', 2);
    return o;
}

Outcome RequestExecutor::run(Connection& conn)
{
    Outcome o;
    for (int attempt = 1;; ++attempt) {
        o = once(conn);
        o.tries = attempt;
        const bool retryable = o.sqlstate == u"40001"_s || o.sqlstate == u"40P01"_s;
        if (!retryable || attempt >= m_workload.maxTries || !conn.isOpen())
            return o;
    }
}

Outcome RequestExecutor::once(Connection& conn)
{
    switch (m_workload.kind) {
    case Workload::Kind::Order:
        switch (m_workload.form) {
        case Workload::OrderForm::RoundTrip:
            return order(conn);
        case Workload::OrderForm::Pipeline:
            return orderPipelined(conn);
        case Workload::OrderForm::Cte:
            return orderCte(conn);
        }
        break;
    case Workload::Kind::Report: {
        const QString& report = m_workload.reports[m_nextReport++ % m_workload.reports.size()];
        if (m_workload.holdSeconds > 0)
            return heldQuery(conn, report);
        const Result r = conn.execPrepared(report);
        return r.ok() ? Outcome {} : failed(r.error());
    }
    case Workload::Kind::Sql: {
        if (m_workload.holdSeconds > 0)
            return heldQuery(conn, u"user_sql"_s);
        const Result r = conn.execPrepared(u"user_sql"_s);
        return r.ok() ? Outcome {} : failed(r.error());
    }
    case Workload::Kind::Refresh:
        return refresh(conn);
    }
    return {};
}

Outcome RequestExecutor::heldQuery(Connection& conn, const QString& statement)
{
    // The seed's counter-example of a long analytic snapshot: in REPEATABLE READ the snapshot
    // lives as long as the transaction, and VACUUM cannot remove rows it might still see.
    if (auto r = conn.runScript(u"BEGIN"_s); !r.ok())
        return failed(r.error());
    const Result q = conn.execPrepared(statement);
    if (!q.ok()) {
        conn.runScript(u"ROLLBACK"_s);
        return failed(q.error());
    }
    const auto until = std::chrono::steady_clock::now()
        + std::chrono::milliseconds(qint64(m_workload.holdSeconds * 1000));
    while (std::chrono::steady_clock::now() < until && !(m_stopRequested && m_stopRequested()))
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const Result end = conn.runScript(u"COMMIT"_s);
    return end.ok() ? Outcome {} : failed(end.error());
}

Outcome RequestExecutor::order(Connection& conn)
{
    const Order order = drawOrder();
    // Transaction control goes over the simple protocol: one message instead of parse, bind
    // and execute (our own fixed text, no values).
    auto abort = [&](const PgError& e) {
        if (conn.isOpen())
            conn.runScript(u"ROLLBACK"_s);
        return failed(e);
    };
    if (auto r = conn.runScript(u"BEGIN"_s); !r.ok())
        return failed(r.error());
    const Result inserted = conn.execPrepared(u"insert_order"_s, {order.user, order.total});
    if (!inserted.ok())
        return abort(inserted.error());
    const qint64 orderId = inserted.toInt64(0, 0);
    for (const Line& l : order.lines) {
        if (auto r = conn.execPrepared(u"insert_item"_s, {orderId, l.product, l.quantity, l.price}); !r.ok())
            return abort(r.error());
        const Result stock = conn.execPrepared(u"decrement_stock"_s, {l.quantity, l.product});
        if (!stock.ok())
            return abort(stock.error());
        if (stock.affectedRows() == 0) { // short stock: the seed rolls the order back
            conn.runScript(u"ROLLBACK"_s);
            return businessRollback();
        }
    }
    if (auto r = conn.runScript(u"COMMIT"_s); !r.ok())
        return abort(r.error());
    return {};
}

Outcome RequestExecutor::orderPipelined(Connection& conn)
{
    const Order order = drawOrder();
    QList<Connection::PipelineStep> steps {{u"BEGIN"_s, {}, false}, {u"insert_order"_s, {order.user, order.total}, true}};
    for (const Line& l : order.lines) {
        steps.append({u"insert_item_currval"_s, {l.product, l.quantity, l.price}, true});
        steps.append({u"decrement_stock"_s, {l.quantity, l.product}, true});
    }
    const QList<Result> results = conn.execPipeline(steps);
    bool shortStock = false;
    for (int i = 0; i < results.size(); ++i) {
        if (!results[i].ok()) {
            const PgError e = results[i].error();
            if (conn.isOpen())
                conn.exec(u"ROLLBACK"_s);
            return failed(e);
        }
        if (steps[i].statement == u"decrement_stock"_s && results[i].affectedRows() == 0)
            shortStock = true;
    }
    const Result end = conn.runScript(shortStock ? u"ROLLBACK"_s : u"COMMIT"_s);
    if (!end.ok())
        return failed(end.error());
    return shortStock ? businessRollback() : Outcome {};
}

Outcome RequestExecutor::orderCte(Connection& conn)
{
    const Order order = drawOrder();
    QStringList products, quantities;
    for (const Line& l : order.lines) {
        products << QString::number(l.product);
        quantities << QString::number(l.quantity);
    }
    const Result r = conn.execPrepared(u"order_cte"_s,
        {order.user, QString(u'{' + products.join(u',') + u'}'), QString(u'{' + quantities.join(u',') + u'}')});
    if (r.ok())
        return {};
    // inventory's CHECK (quantity >= 0) is the stock check in this form.
    if (r.error().sqlstate == u"23514"_s)
        return businessRollback();
    return failed(r.error());
}

} // namespace htap::workload
