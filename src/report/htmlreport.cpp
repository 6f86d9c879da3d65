#include "htmlreport.h"

#include "chartpainter.h"
#include "reportwriter.h"

#include <core/format.h>

#include <QBuffer>
#include <QJsonDocument>
#include <QPageLayout>
#include <QPageSize>
#include <QPdfWriter>
#include <QTextDocument>

#include <algorithm>
#include <cmath>

namespace htap::report {

using namespace Qt::StringLiterals;
using htap::core::formatDuration;

namespace {

QString esc(const QString& s)
{
    return s.toHtmlEscaped();
}

QString clock(qint64 ms)
{
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(u"HH:mm:ss"_s);
}

QString stamp(const QDateTime& t)
{
    return t.toUTC().toString(u"yyyy-MM-dd HH:mm:ss"_s);
}

QDateTime timeOf(const QJsonValue& v)
{
    return QDateTime::fromString(v.toString(), Qt::ISODateWithMs);
}

/// One column of a table of JSON objects: the key, its heading, the unit of a number
/// (figureText; "id" for a pid or a count printed as it is), and what a cell without a value
/// says instead of staying empty.
struct Column {
    Column(const QString& k, const QString& h, const QString& u = {}, const QString& m = u"–"_s)
        : key(k), heading(h), unit(u), missing(m)
    {
    }
    QString key;
    QString heading;
    QString unit;
    QString missing;
};

QString cellText(const QJsonValue& v, const Column& c)
{
    if (c.unit == u"time"_s && v.isString() && !v.toString().isEmpty()) {
        // ISO 8601 from the samples and facts, PostgreSQL's own text from the refresh log.
        QDateTime t = QDateTime::fromString(v.toString(), Qt::ISODateWithMs);
        if (!t.isValid())
            t = QDateTime::fromString(v.toString().left(19), u"yyyy-MM-dd HH:mm:ss"_s);
        return t.isValid() ? stamp(t) : v.toString();
    }
    if (v.isDouble())
        return c.unit == u"id"_s ? QString::number(qint64(v.toDouble())) : figureText(v.toDouble(), c.unit);
    if (v.isBool())
        return v.toBool() ? u"yes"_s : u"no"_s;
    if (v.isString())
        return v.toString().isEmpty() ? c.missing : v.toString();
    if (v.isArray()) {
        QStringList parts;
        for (const QJsonValue& x : v.toArray()) {
            const QJsonObject o = x.toObject();
            if (x.isObject() && o.contains(u"name"_s) && o.contains(u"value"_s)) // a role's settings
                parts << o.value(u"name"_s).toString() + u" = "_s + o.value(u"value"_s).toString()
                        + (o.value(u"database"_s).isString() ? u" (in "_s + o.value(u"database"_s).toString() + u')' : QString());
            else if (x.isObject())
                parts << QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact));
            else
                parts << cellText(x, {c.key, c.heading, c.unit == u"id"_s ? c.unit : QString(), c.missing});
        }
        return parts.isEmpty() ? c.missing : parts.join(u", "_s);
    }
    if (v.isObject())
        return QString::fromUtf8(QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact));
    return c.missing;
}

/// A table of JSON objects. An empty one says why (whyEmpty), a long one how many it leaves out.
QString table(const QJsonArray& rows, const QList<Column>& columns, const QString& whyEmpty, int limit = 50)
{
    if (rows.isEmpty())
        return u"<p class=\"none\">"_s + esc(whyEmpty) + u"</p>\n"_s;
    QString h = u"<table><tr>"_s;
    for (const Column& c : columns)
        h += u"<th>"_s + esc(c.heading) + u"</th>"_s;
    h += u"</tr>\n"_s;
    for (int i = 0; i < rows.size() && i < limit; ++i) {
        h += u"<tr>"_s;
        for (const Column& c : columns) {
            const QString text = cellText(rows[i].toObject().value(c.key), c);
            h += (text == c.missing && c.missing != u"–"_s ? u"<td class=\"why\">"_s : u"<td>"_s) + esc(text) + u"</td>"_s;
        }
        h += u"</tr>\n"_s;
    }
    h += u"</table>\n"_s;
    if (rows.size() > limit)
        h += u"<p class=\"none\">%1 more not shown (all of them are in the JSON)</p>\n"_s.arg(htap::core::formatCount(rows.size() - limit));
    return h;
}

