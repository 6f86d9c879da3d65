#include "probes.h"

#include <mv/mvservice.h>

#include <metrics/counterrate.h>
#include <pg/sqlfile.h>
#include <pg/statementtext.h>

#include <QSet>

#include <algorithm>
#include <deque>

namespace htap::monitor {

using namespace Qt::StringLiterals;
using htap::metrics::counterRate;
using htap::pg::Connection;
using htap::pg::Result;

QString monitorSql(const QString& name, int serverVersionNum)
{
    for (int major = serverVersionNum / 10000; major >= 10; --major) {
        const QString sql = htap::pg::sqlFile(u"monitor/%1.pg%2.sql"_s.arg(name).arg(major));
        if (!sql.isEmpty())
            return sql;
    }
    return htap::pg::sqlFile(u"monitor/%1.sql"_s.arg(name));
}

namespace {

/// Why a probe's query failed, in the DBA's words.
QString reasonFor(const Result& r, const QString& what)
{
    const auto& e = r.error();
    if (e.sqlstate == u"42501"_s)
        return u"%1: permission denied (grant the pg_monitor role)"_s.arg(what);
    return u"%1: %2"_s.arg(what, e.oneLine());
}

QDateTime fromEpoch(double epoch)
{
    return epoch > 0 ? QDateTime::fromMSecsSinceEpoch(qint64(epoch * 1000), Qt::UTC) : QDateTime();
}

} // namespace

namespace {

/// The monitor's own transactions, owed to the server's count until they show in it: a
/// backend flushes its statistics at most once a second, and a transaction that read no table
/// may wait for a later one, so they reach xact_commit one interval late, or several. Taken
/// out of the count as they show up; what has not shown within 20 s is forgotten (it never
/// will), so the debt cannot eat real commits for long.
class OwnTransactions
{
public:
    void add(double epoch, qint64 n)
    {
        if (n > 0)
            m_owed.push_back({epoch, n});
        while (!m_owed.empty() && m_owed.front().first < epoch - 20)
            m_owed.pop_front();
    }
    /// Of delta new transactions in the server's count, how many are ours.
    qint64 take(qint64 delta)
    {
        qint64 taken = 0;
        while (!m_owed.empty() && taken < delta) {
            const qint64 t = std::min(m_owed.front().second, delta - taken);
            taken += t;
            if ((m_owed.front().second -= t) == 0)
                m_owed.pop_front();
        }
        return taken;
    }

private:
    std::deque<std::pair<double, qint64>> m_owed;
};

// ---------------------------------------------------------------------------------------------

class ActivityProbe : public Probe
{
public:
    explicit ActivityProbe(std::shared_ptr<const std::atomic<qint64>> otherOwnCommits)
        : m_otherOwnCommits(std::move(otherOwnCommits))
    {
    }
    QString name() const override { return u"activity"_s; }

