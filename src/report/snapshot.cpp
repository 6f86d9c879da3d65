#include "snapshot.h"

#include <core/format.h>
#include <core/inputfile.h>
#include <pg/statementtext.h>

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLocale>
#include <QMap>

#include <algorithm>
#include <cmath>
#include <limits>

namespace htap::report {

using namespace Qt::StringLiterals;

namespace {

double percentile(QVector<double> v, double q)
{
    v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
    if (v.isEmpty())
        return qQNaN();
    std::sort(v.begin(), v.end());
    const qsizetype i = std::clamp<qsizetype>(qsizetype(std::ceil(q * double(v.size()))) - 1, 0, v.size() - 1);
    return v[i];
}

double mean(const QVector<double>& v)
{
    double sum = 0;
    int n = 0;
    for (double x : v)
        if (std::isfinite(x)) {
            sum += x;
            ++n;
        }
    return n ? sum / n : qQNaN();
}

double maximum(const QVector<double>& v)
{
    double m = qQNaN();
    for (double x : v)
        if (std::isfinite(x) && !(x <= m))
            m = x;
    return m;
}

QJsonValue number(double v)
{
    return std::isfinite(v) ? QJsonValue(v) : QJsonValue();
}

/// Every statement text in a sample document through the one masking function: a history or a
/// snapshot file written by an older build may hold them as the server gave them.
QJsonValue masked(const QJsonValue& v)
{
    if (v.isArray()) {
        QJsonArray a = v.toArray();
        for (auto it = a.begin(); it != a.end(); ++it)
            *it = masked(*it);
        return a;
    }
    if (!v.isObject())
        return v;
    QJsonObject o = v.toObject();
    for (auto it = o.begin(); it != o.end(); ++it) {
        if (it.key() == u"query"_s && it->isString()) {
            *it = htap::pg::maskStatement(it->toString());
        } else if (it.key() == u"detail"_s && it->isString() && o.value(u"kind"_s).toString() == u"backend"_s) {
            // "client backend: <statement>" (the xmin holders)
            const QString d = it->toString();
            const qsizetype colon = d.indexOf(u": "_s);
            if (colon >= 0)
                *it = QString(d.left(colon + 2) + htap::pg::maskStatement(d.mid(colon + 2)));
        } else {
            *it = masked(*it);
        }
    }
    return o;
}

double numberOf(const QJsonValue& v)
{
    return v.isDouble() ? v.toDouble() : qQNaN();
}

QString csvField(const QString& s)
{
    if (!s.contains(u',') && !s.contains(u'"') && !s.contains(u'\n'))
        return s;
    return u'"' + QString(s).replace(u"\""_s, u"\"\""_s) + u'"';
}

QDateTime parseTime(const QString& s)
{
    return QDateTime::fromString(s, Qt::ISODateWithMs).toUTC();
}

/// Collects the series of all samples; a series exists once it has a value.
class SeriesBuilder
{
public:
    void add(const QString& key, const QString& label, const QString& unit, const QString& chart, qint64 t, double v)
    {
        if (!std::isfinite(v))
            return;
        auto it = m_index.constFind(key);
        if (it == m_index.cend()) {
            m_series.append(Series {key, label, unit, chart, {}, {}});
            it = m_index.insert(key, int(m_series.size()) - 1);
        }
        Series& s = m_series[*it];
        s.t.append(t);
        s.v.append(v);
    }
    QList<Series> take() { return std::move(m_series); }

private:
    QList<Series> m_series;
    QHash<QString, int> m_index;
};

} // namespace

bool Series::isEmpty() const
{
    return v.isEmpty();
}

const Series* Snapshot::seriesByKey(const QString& key) const
{
    for (const Series& s : series)
        if (s.key == key)
            return &s;
    return nullptr;
}

std::pair<qint64, qint64> Snapshot::dataSpan() const
{
    qint64 first = std::numeric_limits<qint64>::max(), last = std::numeric_limits<qint64>::min();
    for (const Series& x : series)
        for (int i = 0; i < x.t.size(); ++i)
            if (std::isfinite(x.v[i])) {
                first = std::min(first, x.t[i]);
                last = std::max(last, x.t[i]);
            }
    if (first > last) // no series: the samples' own times, else the window asked for
        for (const QJsonObject& doc : samples) {
            const QDateTime at = parseTime(doc.value(u"sampledAt"_s).toString());
            if (at.isValid()) {
                first = std::min(first, at.toMSecsSinceEpoch());
                last = std::max(last, at.toMSecsSinceEpoch());
            }
        }
    if (first > last)
        return {from.toMSecsSinceEpoch(), to.toMSecsSinceEpoch()};
    return {first, last};
}

QList<QJsonObject> Snapshot::samplesToReplay() const
{
    QList<QJsonObject> out = samples;
    if (out.size() < 2)
        return out;
    QJsonObject last = out.constLast();
    for (auto it = out.crbegin() + 1; it != out.crend(); ++it)
        for (auto k = it->begin(); k != it->end(); ++k)
            if (k->isObject() && !last.contains(k.key())) // sections, not a flag such as gapBefore
                last.insert(k.key(), k.value());
    out.last() = last;
    return out;
}

QString figureText(double value, const QString& unit)
{
    using namespace htap::core;
    if (!std::isfinite(value))
        return std::isnan(value) ? u"–"_s : formatNumber(value) + (unit.isEmpty() ? QString() : u' ' + unit);
    // Past a thousand years a time is a broken counter, not a span: the number as it is.
    const bool time = unit == u"ms"_s || unit == u"s"_s;
    if (time && std::fabs(value) >= (unit == u"ms"_s ? 3.2e13 : 3.2e10))
        return formatNumber(value) + u' ' + unit;
    if (unit == u"ms"_s)
        return formatSeconds(value / 1000);
    if (unit == u"s"_s)
        return value < 60 ? formatSeconds(value) : formatDuration(value);
    if (unit == u"1/s"_s)
        return formatNumber(value) + u"/s"_s;
    if (unit == u"B/s"_s || unit == u"bytes/s"_s || unit == u"bytes"_s || unit == u"B"_s) {
        // formattedDataSize takes whole bytes: past a petabyte, the plain figure.
        const QString size = std::fabs(value) < 1e15
            ? QLocale::c().formattedDataSize(qint64(std::llround(value)), 1, QLocale::DataSizeTraditionalFormat)
            : formatNumber(value) + u" bytes"_s;
        return unit.endsWith(u"/s"_s) ? size + u"/s"_s : size;
    }
    if (unit == u"%"_s)
        return formatNumber(value) + u" %"_s;
    if (unit.isEmpty())
        return formatNumber(value);
    // "1 session", "1 xid": the counted units in the singular for one.
    static const QStringList counted {u"sessions"_s, u"tuples"_s, u"xids"_s, u"transactions"_s};
    return formatNumber(value) + u' ' + (value == 1 && counted.contains(unit) ? unit.chopped(1) : unit);
}

bool Snapshot::build(Snapshot* s, QString* error)
{
    if (s->samples.isEmpty()) {
        *error = u"no samples between %1 and %2"_s.arg(s->from.toString(Qt::ISODate), s->to.toString(Qt::ISODate));
        return false;
    }
    for (QJsonObject& doc : s->samples)
        doc = masked(doc).toObject();
    SeriesBuilder b;
    for (const QJsonObject& doc : std::as_const(s->samples)) {
        const qint64 t = parseTime(doc.value(u"sampledAt"_s).toString()).toMSecsSinceEpoch();
        const QJsonObject a = doc.value(u"activity"_s).toObject();
        if (a.value(u"hasRates"_s).toBool()) {
            b.add(u"activity.commits_per_s"_s, u"commits/s"_s, u"1/s"_s, u"throughput"_s, t, numberOf(a.value(u"commitsPerSecond"_s)));
            b.add(u"activity.rollbacks_per_s"_s, u"rollbacks/s"_s, u"1/s"_s, u"throughput"_s, t, numberOf(a.value(u"rollbacksPerSecond"_s)));
            b.add(u"activity.wal_bytes_per_s"_s, u"WAL bytes/s"_s, u"B/s"_s, u"wal"_s, t, numberOf(a.value(u"walBytesPerSecond"_s)));
        }
        if (!a.isEmpty()) {
            const QJsonObject sessions = a.value(u"sessions"_s).toObject();
            b.add(u"sessions.active"_s, u"active"_s, u"sessions"_s, u"sessions"_s, t, numberOf(sessions.value(u"active"_s)));
            b.add(u"sessions.idle_in_transaction"_s, u"idle in transaction"_s, u"sessions"_s, u"sessions"_s, t,
                numberOf(sessions.value(u"idleInTransaction"_s)));
            b.add(u"sessions.waiting_on_lock"_s, u"waiting on a lock"_s, u"sessions"_s, u"sessions"_s, t,
                numberOf(a.value(u"waitingOnLock"_s)));
        }
        const QJsonObject latency = doc.value(u"latency"_s).toObject();
        if (latency.value(u"hasDeltas"_s).toBool()) {
            for (const QJsonValue& v : latency.value(u"classes"_s).toArray()) {
                const QJsonObject c = v.toObject();
                const QString name = c.value(u"name"_s).toString();
                if (name != u"oltp"_s && name != u"olap"_s)
                    continue;
                const QString upper = name.toUpper();
                if (numberOf(c.value(u"calls"_s)) > 0)
                    b.add(name + u".mean_ms"_s, upper + u" mean statement time"_s, u"ms"_s, u"latency"_s, t,
                        numberOf(c.value(u"meanExecMs"_s)) + c.value(u"meanPlanMs"_s).toDouble(0));
                b.add(name + u".calls_per_s"_s, upper + u" statements/s"_s, u"1/s"_s, u"statements"_s, t,
                    numberOf(c.value(u"callsPerSecond"_s)));
            }
        }
        if (doc.contains(u"vacuum"_s)) {
            const QJsonObject vac = doc.value(u"vacuum"_s).toObject();
            b.add(u"vacuum.horizon_age"_s, u"xmin horizon age"_s, u"xids"_s, u"horizon"_s, t, numberOf(vac.value(u"horizonAge"_s)));
            double worst = 0, dead = 0;
            for (const QJsonValue& tv : vac.value(u"tables"_s).toArray()) {
                worst = std::max(worst, tv.toObject().value(u"pctOfTrigger"_s).toDouble());
                dead += tv.toObject().value(u"deadTuples"_s).toDouble();
            }
            b.add(u"vacuum.worst_pct_of_trigger"_s, u"dead tuples, worst table (% of its autovacuum trigger)"_s, u"%"_s,
                u"vacuum"_s, t, worst);
            b.add(u"vacuum.dead_tuples"_s, u"dead tuples, all tables"_s, u"tuples"_s, u"dead"_s, t, dead);
        }
        for (const QJsonValue& vv : doc.value(u"views"_s).toObject().value(u"views"_s).toArray()) {
            const QJsonObject v = vv.toObject();
            if (v.value(u"stalenessSeconds"_s).isDouble())
                b.add(u"views.staleness_s."_s + v.value(u"view"_s).toString(), v.value(u"view"_s).toString(), u"s"_s,
                    u"staleness"_s, t, numberOf(v.value(u"stalenessSeconds"_s)));
        }
        double lag = qQNaN();
        for (const QJsonValue& sv : doc.value(u"replication"_s).toObject().value(u"standbys"_s).toArray())
            lag = std::isfinite(lag) ? std::max(lag, sv.toObject().value(u"replayLagSeconds"_s).toDouble())
                                     : sv.toObject().value(u"replayLagSeconds"_s).toDouble();
        b.add(u"replication.replay_lag_s"_s, u"replay lag, worst standby"_s, u"s"_s, u"replication"_s, t, lag);
    }
    s->series = b.take();
    for (auto it = s->samples.crbegin(); it != s->samples.crend(); ++it)
        if (s->locksAtEnd.isEmpty() && it->contains(u"locks"_s))
            s->locksAtEnd = it->value(u"locks"_s).toObject();
    for (auto it = s->samples.crbegin(); it != s->samples.crend(); ++it)
        if (s->vacuumAtEnd.isEmpty() && it->contains(u"vacuum"_s))
            s->vacuumAtEnd = it->value(u"vacuum"_s).toObject();
    error->clear();
    return true;
}

QList<KeyFigure> Snapshot::keyFigures() const
{
    QList<KeyFigure> out;
    auto values = [&](const QString& key) { return seriesByKey(key) ? seriesByKey(key)->v : QVector<double>(); };
    for (const QString& c : {u"oltp"_s, u"olap"_s}) {
        const QString upper = c.toUpper();
        out << KeyFigure {c + u".p50_ms"_s, upper + u" p50 of per-second mean statement time"_s, u"ms"_s,
            percentile(values(c + u".mean_ms"_s), 0.5), true};
        out << KeyFigure {c + u".p99_ms"_s, upper + u" p99 of per-second mean statement time"_s, u"ms"_s,
            percentile(values(c + u".mean_ms"_s), 0.99), true};
    }
    out << KeyFigure {u"throughput.commits_per_s"_s, u"commits per second (mean)"_s, u"1/s"_s,
        mean(values(u"activity.commits_per_s"_s)), false};
    QVector<double> staleness;
    for (const Series& s : series)
        if (s.chart == u"staleness"_s)
            staleness += s.v;
    out << KeyFigure {u"views.staleness_p99_s"_s, u"view staleness, p99 over all views"_s, u"s"_s, percentile(staleness, 0.99), true};
    const QVector<double> dead = values(u"vacuum.dead_tuples"_s);
    out << KeyFigure {u"vacuum.dead_tuples_end"_s, u"dead tuples at the end"_s, u"tuples"_s,
        dead.isEmpty() ? qQNaN() : dead.constLast(), true};
    out << KeyFigure {u"vacuum.horizon_age_max"_s, u"xmin horizon age, max"_s, u"xids"_s, maximum(values(u"vacuum.horizon_age"_s)), true};
    out << KeyFigure {u"locks.waiting_mean"_s, u"sessions waiting on a lock (mean)"_s, u"sessions"_s,
        mean(values(u"sessions.waiting_on_lock"_s)), true};
    out << KeyFigure {u"locks.waiting_max"_s, u"sessions waiting on a lock (max)"_s, u"sessions"_s,
        maximum(values(u"sessions.waiting_on_lock"_s)), true};
    // A scenario run in the window measured latency from the client: p50/p99 per class.
    if (!scenarioResults.isEmpty()) {
        const QJsonObject r = scenarioResults.last().toObject();
        const QJsonObject scenarioWorkloads = r.value(u"scenario"_s).toObject().value(u"workloads"_s).toObject();
        const QJsonObject workloads = r.value(u"workloads"_s).toObject();
        for (auto it = workloads.begin(); it != workloads.end(); ++it) {
            const QString kind = scenarioWorkloads.value(it.key()).toObject().value(u"kind"_s).toString();
            const QString cls = kind == u"order"_s ? u"oltp"_s : (kind == u"report"_s || kind == u"sql"_s) ? u"olap"_s : QString();
            if (cls.isEmpty())
                continue;
            const QJsonObject summary = it.value().toObject().value(u"summary"_s).toObject();
            const QJsonObject lat = summary.value(u"latency_ms"_s).toObject();
            const QString base = u"scenario.%1.%2"_s.arg(cls, it.key());
            out << KeyFigure {base + u".p50_ms"_s, u"scenario %1 (%2) p50, client side"_s.arg(it.key(), cls.toUpper()), u"ms"_s,
                numberOf(lat.value(u"p50"_s)), true};
            out << KeyFigure {base + u".p99_ms"_s, u"scenario %1 (%2) p99, client side"_s.arg(it.key(), cls.toUpper()), u"ms"_s,
                numberOf(lat.value(u"p99"_s)), true};
            out << KeyFigure {base + u".tps"_s, u"scenario %1 (%2) throughput"_s.arg(it.key(), cls.toUpper()), u"1/s"_s,
                numberOf(summary.value(u"tps"_s)), false};
        }
    }
    return out;
}

QJsonObject Snapshot::toJson() const
{
    QJsonArray figures;
    for (const KeyFigure& k : keyFigures())
        figures << QJsonObject {{u"key"_s, k.key}, {u"label"_s, k.label}, {u"unit"_s, k.unit}, {u"value"_s, number(k.value)},
            {u"better"_s, k.lowerIsBetter ? u"lower"_s : u"higher"_s}};
    QJsonArray ss;
    for (const Series& s : series) {
        QJsonArray t, v;
        for (qint64 x : s.t)
            t << double(x);
        for (double x : s.v)
            v << number(x);
        ss << QJsonObject {{u"key"_s, s.key}, {u"label"_s, s.label}, {u"unit"_s, s.unit}, {u"chart"_s, s.chart}, {u"t"_s, t},
            {u"v"_s, v}};
    }
    QJsonArray samplesArray;
    for (const QJsonObject& o : samples)
        samplesArray << o;
    return {{u"format"_s, QString::fromLatin1(kSnapshotFormat)}, {u"version"_s, kSnapshotVersion}, {u"title"_s, title},
        {u"note"_s, note}, {u"created_at"_s, createdAt.toString(Qt::ISODateWithMs)}, {u"created_by"_s, createdBy},
        {u"server"_s, server},
        {u"window"_s, QJsonObject {{u"from"_s, from.toString(Qt::ISODateWithMs)}, {u"to"_s, to.toString(Qt::ISODateWithMs)},
                          {u"samples"_s, int(samples.size())}}},
        {u"key_figures"_s, figures}, {u"series"_s, ss},
        {u"facts"_s, QJsonObject {{u"server"_s, facts.server}, {u"settings"_s, facts.settings}, {u"extensions"_s, facts.extensions},
                         {u"roles"_s, facts.roles}, {u"views"_s, facts.views}, {u"refresh_log"_s, facts.refreshLog},
                         {u"unavailable"_s, QJsonArray::fromStringList(facts.unavailable)}}},
        {u"at_end"_s, QJsonObject {{u"locks"_s, locksAtEnd}, {u"vacuum"_s, vacuumAtEnd}}},
        {u"scenario_results"_s, scenarioResults}, {u"incidents"_s, incidents}, {u"samples"_s, samplesArray}};
}

bool Snapshot::fromJson(const QByteArray& bytes, Snapshot* out, QString* error)
{
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &pe);
    if (pe.error != QJsonParseError::NoError) {
        // A file cut inside a literal (`nul`, `tru`) is reported at the literal's start.
        const QByteArray tail = bytes.mid(pe.offset).trimmed();
        const bool cutLiteral = !tail.isEmpty() && tail.size() < 5
            && (QByteArray("true").startsWith(tail) || QByteArray("false").startsWith(tail) || QByteArray("null").startsWith(tail));
        const bool atEnd = pe.offset >= bytes.size() - 2 || cutLiteral;
        *error = atEnd ? u"the file ends too early (%1 bytes): it is truncated, not a whole snapshot"_s.arg(bytes.size())
                       : u"the file is not valid JSON (%1 at byte %2 of %3): it is corrupt"_s.arg(pe.errorString(),
                             QString::number(pe.offset), QString::number(bytes.size()));
        return false;
    }
    const QJsonObject o = doc.object();
    if (o.value(u"format"_s).toString() != QLatin1String(kSnapshotFormat)) {
        *error = o.value(u"format"_s).isString()
            ? u"this is a \"%1\" document, not an HTAP Studio snapshot (%2)"_s.arg(o.value(u"format"_s).toString(),
                  QLatin1String(kSnapshotFormat))
            : u"this is not an HTAP Studio snapshot (no \"format\": \"%1\")"_s.arg(QLatin1String(kSnapshotFormat));
        return false;
    }
    const int version = o.value(u"version"_s).toInt(-1);
    if (version > kSnapshotVersion) {
        *error = u"the snapshot was written by a newer HTAP Studio (snapshot version %1; this one reads version %2): "
                 "update HTAP Studio to open it"_s.arg(QString::number(version), QString::number(kSnapshotVersion));
        return false;
    }
    if (version < 1) {
        *error = u"the snapshot has no valid version (%1)"_s.arg(o.value(u"version"_s).toVariant().toString());
        return false;
    }
    Snapshot s;
    s.title = o.value(u"title"_s).toString();
    s.note = o.value(u"note"_s).toString();
    s.createdAt = parseTime(o.value(u"created_at"_s).toString());
    s.createdBy = o.value(u"created_by"_s).toString();
    s.server = o.value(u"server"_s).toString();
    const QJsonObject window = o.value(u"window"_s).toObject();
    s.from = parseTime(window.value(u"from"_s).toString());
    s.to = parseTime(window.value(u"to"_s).toString());
    for (const QJsonValue& v : o.value(u"samples"_s).toArray())
        s.samples << masked(v).toObject();
    for (const QJsonValue& v : o.value(u"series"_s).toArray()) {
        const QJsonObject so = v.toObject();
        Series series {so.value(u"key"_s).toString(), so.value(u"label"_s).toString(), so.value(u"unit"_s).toString(),
            so.value(u"chart"_s).toString(), {}, {}};
        const QJsonArray t = so.value(u"t"_s).toArray(), vs = so.value(u"v"_s).toArray();
        if (t.size() != vs.size()) {
            *error = u"series %1 has %2 times but %3 values: the file is corrupt"_s.arg(series.key, QString::number(t.size()),
                QString::number(vs.size()));
            return false;
        }
        for (int i = 0; i < t.size(); ++i) {
            // Written as whole milliseconds; beyond 2^53 a double is no longer one (and past
            // 2^63 its conversion would be undefined behaviour).
            if (!t[i].isDouble() || std::fabs(t[i].toDouble()) > 9007199254740992.0) {
                *error = u"series %1 has a time that is not one (%2): the file is corrupt"_s.arg(series.key,
                    t[i].toVariant().toString());
                return false;
            }
            series.t << qint64(t[i].toDouble());
            series.v << numberOf(vs[i]);
        }
        s.series << series;
    }
    const QJsonObject facts = o.value(u"facts"_s).toObject();
    s.facts.server = facts.value(u"server"_s).toObject();
    s.facts.settings = facts.value(u"settings"_s).toArray();
    s.facts.extensions = facts.value(u"extensions"_s).toArray();
    s.facts.roles = facts.value(u"roles"_s).toArray();
    s.facts.views = facts.value(u"views"_s).toArray();
    s.facts.refreshLog = facts.value(u"refresh_log"_s).toArray();
    for (const QJsonValue& v : facts.value(u"unavailable"_s).toArray())
        s.facts.unavailable << v.toString();
    s.locksAtEnd = masked(o.value(u"at_end"_s).toObject().value(u"locks"_s)).toObject();
    s.vacuumAtEnd = masked(o.value(u"at_end"_s).toObject().value(u"vacuum"_s)).toObject();
    s.scenarioResults = o.value(u"scenario_results"_s).toArray();
    s.incidents = o.value(u"incidents"_s).toArray(); // absent in files of older builds
    if (s.series.isEmpty() && !s.samples.isEmpty() && !build(&s, error))
        return false;
    *out = s;
    error->clear();
    return true;
}

