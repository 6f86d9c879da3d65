// CPU time per class, from pg_stat_kcache: the backend's getrusage() around each statement, so
// a statement counts when it ends (a report running for a minute shows its CPU at its end).
// The seed's point that reports take the CPU order entry needs, made visible. On the slow
// cadence: pg_stat_kcache() builds every entry (up to pg_stat_statements.max) whatever is
// summed, about 12 ms with 4,900 entries (docs/benchmarks.md, Monitoring), and a figure of
// finished statements over 10 s gains nothing from being read every second.
#include "fieldextension.h"
#include "probes.h"

#include <QHash>

#include <deque>

namespace htap::monitor {

using namespace Qt::StringLiterals;
using htap::pg::Connection;
using htap::pg::Result;

namespace {

class CpuProbe : public Probe
{
public:
    CpuProbe(WorkloadClassifier classifier, OwnStatements own)
        : m_classifier(std::move(classifier))
        , m_own(std::move(own))
    {
    }
    QString name() const override { return u"cpu"_s; }
    bool slow() const override { return true; }
    bool optional() const override { return true; }

    bool collect(Connection& conn, ServerSample& sample, QString* unavailable) override
    {
        QString missing;
        if (!m_extension.ready(conn, &missing)) {
            *unavailable = u"CPU per class: "_s + missing;
            clearBaseline();
            return false;
        }
        const double epoch = sample.sampledAt.isValid() ? sample.sampledAt.toMSecsSinceEpoch() / 1000.0 : 0;
        // The monitor's own statements are left out; when it learns more of them, its role's
        // sum goes down once and that interval is skipped for the role (as for an eviction).
        const QStringList own(m_own->cbegin(), m_own->cend());
        const Result r = conn.execCached(monitorSql(u"cpu_by_role"_s, conn.serverVersionNum()).arg(m_extension.qualified(u"pg_stat_kcache"_s)),
            {QString(u'{' + own.join(u',') + u'}')});
        if (!r.ok()) {
            *unavailable = u"CPU per class: %1"_s.arg(r.error().oneLine());
            m_extension.forget();
            clearBaseline();
            return false;
        }
        QHash<QString, Times> now;
        for (int i = 0; i < r.rowCount(); ++i)
            now.insert(r.text(i, u"role"_s), {r.toDouble(i, u"user_s"_s), r.toDouble(i, u"system_s"_s)});

        CpuSample out;
        if (!m_hasPrevious)
            out.baselineReason = u"first sample (baseline)"_s;
        else if (!(epoch > m_previousEpoch))
            out.baselineReason = u"no time elapsed"_s;
        else if (epoch - m_previousEpoch > maxGapSeconds)
            out.baselineReason = u"no sample for %1 s: a new baseline"_s.arg(QString::number(epoch - m_previousEpoch, 'f', 0));
        out.hasDeltas = out.baselineReason.isEmpty();
        if (out.hasDeltas) {
            WindowEntry e {epoch, epoch - m_previousEpoch, {}};
            for (auto it = now.cbegin(); it != now.cend(); ++it) {
                const Times prev = m_previous.value(it.key()); // a role new since: all of it is new
                if (it->user < prev.user || it->system < prev.system)
                    continue; // entries of this role were evicted or reset: skip it this interval
                Times& c = e.byClass[int(m_classifier.classify(it.key()))];
                c.user += it->user - prev.user;
                c.system += it->system - prev.system;
            }
            m_window.push_back(e);
            while (!m_window.empty() && !insideWindow(m_window.front().epoch, m_window.front().dt, epoch, windowSeconds))
                m_window.pop_front();
        } else {
            m_window.clear(); // a window spans contiguous intervals only
        }
        m_previous = now;
        m_previousEpoch = epoch;
        m_hasPrevious = epoch > 0;

        for (const WindowEntry& e : m_window)
            out.windowSeconds += e.dt;
        for (int c = 0; c < 3; ++c) {
            ClassCpu cpu;
            cpu.workloadClass = WorkloadClass(c);
            for (const WindowEntry& e : m_window) {
                cpu.userSeconds += e.byClass[c].user;
                cpu.systemSeconds += e.byClass[c].system;
            }
            cpu.cpuPerSecond = out.windowSeconds > 0 ? (cpu.userSeconds + cpu.systemSeconds) / out.windowSeconds : 0;
            out.classes.append(cpu);
        }
        sample.cpu = out;
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
        m_window.clear();
    }

    struct Times {
        double user = 0, system = 0;
    };
    struct WindowEntry {
        double epoch = 0;
        double dt = 0;
        Times byClass[3];
    };

    WorkloadClassifier m_classifier;
    OwnStatements m_own;
    FieldExtension m_extension {u"pg_stat_kcache"_s, u"postgresql-%1-pg-stat-kcache"_s, u"pg_stat_statements"_s};
    bool m_hasPrevious = false;
    QHash<QString, Times> m_previous;
    double m_previousEpoch = 0;
    std::deque<WindowEntry> m_window;
};

} // namespace

std::unique_ptr<Probe> makeCpuProbe(const WorkloadClassifier& classifier, OwnStatements own)
{
    return std::make_unique<CpuProbe>(classifier, std::move(own));
}

} // namespace htap::monitor