    bool collect(Connection& conn, ServerSample& sample, QString* unavailable) override
    {
        // What this connection committed since the last read (that read included): those reach
        // xact_commit too, when its backend flushes its statistics.
        const qint64 ownCommits = conn.ownCommits(), ownRollbacks = conn.ownRollbacks();
        // And what the monitor's other connections (the heartbeat) committed meanwhile.
        const qint64 otherCommits = m_otherOwnCommits ? m_otherOwnCommits->load() : 0;
        const Result r = conn.execCached(monitorSql(name(), conn.serverVersionNum()));
        if (!r.ok() || r.rowCount() != 1) {
            *unavailable = reasonFor(r, name());
            return false;
        }
        ActivitySample& s = sample.activity;
        const double epoch = r.toDouble(0, u"sampled_epoch"_s);
        s.sampledAt = fromEpoch(epoch);
        sample.sampledAt = s.sampledAt;
        s.xactCommit = r.toInt64(0, u"xact_commit"_s);
        s.xactRollback = r.toInt64(0, u"xact_rollback"_s);
        s.active = int(r.toInt64(0, u"active"_s));
        s.idle = int(r.toInt64(0, u"idle"_s));
        s.idleInTransaction = int(r.toInt64(0, u"idle_in_transaction"_s));
        s.idleInTransactionAborted = int(r.toInt64(0, u"idle_in_transaction_aborted"_s));
        s.otherState = int(r.toInt64(0, u"other"_s));
        s.waitingOnLock = int(r.toInt64(0, u"waiting_on_lock"_s));
        for (const QString& pair : r.text(0, u"wait_events"_s).split(u',', Qt::SkipEmptyParts))
            s.waitEvents.insert(pair.section(u'=', 0, 0), pair.section(u'=', 1).toInt());
        s.blocksHit = r.toInt64(0, u"blks_hit"_s);
        s.blocksRead = r.toInt64(0, u"blks_read"_s);
        s.tuplesRead = r.toInt64(0, u"tup_read"_s);
        s.tuplesWritten = r.toInt64(0, u"tup_written"_s);
        s.tempFiles = r.toInt64(0, u"temp_files"_s);
        s.tempBytes = r.toInt64(0, u"temp_bytes"_s);
        s.walPosition = qint64(r.toDouble(0, u"wal_bytes"_s));
        const Counters now {s.xactCommit, s.xactRollback, s.blocksHit, s.blocksRead, s.tuplesRead, s.tuplesWritten,
            s.tempFiles, s.tempBytes, s.walPosition};
        const double resetEpoch = r.toDouble(0, u"stats_reset_epoch"_s);

        if (m_hasPrevious) {
            m_ownCommits.add(epoch, ownCommits - m_previousOwnCommits + otherCommits - m_previousOtherCommits);
            m_ownRollbacks.add(epoch, ownRollbacks - m_previousOwnRollbacks);
        } else {
            // What this session did before its first read (the connect itself is a commit, and
            // the settings after it) shows in the first interval: owed too.
            m_ownCommits.add(epoch, ownCommits + 1);
            m_ownRollbacks.add(epoch, ownRollbacks);
        }
        const bool stalled = m_hasPrevious && epoch - m_previousEpoch > maxGapSeconds;
        if (stalled) {
            sample.gapBefore = true; // a new baseline: the stall's counts are not one interval's
            // What the monitor's other connections (the heartbeat) committed during the stall is
            // in the dropped delta: settled there, not taken from the intervals after it.
            m_ownCommits.take(now.commit - m_previous.commit);
            m_ownRollbacks.take(now.rollback - m_previous.rollback);
        }
        if (m_hasPrevious && resetEpoch == m_previousReset && !stalled) {
            s.elapsedSeconds = epoch - m_previousEpoch;
            const double dt = s.elapsedSeconds;
            const auto commits = counterRate(m_previous.commit, now.commit, dt);
            const auto rollbacks = counterRate(m_previous.rollback, now.rollback, dt);
            if (commits && rollbacks) {
                s.hasRates = true;
                // The monitor's own transactions are not the server's load.
                s.ownCommits = m_ownCommits.take(now.commit - m_previous.commit);
                const qint64 ownRolledBack = m_ownRollbacks.take(now.rollback - m_previous.rollback);
                s.commitsPerSecond = double(now.commit - m_previous.commit - s.ownCommits) / dt;
                s.rollbacksPerSecond = double(now.rollback - m_previous.rollback - ownRolledBack) / dt;
                s.tuplesReadPerSecond = counterRate(m_previous.tupRead, now.tupRead, dt).value_or(0);
                s.tuplesWrittenPerSecond = counterRate(m_previous.tupWritten, now.tupWritten, dt).value_or(0);
                s.tempFilesPerSecond = counterRate(m_previous.tempFiles, now.tempFiles, dt).value_or(0);
                s.tempBytesPerSecond = counterRate(m_previous.tempBytes, now.tempBytes, dt).value_or(0);
                s.walBytesPerSecond = counterRate(m_previous.walBytes, now.walBytes, dt).value_or(0);
                const qint64 hit = now.blksHit - m_previous.blksHit;
                const qint64 read = now.blksRead - m_previous.blksRead;
                s.cacheHitRatio = hit + read > 0 ? double(hit) / double(hit + read) : -1;
                // Backends flush their counts at most once a second (and a session that read no
                // table later still): one interval's count is lumpy, a few seconds' is not.
                m_rates.push_back({epoch, dt, s.commitsPerSecond * dt, s.rollbacksPerSecond * dt});
                while (!m_rates.empty() && m_rates.front().epoch <= epoch - kRateWindowSeconds)
                    m_rates.pop_front();
                double span = 0, commitsIn = 0, rollbacksIn = 0;
                for (const RateEntry& e : m_rates) {
                    span += e.dt;
                    commitsIn += e.commits;
                    rollbacksIn += e.rollbacks;
                }
                s.windowSeconds = span;
                s.commitsPerSecondWindow = commitsIn / span;
                s.rollbacksPerSecondWindow = rollbacksIn / span;
            }
        }
        if (!s.hasRates)
            m_rates.clear(); // a window spans contiguous intervals only
        m_previous = now;
        m_previousEpoch = epoch;
        m_previousReset = resetEpoch;
        m_previousOwnCommits = ownCommits;
        m_previousOtherCommits = otherCommits;
        m_previousOwnRollbacks = ownRollbacks;
        m_hasPrevious = epoch > 0;
        return true;
    }

