// The per-class session signals: what OLTP, OLAP and other sessions are doing now, and who
// holds up the ones that wait. pg_stat_statements counts a statement when it ends; a class
// whose sessions are all stuck behind a lock shows only here.
#include "probes.h"


#include <algorithm>

namespace htap::monitor {

using namespace Qt::StringLiterals;
using htap::pg::Connection;
using htap::pg::Result;

namespace {

class SessionProbe : public Probe
{
public:
    explicit SessionProbe(WorkloadClassifier classifier)
        : m_classifier(std::move(classifier))
    {
    }
    QString name() const override { return u"sessions"_s; }

    bool collect(Connection& conn, ServerSample& sample, QString* unavailable) override
    {
        const Result r = conn.execCached(monitorSql(name(), conn.serverVersionNum()));
        if (!r.ok()) {
            *unavailable = u"sessions: %1"_s.arg(r.error().oneLine());
            return false;
        }
        SessionSample out;
        for (int c = 0; c < 3; ++c) {
            ClassSessions cs;
            cs.workloadClass = WorkloadClass(c);
            out.classes.append(cs);
        }
        const int cPid = r.column(u"pid"_s), cRole = r.column(u"role"_s), cApp = r.column(u"app"_s),
                  cState = r.column(u"state"_s), cWait = r.column(u"wait"_s), cStmt = r.column(u"stmt_s"_s),
                  cXact = r.column(u"xact_s"_s), cN = r.column(u"n"_s);
        for (int i = 0; i < r.rowCount(); ++i) {
            const int pid = int(r.toInt64(i, cPid));
            const int n = int(r.toInt64(i, cN));
            if (pid < 0) {
                out.monitorBackends += n;
                continue;
            }
            SessionRef s {pid, r.text(i, cRole), r.text(i, cApp), r.text(i, cState), r.text(i, cWait), 0};
            ClassSessions& c = out.classes[int(m_classifier.classify(s.role, s.application))];
            c.sessions += n;
            if (pid == 0)
                continue; // idle ones, counted
            if (s.state == u"active"_s) {
                ++c.active;
                s.seconds = r.toDouble(i, cStmt);
                if (!c.oldestStatement.isSet() || s.seconds > c.oldestStatement.seconds)
                    c.oldestStatement = s;
            } else if (s.state.startsWith(u"idle in transaction"_s)) {
                ++c.idleInTransaction;
            }
            if (!r.isNull(i, cXact)) {
                s.seconds = r.toDouble(i, cXact);
                if (!c.oldestTransaction.isSet() || s.seconds > c.oldestTransaction.seconds)
                    c.oldestTransaction = s;
            }
        }
        sample.sessions = out;
        return true;
    }

private:
    WorkloadClassifier m_classifier;
};

} // namespace

std::unique_ptr<Probe> makeSessionProbe(const WorkloadClassifier& classifier)
{
    return std::make_unique<SessionProbe>(classifier);
}

void addLockWaitsToClasses(ServerSample& sample, const WorkloadClassifier& classifier)
{
    if (!sample.locks || sample.sessions.classes.size() != 3)
        return;
    const LockSample& locks = *sample.locks;
    QHash<int, QList<int>> rootsOfWaiter;
    const QHash<int, QList<int>> byRoot = locks.waitersByRoot();
    for (auto it = byRoot.cbegin(); it != byRoot.cend(); ++it)
        for (int w : it.value())
            rootsOfWaiter[w].append(it.key());
    QHash<int, int> perRoot[3];
    for (const LockNode& n : locks.nodes) {
        if (n.blockedBy.isEmpty())
            continue; // a root, not a waiter
        ClassSessions& c = sample.sessions.classes[int(classifier.classify(n.role, n.application))];
        ++c.waitingOnLock;
        if (!c.longestLockWait.isSet() || n.waitSeconds > c.longestLockWait.seconds)
            c.longestLockWait = {n.pid, n.role, n.application, n.state, n.wait, n.waitSeconds};
        for (int root : rootsOfWaiter.value(n.pid))
            ++perRoot[int(c.workloadClass)][root];
    }
    for (int c = 0; c < 3; ++c) {
        auto& list = sample.sessions.classes[c].blockers;
        for (auto it = perRoot[c].cbegin(); it != perRoot[c].cend(); ++it)
            list.append({it.key(), it.value()});
        std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
            return a.second != b.second ? a.second > b.second : a.first < b.first;
        });
    }
}

} // namespace htap::monitor
