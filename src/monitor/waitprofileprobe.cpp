// What each class's sessions wait on, from pg_wait_sampling's profile (its collector samples
// every process's wait event every profile_period, 10 ms by default, and counts them per pid,
// event and queryid). Successive reads are diffed by (pid, event); each delta goes to the class
// of the session that had the pid, as pg_stat_activity said at the end of the interval or, for
// a session that ended during it, the last time it was seen. The profile keeps the rows of
// every pid since its last reset (nobody may reset it for the others): after the first read,
// only the rows of pids alive now or at the previous read travel, but the server builds the
// whole profile for every read (about 3 ms at 2,400 rows, 1,000 pids), so the probe runs on the
// slow cadence, as the CPU probe does: a 10 s window of 10 s reads.
#include "fieldextension.h"
#include "probes.h"

#include <QHash>
#include <QSet>

#include <algorithm>
#include <deque>
#include <tuple>

namespace htap::monitor {

using namespace Qt::StringLiterals;
using htap::pg::Connection;
using htap::pg::Result;

namespace {

constexpr int kTopEvents = 10;

class WaitProfileProbe : public Probe
{
public:
    explicit WaitProfileProbe(WorkloadClassifier classifier)
        : m_classifier(std::move(classifier))
    {
    }
    QString name() const override { return u"waits"_s; }
    bool slow() const override { return true; }
    bool optional() const override { return true; }

    bool collect(Connection& conn, ServerSample& sample, QString* unavailable) override
    {
        QString missing;
        if (!m_extension.ready(conn, &missing)) {
            *unavailable = u"wait-event profile: "_s + missing;
            clearBaseline();
            return false;
        }
        const double epoch = sample.sampledAt.isValid() ? sample.sampledAt.toMSecsSinceEpoch() / 1000.0 : 0;
        QStringList alive;
        for (int pid : std::as_const(m_alive))
            alive << QString::number(pid);
        const Result r = conn.execCached(monitorSql(u"wait_profile"_s, conn.serverVersionNum())
                                       .arg(m_extension.qualified(u"pg_wait_sampling_profile"_s)),
            {QString(u'{' + alive.join(u',') + u'}'), !m_hasPrevious});
        if (!r.ok()) {
            *unavailable = u"wait-event profile: %1"_s.arg(r.error().oneLine());
            m_extension.forget(); // dropped, or the library is no longer loaded: look again
            clearBaseline();
            return false;
        }
        const int cPid = r.column(u"pid"_s), cType = r.column(u"event_type"_s), cEvent = r.column(u"event"_s),
                  cCount = r.column(u"count"_s), cBackend = r.column(u"backend_type"_s), cRole = r.column(u"role"_s),
                  cApp = r.column(u"app"_s), cOwn = r.column(u"own"_s), cPeriod = r.column(u"period_ms"_s);

        // Who each pid is now; a pid that is gone keeps what it was when last seen.
        bool anyPid = r.rowCount() == 0;
        m_alive.clear();
        for (int i = 0; i < r.rowCount(); ++i) {
            const int pid = int(r.toInt64(i, cPid));
            anyPid |= pid != 0;
            if (r.isNull(i, cBackend))
                continue;
            m_alive.insert(pid);
            // Rewritten at every sight: a pid used again by a new session gets the new one's
            // class (the interval's waits go to it), and application_name can change.
            Session& s = m_sessions[pid];
            s.client = r.text(i, cBackend) == u"client backend"_s && !r.toBool(i, cOwn);
            s.workloadClass = classOf(r.text(i, cRole), r.text(i, cApp));
            s.seenAt = epoch;
        }
        if (!anyPid) {
            *unavailable = u"wait-event profile: pg_wait_sampling.profile_pid is off, so the profile cannot be told apart by "
                           "session (set it on in postgresql.conf and reload)"_s;
            clearBaseline();
            return false;
        }

        WaitProfileSample out;
        out.samplePeriodMs = r.rowCount() > 0 ? r.toDouble(0, cPeriod) : m_periodMs;
        if (!m_hasPrevious)
            out.baselineReason = u"first sample (baseline)"_s;
        else if (!(epoch > m_previousEpoch))
            out.baselineReason = u"no time elapsed"_s;
        else if (epoch - m_previousEpoch > maxGapSeconds)
            out.baselineReason = u"no sample for %1 s: a new baseline"_s.arg(QString::number(epoch - m_previousEpoch, 'f', 0));
        out.hasDeltas = out.baselineReason.isEmpty();

        WindowEntry entry;
        entry.epoch = epoch;
        entry.dt = epoch - m_previousEpoch;
        for (int i = 0; i < r.rowCount(); ++i) {
            const Key key {int(r.toInt64(i, cPid)), r.text(i, cType), r.text(i, cEvent)};
            const qint64 count = r.toInt64(i, cCount);
            // Rows of pids that did not travel keep their counts: a pid used again continues them.
            qint64& previous = m_previous[key];
            const qint64 before = std::exchange(previous, count);
            if (!out.hasDeltas)
                continue;
            // A key not seen before is new since the last read (the baseline held every row,
            // and every later row of a pid alive since); a count that went down was reset
            // (pg_wait_sampling_reset_profile()).
            const qint64 delta = count < before ? count : count - before;
            if (delta <= 0)
                continue;
            const auto who = m_sessions.constFind(key.pid);
            if (who == m_sessions.cend() || !who->client)
                continue; // a background process, or the monitor itself
            const QString event = key.type.isEmpty() ? u"CPU"_s : key.type + u':' + key.event;
            entry.samples[int(who->workloadClass)][event] += delta;
        }
        m_previousEpoch = epoch;
        m_periodMs = out.samplePeriodMs;
        m_hasPrevious = epoch > 0;
        // Sessions gone for a while are forgotten (their rows' counts stay in m_previous).
        for (auto it = m_sessions.begin(); it != m_sessions.end();)
            it = it->seenAt < epoch - 60 ? m_sessions.erase(it) : std::next(it);

        if (!out.hasDeltas) {
            m_window.clear(); // a window spans contiguous intervals only
        } else {
            entry.periodMs = out.samplePeriodMs;
            m_window.push_back(std::move(entry));
            while (!m_window.empty() && !insideWindow(m_window.front().epoch, m_window.front().dt, epoch, windowSeconds))
                m_window.pop_front();
        }
        for (int c = 0; c < 3; ++c) {
            ClassWaits w;
            w.workloadClass = WorkloadClass(c);
            QHash<QString, std::pair<qint64, double>> byEvent;
            for (const WindowEntry& e : m_window)
                for (auto it = e.samples[c].cbegin(); it != e.samples[c].cend(); ++it) {
                    auto& v = byEvent[it.key()];
                    v.first += it.value();
                    v.second += double(it.value()) * e.periodMs / 1000.0;
                }
            for (auto it = byEvent.cbegin(); it != byEvent.cend(); ++it) {
                const QString type = it.key().section(u':', 0, 0);
                w.secondsByType[type] += it->second;
                w.totalSeconds += it->second;
                w.topEvents.append({type, it.key().section(u':', 1), it->first, it->second});
            }
            std::sort(w.topEvents.begin(), w.topEvents.end(), [](const WaitEventFigure& a, const WaitEventFigure& b) {
                return a.samples != b.samples ? a.samples > b.samples : std::tie(a.type, a.event) < std::tie(b.type, b.event);
            });
            if (w.topEvents.size() > kTopEvents)
                w.topEvents.resize(kTopEvents);
            out.classes.append(w);
        }
        for (const WindowEntry& e : m_window)
            out.windowSeconds += e.dt;
        sample.waits = out;
        return true;
    }

