#include "scenario.h"

#include <core/inputfile.h>
#include <core/number.h>
#include <roles/profile.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>

#include <algorithm>
#include <cmath>
#include <thread>

namespace htap::workload {

using namespace Qt::StringLiterals;

namespace {

const QStringList kReportNames {u"hourly"_s, u"category"_s, u"rfm"_s, u"base_aggregation"_s, u"hourly_mv"_s};
const QStringList kIsolations {u"read committed"_s, u"repeatable read"_s, u"serializable"_s};

class Checker
{
public:
    QStringList errors;
    QStringList warnings;

    void error(const QString& path, const QString& what) { errors << path + u": "_s + what; }
    void warn(const QString& path, const QString& what) { warnings << path + u": "_s + what; }

    void onlyKeys(const QJsonObject& o, const QString& path, const QStringList& allowed)
    {
        for (auto it = o.begin(); it != o.end(); ++it)
            if (!allowed.contains(it.key()))
                error(path + u'.' + it.key(), u"unknown key (allowed: %1)"_s.arg(allowed.join(u", "_s)));
    }

    QString string(const QJsonObject& o, const QString& key, const QString& path, const QString& fallback,
        const QStringList& choices = {})
    {
        if (!o.contains(key))
            return fallback;
        const QJsonValue v = o.value(key);
        if (!v.isString()) {
            error(path + u'.' + key, u"must be a string"_s);
            return fallback;
        }
        if (!choices.isEmpty() && !choices.contains(v.toString())) {
            error(path + u'.' + key, u"must be one of %1, not \"%2\""_s.arg(choices.join(u", "_s), v.toString()));
            return fallback;
        }
        return v.toString();
    }