/// Why a part of the server's facts is missing: what `unavailable` says about it, or about the
/// whole connection.
QString factsWhy(const Snapshot& s, const QString& part, const QString& otherwise)
{
    for (const QString& u : s.facts.unavailable)
        if (u.startsWith(part + u": "_s) || u.startsWith(u"server facts: "_s))
            return u"Not read: "_s + u;
    return otherwise;
}

struct Incident {
    QString kind, title, detail;
    QDateTime start, end; ///< end invalid: still open at the end of the window
    double lasted = 0, worst = 0, target = 0;
};

QList<Incident> incidentsOf(const Snapshot& s)
{
    QList<Incident> out;
    for (const QJsonValue& v : s.incidents) {
        const QJsonObject o = v.toObject();
        Incident i {o.value(u"kind"_s).toString(), o.value(u"title"_s).toString(), o.value(u"detail"_s).toString(),
            timeOf(o.value(u"start"_s)), timeOf(o.value(u"end"_s)), 0, o.value(u"worstSeconds"_s).toDouble(),
            o.value(u"targetSeconds"_s).toDouble()};
        if (!i.start.isValid())
            continue;
        i.lasted = i.start.msecsTo(i.end.isValid() ? i.end : std::max(s.to, i.start)) / 1000.0;
        out << i;
    }
    return out;
}

int rank(const QString& kind)
{
    static const QStringList order {u"not_responding"_s, u"blocking"_s, u"target_missed"_s, u"view_late"_s};
    const qsizetype i = order.indexOf(kind);
    return i < 0 ? int(order.size()) : int(i);
}

QString incidentSentence(const Incident& i)
{
    QString worst;
    if (i.kind == u"target_missed"_s && i.target > 0)
        worst = u"; worst %1 against a target of %2"_s.arg(htap::core::formatSeconds(i.worst), htap::core::formatSeconds(i.target));
    else if (i.kind == u"blocking"_s && i.detail.isEmpty()) // the detail starts with the longest wait
        worst = u"; the longest wait %1"_s.arg(figureText(i.worst, u"s"_s));
    else if (i.kind == u"view_late"_s)
        worst = u"; at worst %1 stale"_s.arg(figureText(i.worst, u"s"_s));
    return u"<li><b>%1</b> — %2 to %3 (%4)%5%6</li>\n"_s.arg(esc(i.title), i.start.toUTC().toString(u"HH:mm:ss"_s),
        i.end.isValid() ? i.end.toUTC().toString(u"HH:mm:ss"_s) : u"the end, still open"_s, formatDuration(i.lasted), esc(worst),
        i.detail.isEmpty() ? QString() : u". "_s + esc(i.detail.left(1).toUpper() + i.detail.mid(1)));
}

/// The incident open at t, if any: a worst moment is read with what was going on.
QString during(const QList<Incident>& incidents, qint64 t)
{
    QStringList titles;
    for (const Incident& i : incidents)
        if (i.start.toMSecsSinceEpoch() <= t && (!i.end.isValid() || t <= i.end.toMSecsSinceEpoch()))
            titles << i.title;
    return titles.isEmpty() ? u"no incident open"_s : titles.join(u"; "_s);
}