    void reset() override
    {
        m_hasPrevious = false;
        m_ownCommits = {};
        m_ownRollbacks = {};
        m_rates.clear();
    }

private:
    struct Counters {
        qint64 commit = 0, rollback = 0, blksHit = 0, blksRead = 0, tupRead = 0, tupWritten = 0, tempFiles = 0,
               tempBytes = 0, walBytes = 0;
    };
    bool m_hasPrevious = false;
    Counters m_previous;
    double m_previousEpoch = 0;
    double m_previousReset = 0;
    std::shared_ptr<const std::atomic<qint64>> m_otherOwnCommits;
    qint64 m_previousOwnCommits = 0;
    qint64 m_previousOtherCommits = 0;
    qint64 m_previousOwnRollbacks = 0;
    struct RateEntry {
        double epoch, dt, commits, rollbacks;
    };
    std::deque<RateEntry> m_rates;
    OwnTransactions m_ownCommits;
    OwnTransactions m_ownRollbacks;
};

// ---------------------------------------------------------------------------------------------

class LatencyProbe : public Probe
{
public:
    explicit LatencyProbe(WorkloadClassifier classifier)
        : m_classifier(std::move(classifier))
    {
    }
    QString name() const override { return u"latency"_s; }

    bool collect(Connection& conn, ServerSample& sample, QString* unavailable) override
    {
        const int v = conn.serverVersionNum();
        // Statements first, then the reset/eviction markers: an eviction in between shows up in
        // the markers and drops this interval instead of giving it wrong deltas.
        const Result r = conn.execCached(monitorSql(u"latency_statements"_s, v));
        const Result info = conn.execCached(monitorSql(u"latency_info"_s, v));
        if (!info.ok() || !r.ok()) {
            const Result& bad = info.ok() ? r : info;
            m_hasPrevious = false;
            const QString state = bad.error().sqlstate;
            *unavailable = state == u"42P01"_s
                ? u"latency: pg_stat_statements is not created in this database (CREATE EXTENSION pg_stat_statements)"_s
                : state == u"55000"_s
                ? u"latency: pg_stat_statements is not in shared_preload_libraries (add it and restart)"_s
                : reasonFor(bad, name());
            return false;
        }
        const double epoch = sample.sampledAt.isValid() ? sample.sampledAt.toMSecsSinceEpoch() / 1000.0 : 0;
        const double resetEpoch = info.toDouble(0, u"reset_epoch"_s);
        const qint64 dealloc = info.toInt64(0, u"dealloc"_s);

        QHash<QString, Totals> now;
        for (int i = 0; i < r.rowCount(); ++i)
            now.insert(r.text(i, u"role"_s), {r.toInt64(i, u"calls"_s), r.toDouble(i, u"exec_ms"_s),
                                                  r.toDouble(i, u"plan_ms"_s), r.toInt64(i, u"rows"_s),
                                                  r.toInt64(i, u"temp_blks_written"_s)});

        LatencySample out;
        if (!m_hasPrevious)
            out.baselineReason = u"first sample (baseline)"_s;
        else if (resetEpoch != m_previousReset)
            out.baselineReason = u"pg_stat_statements was reset"_s;
        else if (dealloc != m_previousDealloc)
            out.baselineReason = u"pg_stat_statements evicted entries (raise pg_stat_statements.max)"_s;
        else if (!(epoch > m_previousEpoch))
            out.baselineReason = u"no time elapsed"_s;
        else if (epoch - m_previousEpoch > maxGapSeconds)
            out.baselineReason = u"no sample for %1 s: a new baseline"_s.arg(QString::number(epoch - m_previousEpoch, 'f', 0));
        out.hasDeltas = out.baselineReason.isEmpty();
        if (!out.hasDeltas)
            m_window.clear(); // a window spans contiguous intervals only

        // In-flight statements per role and application: they count in pgss only when done.
        QHash<QString, QPair<int, double>> inflightByRole;
        QPair<int, double> inflightByClass[3] = {};
        const Result inflight = conn.execCached(monitorSql(u"latency_inflight"_s, v));
        for (int i = 0; i < inflight.rowCount(); ++i) {
            const QString role = inflight.text(i, u"role"_s);
            const int n = int(inflight.toInt64(i, u"active"_s));
            const double oldest = inflight.toDouble(i, u"oldest_s"_s);
            auto& byRole = inflightByRole[role];
            byRole = {byRole.first + n, std::max(byRole.second, oldest)};
            auto& byClass = inflightByClass[int(m_classifier.classify(role, inflight.text(i, u"app"_s)))];
            byClass = {byClass.first + n, std::max(byClass.second, oldest)};
        }

        if (out.hasDeltas) {
            const double dt = epoch - m_previousEpoch;
            Totals classTotals[3] = {};
            QStringList roles = now.keys();
            roles.sort();
            for (const QString& role : std::as_const(roles)) {
                const Totals& cur = now[role];
                const Totals prev = m_previous.value(role);
                if (cur.calls < prev.calls)
                    continue; // entries of this role were reset or evicted: skip it this interval
                const Totals d = cur - prev;
                if (d.calls == 0 && !inflightByRole.contains(role))
                    continue;
                out.roles.append(figures(role, d, dt, inflightByRole.value(role)));
                out.roles.last().workloadClass = m_classifier.classify(role);
                Totals& c = classTotals[int(m_classifier.classify(role))];
                c = c + d;
            }
            for (const QString& role : inflightByRole.keys()) // running but nothing finished yet
                if (!now.contains(role))
                {
                    out.roles.append(figures(role, {}, dt, inflightByRole.value(role)));
                    out.roles.last().workloadClass = m_classifier.classify(role);
                }
            for (int c = 0; c < 3; ++c)
            {
                out.classes.append(figures(toString(WorkloadClass(c)), classTotals[c], dt, inflightByClass[c]));
                out.classes.last().workloadClass = WorkloadClass(c);
            }
            addToWindow(epoch, dt, out);
        }
        m_previous = now;
        m_previousEpoch = epoch;
        m_previousReset = resetEpoch;
        m_previousDealloc = dealloc;
        m_hasPrevious = epoch > 0;
        sample.latency = out;
        return true;
    }

