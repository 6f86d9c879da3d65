// Performance snapshots from a real history: samples of the test sandbox written by
// `htapctl monitor --history`, exported and read back (the same numbers), the CSV parsed back,
// the HTML report opened in headless Chromium with every chart image decoded, old, corrupt,
// truncated and foreign files refused, an unwritable target leaving nothing behind, an empty
// window and one before the history starts, and two snapshots compared.
#include "testutil.h"

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

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_history = m_dir.filePath(u"history.sqlite"_s);
        m_conn = htap::test::sandboxConnInfo().toConnString();
        m_start = QDateTime::currentDateTimeUtc().addSecs(-1);
        // Real samples of the sandbox under a little load, kept the way the GUI keeps them.
        QProcess load;
        load.start(u"psql"_s, {m_conn, u"-Xqc"_s, u"SELECT count(*) FROM orders o JOIN order_items i USING (order_id), pg_sleep(1) GROUP BY o.status"_s});
        const Run r = htapctl({u"monitor"_s, u"--conn"_s, m_conn, u"--interval"_s, u"0.5"_s, u"--duration"_s, u"6"_s,
            u"--history"_s, m_history, u"--out"_s, m_dir.filePath(u"samples.jsonl"_s)});
        load.waitForFinished();
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QString error;
        const QStringList servers = htap::store::HistoryFile(m_history).servers(&error);
        QVERIFY2(servers.size() == 1, qPrintable(error + servers.join(u", "_s)));
        m_server = servers.first();
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
};

QTEST_MAIN(TestSnapshot)
#include "tst_snapshot.moc"
