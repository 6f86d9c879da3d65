// htapctl monitor --listen: the Prometheus text format from a hand-built sample (escaping,
// units, no duplicate series) and from the sandbox over HTTP, each checked by promtool.
#include "testutil.h"

#include <cli/metricsendpoint.h>
#include <monitor/prometheusformat.h>

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QTcpServer>
#include <QTcpSocket>

using namespace Qt::StringLiterals;
using namespace htap::monitor;

namespace {

/// promtool check metrics on text: its exit code and everything it printed. Without promtool
/// the test fails: installer/setup.sh installs it (Debian package prometheus).
std::pair<int, QString> promtool(const QByteArray& text)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(u"promtool"_s, {u"check"_s, u"metrics"_s});
    if (!p.waitForStarted(10000))
        qFatal("promtool cannot be started (%s): run installer/setup.sh, or apt-get install --no-install-recommends prometheus",
            qPrintable(p.errorString()));
    p.write(text);
    p.closeWriteChannel();
    if (!p.waitForFinished(60000))
        qFatal("promtool did not finish");
    return {p.exitCode(), QString::fromUtf8(p.readAll())};
}

/// What promtool does not check: each series (name and labels) once, HELP and TYPE once per
/// metric and before its series. Returns the problems, empty when none.
QStringList structureProblems(const QByteArray& text)
{
    QStringList problems;
    QSet<QByteArray> series, helped, typed, sampled;
    if (!text.endsWith('\n'))
        problems << u"the text does not end with a newline"_s;
    for (const QByteArray& line : text.split('\n')) {
        if (line.isEmpty())
            continue;
        if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
            const QByteArray name = line.mid(7).split(' ').value(0);
            QSet<QByteArray>& seen = line.startsWith("# HELP ") ? helped : typed;
            if (seen.contains(name))
                problems << u"second %1 for %2"_s.arg(QString::fromLatin1(line.left(6)), QString::fromUtf8(name));
            if (sampled.contains(name))
                problems << u"%1 after the samples of %2"_s.arg(QString::fromLatin1(line.left(6)), QString::fromUtf8(name));
            seen.insert(name);
            continue;
        }
        const QByteArray id = line.left(line.lastIndexOf(' '));
        const QByteArray name = id.left(id.indexOf('{') < 0 ? id.size() : id.indexOf('{'));
        if (series.contains(id))
            problems << u"duplicate series: "_s + QString::fromUtf8(id);
        if (!helped.contains(name) || !typed.contains(name))
            problems << u"no HELP or TYPE before "_s + QString::fromUtf8(name);
        series.insert(id);
        sampled.insert(name);
    }
    return problems;
}

/// The value of the one series whose line starts with prefix (name and labels as written), or
/// NaN when there is none.
double valueOf(const QByteArray& text, const QByteArray& prefix)
{
    for (const QByteArray& line : text.split('\n'))
        if (line.startsWith(prefix) && line.size() > prefix.size()
            && (prefix.endsWith('}') || prefix.endsWith('{') || line[prefix.size()] == ' ' || line[prefix.size()] == '{'))
            return line.mid(line.lastIndexOf(' ') + 1).toDouble();
    return qQNaN();
}

struct HttpReply {
    QByteArray status;
    QByteArray headers;
    QByteArray body;
};

HttpReply httpGet(quint16 port, const QByteArray& path, const QByteArray& method = "GET")
{
    QTcpSocket s;
    s.connectToHost(QHostAddress::LocalHost, port);
    if (!s.waitForConnected(10000))
        qFatal("cannot connect to the exporter: %s", qPrintable(s.errorString()));
    s.write(method + ' ' + path + " HTTP/1.1\r\nHost: localhost\r\nAccept: text/plain\r\n\r\n");
    QByteArray all;
    while (s.state() == QAbstractSocket::ConnectedState && s.waitForReadyRead(20000))
        all += s.readAll();
    all += s.readAll();
    const qsizetype split = all.indexOf("\r\n\r\n");
    const QByteArray head = all.left(split);
    return {head.left(head.indexOf("\r\n")), head, split < 0 ? QByteArray() : all.mid(split + 4)};
}

