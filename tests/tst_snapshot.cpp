// Performance snapshots from a real history: samples of the test sandbox written by
// `htapctl monitor --history`, exported and read back (the same numbers), the CSV parsed back,
// the HTML report opened in headless Chromium with every chart image decoded, old, corrupt,
// truncated and foreign files refused, an unwritable target leaving nothing behind, an empty
// window and one before the history starts, and two snapshots compared.
#include "testutil.h"

#include <core/format.h>
#include <report/chartpainter.h>
#include <report/reportwriter.h>
#include <store/historyfile.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>

#include <cmath>
#include <sys/stat.h>

using namespace Qt::StringLiterals;
using namespace htap::report;

namespace {

struct Run {
    int code = -1;
    QString out, err;
};

Run htapctl(const QStringList& args, int timeoutMs = 120000)
{
    QProcess p;
    p.setStandardInputFile(QProcess::nullDevice());
    p.start(qEnvironmentVariable("HTAP_TEST_BINDIR") + u"/htapctl"_s, args);
    if (!p.waitForFinished(timeoutMs))
        qFatal("htapctl did not finish");
    return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
}

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace

class TestSnapshot : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString m_history;
    QString m_conn;
    QString m_server;
    QDateTime m_start;
    htap::pg::Connection m_blocker;
    QProcess m_waiter;

    Snapshot build(const QDateTime& from, const QDateTime& to)
    {
        QString error;
        Snapshot s;
        s.title = u"test \"snapshot\" <b>&"_s;
        s.note = u"note with\na second line"_s;
        s.createdAt = QDateTime::currentDateTimeUtc();
        s.createdBy = u"tst_snapshot"_s;
        s.server = m_server;
        s.from = from;
        s.to = to;
        s.samples = htap::store::HistoryFile(m_history).load(m_server, from, to, &error);
        if (error.isEmpty())
            for (const QJsonObject& i : htap::store::HistoryFile(m_history).incidents(m_server, from, to, &error))
                s.incidents.append(i);
        if (!error.isEmpty())
            qFatal("%s", qPrintable(error));
        htap::pg::Connection conn;
        if (conn.open(htap::test::sandboxConnInfo()))
            qFatal("cannot connect");
        s.facts = readFacts(conn, from, to);
        if (!Snapshot::build(&s, &error))
            qFatal("%s", qPrintable(error));
        return s;
    }

