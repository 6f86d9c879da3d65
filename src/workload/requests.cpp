#include "requests.h"

#include <hotpath.h>

#include <mv/mvservice.h>

#include <pg/sqlfile.h>


#include <poll.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <thread>

namespace htap::workload {

using namespace Qt::StringLiterals;
using htap::pg::Connection;
using htap::pg::PgError;
using htap::pg::Reply;
using htap::pg::Result;

namespace {
/// Writes v and a terminating zero into buf (24 characters hold any qint64).
void writeNumber(std::array<char, 24>& buf, qint64 v)
{
    *std::to_chars(buf.data(), buf.data() + buf.size() - 1, v).ptr = '\0';
}

/// An amount with two decimals, as QByteArray::number(v, 'f', 2) writes it. (They round a tie
/// differently, but prices have two decimals: a total is never one.)
void writeAmount(std::array<char, 24>& buf, double v)
{
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size() - 1, v, std::chars_format::fixed, 2);
    *(ec == std::errc() ? end : buf.data()) = '\0';
}

Outcome failed(const PgError& e)
{
    Outcome o;
    o.kind = Outcome::Kind::Failed;
    o.sqlstate = e.sqlstate.isEmpty() ? (e.kind == PgError::Kind::Connection ? u"08000"_s : u"XX000"_s) : e.sqlstate;
    o.message = e.oneLine();
    o.recoveryConflict = e.message.contains(u"conflict with recovery"_s);
    return o;
}

Outcome businessRollback()
{
    Outcome o;
    o.kind = Outcome::Kind::BusinessRollback;
    return o;
}
/// Failures that the same request may simply try again: a serialization failure, a deadlock.
bool retryable(const Outcome& o)
{
    return !o.recoveryConflict && (o.sqlstate == u"40001"_s || o.sqlstate == u"40P01"_s);
}

bool deadlocked(const Outcome& o)
{
    return o.sqlstate == u"40P01"_s;
}

} // namespace

RequestExecutor::RequestExecutor(const Workload& workload, quint64 seed, std::function<bool()> stopRequested)
    : m_workload(workload)
    , m_stopRequested(std::move(stopRequested))
    , m_rng(quint32(seed ^ (seed >> 32)))
{
    for (const QString& name : std::as_const(m_workload.reports))
        m_reportNames.push_back(name.toUtf8());
}

