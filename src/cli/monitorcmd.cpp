// htapctl monitor: every probe the GUI shows, as text or JSON, optionally into the history, and
// with --listen the latest sample for Prometheus.
#include "common.h"
#include "interrupt.h"
#include "metricsendpoint.h"

#include <core/privatefile.h>

#include <core/format.h>
#include <monitor/activitycollector.h>
#include <monitor/incidents.h>
#include <monitor/prometheusformat.h>
#include <monitor/samplejson.h>
#include <store/historystore.h>

#include <QEventLoop>
#include <QFile>
#include <QSettings>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTimer>

#include <algorithm>
#include <memory>

namespace htap::cli {

using namespace Qt::StringLiterals;
using htap::pg::ConnInfo;
using htap::pg::PgError;

namespace {

/// A short text rendering of a sample for a terminal.
void printSample(const htap::monitor::ServerSample& s)
{
    using namespace htap::monitor;
    const ActivitySample& a = s.activity;
    for (const ClassHealth& h : s.health)
        out() << "health:     " << qSetFieldWidth(6) << Qt::left << toString(h.workloadClass) << qSetFieldWidth(0)
              << (h.missed ? "TARGET MISSED: " : h.target > 0 ? "ok: " : "") << h.reason
              << (h.target > 0 ? u" (target %1)"_s.arg(htap::core::formatSeconds(h.target)) : QString()) << Qt::endl;
    for (const Incident& i : s.incidents)
        out() << "incident:   " << i.title << " since " << i.start.toLocalTime().toString(u"HH:mm:ss"_s) << ": " << i.detail
              << Qt::endl;
    if (a.hasRates)
        out() << "activity:   " << QString::number(a.commitsPerSecondWindow, 'f', 1) << " commits/s over the last "
              << QString::number(a.windowSeconds, 'f', 0) << " s (the monitor's own left out), "
              << QString::number(a.rollbacksPerSecondWindow, 'f', 1) << " rollbacks/s, " << a.active << " active, "
              << a.idleInTransaction << " idle in transaction, " << a.waitingOnLock << " waiting on a lock" << Qt::endl;
    if (s.latency && s.latency->hasDeltas) {
        for (const LatencyFigures& f : s.latency->classes)
            out() << "latency:    " << qSetFieldWidth(6) << Qt::left << f.name << qSetFieldWidth(0)
                  << (f.windowCalls > 0 ? u"mean %1 ms over the last %2 s, %3 statements"_s.arg(
                                              QString::number(f.windowMeanExecMs, 'f', 3), QString::number(f.windowSeconds, 'f', 0),
                                              htap::core::formatCount(f.windowCalls))
                                        : u"no statement finished in the last %1 s"_s.arg(QString::number(f.windowSeconds, 'f', 0)))
                  << "; " << f.activeNow << " running (oldest " << QString::number(f.oldestActiveSeconds, 'f', 1) << " s)"
                  << Qt::endl;
    }
    if (s.locks) {
        out() << "locks:      " << s.locks->waitingSessions << " waiting";
        for (int root : s.locks->roots)
            out() << "; root " << (root == 0 ? u"[prepared xact]"_s : QString::number(root)) << " blocks "
                  << s.locks->totalWaitersUnder(root);
        out() << Qt::endl;
    }
    if (s.vacuum) {
        out() << "horizon:    xid age " << s.vacuum->horizonAge;
        if (!s.vacuum->holders.isEmpty()) {
            const XminHolder& h = s.vacuum->holders.first();
            out() << ", oldest holder " << h.kind << " " << h.holder << " (" << h.state << ", "
                  << QString::number(h.heldSeconds, 'f', 0) << " s)";
        }
        out() << Qt::endl;
        for (int i = 0; i < std::min<qsizetype>(5, s.vacuum->tables.size()); ++i) {
            const TableVacuum& t = s.vacuum->tables[i];
            out() << "vacuum:     " << t.table << ": " << t.deadTuples << " dead, "
                  << QString::number(t.pctOfTrigger, 'f', 1) << "% of its autovacuum trigger" << Qt::endl;
        }
    }
    if (s.replication) {
        const auto& r = *s.replication;
        const QString age = r.heartbeatAgeSeconds >= 0 ? htap::core::formatSeconds(r.heartbeatAgeSeconds) : u"unknown"_s;
        if (!r.inRecovery) {
            for (const auto& l : r.standbys)
                out() << "standby:    " << l.name << " " << l.state << ", replay lag "
                      << htap::core::formatSeconds(l.replayLagSeconds) << " (" << l.replayLagBytes << " bytes behind)" << Qt::endl;
            for (const auto& sl : r.replicationSlots)
                out() << "slot:       " << sl.name << " (" << sl.type << (sl.active ? ", in use" : ", NOT in use") << ") keeps "
                      << sl.retainedWalBytes << " bytes of WAL" << Qt::endl;
            out() << "heartbeat:  " << age << " old"
                  << (r.heartbeatWriter.isEmpty() ? u", written by this monitor"_s : u"; not written: "_s + r.heartbeatWriter)
                  << Qt::endl;
        } else {
            out() << "standby of: ";
            if (r.receiver)
                out() << r.receiver->senderHost << ":" << r.receiver->senderPort << " (" << r.receiver->status << ", "
                      << r.receiver->replayGapBytes << " bytes not replayed)";
            else
                out() << "no WAL receiver";
            out() << "; readers see data " << age << " old";
            if (r.heartbeatAgeSeconds > 5 && r.receiver && r.receiver->replayGapBytes == 0)
                out() << " at most (all received is replayed: nobody writes the primary's heartbeat)";
            out() << Qt::endl;
            if (r.conflicts)
                out() << "conflicts:  " << r.conflicts->total() << " (snapshot " << r.conflicts->snapshot << ", lock "
                      << r.conflicts->lock << ", buffer pin " << r.conflicts->bufferpin << ", deadlock " << r.conflicts->deadlock
                      << ", tablespace " << r.conflicts->tablespace << ")"
                      << (r.cancelledUnavailable.isEmpty() ? QString() : u"; "_s + r.cancelledUnavailable) << Qt::endl;
            for (const auto& c : r.cancelled)
                out() << "cancelled:  " << c.at.toUTC().toString(Qt::ISODateWithMs) << " " << c.role << "@" << c.database
                      << (c.terminated ? " session ended: " : " statement cancelled: ") << c.statement << Qt::endl;
        }
    }
    if (s.views)
        for (const ViewState& v : s.views->views)
            out() << "view:       " << v.view << (v.populated ? "" : " (not populated)") << ", staleness "
                  << (v.stalenessSeconds >= 0 ? QString::number(v.stalenessSeconds, 'f', 0) + u" s"_s
                                              : u"unknown (no refresh in the registry)"_s)
                  << Qt::endl;
    if (s.waits && s.waits->hasDeltas)
        for (const ClassWaits& c : s.waits->classes) {
            QStringList events;
            for (const WaitEventFigure& e : c.topEvents.mid(0, 3))
                events << u"%1 %2"_s.arg(e.type == u"CPU"_s ? e.type : e.type + u':' + e.event, htap::core::formatSeconds(e.seconds));
            out() << "waits:      " << qSetFieldWidth(6) << Qt::left << toString(c.workloadClass) << qSetFieldWidth(0)
                  << htap::core::formatNumber(c.totalSeconds / s.waits->windowSeconds) << " sessions waiting on average over the last "
                  << htap::core::formatDuration(s.waits->windowSeconds) << (events.isEmpty() ? QString() : u": "_s + events.join(u", "_s))
                  << Qt::endl;
        }
    if (s.cpu && s.cpu->hasDeltas)
        for (const ClassCpu& c : s.cpu->classes)
            out() << "cpu:        " << qSetFieldWidth(6) << Qt::left << toString(c.workloadClass) << qSetFieldWidth(0)
                  << htap::core::formatNumber(c.cpuPerSecond) << " CPU seconds per second (statements that finished in the last "
                  << htap::core::formatDuration(s.cpu->windowSeconds) << ")" << Qt::endl;
    if (s.topStatements && s.topStatements->hasDeltas) {
        // The first of each class: the full lists are in the JSON (--json) and on the Latency page.
        WorkloadClass last = WorkloadClass::Other;
        bool any = false;
        for (const TopStatement& t : s.topStatements->statements) {
            if (any && t.workloadClass == last)
                continue;
            any = true;
            last = t.workloadClass;
            out() << "top:        " << qSetFieldWidth(6) << Qt::left << toString(t.workloadClass) << qSetFieldWidth(0)
                  << htap::core::formatSeconds(t.totalExecMs / 1000) << " in " << htap::core::formatCount(t.calls) << " calls ("
                  << t.role << "): " << t.query.simplified().left(100) << Qt::endl;
        }
    }
    for (auto it = s.unavailable.cbegin(); it != s.unavailable.cend(); ++it)
        out() << "unavailable: " << it.value() << Qt::endl;
}

} // namespace

int cmdMonitor(const QStringList& args)
{
    using namespace htap::monitor;
    QCommandLineParser parser;
    const QCommandLineOption once(u"once"_s, u"Print one complete sample (after a one-interval baseline) and exit"_s);
    const QCommandLineOption interval(u"interval"_s, u"Seconds between samples (default 1)"_s, u"s"_s);
    const QCommandLineOption duration(u"duration"_s, u"Stop after this many seconds (default: until Ctrl-C)"_s, u"s"_s);
    const QCommandLineOption outFile(u"out"_s, u"Append samples to this file, one JSON document a line"_s, u"file.jsonl"_s);
    const QCommandLineOption oltpRoles(u"oltp-roles"_s, u"Roles whose statements are OLTP (default oltp_user; * and ? match)"_s, u"list"_s);
    const QCommandLineOption olapRoles(u"olap-roles"_s, u"Roles whose statements are OLAP (default olap_user)"_s, u"list"_s);
    const QCommandLineOption history(u"history"_s,
        u"Also keep every sample in the history file (as the GUI does), for snapshot export; default file: %1"_s.arg(
            htap::store::HistoryStore::defaultPath()),
        u"file"_s);
    const QCommandLineOption keepHistory(u"keep-history"_s, u"Keep every sample in the default history file"_s);
    const QCommandLineOption listen(u"listen"_s,
        u"Serve the latest sample to Prometheus at http://ADDRESS:PORT/metrics (a port alone: 127.0.0.1; port 0: any "
        "free one). No authentication: give a non-loopback address only on a network you trust"_s,
        u"address:port"_s);
    parser.addOptions({connOption, once, interval, duration, outFile, jsonOption, oltpRoles, olapRoles, history, keepHistory, listen});
    int code = ExitOk;
    if (!parseOptions(parser, args, u"Sample everything the GUI shows, as text or JSON."_s, &code))
        return code;
    ConnInfo info;
    double intervalValue = 1, durationValue = 0;
    if (!parseConn(parser, &info, &code) || !parseNumber(parser, interval, 0.1, 3600, &intervalValue, &code)
        || !parseNumber(parser, duration, 0, 86400 * 30, &durationValue, &code))
        return code;
    const bool json = parser.isSet(jsonOption) || parser.isSet(outFile);
    ListenAddress listenAt;
    if (parser.isSet(listen)) {
        QString error;
        if (parser.isSet(once))
            return fail(u"--listen serves until stopped; it does not go with --once"_s, ExitUsage);
        if (!parseListenAddress(parser.value(listen), &listenAt, &error))
            return fail(error, ExitUsage);
    }

    // Before anything is opened, sampled or written: a taken port ends the command here.
    PrometheusExposition exposition;
    exposition.setServer(info.displayName(), {});
    std::unique_ptr<MetricsEndpoint> metrics;
    if (parser.isSet(listen)) {
        metrics = std::make_unique<MetricsEndpoint>([&exposition] { return exposition.text(); });
        QString error;
        if (!metrics->listen(listenAt, &error))
            return fail(error);
        const QString host = listenAt.address.protocol() == QAbstractSocket::IPv6Protocol
            ? u"["_s + listenAt.address.toString() + u"]"_s
            : listenAt.address.toString();
        err() << "htapctl: serving metrics at http://" << host << ':' << metrics->port() << "/metrics"
              << (listenAt.address.isLoopback() ? "" : " to the network, without authentication") << Qt::endl;
    }

    QFile file;
    if (parser.isSet(outFile)) {
        file.setFileName(parser.value(outFile));
        QString error;
        if (!htap::core::openPrivateForAppend(file, &error)) // samples hold other sessions' statements
            return fail(error);
    }

    std::unique_ptr<htap::store::HistoryStore> store;
    if (parser.isSet(history) || parser.isSet(keepHistory)) {
        store = std::make_unique<htap::store::HistoryStore>();
        QEventLoop opening;
        QString historyError;
        QObject::connect(store.get(), &htap::store::HistoryStore::opened, &opening, &QEventLoop::quit);
        QObject::connect(store.get(), &htap::store::HistoryStore::failed, &opening, [&](const QString& m) {
            historyError = m;
            opening.quit();
        });
        store->open(parser.isSet(history) ? parser.value(history) : htap::store::HistoryStore::defaultPath());
        opening.exec();
        if (!historyError.isEmpty())
            return fail(historyError);
    }

    ActivityCollector collector;
    collector.setInterval(int(intervalValue * 1000));
    if (parser.isSet(once))
        collector.setSlowEvery(1);
    WorkloadClassifier classifier;
    if (parser.isSet(oltpRoles))
        classifier.oltpRoles = parser.value(oltpRoles).split(u',', Qt::SkipEmptyParts);
    if (parser.isSet(olapRoles))
        classifier.olapRoles = parser.value(olapRoles).split(u',', Qt::SkipEmptyParts);
    collector.setClassifier(classifier);
    QEventLoop loop;
    QString endpoint;
    int samples = 0;
    reportCollectorTrouble(collector, loop, code);
    QObject::connect(&collector, &ActivityCollector::connected, &loop, [&](const ServerInfo& s) {
        endpoint = s.endpoint;
        exposition.setServer(s.endpoint, s.version);
    });
    // Health and incidents against the targets the GUI keeps (Monitor > Targets…).
    IncidentDetector detector([] {
        QSettings settings;
        return Targets::load(settings);
    }());
    QObject::connect(&collector, &ActivityCollector::stateChanged, &loop, [&](ConnectionState state, const QString&) {
        exposition.setUp(state == ConnectionState::Connected);
        const QList<Incident> changed = state == ConnectionState::NotResponding
            ? detector.serverSilent(QDateTime::currentDateTimeUtc(), endpoint)
            : state == ConnectionState::Connected ? detector.serverBack(QDateTime::currentDateTimeUtc())
                                                  : QList<Incident>();
        // Kept as the GUI keeps them: a snapshot of this history tells what happened.
        if (store)
            for (const Incident& i : changed)
                store->recordIncident(endpoint, i.toJson());
    });
    QObject::connect(&collector, &ActivityCollector::sampleAvailable, &loop, [&](const ServerSample& sampled) {
        ServerSample s = sampled;
        const QList<Incident> changed = detector.evaluate(s);
        ++samples;
        exposition.addSample(s);
        if (store) {
            store->append(endpoint, s.sampledAt, toJson(s, endpoint));
            for (const Incident& i : changed)
                store->recordIncident(endpoint, i.toJson());
        }
        if (parser.isSet(once) && samples < 2)
            return; // the first sample is the baseline for rates and deltas
        if (json) {
            const QByteArray line = QJsonDocument(toJson(s, endpoint))
                                        .toJson(parser.isSet(once) && !file.isOpen() ? QJsonDocument::Indented
                                                                                      : QJsonDocument::Compact);
            if (file.isOpen()) {
                file.write(line.trimmed() + '\n');
                file.flush();
            } else {
                out() << QString::fromUtf8(line.trimmed()) << Qt::endl;
            }
        } else {
            if (!parser.isSet(once))
                out() << "--- " << s.sampledAt.toLocalTime().toString(u"HH:mm:ss"_s) << Qt::endl;
            printSample(s);
        }
        if (parser.isSet(once))
            loop.quit();
    });
    if (durationValue > 0)
        QTimer::singleShot(int(durationValue * 1000), &loop, &QEventLoop::quit);
    stopOnInterrupt(&loop, [&] { loop.quit(); });
    collector.connectTo(info);
    loop.exec();
    if (store) { // what is queued goes to the file before we exit
        QEventLoop flushing;
        QObject::connect(store.get(), &htap::store::HistoryStore::flushed, &flushing, &QEventLoop::quit);
        store->flush();
        flushing.exec();
    }
    if (file.isOpen() && file.error() != QFileDevice::NoError)
        return fail(u"writing %1 failed: %2"_s.arg(file.fileName(), file.errorString()));
    return code;
}

} // namespace htap::cli