/// The window's story in a few lines: how much of it has data, what went wrong and when, the
/// worst moment of each figure, and a scenario run in it, last (a 30 s smoke run is not what a
/// 3-minute stall in the same window is about).
QString story(const Snapshot& s)
{
    QString h = u"<h2>What happened</h2>\n"_s;
    const auto [first, last] = s.dataSpan();
    const double asked = s.from.msecsTo(s.to) / 1000.0, covered = (last - first) / 1000.0;
    if (covered < asked * 0.95)
        h += u"<p>The history holds %1 of the %2 asked for: from %3 to %4 UTC, %5 samples. The charts show that span.</p>\n"_s
                 .arg(formatDuration(covered), formatDuration(asked), clock(first), clock(last), htap::core::formatCount(s.samples.size()));
    else
        h += u"<p>%1 of history, %2 to %3 UTC, %4 samples.</p>\n"_s.arg(formatDuration(covered), clock(first), clock(last),
            htap::core::formatCount(s.samples.size()));

    QList<Incident> incidents = incidentsOf(s);
    QList<Incident> ranked = incidents;
    std::stable_sort(ranked.begin(), ranked.end(), [](const Incident& a, const Incident& b) {
        return rank(a.kind) != rank(b.kind) ? rank(a.kind) < rank(b.kind) : a.lasted > b.lasted;
    });
    if (ranked.isEmpty()) {
        h += u"<p class=\"good\">No incident: every target met, no blocking episode, the server answered throughout.</p>\n"_s;
    } else {
        const auto count = [&](const QString& kind) {
            return std::count_if(incidents.begin(), incidents.end(), [&](const Incident& i) { return i.kind == kind; });
        };
        QStringList what;
        if (const auto n = count(u"not_responding"_s))
            what << (n == 1 ? u"the server stopped answering once"_s : u"the server stopped answering %1 times"_s.arg(n));
        if (const auto n = count(u"blocking"_s))
            what << (n == 1 ? u"1 blocking episode"_s : u"%1 blocking episodes"_s.arg(n));
        if (const auto n = count(u"target_missed"_s))
            what << (n == 1 ? u"1 target missed"_s : u"%1 target misses"_s.arg(n));
        if (const auto n = count(u"view_late"_s))
            what << (n == 1 ? u"1 view past its freshness target"_s : u"%1 views past their freshness target"_s.arg(n));
        h += u"<p class=\"bad\">%1 in this window, the most serious first:</p>\n<ul>\n"_s.arg(esc(what.join(u", "_s)));
        const int shown = 6;
        for (int i = 0; i < ranked.size() && i < shown; ++i)
            h += incidentSentence(ranked[i]);
        if (ranked.size() > shown)
            h += u"<li>and %1 more (the table of incidents below has them all)</li>\n"_s.arg(ranked.size() - shown);
        h += u"</ul>\n"_s;
    }

    // The worst second of each figure, with the incident it fell in.
    struct Peak {
        QString what, unit;
        double value = qQNaN();
        qint64 at = 0;
        QString series;
    };
    QList<Peak> peaks;
    auto peakOf = [&](const QString& what, const QString& unit, const QList<const Series*>& series, bool skipZero) {
        Peak p {what, unit, qQNaN(), 0, {}};
        for (const Series* x : series)
            for (int i = 0; i < x->v.size(); ++i)
                if (std::isfinite(x->v[i]) && !(x->v[i] <= p.value)) {
                    p.value = x->v[i];
                    p.at = x->t[i];
                    p.series = x->label;
                }
        if (std::isfinite(p.value) && !(skipZero && p.value <= 0))
            peaks << p;
    };
    auto one = [&](const QString& key) {
        const Series* x = s.seriesByKey(key);
        return x ? QList<const Series*> {x} : QList<const Series*> {};
    };
    peakOf(u"order statements (OLTP), mean time in one second"_s, u"ms"_s, one(u"oltp.mean_ms"_s), false);
    peakOf(u"reports (OLAP), mean time in one second"_s, u"ms"_s, one(u"olap.mean_ms"_s), false);
    peakOf(u"sessions waiting on a lock"_s, u"sessions"_s, one(u"sessions.waiting_on_lock"_s), true);
    peakOf(u"sessions idle in a transaction"_s, u"sessions"_s, one(u"sessions.idle_in_transaction"_s), true);
    QList<const Series*> staleness;
    for (const Series& x : s.series)
        if (x.chart == u"staleness"_s)
            staleness << &x;
    peakOf(u"view staleness"_s, u"s"_s, staleness, false);
    peakOf(u"age of the xmin horizon"_s, u"xids"_s, one(u"vacuum.horizon_age"_s), false);
    peakOf(u"dead tuples of the worst table, of its autovacuum trigger"_s, u"%"_s, one(u"vacuum.worst_pct_of_trigger"_s), true);
    peakOf(u"replay lag, worst standby"_s, u"s"_s, one(u"replication.replay_lag_s"_s), false);
    if (!peaks.isEmpty()) {
        h += u"<h3>Worst moments</h3>\n<table><tr><th>figure</th><th>worst</th><th>at (UTC)</th><th>during</th></tr>\n"_s;
        for (const Peak& p : std::as_const(peaks))
            h += u"<tr><td>%1</td><td>%2</td><td>%3</td><td>%4</td></tr>\n"_s.arg(
                esc(p.what + (staleness.size() > 1 && p.unit == u"s"_s && p.what.startsWith(u"view"_s) ? u" ("_s + p.series + u')' : QString())),
                esc(figureText(p.value, p.unit)), clock(p.at), esc(during(incidents, p.at)));
        h += u"</table>\n"_s;
    }

    for (const QJsonValue& rv : s.scenarioResults) {
        const QJsonObject r = rv.toObject();
        const QDateTime a = timeOf(r.value(u"startedAt"_s)), b = timeOf(r.value(u"finishedAt"_s));
        h += u"<p>A scenario ran in this window: <b>%1</b>, %2 from %3 UTC%4 (its clients' figures are below, under "
             "At a glance).</p>\n"_s.arg(esc(r.value(u"scenario"_s).toObject().value(u"name"_s).toString()),
                 a.isValid() && b.isValid() ? formatDuration(a.msecsTo(b) / 1000.0) : u"of unknown length"_s,
                 a.isValid() ? a.toUTC().toString(u"HH:mm:ss"_s) : u"an unknown time"_s,
                 r.value(u"partial"_s).toBool() ? u", stopped early: "_s + esc(r.value(u"stopReason"_s).toString()) : QString());
    }
    return h;
}