    void reset() override
    {
        m_hasPrevious = false;
        m_window.clear();
    }

private:
    /// This interval's deltas join the rolling window, and every figure of the sample gets the
    /// window's calls and mean: a tile shows "mean of 1,820 statements over 10 s", not the mean
    /// of the two that happened to finish in the last second.
    void addToWindow(double epoch, double dt, LatencySample& out)
    {
        WindowEntry e {epoch, dt, {}};
        for (const LatencyFigures& f : std::as_const(out.roles))
            e.byName.insert(u"role:"_s + f.name, {f.calls, f.meanExecMs * double(f.calls)});
        for (const LatencyFigures& f : std::as_const(out.classes))
            e.byName.insert(u"class:"_s + f.name, {f.calls, f.meanExecMs * double(f.calls)});
        m_window.push_back(e);
        // Keep what lies inside the window: intervals that end after its start.
        while (!m_window.empty() && m_window.front().epoch <= epoch - windowSeconds)
            m_window.pop_front();
        double span = 0;
        for (const WindowEntry& w : m_window)
            span += w.dt;
        auto fill = [&](LatencyFigures& f, const QString& key) {
            qint64 calls = 0;
            double ms = 0;
            for (const WindowEntry& w : m_window) {
                const auto v = w.byName.value(key);
                calls += v.first;
                ms += v.second;
            }
            f.windowSeconds = span;
            f.windowCalls = calls;
            f.windowMeanExecMs = calls > 0 ? ms / double(calls) : 0;
        };
        // A role that finished nothing this second but did within the window stays in the
        // list (it used to drop in and out of the Latency table with a report every 2 s).
        QSet<QString> listed;
        for (const LatencyFigures& f : std::as_const(out.roles))
            listed.insert(f.name);
        for (const WindowEntry& w : m_window)
            for (auto it = w.byName.cbegin(); it != w.byName.cend(); ++it)
                if (it.key().startsWith(u"role:"_s) && !listed.contains(it.key().mid(5))) {
                    listed.insert(it.key().mid(5));
                    LatencyFigures f;
                    f.name = it.key().mid(5);
                    f.workloadClass = m_classifier.classify(f.name);
                    out.roles.append(f);
                }
        for (LatencyFigures& f : out.roles)
            fill(f, u"role:"_s + f.name);
        for (LatencyFigures& f : out.classes)
            fill(f, u"class:"_s + f.name);
    }

