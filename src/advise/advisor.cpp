#include "advisor_p.h"

#include <core/format.h>
#include <pg/identifier.h>
#include <pg/sandbox.h>
#include <pg/sqlfile.h>

namespace htap::advise {

using namespace Qt::StringLiterals;

namespace detail {

htap::pg::Result Context::exec(const QString& name, const QVariantList& params)
{
    Q_ASSERT(sql.contains(name));
    return conn.exec(sql.value(name), params);
}

QString qualified(const QString& schema, const QString& name)
{
    return htap::pg::quoteQualified(schema, name);
}

QString label(const QString& schema, const QString& name)
{
    return schema + u'.' + name;
}

QString objectName(const QString& base, const QString& suffix)
{
    QByteArray b = base.toUtf8();
    const QByteArray s = suffix.toUtf8();
    if (b.size() + s.size() > 63)
        b.truncate(63 - s.size());
    // Do not cut a character in two.
    return QString::fromUtf8(b).remove(QChar::ReplacementCharacter) + suffix;
}

Evidence ev(const QString& name, double value, const QString& text)
{
    return Evidence {name, value, text};
}

QString concurrently(const QString& indexdef)
{
    QString d = indexdef;
    if (d.startsWith(u"CREATE UNIQUE INDEX "_s))
        return d.replace(0, 20, u"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "_s);
    if (d.startsWith(u"CREATE INDEX "_s))
        return d.replace(0, 13, u"CREATE INDEX CONCURRENTLY IF NOT EXISTS "_s);
    return d;
}

QStringList rangeStatements(Context& c, const QString& schema, const QString& table, const QString& column)
{
    const QString t = qualified(schema, table);
    const QString col = htap::pg::quoteIdentifier(column);
    // The newest value, and the bounds as the column's own type prints them.
    const auto r = c.conn.exec(u"SELECT max(%1)::text, (max(%1) - interval '1 day')::text, (max(%1) - interval '30 days')::text FROM %2"_s
                                   .arg(col, t));
    if (!r.ok() || r.isNull(0, 0))
        return {};
    QStringList out;
    for (int i : {1, 2})
        out << u"SELECT count(*) FROM %1 WHERE %2 >= %3 AND %2 <= %4"_s.arg(t, col, htap::pg::quoteLiteral(r.text(0, i)),
            htap::pg::quoteLiteral(r.text(0, 0)));
    return out;
}

QString tableGuard(Context& c, const QString& schema, const QString& table)
{
    const auto r = c.exec(u"guard_table"_s, {qualified(schema, table)});
    return r.ok() ? r.text(0, 0) : QString();
}

} // namespace detail

using namespace detail;

namespace {

/// The checks by name (htapctl advise --check), in the order they run.
constexpr std::pair<const char*, void (*)(Context&)> kChecks[] {{"brin", checkBrin}, {"indexes", checkIndexes},
    {"autovacuum", checkAutovacuum}, {"parallel", checkParallel}, {"matviews", checkMatviews},
    {"missing-index", checkMissingIndexes}, {"partition", checkPartitions}};

/// A text[] literal for a bound parameter: every element double-quoted, quotes and backslashes escaped.
QString arrayLiteral(const QStringList& items)
{
    QStringList quoted;
    for (QString s : items)
        quoted << u'"' + s.replace(u'\\', u"\\\\"_s).replace(u'"', u"\\\""_s) + u'"';
    return u'{' + quoted.join(u',') + u'}';
}

} // namespace

QStringList allChecks()
{
    QStringList names;
    for (const auto& [name, check] : kChecks)
        names << QString::fromLatin1(name);
    return names;
}

AdviceReport runAdvisor(htap::pg::Connection& conn, const AdvisorOptions& options, QString* error)
{
    AdviceReport report;
    error->clear();
    for (const QString& check : options.checks)
        if (!allChecks().contains(check)) {
            *error = u"unknown check \"%1\" (checks: %2)"_s.arg(check, allChecks().join(u", "_s));
            return report;
        }
    Context c(conn, options);
    c.sql = htap::pg::namedStatements(u"advise/checks.sql"_s);
    c.report = &report;
    c.schemas = options.schemas.isEmpty() ? QVariant() : QVariant(arrayLiteral(options.schemas));
    conn.setStatementTag(u"/* htap-studio advisor */\n"_s);

    const auto f = c.exec(u"facts"_s);
    if (!f.ok()) {
        *error = f.error().oneLine();
        return report;
    }
    c.user = f.text(0, u"current_user"_s);
    c.superuser = f.toBool(0, u"superuser"_s);
    c.createRole = f.toBool(0, u"createrole"_s);
    c.readAllStats = f.toBool(0, u"read_all_stats"_s);
    c.statsSince = f.text(0, u"stats_since"_s);
    c.statsHours = f.toDouble(0, u"stats_hours"_s);
    c.pgss = f.toBool(0, u"has_pgss"_s);
    c.hypopg = f.text(0, u"hypopg"_s);
    c.hypopgAvailable = f.toBool(0, u"hypopg_available"_s);
    c.canCreateExtension = f.toBool(0, u"can_create_extension"_s);
    c.minParallelBytes = f.toInt64(0, u"min_parallel_table_scan_size"_s);
    c.workersPerGather = int(f.toInt64(0, u"workers_per_gather"_s));
    c.maxParallelWorkers = int(f.toInt64(0, u"max_parallel_workers"_s));
    c.avThreshold = f.toDouble(0, u"av_threshold"_s);
    c.avScale = f.toDouble(0, u"av_scale_factor"_s);
    c.avInsertThreshold = f.toDouble(0, u"av_insert_threshold"_s);
    c.avInsertScale = f.toDouble(0, u"av_insert_scale_factor"_s);
    c.autovacuum = f.toBool(0, u"autovacuum"_s);

    report.server = conn.effectiveInfo().displayName();
    report.serverVersion = conn.serverVersion();
    report.readAt = QDateTime::currentDateTimeUtc();
    report.sandbox = htap::pg::Sandbox::isSandboxServer(conn);
    report.statsSince = c.statsSince;
    report.statsHours = c.statsHours;
    if (!c.superuser && !c.readAllStats)
        report.notes << u"%1 is neither superuser nor a member of pg_read_all_stats: pg_stat_statements hides other roles' "
                        "statement texts, so statements of other roles are left out."_s.arg(c.user);
    if (!c.pgss)
        report.notes << u"pg_stat_statements is not installed in this database: the checks that look at statements "
                        "(missing indexes, reports that would run in parallel, partitions) see only the statements given."_s;

    for (const auto& [name, check] : kChecks)
        if (options.checks.isEmpty() || options.checks.contains(QLatin1StringView(name)))
            check(c);

    bool anyApplicable = false, anyBlocked = false;
    for (const Finding& fi : report.findings) {
        anyApplicable |= !fi.sql.isEmpty() && fi.canApply;
        // Privileges missing (the reasons name the user), not a plan left to the DBA.
        anyBlocked |= !fi.sql.isEmpty() && !fi.canApply && fi.whyNotApply.startsWith(c.user + u' ');
    }
    report.readOnly = anyBlocked && !anyApplicable;
    if (anyBlocked)
        report.notes << u"Some findings cannot be applied by %1 (each says why): read-only advice for those."_s.arg(c.user);
    conn.setStatementTag({});
    return report;
}

QString guardState(htap::pg::Connection& conn, const QString& kind, const QString& object, QString* error)
{
    const QHash<QString, QString> sql = htap::pg::namedStatements(u"advise/checks.sql"_s);
    QString name;
    QVariantList params {object};
    if (kind == u"table"_s) {
        name = u"guard_table"_s; // object: the quoted schema.name
    } else if (kind == u"role"_s) {
        name = u"guard_role"_s;
    } else if (kind == u"schedule"_s) {
        name = u"guard_schedule"_s;
    } else if (kind == u"shape"_s) {
        // Columns, constraints (both ways) and indexes: what a partition move copies.
        const auto r = conn.exec(htap::pg::namedStatements(u"advise/partition.sql"_s).value(u"shape"_s), params);
        if (!r.ok()) {
            *error = r.error().oneLine();
            return {};
        }
        return r.rowCount() ? r.text(0, 0) : u"(gone)"_s;
    } else {
        return {};
    }
    const auto r = conn.exec(sql.value(name), params);
    if (!r.ok()) {
        *error = r.error().oneLine();
        return {};
    }
    return r.rowCount() ? r.text(0, 0) : u"(gone)"_s;
}

} // namespace htap::advise