PgError RequestExecutor::prepare(Connection& conn)
{
    // The isolation level and the statements go in one round trip (a pipeline): a run opens
    // every connection before its clock starts, and to a distant server each round trip counts.
    const Connection::PipelineStep isolation {u"SELECT set_config('default_transaction_isolation', $1, false)"_s,
        {m_workload.isolation}, false, {}};
    auto prepareAll = [&](const QStringList& names, const QHash<QString, QString>& sql) -> PgError {
        QList<Connection::PipelineStep> steps {isolation};
        for (const QString& name : names)
            steps.append({sql.value(name), {}, false, name});
        for (const Result& r : conn.execPipeline(steps))
            if (!r.ok())
                return r.error(); // the first failure: those after it were not run
        return {};
    };
    switch (m_workload.kind) {
    case Workload::Kind::Order: {
        const auto sql = htap::pg::namedStatements(u"workload/order.sql"_s);
        if (PgError e = prepareAll({u"insert_order"_s, u"insert_item"_s, u"insert_item_currval"_s, u"decrement_stock"_s, u"order_cte"_s}, sql))
            return e;
        if (m_catalogue) // a reconnect, or another connection of the workload read it
            return {};
        const Result prices = conn.exec(sql.value(u"prices"_s));
        if (!prices.ok())
            return prices.error();
        auto catalogue = std::make_shared<Catalogue>();
        qint64 priced = 0;
        for (int i = 0; i < prices.rowCount(); ++i) {
            const qint64 id = prices.toInt64(i, 0);
            if (id >= 1 && id <= 10'000'000) {
                if (qsizetype(catalogue->prices.size()) < id)
                    catalogue->prices.resize(std::size_t(id));
                Price& price = catalogue->prices[std::size_t(id - 1)];
                price = {};
                const QByteArray text = prices.text(i, 1).toUtf8();
                if (std::size_t(text.size()) < price.shortText.size()) {
                    std::copy(text.cbegin(), text.cend(), price.shortText.begin());
                } else {
                    price.longAt = qint32(catalogue->longPrices.size());
                    catalogue->longPrices.append(text.constData(), std::size_t(text.size())).push_back('\0');
                }
                price.value = prices.toDouble(i, 1);
                ++priced;
            }
        }
        if (catalogue->prices.empty())
            return PgError::make(PgError::Kind::Usage, u"dim_products is empty: the order workload needs the shop's products"_s);
        if (priced < m_workload.maxItems)
            return PgError::make(PgError::Kind::Usage, u"orders of up to %1 distinct products need that many priced products; "
                                                       "dim_products has %2"_s.arg(m_workload.maxItems).arg(priced));
        catalogue->maxUser = conn.exec(sql.value(u"max_user"_s)).toInt64(0, 0, 1);
        if (m_workload.zipfian) {
            std::vector<double>& cdf = catalogue->zipfCdf;
            cdf.resize(catalogue->prices.size());
            double sum = 0;
            for (std::size_t k = 0; k < cdf.size(); ++k)
                cdf[k] = (sum += 1.0 / std::pow(double(k + 1), m_workload.zipfS));
            for (double& v : cdf)
                v /= sum;
        }
        m_catalogue = std::move(catalogue);
        return {};
    }
    case Workload::Kind::Report: {
        auto sql = htap::pg::namedStatements(u"workload/reports.sql"_s);
        for (auto it = m_workload.rewrittenReports.cbegin(); it != m_workload.rewrittenReports.cend(); ++it)
            sql.insert(it.key(), it.value()); // the router's rewrite, read from a view
        return prepareAll(m_workload.reports, sql);
    }
    case Workload::Kind::Sql:
        return prepareAll({u"user_sql"_s}, {{u"user_sql"_s, m_workload.sqlText}});
    case Workload::Kind::Refresh: {
        // Every view must exist before the clock starts; modes are switched on first use. The
        // isolation is read committed: validation allows a refresh no other level.
        if (const Result r = conn.exec(isolation.statement, isolation.params); !r.ok())
            return r.error();
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

void RequestExecutor::shareCatalogue(const RequestExecutor& other)
{
    if (!m_catalogue)
        m_catalogue = other.m_catalogue;
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

HTAP_HOT qint64 RequestExecutor::drawProduct()
{
    const auto n = qint64(m_catalogue->prices.size());
    if (!m_workload.zipfian)
        return 1 + qint64(m_rng.bounded(quint64(n)));
    const double u = m_rng.generateDouble();
    const std::vector<double>& cdf = m_catalogue->zipfCdf;
    return 1 + qint64(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
}

HTAP_HOT void RequestExecutor::drawBasket()
{
    // 1 to 5 distinct products (the seed's order; items in the scenario), 1 to 3 of each.
    const Catalogue& catalogue = *m_catalogue;
    std::vector<Line>& lines = m_order.lines;
    lines.clear();
    lines.reserve(std::size_t(m_workload.maxItems));
    const int n = m_workload.minItems + int(m_rng.bounded(m_workload.maxItems - m_workload.minItems + 1));
    auto seen = [&lines](qint64 p) {
        return std::any_of(lines.cbegin(), lines.cend(), [p](const Line& l) { return l.product == p; });
    };
    for (int tries = 0; int(lines.size()) < n && tries < 20 * n; ++tries) {
        const qint64 p = drawProduct();
        const Price& price = catalogue.prices[std::size_t(p - 1)];
        if (seen(p) || !price.priced())
            continue;
        const int q = 1 + int(m_rng.bounded(3));
        Line& l = lines.emplace_back();
        l.product = p;
        l.quantity = q;
        l.price = price.longAt >= 0 ? catalogue.longPrices.data() + price.longAt : price.shortText.data();
        l.amount = price.value * q;
        writeNumber(l.productText, p);
        writeNumber(l.quantityText, q);
    }
}

HTAP_HOT void RequestExecutor::drawOrder()
{
    m_order.user = 1 + qint64(m_rng.bounded(quint64(m_catalogue->maxUser)));
    drawBasket();
    double total = 0;
    for (const Line& l : m_order.lines)
        total += l.amount;
    writeNumber(m_order.userText, m_order.user);
    writeAmount(m_order.total, total);
}

HTAP_HOT Command RequestExecutor::prepared(const char* statement, std::initializer_list<const char*> values)
{
    Q_ASSERT(values.size() <= m_params.size());
    std::copy(values.begin(), values.end(), m_params.begin());
    return {Command::Kind::Prepared, statement, std::span(m_params.data(), values.size()), {}};
}

bool RequestExecutor::multiplexed() const
{
    switch (m_workload.kind) {
    case Workload::Kind::Order:
        return true;
    case Workload::Kind::Report:
    case Workload::Kind::Sql:
        return m_workload.holdSeconds <= 0;
    case Workload::Kind::Refresh:
        return false;
    }
    return false;
}

Outcome RequestExecutor::run(Connection& conn)
{
    if (!multiplexed()) { // a held snapshot or a refresh: blocking by nature
        m_tries = 1;
        m_deadlocks = 0;
        // Chosen once: a retry runs the same report again, as in the multiplexed form.
        const QString statement = m_workload.kind == Workload::Kind::Report
            ? m_workload.reports[m_nextReport++ % m_workload.reports.size()]
            : u"user_sql"_s;
        for (;;) {
            Outcome o = m_workload.kind == Workload::Kind::Refresh ? refresh(conn) : heldQuery(conn, statement);
            if (!tryAgain(o, conn.isOpen()))
                return o;
        }
    }
    // The same command sequence as the multiplexed loop, waiting on this one socket.
    Command command = begin();
    for (;;) {
        std::span<const Reply> results;
        Reply error;
        if (PgError e = sendCommand(conn, command)) {
            error = Reply(e);
            results = {&error, 1};
        } else {
            auto stopSeen = std::chrono::steady_clock::time_point();
            for (;;) {
                // After a stop the request gets 5 s (its cancel is on the way), then is given up.
                if (m_stopRequested && m_stopRequested()) {
                    const auto now = std::chrono::steady_clock::now();
                    if (stopSeen == std::chrono::steady_clock::time_point())
                        stopSeen = now;
                    else if (now - stopSeen > std::chrono::seconds(5)) {
                        conn.close();
                        error = Reply(PgError::make(PgError::Kind::Connection, u"no answer within 5 s of the stop"_s));
                        results = {&error, 1};
                        break;
                    }
                }
                const int flushed = conn.flush();
                if (flushed < 0) {
                    error = Reply(PgError::make(PgError::Kind::Connection, conn.lastErrorMessage()));
                    results = {&error, 1};
                    conn.close();
                    break;
                }
                if (conn.takeReplies()) {
                    results = conn.replies();
                    break;
                }
                pollfd fd {conn.socket(), short(POLLIN | (flushed == 1 ? POLLOUT : 0)), 0};
                poll(&fd, 1, 200);
                conn.consumeInput(); // a broken link shows in the results
            }
        }
        Step step = advance(results, conn.isOpen());
        if (step.done)
            return step.outcome;
        command = std::move(step.command);
    }
}

HTAP_HOT PgError sendCommand(Connection& conn, const Command& command)
{
    switch (command.kind) {
    case Command::Kind::Prepared:
        return conn.sendPrepared(command.statement, command.params);
    case Command::Kind::Script:
        return conn.sendScript(command.statement);
    case Command::Kind::Pipeline:
        return conn.sendPipeline(command.steps);
    }
    return {};
}

HTAP_HOT Command RequestExecutor::begin()
{
    m_tries = 1;
    m_deadlocks = 0;
    switch (m_workload.kind) {
    case Workload::Kind::Order:
        drawOrder();
        break;
    case Workload::Kind::Report:
        m_statement = m_reportNames[std::size_t(m_nextReport++) % m_reportNames.size()].constData();
        break;
    case Workload::Kind::Sql:
        m_statement = "user_sql";
        break;
    case Workload::Kind::Refresh:
        break;
    }
    return firstCommand();
}

HTAP_HOT Command RequestExecutor::firstCommand()
{
    m_orderId[0] = '\0';
    m_line = 0;
    m_stockStep = false;
    if (m_workload.kind != Workload::Kind::Order) {
        m_stage = Stage::Statement;
        return {Command::Kind::Prepared, m_statement, {}, {}};
    }
    switch (m_workload.form) {
    case Workload::OrderForm::RoundTrip:
        // Transaction control goes over the simple protocol: one message instead of parse,
        // bind and execute (our own fixed text, no values).
        m_stage = Stage::Begin;
        return {Command::Kind::Script, "BEGIN", {}, {}};
    case Workload::OrderForm::Pipeline: {
        m_stage = Stage::Pipeline;
        // Every pointer is set before any is taken: m_stepParams does not move meanwhile.
        const std::size_t n = 2 + 2 * m_order.lines.size();
        m_stepParams.resize(n);
        m_steps.clear();
        m_steps.push_back({"BEGIN", {}, false});
        m_stepParams[1] = {m_order.userText.data(), m_order.total.data(), nullptr};
        m_steps.push_back({"insert_order", std::span(m_stepParams[1].data(), 2), true});
        for (std::size_t i = 0; i < m_order.lines.size(); ++i) {
            const Line& l = m_order.lines[i];
            auto& item = m_stepParams[2 + 2 * i];
            auto& stock = m_stepParams[3 + 2 * i];
            item = {l.productText.data(), l.quantityText.data(), l.price};
            stock = {l.quantityText.data(), l.productText.data(), nullptr};
            m_steps.push_back({"insert_item_currval", std::span(item.data(), 3), true});
            m_steps.push_back({"decrement_stock", std::span(stock.data(), 2), true});
        }
        return {Command::Kind::Pipeline, {}, {}, m_steps};
    }
    case Workload::OrderForm::Cte: {
        m_stage = Stage::Statement;
        m_cteProducts = '{';
        m_cteQuantities = '{';
        for (const Line& l : m_order.lines) {
            if (&l != &m_order.lines.front()) {
                m_cteProducts += ',';
                m_cteQuantities += ',';
            }
            m_cteProducts += l.productText.data();
            m_cteQuantities += l.quantityText.data();
        }
        m_cteProducts += '}';
        m_cteQuantities += '}';
        return prepared("order_cte", {m_order.userText.data(), m_cteProducts.c_str(), m_cteQuantities.c_str()});
    }
    }
    return {};
}

HTAP_HOT bool RequestExecutor::tryAgain(Outcome& o, bool connectionOpen)
{
    o.tries = m_tries;
    o.deadlocks = m_deadlocks;
    if (!retryable(o) || m_tries >= m_workload.maxTries || !connectionOpen)
        return false;
    if (deadlocked(o))
        ++m_deadlocks;
    ++m_tries; // the same request again; its latency covers every try
    return true;
}

HTAP_HOT Step RequestExecutor::finish(Outcome o, bool connectionOpen)
{
    if (tryAgain(o, connectionOpen))
        return {false, firstCommand(), {}};
    return {true, {}, o};
}

Step RequestExecutor::rollbackThen(Outcome o, bool connectionOpen)
{
    if (!connectionOpen)
        return finish(std::move(o), false);
    m_outcome = std::move(o);
    m_stage = Stage::Rollback;
    return {false, {Command::Kind::Script, "ROLLBACK", {}, {}}, {}};
}

HTAP_HOT Step RequestExecutor::advance(std::span<const Reply> results, bool connectionOpen)
{
    if (m_stage == Stage::Pipeline) {
        bool shortStock = false;
        for (std::size_t i = 0; i < results.size(); ++i) {
            if (!results[i].ok())
                return rollbackThen(failed(results[i].error()), connectionOpen);
            // Steps: BEGIN, insert_order, then (insert_item_currval, decrement_stock) per line.
            if (i >= 2 && i % 2 == 1 && results[i].affectedRows() == 0)
                shortStock = true;
        }
        if (shortStock)
            return rollbackThen(businessRollback(), connectionOpen);
        m_stage = Stage::End;
        return {false, {Command::Kind::Script, "COMMIT", {}, {}}, {}};
    }
    if (results.empty()) { // not expected: every command has an answer
        const Reply none(PgError::make(PgError::Kind::Usage, u"no result"_s));
        return advance({&none, 1}, connectionOpen);
    }
    const Reply& r = results.back();
    auto script = [](const char* text) { return Step {false, {Command::Kind::Script, text, {}, {}}, {}}; };
    auto itemCommand = [&] {
        const Line& l = m_order.lines[std::size_t(m_line)];
        return Step {false,
            m_stockStep ? prepared("decrement_stock", {l.quantityText.data(), l.productText.data()})
                        : prepared("insert_item", {m_orderId.data(), l.productText.data(), l.quantityText.data(), l.price}),
            {}};
    };
    switch (m_stage) {
    case Stage::Begin:
        if (!r.ok())
            return finish(failed(r.error()), connectionOpen);
        m_stage = Stage::InsertOrder;
        return {false, prepared("insert_order", {m_order.userText.data(), m_order.total.data()}), {}};
    case Stage::InsertOrder:
        if (!r.ok())
            return rollbackThen(failed(r.error()), connectionOpen);
        writeNumber(m_orderId, r.toInt64(0, 0));
        m_stage = Stage::Items;
        if (m_order.lines.empty()) {
            m_stage = Stage::End;
            return script("COMMIT");
        }
        return itemCommand();
    case Stage::Items:
        if (!r.ok())
            return rollbackThen(failed(r.error()), connectionOpen);
        if (m_stockStep) {
            if (r.affectedRows() == 0) // short stock: the seed rolls the order back
                return rollbackThen(businessRollback(), connectionOpen);
            m_stockStep = false;
            if (++m_line == int(m_order.lines.size())) {
                m_stage = Stage::End;
                return script("COMMIT");
            }
        } else {
            m_stockStep = true;
        }
        return itemCommand();
    case Stage::Pipeline: // above
        break;
    case Stage::Statement:
        if (r.ok())
            return finish({}, connectionOpen);
        // inventory's CHECK (quantity >= 0) is the stock check of the one-statement order.
        if (m_workload.kind == Workload::Kind::Order && r.error().sqlstate == u"23514"_s)
            return finish(businessRollback(), connectionOpen);
        return finish(failed(r.error()), connectionOpen);
    case Stage::End:
        return finish(r.ok() ? Outcome {} : failed(r.error()), connectionOpen);
    case Stage::Rollback:
        return finish(m_outcome, connectionOpen);
    }
    return finish(failed(r.error()), connectionOpen);
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

} // namespace htap::workload