    struct WindowEntry {
        double epoch;
        double dt;
        QHash<QString, std::pair<qint64, double>> byName; ///< calls, total exec ms
    };
    std::deque<WindowEntry> m_window;

    struct Totals {
        qint64 calls = 0;
        double execMs = 0, planMs = 0;
        qint64 rows = 0, tempBlocks = 0;
        Totals operator-(const Totals& o) const
        {
            return {calls - o.calls, execMs - o.execMs, planMs - o.planMs, rows - o.rows, tempBlocks - o.tempBlocks};
        }
        Totals operator+(const Totals& o) const
        {
            return {calls + o.calls, execMs + o.execMs, planMs + o.planMs, rows + o.rows, tempBlocks + o.tempBlocks};
        }
    };

    static LatencyFigures figures(const QString& name, const Totals& d, double dt, QPair<int, double> inflight)
    {
        LatencyFigures f;
        f.name = name;
        f.calls = d.calls;
        f.callsPerSecond = dt > 0 ? d.calls / dt : 0;
        f.meanExecMs = d.calls > 0 ? d.execMs / d.calls : 0;
        f.meanPlanMs = d.calls > 0 ? d.planMs / d.calls : 0;
        f.rowsPerSecond = dt > 0 ? d.rows / dt : 0;
        f.tempBlocksWritten = d.tempBlocks;
        f.activeNow = inflight.first;
        f.oldestActiveSeconds = inflight.second;
        return f;
    }

    WorkloadClassifier m_classifier;
    bool m_hasPrevious = false;
    QHash<QString, Totals> m_previous;
    double m_previousEpoch = 0;
    double m_previousReset = 0;
    qint64 m_previousDealloc = 0;
};

// ---------------------------------------------------------------------------------------------

class LockProbe : public Probe
{
    /// The session columns that locks.sql and lock_blockers.sql share.
    static LockNode sessionFrom(const Result& r, int i)
    {
        LockNode n;
        n.pid = int(r.toInt64(i, u"pid"_s));
        n.role = r.text(i, u"role"_s);
        n.application = r.text(i, u"app"_s);
        n.database = r.text(i, u"db"_s);
        n.state = r.text(i, u"state"_s);
        n.wait = r.text(i, u"wait"_s);
        n.transactionSeconds = r.toDouble(i, u"xact_s"_s);
        n.query = htap::pg::maskStatement(r.text(i, u"query"_s));
        return n;
    }

public:
    QString name() const override { return u"locks"_s; }

