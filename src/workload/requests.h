#pragma once

#include "scenario.h"

#include <pg/connection.h>

#include "seededrandom.h"

#include <array>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace htap::workload {

/// What one request came to.
struct Outcome {
    enum class Kind { Committed, BusinessRollback, Failed };
    Kind kind = Kind::Committed;
    QString sqlstate; ///< Failed: the server's SQLSTATE, or "08000" for a lost connection
    QString message;
    int tries = 1;
    int deadlocks = 0; ///< of the tries before the last, those that ended in a deadlock (40P01); the rest in 40001
    /// Failed: a standby's recovery cancelled it ("conflict with recovery", SQLSTATE 40001 or
    /// 40P01). Counted as a conflict and not tried again: the same report would meet the same replay.
    bool recoveryConflict = false;
};

/// One message to the server: a prepared statement, one of our fixed scripts (transaction
/// control), or a pipeline of prepared statements ending in a sync. Its values and steps are
/// the executor's, valid until its next begin() or advance(): nothing is copied per command.
struct Command {
    enum class Kind { Prepared, Script, Pipeline };
    Kind kind = Kind::Prepared;
    const char* statement = nullptr;     ///< a prepared statement's name, or the script: a literal or the executor's
    std::span<const char* const> params; ///< in text form

    std::span<const htap::pg::Connection::Statement> steps;
};

/// Sends a command without waiting for its results (Connection::takeResults brings them).
htap::pg::PgError sendCommand(htap::pg::Connection& conn, const Command& command);

/// Where a request stands after a command's results: the next command, or its outcome.
struct Step {
    bool done = false;
    Command command; ///< when not done
    Outcome outcome; ///< when done
};

/// Runs the requests of one workload on one connection. Prepares its statements once; draws
/// products, users and quantities from its own seeded generator.
///
/// A request is a short sequence of commands (begin() then advance() with each command's
/// results until done), so one thread can drive many connections without blocking
/// (multiplexed()); run() drives it on a blocking connection. Held snapshots and refreshes
/// wait on purpose and only run().
class RequestExecutor
{
public:
    /// stopRequested cuts a held snapshot short when the run stops.
    RequestExecutor(const Workload& workload, quint64 seed, std::function<bool()> stopRequested = {});
    RequestExecutor(const RequestExecutor&) = delete; ///< commands point into it
    RequestExecutor& operator=(const RequestExecutor&) = delete;
    /// Prepares statements and loads what the order transaction needs (prices, users), unless
    /// it has them already (a reconnect, or shareCatalogue()).
    htap::pg::PgError prepare(htap::pg::Connection& conn);
    /// Takes over what other's prepare() read of the catalogue: the connections of a workload
    /// read it once, and their orders draw from one table that stays warm in the cache.
    void shareCatalogue(const RequestExecutor& other);
    /// One request, with retries on serialization failures and deadlocks, blocking.
    Outcome run(htap::pg::Connection& conn);

    /// Whether this workload's requests are command sequences (begin/advance).
    bool multiplexed() const;
    /// Starts a request: draws its values and says what to send first.
    Command begin();
    /// What the results of the last command lead to. connectionOpen: whether the connection
    /// is still usable (a broken one gets no ROLLBACK and no retry).
    Step advance(std::span<const htap::pg::Reply> results, bool connectionOpen);

private:
    Command firstCommand();
    /// Stamps the outcome with the request's tries so far and says whether it goes again: a
    /// serialization failure or deadlock, within the try budget, on a connection still open.
    /// The one place a retry is decided, for both ways a request runs.
    bool tryAgain(Outcome& o, bool connectionOpen);
    Step finish(Outcome o, bool connectionOpen);
    Step rollbackThen(Outcome o, bool connectionOpen);
    /// A report or user statement inside a transaction held open holdSeconds after it ran.
    Outcome heldQuery(htap::pg::Connection& conn, const QString& statement);
    /// Refreshes (or merges) each view of a refresh workload, switching it to the workload's
    /// strategy (materialized or incremental) the first time.
    Outcome refresh(htap::pg::Connection& conn);
    qint64 drawProduct();

    /// Room for a qint64 in text form and its terminating zero.
    using Number = std::array<char, 24>;
    /// Values as sent are written once per order into fixed buffers: a round trip hands libpq
    /// pointers to them, and a retry sends them again.
    struct Line {
        qint64 product;
        int quantity;
        const char* price; ///< in m_catalogue, which never changes once prepared
        double amount;
        Number productText, quantityText;
    };
    void drawBasket();
    /// A customer, a basket and its total: what every form of the order starts from.
    struct Order {
        qint64 user = 0;
        std::vector<Line> lines; ///< reused from order to order
        Number userText {}, total {};
    };
    void drawOrder();
    /// A command for a prepared statement with these values (kept in m_params).
    Command prepared(const char* statement, std::initializer_list<const char*> values);

    // What every round trip reads comes first, in as few cache lines as may be: a thread
    // serving many connections finds them cold each time.
    enum class Stage { Begin, InsertOrder, Items, Pipeline, Statement, End, Rollback };
    Stage m_stage = Stage::Begin;
    int m_line = 0;         ///< round trip: the item being written
    bool m_stockStep = false; ///< round trip: its stock decrement is next
    int m_tries = 1;
    int m_deadlocks = 0; ///< tries of this request that ended in a deadlock and were tried again
    std::array<const char*, 4> m_params {}; ///< the values of the command under way
    Number m_orderId {};    ///< round trip: the new order's id, as sent with each item
    Order m_order;          ///< the request's values, kept across retries
    std::vector<htap::pg::Connection::Statement> m_steps; ///< pipeline: its statements
    std::vector<std::array<const char*, 3>> m_stepParams; ///< and their values
    std::string m_cteProducts, m_cteQuantities; ///< one statement: the order's arrays
    Outcome m_outcome;      ///< what a ROLLBACK under way ends with
    const char* m_statement = nullptr; ///< report/sql: the prepared statement of this request (in m_reportNames or a literal)

    Workload m_workload;
    std::function<bool()> m_stopRequested;
    std::vector<QByteArray> m_reportNames; ///< report: the prepared statements' names, converted once
    SeededRandom m_rng;
    /// A product's price, as a number and as the server writes it: one cache line holds what
    /// an item needs of it (the catalogue is read at random).
    struct Price {
        double value = 0;
        qint32 longAt = -1;                ///< where a text too long for shortText starts in longPrices
        std::array<char, 12> shortText {}; ///< empty (and longAt -1) when unpriced
        bool priced() const { return shortText[0] || longAt >= 0; }
    };
    /// What orders are drawn from, read once and never changed: shared by the connections of
    /// a workload, across threads.
    struct Catalogue {
        std::vector<Price> prices; ///< index product_id - 1
        std::string longPrices;    ///< texts that do not fit in a Price, each ending in a zero
        std::vector<double> zipfCdf;
        qint64 maxUser = 1;
    };
    std::shared_ptr<const Catalogue> m_catalogue;
    int m_nextReport = 0;
    bool m_modeChecked = false;
};

} // namespace htap::workload