/// The seed's way of putting it (5.2): one row, OLTP and OLAP side by side, for the whole
/// window from the server; a scenario's client-side figures in a row of their own.
QString atAGlance(const Snapshot& s, const QList<KeyFigure>& figures)
{
    auto figure = [&](const QString& key) {
        for (const KeyFigure& k : figures)
            if (k.key == key)
                return k.value;
        return qQNaN();
    };
    auto orWhy = [](double v, const QString& unit, const QString& why) {
        return std::isfinite(v) ? figureText(v, unit) : why;
    };
    QString h = u"<h2>At a glance</h2>\n<table><tr><th>OLTP TPS</th><th>OLTP p50</th><th>OLTP p99</th><th>OLAP p50</th>"
                "<th>OLAP p99</th><th>view staleness p99</th><th>lock waits (max)</th><th>dead tuples (end)</th>"
                "<th>horizon age (max)</th></tr>\n<tr>"_s;
    for (const QString& cell : {orWhy(figure(u"throughput.commits_per_s"_s), u"1/s"_s, u"no rates sampled"_s),
             orWhy(figure(u"oltp.p50_ms"_s), u"ms"_s, u"no order statement"_s),
             orWhy(figure(u"oltp.p99_ms"_s), u"ms"_s, u"no order statement"_s),
             orWhy(figure(u"olap.p50_ms"_s), u"ms"_s, u"no report ran"_s), orWhy(figure(u"olap.p99_ms"_s), u"ms"_s, u"no report ran"_s),
             orWhy(figure(u"views.staleness_p99_s"_s), u"s"_s, u"no view with a known staleness"_s),
             orWhy(figure(u"locks.waiting_max"_s), u"sessions"_s, u"not sampled"_s),
             orWhy(figure(u"vacuum.dead_tuples_end"_s), u"tuples"_s, u"not sampled"_s),
             orWhy(figure(u"vacuum.horizon_age_max"_s), u"xids"_s, u"not sampled"_s)})
        h += u"<td>"_s + esc(cell) + u"</td>"_s;
    h += u"</tr></table>\n<p class=\"muted\">The whole window, measured by the server: latency as percentiles of the "
         "per-second mean statement time (pg_stat_statements), TPS as commits per second.</p>\n"_s;
    for (const QJsonValue& rv : s.scenarioResults) {
        const QJsonObject r = rv.toObject();
        const QJsonObject kinds = r.value(u"scenario"_s).toObject().value(u"workloads"_s).toObject();
        QJsonArray rows;
        const QJsonObject ws = r.value(u"workloads"_s).toObject();
        for (auto it = ws.begin(); it != ws.end(); ++it) {
            const QJsonObject sum = it.value().toObject().value(u"summary"_s).toObject();
            const QJsonObject lat = sum.value(u"latency_ms"_s).toObject();
            rows << QJsonObject {{u"workload"_s, it.key()}, {u"kind"_s, kinds.value(it.key()).toObject().value(u"kind"_s)},
                {u"committed"_s, sum.value(u"committed"_s)}, {u"failed"_s, sum.value(u"failed"_s)}, {u"tps"_s, sum.value(u"tps"_s)},
                {u"p50"_s, lat.value(u"p50"_s)}, {u"p99"_s, lat.value(u"p99"_s)}, {u"max"_s, lat.value(u"max"_s)}};
        }
        const QDateTime a = timeOf(r.value(u"startedAt"_s)), b = timeOf(r.value(u"finishedAt"_s));
        h += u"<h3>Scenario %1, measured by its clients (%2 from %3 UTC%4)</h3>\n"_s.arg(
            esc(r.value(u"scenario"_s).toObject().value(u"name"_s).toString()),
            a.isValid() && b.isValid() ? formatDuration(a.msecsTo(b) / 1000.0) : u"length unknown"_s,
            a.isValid() ? a.toUTC().toString(u"HH:mm:ss"_s) : u"?"_s,
            r.value(u"partial"_s).toBool() ? u", partial: "_s + esc(r.value(u"stopReason"_s).toString()) : QString());
        h += table(rows,
            {{u"workload"_s, u"workload"_s}, {u"kind"_s, u"kind"_s, {}, u"unknown"_s}, {u"committed"_s, u"committed"_s, {}, u"none"_s},
                {u"failed"_s, u"failed"_s, {}, u"none"_s}, {u"tps"_s, u"throughput"_s, u"1/s"_s, u"none"_s},
                {u"p50"_s, u"p50"_s, u"ms"_s, u"no request"_s}, {u"p99"_s, u"p99"_s, u"ms"_s, u"no request"_s},
                {u"max"_s, u"max"_s, u"ms"_s, u"no request"_s}},
            u"The result names no workload."_s);
        h += u"<p class=\"muted\">Latency from each request's intended start, as the case study measures it.</p>\n"_s;
    }
    return h;
}

