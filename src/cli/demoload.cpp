#include "demoload.h"

#include <pg/connection.h>
#include <workload/requests.h>

#include <chrono>

namespace htap::cli {

using namespace Qt::StringLiterals;
using htap::workload::Outcome;
using htap::workload::RequestExecutor;
using htap::workload::Workload;

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

namespace {
/// Runs requests of one workload at a fixed rate until stop; the counting is the caller's.
template<typename Count>
void paced(const htap::pg::ConnInfo& info, const Workload& w, quint64 seed, double rate, const std::atomic<bool>& stop,
    const QString& application, Count count)
{
    using clock = std::chrono::steady_clock;
    htap::pg::Connection conn;
    RequestExecutor executor(w, seed, [&stop] { return stop.load(); });
    if (conn.open(info.with(u"user"_s, w.role), {10000, application}) || executor.prepare(conn)) {
        count(Outcome {Outcome::Kind::Failed, u"08006"_s, {}, 1});
        return;
    }
    const auto period = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(1.0 / rate));
    for (auto next = clock::now(); !stop; next += period) {
        std::this_thread::sleep_until(next);
        const Outcome o = executor.run(conn);
        count(o);
        if (!conn.isOpen())
            return;
    }
}
} // namespace

void DemoLoad::run(int client)
{
    // The seed's order transaction (4.1), one statement per round trip, as the scenario engine runs it.
    Workload orders;
    orders.name = u"orders"_s;
    orders.kind = Workload::Kind::Order;
    orders.role = u"oltp_user"_s;
    paced(m_info, orders, quint64(42 + client), m_rate, m_stop, u"htap-studio oltp demo"_s, [this](const Outcome& o) {
        switch (o.kind) {
        case Outcome::Kind::Committed:
            ++m_committed;
            break;
        case Outcome::Kind::BusinessRollback:
            ++m_rolledBack;
            break;
        case Outcome::Kind::Failed:
            ++m_failed;
            break;
        }
    });
}

void DemoLoad::runReports()
{
    // Two of the seed's reports (4.2) in REPEATABLE READ, as the seed runs them (2.3).
    Workload reports;
    reports.name = u"reports"_s;
    reports.kind = Workload::Kind::Report;
    reports.reports = {u"hourly"_s, u"category"_s};
    reports.role = u"olap_user"_s;
    reports.isolation = u"repeatable read"_s;
    paced(m_info, reports, 7, m_reportRate, m_stop, u"htap-studio olap demo"_s, [this](const Outcome& o) {
        if (o.kind == Outcome::Kind::Committed)
            ++m_reports;
    });
}

} // namespace htap::cli
