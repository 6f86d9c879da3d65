// Each class's most costly statements over the window, from pg_stat_statements deltas per
// entry (queryid, role, database): total and mean execution time, calls, rows, and the
// normalized text, masked. On the slow cadence: reading every entry costs in proportion to
// pg_stat_statements.max (docs/benchmarks.md, Monitoring), and a ranking over 10 s need not
// move every second. The monitor's own statements are left out (their texts begin with
// kMonitorStatementTag), as pganalyze leaves its collector's out.
#include "probes.h"

#include <pg/statementtext.h>

#include <QHash>
#include <QSet>

#include <algorithm>
#include <deque>

namespace htap::monitor {

using namespace Qt::StringLiterals;
using htap::pg::Connection;
using htap::pg::Result;

namespace {

constexpr int kTopPerClass = 10;
constexpr int kTextCacheSize = 2000;

class TopStatementsProbe : public Probe
{
public:
    TopStatementsProbe(WorkloadClassifier classifier, OwnStatements own)
        : m_classifier(std::move(classifier))
        , m_ownIds(std::move(own))
    {
    }
    QString name() const override { return u"statements"_s; }
    bool slow() const override { return true; }
    /// It reads pg_stat_statements, whose absence the latency probe reports already.
    bool optional() const override { return true; }

    bool collect(Connection& conn, ServerSample& sample, QString* unavailable) override
    {
        const int v = conn.serverVersionNum();
        const Result r = conn.execCached(monitorSql(u"top_statements"_s, v));
        if (!r.ok()) {
            const QString state = r.error().sqlstate;
            *unavailable = state == u"42883"_s || state == u"42P01"_s
                ? u"top statements: pg_stat_statements is not created in this database (CREATE EXTENSION pg_stat_statements)"_s
                : state == u"55000"_s
                ? u"top statements: pg_stat_statements is not in shared_preload_libraries (add it and restart)"_s
                : u"top statements: %1"_s.arg(r.error().oneLine());
            reset();
            return false;
        }
        const double epoch = sample.sampledAt.isValid() ? sample.sampledAt.toMSecsSinceEpoch() / 1000.0 : 0;
        const int cQuery = r.column(u"queryid"_s), cUser = r.column(u"userid"_s), cDb = r.column(u"dbid"_s),
                  cRole = r.column(u"role"_s), cDbName = r.column(u"db"_s), cCalls = r.column(u"calls"_s),
                  cExec = r.column(u"exec_ms"_s), cRows = r.column(u"rows"_s), cMine = r.column(u"mine"_s);
        QHash<QString, Totals> now;
        now.reserve(r.rowCount());
        for (int i = 0; i < r.rowCount(); ++i) {
            const QString key = r.text(i, cQuery) + u'/' + r.text(i, cUser) + u'/' + r.text(i, cDb);
            now.insert(key, {r.toInt64(i, cCalls), r.toDouble(i, cExec), r.toInt64(i, cRows)});
            if (!m_names.contains(key))
                m_names.insert(key, {r.text(i, cQuery), r.text(i, cRole), r.text(i, cDbName), r.toBool(i, cMine)});
        }

        TopStatementsSample out;
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
                // An entry not there before was made since (or evicted and made again): all of
                // it is new. Fewer calls than before: it was reset since; what it has is new.
                const auto prev = m_previous.constFind(it.key());
                const Totals d = prev == m_previous.cend() || it->calls < prev->calls ? *it : *it - *prev;
                if (d.calls > 0 || d.execMs > 0)
                    e.deltas.insert(it.key(), d);
            }
            m_window.push_back(std::move(e));
            while (!m_window.empty() && !insideWindow(m_window.front().epoch, m_window.front().dt, epoch, windowSeconds))
                m_window.pop_front();
        } else {
            m_window.clear();
        }
        m_previous = std::move(now);
        m_previousEpoch = epoch;
        m_hasPrevious = epoch > 0;

        QHash<QString, Totals> inWindow;
        for (const WindowEntry& e : m_window) {
            out.windowSeconds += e.dt;
            for (auto it = e.deltas.cbegin(); it != e.deltas.cend(); ++it)
                inWindow[it.key()] = inWindow.value(it.key()) + *it;
        }
        // Whose the monitor's role's statements are: only they can be the monitor's own.
        QStringList unknown;
        for (auto it = inWindow.cbegin(); it != inWindow.cend(); ++it)
            if (m_names.value(it.key()).mine && !m_own.contains(it.key()))
                unknown << it.key();
        fetchTexts(conn, unknown);