QString incidentTable(const Snapshot& s)
{
    const QList<Incident> incidents = incidentsOf(s);
    QString h = u"<h2>Incidents</h2>\n"_s;
    if (incidents.isEmpty())
        return h + u"<p class=\"none\">None in this window: every target met, no blocking episode, the server answering.</p>\n"_s;
    h += u"<table><tr><th>started (UTC)</th><th>ended</th><th>lasted</th><th>what</th><th>worst</th><th>detail</th></tr>\n"_s;
    for (const Incident& i : incidents)
        h += u"<tr><td>%1</td><td>%2</td><td>%3</td><td>%4</td><td>%5</td><td>%6</td></tr>\n"_s.arg(stamp(i.start),
            i.end.isValid() ? i.end.toUTC().toString(u"HH:mm:ss"_s) : u"still open at the end"_s, formatDuration(i.lasted),
            esc(i.title), esc(figureText(i.worst, u"s"_s)), i.detail.isEmpty() ? u"none given"_s : esc(i.detail));
    return h + u"</table>\n"_s;
}

/// The locks at the end as a DBA reads them: root blockers first, then who waits for whom; a
/// blocker's cells say it holds rather than waits. With nobody waiting, when the most did.
QString locksAtEnd(const Snapshot& s)
{
    QString h = u"<h2>Locks at the end</h2>\n"_s;
    const qint64 last = s.dataSpan().second;
    if (s.locksAtEnd.isEmpty())
        return h + u"<p class=\"none\">The last samples have no locks section: the locks probe did not answer.</p>\n"_s;
    const int waiting = s.locksAtEnd.value(u"waitingSessions"_s).toInt();
    QJsonArray nodes = s.locksAtEnd.value(u"nodes"_s).toArray();
    if (waiting == 0 || nodes.isEmpty()) {
        h += u"<p class=\"none\">No session waited on a lock at %1 UTC, the last sample."_s.arg(clock(last));
        if (const Series* w = s.seriesByKey(u"sessions.waiting_on_lock"_s)) {
            double most = 0;
            qint64 at = 0;
            for (int i = 0; i < w->v.size(); ++i)
                if (w->v[i] > most) {
                    most = w->v[i];
                    at = w->t[i];
                }
            if (most > 0)
                h += u" Earlier the most waiting at once: %1 at %2 UTC."_s.arg(figureText(most, u"sessions"_s), clock(at));
        }
        return h + u"</p>\n"_s;
    }
    h += u"<p>%1 waiting at %2 UTC, the last sample.</p>\n"_s.arg(waiting == 1 ? u"1 session"_s : u"%1 sessions"_s.arg(waiting),
        clock(last));
    QJsonArray rows;
    for (const QJsonValue& v : nodes) {
        QJsonObject n = v.toObject();
        const bool root = n.value(u"blockedBy"_s).toArray().isEmpty();
        if (n.value(u"pid"_s).toInt() == 0) {
            n.insert(u"role"_s, u"prepared transaction"_s);
            QStringList gids;
            for (const QJsonValue& p : n.value(u"preparedTransactions"_s).toArray())
                gids << p.toObject().value(u"gid"_s).toString();
            n.insert(u"query"_s, QString(u"prepared: "_s + gids.join(u", "_s)));
        }
        if (root) {
            n.insert(u"wait"_s, u"holds the lock"_s);
            n.insert(u"waitSeconds"_s, u"not waiting"_s);
            n.insert(u"blockedBy"_s, u"nobody: a root blocker"_s);
        }
        rows.append(n);
    }
    // Root blockers first.
    QJsonArray ordered;
    for (bool roots : {true, false})
        for (const QJsonValue& v : std::as_const(rows))
            if (v.toObject().value(u"blockedBy"_s).isString() == roots)
                ordered.append(v);
    return h + table(ordered,
               {{u"pid"_s, u"pid"_s, u"id"_s}, {u"role"_s, u"role"_s, {}, u"unknown"_s}, {u"state"_s, u"state"_s, {}, u"unknown"_s},
                   {u"wait"_s, u"waits on"_s, {}, u"a lock"_s}, {u"waitSeconds"_s, u"waiting for"_s, u"s"_s, u"unknown"_s},
                   {u"blockedBy"_s, u"blocked by"_s, u"id"_s, u"unknown"_s},
                   {u"transactionSeconds"_s, u"transaction open"_s, u"s"_s, u"no transaction"_s},
                   {u"query"_s, u"statement"_s, {}, u"none (idle)"_s}},
               QString());
}

