#include "incidents.h"

#include <core/format.h>

#include <QJsonArray>
#include <QSet>

#include <algorithm>

namespace htap::monitor {

using namespace Qt::StringLiterals;
using htap::core::formatSeconds;

namespace {

QJsonValue time(const QDateTime& t)
{
    return t.isValid() ? QJsonValue(t.toUTC().toString(Qt::ISODateWithMs)) : QJsonValue();
}

QDateTime timeFrom(const QJsonValue& v)
{
    QDateTime t = QDateTime::fromString(v.toString(), Qt::ISODateWithMs);
    return t.isValid() ? t.toUTC() : t;
}

Incident::Kind kindFrom(const QString& s)
{
    if (s == u"blocking"_s)
        return Incident::Kind::Blocking;
    if (s == u"not_responding"_s)
        return Incident::Kind::NotResponding;
    if (s == u"view_late"_s)
        return Incident::Kind::ViewLate;
    return Incident::Kind::TargetMissed;
}

QString sessions(int n, WorkloadClass c)
{
    return n == 1 ? u"1 %1 session"_s.arg(sessionNoun(c)) : u"%1 %2 sessions"_s.arg(n).arg(sessionNoun(c));
}

QString className(WorkloadClass c)
{
    switch (c) {
    case WorkloadClass::Oltp:
        return u"Order entry (OLTP)"_s;
    case WorkloadClass::Olap:
        return u"Reports (OLAP)"_s;
    case WorkloadClass::Other:
        break;
    }
    return u"Other sessions"_s;
}

/// A session in a few words: "pid 14438, idle in transaction, oltp_user / shop-app".
QString describe(const SessionRef& s)
{
    QString text = u"pid %1"_s.arg(s.pid);
    if (!s.state.isEmpty())
        text += u", "_s + s.state;
    if (!s.wait.isEmpty() && s.state == u"active"_s)
        text += u", waiting on "_s + s.wait;
    if (!s.role.isEmpty())
        text += u", "_s + s.role + (s.application.isEmpty() ? QString() : u" / "_s + s.application);
    return text;
}

/// What blocks pid in the lock tree, in words, for the reason line.
QString blockerText(const ServerSample& sample, int pid)
{
    if (pid == 0)
        return u"a prepared transaction"_s;
    if (sample.locks)
        if (const LockNode* n = sample.locks->node(pid))
            return u"pid %1 (%2, transaction open %3)"_s.arg(pid).arg(n->state.isEmpty() ? u"state unknown"_s : n->state,
                formatSeconds(n->transactionSeconds));
    return u"pid %1"_s.arg(pid);
}

ClassHealth healthOf(const ServerSample& sample, const ClassSessions& c, double target)
{
    ClassHealth h;
    h.workloadClass = c.workloadClass;
    h.target = target;
    struct Candidate {
        double seconds;
        QString measure;
        const SessionRef* session;
    };
    const Candidate all[] = {{c.longestLockWait.isSet() ? c.longestLockWait.seconds : 0, u"longest lock wait"_s, &c.longestLockWait},
        {c.oldestStatement.isSet() ? c.oldestStatement.seconds : 0, u"oldest running statement"_s, &c.oldestStatement},
        {c.oldestTransaction.isSet() ? c.oldestTransaction.seconds : 0, u"oldest open transaction"_s, &c.oldestTransaction}};
    const Candidate* worst = std::max_element(std::begin(all), std::end(all),
        [](const Candidate& a, const Candidate& b) { return a.seconds < b.seconds; });
    h.worst = worst->seconds;
    h.measure = worst->measure;
    const QString noun = sessionNoun(c.workloadClass);
    const bool over = target > 0 && h.worst > target;
    if (c.waitingOnLock > 0 && c.longestLockWait.seconds > (target > 0 ? target : 0)) {
        // Sessions stuck behind someone: that is the story, whatever else is old.
        const int blocker = c.blockers.isEmpty() ? 0 : c.blockers.first().first;
        h.pid = c.blockers.isEmpty() ? c.longestLockWait.pid : blocker;
        h.measure = u"longest lock wait"_s; // the figure shown is the one the reason tells of
        h.worst = c.longestLockWait.seconds; // past the target too (the branch's condition)
        if (c.blockers.isEmpty()) // every one of them waits for another: a cycle
            h.reason = u"%1 waiting up to %2 for each other: a lock cycle, which PostgreSQL breaks after "
                       "deadlock_timeout by failing one of them (a deadlock)"_s.arg(sessions(c.waitingOnLock, c.workloadClass),
                formatSeconds(c.longestLockWait.seconds));
        else
            h.reason = u"%1 waiting %2 behind %3"_s.arg(sessions(c.waitingOnLock, c.workloadClass),
                formatSeconds(c.longestLockWait.seconds), blockerText(sample, blocker));
        if (c.blockers.size() > 1)
            h.reason += u" and %1 more blockers"_s.arg(c.blockers.size() - 1);
    } else if (over) {
        h.pid = worst->session->pid;
        const QString article = QStringView(u"aeiou").contains(noun.at(0)) ? u"an"_s : u"a"_s;
        h.reason = worst->session == &c.oldestTransaction
            ? u"%1 %2 transaction open for %3 (%4)"_s.arg(article, noun, formatSeconds(h.worst), describe(*worst->session))
            : u"%1 %2 statement running for %3 (%4)"_s.arg(article, noun, formatSeconds(h.worst), describe(*worst->session));
    } else if (c.sessions == 0) {
        h.reason = u"no %1 sessions connected"_s.arg(noun);
    } else {
        h.reason = u"%1 connected, %2 running; oldest statement %3, oldest transaction %4, no lock waits"_s.arg(
            sessions(c.sessions, c.workloadClass), QString::number(c.active),
            c.oldestStatement.isSet() ? formatSeconds(c.oldestStatement.seconds) : u"none"_s,
            c.oldestTransaction.isSet() ? formatSeconds(c.oldestTransaction.seconds) : u"none"_s);
    }
    return h;
}

} // namespace

QString sessionNoun(WorkloadClass c)
{
    switch (c) {
    case WorkloadClass::Oltp:
        return u"order"_s;
    case WorkloadClass::Olap:
        return u"report"_s;
    case WorkloadClass::Other:
        break;
    }
    return u"other"_s;
}

QString toString(Incident::Kind kind)
{
    switch (kind) {
    case Incident::Kind::TargetMissed:
        return u"target_missed"_s;
    case Incident::Kind::Blocking:
        return u"blocking"_s;
    case Incident::Kind::NotResponding:
        return u"not_responding"_s;
    case Incident::Kind::ViewLate:
        break;
    }
    return u"view_late"_s;
}

QString Incident::key() const
{
    return toString(kind) + u'/' + subject + u'/' + start.toUTC().toString(Qt::ISODateWithMs);
}

QJsonObject Incident::toJson() const
{
    QJsonObject o {{u"kind"_s, toString(kind)}, {u"subject"_s, subject}, {u"title"_s, title}, {u"start"_s, time(start)},
        {u"end"_s, time(end)}, {u"open"_s, isOpen()}, {u"worstSeconds"_s, worst}, {u"detail"_s, detail}};
    if (target > 0)
        o.insert(u"targetSeconds"_s, target);
    if (pid != 0 || kind == Kind::Blocking)
        o.insert(u"pid"_s, pid);
    if (!role.isEmpty())
        o.insert(u"role"_s, role);
    if (!application.isEmpty())
        o.insert(u"application"_s, application);
    if (!view.isEmpty())
        o.insert(u"view"_s, view);
    if (kind == Kind::Blocking)
        o.insert(u"waiting"_s, waiting);
    return o;
}

Incident Incident::fromJson(const QJsonObject& o)
{
    Incident i;
    i.kind = kindFrom(o.value(u"kind"_s).toString());
    i.subject = o.value(u"subject"_s).toString();
    i.title = o.value(u"title"_s).toString();
    i.start = timeFrom(o.value(u"start"_s));
    i.end = timeFrom(o.value(u"end"_s));
    i.worst = o.value(u"worstSeconds"_s).toDouble();
    i.target = o.value(u"targetSeconds"_s).toDouble();
    i.detail = o.value(u"detail"_s).toString();
    i.pid = o.value(u"pid"_s).toInt();
    i.role = o.value(u"role"_s).toString();
    i.application = o.value(u"application"_s).toString();
    i.view = o.value(u"view"_s).toString();
    i.waiting = o.value(u"waiting"_s).toInt();
    return i;
}

IncidentDetector::IncidentDetector(Targets targets)
    : m_targets(std::move(targets))
{
}

void IncidentDetector::setTargets(const Targets& targets)
{
    m_targets = targets;
}

void IncidentDetector::noteAction(int pid, const QString& what)
{
    if (what.isEmpty())
        m_actions.remove(pid);
    else
        m_actions.insert(pid, what);
}

void IncidentDetector::track(QList<Incident>* changed, const QString& key, bool breaching, const QDateTime& at,
    const std::function<void(Incident&)>& describeIt, int toOpen, int toClose, const std::function<void(Incident&)>& onClose)
{
    auto it = m_tracked.find(key);
    if (breaching) {
        if (it == m_tracked.end())
            it = m_tracked.insert(key, {});
        Tracked& t = *it;
        t.clear = 0;
        ++t.breaching;
        const double before = t.incident.worst;
        const QString detailBefore = t.incident.detail;
        describeIt(t.incident);
        t.incident.end = {};
        if (!t.opened && t.breaching >= toOpen) {
            t.opened = true;
            changed->append(t.incident);
        } else if (t.opened && (t.incident.worst > before || t.incident.detail != detailBefore)) {
            changed->append(t.incident);
        }
        return;
    }
    if (it == m_tracked.end())
        return;
    Tracked& t = *it;
    if (!t.opened) {
        m_tracked.erase(it);
        return;
    }
    if (t.clear++ == 0)
        t.incident.end = at; // it ended when first seen clear, whenever that is confirmed
    if (t.clear >= toClose) {
        if (onClose)
            onClose(t.incident);
        changed->append(t.incident);
        m_tracked.erase(it);
    }
}

QList<Incident> IncidentDetector::addSample(const ServerSample& sample)
{
    QList<Incident> changed;
    const QDateTime at = sample.sampledAt;
    m_lastSampleAt = at;

    // Each class against its target.
    m_health.clear();
    for (const ClassSessions& c : sample.sessions.classes) {
        const double target = m_targets.classSeconds(c.workloadClass);
        ClassHealth h = healthOf(sample, c, target);
        const bool breaching = target > 0 && h.worst > target;
        const QString key = u"target/"_s + toString(c.workloadClass);
        if (target > 0)
            track(&changed, key, breaching, at, [&](Incident& i) {
                if (i.title.isEmpty()) {
                    i.kind = Incident::Kind::TargetMissed;
                    i.subject = toString(c.workloadClass);
                    i.target = target;
                    // It crossed the target when the age that breaches it was the target's.
                    i.start = at.addMSecs(-qint64((h.worst - target) * 1000));
                    i.title = u"%1 past its target of %2"_s.arg(className(c.workloadClass), formatSeconds(target));
                }
                if (h.worst >= i.worst) {
                    i.worst = h.worst;
                    i.detail = u"worst: %1"_s.arg(h.reason);
                    i.pid = h.pid;
                }
            }, 2, 3);
        // Red until the incident is confirmed over (three clear samples), not green for one good second.
        h.missed = m_tracked.contains(key) && m_tracked.value(key).opened;
        m_health.append(h);
    }

    // Blocking episodes, one per root blocker that made others wait past the threshold.
    QSet<QString> blockingNow;
    if (sample.locks) {
        const QHash<int, QList<int>> waiters = sample.locks->waitersByRoot();
        for (auto it = waiters.cbegin(); it != waiters.cend(); ++it) {
            double longest = 0;
            for (int w : it.value())
                if (const LockNode* n = sample.locks->node(w))
                    longest = std::max(longest, n->waitSeconds);
            if (longest < m_targets.blockingSeconds)
                continue;
            const int root = it.key();
            const QString key = u"blocking/"_s + QString::number(root);
            blockingNow.insert(key);
            const LockNode* r = sample.locks->node(root);
            track(&changed, key, true, at, [&](Incident& i) {
                if (i.title.isEmpty()) {
                    i.kind = Incident::Kind::Blocking;
                    i.subject = QString::number(root);
                    i.pid = root;
                    i.start = at.addMSecs(-qint64(longest * 1000));
                    i.target = m_targets.blockingSeconds;
                    if (r) {
                        i.role = r->role;
                        i.application = r->application;
                    }
                }
                i.waiting = std::max(i.waiting, int(it.value().size()));
                i.worst = std::max(i.worst, longest);
                i.title = root == 0 ? u"A prepared transaction blocked %1 sessions"_s.arg(i.waiting)
                                    : u"pid %1%2 blocked %3"_s.arg(root).arg(
                                          i.role.isEmpty() ? QString() : u" (%1%2)"_s.arg(i.role,
                                              i.application.isEmpty() ? QString() : u" / "_s + i.application),
                                          i.waiting == 1 ? u"1 session"_s : u"%1 sessions"_s.arg(i.waiting));
                i.detail = u"longest wait %1; the blocker: %2"_s.arg(formatSeconds(i.worst),
                    r ? u"%1, transaction open %2"_s.arg(r->state, formatSeconds(r->transactionSeconds)) : u"unknown"_s);
            }, 1, 2);
        }
    }
    for (const QString& key : m_tracked.keys())
        if (key.startsWith(u"blocking/"_s) && !blockingNow.contains(key))
            track(&changed, key, false, at, {}, 1, 2, [this](Incident& i) {
                const QString how = m_actions.value(i.pid);
                i.detail += u"; ended: %1"_s.arg(how.isEmpty() ? u"the blocker released its locks (its transaction ended)"_s : how);
                m_actions.remove(i.pid);
            });

    // Views past their freshness target (only samples that looked at views count).
    if (sample.views) {
        QSet<QString> seen;
        ViewsHealth vh;
        double worstRatio = -1;
        for (const ViewState& v : sample.views->views) {
            QString from;
            const double target = m_targets.viewSeconds(v, v.scheduleSeconds, &from);
            ++vh.views;
            if (target > 0) {
                ++vh.withTarget;
                if (v.stalenessSeconds > target)
                    ++vh.late;
            }
            // The one to name: the latest against its target; among views without targets,
            // the oldest, and only when no view has a target.
            const double ratio = target > 0 ? v.stalenessSeconds / target : -1;
            if ((target > 0 && ratio > worstRatio) || (vh.withTarget == 0 && worstRatio < 0 && v.stalenessSeconds > vh.worstAge)) {
                if (target > 0)
                    worstRatio = ratio;
                vh.worstView = v.view;
                vh.worstAge = v.stalenessSeconds;
                vh.worstTarget = target;
                vh.targetFrom = from;
            }
            const QString key = u"view/"_s + v.view;
            seen.insert(key);
            const bool late = target > 0 && v.stalenessSeconds > target;
            if (target <= 0 && !m_tracked.contains(key))
                continue;
            track(&changed, key, late, at, [&](Incident& i) {
                if (i.title.isEmpty()) {
                    i.kind = Incident::Kind::ViewLate;
                    i.subject = v.view;
                    i.view = v.view;
                    i.target = target;
                    i.start = at.addMSecs(-qint64((v.stalenessSeconds - target) * 1000));
                    i.title = u"%1 older than %2 (%3)"_s.arg(v.view, formatSeconds(target), from);
                }
                i.worst = std::max(i.worst, v.stalenessSeconds);
                i.detail = u"data %1 old%2"_s.arg(formatSeconds(i.worst),
                    v.ivmState == u"needs_rebuild"_s ? u"; the engine needs a rebuild: "_s + v.ivmReason : QString());
            }, 1, 1);
        }
        for (const QString& key : m_tracked.keys())
            if (key.startsWith(u"view/"_s) && !seen.contains(key))
                track(&changed, key, false, at, {}, 1, 1); // the view is gone
        m_viewsHealth = vh;
    }
    return changed;
}

QList<Incident> IncidentDetector::evaluate(ServerSample& sample)
{
    const QList<Incident> changed = addSample(sample);
    sample.health = m_health;
    sample.viewsHealth = m_viewsHealth;
    sample.incidents = openIncidents();
    return changed;
}

QList<Incident> IncidentDetector::serverSilent(const QDateTime& since, const QString& server)
{
    QList<Incident> changed;
    track(&changed, u"silent"_s, true, since, [&](Incident& i) {
        if (i.title.isEmpty()) {
            i.kind = Incident::Kind::NotResponding;
            i.subject = server;
            i.start = since;
            i.title = u"%1 did not answer the monitor"_s.arg(server);
        }
    }, 1, 1);
    return changed;
}

QList<Incident> IncidentDetector::serverBack(const QDateTime& at)
{
    QList<Incident> changed;
    if (m_tracked.contains(u"silent"_s)) {
        Incident& i = m_tracked[u"silent"_s].incident;
        i.worst = std::max(0.0, i.start.msecsTo(at) / 1000.0);
        i.detail = u"no answer for %1"_s.arg(formatSeconds(i.worst));
    }
    track(&changed, u"silent"_s, false, at, {}, 1, 1);
    return changed;
}

QList<Incident> IncidentDetector::openIncidents() const
{
    QList<Incident> out;
    for (const Tracked& t : m_tracked)
        if (t.opened && t.incident.isOpen())
            out.append(t.incident);
    std::sort(out.begin(), out.end(), [](const Incident& a, const Incident& b) { return a.start < b.start; });
    return out;
}

} // namespace htap::monitor
