#include "samplejson.h"

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
        {u"oldestActiveSeconds"_s, f.oldestActiveSeconds}};
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
        {u"tempFilesPerSecond"_s, a.tempFilesPerSecond}, {u"tempBytesPerSecond"_s, a.tempBytesPerSecond}};
    o.insert(u"activity"_s, activity);

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
                {u"stalenessSeconds"_s, v.stalenessSeconds >= 0 ? QJsonValue(v.stalenessSeconds) : QJsonValue()}});
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
        o.insert(u"replication"_s, QJsonObject {{u"inRecovery"_s, s.replication->inRecovery},
                                       {u"standbys"_s, standbys}, {u"slots"_s, slotArray}});
    }
    QJsonObject unavailable;
    for (auto it = s.unavailable.cbegin(); it != s.unavailable.cend(); ++it)
        unavailable.insert(it.key(), it.value());
    o.insert(u"unavailable"_s, unavailable);
    return o;
}

} // namespace htap::monitor
