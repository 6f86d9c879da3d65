#include "samplejson.h"

#include <pg/statementtext.h>

#include <QJsonArray>

namespace htap::monitor {

using namespace Qt::StringLiterals;

namespace {

QJsonValue time(const QDateTime& t)
{
    return t.isValid() ? QJsonValue(t.toUTC().toString(Qt::ISODateWithMs)) : QJsonValue();
}

QJsonArray intArray(const QList<int>& v)
{
    QJsonArray a;
    for (int x : v)
        a.append(x);
    return a;
}

QJsonObject latencyFigures(const LatencyFigures& f)
{
    return {{u"name"_s, f.name}, {u"class"_s, toString(f.workloadClass)}, {u"calls"_s, f.calls}, {u"callsPerSecond"_s, f.callsPerSecond},
        {u"meanExecMs"_s, f.meanExecMs}, {u"meanPlanMs"_s, f.meanPlanMs}, {u"rowsPerSecond"_s, f.rowsPerSecond},
        {u"tempBlocksWritten"_s, f.tempBlocksWritten}, {u"activeNow"_s, f.activeNow},
        {u"oldestActiveSeconds"_s, f.oldestActiveSeconds},
        {u"window"_s, QJsonObject {{u"seconds"_s, f.windowSeconds}, {u"calls"_s, f.windowCalls},
                          {u"meanExecMs"_s, f.windowCalls > 0 ? QJsonValue(f.windowMeanExecMs) : QJsonValue()}}}};
}

QJsonValue sessionRef(const SessionRef& s)
{
    if (!s.isSet())
        return QJsonValue();
    return QJsonObject {{u"pid"_s, s.pid}, {u"role"_s, s.role}, {u"application"_s, s.application},
        {u"state"_s, s.state}, {u"wait"_s, s.wait}, {u"seconds"_s, s.seconds}};
}

QJsonObject classSessions(const ClassSessions& c)
{
    QJsonArray blockers;
    for (const auto& [pid, waiting] : c.blockers)
        blockers.append(QJsonObject {{u"pid"_s, pid}, {u"waiting"_s, waiting}});
    return {{u"class"_s, toString(c.workloadClass)}, {u"sessions"_s, c.sessions}, {u"active"_s, c.active},
        {u"idleInTransaction"_s, c.idleInTransaction}, {u"waitingOnLock"_s, c.waitingOnLock},
        {u"oldestStatement"_s, sessionRef(c.oldestStatement)}, {u"oldestTransaction"_s, sessionRef(c.oldestTransaction)},
        {u"longestLockWait"_s, sessionRef(c.longestLockWait)}, {u"blockers"_s, blockers}};
}

WorkloadClass classFrom(const QString& name)
{
    return name == u"oltp"_s ? WorkloadClass::Oltp : name == u"olap"_s ? WorkloadClass::Olap : WorkloadClass::Other;
}

QJsonObject waitsJson(const WaitProfileSample& w)
{
    QJsonArray classes;
    for (const ClassWaits& c : w.classes) {
        QJsonObject byType;
        for (auto it = c.secondsByType.cbegin(); it != c.secondsByType.cend(); ++it)
            byType.insert(it.key(), it.value());
        QJsonArray events;
        for (const WaitEventFigure& e : c.topEvents)
            events.append(QJsonObject {{u"type"_s, e.type}, {u"event"_s, e.event}, {u"samples"_s, e.samples}, {u"seconds"_s, e.seconds}});
        classes.append(QJsonObject {{u"class"_s, toString(c.workloadClass)}, {u"totalSeconds"_s, c.totalSeconds},
            {u"secondsByType"_s, byType}, {u"topEvents"_s, events}});
    }
    return {{u"hasDeltas"_s, w.hasDeltas}, {u"baselineReason"_s, w.baselineReason}, {u"windowSeconds"_s, w.windowSeconds},
        {u"samplePeriodMs"_s, w.samplePeriodMs}, {u"classes"_s, classes}};
}

QJsonObject cpuJson(const CpuSample& cpu)
{
    QJsonArray classes;
    for (const ClassCpu& c : cpu.classes)
        classes.append(QJsonObject {{u"class"_s, toString(c.workloadClass)}, {u"userSeconds"_s, c.userSeconds},
            {u"systemSeconds"_s, c.systemSeconds}, {u"cpuPerSecond"_s, c.cpuPerSecond}});
    return {{u"hasDeltas"_s, cpu.hasDeltas}, {u"baselineReason"_s, cpu.baselineReason},
        {u"windowSeconds"_s, cpu.windowSeconds}, {u"classes"_s, classes}};
}

QJsonObject topStatementsJson(const TopStatementsSample& t)
{
    QJsonArray statements;
    for (const TopStatement& st : t.statements)
        statements.append(QJsonObject {{u"class"_s, toString(st.workloadClass)}, {u"queryId"_s, st.queryId},
            {u"role"_s, st.role}, {u"database"_s, st.database}, {u"calls"_s, st.calls}, {u"totalExecMs"_s, st.totalExecMs},
            {u"meanExecMs"_s, st.meanExecMs}, {u"rows"_s, st.rows}, {u"shareOfClass"_s, st.shareOfClass},
            {u"query"_s, st.query}});
    return {{u"hasDeltas"_s, t.hasDeltas}, {u"baselineReason"_s, t.baselineReason},
        {u"windowSeconds"_s, t.windowSeconds}, {u"statements"_s, statements}};
}

} // namespace

QJsonObject toJson(const ServerSample& s, const QString& server)
{
    QJsonObject o {{u"format"_s, QString::fromLatin1(kSampleFormat)}, {u"version"_s, kSampleFormatVersion},
        {u"server"_s, server}, {u"sampledAt"_s, time(s.sampledAt)}};

    const ActivitySample& a = s.activity;
    QJsonObject waits;
    for (auto it = a.waitEvents.cbegin(); it != a.waitEvents.cend(); ++it)
        waits.insert(it.key(), it.value());
    QJsonObject activity {{u"elapsedSeconds"_s, a.elapsedSeconds}, {u"hasRates"_s, a.hasRates},
        {u"commitsPerSecond"_s, a.commitsPerSecond}, {u"rollbacksPerSecond"_s, a.rollbacksPerSecond},
        {u"xactCommit"_s, a.xactCommit}, {u"xactRollback"_s, a.xactRollback},
        {u"sessions"_s, QJsonObject {{u"active"_s, a.active}, {u"idle"_s, a.idle},
                            {u"idleInTransaction"_s, a.idleInTransaction},
                            {u"idleInTransactionAborted"_s, a.idleInTransactionAborted}, {u"other"_s, a.otherState}}},
        {u"waitingOnLock"_s, a.waitingOnLock}, {u"waitEvents"_s, waits},
        {u"tuplesReadPerSecond"_s, a.tuplesReadPerSecond}, {u"tuplesWrittenPerSecond"_s, a.tuplesWrittenPerSecond},
        {u"walBytesPerSecond"_s, a.walBytesPerSecond},
        {u"cacheHitRatio"_s, a.cacheHitRatio >= 0 ? QJsonValue(a.cacheHitRatio) : QJsonValue()},
        {u"tempFilesPerSecond"_s, a.tempFilesPerSecond}, {u"tempBytesPerSecond"_s, a.tempBytesPerSecond},
        {u"ownCommits"_s, a.ownCommits},
        {u"counters"_s, QJsonObject {{u"blocksHit"_s, a.blocksHit}, {u"blocksRead"_s, a.blocksRead},
                            {u"tuplesRead"_s, a.tuplesRead}, {u"tuplesWritten"_s, a.tuplesWritten},
                            {u"tempFiles"_s, a.tempFiles}, {u"tempBytes"_s, a.tempBytes},
                            {u"walPosition"_s, a.walPosition}}},
        {u"window"_s, QJsonObject {{u"seconds"_s, a.windowSeconds}, {u"commitsPerSecond"_s, a.commitsPerSecondWindow},
                          {u"rollbacksPerSecond"_s, a.rollbacksPerSecondWindow}}}};
    o.insert(u"activity"_s, activity);
    if (s.gapBefore)
        o.insert(u"gapBefore"_s, true);
    if (!s.health.isEmpty()) {
        QJsonArray health;
        for (const ClassHealth& h : s.health)
            health.append(QJsonObject {{u"class"_s, toString(h.workloadClass)},
                {u"targetSeconds"_s, h.target > 0 ? QJsonValue(h.target) : QJsonValue()}, {u"worstSeconds"_s, h.worst},
                {u"measure"_s, h.measure}, {u"missed"_s, h.missed}, {u"reason"_s, h.reason}, {u"pid"_s, h.pid}});
        o.insert(u"health"_s, health);
        if (s.viewsHealth) {
            const ViewsHealth& v = *s.viewsHealth;
            o.insert(u"viewsHealth"_s, QJsonObject {{u"views"_s, v.views}, {u"withTarget"_s, v.withTarget}, {u"late"_s, v.late},
                                           {u"worstView"_s, v.worstView}, {u"worstAgeSeconds"_s, v.worstAge},
                                           {u"worstTargetSeconds"_s, v.worstTarget > 0 ? QJsonValue(v.worstTarget) : QJsonValue()},
                                           {u"targetFrom"_s, v.targetFrom}});
        }
        QJsonArray incidents;
        for (const Incident& i : s.incidents)
            incidents.append(i.toJson());
        o.insert(u"incidents"_s, incidents);
    }
    if (!s.sessions.classes.isEmpty()) {
        QJsonArray classes;
        for (const ClassSessions& c : s.sessions.classes)
            classes.append(classSessions(c));
        o.insert(u"sessions"_s, QJsonObject {{u"classes"_s, classes}, {u"monitorBackends"_s, s.sessions.monitorBackends}});
    }

    if (s.latency) {
        QJsonArray roles, classes;
        for (const auto& f : s.latency->roles)
            roles.append(latencyFigures(f));
        for (const auto& f : s.latency->classes)
            classes.append(latencyFigures(f));
        o.insert(u"latency"_s, QJsonObject {{u"hasDeltas"_s, s.latency->hasDeltas},
                                   {u"baselineReason"_s, s.latency->baselineReason}, {u"roles"_s, roles},
                                   {u"classes"_s, classes}});
    }
    if (s.locks) {
        QJsonArray nodes;
        for (const LockNode& n : s.locks->nodes) {
            QJsonArray prepared;
            for (const PreparedXact& p : n.preparedTransactions)
                prepared.append(QJsonObject {{u"gid"_s, p.gid}, {u"owner"_s, p.owner}, {u"database"_s, p.database},
                    {u"ageSeconds"_s, p.ageSeconds}});
            nodes.append(QJsonObject {{u"pid"_s, n.pid}, {u"role"_s, n.role}, {u"application"_s, n.application},
                {u"database"_s, n.database}, {u"state"_s, n.state}, {u"wait"_s, n.wait}, {u"lockType"_s, n.lockType},
                {u"lockMode"_s, n.lockMode}, {u"lockTarget"_s, n.lockTarget}, {u"waitSeconds"_s, n.waitSeconds},
                {u"transactionSeconds"_s, n.transactionSeconds}, {u"query"_s, n.query},
                {u"blockedBy"_s, intArray(n.blockedBy)},
                {u"preparedTransactions"_s, prepared}});
        }
        QJsonObject byType;
        for (auto it = s.locks->waitingByLockType.cbegin(); it != s.locks->waitingByLockType.cend(); ++it)
            byType.insert(it.key(), it.value());
        QJsonArray roots;
        for (int r : s.locks->roots)
            roots.append(QJsonObject {{u"pid"_s, r}, {u"totalWaiters"_s, s.locks->totalWaitersUnder(r)}});
        o.insert(u"locks"_s, QJsonObject {{u"waitingSessions"_s, s.locks->waitingSessions},
                                 {u"waitingByLockType"_s, byType}, {u"roots"_s, roots}, {u"nodes"_s, nodes}});
    }
    if (s.vacuum) {
        QJsonArray tables, holders, running, dbs;
        for (const TableVacuum& t : s.vacuum->tables)
            tables.append(QJsonObject {{u"table"_s, t.table}, {u"liveTuples"_s, t.liveTuples},
                {u"deadTuples"_s, t.deadTuples}, {u"deadTrigger"_s, t.deadTrigger}, {u"pctOfTrigger"_s, t.pctOfTrigger},
                {u"insertsSinceVacuum"_s, t.insertsSinceVacuum}, {u"xidAge"_s, t.xidAge},
                {u"pctOfFreezeMaxAge"_s, t.pctOfFreezeMaxAge}, {u"lastVacuum"_s, time(t.lastVacuum)},
                {u"lastAnalyze"_s, time(t.lastAnalyze)}, {u"autovacuumEnabled"_s, t.autovacuumEnabled}});
        for (const XminHolder& h : s.vacuum->holders)
            holders.append(QJsonObject {{u"kind"_s, h.kind}, {u"holder"_s, h.holder}, {u"database"_s, h.database},
                {u"role"_s, h.role}, {u"application"_s, h.application}, {u"state"_s, h.state}, {u"xidAge"_s, h.xidAge}, {u"heldSeconds"_s, h.heldSeconds},
                {u"detail"_s, h.detail}, {u"pid"_s, h.pid}});
        for (const VacuumProgress& p : s.vacuum->running)
            running.append(QJsonObject {{u"pid"_s, p.pid}, {u"table"_s, p.table}, {u"phase"_s, p.phase},
                {u"autovacuum"_s, p.autovacuum}, {u"pctScanned"_s, p.pctScanned}, {u"runningSeconds"_s, p.runningSeconds}});
        for (const DatabaseAge& d : s.vacuum->databases)
            dbs.append(QJsonObject {{u"database"_s, d.database}, {u"xidAge"_s, d.xidAge},
                {u"pctToWraparound"_s, d.pctToWraparound}, {u"pctToForcedAutovacuum"_s, d.pctToForcedAutovacuum}});
        o.insert(u"vacuum"_s, QJsonObject {{u"horizonAge"_s, s.vacuum->horizonAge}, {u"tables"_s, tables},
                                  {u"xminHolders"_s, holders}, {u"running"_s, running}, {u"databases"_s, dbs}});
    }
    if (s.views) {
        QJsonArray views;
        for (const ViewState& v : s.views->views)
            views.append(QJsonObject {{u"view"_s, v.view}, {u"populated"_s, v.populated},
                {u"concurrentCapable"_s, v.concurrentCapable}, {u"totalBytes"_s, v.totalBytes},
                {u"baseTables"_s, v.baseTables}, {u"refreshingPid"_s, v.refreshingPid},
                {u"lastRefreshStart"_s, time(v.lastRefreshStart)}, {u"lastRefreshEnd"_s, time(v.lastRefreshEnd)},
                {u"lastMode"_s, v.lastMode}, {u"lastDurationSeconds"_s, v.lastDurationSeconds},
                {u"stalenessSeconds"_s, v.stalenessSeconds >= 0 ? QJsonValue(v.stalenessSeconds) : QJsonValue()},
                {u"concurrentBlocker"_s, v.concurrentBlocker}, {u"incremental"_s, v.incremental},
                {u"ivmState"_s, v.ivmState}, {u"ivmReason"_s, v.ivmReason}, {u"pendingRows"_s, v.pendingRows},
                {u"oldestPendingSeconds"_s, v.oldestPendingSeconds}, {u"lastMergeMs"_s, v.lastMergeMs},
                {u"engineOutdated"_s, v.engineOutdated}, {u"scheduleSeconds"_s, v.scheduleSeconds},
                {u"scheduleRunner"_s, v.scheduleRunner}});
        o.insert(u"views"_s, QJsonObject {{u"registryInstalled"_s, s.views->registryInstalled}, {u"views"_s, views}});
    }
    if (s.replication) {
        QJsonArray standbys, slotArray;
        for (const StandbyLag& l : s.replication->standbys)
            standbys.append(QJsonObject {{u"name"_s, l.name}, {u"state"_s, l.state},
                {u"writeLagSeconds"_s, l.writeLagSeconds}, {u"flushLagSeconds"_s, l.flushLagSeconds},
                {u"replayLagSeconds"_s, l.replayLagSeconds}, {u"replayLagBytes"_s, l.replayLagBytes}});
        for (const SlotState& sl : s.replication->replicationSlots)
            slotArray.append(QJsonObject {{u"name"_s, sl.name}, {u"type"_s, sl.type}, {u"active"_s, sl.active},
                {u"retainedWalBytes"_s, sl.retainedWalBytes}});
        QJsonObject rep {{u"inRecovery"_s, s.replication->inRecovery}, {u"standbys"_s, standbys}, {u"slots"_s, slotArray}};
        if (const auto& w = s.replication->receiver)
            rep.insert(u"receiver"_s, QJsonObject {{u"status"_s, w->status}, {u"senderHost"_s, w->senderHost},
                                          {u"senderPort"_s, w->senderPort}, {u"slot"_s, w->slot},
                                          {u"sinceMessageSeconds"_s, w->sinceMessageSeconds},
                                          {u"replayAgeSeconds"_s, w->replayAgeSeconds},
                                          {u"replayGapBytes"_s, w->replayGapBytes}});
        const ReplicationSample& r = *s.replication;
        rep.insert(u"heartbeatAgeSeconds"_s, r.heartbeatAgeSeconds >= 0 ? QJsonValue(r.heartbeatAgeSeconds) : QJsonValue());
        if (!r.inRecovery)
            rep.insert(u"heartbeatWriter"_s, r.heartbeatWriter);
        if (const auto& k = r.conflicts)
            rep.insert(u"conflicts"_s, QJsonObject {{u"snapshot"_s, k->snapshot}, {u"lock"_s, k->lock},
                                           {u"bufferpin"_s, k->bufferpin}, {u"deadlock"_s, k->deadlock},
                                           {u"tablespace"_s, k->tablespace}});
        if (r.inRecovery) {
            QJsonArray cancelled;
            for (const CancelledStatement& c : r.cancelled)
                cancelled.append(QJsonObject {{u"at"_s, c.at.toUTC().toString(Qt::ISODateWithMs)}, {u"pid"_s, c.pid},
                    {u"role"_s, c.role}, {u"database"_s, c.database}, {u"terminated"_s, c.terminated},
                    {u"detail"_s, c.detail}, {u"statement"_s, c.statement}});
            rep.insert(u"cancelled"_s, cancelled);
            if (!r.cancelledUnavailable.isEmpty())
                rep.insert(u"cancelledUnavailable"_s, r.cancelledUnavailable);
        }
        o.insert(u"replication"_s, rep);
    }
    if (s.waits)
        o.insert(u"waits"_s, waitsJson(*s.waits));
    if (s.cpu)
        o.insert(u"cpu"_s, cpuJson(*s.cpu));
    if (s.topStatements)
        o.insert(u"topStatements"_s, topStatementsJson(*s.topStatements));
    QJsonObject unavailable;
    for (auto it = s.unavailable.cbegin(); it != s.unavailable.cend(); ++it)
        unavailable.insert(it.key(), it.value());
    o.insert(u"unavailable"_s, unavailable);
    return o;
}

namespace {

QDateTime timeFrom(const QJsonValue& v)
{
    return v.isString() ? QDateTime::fromString(v.toString(), Qt::ISODateWithMs) : QDateTime();
}

/// A count or size; 0, as for a value that is not a number, when a qint64 cannot hold it (a
/// conversion out of range is undefined behaviour).
qint64 i64(const QJsonObject& o, const QString& key)
{
    const double d = o.value(key).toDouble();
    constexpr double kLimit = 9223372036854775808.0; // 2^63
    return d >= -kLimit && d < kLimit ? qint64(d) : 0;
}

LatencyFigures latencyFiguresFrom(const QJsonObject& o)
{
    LatencyFigures f;
    f.name = o.value(u"name"_s).toString();
    const QString cls = o.value(u"class"_s).toString();
    f.workloadClass = cls == u"oltp"_s ? WorkloadClass::Oltp : cls == u"olap"_s ? WorkloadClass::Olap : WorkloadClass::Other;
    f.calls = i64(o, u"calls"_s);
    f.callsPerSecond = o.value(u"callsPerSecond"_s).toDouble();
    f.meanExecMs = o.value(u"meanExecMs"_s).toDouble();
    f.meanPlanMs = o.value(u"meanPlanMs"_s).toDouble();
    f.rowsPerSecond = o.value(u"rowsPerSecond"_s).toDouble();
    f.tempBlocksWritten = i64(o, u"tempBlocksWritten"_s);
    f.activeNow = o.value(u"activeNow"_s).toInt();
    f.oldestActiveSeconds = o.value(u"oldestActiveSeconds"_s).toDouble();
    const QJsonObject w = o.value(u"window"_s).toObject();
    f.windowSeconds = w.value(u"seconds"_s).toDouble();
    f.windowCalls = i64(w, u"calls"_s);
    f.windowMeanExecMs = w.value(u"meanExecMs"_s).toDouble();
    return f;
}

SessionRef sessionRefFrom(const QJsonValue& v)
{
    const QJsonObject o = v.toObject();
    return {o.value(u"pid"_s).toInt(), o.value(u"role"_s).toString(), o.value(u"application"_s).toString(),
        o.value(u"state"_s).toString(), o.value(u"wait"_s).toString(), o.value(u"seconds"_s).toDouble()};
}

} // namespace

bool fromJson(const QJsonObject& json, ServerSample* out, QString* error)
{
    if (json.value(u"format"_s).toString() != QString::fromLatin1(kSampleFormat)) {
        *error = u"not an %1 document"_s.arg(QString::fromLatin1(kSampleFormat));
        return false;
    }
    const int version = json.value(u"version"_s).toInt();
    if (version < 1 || version > kSampleFormatVersion) {
        *error = u"%1 version %2 is not supported (this build reads version 1 to %3)"_s.arg(
            QString::fromLatin1(kSampleFormat)).arg(version).arg(kSampleFormatVersion);
        return false;
    }
    ServerSample s;
    s.sampledAt = timeFrom(json.value(u"sampledAt"_s));
    const QJsonObject a = json.value(u"activity"_s).toObject();
    ActivitySample& act = s.activity;
    act.sampledAt = s.sampledAt;
    act.elapsedSeconds = a.value(u"elapsedSeconds"_s).toDouble();
    act.hasRates = a.value(u"hasRates"_s).toBool();
    act.commitsPerSecond = a.value(u"commitsPerSecond"_s).toDouble();
    act.rollbacksPerSecond = a.value(u"rollbacksPerSecond"_s).toDouble();
    act.xactCommit = i64(a, u"xactCommit"_s);
    act.xactRollback = i64(a, u"xactRollback"_s);
    const QJsonObject sessions = a.value(u"sessions"_s).toObject();
    act.active = sessions.value(u"active"_s).toInt();
    act.idle = sessions.value(u"idle"_s).toInt();
    act.idleInTransaction = sessions.value(u"idleInTransaction"_s).toInt();
    act.idleInTransactionAborted = sessions.value(u"idleInTransactionAborted"_s).toInt();
    act.otherState = sessions.value(u"other"_s).toInt();
    act.waitingOnLock = a.value(u"waitingOnLock"_s).toInt();
    const QJsonObject waits = a.value(u"waitEvents"_s).toObject();
    for (auto it = waits.begin(); it != waits.end(); ++it)
        act.waitEvents.insert(it.key(), it.value().toInt());
    act.tuplesReadPerSecond = a.value(u"tuplesReadPerSecond"_s).toDouble();
    act.tuplesWrittenPerSecond = a.value(u"tuplesWrittenPerSecond"_s).toDouble();
    act.walBytesPerSecond = a.value(u"walBytesPerSecond"_s).toDouble();
    act.cacheHitRatio = a.value(u"cacheHitRatio"_s).toDouble(-1);
    act.tempFilesPerSecond = a.value(u"tempFilesPerSecond"_s).toDouble();
    act.tempBytesPerSecond = a.value(u"tempBytesPerSecond"_s).toDouble();
    act.ownCommits = i64(a, u"ownCommits"_s);
    const QJsonObject counters = a.value(u"counters"_s).toObject();
    act.blocksHit = i64(counters, u"blocksHit"_s);
    act.blocksRead = i64(counters, u"blocksRead"_s);
    act.tuplesRead = i64(counters, u"tuplesRead"_s);
    act.tuplesWritten = i64(counters, u"tuplesWritten"_s);
    act.tempFiles = i64(counters, u"tempFiles"_s);
    act.tempBytes = i64(counters, u"tempBytes"_s);
    act.walPosition = i64(counters, u"walPosition"_s);
    const QJsonObject aw = a.value(u"window"_s).toObject();
    act.windowSeconds = aw.value(u"seconds"_s).toDouble();
    act.commitsPerSecondWindow = aw.value(u"commitsPerSecond"_s).toDouble();
    act.rollbacksPerSecondWindow = aw.value(u"rollbacksPerSecond"_s).toDouble();
    s.gapBefore = json.value(u"gapBefore"_s).toBool();
    for (const QJsonValue& v : json.value(u"health"_s).toArray()) {
        const QJsonObject o = v.toObject();
        ClassHealth h;
        const QString cls = o.value(u"class"_s).toString();
        h.workloadClass = cls == u"oltp"_s ? WorkloadClass::Oltp : cls == u"olap"_s ? WorkloadClass::Olap : WorkloadClass::Other;
        h.target = o.value(u"targetSeconds"_s).toDouble(-1);
        h.worst = o.value(u"worstSeconds"_s).toDouble();
        h.measure = o.value(u"measure"_s).toString();
        h.missed = o.value(u"missed"_s).toBool();
        h.reason = o.value(u"reason"_s).toString();
        h.pid = o.value(u"pid"_s).toInt();
        s.health.append(h);
    }
    if (json.contains(u"viewsHealth"_s)) {
        const QJsonObject o = json.value(u"viewsHealth"_s).toObject();
        ViewsHealth v;
        v.views = o.value(u"views"_s).toInt();
        v.withTarget = o.value(u"withTarget"_s).toInt();
        v.late = o.value(u"late"_s).toInt();
        v.worstView = o.value(u"worstView"_s).toString();
        v.worstAge = o.value(u"worstAgeSeconds"_s).toDouble(-1);
        v.worstTarget = o.value(u"worstTargetSeconds"_s).toDouble(-1);
        v.targetFrom = o.value(u"targetFrom"_s).toString();
        s.viewsHealth = v;
    }
    for (const QJsonValue& v : json.value(u"incidents"_s).toArray())
        s.incidents.append(Incident::fromJson(v.toObject()));
    if (json.contains(u"sessions"_s)) {
        const QJsonObject so = json.value(u"sessions"_s).toObject();
        s.sessions.monitorBackends = so.value(u"monitorBackends"_s).toInt();
        for (const QJsonValue& v : so.value(u"classes"_s).toArray()) {
            const QJsonObject o = v.toObject();
            ClassSessions c;
            const QString cls = o.value(u"class"_s).toString();
            c.workloadClass = cls == u"oltp"_s ? WorkloadClass::Oltp : cls == u"olap"_s ? WorkloadClass::Olap : WorkloadClass::Other;
            c.sessions = o.value(u"sessions"_s).toInt();
            c.active = o.value(u"active"_s).toInt();
            c.idleInTransaction = o.value(u"idleInTransaction"_s).toInt();
            c.waitingOnLock = o.value(u"waitingOnLock"_s).toInt();
            c.oldestStatement = sessionRefFrom(o.value(u"oldestStatement"_s));
            c.oldestTransaction = sessionRefFrom(o.value(u"oldestTransaction"_s));
            c.longestLockWait = sessionRefFrom(o.value(u"longestLockWait"_s));
            for (const QJsonValue& b : o.value(u"blockers"_s).toArray())
                c.blockers.append({b.toObject().value(u"pid"_s).toInt(), b.toObject().value(u"waiting"_s).toInt()});
            s.sessions.classes.append(c);
        }
    }

    if (json.contains(u"latency"_s)) {
        const QJsonObject l = json.value(u"latency"_s).toObject();
        LatencySample lat;
        lat.hasDeltas = l.value(u"hasDeltas"_s).toBool();
        lat.baselineReason = l.value(u"baselineReason"_s).toString();
        for (const QJsonValue& v : l.value(u"roles"_s).toArray())
            lat.roles.append(latencyFiguresFrom(v.toObject()));
        for (const QJsonValue& v : l.value(u"classes"_s).toArray())
            lat.classes.append(latencyFiguresFrom(v.toObject()));
        s.latency = lat;
    }
    if (json.contains(u"locks"_s)) {
        const QJsonObject l = json.value(u"locks"_s).toObject();
        LockSample locks;
        locks.waitingSessions = l.value(u"waitingSessions"_s).toInt();
        const QJsonObject byType = l.value(u"waitingByLockType"_s).toObject();
        for (auto it = byType.begin(); it != byType.end(); ++it)
            locks.waitingByLockType.insert(it.key(), it.value().toInt());
        for (const QJsonValue& v : l.value(u"roots"_s).toArray())
            locks.roots.append(v.toObject().value(u"pid"_s).toInt());
        for (const QJsonValue& v : l.value(u"nodes"_s).toArray()) {
            const QJsonObject o = v.toObject();
            LockNode n;
            n.pid = o.value(u"pid"_s).toInt();
            n.role = o.value(u"role"_s).toString();
            n.application = o.value(u"application"_s).toString();
            n.database = o.value(u"database"_s).toString();
            n.state = o.value(u"state"_s).toString();
            n.wait = o.value(u"wait"_s).toString();
            n.lockType = o.value(u"lockType"_s).toString();
            n.lockMode = o.value(u"lockMode"_s).toString();
            n.lockTarget = o.value(u"lockTarget"_s).toString();
            n.waitSeconds = o.value(u"waitSeconds"_s).toDouble();
            n.transactionSeconds = o.value(u"transactionSeconds"_s).toDouble();
            n.query = htap::pg::maskStatement(o.value(u"query"_s).toString()); // a history of an older build

            for (const QJsonValue& b : o.value(u"blockedBy"_s).toArray())
                n.blockedBy.append(b.toInt());
            for (const QJsonValue& p : o.value(u"preparedTransactions"_s).toArray()) {
                const QJsonObject po = p.toObject();
                n.preparedTransactions.append({po.value(u"gid"_s).toString(), po.value(u"owner"_s).toString(),
                    po.value(u"database"_s).toString(), po.value(u"ageSeconds"_s).toDouble()});
            }
            locks.nodes.append(n);
        }
        s.locks = locks;
    }
    if (json.contains(u"vacuum"_s)) {
        const QJsonObject v = json.value(u"vacuum"_s).toObject();
        VacuumSample vac;
        vac.horizonAge = i64(v, u"horizonAge"_s);
        for (const QJsonValue& x : v.value(u"tables"_s).toArray()) {
            const QJsonObject o = x.toObject();
            TableVacuum t;
            t.table = o.value(u"table"_s).toString();
            t.liveTuples = i64(o, u"liveTuples"_s);
            t.deadTuples = i64(o, u"deadTuples"_s);
            t.deadTrigger = i64(o, u"deadTrigger"_s);
            t.pctOfTrigger = o.value(u"pctOfTrigger"_s).toDouble();
            t.insertsSinceVacuum = i64(o, u"insertsSinceVacuum"_s);
            t.xidAge = i64(o, u"xidAge"_s);
            t.pctOfFreezeMaxAge = o.value(u"pctOfFreezeMaxAge"_s).toDouble();
            t.lastVacuum = timeFrom(o.value(u"lastVacuum"_s));
            t.lastAnalyze = timeFrom(o.value(u"lastAnalyze"_s));
            t.autovacuumEnabled = o.value(u"autovacuumEnabled"_s).toBool(true);
            vac.tables.append(t);
        }
        for (const QJsonValue& x : v.value(u"xminHolders"_s).toArray()) {
            const QJsonObject o = x.toObject();
            XminHolder h;
            h.kind = o.value(u"kind"_s).toString();
            h.holder = o.value(u"holder"_s).toString();
            h.database = o.value(u"database"_s).toString();
            h.role = o.value(u"role"_s).toString();
            h.application = o.value(u"application"_s).toString();
            h.state = o.value(u"state"_s).toString();
            h.xidAge = i64(o, u"xidAge"_s);
            h.heldSeconds = o.value(u"heldSeconds"_s).toDouble();
            h.detail = o.value(u"detail"_s).toString();
            if (const qsizetype colon = h.detail.indexOf(u": "_s); h.kind == u"backend"_s && colon >= 0)
                h.detail = h.detail.left(colon + 2) + htap::pg::maskStatement(h.detail.mid(colon + 2));
            h.pid = o.value(u"pid"_s).toInt();
            vac.holders.append(h);
        }
        for (const QJsonValue& x : v.value(u"running"_s).toArray()) {
            const QJsonObject o = x.toObject();
            vac.running.append({o.value(u"pid"_s).toInt(), o.value(u"table"_s).toString(), o.value(u"phase"_s).toString(),
                o.value(u"autovacuum"_s).toBool(), o.value(u"pctScanned"_s).toDouble(), o.value(u"runningSeconds"_s).toDouble()});
        }
        for (const QJsonValue& x : v.value(u"databases"_s).toArray()) {
            const QJsonObject o = x.toObject();
            vac.databases.append({o.value(u"database"_s).toString(), i64(o, u"xidAge"_s),
                o.value(u"pctToWraparound"_s).toDouble(), o.value(u"pctToForcedAutovacuum"_s).toDouble()});
        }
        s.vacuum = vac;
    }
    if (json.contains(u"views"_s)) {
        const QJsonObject v = json.value(u"views"_s).toObject();
        ViewSample views;
        views.registryInstalled = v.value(u"registryInstalled"_s).toBool();
        for (const QJsonValue& x : v.value(u"views"_s).toArray()) {
            const QJsonObject o = x.toObject();
            ViewState st;
            st.view = o.value(u"view"_s).toString();
            st.populated = o.value(u"populated"_s).toBool();
            st.concurrentCapable = o.value(u"concurrentCapable"_s).toBool();
            st.totalBytes = i64(o, u"totalBytes"_s);
            st.baseTables = o.value(u"baseTables"_s).toString();
            st.refreshingPid = o.value(u"refreshingPid"_s).toInt();
            st.lastRefreshStart = timeFrom(o.value(u"lastRefreshStart"_s));
            st.lastRefreshEnd = timeFrom(o.value(u"lastRefreshEnd"_s));
            st.registryKnown = st.lastRefreshStart.isValid();
            st.lastMode = o.value(u"lastMode"_s).toString();
            st.lastDurationSeconds = o.value(u"lastDurationSeconds"_s).toDouble();
            st.stalenessSeconds = o.value(u"stalenessSeconds"_s).toDouble(-1);
            st.concurrentBlocker = o.value(u"concurrentBlocker"_s).toString();
            st.incremental = o.value(u"incremental"_s).toBool();
            st.ivmState = o.value(u"ivmState"_s).toString();
            st.ivmReason = o.value(u"ivmReason"_s).toString();
            st.pendingRows = i64(o, u"pendingRows"_s);
            st.oldestPendingSeconds = o.value(u"oldestPendingSeconds"_s).toDouble();
            st.lastMergeMs = o.value(u"lastMergeMs"_s).toDouble();
            st.engineOutdated = o.value(u"engineOutdated"_s).toBool();
            st.scheduleSeconds = o.value(u"scheduleSeconds"_s).toInt();
            st.scheduleRunner = o.value(u"scheduleRunner"_s).toString();
            views.views.append(st);
        }
        s.views = views;
    }
    if (json.contains(u"replication"_s)) {
        const QJsonObject r = json.value(u"replication"_s).toObject();
        ReplicationSample rep;
        rep.inRecovery = r.value(u"inRecovery"_s).toBool();
        for (const QJsonValue& x : r.value(u"standbys"_s).toArray()) {
            const QJsonObject o = x.toObject();
            rep.standbys.append({o.value(u"name"_s).toString(), o.value(u"state"_s).toString(),
                o.value(u"writeLagSeconds"_s).toDouble(), o.value(u"flushLagSeconds"_s).toDouble(),
                o.value(u"replayLagSeconds"_s).toDouble(), i64(o, u"replayLagBytes"_s)});
        }
        for (const QJsonValue& x : r.value(u"slots"_s).toArray()) {
            const QJsonObject o = x.toObject();
            rep.replicationSlots.append({o.value(u"name"_s).toString(), o.value(u"type"_s).toString(),
                o.value(u"active"_s).toBool(), i64(o, u"retainedWalBytes"_s)});
        }
        if (r.contains(u"receiver"_s)) {
            const QJsonObject o = r.value(u"receiver"_s).toObject();
            WalReceiver w;
            w.status = o.value(u"status"_s).toString();
            w.senderHost = o.value(u"senderHost"_s).toString();
            w.senderPort = o.value(u"senderPort"_s).toInt();
            w.slot = o.value(u"slot"_s).toString();
            w.sinceMessageSeconds = o.value(u"sinceMessageSeconds"_s).toDouble(-1);
            w.replayAgeSeconds = o.value(u"replayAgeSeconds"_s).toDouble(-1);
            w.replayGapBytes = i64(o, u"replayGapBytes"_s);
            rep.receiver = w;
        }
        rep.heartbeatAgeSeconds = r.value(u"heartbeatAgeSeconds"_s).toDouble(-1);
        rep.heartbeatWriter = r.value(u"heartbeatWriter"_s).toString();
        if (r.contains(u"conflicts"_s)) {
            const QJsonObject o = r.value(u"conflicts"_s).toObject();
            RecoveryConflicts k;
            k.snapshot = i64(o, u"snapshot"_s);
            k.lock = i64(o, u"lock"_s);
            k.bufferpin = i64(o, u"bufferpin"_s);
            k.deadlock = i64(o, u"deadlock"_s);
            k.tablespace = i64(o, u"tablespace"_s);
            rep.conflicts = k;
        }
        for (const QJsonValue& x : r.value(u"cancelled"_s).toArray()) {
            const QJsonObject o = x.toObject();
            CancelledStatement c;
            c.at = QDateTime::fromString(o.value(u"at"_s).toString(), Qt::ISODateWithMs);
            c.pid = o.value(u"pid"_s).toInt();
            c.role = o.value(u"role"_s).toString();
            c.database = o.value(u"database"_s).toString();
            c.terminated = o.value(u"terminated"_s).toBool();
            c.detail = o.value(u"detail"_s).toString();
            c.statement = o.value(u"statement"_s).toString();
            rep.cancelled.append(c);
        }
        rep.cancelledUnavailable = r.value(u"cancelledUnavailable"_s).toString();
        s.replication = rep;
    }
    if (json.contains(u"waits"_s)) {
        const QJsonObject w = json.value(u"waits"_s).toObject();
        WaitProfileSample waits;
        waits.hasDeltas = w.value(u"hasDeltas"_s).toBool();
        waits.baselineReason = w.value(u"baselineReason"_s).toString();
        waits.windowSeconds = w.value(u"windowSeconds"_s).toDouble();
        waits.samplePeriodMs = w.value(u"samplePeriodMs"_s).toDouble();
        for (const QJsonValue& x : w.value(u"classes"_s).toArray()) {
            const QJsonObject o = x.toObject();
            ClassWaits c;
            c.workloadClass = classFrom(o.value(u"class"_s).toString());
            c.totalSeconds = o.value(u"totalSeconds"_s).toDouble();
            const QJsonObject byType = o.value(u"secondsByType"_s).toObject();
            for (auto it = byType.begin(); it != byType.end(); ++it)
                c.secondsByType.insert(it.key(), it.value().toDouble());
            for (const QJsonValue& e : o.value(u"topEvents"_s).toArray()) {
                const QJsonObject eo = e.toObject();
                c.topEvents.append({eo.value(u"type"_s).toString(), eo.value(u"event"_s).toString(), i64(eo, u"samples"_s),
                    eo.value(u"seconds"_s).toDouble()});
            }
            waits.classes.append(c);
        }
        s.waits = waits;
    }
    if (json.contains(u"cpu"_s)) {
        const QJsonObject o = json.value(u"cpu"_s).toObject();
        CpuSample cpu;
        cpu.hasDeltas = o.value(u"hasDeltas"_s).toBool();
        cpu.baselineReason = o.value(u"baselineReason"_s).toString();
        cpu.windowSeconds = o.value(u"windowSeconds"_s).toDouble();
        for (const QJsonValue& x : o.value(u"classes"_s).toArray()) {
            const QJsonObject c = x.toObject();
            cpu.classes.append({classFrom(c.value(u"class"_s).toString()), c.value(u"userSeconds"_s).toDouble(),
                c.value(u"systemSeconds"_s).toDouble(), c.value(u"cpuPerSecond"_s).toDouble()});
        }
        s.cpu = cpu;
    }
    if (json.contains(u"topStatements"_s)) {
        const QJsonObject o = json.value(u"topStatements"_s).toObject();
        TopStatementsSample top;
        top.hasDeltas = o.value(u"hasDeltas"_s).toBool();
        top.baselineReason = o.value(u"baselineReason"_s).toString();
        top.windowSeconds = o.value(u"windowSeconds"_s).toDouble();
        for (const QJsonValue& x : o.value(u"statements"_s).toArray()) {
            const QJsonObject so = x.toObject();
            TopStatement st;
            st.workloadClass = classFrom(so.value(u"class"_s).toString());
            st.queryId = so.value(u"queryId"_s).toString();
            st.role = so.value(u"role"_s).toString();
            st.database = so.value(u"database"_s).toString();
            st.calls = i64(so, u"calls"_s);
            st.totalExecMs = so.value(u"totalExecMs"_s).toDouble();
            st.meanExecMs = so.value(u"meanExecMs"_s).toDouble();
            st.rows = i64(so, u"rows"_s);
            st.shareOfClass = so.value(u"shareOfClass"_s).toDouble();
            st.query = htap::pg::maskStatement(so.value(u"query"_s).toString()); // a file edited or older: mask again
            top.statements.append(st);
        }
        s.topStatements = top;
    }
    const QJsonObject unavailable = json.value(u"unavailable"_s).toObject();
    for (auto it = unavailable.begin(); it != unavailable.end(); ++it)
        s.unavailable.insert(it.key(), it.value().toString());
    *out = s;
    return true;
}

} // namespace htap::monitor
