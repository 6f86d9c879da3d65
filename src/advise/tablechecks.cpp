// The table checks: autovacuum behind the churn, reports that would run in parallel,
// materialized views, monthly partitions.
#include "advisor_p.h"

#include <core/format.h>
#include <pg/identifier.h>

#include <QJsonArray>
#include <QJsonDocument>

#include <cmath>

namespace htap::advise::detail {

using namespace Qt::StringLiterals;
using htap::core::formatBytes;
using htap::core::formatCount;
using htap::core::formatDuration;
using htap::core::formatNumber;
using htap::pg::quoteIdentifier;

namespace {

QMap<QString, QString> reloptions(const QString& json)
{
    QMap<QString, QString> m;
    for (const QJsonValue& v : QJsonDocument::fromJson(json.toUtf8()).array()) {
        const QString item = v.toString();
        const qsizetype eq = item.indexOf(u'=');
        m.insert(item.left(eq), item.mid(eq + 1));
    }
    return m;
}

/// A scale factor of two significant digits, at least 0.001.
double roundFactor(double f)
{
    if (!(f > 0.001))
        return 0.001;
    const double magnitude = std::pow(10.0, std::floor(std::log10(f)) - 1);
    return std::floor(f / magnitude) * magnitude;
}

QString factorText(double f)
{
    return QString::number(f, 'g', 3);
}

/// ALTER TABLE ... SET (...) and the undo that puts back the options as they were.
void setOptions(Finding& f, const QString& table, const QMap<QString, QString>& now, const QMap<QString, QString>& want)
{
    QStringList set, restore, reset;
    for (auto it = want.cbegin(); it != want.cend(); ++it) {
        set << u"%1 = %2"_s.arg(it.key(), it.value());
        if (now.contains(it.key()))
            restore << u"%1 = %2"_s.arg(it.key(), now.value(it.key()));
        else
            reset << it.key();
    }
    f.sql << u"ALTER TABLE %1 SET (%2)"_s.arg(table, set.join(u", "_s));
    if (!restore.isEmpty())
        f.undo << u"ALTER TABLE %1 SET (%2)"_s.arg(table, restore.join(u", "_s));
    if (!reset.isEmpty())
        f.undo << u"ALTER TABLE %1 RESET (%2)"_s.arg(table, reset.join(u", "_s));
}

} // namespace

void checkAutovacuum(Context& c)
{
    const auto r = c.exec(u"tables"_s, {c.schemas});
    if (!r.ok()) {
        c.note(u"Autovacuum check: "_s + r.error().oneLine());
        return;
    }
    if (c.statsHours <= 0)
        return;
    const double target = c.options.autovacuumTargetMinutes / 60;
    for (int i = 0; i < r.rowCount(); ++i) {
        const QString schema = r.text(i, u"schema"_s), table = r.text(i, u"table_name"_s);
        const QMap<QString, QString> opts = reloptions(r.text(i, u"reloptions"_s));
        if (opts.value(u"autovacuum_enabled"_s) == u"false"_s)
            continue;
        const double tuples = std::max(r.toDouble(i, u"reltuples"_s), double(r.toInt64(i, u"n_live_tup"_s)));
        const double threshold = opts.value(u"autovacuum_vacuum_threshold"_s, QString::number(c.avThreshold)).toDouble();
        const double scale = opts.value(u"autovacuum_vacuum_scale_factor"_s, QString::number(c.avScale)).toDouble();
        const double insThreshold = opts.value(u"autovacuum_vacuum_insert_threshold"_s, QString::number(c.avInsertThreshold)).toDouble();
        const double insScale = opts.value(u"autovacuum_vacuum_insert_scale_factor"_s, QString::number(c.avInsertScale)).toDouble();
        const double churn = double(r.toInt64(i, u"n_tup_upd"_s) + r.toInt64(i, u"n_tup_del"_s)) / c.statsHours;
        const double inserts = double(r.toInt64(i, u"n_tup_ins"_s)) / c.statsHours;
        const double trigger = threshold + scale * tuples;
        const double insTrigger = insThreshold + insScale * tuples;
        const double every = churn > 0 ? trigger / churn : INFINITY;       // hours between vacuums at this churn
        const double insEvery = inserts > 0 ? insTrigger / inserts : INFINITY;
        QMap<QString, QString> want;
        double newScale = scale, newInsScale = insScale;
        // "Far behind": twice the target or more between two vacuums of a hot table.
        if (churn >= c.options.minChurnPerHour && every > 2 * target && tuples > 0) {
            newScale = roundFactor((churn * target - threshold) / tuples);
            if (newScale < scale)
                want.insert(u"autovacuum_vacuum_scale_factor"_s, factorText(newScale));
        }
        if (inserts >= c.options.minChurnPerHour && insEvery > 2 * target && tuples > 0) {
            newInsScale = roundFactor((inserts * target - insThreshold) / tuples);
            if (newInsScale < insScale)
                want.insert(u"autovacuum_vacuum_insert_scale_factor"_s, factorText(newInsScale));
        }
        if (want.isEmpty())
            continue;
        Finding f;
        f.check = u"autovacuum"_s;
        f.object = label(schema, table);
        f.id = u"autovacuum:"_s + f.object;
        f.title = u"%1 churns %2 rows/h but autovacuum waits for %3: every %4"_s.arg(f.object,
            formatNumber(want.contains(u"autovacuum_vacuum_scale_factor"_s) ? churn : inserts),
            formatCount(qint64(want.contains(u"autovacuum_vacuum_scale_factor"_s) ? trigger : insTrigger)),
            formatDuration(3600 * (want.contains(u"autovacuum_vacuum_scale_factor"_s) ? every : insEvery)));
        f.evidence << ev(u"rows"_s, tuples, u"%1 rows, %2"_s.arg(formatCount(qint64(tuples)), formatBytes(r.toInt64(i, u"table_bytes"_s))))
                   << ev(u"churn_per_hour"_s, churn, u"%1 rows updated or deleted an hour, %2 inserted (since %3)"_s.arg(formatNumber(churn), formatNumber(inserts), c.statsSince))
                   << ev(u"trigger"_s, trigger, u"vacuum trigger %1 + %2 × rows = %3 dead rows: every %4 at this churn"_s.arg(formatNumber(threshold), factorText(scale), formatCount(qint64(trigger)), formatDuration(3600 * every)))
                   << ev(u"insert_trigger"_s, insTrigger, u"insert trigger %1 + %2 × rows = %3 rows: every %4"_s.arg(formatNumber(insThreshold), factorText(insScale), formatCount(qint64(insTrigger)), formatDuration(3600 * insEvery)))
                   << ev(u"dead_tuples"_s, double(r.toInt64(i, u"n_dead_tup"_s)), u"%1 dead rows now; %2 autovacuums since %3, last %4"_s.arg(
                          formatCount(r.toInt64(i, u"n_dead_tup"_s)), formatCount(r.toInt64(i, u"autovacuum_count"_s)), c.statsSince,
                          r.text(i, u"last_autovacuum"_s).isEmpty() ? u"never"_s : r.text(i, u"last_autovacuum"_s)));
        QStringList gains;
        if (want.contains(u"autovacuum_vacuum_scale_factor"_s))
            gains << u"a vacuum every %1 instead of %2 (scale factor %3 → %4): dead rows stay near %5 instead of up to %6, "
                     "index and heap bloat with them"_s.arg(formatDuration(3600 * (threshold + newScale * tuples) / churn), formatDuration(3600 * every),
                         factorText(scale), factorText(newScale), formatCount(qint64(threshold + newScale * tuples)), formatCount(qint64(trigger)));
        if (want.contains(u"autovacuum_vacuum_insert_scale_factor"_s))
            gains << u"appended rows vacuumed every %1 instead of %2 (insert scale factor %3 → %4): the visibility map "
                     "stays current for index-only scans, BRIN ranges get summarized"_s.arg(formatDuration(3600 * (insThreshold + newInsScale * tuples) / inserts),
                         formatDuration(3600 * insEvery), factorText(insScale), factorText(newInsScale));
        f.gain = gains.join(u"; "_s);
        setOptions(f, qualified(schema, table), opts, want);
        f.locks = u"SHARE UPDATE EXCLUSIVE on the table for a moment: reads and writes go on; waits behind a running VACUUM or DDL."_s;
        f.time = u"moments"_s;
        f.disk = u"none; each vacuum then reads the table's changed pages more often, in smaller portions"_s;
        f.canApply = r.toBool(i, u"can_change"_s);
        if (!f.canApply)
            f.whyNotApply = u"%1 does not own %2"_s.arg(c.user, f.object);
        if (!c.autovacuum)
            f.note = u"autovacuum is off on this server: the per-table settings take effect only when it is on."_s;
        f.guardKind = u"table"_s;
        f.guardObject = qualified(schema, table);
        f.guard = tableGuard(c, schema, table);
        c.report->findings << f;
    }
}

void checkParallel(Context& c)
{
    for (const QString& role : c.options.olapRoles) {
        const auto r = c.exec(u"role_parallel"_s, {role});
        if (!r.ok()) {
            c.note(u"Parallel check: "_s + r.error().oneLine());
            return;
        }
        if (r.rowCount() == 0) {
            c.note(u"Parallel check: there is no role %1 (the OLAP role; htapctl advise --olap-role names another)."_s.arg(role));
            continue;
        }
        const QString own = r.text(0, u"own_value"_s);
        const int workers = own.isEmpty() ? c.workersPerGather : own.toInt();
        if (workers > 0 && c.maxParallelWorkers > 0)
            continue;
        const auto tables = c.exec(u"role_tables"_s, {c.schemas, role});
        if (!tables.ok()) {
            c.note(u"Parallel check: "_s + tables.error().oneLine());
            continue;
        }
        QStringList large, small;
        QString largest;
        for (int i = 0; i < tables.rowCount(); ++i) {
            const QString name = label(tables.text(i, u"schema"_s), tables.text(i, u"table_name"_s));
            const QString text = u"%1 %2"_s.arg(name, formatBytes(tables.toInt64(i, u"bytes"_s)));
            if (tables.toInt64(i, u"bytes"_s) >= c.minParallelBytes) {
                large << text;
                if (largest.isEmpty())
                    largest = qualified(tables.text(i, u"schema"_s), tables.text(i, u"table_name"_s));
            } else {
                small << text;
            }
        }
        if (large.isEmpty())
            continue; // nothing the role reads is large enough for a parallel scan
        const int proposed = std::max(1, std::min(2, c.maxParallelWorkers > 0 ? c.maxParallelWorkers : 2));
        Finding f;
        f.check = u"parallel"_s;
        f.object = role;
        f.id = u"parallel:"_s + role;
        f.title = u"Reports of %1 run on one core: max_parallel_workers_per_gather is %2 for it"_s.arg(role, QString::number(workers));
        f.evidence << ev(u"workers_per_gather"_s, workers, u"%1's sessions get max_parallel_workers_per_gather = %2 (%3)"_s.arg(
                              role, QString::number(workers), own.isEmpty() ? u"the server's"_s : u"its own setting"_s))
                   << ev(u"max_parallel_workers"_s, c.maxParallelWorkers, u"max_parallel_workers = %1 on the server"_s.arg(c.maxParallelWorkers))
                   << ev(u"min_parallel_table_scan_size"_s, double(c.minParallelBytes),
                          u"tables above min_parallel_table_scan_size (%1) it reads: %2"_s.arg(formatBytes(c.minParallelBytes), large.join(u", "_s)));
        if (!small.isEmpty())
            f.evidence << ev(u"small_tables"_s, double(small.size()), u"below it, never scanned in parallel: %1"_s.arg(small.join(u", "_s)));
        for (const QString& s : c.options.statements) // given: the reports to measure
            if (!s.contains(u'$'))
                f.statements << s;
        if (c.pgss) {
            const auto s = c.exec(u"role_statements"_s, {role});
            for (int i = 0; s.ok() && i < s.rowCount(); ++i) {
                const QString q = s.text(i, 0);
                if (!q.contains(u'$') && c.options.statements.isEmpty())
                    f.statements << q;
                f.evidence << ev(u"statement_ms"_s, s.toDouble(i, 2), u"%1 ms mean over %2 calls: %3"_s.arg(formatNumber(s.toDouble(i, 2)),
                                                                        formatCount(s.toInt64(i, 1)), q.simplified().left(100)));
            }
        }
        if (f.statements.isEmpty())
            f.statements << u"SELECT count(*) FROM %1"_s.arg(largest);
        const bool superuserOnly = c.maxParallelWorkers == 0;
        if (workers == 0) {
            f.sql << u"ALTER ROLE %1 SET max_parallel_workers_per_gather = %2"_s.arg(quoteIdentifier(role)).arg(proposed);
            if (own.isEmpty())
                f.undo << u"ALTER ROLE %1 RESET max_parallel_workers_per_gather"_s.arg(quoteIdentifier(role));
            else
                f.undo << u"ALTER ROLE %1 SET max_parallel_workers_per_gather = %2"_s.arg(quoteIdentifier(role), htap::pg::quoteLiteral(own));
        }
        f.gain = u"a scan of a large table and its aggregation split over %1 worker(s) and the leader: up to %2x faster on "
                 "an idle server with the cores (the seed's 6.3: 1,800 → 450 ms with 4); Measure runs the statements with 0 "
                 "and %1 workers."_s.arg(proposed).arg(proposed + 1);
        f.locks = u"none (ALTER ROLE changes a catalog row; new sessions of the role get it)"_s;
        f.time = u"moments"_s;
        f.disk = u"none; each parallel query may use work_mem per worker"_s;
        f.note = u"Workers come from max_parallel_workers (%1 here), shared by all sessions; on a machine whose cores the "
                 "OLTP load needs, keep it low. Sessions already open keep their value until they reconnect."_s.arg(c.maxParallelWorkers);
        if (superuserOnly)
            f.note += u" max_parallel_workers is 0 on the server: raise it (ALTER SYSTEM, superuser) first; the role setting alone does nothing."_s;
        f.canApply = r.toBool(0, u"can_change"_s) && !f.sql.isEmpty();
        if (!f.canApply)
            f.whyNotApply = f.sql.isEmpty() ? u"the limit is max_parallel_workers, a server setting"_s
                                            : u"%1 has neither superuser nor CREATEROLE"_s.arg(c.user);
        f.settingsBefore.insert(u"max_parallel_workers_per_gather"_s, QString::number(workers));
        f.settingsAfter.insert(u"max_parallel_workers_per_gather"_s, QString::number(proposed));
        f.guardKind = u"role"_s;
        f.guardObject = role;
        QString error;
        f.guard = guardState(c.conn, f.guardKind, role, &error);
        c.report->findings << f;
    }
}

void checkMatviews(Context& c)
{
    const auto r = c.exec(u"matviews"_s, {c.schemas});
    if (!r.ok()) {
        c.note(u"Materialized view check: "_s + r.error().oneLine());
        return;
    }
    QHash<QString, int> refreshes; // label -> row of counts
    htap::pg::Result counts;
    if (c.conn.exec(u"SELECT to_regclass('htap.refresh_log') IS NOT NULL AND to_regclass('htap.refresh_schedule') IS NOT NULL"_s).toBool(0, 0)) {
        counts = c.exec(u"refresh_counts"_s);
        for (int i = 0; counts.ok() && i < counts.rowCount(); ++i)
            refreshes.insert(counts.text(i, u"view_name"_s), i);
    }
    for (int i = 0; i < r.rowCount(); ++i) {
        const QString schema = r.text(i, u"schema"_s), view = r.text(i, u"view_name"_s);
        const QString name = label(schema, view);
        if (!r.toBool(i, u"has_unique"_s)) {
            Finding f;
            f.check = u"mv-unique-index"_s;
            f.object = name;
            f.id = u"mv-unique-index:"_s + name;
            f.title = u"%1 has no unique index: REFRESH ... CONCURRENTLY refuses it, so every refresh blocks its readers"_s.arg(name);
            f.evidence << ev(u"bytes"_s, double(r.toInt64(i, u"bytes"_s)), u"%1, %2"_s.arg(formatBytes(r.toInt64(i, u"bytes"_s)), r.toBool(i, u"relispopulated"_s) ? u"populated"_s : u"not populated"_s));
            const QStringList candidates = r.text(i, u"unique_candidates"_s).split(u',', Qt::SkipEmptyParts);
            if (!candidates.isEmpty()) {
                const QString col = candidates.first();
                const QString idx = objectName(view + u'_' + col, u"_key"_s);
                f.evidence << ev(u"unique_columns"_s, double(candidates.size()), u"columns whose sampled values are all distinct and never null (pg_stats): %1"_s.arg(candidates.join(u", "_s)));
                f.sql << u"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS %1 ON %2 (%3)"_s.arg(quoteIdentifier(idx), qualified(schema, view), quoteIdentifier(col));
                f.undo << u"DROP INDEX CONCURRENTLY IF EXISTS %1"_s.arg(qualified(schema, idx));
                f.inTransaction = false;
                f.note = u"%1 is unique in the statistics' sample; the build fails, changing nothing, if two rows share a value. "
                         "Prefer the view's grouping columns when they differ."_s.arg(col);
            } else {
                f.note = u"No column is unique in the statistics: add a unique index on the view's grouping key by hand."_s;
            }
            f.gain = u"REFRESH MATERIALIZED VIEW CONCURRENTLY can run: readers keep reading during the refresh (the seed's 7.1.1 decision 2)"_s;
            f.locks = u"SHARE UPDATE EXCLUSIVE on the view during the build: reads go on, REFRESH waits"_s;
            f.time = u"one read of the view (%1)"_s.arg(formatBytes(r.toInt64(i, u"bytes"_s)));
            f.disk = u"an index on one column of the view"_s;
            f.canApply = r.toBool(i, u"can_change"_s) && !f.sql.isEmpty();
            if (!r.toBool(i, u"can_change"_s))
                f.whyNotApply = u"%1 does not own %2"_s.arg(c.user, name);
            else if (f.sql.isEmpty())
                f.whyNotApply = u"no key column known"_s;
            f.guardKind = u"table"_s;
            f.guardObject = qualified(schema, view);
            f.guard = tableGuard(c, schema, view);
            c.report->findings << f;
        }
        const auto it = refreshes.constFind(name);
        if (it == refreshes.cend() || c.statsHours <= 0)
            continue;
        const int row = it.value();
        const double perHour = counts.toDouble(row, u"refreshes"_s) / counts.toDouble(row, u"hours"_s);
        const double changes = r.toDouble(i, u"base_changes"_s) / c.statsHours;
        if (perHour < 2 || changes >= perHour)
            continue;
        Finding f;
        f.check = u"mv-refresh"_s;
        f.object = name;
        f.id = u"mv-refresh:"_s + name;
        f.title = u"%1 is refreshed %2 times an hour; its base tables change %3 rows an hour"_s.arg(name, formatNumber(perHour), formatNumber(changes));
        f.evidence << ev(u"refreshes_per_hour"_s, perHour, u"%1 full refreshes in the last %2 (htap.refresh_log)"_s.arg(formatCount(counts.toInt64(row, u"refreshes"_s)), formatDuration(3600 * counts.toDouble(row, u"hours"_s))))
                   << ev(u"base_changes_per_hour"_s, changes, u"%1 rows inserted, updated or deleted an hour in %2 since %3"_s.arg(formatNumber(changes), r.text(i, u"base_tables"_s), c.statsSince))
                   << ev(u"bytes"_s, double(r.toInt64(i, u"bytes"_s)), u"each refresh recomputes %1"_s.arg(formatBytes(r.toInt64(i, u"bytes"_s))));
        f.gain = u"most refreshes recompute the whole view to find nothing changed: refreshing less often frees that CPU and I/O "
                 "(and the WAL a CONCURRENTLY refresh writes) for the order load"_s;
        const int every = counts.isNull(row, counts.column(u"every_seconds"_s)) ? 0 : int(counts.toInt64(row, u"every_seconds"_s));
        const int proposed = changes > 0 ? std::clamp(int(3600 / changes), 300, 86400) : 3600;
        if (every > 0 && counts.text(row, u"runner"_s) == u"app"_s && proposed > every) {
            f.sql << u"UPDATE htap.refresh_schedule SET every_seconds = %1, updated_at = now(), updated_by = current_user WHERE view_name = %2"_s.arg(
                QString::number(proposed), htap::pg::quoteLiteral(name));
            f.undo << u"UPDATE htap.refresh_schedule SET every_seconds = %1, updated_at = now(), updated_by = current_user WHERE view_name = %2"_s.arg(
                QString::number(every), htap::pg::quoteLiteral(name));
            f.guardKind = u"schedule"_s;
            f.guardObject = name;
            QString error;
            f.guard = guardState(c.conn, f.guardKind, name, &error);
        } else {
            f.note = every > 0 ? u"Its schedule runs under pg_cron: change it with htapctl mv schedule."_s
                               : u"No schedule of HTAP Studio refreshes it: whoever does (cron, an application) should do it less often, "
                                 "or make it incremental (htapctl mv enable-incremental)."_s;
            f.canApply = false;
            f.whyNotApply = u"not refreshed by an HTAP Studio schedule"_s;
        }
        f.locks = u"none on the view (a row of htap.refresh_schedule)"_s;
        f.time = u"moments"_s;
        f.disk = u"none"_s;
        c.report->findings << f;
    }
}

void checkPartitions(Context& c)
{
    const auto r = c.exec(u"partition_candidates"_s, {c.schemas, c.options.minPartitionBytes});
    if (!r.ok()) {
        c.note(u"Partition check: "_s + r.error().oneLine());
        return;
    }
    QSet<QString> done;
    for (int i = 0; i < r.rowCount(); ++i) {
        const QString schema = r.text(i, u"schema"_s), table = r.text(i, u"table_name"_s), column = r.text(i, u"column_name"_s);
        const QString name = label(schema, table);
        if (done.contains(name))
            continue;
        // The statements that filter the table on this column.
        QStringList statements;
        QList<Evidence> stmtEvidence;
        for (const QString& s : c.options.statements)
            if (s.contains(table, Qt::CaseInsensitive) && s.contains(column, Qt::CaseInsensitive))
                statements << s;
        if (c.pgss) {
            const auto s = c.exec(u"statements_on"_s, {QRegularExpression::escape(table), QRegularExpression::escape(column)});
            for (int k = 0; s.ok() && k < s.rowCount(); ++k) {
                stmtEvidence << ev(u"statement_ms"_s, s.toDouble(k, 2), u"%1 ms mean over %2 calls: %3"_s.arg(formatNumber(s.toDouble(k, 2)),
                                                                             formatCount(s.toInt64(k, 1)), s.text(k, 0).simplified().left(100)));
                if (!s.text(k, 0).contains(u'$'))
                    statements << s.text(k, 0);
            }
        }
        if (statements.isEmpty() && stmtEvidence.isEmpty())
            continue;
        const QDateTime low = QDateTime::fromString(r.text(i, u"low"_s).left(19), u"yyyy-MM-dd HH:mm:ss"_s);
        const QDateTime high = QDateTime::fromString(r.text(i, u"high"_s).left(19), u"yyyy-MM-dd HH:mm:ss"_s);
        const QDate lowDay = low.isValid() ? low.date() : QDate::fromString(r.text(i, u"low"_s).left(10), Qt::ISODate);
        const QDate highDay = high.isValid() ? high.date() : QDate::fromString(r.text(i, u"high"_s).left(10), Qt::ISODate);
        if (!lowDay.isValid() || !highDay.isValid())
            continue;
        const int months = (highDay.year() - lowDay.year()) * 12 + highDay.month() - lowDay.month() + 1;
        if (months < 2)
            continue;
        done << name;
        Finding f;
        f.check = u"partition"_s;
        f.object = name;
        f.id = u"partition:%1.%2"_s.arg(name, column);
        const qint64 bytes = r.toInt64(i, u"table_bytes"_s);
        f.title = u"%1 (%2, %3 months of %4) would prune to one monthly partition for a month's range"_s.arg(name, formatBytes(bytes), QString::number(months), column);
        f.evidence << ev(u"table_bytes"_s, double(bytes), u"%1, %2 rows"_s.arg(formatBytes(bytes), formatCount(r.toInt64(i, u"reltuples"_s))))
                   << ev(u"months"_s, months, u"%1 from %2 to %3 (pg_stats histogram): %4 monthly partitions"_s.arg(column, lowDay.toString(Qt::ISODate), highDay.toString(Qt::ISODate), QString::number(months)))
                   << ev(u"correlation"_s, r.toDouble(i, u"correlation"_s), u"correlation %1"_s.arg(QString::number(r.toDouble(i, u"correlation"_s), 'f', 3)));
        f.evidence << stmtEvidence;
        f.gain = u"a statement over one month reads one partition, about 1/%1 of the table (%2), without an index; old months "
                 "detach or drop in moments instead of a DELETE and a vacuum (the seed's 6.2)"_s.arg(months).arg(formatBytes(bytes / months));
        describeMove(c, schema, table, column, r.toBool(i, u"can_change"_s), bytes, months, &f);
        f.statements = statements;
        f.guardKind = u"shape"_s;
        f.guardObject = qualified(schema, table);
        QString error;
        f.guard = guardState(c.conn, f.guardKind, f.guardObject, &error);
        c.report->findings << f;
    }
    checkUnfinishedMoves(c);
}

} // namespace htap::advise::detail