    bool collect(Connection& conn, ServerSample& sample, QString* unavailable) override
    {
        const int v = conn.serverVersionNum();
        const Result r = conn.execCached(monitorSql(name(), v));
        if (!r.ok()) {
            *unavailable = reasonFor(r, name());
            return false;
        }
        LockSample out;
        QSet<int> waiters, blockers;
        for (int i = 0; i < r.rowCount(); ++i) {
            LockNode n = sessionFrom(r, i);
            n.lockType = r.text(i, u"locktype"_s);
            n.lockMode = r.text(i, u"mode"_s);
            n.lockTarget = r.text(i, u"target"_s);
            n.waitSeconds = r.toDouble(i, u"wait_s"_s);
            for (const QString& b : r.text(i, u"blocked_by"_s).split(u',', Qt::SkipEmptyParts)) {
                const int pid = b.toInt();
                if (pid != n.pid && !n.blockedBy.contains(pid)) {
                    n.blockedBy.append(pid);
                    blockers.insert(pid);
                }
            }
            waiters.insert(n.pid);
            out.waitingByLockType[n.lockType.isEmpty() ? u"unknown"_s : n.lockType] += 1;
            out.nodes.append(n);
        }
        out.waitingSessions = int(waiters.size());

        // Blockers that do not wait themselves are the roots; fetch what they are doing.
        QList<int> rootPids;
        for (int pid : std::as_const(blockers))
            if (!waiters.contains(pid))
                rootPids.append(pid);
        std::sort(rootPids.begin(), rootPids.end());
        out.roots = rootPids;
        QStringList pidTexts;
        for (int pid : std::as_const(rootPids))
            if (pid != 0)
                pidTexts << QString::number(pid);
        if (!pidTexts.isEmpty()) {
            const Result b = conn.execCached(monitorSql(u"lock_blockers"_s, v), QVariantList {QString(u"{"_s + pidTexts.join(u',') + u'}')});
            for (int i = 0; i < b.rowCount(); ++i)
                out.nodes.append(sessionFrom(b, i));
        }
        if (rootPids.contains(0)) {
            LockNode prepared;
            prepared.pid = 0;
            prepared.state = u"prepared"_s;
            const Result p = conn.execCached(monitorSql(u"prepared_xacts"_s, v));
            for (int i = 0; i < p.rowCount(); ++i)
                prepared.preparedTransactions.append(
                    {p.text(i, u"gid"_s), p.text(i, u"owner"_s), p.text(i, u"db"_s), p.toDouble(i, u"age_s"_s)});
            out.nodes.append(prepared);
        }
        sample.locks = out;
        return true;
    }
};

// ---------------------------------------------------------------------------------------------

class VacuumProbe : public Probe
{
public:
    QString name() const override { return u"vacuum"_s; }
    bool slow() const override { return true; }

    bool collect(Connection& conn, ServerSample& sample, QString* unavailable) override
    {
        const int v = conn.serverVersionNum();
        const Result t = conn.execCached(monitorSql(u"vacuum_tables"_s, v), {50});
        if (!t.ok()) {
            *unavailable = reasonFor(t, name());
            return false;
        }
        VacuumSample out;
        for (int i = 0; i < t.rowCount(); ++i) {
            TableVacuum tv;
            tv.table = t.text(i, u"rel"_s);
            tv.liveTuples = t.toInt64(i, u"n_live_tup"_s);
            tv.deadTuples = t.toInt64(i, u"n_dead_tup"_s);
            tv.insertsSinceVacuum = t.toInt64(i, u"n_ins_since_vacuum"_s);
            tv.deadTrigger = t.toInt64(i, u"dead_trigger"_s);
            tv.pctOfTrigger = t.toDouble(i, u"pct_of_trigger"_s);
            tv.xidAge = t.toInt64(i, u"xid_age"_s);
            tv.pctOfFreezeMaxAge = t.toDouble(i, u"pct_of_freeze_max"_s);
            tv.lastVacuum = fromEpoch(t.toDouble(i, u"last_vacuum_epoch"_s));
            tv.lastAnalyze = fromEpoch(t.toDouble(i, u"last_analyze_epoch"_s));
            tv.autovacuumEnabled = t.toBool(i, u"av_enabled"_s);
            out.tables.append(tv);
        }
        const Result h = conn.execCached(monitorSql(u"xmin_holders"_s, v));
        if (!h.ok()) {
            *unavailable = reasonFor(h, u"xmin holders"_s);
            return false;
        }
        for (int i = 0; i < h.rowCount(); ++i) {
            XminHolder x;
            x.kind = h.text(i, u"kind"_s);
            x.holder = h.text(i, u"holder"_s);
            x.database = h.text(i, u"db"_s);
            x.role = h.text(i, u"role"_s);
            x.application = h.text(i, u"app"_s);
            x.state = h.text(i, u"state"_s);
            x.xidAge = h.toInt64(i, u"xid_age"_s);
            x.heldSeconds = h.toDouble(i, u"held_s"_s);
            x.detail = h.text(i, u"detail"_s);
            if (!h.isNull(i, h.column(u"query"_s)))
                x.detail += u": "_s + htap::pg::maskStatement(h.text(i, u"query"_s));
            x.pid = int(h.toInt64(i, u"pid"_s));
            out.holders.append(x);
        }
        // A slot's catalog_xmin holds back only catalog cleanup: not the horizon of user tables.
        for (const XminHolder& h : std::as_const(out.holders))
            if (h.kind != u"slot_catalog_xmin"_s)
                out.horizonAge = std::max(out.horizonAge, h.xidAge);
        const Result p = conn.execCached(monitorSql(u"vacuum_progress"_s, v));
        for (int i = 0; i < p.rowCount(); ++i)
            out.running.append({int(p.toInt64(i, u"pid"_s)), p.text(i, u"rel"_s), p.text(i, u"phase"_s),
                p.toBool(i, u"is_auto"_s), p.toDouble(i, u"pct_scanned"_s), p.toDouble(i, u"running_s"_s)});
        const Result d = conn.execCached(monitorSql(u"database_age"_s, v));
        for (int i = 0; i < d.rowCount(); ++i)
            out.databases.append({d.text(i, u"db"_s), d.toInt64(i, u"xid_age"_s), d.toDouble(i, u"pct_to_wraparound"_s),
                d.toDouble(i, u"pct_to_forced"_s)});
        sample.vacuum = out;
        return true;
    }
};

// ---------------------------------------------------------------------------------------------

class ViewProbe : public Probe
{
public:
    QString name() const override { return u"views"_s; }
    bool slow() const override { return true; }