    QString writeScenarioResult()
    {
        // A 2-second run of two workloads, as htapctl scenario run --out writes it.
        const QJsonObject summary {{u"committed"_s, 120}, {u"failed"_s, 0}, {u"tps"_s, 60.0},
            {u"latency_ms"_s, QJsonObject {{u"p50"_s, 1.5}, {u"p99"_s, 4.2}, {u"max"_s, 9.0}}}};
        const QJsonObject result {{u"format"_s, u"htap-scenario-result"_s}, {u"version"_s, 1},
            {u"scenario"_s, QJsonObject {{u"name"_s, u"smoke"_s},
                                 {u"workloads"_s, QJsonObject {{u"orders"_s, QJsonObject {{u"kind"_s, u"order"_s}}},
                                                      {u"reports"_s, QJsonObject {{u"kind"_s, u"report"_s}}}}}}},
            {u"startedAt"_s, m_start.addSecs(2).toString(Qt::ISODateWithMs)},
            {u"finishedAt"_s, m_start.addSecs(4).toString(Qt::ISODateWithMs)}, {u"partial"_s, false},
            {u"workloads"_s, QJsonObject {{u"orders"_s, QJsonObject {{u"summary"_s, summary}}},
                                 {u"reports"_s, QJsonObject {{u"summary"_s, QJsonObject {{u"committed"_s, 0}}}}}}}};
        const QString path = m_dir.filePath(u"smoke-result.json"_s);
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(result).toJson()) <= 0)
            qFatal("cannot write the scenario result");
        return path;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_history = m_dir.filePath(u"history.sqlite"_s);
        m_conn = htap::test::sandboxConnInfo().toConnString();
        m_start = QDateTime::currentDateTimeUtc().addSecs(-1);
        // A blocking episode through the whole recording, on a table of this test's own (other
        // tests share the sandbox): a session holds a row, another waits for it.
        QVERIFY(!m_blocker.open(htap::test::sandboxConnInfo()));
        QVERIFY(m_blocker.exec(u"CREATE TABLE IF NOT EXISTS tst_snapshot_row (id int PRIMARY KEY, n int)"_s).ok());
        QVERIFY(m_blocker.exec(u"INSERT INTO tst_snapshot_row VALUES (1, 0) ON CONFLICT DO NOTHING"_s).ok());
        QVERIFY(m_blocker.exec(u"BEGIN"_s).ok());
        QVERIFY(m_blocker.exec(u"UPDATE tst_snapshot_row SET n = n + 1 WHERE id = 1"_s).ok());
        m_waiter.start(u"psql"_s, {m_conn, u"-Xqc"_s, u"UPDATE tst_snapshot_row SET n = n + 1 WHERE id = 1"_s});
        htap::pg::Connection watch; // not the blocker's: its transaction sees pg_stat_activity as it was at its start
        QVERIFY(!watch.open(htap::test::sandboxConnInfo()));
        QTRY_VERIFY_WITH_TIMEOUT(watch.exec(u"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
                                                 "query LIKE 'UPDATE tst_snapshot_row%'"_s).toInt64(0, 0) == 1, 30000);
        // Real samples of the sandbox under a little load, kept the way the GUI keeps them.
        QProcess load;
        load.start(u"psql"_s, {m_conn, u"-Xqc"_s, u"SELECT count(*) FROM orders o JOIN order_items i USING (order_id), pg_sleep(1) GROUP BY o.status"_s});
        const Run r = htapctl({u"monitor"_s, u"--conn"_s, m_conn, u"--interval"_s, u"0.5"_s, u"--duration"_s, u"6"_s,
            u"--history"_s, m_history, u"--out"_s, m_dir.filePath(u"samples.jsonl"_s)});
        load.waitForFinished();
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(m_blocker.exec(u"COMMIT"_s).ok());
        QVERIFY(m_waiter.waitForFinished(60000));
        QString error;
        const QStringList servers = htap::store::HistoryFile(m_history).servers(&error);
        QVERIFY2(servers.size() == 1, qPrintable(error + servers.join(u", "_s)));
        m_server = servers.first();
    }

    void cleanupTestCase()
    {
        if (m_blocker.isOpen())
            m_blocker.exec(u"DROP TABLE IF EXISTS tst_snapshot_row"_s);
    }

    void buildsSeriesAndFactsFromTheHistory()
    {
        const Snapshot s = build(m_start, QDateTime::currentDateTimeUtc());
        QVERIFY2(s.samples.size() >= 8, qPrintable(QString::number(s.samples.size())));
        QVERIFY(s.seriesByKey(u"activity.commits_per_s"_s));
        QVERIFY(s.seriesByKey(u"sessions.active"_s));
        QVERIFY(s.seriesByKey(u"vacuum.horizon_age"_s));
        QVERIFY(!s.vacuumAtEnd.isEmpty());
        QVERIFY(s.locksAtEnd.contains(u"waitingSessions"_s));
        QVERIFY(!s.facts.settings.isEmpty());
        QVERIFY(!s.facts.extensions.isEmpty());
        QVERIFY(!s.facts.roles.isEmpty());
        QVERIFY(!s.facts.views.isEmpty()); // the sandbox's three views
        QVERIFY(std::isfinite(s.keyFigures().at(4).value)); // commits per second
    }

    void roundTripGivesTheSameNumbers()
    {
        const Snapshot s = build(m_start, QDateTime::currentDateTimeUtc());
        const QString path = m_dir.filePath(u"round.json"_s);
        QStringList written;
        QString error;
        const mode_t umaskBefore = ::umask(0022);
        QVERIFY2(exportSnapshot(s, Format::Json, path, &written, &error), qPrintable(error));
        ::umask(umaskBefore);
        // A snapshot holds statements and settings: the user's alone, whatever the umask.
        QCOMPARE(QFile::permissions(path) & ~(QFileDevice::ReadUser | QFileDevice::WriteUser),
            QFileDevice::ReadOwner | QFileDevice::WriteOwner);
        Snapshot back;
        QVERIFY2(Snapshot::fromJson(readAll(path), &back, &error), qPrintable(error));
        QCOMPARE(back.title, s.title);
        QCOMPARE(back.note, s.note);
        QCOMPARE(back.samples.size(), s.samples.size());
        QCOMPARE(back.series.size(), s.series.size());
        for (int i = 0; i < s.series.size(); ++i) {
            QCOMPARE(back.series[i].key, s.series[i].key);
            QCOMPARE(back.series[i].t, s.series[i].t);
            QCOMPARE(back.series[i].v, s.series[i].v);
        }
        const QList<KeyFigure> a = s.keyFigures(), b = back.keyFigures();
        QCOMPARE(a.size(), b.size());
        for (int i = 0; i < a.size(); ++i) {
            QCOMPARE(b[i].key, a[i].key);
            QVERIFY2(std::isnan(a[i].value) ? std::isnan(b[i].value) : a[i].value == b[i].value, qPrintable(a[i].key));
        }
        QCOMPARE(back.facts.settings, s.facts.settings);
        QCOMPARE(back.vacuumAtEnd, s.vacuumAtEnd);
    }

    void statementsOfAnOlderHistoryAreMaskedOnExport()
    {
        // A history written before every statement was masked may hold a password literal:
        // neither the snapshot's JSON nor its HTML report shows it, nor a snapshot file read back.
        Snapshot s = build(m_start, QDateTime::currentDateTimeUtc());
        QJsonObject sample = s.samples.last();
        QJsonObject locks = sample.value(u"locks"_s).toObject();
        locks.insert(u"nodes"_s, QJsonArray {QJsonObject {{u"pid"_s, 4242}, {u"state"_s, u"active"_s},
                                     {u"query"_s, u"ALTER ROLE olap_user PASSWORD E'x-secret-1'"_s}}});
        locks.insert(u"roots"_s, QJsonArray {QJsonObject {{u"pid"_s, 4242}, {u"totalWaiters"_s, 1},
                                     {u"query"_s, u"ALTER ROLE olap_user PASSWORD U&'x-secret-2'"_s}}});
        sample.insert(u"locks"_s, locks);
        QJsonObject vacuum = sample.value(u"vacuum"_s).toObject();
        vacuum.insert(u"xminHolders"_s, QJsonArray {QJsonObject {{u"kind"_s, u"backend"_s}, {u"holder"_s, u"4242"_s},
                                            {u"detail"_s, u"client backend: ALTER ROLE a PASSWORD $$x-secret-3$$"_s}}});
        sample.insert(u"vacuum"_s, vacuum);
        s.samples.last() = sample;
        s.locksAtEnd = {};
        s.vacuumAtEnd = {};
        QString error;
        QVERIFY2(Snapshot::build(&s, &error), qPrintable(error));
        QCOMPARE(s.locksAtEnd.value(u"nodes"_s).toArray().at(0).toObject().value(u"query"_s).toString(),
            u"ALTER ROLE olap_user PASSWORD $1"_s);
        QCOMPARE(s.vacuumAtEnd.value(u"xminHolders"_s).toArray().at(0).toObject().value(u"detail"_s).toString(),
            u"client backend: ALTER ROLE a PASSWORD $1"_s);
        for (const Format f : {Format::Json, Format::Html}) {
            const QString path = m_dir.filePath(f == Format::Json ? u"masked.json"_s : u"masked.html"_s);
            QStringList written;
            QVERIFY2(exportSnapshot(s, f, path, &written, &error), qPrintable(error));
            QVERIFY2(!readAll(path).contains("x-secret"), qPrintable(path));
        }
        // A file as an older build wrote it, read back: masked on the way in.
        QJsonObject doc = s.toJson();
        QJsonArray samples = doc.value(u"samples"_s).toArray();
        samples.append(sample);
        doc.insert(u"samples"_s, samples);
        Snapshot back;
        QVERIFY2(Snapshot::fromJson(QJsonDocument(doc).toJson(), &back, &error), qPrintable(error));
        QVERIFY(!QJsonDocument(back.samples.last()).toJson().contains("x-secret"));
    }

    void csvParsesBack()
    {
        const Snapshot s = build(m_start, QDateTime::currentDateTimeUtc());
        const QString path = m_dir.filePath(u"series.csv"_s);
        QStringList written;
        QString error;
        QVERIFY2(exportSnapshot(s, Format::Csv, path, &written, &error), qPrintable(error));
        const QStringList lines = QString::fromUtf8(readAll(path)).split(u'\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.first(), u"series,label,unit,at,value"_s);
        qsizetype points = 0;
        for (const Series& x : s.series)
            points += x.v.size();
        QCOMPARE(lines.size() - 1, points);
        // Every row: its value is the series' value at that time.
        static const QRegularExpression row(u"^([^,]+),(\"(?:[^\"]|\"\")*\"|[^,]*),([^,]*),([^,]+),([^,]*)$"_s);
        for (int i = 1; i < lines.size(); ++i) {
            const QRegularExpressionMatch m = row.match(lines[i]);
            QVERIFY2(m.hasMatch(), qPrintable(lines[i]));
            const Series* x = s.seriesByKey(m.captured(1));
            QVERIFY(x);
            const qint64 t = QDateTime::fromString(m.captured(4), Qt::ISODateWithMs).toMSecsSinceEpoch();
            const qsizetype k = x->t.indexOf(t);
            QVERIFY(k >= 0);
            QVERIFY(std::fabs(m.captured(5).toDouble() - x->v[k]) <= 1e-9 * std::max(1.0, std::fabs(x->v[k])));
        }
    }

    void htmlReportOpensInChromiumWithEveryChart()
    {
        const QString chromium = QStandardPaths::findExecutable(u"chromium"_s);
        QVERIFY2(!chromium.isEmpty(), "chromium is not installed (installer/setup.sh installs it)");
        const Snapshot s = build(m_start, QDateTime::currentDateTimeUtc());
        const QString path = m_dir.filePath(u"report.html"_s);
        QStringList written;
        QString error;
        QVERIFY2(exportSnapshot(s, Format::Html, path, &written, &error), qPrintable(error));
        const QString html = QString::fromUtf8(readAll(path));
        QVERIFY(!html.contains(u"http://"_s) && !html.contains(u"https://"_s)); // nothing to fetch
        QVERIFY(html.contains(u"test &quot;snapshot&quot; &lt;b&gt;&amp;"_s)); // the title escaped
        const int charts = int(reportCharts(s).size());
        QVERIFY(charts >= 5);
        QProcess p;
        p.start(chromium, {u"--headless"_s, u"--no-sandbox"_s, u"--disable-gpu"_s, u"--disable-dev-shm-usage"_s,
                              u"--user-data-dir="_s + m_dir.filePath(u"chromium"_s), u"--virtual-time-budget=10000"_s,
                              u"--dump-dom"_s, QUrl::fromLocalFile(path).toString()});
        QVERIFY(p.waitForFinished(90000));
        const QString dom = QString::fromUtf8(p.readAllStandardOutput());
        QVERIFY2(dom.contains(u"data-images-ok=\"%1/%1\""_s.arg(charts)),
            qPrintable(u"images: "_s + dom.section(u"data-images-ok"_s, 1, 1).left(20) + u" stderr: "_s
                + QString::fromUtf8(p.readAllStandardError()).right(400)));
    }

    void pdfAndPngAreWrittenWhole()
    {
        const Snapshot s = build(m_start, QDateTime::currentDateTimeUtc());
        QStringList written;
        QString error;
        QVERIFY2(exportSnapshot(s, Format::Pdf, m_dir.filePath(u"r.pdf"_s), &written, &error), qPrintable(error));
        QVERIFY(readAll(m_dir.filePath(u"r.pdf"_s)).startsWith("%PDF"));
        QVERIFY2(exportSnapshot(s, Format::Png, m_dir.filePath(u"c.png"_s), &written, &error), qPrintable(error));
        QCOMPARE(written.size(), reportCharts(s).size());
        for (const QString& w : written)
            QVERIFY(!QImage(w).isNull());
        // The third chart's file cannot be written (a folder is in the way): none is left.
        const QList<ChartSpec> charts = reportCharts(s);
        QDir(m_dir.path()).mkpath(u"d-"_s + charts[2].id + u".png"_s);
        QVERIFY(!exportSnapshot(s, Format::Png, m_dir.filePath(u"d.png"_s), &written, &error));
        QVERIFY(written.isEmpty());
        QVERIFY(!QFileInfo::exists(m_dir.filePath(u"d-"_s + charts[0].id + u".png"_s)));
        QVERIFY(!QFileInfo::exists(m_dir.filePath(u"d-"_s + charts[1].id + u".png"_s)));
    }

    void badFilesAreRefusedWithAReason()
    {
        const Snapshot s = build(m_start, QDateTime::currentDateTimeUtc());
        QByteArray json = QJsonDocument(s.toJson()).toJson(QJsonDocument::Compact);
        Snapshot out;
        QString error;
        QVERIFY(!Snapshot::fromJson(json.left(json.size() / 2), &out, &error));
        QVERIFY2(error.contains(u"truncated"_s), qPrintable(error));
        // Cut inside a literal: the parser points at the literal's start, still the end.
        for (const char* cut : {"{\"format\":nul", "{\"a\":[tru", "{\"a\":fal"}) {
            QVERIFY(!Snapshot::fromJson(QByteArray(cut), &out, &error));
            QVERIFY2(error.contains(u"truncated"_s), qPrintable(error));
        }
        QByteArray corrupt = json;
        corrupt.replace("\"title\":", "\"title\"::"); // a stray colon early in the file
        QVERIFY(!Snapshot::fromJson(corrupt, &out, &error));
        QVERIFY2(error.contains(u"corrupt"_s), qPrintable(error));
        QJsonObject newer = s.toJson();
        newer.insert(u"version"_s, 2);
        QVERIFY(!Snapshot::fromJson(QJsonDocument(newer).toJson(), &out, &error));
        QVERIFY2(error.contains(u"newer HTAP Studio"_s), qPrintable(error));
        QVERIFY(!Snapshot::fromJson(R"({"format": "htap-scenario-result", "version": 1})", &out, &error));
        QVERIFY2(error.contains(u"not an HTAP Studio snapshot"_s), qPrintable(error));
        // A series time no date has (found by tests/fuzz, fuzz_snapshot: its conversion to
        // milliseconds was undefined behaviour).
        QVERIFY(!Snapshot::fromJson(R"({"format": "htap-snapshot", "version": 1, "series": [{"key": "k", "t": [1e300], "v": [1]}]})",
            &out, &error));
        QVERIFY2(error.contains(u"series k has a time that is not one"_s) && error.contains(u"corrupt"_s), qPrintable(error));
        // The CLI says the same, in one line.
        QFile f(m_dir.filePath(u"half.json"_s));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(json.left(json.size() / 2));
        f.close();
        const Run r = htapctl({u"snapshot"_s, u"show"_s, f.fileName()});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains(u"truncated"_s), qPrintable(r.err));
    }

    void unwritableTargetsLeaveNothing()
    {
        const Snapshot s = build(m_start, QDateTime::currentDateTimeUtc());
        // Root may write anywhere, so the folder is a regular file: nothing can be created in it.
        QFile blocker(m_dir.filePath(u"not-a-folder"_s));
        QVERIFY(blocker.open(QIODevice::WriteOnly));
        blocker.close();
        QStringList written;
        QString error;
        for (Format f : {Format::Json, Format::Csv, Format::Html, Format::Pdf}) {
            QVERIFY(!exportSnapshot(s, f, blocker.fileName() + u"/x."_s + formatName(f), &written, &error));
            QVERIFY2(error.startsWith(u"cannot write"_s), qPrintable(error));
        }
        const Run r = htapctl({u"snapshot"_s, u"export"_s, u"--history"_s, m_history, u"--conn"_s, m_conn, u"--last"_s, u"1h"_s,
            u"--out"_s, blocker.fileName() + u"/x.html"_s});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains(u"cannot write"_s), qPrintable(r.err));
    }

    void aFullDiskLeavesNothingBehind()
    {
        // A 64 kB file system: the report does not fit. Needs root and mount; skipped elsewhere.
        const QString dir = m_dir.filePath(u"full"_s);
        QDir().mkpath(dir);
        QProcess mount;
        mount.start(u"mount"_s, {u"-t"_s, u"tmpfs"_s, u"-o"_s, u"size=64k"_s, u"tmpfs"_s, dir});
        mount.waitForFinished();
        if (mount.exitCode() != 0)
            QSKIP(qPrintable(u"cannot mount a small tmpfs here: "_s + QString::fromUtf8(mount.readAllStandardError())));
        const Snapshot s = build(m_start, QDateTime::currentDateTimeUtc());
        QStringList written;
        QString error;
        const bool ok = exportSnapshot(s, Format::Html, dir + u"/report.html"_s, &written, &error);
        const QStringList left = QDir(dir).entryList(QDir::Files | QDir::Hidden | QDir::System);
        QProcess::execute(u"umount"_s, {dir});
        QVERIFY(!ok);
        QVERIFY2(error.contains(u"cannot write"_s) && error.contains(u"nothing was left behind"_s), qPrintable(error));
        QVERIFY2(error.contains(u"No space left on device"_s), qPrintable(error)); // it said "Unknown error"
        QVERIFY2(left.isEmpty(), qPrintable(left.join(u", "_s)));
    }

    void emptyWindowsAndWindowsBeforeTheHistory()
    {
        Run r = htapctl({u"snapshot"_s, u"export"_s, u"--history"_s, m_history, u"--conn"_s, m_conn, u"--from"_s,
            u"2020-01-01T00:00:00Z"_s, u"--to"_s, u"2020-01-01T01:00:00Z"_s, u"--out"_s, m_dir.filePath(u"old.json"_s)});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains(u"no samples of"_s) && r.err.contains(u"its history runs from"_s), qPrintable(r.err));
        QVERIFY(!QFileInfo::exists(m_dir.filePath(u"old.json"_s)));
        r = htapctl({u"snapshot"_s, u"export"_s, u"--history"_s, m_history, u"--from"_s, u"now"_s, u"--to"_s, u"-1h"_s,
            u"--out"_s, m_dir.filePath(u"x.json"_s)});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains(u"the window is empty"_s), qPrintable(r.err));
    }

    void cliExportKeepsItAndDiffCompares()
    {
        const QString a = m_dir.filePath(u"a.json"_s), b = m_dir.filePath(u"b.json"_s);
        Run r = htapctl({u"snapshot"_s, u"export"_s, u"--history"_s, m_history, u"--conn"_s, m_conn, u"--last"_s, u"1h"_s,
            u"--out"_s, a, u"--title"_s, u"A"_s});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(r.out.contains(u"kept in the history as snapshot #"_s));
        // A and B: the same window with one figure set by hand, so the verdict is known. Not
        // the sandbox's own commits: the monitor leaves out its own, and the little load may
        // commit before the first sample, which left A at 0 and the change unknown ("same").
        const QJsonObject exported = QJsonDocument::fromJson(readAll(a)).object();
        const auto withCommits = [&exported](const QString& path, const QString& title, double factor) {
            QJsonObject o = exported;
            QJsonArray series = o.value(u"series"_s).toArray();
            for (int i = 0; i < series.size(); ++i) {
                QJsonObject x = series[i].toObject();
                if (x.value(u"key"_s).toString() == u"activity.commits_per_s"_s) {
                    QJsonArray v;
                    for (const QJsonValue& y : x.value(u"v"_s).toArray())
                        v << (y.toDouble() + 10) * factor;
                    x.insert(u"v"_s, v);
                    series[i] = x;
                }
            }
            o.insert(u"series"_s, series);
            o.insert(u"title"_s, title);
            QFile f(path);
            return f.open(QIODevice::WriteOnly) && f.write(QJsonDocument(o).toJson()) > 0;
        };
        QVERIFY(withCommits(a, u"A"_s, 1));
        QVERIFY(withCommits(b, u"B"_s, 2));
        r = htapctl({u"snapshot"_s, u"diff"_s, a, b, u"--json"_s});
        QCOMPARE(r.code, 0);
        bool found = false;
        for (const QJsonValue& v : QJsonDocument::fromJson(r.out.toUtf8()).object().value(u"figures"_s).toArray())
            if (v.toObject().value(u"key"_s).toString() == u"throughput.commits_per_s"_s) {
                found = true;
                QCOMPARE(v.toObject().value(u"verdict"_s).toString(), u"better"_s);
            }
        QVERIFY(found);
        r = htapctl({u"snapshot"_s, u"diff"_s, b, a});
        QVERIFY2(r.out.contains(u"WORSE"_s), qPrintable(r.out));
        r = htapctl({u"snapshot"_s, u"list"_s, u"--history"_s, m_history});
        QVERIFY2(r.out.contains(u"snapshots kept in it"_s), qPrintable(r.out));
    }

    void aReportOpensWithWhatHappened()
    {
        // The window holds a blocking episode (initTestCase) and a short scenario run: the
        // report opens with the episode, the run comes after it, then the figures.
        const QString result = writeScenarioResult();
        const QString html = m_dir.filePath(u"story.html"_s);
        const Run r = htapctl({u"snapshot"_s, u"export"_s, u"--history"_s, m_history, u"--conn"_s, m_conn, u"--last"_s, u"1h"_s,
            u"--scenario"_s, result, u"--title"_s, u"Orders stalled"_s, u"--out"_s, html});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const QString text = QString::fromUtf8(readAll(html));
        const qsizetype story = text.indexOf(u"<h2>What happened</h2>"_s);
        const qsizetype episode = text.indexOf(u"1 blocking episode"_s);
        const qsizetype blocked = text.indexOf(QRegularExpression(u"<li><b>pid \\d+[^<]* blocked 1 session</b>"_s));
        const qsizetype scenario = text.indexOf(u"A scenario ran in this window: <b>smoke</b>"_s);
        const qsizetype glance = text.indexOf(u"<h2>At a glance</h2>"_s);
        QVERIFY2(story > 0 && episode > story && blocked > episode && scenario > blocked && glance > scenario,
            qPrintable(u"%1 %2 %3 %4 %5"_s.arg(story).arg(episode).arg(blocked).arg(scenario).arg(glance)));
        // A worst moment is read with the incident it fell in.
        QVERIFY(text.indexOf(u"<h3>Worst moments</h3>"_s) > story);
        QVERIFY(text.contains(QRegularExpression(u"<td>sessions waiting on a lock</td><td>[0-9]+ sessions?</td><td>[0-9:]+</td><td>[^<]*blocked[^<]*</td>"_s)));
        // An hour asked of seconds of history says so.
        QVERIFY(text.contains(u"The history holds "_s));
        // The scenario's client-side figures are its own, after the window's.
        QVERIFY(text.indexOf(u"<h3>Scenario smoke, measured by its clients"_s) > glance);
        // The locks at the end: the blocker first, then who waits for it.
        const qsizetype locks = text.indexOf(u"<h2>Locks at the end</h2>"_s);
        QVERIFY(locks > glance);
        QVERIFY(text.indexOf(u"nobody: a root blocker"_s, locks) > 0);
        QVERIFY(text.indexOf(u"nobody: a root blocker"_s, locks) < text.indexOf(u"Lock:transactionid"_s, locks));
    }

    void everyTableCellIsFilledOrSaysWhy()
    {
        const QString html = m_dir.filePath(u"cells.html"_s);
        const Run r = htapctl({u"snapshot"_s, u"export"_s, u"--history"_s, m_history, u"--conn"_s, m_conn, u"--last"_s, u"1h"_s,
            u"--out"_s, html});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const QString text = QString::fromUtf8(readAll(html));
        const QRegularExpressionMatch empty = QRegularExpression(u"<tr>(?:(?!</tr>).)*<td[^>]*>\\s*</td>.*?</tr>"_s).match(text);
        QVERIFY2(!empty.hasMatch(), qPrintable(empty.captured(0)));
        // The views' staleness and size (the columns were read under names the views do not have).
        const qsizetype views = text.indexOf(u"<h2>Materialized views</h2>"_s);
        const QString row = text.mid(text.indexOf(u"<td>public.sales_hourly_mv</td>"_s, views)).section(u"</tr>"_s, 0, 0);
        QVERIFY2(row.contains(QRegularExpression(u"<td>[0-9.,]+ (kB|MB|bytes)</td>"_s)), qPrintable(row));
        QVERIFY2(row.contains(QRegularExpression(u"<td( class=\"why\")?>([0-9.,]+ (ms|s|min|h)|[0-9]+ (min|h|d)( [0-9]+ (s|min|h))?|unknown: no refresh recorded)</td>"_s)),
            qPrintable(row));
        // A snapshot made without the server: the facts' tables say why they are empty.
        const QString offline = m_dir.filePath(u"nofacts.html"_s);
        QVERIFY(htapctl({u"snapshot"_s, u"export"_s, u"--history"_s, m_history, u"--no-facts"_s, u"--server"_s, m_server,
                            u"--last"_s, u"1h"_s, u"--out"_s, offline})
                    .code
            == 0);
        const QString bare = QString::fromUtf8(readAll(offline));
        QVERIFY(!QRegularExpression(u"<td[^>]*>\\s*</td>"_s).match(bare).hasMatch());
        QVERIFY2(bare.contains(u"This database has no materialized view."_s) || bare.contains(u"Not read"_s)
                || bare.contains(u"<p class=\"none\">"_s),
            "an empty table says why");
    }

    void chartAxesStartWhereTheDataStarts()
    {
        // An hour asked, seconds of history: the line spans the chart, not its last 1 %.
        const Snapshot s = build(m_start.addSecs(-3600), QDateTime::currentDateTimeUtc());
        ChartSpec sessions;
        for (const ChartSpec& c : reportCharts(s))
            if (c.id == u"sessions"_s)
                sessions = c;
        QCOMPARE(sessions.id, u"sessions"_s);
        const QImage image = renderChart(s, sessions, {960, 360});
        // Where the lines are: saturated pixels (the grid, axes and text are grey, an incident's
        // shade a pale tint), above the legend.
        int firstX = image.width(), lastX = -1;
        for (int y = image.height() / 8; y < image.height() * 3 / 4; ++y)
            for (int x = 0; x < image.width(); ++x) {
                const QColor c = image.pixelColor(x, y);
                if (c.hsvSaturationF() > 0.4 && c.valueF() < 0.95) {
                    firstX = std::min(firstX, x);
                    lastX = std::max(lastX, x);
                }
            }
        QVERIFY2(firstX < image.width() / 6 && lastX > image.width() * 5 / 6, qPrintable(u"%1..%2"_s.arg(firstX).arg(lastX)));
    }

    void pdfHoldsTheWholeReport()
    {
        const QString pdftotext = QStandardPaths::findExecutable(u"pdftotext"_s);
        QVERIFY2(!pdftotext.isEmpty(), "pdftotext is not installed (installer/setup.sh installs poppler-utils)");
        Snapshot s = build(m_start, QDateTime::currentDateTimeUtc());
        s.title = u"A title long enough to run off an A4 page when it is set in one line with the server and the window beside it"_s;
        const QString path = m_dir.filePath(u"whole.pdf"_s);
        QStringList written;
        QString error;
        QVERIFY2(exportSnapshot(s, Format::Pdf, path, &written, &error), qPrintable(error));
        QProcess p;
        p.start(pdftotext, {path, u"-"_s});
        QVERIFY(p.waitForFinished(60000));
        // Compatibility form: the ligatures a PDF's text may hold ("ﬀ", "ﬁ") as letters.
        const QString text = QString::fromUtf8(p.readAllStandardOutput()).normalized(QString::NormalizationForm_KC).simplified();
        for (const QString& part : {s.title, u"What happened"_s, u"Worst moments"_s, u"At a glance"_s, u"Summary"_s,
                 u"Locks at the end"_s, u"Vacuum at the end"_s, u"Materialized views"_s, u"Role settings"_s,
                 u"shared_buffers"_s, u"Extensions"_s, u"pg_stat_statements"_s})
            QVERIFY2(text.contains(part), qPrintable(part + u" is not in: "_s + text.left(600)));
        // And the charts, as images.
        const QString pdfimages = QStandardPaths::findExecutable(u"pdfimages"_s);
        QVERIFY(!pdfimages.isEmpty());
        p.start(pdfimages, {u"-list"_s, path});
        QVERIFY(p.waitForFinished(60000));
        const int images = int(QString::fromUtf8(p.readAllStandardOutput()).split(u'\n', Qt::SkipEmptyParts).size()) - 2;
        QVERIFY2(images >= reportCharts(s).size(), qPrintable(QString::number(images)));
    }

    void hugeValuesAreNeverWrittenWithExponents()
    {
        // A corrupt counter or a wrapped one: 1e300 in every series. Neither the CLI's table nor
        // the report prints "1e+300" or 309 digits.
        Snapshot s = build(m_start, QDateTime::currentDateTimeUtc());
        // Times too (the test's load is not OLTP or OLAP, so these series may be missing).
        const Series& any = s.series.first();
        for (const auto& [key, unit, chart] : {std::tuple {u"oltp.mean_ms"_s, u"ms"_s, u"latency"_s},
                 std::tuple {u"views.staleness_s.public.x"_s, u"s"_s, u"staleness"_s}})
            if (!s.seriesByKey(key))
                s.series.append(Series {key, key, unit, chart, any.t, any.v});
        for (Series& x : s.series)
            for (double& v : x.v)
                v = 1e300;
        const QString path = m_dir.filePath(u"huge.json"_s);
        QStringList written;
        QString error;
        QVERIFY2(exportSnapshot(s, Format::Json, path, &written, &error), qPrintable(error));
        for (const QStringList& args : {QStringList {u"snapshot"_s, u"show"_s, path}, QStringList {u"snapshot"_s, u"diff"_s, path, path}}) {
            const Run r = htapctl(args);
            QCOMPARE(r.code, 0);
            QVERIFY2(!r.out.contains(u"e+"_s), qPrintable(r.out));
            for (const QString& line : r.out.split(u'\n'))
                QVERIFY2(line.size() < 130, qPrintable(line));
        }
        QString html = QString::fromUtf8(toHtml(s));
        html.remove(QRegularExpression(u"<img [^>]*>"_s)); // base64 holds any letters
        QVERIFY2(!html.contains(QRegularExpression(u"\\d{16}"_s)), qPrintable(html.section(QRegularExpression(u"\\d{16}"_s), 0, 0).right(200)));
        QVERIFY2(!html.contains(QRegularExpression(u"\\de[+-]\\d"_s)), qPrintable(html.section(QRegularExpression(u"\\de[+-]\\d"_s), 0, 0).right(200)));
        QVERIFY2(html.contains(u"× 10^300"_s), "the huge figures are written as a person reads them");
        QVERIFY(exportSnapshot(s, Format::Pdf, m_dir.filePath(u"huge.pdf"_s), &written, &error));
    }

    void figuresReadTheSameEverywhere()
    {
        QCOMPARE(figureText(12.5, u"ms"_s), htap::core::formatSeconds(0.0125));
        QCOMPARE(figureText(1, u"sessions"_s), u"1 session"_s);
        QVERIFY2(figureText(1e300, u"ms"_s).size() < 30 && figureText(1e300, u"s"_s).size() < 30, qPrintable(figureText(1e300, u"ms"_s)));
        QCOMPARE(figureText(192, u"s"_s), u"3 min 12 s"_s);
        QCOMPARE(figureText(1820.4, u"1/s"_s), u"1,820/s"_s);
        QCOMPARE(figureText(4211, u"xids"_s), u"4,211 xids"_s);
        QCOMPARE(figureText(qQNaN(), u"ms"_s), u"–"_s);
        QVERIFY(!figureText(1e300, u"B/s"_s).contains(u"e+"_s));
        QVERIFY(figureText(1.5 * 1024 * 1024, u"B/s"_s).endsWith(u"MB/s"_s));
    }
};

QTEST_MAIN(TestSnapshot)
#include "tst_snapshot.moc"
