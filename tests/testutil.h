// Shared helpers for the tests: where the test sandbox is, and how to reach it.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

#include <pg/connection.h>
#include <pg/sandbox.h>

#include <QtTest>

namespace htap::test {

/// The sandbox that the CTest fixture started (HTAP_TEST_SANDBOX). A test run outside CTest
/// without it fails loudly rather than skipping, so a broken fixture cannot pass as green.
inline htap::pg::Sandbox testSandbox()
{
    const QString dir = qEnvironmentVariable("HTAP_TEST_SANDBOX");
    if (dir.isEmpty())
        qFatal("HTAP_TEST_SANDBOX is not set: run the tests through ctest");
    return htap::pg::Sandbox(dir);
}

inline htap::pg::ConnInfo sandboxConnInfo()
{
    return testSandbox().connInfo();
}

/// A fresh scratch folder for tests that make their own sandboxes.
inline QString scratchDir(const QString& name)
{
    const QString base = qEnvironmentVariable("HTAP_TEST_SCRATCH", QDir::tempPath() + QStringLiteral("/htap-scratch"));
    QDir(base).mkpath(QStringLiteral("."));
    return base + QLatin1Char('/') + name;
}

/// Turns a call that must return at once but blocks into a failure that says so, instead of a
/// hang until ctest's timeout: qFatal(what) unless disarmed within seconds.
class Watchdog
{
public:
    Watchdog(const char* what, int seconds)
        : m_thread([this, what, seconds] {
            for (int i = 0; i < seconds * 10 && !m_disarmed; ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            if (!m_disarmed)
                qFatal("%s", what);
        })
    {
    }
    ~Watchdog() { disarm(); }
    void disarm()
    {
        m_disarmed = true;
        if (m_thread.joinable())
            m_thread.join();
    }

private:
    std::atomic<bool> m_disarmed {false};
    std::thread m_thread;
};

} // namespace htap::test