ServerSample handBuilt()
{
    ServerSample s;
    s.sampledAt = QDateTime::fromSecsSinceEpoch(1796600000, Qt::UTC);
    s.activity.xactCommit = 123456;
    s.activity.xactRollback = 7;
    s.activity.walPosition = 4400000000LL; // past 2^32: printed whole, not as 4.4e+09
    s.activity.active = 3;
    s.activity.waitEvents = {{u"Lock"_s, 2}};
    for (WorkloadClass c : {WorkloadClass::Oltp, WorkloadClass::Olap, WorkloadClass::Other}) {
        ClassSessions cs;
        cs.workloadClass = c;
        cs.sessions = 4;
        cs.oldestStatement.seconds = c == WorkloadClass::Olap ? 2.5 : 0;
        s.sessions.classes.append(cs);
    }
    LatencySample lat;
    lat.hasDeltas = true;
    LatencyFigures oltp;
    oltp.name = u"oltp"_s;
    oltp.workloadClass = WorkloadClass::Oltp;
    oltp.calls = 200;
    oltp.meanExecMs = 1.5;
    oltp.windowCalls = 1800;
    oltp.windowMeanExecMs = 12.5; // milliseconds in the sample, seconds in the exposition
    lat.classes = {oltp};
    s.latency = lat;
    ClassHealth h;
    h.workloadClass = WorkloadClass::Oltp;
    h.target = 0.05;
    h.worst = 0.2;
    h.missed = true;
    s.health = {h};
    ViewSample views;
    ViewState v;
    v.view = u"odd\"schema\\x.view\nname"_s; // quoted identifiers may hold all three
    v.populated = true;
    v.stalenessSeconds = 30;
    v.incremental = true;
    v.pendingRows = 12;
    views.views = {v};
    ViewState unknown;
    unknown.view = u"public.never_refreshed"_s;
    views.views.append(unknown);
    s.views = views;
    VacuumSample vac;
    vac.horizonAge = 900;
    DatabaseAge db;
    db.database = u"shop"_s;
    db.xidAge = 1000;
    db.pctToWraparound = 25;
    vac.databases = {db};
    TableVacuum t;
    t.table = u"shop.orders"_s;
    t.deadTuples = 50;
    t.pctOfTrigger = 150;
    vac.tables = {t};
    s.vacuum = vac;
    ReplicationSample rep;
    StandbyLag a, b;
    a.name = b.name = u"walreceiver"_s; // the default application_name: two standbys, one name
    a.state = b.state = u"streaming"_s;
    a.replayLagSeconds = 1.5;
    b.replayLagBytes = 16777216;
    rep.standbys = {a, b};
    SlotState slot;
    slot.name = u"standby1"_s;
    slot.type = u"physical"_s;
    slot.active = true;
    slot.retainedWalBytes = 33554432;
    rep.replicationSlots = {slot};
    s.replication = rep;
    Incident i;
    i.kind = Incident::Kind::TargetMissed;
    i.subject = u"oltp"_s;
    i.start = s.sampledAt;
    s.incidents = {i};
    s.unavailable.insert(u"cpu"_s, u"cpu: pg_stat_kcache is not installed \"here\""_s);
    return s;
}

} // namespace