        QList<std::pair<QString, Totals>> byClass[3];
        double classTotal[3] = {};
        for (auto it = inWindow.cbegin(); it != inWindow.cend(); ++it) {
            if (m_own.value(it.key()))
                continue;
            const int c = int(m_classifier.classify(m_names.value(it.key()).role));
            byClass[c].append({it.key(), *it});
            classTotal[c] += it->execMs;
        }
        QStringList shown;
        for (int c = 0; c < 3; ++c) {
            auto& list = byClass[c];
            std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
                return a.second.execMs != b.second.execMs ? a.second.execMs > b.second.execMs : a.first < b.first;
            });
            if (list.size() > kTopPerClass)
                list.resize(kTopPerClass);
            for (const auto& [key, t] : std::as_const(list)) {
                const Names& n = m_names.value(key);
                TopStatement s;
                s.workloadClass = WorkloadClass(c);
                s.queryId = n.queryId;
                s.role = n.role;
                s.database = n.database;
                s.calls = t.calls;
                s.totalExecMs = t.execMs;
                s.meanExecMs = t.calls > 0 ? t.execMs / double(t.calls) : 0;
                s.rows = t.rows;
                s.shareOfClass = classTotal[c] > 0 ? t.execMs / classTotal[c] : 0;
                out.statements.append(s);
                shown << key;
            }
        }
        fetchTexts(conn, shown);
        for (int i = 0; i < out.statements.size(); ++i)
            out.statements[i].query = m_texts.value(shown[i]);
        // What is neither in pg_stat_statements nor in the window needs no name.
        if (m_names.size() > m_previous.size() * 2 + 100) {
            for (auto it = m_names.begin(); it != m_names.end();)
                it = m_previous.contains(it.key()) || inWindow.contains(it.key()) ? std::next(it) : m_names.erase(it);
            for (auto it = m_own.begin(); it != m_own.end();)
                it = m_names.contains(it.key()) ? std::next(it) : m_own.erase(it);
        }
        sample.topStatements = out;
        return true;
    }

    void reset() override
    {
        m_hasPrevious = false;
        m_previous.clear();
        m_window.clear();
    }

private:
    struct Totals {
        qint64 calls = 0;
        double execMs = 0;
        qint64 rows = 0;
        Totals operator-(const Totals& o) const { return {calls - o.calls, execMs - o.execMs, rows - o.rows}; }
        Totals operator+(const Totals& o) const { return {calls + o.calls, execMs + o.execMs, rows + o.rows}; }
    };
    struct Names {
        QString queryId, role, database;
        bool mine = false; ///< the monitor's role's
    };
    struct WindowEntry {
        double epoch = 0;
        double dt = 0;
        QHash<QString, Totals> deltas; ///< entries that ran in the interval
    };

    /// Texts are read once per entry and kept masked: with showtext the server reads its whole
    /// query-text file, which is what this probe avoids doing every time. Whether an entry is
    /// the monitor's own comes with its text (and is kept as long as the entry).
    void fetchTexts(Connection& conn, const QStringList& keys)
    {
        QSet<QString> wanted;
        for (const QString& key : keys)
            if (!m_texts.contains(key) && !m_own.value(key))
                wanted.insert(key.section(u'/', 0, 0));
        if (wanted.isEmpty())
            return;
        if (m_texts.size() > kTextCacheSize)
            m_texts.clear();
        const QStringList ids(wanted.cbegin(), wanted.cend());
        const Result r = conn.execCached(monitorSql(u"top_statement_texts"_s, conn.serverVersionNum()),
            {QString(u'{' + ids.join(u',') + u'}'), QString::fromLatin1(kMonitorStatementTag)});
        for (int i = 0; i < r.rowCount(); ++i) {
            const QString key = r.text(i, u"queryid"_s) + u'/' + r.text(i, u"userid"_s) + u'/' + r.text(i, u"dbid"_s);
            const bool own = r.toBool(i, u"own"_s);
            m_own.insert(key, own);
            if (own)
                m_ownIds->insert(key.section(u'/', 0, 0));
            else
                m_texts.insert(key, htap::pg::maskStatement(r.text(i, u"query"_s)).trimmed()); // comments leave blank lines
        }
        if (r.ok()) // an entry evicted meanwhile is not asked for again
            for (const QString& key : keys)
                if (!m_own.contains(key))
                    m_own.insert(key, false);
    }

    WorkloadClassifier m_classifier;
    bool m_hasPrevious = false;
    QHash<QString, Totals> m_previous;
    double m_previousEpoch = 0;
    std::deque<WindowEntry> m_window;
    QHash<QString, Names> m_names;
    QHash<QString, QString> m_texts; ///< masked, by entry key
    QHash<QString, bool> m_own;      ///< whether an entry is the monitor's own statement, once its text was read
    OwnStatements m_ownIds;          ///< the queryids of those that are, for the CPU probe
};

} // namespace

std::unique_ptr<Probe> makeTopStatementsProbe(const WorkloadClassifier& classifier, OwnStatements own)
{
    return std::make_unique<TopStatementsProbe>(classifier, std::move(own));
}

} // namespace htap::monitor