    bool collect(Connection& conn, ServerSample& sample, QString* unavailable) override
    {
        // The same listing as htapctl mv list: materialized views and incrementally kept ones.
        htap::mv::MvService service(conn);
        QString error;
        const QList<htap::mv::ViewInfo> views = service.list(&error);
        if (!error.isEmpty()) {
            *unavailable = u"materialized views: %1"_s.arg(error);
            return false;
        }
        ViewSample out;
        out.registryInstalled = conn.exec(u"SELECT to_regclass('htap.refresh_log') IS NOT NULL"_s).toBool(0, 0);
        QHash<QString, htap::mv::Schedule> schedules;
        if (out.registryInstalled) {
            QString ignored; // no schedules table yet: no schedules
            for (const htap::mv::Schedule& sch : service.schedules(&ignored))
                schedules.insert(sch.view, sch);
        }
        const int cores = htap::mv::localServerCores(conn);
        for (const htap::mv::ViewInfo& v : views) {
            ViewState s;
            s.view = v.label();
            s.captureMode = v.captureMode;
            s.captureSharedWith = v.captureSharedWith;
            s.mergesLastMinute = v.mergesLastMinute;
            s.mergeSecondsPerSecond = v.mergeSecondsPerSecond;
            s.writersShareLost = v.incremental ? v.writersShareLost(cores) : -1;
            if (schedules.contains(s.view)) {
                s.scheduleSeconds = schedules.value(s.view).everySeconds;
                s.scheduleRunner = schedules.value(s.view).runner;
            }
            s.populated = v.populated;
            s.concurrentBlocker = v.concurrentBlocker;
            s.concurrentCapable = v.concurrentBlocker.isEmpty();
            s.totalBytes = v.totalBytes;
            s.baseTables = v.baseTables;
            s.refreshingPid = v.refreshingPid;
            s.registryKnown = v.lastRefresh.isValid();
            s.lastMode = v.lastMode;
            s.lastRefreshStart = v.lastRefresh;
            if (v.lastRefresh.isValid() && v.lastDurationSeconds >= 0)
                s.lastRefreshEnd = v.lastRefresh.addMSecs(qint64(v.lastDurationSeconds * 1000));
            s.lastDurationSeconds = v.lastDurationSeconds;
            s.stalenessSeconds = v.stalenessSeconds;
            s.incremental = v.incremental;
            s.ivmState = v.ivmState;
            s.ivmReason = v.ivmReason;
            s.pendingRows = v.pendingRows;
            s.oldestPendingSeconds = v.oldestPendingSeconds;
            s.lastMergeMs = v.lastMergeMs;
            s.engineOutdated = v.engineOutdated();
            out.views.append(s);
        }
        sample.views = out;
        return true;
    }
};

// ---------------------------------------------------------------------------------------------

class ReplicationProbe : public Probe
{
public:
    QString name() const override { return u"replication"_s; }

