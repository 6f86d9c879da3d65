// htapctl watch: server activity every interval, as text or JSON lines.
#include "common.h"

#include <monitor/activitycollector.h>

#include <QEventLoop>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTimer>

namespace htap::cli {

using namespace Qt::StringLiterals;
using htap::pg::ConnInfo;
using htap::pg::PgError;

/// Prints activity samples until `seconds` have passed (0: until interrupted).
int watchActivity(const ConnInfo& info, double seconds, int intervalMs, bool json)
{
    using namespace htap::monitor;
    ActivityCollector collector;
    collector.setInterval(intervalMs);
    QEventLoop loop;
    int code = ExitOk;
    int lines = 0;
    reportCollectorTrouble(collector, loop, code);
    QObject::connect(&collector, &ActivityCollector::connected, &loop, [&](const ServerInfo& s) {
        if (!json)
            err() << "watching " << s.endpoint << " (PostgreSQL " << s.version << ")" << Qt::endl;
    });
    QObject::connect(&collector, &ActivityCollector::activityAvailable, &loop, [&](const ActivitySample& s) {
        if (!s.hasRates)
            return; // the first sample is only a baseline
        if (json) {
            const QJsonObject o {{u"time"_s, s.sampledAt.toString(Qt::ISODateWithMs)},
                {u"commitsPerSecond"_s, s.commitsPerSecond}, {u"rollbacksPerSecond"_s, s.rollbacksPerSecond},
                {u"active"_s, s.active}, {u"idle"_s, s.idle}, {u"idleInTransaction"_s, s.idleInTransaction},
                {u"waitingOnLock"_s, s.waitingOnLock}};
            out() << QJsonDocument(o).toJson(QJsonDocument::Compact) << Qt::endl;
            return;
        }
        if (lines++ % 20 == 0)
            out() << "time          commit/s  rollback/s  active  idle  idle-in-tx  lock-wait" << Qt::endl;
        out() << qSetFieldWidth(12) << Qt::left << s.sampledAt.toLocalTime().toString(u"HH:mm:ss.zzz"_s)
              << qSetFieldWidth(10) << Qt::right << QString::number(s.commitsPerSecond, 'f', 1)
              << qSetFieldWidth(12) << QString::number(s.rollbacksPerSecond, 'f', 1) << qSetFieldWidth(8)
              << s.active << qSetFieldWidth(6) << s.idle << qSetFieldWidth(12) << s.idleInTransaction
              << qSetFieldWidth(11) << s.waitingOnLock << qSetFieldWidth(0) << Qt::endl;
    });
    if (seconds > 0)
        QTimer::singleShot(int(seconds * 1000), &loop, &QEventLoop::quit);
    collector.connectTo(info);
    loop.exec();
    return code;
}

int cmdWatch(const QStringList& args)
{
    QCommandLineParser parser;
    const QCommandLineOption seconds(u"seconds"_s, u"Stop after this many seconds (default 10, 0 = until Ctrl-C)"_s, u"s"_s);
    const QCommandLineOption interval(u"interval"_s, u"Sample interval in milliseconds (default 1000)"_s, u"ms"_s);
    parser.addOptions({connOption, seconds, interval, jsonOption});
    int code = ExitOk;
    if (!parseOptions(parser, args, u"Print server activity every interval."_s, &code))
        return code;
    ConnInfo info;
    double secondsValue = 10;
    qint64 intervalValue = 1000;
    if (!parseConn(parser, &info, &code) || !parseNumber(parser, seconds, 0, 86400 * 7, &secondsValue, &code)
        || !parseWholeNumber(parser, interval, 100, 3600000, &intervalValue, &code))
        return code;
    return watchActivity(info, secondsValue, int(intervalValue), parser.isSet(jsonOption));
}

} // namespace htap::cli
