// htapctl demo: the headless demo the quick start runs without a display.
#include "common.h"
#include "demoload.h"

#include <pg/sandbox.h>

namespace htap::cli {

using namespace Qt::StringLiterals;
using htap::pg::ConnInfo;
using htap::pg::PgError;

int cmdDemo(const QStringList& args)
{
    QCommandLineParser parser;
    const QCommandLineOption seconds(u"seconds"_s, u"How long to run the load (default 20)"_s, u"s"_s);
    const QCommandLineOption scale(u"scale"_s, u"Demo data size if the sandbox is new (default 1)"_s, u"n"_s);
    const QCommandLineOption rate(u"rate"_s, u"Order transactions per second (default 100)"_s, u"tps"_s);
    parser.addOptions({dirOption, seconds, scale, rate});
    int code = ExitOk;
    if (!parseOptions(parser, args, u"Start the sandbox, run a light order-entry load and watch it."_s, &code))
        return code;
    double secondsValue = 20, scaleValue = 1, rateValue = 100;
    if (!parseNumber(parser, seconds, 1, 86400, &secondsValue, &code) || !parseNumber(parser, scale, 0.001, 1000, &scaleValue, &code)
        || !parseNumber(parser, rate, 1, 10000, &rateValue, &code))
        return code;

    htap::pg::Sandbox sandbox(parser.isSet(dirOption) ? parser.value(dirOption) : htap::pg::Sandbox::defaultDir());
    QString error;
    if (!sandbox.start(0, scaleValue, [](const QString& step) { err() << "sandbox: " << step << Qt::endl; }, &error))
        return fail(error);
    const ConnInfo info = sandbox.connInfo();
    out() << "Sandbox: " << info.toConnString() << Qt::endl
          << "Running the seed's order transaction (4.1) as oltp_user at " << rateValue
          << " per second and two of its reports (4.2) as olap_user every 2 s, for " << secondsValue
          << " s, sampled every second:" << Qt::endl;

    htap::pg::Connection probe;
    if (PgError e = probe.open(info, {10000, u"htapctl demo"_s}))
        return fail(e.oneLine());
    const qint64 before = probe.exec(u"SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"_s).toInt64(0, 0);

    const int clients = 4;
    DemoLoad load(info, clients, rateValue / clients);
    load.start();
    code = watchActivity(info, secondsValue, 1000, false);
    load.stop();

    probe.exec(u"SELECT pg_stat_force_next_flush()"_s);
    const qint64 after = probe.exec(u"SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"_s).toInt64(0, 0);
    out() << Qt::endl
          << "Order transactions: " << load.committed() << " committed, " << load.rolledBack()
          << " rolled back for short stock, " << load.failed() << " failed; " << load.reports()
          << " reports run." << Qt::endl
          << "Server commits in database shop meanwhile: " << (after - before)
          << " (includes the monitor's own statements)." << Qt::endl
          << "Open the GUI on it with: htap-studio --sandbox" << Qt::endl;
    return code;
}

} // namespace htap::cli
