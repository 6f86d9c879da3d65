// Scenario files (htap-scenario): Scenario::fromJson, with a scenario folder that holds SQL
// files and profile sets, so that sqlFile and compare_profiles paths are read as well: beside them
// a FIFO, a folder, a file past the size limit, and links to a folder outside. A scenario that
// parses must read its SQL only from its folder or the allowed one, and serialise back and parse
// again to the same scenario; every error and warning names its JSON path.
#include "fuzzutil.h"

#include <roles/profile.h>
#include <workload/scenario.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>

#include <cmath>
#include <sys/stat.h>

using namespace Qt::StringLiterals;
using htap::fuzz::check;
using htap::workload::Scenario;

namespace {

QTemporaryDir* g_dir = nullptr;

QString folder()
{
    return g_dir->filePath(u"scenarios"_s);
}

void write(const QString& path, const QByteArray& bytes)
{
    QDir().mkpath(QFileInfo(path).path());
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size())
        htap::fuzz::fail("cannot write the scenario folder", path);
}

QString allowedFolder()
{
    return g_dir->filePath(u"allowed"_s);
}

/// The statements of the SQL files a scenario may name (in its folder, or in the folder given as
/// --allow-sql-from would be), as fromJson keeps them.
QStringList g_allowedStatements;

/// The resolved scenario as a scenario file: without the SQL text it adds.
QByteArray asFile(const Scenario& s)
{
    QJsonObject o = s.toJson();
    QJsonObject workloads = o.value(u"workloads"_s).toObject();
    for (auto it = workloads.begin(); it != workloads.end(); ++it) {
        QJsonObject w = it->toObject();
        w.remove(u"sql"_s);
        *it = w;
    }
    o.insert(u"workloads"_s, workloads);
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    htap::fuzz::quietQt();
    g_dir = new QTemporaryDir(QDir::tempPath() + u"/htap-fuzz-scenario-XXXXXX"_s);
    // The user's own profile sets come from here, not from the home folder.
    qputenv("XDG_DATA_HOME", g_dir->filePath(u"data"_s).toUtf8());
    write(folder() + u"/q.sql"_s, "SELECT count(*) FROM orders;\n");
    write(folder() + u"/sub/q.sql"_s, "SELECT 1");
    write(folder() + u"/empty.sql"_s, "");
    write(folder() + u"/semicolon.sql"_s, " ;\n");
    write(folder() + u"/latin1.sql"_s, "SELECT 'caf\xe9'");
    write(folder() + u"/big.sql"_s, "SELECT 1 " + QByteArray((1 << 20) + 1, ' '));
    write(allowedFolder() + u"/extra.sql"_s, "SELECT 'allowed'");
    g_allowedStatements = {u"SELECT count(*) FROM orders"_s, u"SELECT 1"_s, u"SELECT 'caf\ufffd'"_s, u"SELECT 'allowed'"_s};
    // What no scenario may read: a file beside the folder, reached by "..", a link or its path.
    write(g_dir->filePath(u"outside/secret.sql"_s), "SELECT 'outside'");
    QFile::link(g_dir->filePath(u"outside/secret.sql"_s), folder() + u"/link.sql"_s);
    QFile::link(g_dir->filePath(u"outside"_s), folder() + u"/linkdir"_s);
    if (::mkfifo(QFile::encodeName(folder() + u"/fifo.sql"_s).constData(), 0600) != 0
        || ::mkfifo(QFile::encodeName(folder() + u"/fifo.json"_s).constData(), 0600) != 0)
        htap::fuzz::fail("cannot make the FIFOs of the scenario folder");
    write(folder() + u"/p.json"_s, htap::roles::builtinProfileJson(u"seed-isolation"_s));
    write(folder() + u"/bad.json"_s, "{\"format\": ");
    QDir().mkpath(folder() + u"/dir.sql"_s);
    write(htap::roles::userProfileDir() + u"/mine.json"_s, htap::roles::builtinProfileJson(u"seed-isolation"_s));
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const QByteArray json = htap::fuzz::bytes(data, size);
    const QStringList sqlDirs {allowedFolder()};
    Scenario s;
    QStringList errors, warnings;
    const bool ok = Scenario::fromJson(json, &s, &errors, &warnings, folder(), sqlDirs);
    check(ok == errors.isEmpty(), "fromJson's result agrees with its errors", errors.join(u'\n'));
    for (const QString& m : std::as_const(errors) + warnings)
        check(m.startsWith(u'$'), "every error and warning names its JSON path", m);
    if (!ok)
        return 0;

    check(!s.workloads.isEmpty() && !s.phases.isEmpty(), "a valid scenario has workloads and phases");
    check(std::isfinite(s.totalSeconds()) && s.totalSeconds() > 0, "a valid scenario runs for some time",
        QString::number(s.totalSeconds()));
    check(s.effectiveThreads() >= 1, "at least one client thread");
    for (const auto& p : std::as_const(s.phases))
        for (auto it = p.demand.cbegin(); it != p.demand.cend(); ++it) {
            const auto* w = s.workload(it.key());
            check(w, "a phase's demand names a workload", it.key());
            check(it->from >= 0 && it->to >= 0 && (it->from > 0 || it->to > 0), "a demand is above zero");
            if (!w->open())
                check(it->from == it->to && it->from >= 1 && it->from <= w->connections,
                    "a closed loop's clients are within its connections");
        }
    for (const auto& w : std::as_const(s.workloads)) {
        check(w.connections >= 1 && w.connections <= 500, "connections in range");
        check(w.maxTries >= 1 && w.minItems >= 1 && w.minItems <= w.maxItems && w.maxItems <= 50, "tries and items in range");
        if (w.kind == htap::workload::Workload::Kind::Sql)
            check(g_allowedStatements.contains(w.sqlText), "a sql workload's statement comes from an allowed folder",
                w.sqlFile + u": "_s + w.sqlText);
    }

    // Serialised and read again: the same scenario.
    const QByteArray again = asFile(s);
    Scenario s2;
    QStringList errors2;
    check(Scenario::fromJson(again, &s2, &errors2, nullptr, folder(), sqlDirs), "the resolved scenario reads back",
        QString::fromUtf8(again) + u"\n"_s + errors2.join(u'\n'));
    check(s2.toJson() == s.toJson(), "the resolved scenario reads back the same",
        QString::fromUtf8(again) + u"\n"_s + QString::fromUtf8(QJsonDocument(s2.toJson()).toJson(QJsonDocument::Compact)));
    return 0;
}
