// Shared helpers for the tests: where the test sandbox is, and how to reach it.
#pragma once

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

} // namespace htap::test
