#pragma once

#include <pg/conninfo.h>

#include <atomic>
#include <thread>
#include <vector>

namespace htap::cli {

/// A light, fixed-rate stream of the seed's order transaction (4.1, one statement per round
/// trip) for the headless demo, so that the numbers it prints move. Not the scenario engine:
/// no latency accounting, just commits and business rollbacks.
class DemoLoad
{
public:
    DemoLoad(htap::pg::ConnInfo info, int clients, double ratePerClient);
    ~DemoLoad();
    void start();
    void stop();
    qint64 committed() const { return m_committed.load(); }
    qint64 rolledBack() const { return m_rolledBack.load(); }
    qint64 failed() const { return m_failed.load(); }

private:
    void run(int client);

    htap::pg::ConnInfo m_info;
    int m_clients;
    double m_rate;
    std::atomic<bool> m_stop {false};
    std::atomic<qint64> m_committed {0};
    std::atomic<qint64> m_rolledBack {0};
    std::atomic<qint64> m_failed {0};
    std::vector<std::thread> m_threads;
};

} // namespace htap::cli