    bool collect(Connection& conn, ServerSample& sample, QString* unavailable) override
    {
        const int v = conn.serverVersionNum();
        ReplicationSample out;
        out.inRecovery = conn.execCached(u"SELECT pg_is_in_recovery()"_s).toBool(0, 0);
        if (!out.inRecovery) {
            const Result r = conn.execCached(monitorSql(name(), v));
            if (!r.ok()) {
                *unavailable = reasonFor(r, name());
                return false;
            }
            for (int i = 0; i < r.rowCount(); ++i)
                out.standbys.append({r.text(i, u"name"_s), r.text(i, u"state"_s), r.toDouble(i, u"write_s"_s),
                    r.toDouble(i, u"flush_s"_s), r.toDouble(i, u"replay_s"_s), r.toInt64(i, u"replay_bytes"_s)});
        } else {
            const Result w = conn.execCached(monitorSql(u"wal_receiver"_s, v));
            if (w.ok() && w.rowCount() > 0) {
                WalReceiver rec;
                rec.status = w.text(0, u"status"_s);
                rec.senderHost = w.text(0, u"sender_host"_s);
                rec.senderPort = int(w.toInt64(0, u"sender_port"_s));
                rec.slot = w.text(0, u"slot_name"_s);
                rec.sinceMessageSeconds = w.toDouble(0, u"since_message_s"_s, -1); // NULL: unknown
                rec.replayAgeSeconds = w.toDouble(0, u"replay_age_s"_s, -1);
                rec.replayGapBytes = w.toInt64(0, u"replay_gap_bytes"_s);
                out.receiver = rec;
            }
        }
        const Result s = conn.execCached(monitorSql(u"replication_slots"_s, v));
        for (int i = 0; i < s.rowCount(); ++i)
            out.replicationSlots.append({s.text(i, u"name"_s), s.text(i, u"type"_s), s.toBool(i, u"active"_s),
                s.toInt64(i, u"retained_bytes"_s)});
        sample.replication = out;
        return true;
    }
};

} // namespace

std::vector<std::unique_ptr<Probe>> makeProbes(const WorkloadClassifier& classifier, bool fieldExtensions,
    std::shared_ptr<const std::atomic<qint64>> otherOwnCommits)
{
    std::vector<std::unique_ptr<Probe>> probes;
    probes.push_back(std::make_unique<ActivityProbe>(std::move(otherOwnCommits)));
    probes.push_back(makeSessionProbe(classifier));
    probes.push_back(std::make_unique<LatencyProbe>(classifier));
    // The top statements learn which statements are the monitor's own before the CPU probe
    // leaves them out.
    const OwnStatements own = std::make_shared<QSet<QString>>();
    probes.push_back(makeTopStatementsProbe(classifier, own));
    if (fieldExtensions) {
        probes.push_back(makeWaitProfileProbe(classifier));
        probes.push_back(makeCpuProbe(classifier, own));
    }
    probes.push_back(std::make_unique<LockProbe>());
    probes.push_back(std::make_unique<ReplicationProbe>());
    probes.push_back(makeRecoveryProbe());
    probes.push_back(std::make_unique<VacuumProbe>());
    probes.push_back(std::make_unique<ViewProbe>());
    return probes;
}

// LockSample helpers

QHash<int, QList<int>> LockSample::waitersByRoot() const
{
    const QHash<int, QList<int>> direct = waitersByBlocker();
    QHash<int, QList<int>> out;
    for (int root : roots) {
        QSet<int> seen;
        QList<int> todo = direct.value(root);
        QList<int>& all = out[root];
        while (!todo.isEmpty()) {
            const int w = todo.takeLast();
            if (seen.contains(w))
                continue;
            seen.insert(w);
            all.append(w);
            todo += direct.value(w);
        }
    }
    return out;
}

const LockNode* LockSample::node(int pid) const
{
    for (const LockNode& n : nodes)
        if (n.pid == pid)
            return &n;
    return nullptr;
}

QList<int> LockSample::waitersOf(int pid) const
{
    QList<int> out;
    for (const LockNode& n : nodes)
        if (n.blockedBy.contains(pid))
            out.append(n.pid);
    std::sort(out.begin(), out.end());
    return out;
}

QHash<int, QList<int>> LockSample::waitersByBlocker() const
{
    QHash<int, QList<int>> waiters;
    for (const LockNode& n : nodes)
        for (int b : n.blockedBy)
            waiters[b].append(n.pid);
    return waiters;
}

int LockSample::totalWaitersUnder(int pid) const
{
    const QHash<int, QList<int>> waiters = waitersByBlocker(); // linear in the edges, not quadratic
    QSet<int> seen;
    QList<int> todo {pid};
    for (qsizetype i = 0; i < todo.size(); ++i)
        for (int w : waiters.value(todo[i]))
            if (w != pid && !seen.contains(w)) {
                seen.insert(w);
                todo.append(w);
            }
    return int(seen.size());
}

} // namespace htap::monitor