    void reset() override
    {
        clearBaseline();
        m_extension.forget(); // a new connection: the server may have changed
    }

private:
    void clearBaseline()
    {
        m_hasPrevious = false;
        m_previous.clear();
        m_alive.clear();
        m_sessions.clear();
        m_window.clear();
    }

    struct Key {
        int pid = 0;
        QString type;
        QString event;
        bool operator==(const Key& o) const { return pid == o.pid && type == o.type && event == o.event; }
        friend size_t qHash(const Key& k, size_t seed = 0) { return qHashMulti(seed, k.pid, k.type, k.event); }
    };
    struct Session {
        bool client = false; ///< a client backend other than the monitor's own
        WorkloadClass workloadClass = WorkloadClass::Other;
        double seenAt = 0;
    };
    struct WindowEntry {
        double epoch = 0;
        double dt = 0;
        QHash<QString, qint64> samples[3]; ///< per class: "type:event" -> samples
        double periodMs = 10;
    };

    /// The classifier compiles its patterns at every call; a profile has many rows per session.
    WorkloadClass classOf(const QString& role, const QString& app)
    {
        const QString key = role + QChar(0) + app;
        auto it = m_classes.constFind(key);
        if (it == m_classes.cend()) {
            if (m_classes.size() > 1000)
                m_classes.clear();
            it = m_classes.insert(key, m_classifier.classify(role, app));
        }
        return *it;
    }

    WorkloadClassifier m_classifier;
    QHash<QString, WorkloadClass> m_classes;
    FieldExtension m_extension {u"pg_wait_sampling"_s, u"postgresql-%1-pg-wait-sampling"_s};
    bool m_hasPrevious = false;
    QHash<Key, qint64> m_previous; ///< every row read since the baseline, with its last count
    QSet<int> m_alive;             ///< pids alive at the last read: their rows travel next time
    double m_previousEpoch = 0;
    double m_periodMs = 10;
    QHash<int, Session> m_sessions;
    std::deque<WindowEntry> m_window;
};

} // namespace

std::unique_ptr<Probe> makeWaitProfileProbe(const WorkloadClassifier& classifier)
{
    return std::make_unique<WaitProfileProbe>(classifier);
}

} // namespace htap::monitor
