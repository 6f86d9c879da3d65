// Incidents: what a DBA must act on, found from consecutive samples, opened and closed with
// their worst moment; and each class's health now, in words, for the Overview's first row.
#pragma once

#include "serversample.h"
#include "targets.h"

#include <QDateTime>
#include <QHash>
#include <QJsonObject>

namespace htap::monitor {

/// Turns samples into incidents. A target counts as missed once two samples in a row are past
/// it (one sample can catch any transaction mid-way) and as met again after three clear ones,
/// so the first screen does not flicker.
class IncidentDetector
{
public:
    explicit IncidentDetector(Targets targets = {});
    void setTargets(const Targets& targets);
    const Targets& targets() const { return m_targets; }

    /// One sample: the incidents that opened, got worse or ended with it.
    QList<Incident> addSample(const ServerSample& sample);
    /// addSample, and the sample gets each class's health and the incidents open now.
    QList<Incident> evaluate(ServerSample& sample);
    /// The server stopped answering at since; answers again at at.
    QList<Incident> serverSilent(const QDateTime& since, const QString& server);
    QList<Incident> serverBack(const QDateTime& at);
    /// What the operator did to a session (terminated, cancelled its query): a blocking
    /// episode it ends says so. Empty what forgets it (the action did not end the episode).
    void noteAction(int pid, const QString& what);

    QList<Incident> openIncidents() const;
    /// OLTP, OLAP, other, as of the last sample.
    const QList<ClassHealth>& health() const { return m_health; }

private:
    struct Tracked {
        Incident incident;
        int breaching = 0; ///< consecutive samples past the target
        int clear = 0;     ///< consecutive samples within it
        bool opened = false;
    };
    void track(QList<Incident>* changed, const QString& key, bool breaching, const QDateTime& at,
        const std::function<void(Incident&)>& describe, int toOpen, int toClose,
        const std::function<void(Incident&)>& onClose = {});

    Targets m_targets;
    QHash<QString, Tracked> m_tracked;
    QHash<int, QString> m_actions;
    QList<ClassHealth> m_health;
    std::optional<ViewsHealth> m_viewsHealth;
    QDateTime m_lastSampleAt;
};

/// "order", "report", "other": a class as a DBA of the seed's shop names its sessions.
QString sessionNoun(WorkloadClass c);

} // namespace htap::monitor