QString vacuumAtEnd(const Snapshot& s)
{
    QString h = u"<h2>Vacuum at the end</h2>\n"_s;
    if (s.vacuumAtEnd.isEmpty())
        return h + u"<p class=\"none\">No sample of the window has a vacuum section (the slow probes run every 10th sample).</p>\n"_s;
    h += u"<p>Age of the xmin horizon: %1.</p>\n"_s.arg(figureText(s.vacuumAtEnd.value(u"horizonAge"_s).toDouble(), u"xids"_s));
    // The tables nearest to their autovacuum first.
    QList<QJsonObject> byPct;
    for (const QJsonValue& v : s.vacuumAtEnd.value(u"tables"_s).toArray())
        byPct << v.toObject();
    std::stable_sort(byPct.begin(), byPct.end(), [](const QJsonObject& a, const QJsonObject& b) {
        return a.value(u"pctOfTrigger"_s).toDouble() > b.value(u"pctOfTrigger"_s).toDouble();
    });
    QJsonArray tables;
    for (const QJsonObject& o : std::as_const(byPct))
        tables.append(o);
    h += table(tables,
        {{u"table"_s, u"table"_s}, {u"deadTuples"_s, u"dead tuples"_s}, {u"pctOfTrigger"_s, u"of its trigger"_s, u"%"_s},
            {u"liveTuples"_s, u"live tuples"_s}, {u"lastVacuum"_s, u"last vacuum (UTC)"_s, u"time"_s, u"never"_s},
            {u"lastAnalyze"_s, u"last analyze (UTC)"_s, u"time"_s, u"never"_s}},
        u"No table in the sampled database."_s, 20);
    h += u"<h3>Who holds the horizon</h3>\n"_s;
    h += table(s.vacuumAtEnd.value(u"xminHolders"_s).toArray(),
        {{u"kind"_s, u"kind"_s}, {u"holder"_s, u"holder"_s}, {u"role"_s, u"role"_s, {}, u"none (not a session)"_s},
            {u"application"_s, u"application"_s, {}, u"none given"_s}, {u"state"_s, u"state"_s, {}, u"not a session"_s},
            {u"xidAge"_s, u"xid age"_s, u"xids"_s}, {u"heldSeconds"_s, u"held for"_s, u"s"_s, u"unknown"_s},
            {u"detail"_s, u"detail"_s, {}, u"none"_s}},
        u"Nothing held the horizon back at the end: no old transaction, prepared transaction, slot or standby."_s);
    return h;
}

