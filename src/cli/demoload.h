#pragma once

#include <pg/conninfo.h>

#include <atomic>
#include <thread>
#include <vector>

namespace htap::cli {

/// A light, fixed-rate stream of the seed's order transaction (4.1, one statement per round
/// trip) as oltp_user, and of two of its reports (4.2) as olap_user, for the headless demo and
/// for looking at the GUI, so that the numbers move. The requests are the scenario engine's
/// (RequestExecutor); only the latency accounting is left out.
class DemoLoad
{
public:
    DemoLoad(htap::pg::ConnInfo info, int clients, double ratePerClient, double reportsPerSecond = 0.5);
    ~DemoLoad();
    void start();
    void stop();
    qint64 committed() const { return m_committed.load(); }
    qint64 rolledBack() const { return m_rolledBack.load(); }
    qint64 failed() const { return m_failed.load(); }
    qint64 reports() const { return m_reports.load(); }

private:
    void run(int client);
    void runReports();

    htap::pg::ConnInfo m_info;
    int m_clients;
    double m_rate;
    double m_reportRate;
    std::atomic<bool> m_stop {false};
    std::atomic<qint64> m_committed {0};
    std::atomic<qint64> m_rolledBack {0};
    std::atomic<qint64> m_failed {0};
    std::atomic<qint64> m_reports {0};
    std::vector<std::thread> m_threads;
};

} // namespace htap::cli
