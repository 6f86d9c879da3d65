// Helpers for the tests of the incremental engine: how far a maintained view is from its
// definition, and merging until nothing is pending.
#pragma once

#include <mv/mvservice.h>
#include <pg/connection.h>
#include <pg/identifier.h>

#include <QRandomGenerator>
#include <QtTest>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "testutil.h"

/// Runs a statement the test needs; a failure ends the test function with the server's message.
#define EXEC(conn, sql)                                                                                                        \
    do {                                                                                                                       \
        const htap::pg::Result r_ = (conn).exec(sql);                                                                          \
        QVERIFY2(r_.ok(), qPrintable(r_.error().oneLine() + u" in: "_s + (sql)));                                             \
    } while (false)

namespace htap::test {

/// Opens c on the test sandbox under the application name given, or ends the test run.
inline void openOrDie(pg::Connection& c, const QString& application)
{
    const pg::PgError e = c.open(sandboxConnInfo(), {10000, application});
    if (e)
        qFatal("cannot connect to the test sandbox: %s", qPrintable(e.oneLine()));
}

/// Rows that differ between a maintained view and its definition run now (0 = exact). The
/// definition is the one the engine keeps up to date across renames of what it reads.
inline qint64 ivmDifferences(pg::Connection& c, const QString& schema, const QString& name)
{
    using namespace Qt::StringLiterals;
    const pg::Result def = c.exec(u"SELECT definition FROM htap.ivm_views WHERE view_schema = $1 AND view_name = $2"_s, {schema, name});
    if (!def.ok() || def.rowCount() != 1) {
        qWarning("no registry row for %s.%s", qPrintable(schema), qPrintable(name));
        return -1;
    }
    const QString v = pg::quoteQualified(schema, name);
    const QString d = def.text(0, 0);
    const pg::Result r = c.exec(u"SELECT count(*) FROM ((TABLE %1 EXCEPT ALL (%2)) UNION ALL ((%2) EXCEPT ALL TABLE %1)) x"_s.arg(v, d));
    if (!r.ok()) {
        qWarning("%s", qPrintable(r.error().oneLine()));
        return -1;
    }
    return r.toInt64(0, 0);
}

/// Merges until nothing is pending.
inline bool ivmDrain(mv::MvService& s, const QString& view)
{
    using namespace Qt::StringLiterals;
    for (int i = 0; i < 50; ++i) {
        const mv::RefreshOutcome o = s.refresh(view, mv::RefreshMode::Incremental);
        if (!o.ok && !o.message.contains(u"another merge"_s)) {
            qWarning("merge of %s failed: %s", qPrintable(view), qPrintable(o.message));
            return false;
        }
        mv::ViewInfo info;
        QString error;
        if (s.find(view, &info, &error) && info.pendingRows == 0)
            return true;
    }
    return false;
}

/// Merges each view (names in schema) until nothing is pending, then compares it with its
/// definition: empty when all are exact, else what went wrong with the first that is not.
inline QString ivmDrainAndCompare(mv::MvService& s, pg::Connection& c, const QString& schema, const QStringList& names)
{
    using namespace Qt::StringLiterals;
    for (const QString& name : names) {
        if (!ivmDrain(s, pg::quoteQualified(schema, name)))
            return name + u": changes still pending after the merges"_s;
        if (const qint64 d = ivmDifferences(c, schema, name); d != 0)
            return u"%1: %2 rows differ from the definition"_s.arg(name).arg(d);
    }
    return {};
}

/// Random writers with merges interleaved: each writer on a thread and connection of its own runs
/// transactions that step() writes (it runs the statements through exec and returns whether the
/// transaction may commit; it then commits 9 times in 10, else rolls back), while one merger
/// merges every view in turn, pausing between rounds; for a time, then all stop. A statement
/// that fails, other than by a deadlock between the writers (rolled back like the others),
/// counts as unexpected, the first one kept.
struct RandomWriters {
    using Exec = std::function<pg::Result(const QString& sql, const QVariantList& params)>;
    std::atomic<int> transactions {0}, rolledBack {0}, merges {0}, unexpected {0};
    QString firstError;

    void run(const QString& application, const QList<quint32>& seeds, const QStringList& views, int pauseMs, int forMs,
        const std::function<bool(const Exec& exec, QRandomGenerator& rng)>& step)
    {
        std::atomic<bool> stop {false};
        std::mutex firstErrorLock;
        auto writer = [&](quint32 seed) {
            pg::Connection c;
            openOrDie(c, application);
            QRandomGenerator rng(seed);
            const Exec exec = [&](const QString& sql, const QVariantList& params) {
                pg::Result r = c.exec(sql, params);
                if (!r.ok() && r.error().sqlstate != QStringLiteral("40P01") && r.error().sqlstate != QStringLiteral("25P02")
                    && ++unexpected == 1) {
                    const std::lock_guard g(firstErrorLock);
                    firstError = r.error().oneLine();
                }
                return r;
            };
            while (!stop) {
                exec(QStringLiteral("BEGIN"), {});
                if (step(exec, rng) && rng.bounded(10) > 0) {
                    exec(QStringLiteral("COMMIT"), {});
                    ++transactions;
                } else {
                    exec(QStringLiteral("ROLLBACK"), {});
                    ++rolledBack;
                }
            }
        };
        auto merger = [&] {
            pg::Connection c;
            openOrDie(c, application);
            mv::MvService ms(c);
            while (!stop) {
                for (const QString& v : views)
                    if (ms.refresh(v, mv::RefreshMode::Incremental).ok)
                        ++merges;
                QThread::msleep(pauseMs);
            }
        };
        std::vector<std::thread> threads;
        threads.emplace_back(merger);
        for (const quint32 seed : seeds)
            threads.emplace_back(writer, seed);
        QTest::qWait(forMs);
        stop = true;
        for (std::thread& t : threads)
            t.join();
        qInfo("%d transactions committed, %d rolled back, %d merges while writing", transactions.load(), rolledBack.load(), merges.load());
    }
};

} // namespace htap::test
