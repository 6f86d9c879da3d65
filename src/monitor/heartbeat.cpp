#include "heartbeat.h"

#include "probes.h"

#include <pg/connection.h>
#include <pg/result.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace htap::monitor {

using namespace Qt::StringLiterals;
using namespace std::chrono;

struct HeartbeatWriter::State {
    htap::pg::ConnInfo info;
    std::shared_ptr<std::atomic<qint64>> ownCommits;
    std::atomic<bool> stop {false};
    std::atomic<qint64> written {0};
    mutable std::mutex mutex;
    std::condition_variable wake;
    QString status = u"starting"_s;
    std::shared_ptr<const htap::pg::Canceller> canceller;

    void setStatus(const QString& s)
    {
        const std::lock_guard lock(mutex);
        status = s;
    }
    /// Sleeps until t or a stop; false on a stop.
    bool sleepUntil(steady_clock::time_point t)
    {
        std::unique_lock lock(mutex);
        return !wake.wait_until(lock, t, [this] { return stop.load(); });
    }
};

namespace {

// Created with the registry (sql/htap/registry.sql); made here too for registries installed by
// an older build. One row, rewritten in place: fillfactor leaves room for HOT updates.
constexpr auto kEnsureTable = R"(
CREATE TABLE IF NOT EXISTS htap.heartbeat (
    id int PRIMARY KEY CHECK (id = 1),
    ts timestamptz NOT NULL
) WITH (fillfactor = 50))";

/// Connects and readies the heartbeat; returns an empty string when it can write, else why not
/// (and whether retrying soon makes sense: a standby or a missing registry are checked again
/// less often than a broken link).
QString prepare(htap::pg::Connection& conn, HeartbeatWriter::State& st)
{
    htap::pg::ConnectOptions options;
    options.applicationName = u"htap-studio-heartbeat"_s;
    options.timeoutMs = 10000;
    const htap::pg::PgError e = conn.open(st.info, options, [&st] { return st.stop.load(); });
    if (e.isError())
        return u"cannot connect: %1"_s.arg(e.oneLine());
    {
        const std::lock_guard lock(st.mutex);
        st.canceller = conn.canceller();
    }
    // The monitor's own, as its sampler's statements are: the top statements leave it out.
    conn.setStatementTag(QString::fromLatin1(kMonitorStatementTag) + u'\n');
    // A heartbeat that waits on a lock (someone holding the row) must not pile up.
    conn.exec(u"SET statement_timeout = '2s'"_s);
    conn.exec(u"SET lock_timeout = '1s'"_s);
    const htap::pg::Result r = conn.exec(u"SELECT pg_is_in_recovery() AS standby, "
                                          "to_regnamespace('htap') IS NOT NULL AS registry, "
                                          "to_regclass('htap.heartbeat') IS NOT NULL AS present"_s);
    if (!r.ok())
        return r.error().oneLine();
    if (r.toBool(0, u"standby"_s))
        return u"a standby: it replays its primary's heartbeat"_s;
    if (!r.toBool(0, u"registry"_s))
        return u"the app's registry (schema htap) is not installed on this server; it comes with the "
               "first view action (htapctl mv ...) or with the sandbox"_s;
    if (!r.toBool(0, u"present"_s)) {
        const htap::pg::Result c = conn.exec(QString::fromLatin1(kEnsureTable));
        if (!c.ok())
            return u"cannot create htap.heartbeat: %1"_s.arg(c.error().oneLine());
        conn.exec(u"GRANT SELECT ON htap.heartbeat TO pg_monitor"_s);
    }
    const htap::pg::Result ins = conn.exec(u"INSERT INTO htap.heartbeat (id, ts) VALUES (1, clock_timestamp()) "
                                           "ON CONFLICT (id) DO NOTHING"_s);
    if (!ins.ok())
        return u"cannot write htap.heartbeat: %1 (GRANT INSERT, UPDATE ON htap.heartbeat TO the monitoring role)"_s
            .arg(ins.error().oneLine());
    const htap::pg::Result p = conn.prepare(u"htap_heartbeat"_s,
        u"UPDATE htap.heartbeat SET ts = clock_timestamp() WHERE id = 1"_s);
    if (!p.ok())
        return p.error().oneLine();
    return {};
}

void run(const std::shared_ptr<HeartbeatWriter::State>& st)
{
    while (!st->stop) {
        htap::pg::Connection conn;
        const QString why = prepare(conn, *st);
        // Everything this connection commits counts in the server's xact_commit: its connect
        // too. The monitor leaves them out of the load it reports.
        qint64 counted = 0;
        const auto account = [&] {
            if (st->ownCommits && conn.isOpen()) {
                const qint64 total = conn.ownCommits() + 1; // the connect is one too
                *st->ownCommits += total - counted;
                counted = total;
            }
        };
        account();
        if (!why.isEmpty()) {
            st->setStatus(why);
            conn.close();
            if (!st->sleepUntil(steady_clock::now() + seconds(5)))
                break;
            continue;
        }
        st->setStatus({});
        auto next = steady_clock::now();
        while (!st->stop) {
            const htap::pg::Result r = conn.execPrepared(u"htap_heartbeat"_s);
            account();
            if (!r.ok()) {
                st->setStatus(u"heartbeat failed: %1"_s.arg(r.error().oneLine()));
                break; // reconnect, and see whether the server became a standby
            }
            ++st->written;
            // A tick missed (a slow server) is not made up for: the next one is on the grid.
            next += milliseconds(HeartbeatWriter::kPeriodMs);
            const auto now = steady_clock::now();
            if (next < now)
                next = now + milliseconds(HeartbeatWriter::kPeriodMs) - (now - next) % milliseconds(HeartbeatWriter::kPeriodMs);
            if (!st->sleepUntil(next))
                break;
        }
        {
            const std::lock_guard lock(st->mutex);
            st->canceller.reset();
        }
        conn.close();
        if (!st->stop && !st->sleepUntil(steady_clock::now() + seconds(1)))
            break;
    }
}

} // namespace

HeartbeatWriter::HeartbeatWriter(const htap::pg::ConnInfo& info, std::shared_ptr<std::atomic<qint64>> ownCommits)
    : m_state(std::make_shared<State>())
{
    m_state->info = info;
    m_state->ownCommits = std::move(ownCommits);
    std::thread([st = m_state] { run(st); }).detach();
}

HeartbeatWriter::~HeartbeatWriter()
{
    // Never waits (it may be the GUI thread): the thread sees the stop within its 100 ms sleep,
    // or, stuck on a server that does not answer, has its update cancelled, and then ends on its
    // own with the state it shares.
    std::shared_ptr<const htap::pg::Canceller> canceller;
    {
        const std::lock_guard lock(m_state->mutex);
        m_state->stop = true;
        m_state->wake.notify_all();
        canceller = m_state->canceller;
    }
    if (canceller)
        std::thread([canceller] { canceller->cancel(); }).detach();
}

QString HeartbeatWriter::status() const
{
    const std::lock_guard lock(m_state->mutex);
    return m_state->status;
}

qint64 HeartbeatWriter::written() const
{
    return m_state->written;
}

} // namespace htap::monitor