    double number(const QJsonObject& o, const QString& key, const QString& path, double fallback, double min,
        double max, bool minExclusive = false)
    {
        if (!o.contains(key))
            return fallback;
        const QJsonValue v = o.value(key);
        if (!v.isDouble()) {
            error(path + u'.' + key, u"must be a number"_s);
            return fallback;
        }
        const double d = v.toDouble();
        if (const QString problem = htap::core::numberProblem(d, {min, max, false, minExclusive}); !problem.isEmpty()) {
            error(path + u'.' + key, u"%1, not %2"_s.arg(problem, QString::number(d)));
            return fallback;
        }
        return d;
    }
};

QString arrivalName(Workload::Arrival a)
{
    switch (a) {
    case Workload::Arrival::Constant:
        return u"constant"_s;
    case Workload::Arrival::Poisson:
        return u"poisson"_s;
    case Workload::Arrival::Closed:
        break;
    }
    return u"closed"_s;
}

QString formName(Workload::OrderForm f)
{
    switch (f) {
    case Workload::OrderForm::RoundTrip:
        return u"roundtrip"_s;
    case Workload::OrderForm::Pipeline:
        return u"pipeline"_s;
    case Workload::OrderForm::Cte:
        break;
    }
    return u"cte"_s;
}

/// Where a workload's sqlFile is, or empty with *problem set: inside the scenario's folder or
/// one of sqlDirs, after resolving "..", symbolic links and absolute paths; a scenario file is
/// not a way to send another file of this machine to a server (and its log).
QString sqlFilePath(const QString& sqlFile, const QString& baseDir, const QStringList& sqlDirs, QString* problem)
{
    const QFileInfo given(sqlFile);
    if (given.isRelative() && baseDir.isEmpty() && sqlDirs.isEmpty()) {
        *problem = u"\"%1\": a built-in scenario has no folder to read SQL files from; save it as a file beside "
                   "the SQL file, or name the SQL file's folder with --allow-sql-from"_s.arg(sqlFile);
        return {};
    }
    QStringList candidates;
    if (given.isAbsolute())
        candidates << sqlFile;
    else {
        if (!baseDir.isEmpty())
            candidates << QDir(baseDir).filePath(sqlFile);
        for (const QString& d : sqlDirs)
            candidates << QDir(d).filePath(sqlFile);
    }
    QStringList allowed;
    const QStringList dirs = QStringList(sqlDirs) << baseDir;
    for (const QString& d : dirs)
        if (const QString real = QFileInfo(d).canonicalFilePath(); !d.isEmpty() && !real.isEmpty())
            allowed << real;
    bool exists = false;
    for (const QString& candidate : std::as_const(candidates)) {
        const QString real = QFileInfo(candidate).canonicalFilePath(); // "..", and links, resolved
        if (real.isEmpty())
            continue;
        exists = true;
        for (const QString& dir : std::as_const(allowed))
            if (real.startsWith(dir + u'/'))
                return real;
    }
    const QString where = baseDir.isEmpty() ? u"the folders given with --allow-sql-from"_s
                                            : u"the scenario's folder %1"_s.arg(QDir::cleanPath(baseDir));
    *problem = exists ? u"\"%1\" is outside %2; keep SQL files beside the scenario, or name their folder with "
                        "--allow-sql-from"_s.arg(sqlFile, where)
                      : u"cannot read \"%1\": no such file in %2"_s.arg(sqlFile, where);
    return {};
}

QString kindName(Workload::Kind k)
{
    switch (k) {
    case Workload::Kind::Order:
        return u"order"_s;
    case Workload::Kind::Report:
        return u"report"_s;
    case Workload::Kind::Refresh:
        return u"refresh"_s;
    case Workload::Kind::Sql:
        break;
    }
    return u"sql"_s;
}

} // namespace

QString targetName(Workload::Target target)
{
    switch (target) {
    case Workload::Target::Standby:
        return u"standby"_s;
    case Workload::Target::Router:
        return u"router"_s;
    case Workload::Target::Primary:
        break;
    }
    return u"primary"_s;
}

QStringList Scenario::limitProblems() const
{
    QStringList problems;
    for (int i = 0; i < phases.size(); ++i)
        for (auto it = phases[i].demand.cbegin(); it != phases[i].demand.cend(); ++it) {
            const Workload* w = workload(it.key());
            const double rate = std::max(it->from, it->to);
            if (w && w->open() && !(rate <= kMaxRate))
                problems << u"$.phases[%1].rates.%2: %3/s is more than the %4/s a workload can be scheduled at"_s.arg(
                    QString::number(i), it.key(), QString::number(rate, 'g', 6), QString::number(kMaxRate, 'f', 0));
        }
    const double total = totalSeconds();
    if (!(total <= kMaxTotalSeconds))
        problems << u"$.phases: the run would last %1 s, more than the %2 days a run may last"_s.arg(
            QString::number(total, 'g', 6), QString::number(kMaxTotalSeconds / 86400, 'f', 0));
    return problems;
}

double Scenario::totalSeconds() const
{
    double t = 0;
    for (const Phase& p : phases)
        t += p.durationSeconds;
    return t;
}

const Workload* Scenario::workload(const QString& name) const
{
    for (const Workload& w : workloads)
        if (w.name == name)
            return &w;
    return nullptr;
}

void Scenario::scale(double rateFactor, double durationFactor)
{
    for (Phase& p : phases) {
        p.durationSeconds *= durationFactor;
        for (auto it = p.demand.begin(); it != p.demand.end(); ++it) {
            const Workload* w = workload(it.key());
            if (w && w->open()) {
                it->from *= rateFactor;
                it->to *= rateFactor;
            }
        }
    }
}

void Scenario::resizeWorkload(const QString& name, int connections, double factor)
{
    auto w = std::find_if(workloads.begin(), workloads.end(), [&](const Workload& x) { return x.name == name; });
    if (w == workloads.end())
        return;
    w->connections = std::clamp(connections, 1, 500);
    for (Phase& p : phases) {
        auto it = p.demand.find(name);
        if (it == p.demand.end())
            continue;
        if (w->open()) {
            it->from *= factor;
            it->to *= factor;
        } else {
            it->from = it->to = std::clamp(std::round(it->from * factor), 1.0, double(w->connections));
        }
    }
}

QJsonObject Scenario::toJson() const
{
    QJsonObject ws;
    for (const Workload& w : workloads) {
        QJsonObject o {{u"kind"_s, kindName(w.kind)}, {u"connections"_s, w.connections},
            {u"isolation"_s, w.isolation}, {u"retries"_s, w.maxTries}};
        QJsonObject arrival {{u"model"_s, w.open() ? u"open"_s : u"closed"_s}};
        if (w.open())
            arrival.insert(u"process"_s, arrivalName(w.arrival));
        else
            arrival.insert(u"thinkMs"_s, w.thinkMs);
        o.insert(u"arrival"_s, arrival);
        if (w.kind == Workload::Kind::Order) {
            o.insert(u"form"_s, formName(w.form));
            o.insert(u"products"_s, w.zipfian ? u"zipfian"_s : u"uniform"_s);
            if (w.zipfian)
                o.insert(u"zipfS"_s, w.zipfS);
            if (w.minItems != 1 || w.maxItems != 5) // the seed's basket stays implicit: older builds read the file
                o.insert(u"items"_s, QJsonObject {{u"min"_s, w.minItems}, {u"max"_s, w.maxItems}});
        }
        if (w.kind == Workload::Kind::Report)
            o.insert(u"reports"_s, QJsonArray::fromStringList(w.reports));
        if (w.kind == Workload::Kind::Sql) {
            o.insert(u"sqlFile"_s, w.sqlFile);
            o.insert(u"sql"_s, w.sqlText);
        }
        if (w.kind == Workload::Kind::Refresh) {
            o.insert(u"views"_s, QJsonArray::fromStringList(w.views));
            o.insert(u"mode"_s, w.refreshMode);
        }
        if (!w.role.isEmpty())
            o.insert(u"role"_s, w.role);
        if (w.sloP99Ms > 0)
            o.insert(u"slo"_s, QJsonObject {{u"p99Ms"_s, w.sloP99Ms}});
        if (w.skipIfLaterThanMs > 0)
            o.insert(u"skipIfLaterThanMs"_s, w.skipIfLaterThanMs);
        if (w.holdSeconds > 0)
            o.insert(u"holdSeconds"_s, w.holdSeconds);
        if (w.target != Workload::Target::Primary) // the default stays implicit: older builds read the file
            o.insert(u"target"_s, targetName(w.target));
        if (w.freshnessSeconds >= 0)
            o.insert(u"freshness_s"_s, w.freshnessSeconds);
        ws.insert(w.name, o);
    }
    QJsonArray ps;
    for (const Phase& p : phases) {
        QJsonObject rates;
        for (auto it = p.demand.cbegin(); it != p.demand.cend(); ++it)
            rates.insert(it.key(), it->from == it->to ? QJsonValue(it->from)
                                                      : QJsonValue(QJsonObject {{u"from"_s, it->from}, {u"to"_s, it->to}}));
        ps.append(QJsonObject {{u"name"_s, p.name}, {u"durationSeconds"_s, p.durationSeconds}, {u"warmup"_s, p.warmup},
            {u"rates"_s, rates}});
    }
    QJsonObject o {{u"format"_s, QString::fromLatin1(kScenarioFormat)}, {u"version"_s, kScenarioVersion}, {u"name"_s, name},
        {u"description"_s, description}, {u"seed"_s, double(seed)}, {u"workloads"_s, ws}, {u"phases"_s, ps}};
    if (!compareProfiles.isEmpty())
        o.insert(u"compare_profiles"_s, compareProfiles);
    if (threads > 0)
        o.insert(u"threads"_s, threads);
    return o;
}

int Scenario::effectiveThreads() const
{
    return threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
}

bool Scenario::fromJson(const QByteArray& json, Scenario* out, QStringList* errors, QStringList* warnings,
    const QString& baseDir, const QStringList& sqlDirs)
{
    Checker c;
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        // Report a line and column, which is what an editor shows.
        const QByteArray before = json.left(parseError.offset);
        const int line = int(before.count('\n')) + 1;
        const int column = int(parseError.offset - before.lastIndexOf('\n'));
        c.error(u"$"_s, u"invalid JSON at line %1, column %2: %3"_s.arg(line).arg(column).arg(parseError.errorString()));
    } else if (!doc.isObject()) {
        c.error(u"$"_s, u"must be a JSON object"_s);
    }
    Scenario s;
    if (c.errors.isEmpty()) {
        const QJsonObject root = doc.object();
        c.onlyKeys(root, u"$"_s, {u"format"_s, u"version"_s, u"name"_s, u"description"_s, u"seed"_s, u"workloads"_s, u"phases"_s,
                                     u"compare_profiles"_s, u"threads"_s});
        if (root.value(u"format"_s).toString() != QString::fromLatin1(kScenarioFormat))
            c.error(u"$.format"_s, u"must be \"%1\""_s.arg(QString::fromLatin1(kScenarioFormat)));
        if (root.value(u"version"_s).toInt(-1) != kScenarioVersion)
            c.error(u"$.version"_s, u"must be %1 (this build reads scenario version %1)"_s.arg(kScenarioVersion));
        s.name = c.string(root, u"name"_s, u"$"_s, QString());
        if (s.name.trimmed().isEmpty())
            c.error(u"$.name"_s, u"is required"_s);
        s.description = c.string(root, u"description"_s, u"$"_s, QString());
        s.compareProfiles = c.string(root, u"compare_profiles"_s, u"$"_s, QString());
        if (!s.compareProfiles.isEmpty()) {
            const bool isFile = s.compareProfiles.contains(u'/') || s.compareProfiles.endsWith(u".json"_s);
            if (isFile && !baseDir.isEmpty() && QFileInfo(s.compareProfiles).isRelative())
                s.compareProfiles = QDir(baseDir).filePath(s.compareProfiles);
            htap::roles::ProfileSet set;
            QStringList profileErrors;
            if (!htap::roles::loadProfileSet(s.compareProfiles, &set, &profileErrors))
                c.error(u"$.compare_profiles"_s, profileErrors.join(u"; "_s));
        }
        s.seed = quint64(c.number(root, u"seed"_s, u"$"_s, 42, 0, 9007199254740991.0));
        const double threads = c.number(root, u"threads"_s, u"$"_s, 0, 0, 256);
        if (threads != std::floor(threads))
            c.error(u"$.threads"_s, u"must be a whole number (0: one per CPU core)"_s);
        else
            s.threads = int(threads);

        const QJsonValue wv = root.value(u"workloads"_s);
        if (!wv.isObject() || wv.toObject().isEmpty())
            c.error(u"$.workloads"_s, u"must be an object with at least one workload"_s);
        const QJsonObject wobj = wv.toObject();
        for (auto it = wobj.begin(); it != wobj.end(); ++it) {
            const QString path = u"$.workloads."_s + it.key();
            if (!it.value().isObject()) {
                c.error(path, u"must be an object"_s);
                continue;
            }
            const QJsonObject o = it.value().toObject();
            c.onlyKeys(o, path, {u"kind"_s, u"form"_s, u"products"_s, u"zipfS"_s, u"reports"_s, u"sqlFile"_s,
                                    u"arrival"_s, u"connections"_s, u"role"_s, u"isolation"_s, u"slo"_s, u"retries"_s,
                                    u"skipIfLaterThanMs"_s, u"holdSeconds"_s, u"views"_s, u"mode"_s, u"items"_s,
                                    u"target"_s, u"freshness_s"_s});
            Workload w;
            w.name = it.key();
            const QString kind = c.string(o, u"kind"_s, path, QString(), {u"order"_s, u"report"_s, u"sql"_s, u"refresh"_s});
            if (!o.contains(u"kind"_s))
                c.error(path + u".kind"_s, u"is required (order, report, sql or refresh)"_s);
            w.kind = kind == u"report"_s ? Workload::Kind::Report
                : kind == u"sql"_s       ? Workload::Kind::Sql
                : kind == u"refresh"_s   ? Workload::Kind::Refresh
                                         : Workload::Kind::Order;
            if (w.kind == Workload::Kind::Refresh) {
                const QJsonValue v = o.value(u"views"_s);
                if (!v.isArray() || v.toArray().isEmpty())
                    c.error(path + u".views"_s, u"must list one or more materialized views, e.g. [\"sales_hourly_mv\"]"_s);
                for (int i = 0; i < v.toArray().size(); ++i) {
                    const QString name = v.toArray().at(i).toString();
                    if (name.trimmed().isEmpty())
                        c.error(path + u".views[%1]"_s.arg(i), u"must be a view name"_s);
                    w.views << name;
                }
                w.refreshMode = c.string(o, u"mode"_s, path, QString(), {u"plain"_s, u"concurrent"_s, u"incremental"_s});
                if (!o.contains(u"mode"_s))
                    c.error(path + u".mode"_s, u"is required for kind refresh (plain, concurrent or incremental)"_s);
            } else if (o.contains(u"views"_s) || o.contains(u"mode"_s)) {
                c.error(path + (o.contains(u"views"_s) ? u".views"_s : u".mode"_s), u"applies to kind refresh only"_s);
            }
            const QString form = c.string(o, u"form"_s, path, u"roundtrip"_s, {u"roundtrip"_s, u"pipeline"_s, u"cte"_s});
            w.form = form == u"pipeline"_s ? Workload::OrderForm::Pipeline
                : form == u"cte"_s          ? Workload::OrderForm::Cte
                                            : Workload::OrderForm::RoundTrip;
            w.zipfian = c.string(o, u"products"_s, path, u"uniform"_s, {u"uniform"_s, u"zipfian"_s}) == u"zipfian"_s;
            w.zipfS = c.number(o, u"zipfS"_s, path, 1.1, 0, 10, true);
            if (o.contains(u"items"_s)) {
                // A fixed basket size (3, as pgbench scripts have) or a range {"min": 1, "max": 5}.
                const QJsonValue v = o.value(u"items"_s);
                const QString ipath = path + u".items"_s;
                double lo = 0, hi = 0;
                if (v.isDouble()) {
                    lo = hi = v.toDouble();
                } else if (v.isObject()) {
                    c.onlyKeys(v.toObject(), ipath, {u"min"_s, u"max"_s});
                    lo = c.number(v.toObject(), u"min"_s, ipath, 1, 1, 50);
                    hi = c.number(v.toObject(), u"max"_s, ipath, 5, 1, 50);
                } else {
                    c.error(ipath, u"must be a number of items or {\"min\": 1, \"max\": 5}"_s);
                }
                if (w.kind != Workload::Kind::Order)
                    c.error(ipath, u"applies to kind order only"_s);
                else if (lo != std::floor(lo) || hi != std::floor(hi) || lo < 1 || hi > 50 || lo > hi)
                    c.error(ipath, u"must be whole numbers of items from 1 to 50, min not above max"_s);
                else {
                    w.minItems = int(lo);
                    w.maxItems = int(hi);
                }
            }
            if (w.kind == Workload::Kind::Report) {
                const QJsonValue r = o.value(u"reports"_s);
                if (!r.isArray() || r.toArray().isEmpty())
                    c.error(path + u".reports"_s, u"must list one or more of %1"_s.arg(kReportNames.join(u", "_s)));
                for (int i = 0; i < r.toArray().size(); ++i) {
                    const QString name = r.toArray().at(i).toString();
                    if (!kReportNames.contains(name))
                        c.error(path + u".reports[%1]"_s.arg(i), u"unknown report \"%1\" (known: %2)"_s.arg(name, kReportNames.join(u", "_s)));
                    w.reports << name;
                }
            }
            if (w.kind == Workload::Kind::Sql) {
                w.sqlFile = c.string(o, u"sqlFile"_s, path, QString());
                if (w.sqlFile.isEmpty()) {
                    c.error(path + u".sqlFile"_s, u"is required for kind sql"_s);
                } else {
                    QString problem;
                    const QString file = sqlFilePath(w.sqlFile, baseDir, sqlDirs, &problem);
                    QByteArray bytes;
                    if (file.isEmpty())
                        c.error(path + u".sqlFile"_s, problem);
                    else if (!htap::core::readInputFile(file, htap::core::kMaxSqlFileBytes, u"SQL file"_s, &bytes, &problem))
                        c.error(path + u".sqlFile"_s, problem);
                    else {
                        // Empty is also a file of only ";": the ';' goes before the check.
                        w.sqlText = QString::fromUtf8(bytes).trimmed();
                        if (w.sqlText.endsWith(u';'))
                            w.sqlText.chop(1);
                        if (w.sqlText.trimmed().isEmpty())
                            c.error(path + u".sqlFile"_s, u"%1 is empty"_s.arg(file));
                    }
                }
            }
            const QJsonObject arrival = o.value(u"arrival"_s).toObject();
            if (!o.value(u"arrival"_s).isObject())
                c.error(path + u".arrival"_s, u"is required: {\"model\": \"open\", \"process\": \"poisson\"} or {\"model\": \"closed\"}"_s);
            c.onlyKeys(arrival, path + u".arrival"_s, {u"model"_s, u"process"_s, u"thinkMs"_s});
            const QString model = c.string(arrival, u"model"_s, path + u".arrival"_s, u"open"_s, {u"open"_s, u"closed"_s});
            if (model == u"closed"_s) {
                w.arrival = Workload::Arrival::Closed;
                w.thinkMs = c.number(arrival, u"thinkMs"_s, path + u".arrival"_s, 0, 0, 3600000);
                if (arrival.contains(u"process"_s))
                    c.error(path + u".arrival.process"_s, u"applies to the open model only"_s);
            } else {
                w.arrival = c.string(arrival, u"process"_s, path + u".arrival"_s, u"poisson"_s, {u"constant"_s, u"poisson"_s})
                        == u"constant"_s
                    ? Workload::Arrival::Constant
                    : Workload::Arrival::Poisson;
                if (arrival.contains(u"thinkMs"_s))
                    c.error(path + u".arrival.thinkMs"_s, u"applies to the closed model only"_s);
            }
            w.connections = int(c.number(o, u"connections"_s, path, 4, 1, 500));
            w.role = c.string(o, u"role"_s, path, QString());
            const bool readCommitted = w.kind == Workload::Kind::Order || w.kind == Workload::Kind::Refresh;
            w.isolation = c.string(o, u"isolation"_s, path, readCommitted ? u"read committed"_s : u"repeatable read"_s, kIsolations);
            // Refreshes are measured in read committed, the level their connection is set to;
            // another level is refused, not accepted and left unused.
            if (w.kind == Workload::Kind::Refresh && w.isolation != u"read committed"_s)
                c.error(path + u".isolation"_s, u"a refresh runs in read committed; leave isolation out or give \"read committed\""_s);
            if (o.contains(u"slo"_s)) {
                const QJsonObject slo = o.value(u"slo"_s).toObject();
                c.onlyKeys(slo, path + u".slo"_s, {u"p99Ms"_s});
                w.sloP99Ms = c.number(slo, u"p99Ms"_s, path + u".slo"_s, 0, 0, 3600000, true);
            }
            w.maxTries = int(c.number(o, u"retries"_s, path, 3, 1, 100));
            w.skipIfLaterThanMs = c.number(o, u"skipIfLaterThanMs"_s, path, 0, 0, 3600000);
            w.holdSeconds = c.number(o, u"holdSeconds"_s, path, 0, 0, 86400);
            if (w.holdSeconds > 0 && w.kind == Workload::Kind::Order)
                c.error(path + u".holdSeconds"_s, u"applies to report and sql workloads (a long analytic snapshot)"_s);
            const QString target = c.string(o, u"target"_s, path, u"primary"_s, {u"primary"_s, u"standby"_s, u"router"_s});
            w.target = target == u"standby"_s ? Workload::Target::Standby
                : target == u"router"_s       ? Workload::Target::Router
                                              : Workload::Target::Primary;
            // A standby takes no writes; the router would send every statement of an order or a
            // refresh to the primary anyway, so saying otherwise is a mistake worth naming.
            if (w.target != Workload::Target::Primary && (w.kind == Workload::Kind::Order || w.kind == Workload::Kind::Refresh))
                c.error(path + u".target"_s, u"%1 workload writes: it runs on the primary (target %2 applies to report and sql "
                                             "workloads); leave target out or give \"primary\""_s.arg(
                                                 w.kind == Workload::Kind::Order ? u"an order"_s : u"a refresh"_s, target));
            if (o.contains(u"freshness_s"_s)) {
                w.freshnessSeconds = c.number(o, u"freshness_s"_s, path, -1, 0, 86400);
                if (w.target != Workload::Target::Router)
                    c.error(path + u".freshness_s"_s, u"applies to target router only (the budget it routes reads by)"_s);
            }
            s.workloads.append(w);
        }

        const QJsonValue pv = root.value(u"phases"_s);
        if (!pv.isArray() || pv.toArray().isEmpty())
            c.error(u"$.phases"_s, u"must be a list of one or more phases"_s);
        const QJsonArray parr = pv.toArray();
        QSet<QString> phaseNames;
        for (int i = 0; i < parr.size(); ++i) {
            const QString path = u"$.phases[%1]"_s.arg(i);
            const QJsonObject o = parr.at(i).toObject();
            c.onlyKeys(o, path, {u"name"_s, u"durationSeconds"_s, u"warmup"_s, u"rates"_s});
            Phase p;
            p.name = c.string(o, u"name"_s, path, u"phase %1"_s.arg(i + 1));
            if (phaseNames.contains(p.name))
                c.error(path + u".name"_s, u"\"%1\" is used by an earlier phase"_s.arg(p.name));
            phaseNames.insert(p.name);
            if (!o.contains(u"durationSeconds"_s))
                c.error(path + u".durationSeconds"_s, u"is required"_s);
            p.durationSeconds = c.number(o, u"durationSeconds"_s, path, 0, 0, 7 * 86400, true);
            p.warmup = o.value(u"warmup"_s).toBool(false);
            const QJsonObject rates = o.value(u"rates"_s).toObject();
            if (rates.isEmpty())
                c.warn(path + u".rates"_s, u"no workload runs in this phase"_s);
            for (auto it = rates.begin(); it != rates.end(); ++it) {
                const QString rpath = path + u".rates."_s + it.key();
                const Workload* w = s.workload(it.key());
                if (!w) {
                    c.error(rpath, u"no workload named \"%1\""_s.arg(it.key()));
                    continue;
                }
                Demand d;
                if (it.value().isDouble()) {
                    d.from = d.to = it.value().toDouble();
                } else if (it.value().isObject()) {
                    const QJsonObject ramp = it.value().toObject();
                    c.onlyKeys(ramp, rpath, {u"from"_s, u"to"_s});
                    if (!ramp.contains(u"from"_s) || !ramp.contains(u"to"_s))
                        c.error(rpath, u"a ramp needs both \"from\" and \"to\""_s);
                    d.from = ramp.value(u"from"_s).toDouble(-1);
                    d.to = ramp.value(u"to"_s).toDouble(-1);
                    if (!w->open())
                        c.error(rpath, u"a closed-loop workload takes a number of clients, not a ramp"_s);
                } else {
                    c.error(rpath, u"must be a rate (a number) or a ramp {\"from\": r1, \"to\": r2}"_s);
                    continue;
                }
                if (!(d.from >= 0 && d.to >= 0) || (d.from == 0 && d.to == 0)) {
                    c.error(rpath, u"must be above zero (leave the workload out of the phase to idle it)"_s);
                    continue;
                }
                if (w->open() && std::max(d.from, d.to) > Scenario::kMaxRate) {
                    c.error(rpath, u"%1/s is more than the %2/s a workload can be scheduled at"_s.arg(
                                       QString::number(std::max(d.from, d.to), 'g', 6), QString::number(Scenario::kMaxRate, 'f', 0)));
                    continue;
                }
                if (!w->open()) {
                    if (d.from != std::floor(d.from) || d.from > w->connections)
                        c.error(rpath, u"a closed-loop workload takes a whole number of clients, 1 to its %1 connections"_s.arg(w->connections));
                } else if (w->kind == Workload::Kind::Order && std::max(d.from, d.to) > w->connections * 2000.0) {
                    c.warn(rpath, u"%1/s from %2 connections is beyond what they can serve; the run will count late "
                                  "and skipped requests"_s.arg(std::max(d.from, d.to)).arg(w->connections));
                }
                p.demand.insert(it.key(), d);
            }
            s.phases.append(p);
        }
        if (c.errors.isEmpty())
            c.errors << s.limitProblems();
        for (const Workload& w : std::as_const(s.workloads)) {
            bool used = false;
            for (const Phase& p : std::as_const(s.phases))
                used |= p.demand.contains(w.name);
            if (!used)
                c.warn(u"$.workloads."_s + w.name, u"no phase runs it"_s);
        }
    }
    if (errors)
        *errors = c.errors;
    if (warnings)
        *warnings = c.warnings;
    if (!c.errors.isEmpty())
        return false;
    *out = s;
    return true;
}

QStringList presetNames()
{
    QStringList names;
    for (const QString& f : QDir(u":/scenarios"_s).entryList({u"*.json"_s}, QDir::Files, QDir::Name))
        names << f.chopped(5);
    return names;
}

QByteArray presetJson(const QString& name)
{
    QFile f(u":/scenarios/%1.json"_s.arg(name));
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace htap::workload