QString facts(const Snapshot& s)
{
    QString h = u"<h2>Materialized views</h2>\n"_s;
    h += table(s.facts.views,
        {{u"view"_s, u"view"_s}, {u"mode"_s, u"mode"_s}, {u"populated"_s, u"populated"_s},
            {u"staleness_s"_s, u"staleness"_s, u"s"_s, u"unknown: no refresh recorded"_s},
            {u"pending_rows"_s, u"pending changes"_s, {}, u"not incremental"_s},
            {u"total_bytes"_s, u"size"_s, u"bytes"_s, u"unknown"_s},
            {u"last_refresh"_s, u"last refresh (UTC)"_s, u"time"_s, u"none recorded"_s},
            {u"last_duration_s"_s, u"took"_s, u"s"_s, u"none recorded"_s}},
        factsWhy(s, u"views"_s, u"This database has no materialized view."_s));
    h += u"<p class=\"muted\">As the server said when the snapshot was made.</p>\n<h3>Refresh log in the window</h3>\n"_s;
    h += table(s.facts.refreshLog,
        {{u"view"_s, u"view"_s}, {u"mode"_s, u"mode"_s}, {u"started_at"_s, u"started"_s}, {u"seconds"_s, u"took"_s, u"s"_s, u"did not finish"_s},
            {u"rows"_s, u"rows"_s, {}, u"not counted"_s}, {u"outcome"_s, u"outcome"_s}, {u"message"_s, u"message"_s, {}, u"none"_s},
            {u"by"_s, u"by"_s, {}, u"unknown"_s}},
        factsWhy(s, u"refresh log"_s, u"No refresh started in this window."_s), 100);
    h += u"<h2>Role settings</h2>\n"_s;
    QJsonArray roles = s.facts.roles;
    for (auto it = roles.begin(); it != roles.end(); ++it) {
        QJsonObject r = it->toObject();
        if (r.value(u"connection_limit"_s).toInt() < 0)
            r.insert(u"connection_limit"_s, u"no limit"_s);
        *it = r;
    }
    h += table(roles,
        {{u"name"_s, u"role"_s}, {u"login"_s, u"login"_s}, {u"connection_limit"_s, u"connection limit"_s, u"id"_s},
            {u"settings"_s, u"settings"_s, {}, u"none set"_s}},
        factsWhy(s, u"roles"_s, u"No role read."_s));
    h += u"<h2>Server</h2>\n<p>%1</p>\n"_s.arg(esc(s.facts.server.value(u"version_string"_s).toString(
        factsWhy(s, u"server"_s, u"The server's version was not read."_s))));
    QJsonArray settings = s.facts.settings;
    for (auto it = settings.begin(); it != settings.end(); ++it) {
        // "4096 kB", "16384 × 8kB": the value as PostgreSQL counts it, with its unit.
        QJsonObject o = it->toObject();
        const QString unit = o.value(u"unit"_s).toString(), value = o.value(u"setting"_s).toString();
        o.insert(u"setting"_s, value.isEmpty() ? u"(empty)"_s
                : unit.isEmpty()                 ? value
                : unit.front().isDigit()         ? QString(value + u" × "_s + unit)
                                                 : QString(value + u' ' + unit));
        *it = o;
    }
    h += table(settings, {{u"name"_s, u"setting"_s}, {u"setting"_s, u"value"_s}, {u"source"_s, u"source"_s, {}, u"unknown"_s}},
        factsWhy(s, u"settings"_s, u"No setting read."_s), 100);
    h += u"<h3>Extensions</h3>\n"_s;
    h += table(s.facts.extensions, {{u"name"_s, u"extension"_s}, {u"version"_s, u"version"_s, {}, u"unknown"_s}},
        factsWhy(s, u"extensions"_s, u"No extension installed."_s));
    if (!s.facts.unavailable.isEmpty()) {
        h += u"<h3>Not in this snapshot</h3>\n<ul>"_s;
        for (const QString& u : s.facts.unavailable)
            h += u"<li>"_s + esc(u) + u"</li>"_s;
        h += u"</ul>\n"_s;
    }
    return h;
}

QByteArray png(const QImage& image)
{
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    if (!image.save(&buffer, "PNG"))
        return {};
    return bytes;
}

const QSize kChartSize {960, 360};

} // namespace