class TestPrometheus : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void formatsAHandBuiltSample()
    {
        const ServerSample s = handBuilt();
        PrometheusInput in;
        in.server = u"db1.example:5432/shop"_s;
        in.postgresVersion = u"15.18"_s;
        in.up = true;
        in.sample = &s;
        in.samples = 9;
        in.statements[0] = {200, 0.3};
        const QByteArray text = formatPrometheus(in);
        QCOMPARE(formatPrometheus(in), text); // pure

        const auto [code, said] = promtool(text);
        QVERIFY2(code == 0 && said.isEmpty(), qPrintable(said + u"\n"_s + QString::fromUtf8(text)));
        const QStringList problems = structureProblems(text);
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(u'\n')));
        // The check itself sees a repeated series (promtool 2.42 does not).
        const QByteArray lastLine = text.left(text.size() - 1).mid(text.left(text.size() - 1).lastIndexOf('\n') + 1);
        QCOMPARE(structureProblems(text + lastLine + '\n'), QStringList {u"duplicate series: "_s + QString::fromUtf8(lastLine.left(lastLine.lastIndexOf(' ')))});

        const QByteArray server = "{server=\"db1.example:5432/shop\"";
        QCOMPARE(valueOf(text, "htap_up" + server + '}'), 1.0);
        QCOMPARE(valueOf(text, "htap_transactions_committed_total" + server + '}'), 123456.0);
        QVERIFY(text.contains(QByteArray("htap_wal_bytes_total" + server + "} 4400000000\n")));
        QCOMPARE(valueOf(text, "htap_sample_timestamp_seconds" + server + '}'), 1796600000.0);
        // Units: milliseconds become seconds, percentages ratios.
        QCOMPARE(valueOf(text, "htap_class_statement_window_mean_seconds" + server + ",class=\"oltp\"}"), 0.0125);
        QCOMPARE(valueOf(text, "htap_class_statement_exec_seconds_total" + server + ",class=\"oltp\"}"), 0.3);
        QCOMPARE(valueOf(text, "htap_class_oldest_statement_seconds" + server + ",class=\"olap\"}"), 2.5);
        QCOMPARE(valueOf(text, "htap_class_target_seconds" + server + ",class=\"oltp\"}"), 0.05);
        QCOMPARE(valueOf(text, "htap_class_target_missed" + server + ",class=\"oltp\"}"), 1.0);
        QCOMPARE(valueOf(text, "htap_database_wraparound_ratio" + server + ",database=\"shop\"}"), 0.25);
        QCOMPARE(valueOf(text, "htap_table_autovacuum_trigger_ratio" + server + ",table=\"shop.orders\"}"), 1.5);
        // Escaping: backslash, double quote and newline in a label value.
        QCOMPARE(valueOf(text, "htap_view_staleness_seconds" + server + ",view=\"odd\\\"schema\\\\x.view\\nname\"}"), 30.0);
        QCOMPARE(valueOf(text, "htap_view_pending_changes" + server + ",view=\"odd\\\"schema\\\\x.view\\nname\"}"), 12.0);
        // Unknown is left out, not shown as -1.
        QVERIFY(!text.contains(QByteArray("htap_view_staleness_seconds" + server + ",view=\"public.never_refreshed\"}")));
        QVERIFY(text.contains(QByteArray("htap_view_populated" + server + ",view=\"public.never_refreshed\"} 0\n")));
        // Two standbys with one name: two series.
        QCOMPARE(valueOf(text, "htap_standby_replay_lag_seconds" + server + ",standby=\"walreceiver\"}"), 1.5);
        QCOMPARE(valueOf(text, "htap_standby_replay_lag_bytes" + server + ",standby=\"walreceiver#2\"}"), 16777216.0);
        QCOMPARE(valueOf(text, "htap_replication_slot_retained_wal_bytes" + server + ",slot=\"standby1\",slot_type=\"physical\"}"),
            33554432.0);
        QCOMPARE(valueOf(text, "htap_incidents_open" + server + ",kind=\"target_missed\"}"), 1.0);
        QCOMPARE(valueOf(text, "htap_incidents_open" + server + ",kind=\"blocking\"}"), 0.0);
        QCOMPARE(valueOf(text, "htap_probe_unavailable" + server + ",probe=\"cpu\"}"), 1.0);
        QVERIFY(!text.contains("kcache")); // reasons are free text: never a label
        // Every metric name is ours and every series carries the server.
        for (const QByteArray& line : text.split('\n'))
            if (!line.isEmpty() && !line.startsWith('#'))
                QVERIFY2(line.startsWith("htap_") && line.contains(server), line.constData());
    }

    void downShowsOnlyThatItIsDown()
    {
        const ServerSample s = handBuilt();
        PrometheusExposition e;
        e.setServer(u"monitor@db1:5432/shop"_s, u"15.18"_s);
        QByteArray text = e.text(); // before the first sample
        QVERIFY(text.contains("htap_up{server=\"db1:5432/shop\"} 0\n"));
        QVERIFY(!text.contains("htap_class_"));
        e.setUp(true);
        e.addSample(s);
        QVERIFY(e.text().contains("htap_up{server=\"db1:5432/shop\"} 1\n"));
        e.setUp(false); // the server stopped answering: nothing of it is shown as current
        text = e.text();
        QVERIFY(text.contains("htap_up{server=\"db1:5432/shop\"} 0\n"));
        QVERIFY(!text.contains("htap_transactions_committed_total"));
        QVERIFY(text.contains("htap_samples_total{server=\"db1:5432/shop\"} 1\n"));
        const auto [code, said] = promtool(text);
        QVERIFY2(code == 0 && said.isEmpty(), qPrintable(said));
    }

    void slowSectionsAreCarriedAndStatementsSummed()
    {
        PrometheusExposition e;
        e.setServer(u"db1:5432/shop"_s, {});
        e.setUp(true);
        const ServerSample full = handBuilt();
        e.addSample(full);
        ServerSample fast = full; // a tick without the slow probes
        fast.vacuum.reset();
        fast.views.reset();
        fast.unavailable.clear();
        e.addSample(fast);
        QByteArray text = e.text();
        QVERIFY(text.contains("htap_xmin_horizon_xid_age{server=\"db1:5432/shop\"} 900\n"));
        QVERIFY(text.contains("htap_view_pending_changes{"));
        QVERIFY(text.contains("htap_probe_unavailable{server=\"db1:5432/shop\",probe=\"cpu\"} 1\n"));
        // 200 statements of 1.5 ms in each sample, summed.
        QVERIFY(text.contains("htap_class_statements_total{server=\"db1:5432/shop\",class=\"oltp\"} 400\n"));
        QCOMPARE(valueOf(text, "htap_class_statement_exec_seconds_total{server=\"db1:5432/shop\",class=\"oltp\"}"), 0.6);
        // A slow probe that now says it cannot run: its section is gone.
        ServerSample failed = fast;
        failed.unavailable.insert(u"vacuum"_s, u"vacuum: permission denied"_s);
        e.addSample(failed);
        text = e.text();
        QVERIFY(!text.contains("htap_xmin_horizon_xid_age"));
        QVERIFY(text.contains("probe=\"vacuum\"} 1\n"));
        QVERIFY(text.contains("htap_view_pending_changes{"));
    }

    void listenAddresses_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("address"); // empty: refused
        QTest::addColumn<int>("port");
        QTest::newRow("port alone") << u"9188"_s << u"127.0.0.1"_s << 9188;
        QTest::newRow("ipv4") << u"127.0.0.1:9188"_s << u"127.0.0.1"_s << 9188;
        QTest::newRow("localhost") << u"localhost:9100"_s << u"127.0.0.1"_s << 9100;
        QTest::newRow("ipv6") << u"[::1]:9188"_s << u"::1"_s << 9188;
        QTest::newRow("any free port") << u"127.0.0.1:0"_s << u"127.0.0.1"_s << 0;
        QTest::newRow("all interfaces, given") << u"0.0.0.0:9188"_s << u"0.0.0.0"_s << 9188;
        QTest::newRow("a name") << u"db1.example:9188"_s << QString() << 0;
        QTest::newRow("port too big") << u"127.0.0.1:99999"_s << QString() << 0;
        QTest::newRow("no port") << u"127.0.0.1:"_s << QString() << 0;
        QTest::newRow("bare ipv6") << u"::1:9188"_s << QString() << 0;
        QTest::newRow("words") << u"everywhere"_s << QString() << 0;
        QTest::newRow("bad address") << u"300.1.2.3:9188"_s << QString() << 0;
    }

    void listenAddresses()
    {
        QFETCH(QString, text);
        QFETCH(QString, address);
        QFETCH(int, port);
        htap::cli::ListenAddress at;
        QString error;
        const bool ok = htap::cli::parseListenAddress(text, &at, &error);
        QCOMPARE(ok, !address.isEmpty());
        if (ok) {
            QCOMPARE(at.address, QHostAddress(address));
            QCOMPARE(int(at.port), port);
        } else {
            QVERIFY2(error.startsWith(u"--listen "_s + text), qPrintable(error));
        }
    }

    /// The sandbox over HTTP, as a Prometheus scrapes it, while a client that says nothing
    /// holds a connection open.
    void monitorServesTheSandbox()
    {
        QProcess p;
        p.setStandardInputFile(QProcess::nullDevice());
        p.start(qEnvironmentVariable("HTAP_TEST_BINDIR") + u"/htapctl"_s,
            {u"monitor"_s, u"--conn"_s, htap::test::sandboxConnInfo().toConnString(), u"--interval"_s, u"0.5"_s, u"--json"_s,
                u"--listen"_s, u"127.0.0.1:0"_s});
        auto stop = qScopeGuard([&] {
            p.terminate();
            if (!p.waitForFinished(20000))
                p.kill();
        });
        QVERIFY(p.waitForStarted());
        // The URL (port 0: the one it took) comes on stderr before the first sample.
        QByteArray said;
        const QRegularExpression url(u"serving metrics at http://127\\.0\\.0\\.1:(\\d+)/metrics\n"_s);
        QRegularExpressionMatch m;
        while (!(m = url.match(QString::fromUtf8(said))).hasMatch() && p.waitForReadyRead(30000))
            said += p.readAllStandardError();
        QVERIFY2(m.hasMatch(), said.constData());
        const quint16 port = quint16(m.captured(1).toUInt());

        QTcpSocket silent; // connects and never sends a byte
        silent.connectToHost(QHostAddress::LocalHost, port);
        QVERIFY(silent.waitForConnected(10000));

        // Until the monitor has sampled twice (rates and the slow probes need a baseline).
        QByteArray text;
        for (int i = 0; i < 120; ++i) {
            const HttpReply r = httpGet(port, "/metrics");
            QCOMPARE(r.status, QByteArray("HTTP/1.1 200 OK"));
            QVERIFY2(r.headers.contains("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8"), r.headers.constData());
            text = r.body;
            if (valueOf(text, "htap_samples_total{") >= 3 && text.contains("htap_class_statement_exec_seconds_total{"))
                break;
            QTest::qWait(250);
        }
        const auto [code, lint] = promtool(text);
        QVERIFY2(code == 0 && lint.isEmpty(), qPrintable(lint + u"\n"_s + QString::fromUtf8(text)));
        const QStringList problems = structureProblems(text);
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(u'\n')));

        QCOMPARE(valueOf(text, "htap_up{"), 1.0);
        QVERIFY2(text.contains("htap_postgres_info{") && text.contains(",version=\"15."), text.constData());
        QVERIFY(valueOf(text, "htap_transactions_committed_total{") > 0);
        QVERIFY(valueOf(text, "htap_wal_bytes_total{") > 0);
        const double sampled = valueOf(text, "htap_sample_timestamp_seconds{");
        QVERIFY2(std::abs(sampled - QDateTime::currentSecsSinceEpoch()) < 3600, qPrintable(QString::number(sampled)));
        QVERIFY(text.contains(",class=\"oltp\"} "));
        QVERIFY(text.contains("htap_class_sessions{"));
        QVERIFY(text.contains("htap_in_recovery{"));
        QVERIFY(text.contains("htap_xmin_horizon_xid_age{")); // a slow probe's, carried between its ticks
        QVERIFY2(text.contains("htap_view_populated{") && text.contains(",view=\"public."), text.constData());
        QVERIFY(!text.contains("pid=") && !text.contains("query="));

        QCOMPARE(httpGet(port, "/").status, QByteArray("HTTP/1.1 404 Not Found"));
        QCOMPARE(httpGet(port, "/metricsx").status, QByteArray("HTTP/1.1 404 Not Found"));
        QCOMPARE(httpGet(port, "/metrics", "POST").status, QByteArray("HTTP/1.1 405 Method Not Allowed"));
        QCOMPARE(httpGet(port, "/metrics?name[]=htap_up").status, QByteArray("HTTP/1.1 200 OK"));

        // --json still prints the samples.
        const QByteArray firstLine = p.readAllStandardOutput().split('\n').value(0);
        QCOMPARE(QJsonDocument::fromJson(firstLine).object().value(u"format"_s).toString(), u"htap-monitor-sample"_s);
        // The silent client was served nothing and is dropped after its time (5 s).
        QVERIFY(silent.state() == QAbstractSocket::UnconnectedState || silent.waitForDisconnected(30000));
        QVERIFY(silent.readAll().isEmpty());
    }

    void aTakenPortOrABadAddressEndsItBeforeMonitoring()
    {
        QTcpServer taken;
        QVERIFY(taken.listen(QHostAddress::LocalHost, 0));
        QProcess p;
        p.setStandardInputFile(QProcess::nullDevice());
        const QString bin = qEnvironmentVariable("HTAP_TEST_BINDIR") + u"/htapctl"_s;
        const QString conn = htap::test::sandboxConnInfo().toConnString();
        p.start(bin, {u"monitor"_s, u"--conn"_s, conn, u"--listen"_s, u"127.0.0.1:%1"_s.arg(taken.serverPort())});
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitCode(), 1);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.contains(u"cannot listen on 127.0.0.1:%1: the port is taken"_s.arg(taken.serverPort())), qPrintable(err));
        QVERIFY(p.readAllStandardOutput().isEmpty()); // no sample printed

        for (const QStringList& extra : {QStringList {u"--listen"_s, u"db1.example:9188"_s},
                 QStringList {u"--listen"_s, u"127.0.0.1:9188"_s, u"--once"_s}}) {
            p.start(bin, QStringList {u"monitor"_s, u"--conn"_s, conn} + extra);
            QVERIFY(p.waitForFinished(30000));
            QCOMPARE(p.exitCode(), 2);
            const QString e = QString::fromUtf8(p.readAllStandardError());
            QVERIFY2(e.startsWith(u"htapctl: error: --listen"_s) && e.count(u'\n') == 1, qPrintable(e));
        }
    }
};

QTEST_GUILESS_MAIN(TestPrometheus)
#include "tst_prometheus.moc"