bool Snapshot::fromFile(const QString& path, Snapshot* out, QString* error)
{
    QByteArray bytes;
    QString why;
    if (!htap::core::readInputFile(path, htap::core::kMaxSnapshotBytes, u"snapshot"_s, &bytes, &why)) {
        *error = why.startsWith(u"cannot read"_s) ? u"cannot read it: "_s + why.section(u": "_s, 1) : why;
        return false;
    }
    return fromJson(bytes, out, error);
}

QByteArray Snapshot::toCsv() const
{
    QByteArray out = "series,label,unit,at,value\n";
    for (const Series& s : series)
        for (int i = 0; i < s.t.size(); ++i)
            out += (csvField(s.key) + u',' + csvField(s.label) + u',' + csvField(s.unit) + u','
                + QDateTime::fromMSecsSinceEpoch(s.t[i], Qt::UTC).toString(Qt::ISODateWithMs) + u','
                + (std::isfinite(s.v[i]) ? QString::number(s.v[i], 'g', 12) : QString()) + u'\n')
                       .toUtf8();
    return out;
}

double FigureChange::change() const
{
    return after.value - before.value;
}

double FigureChange::changePct() const
{
    return std::isfinite(before.value) && before.value != 0 && std::isfinite(after.value)
        ? (after.value / before.value - 1) * 100
        : qQNaN();
}

int FigureChange::verdict() const
{
    if (!std::isfinite(before.value) || !std::isfinite(after.value) || before.value == 0)
        return 0; // no baseline to say how much of a change it is
    const double base = std::max(std::fabs(before.value), 1e-9);
    if (std::fabs(after.value - before.value) / base < 0.05)
        return 0;
    const bool lower = after.value < before.value;
    return lower == before.lowerIsBetter ? 1 : -1;
}

QList<FigureChange> compare(const Snapshot& a, const Snapshot& b)
{
    QList<FigureChange> out;
    const QList<KeyFigure> fa = a.keyFigures(), fb = b.keyFigures();
    for (const KeyFigure& x : fa) {
        KeyFigure y = x;
        y.value = qQNaN();
        for (const KeyFigure& z : fb)
            if (z.key == x.key)
                y = z;
        out << FigureChange {x, y};
    }
    for (const KeyFigure& z : fb)
        if (std::none_of(fa.begin(), fa.end(), [&](const KeyFigure& x) { return x.key == z.key; })) {
            KeyFigure x = z;
            x.value = qQNaN();
            out << FigureChange {x, z};
        }
    return out;
}

} // namespace htap::report