QString reportHtml(const Snapshot& s, ChartImages images)
{
    const QString title = s.title.isEmpty() ? u"Performance snapshot"_s : s.title;
    QString h;
    h += u"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>"_s + esc(title) + u"</title>\n"_s;
    h += u"<style>body{font-family:sans-serif;margin:2em;color:#222;max-width:1100px}h1{font-size:1.6em}"
         "h2{margin-top:1.6em;border-bottom:1px solid #ccc}table{border-collapse:collapse;margin:.5em 0}"
         "td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;font-size:.9em;vertical-align:top}th{background:#f3f3f3}"
         "img{max-width:100%;border:1px solid #eee;margin:.4em 0}.none,.why{color:#777}.note{white-space:pre-wrap}"
         ".muted{color:#666}.bad{color:#a61b1b;font-weight:bold}.good{color:#1d6b1d}</style>\n</head><body>\n"_s;
    h += u"<h1>"_s + esc(title) + u"</h1>\n"_s;
    h += u"<p class=\"muted\">%1 · %2 to %3 UTC · %4 samples · made %5 by %6</p>\n"_s.arg(esc(s.server), stamp(s.from),
        stamp(s.to), htap::core::formatCount(s.samples.size()), stamp(s.createdAt), esc(s.createdBy));
    if (!s.note.isEmpty())
        h += u"<p class=\"note\">"_s + esc(s.note) + u"</p>\n"_s;

    // What a DBA had to act on comes first: the report tells the window's story, then the figures.
    h += story(s);
    const QList<KeyFigure> figures = s.keyFigures();
    h += atAGlance(s, figures);
    h += incidentTable(s);
    h += u"<h2>Summary</h2>\n<table><tr><th>figure</th><th>value</th></tr>\n"_s;
    for (const KeyFigure& k : figures)
        h += u"<tr><td>%1</td><td>%2</td></tr>\n"_s.arg(esc(k.label),
            std::isfinite(k.value) ? esc(figureText(k.value, k.unit)) : u"no data in this window"_s);
    h += u"</table>\n"_s;

    h += u"<h2>Charts</h2>\n"_s;
    const QList<ChartSpec> charts = reportCharts(s);
    if (charts.isEmpty())
        h += u"<p class=\"none\">No series has data in this window.</p>\n"_s;
    for (const ChartSpec& c : charts)
        h += images == ChartImages::Inline
            ? u"<img alt=\"%1\" src=\"data:image/png;base64,%2\">\n"_s.arg(esc(c.title),
                  QString::fromLatin1(png(renderChart(s, c, kChartSize)).toBase64()))
            : u"<p><img alt=\"%1\" src=\"chart:%2\" width=\"%3\"></p>\n"_s.arg(esc(c.title), c.id).arg(kChartSize.width());

    h += locksAtEnd(s);
    h += vacuumAtEnd(s);
    h += facts(s);
    if (images == ChartImages::Inline)
        // For checks in a browser (and the tests): how many chart images decoded.
        h += u"<script>window.addEventListener('load',function(){var im=document.images,ok=0;"
             "for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0)ok++;}"
             "document.body.setAttribute('data-images-ok',ok+'/'+im.length);});</script>\n"_s;
    h += u"</body></html>\n"_s;
    return h;
}

QByteArray reportPdf(const Snapshot& s)
{
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    QPdfWriter pdf(&buffer);
    pdf.setPageLayout(QPageLayout(QPageSize(QPageSize::A4), QPageLayout::Portrait, QMarginsF(15, 15, 15, 15), QPageLayout::Millimeter));
    pdf.setResolution(96);
    pdf.setTitle(s.title.isEmpty() ? u"Performance snapshot"_s : s.title);
    pdf.setCreator(s.createdBy);
    // The same text as the HTML file, laid out by Qt's rich text on the page: the title wraps
    // rather than running off it, tables break between rows, the charts fit the width.
    QTextDocument doc;
    doc.setDocumentMargin(0);
    QFont font = doc.defaultFont();
    font.setPointSizeF(8.5);
    doc.setDefaultFont(font);
    const QSizeF page = pdf.pageLayout().paintRectPixels(pdf.resolution()).size();
    // Drawn smaller than for the screen and scaled up: the axes' text stays readable on paper.
    for (const ChartSpec& c : reportCharts(s))
        doc.addResource(QTextDocument::ImageResource, QUrl(u"chart:"_s + c.id), renderChart(s, c, {760, 300}));
    QString html = reportHtml(s, ChartImages::Resources);
    // Rich text has no max-width: the charts are scaled to the page width.
    html.replace(u"width=\"%1\""_s.arg(kChartSize.width()), u"width=\"%1\""_s.arg(int(page.width() * 0.9)));
    doc.setHtml(html);
    doc.setPageSize(page);
    doc.print(&pdf);
    return bytes;
}

} // namespace htap::report
