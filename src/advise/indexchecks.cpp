// The index checks: BRIN for time-ordered columns, indexes never used, duplicate and redundant.
#include "advisor_p.h"

#include <core/format.h>
#include <pg/identifier.h>

#include <cmath>

namespace htap::advise::detail {

using namespace Qt::StringLiterals;
using htap::core::formatBytes;
using htap::core::formatCount;
using htap::core::formatNumber;

namespace {

/// A BRIN index's size with 128 pages a range: a metapage, the range map (about 1,360 ranges a
/// page) and the summaries (a min/max pair of a timestamp takes about 40 bytes).
qint64 estimatedBrinBytes(qint64 relpages)
{
    const qint64 ranges = (relpages + 127) / 128;
    const qint64 pages = 1 + std::max<qint64>(1, (ranges + 1359) / 1360) + std::max<qint64>(1, (ranges * 40 + 8159) / 8160);
    return pages * 8192;
}

/// Index entries a table's writes add to each of its indexes: inserts, and updates that are not
/// HOT (a HOT update adds none).
qint64 entriesWritten(const htap::pg::Result& r, int row)
{
    return r.toInt64(row, u"n_tup_ins"_s) + r.toInt64(row, u"n_tup_upd"_s) - r.toInt64(row, u"n_tup_hot_upd"_s);
}

QString perHour(double n, double hours)
{
    return hours > 0 ? formatNumber(n / hours) + u"/h"_s : u"–"_s;
}

const QString kIndexLocks = u"CREATE/DROP INDEX CONCURRENTLY take SHARE UPDATE EXCLUSIVE on the table: reads and writes go "
                            "on, VACUUM and other DDL on it wait; each first waits for the transactions already open "
                            "(lock timeout applies)."_s;

} // namespace

void checkBrin(Context& c)
{
    const auto r = c.exec(u"brin_candidates"_s, {c.schemas, c.options.minTableBytes, c.options.minCorrelation});
    if (!r.ok()) {
        c.note(u"BRIN check: "_s + r.error().oneLine());
        return;
    }
    for (int i = 0; i < r.rowCount(); ++i) {
        const QString schema = r.text(i, u"schema"_s), table = r.text(i, u"table_name"_s), column = r.text(i, u"column_name"_s);
        const QString index = r.text(i, u"index_name"_s);
        const qint64 scans = r.toInt64(i, u"idx_scan"_s);
        const double perScan = scans > 0 ? double(r.toInt64(i, u"idx_tup_read"_s)) / double(scans) : 0;
        // A B-tree never scanned is the unused check's; one that reads a few rows a scan serves
        // lookups or ORDER BY ... LIMIT, which BRIN cannot.
        if (r.toBool(i, u"backs_constraint"_s) || scans == 0 || perScan < c.options.minTuplesPerScan)
            continue;
        const qint64 tableBytes = r.toInt64(i, u"table_bytes"_s), btreeBytes = r.toInt64(i, u"index_bytes"_s);
        const qint64 brinBytes = estimatedBrinBytes(r.toInt64(i, u"relpages"_s));
        const bool hasBrin = r.toBool(i, u"has_brin"_s);
        const QString t = qualified(schema, table);
        const QString brinName = objectName(table + u'_' + column, u"_brin"_s);
        Finding f;
        f.check = u"brin"_s;
        f.object = label(schema, index);
        f.id = u"brin:%1.%2"_s.arg(label(schema, table), column);
        f.title = hasBrin ? u"%1.%2 is time-ordered and already has a BRIN index: the B-tree %3 can go"_s.arg(label(schema, table), column, index)
                          : u"%1.%2 is time-ordered: a BRIN index instead of the B-tree %3"_s.arg(label(schema, table), column, index);
        const double correlation = r.toDouble(i, u"correlation"_s);
        f.evidence << ev(u"correlation"_s, correlation, u"physical order follows %1: correlation %2 (pg_stats)"_s.arg(column, QString::number(correlation, 'f', 4)))
                   << ev(u"table_bytes"_s, double(tableBytes), u"table %1, %2 rows"_s.arg(formatBytes(tableBytes), formatCount(r.toInt64(i, u"reltuples"_s))))
                   << ev(u"btree_bytes"_s, double(btreeBytes), u"B-tree %1: %2"_s.arg(index, formatBytes(btreeBytes)))
                   << ev(u"brin_bytes_estimated"_s, double(brinBytes), u"BRIN (128 pages a range): about %1, estimated"_s.arg(formatBytes(brinBytes)))
                   << ev(u"idx_scan"_s, double(scans), u"%1 scans since %2, %3 rows a scan on average: range scans"_s.arg(formatCount(scans), c.statsSince, formatNumber(perScan)))
                   << ev(u"index_writes"_s, double(r.toInt64(i, u"n_tup_ins"_s) + r.toInt64(i, u"n_tup_upd"_s)),
                          u"%1 rows inserted or updated since then (%2), each an entry in the B-tree"_s.arg(
                              formatCount(r.toInt64(i, u"n_tup_ins"_s) + r.toInt64(i, u"n_tup_upd"_s)),
                              perHour(double(r.toInt64(i, u"n_tup_ins"_s) + r.toInt64(i, u"n_tup_upd"_s)), c.statsHours)));
        f.gain = u"%1 of disk and of cache: the index goes from %2 to about %3 (%4x smaller); inserts stop splitting B-tree "
                 "pages. A 1-day range reads 2-4x more buffers than through the B-tree, a 30-day range about as many."_s
                     .arg(formatBytes(btreeBytes - brinBytes), formatBytes(btreeBytes), formatBytes(brinBytes),
                         formatNumber(double(btreeBytes) / double(std::max<qint64>(brinBytes, 1))));
        if (!hasBrin) {
            f.sql << u"CREATE INDEX CONCURRENTLY IF NOT EXISTS %1 ON %2 USING brin (%3) WITH (autosummarize = on)"_s.arg(
                htap::pg::quoteIdentifier(brinName), t, htap::pg::quoteIdentifier(column));
        }
        f.sql << u"DROP INDEX CONCURRENTLY IF EXISTS %1"_s.arg(qualified(schema, index));
        f.undo << concurrently(r.text(i, u"indexdef"_s));
        if (!hasBrin)
            f.undo << u"DROP INDEX CONCURRENTLY IF EXISTS %1"_s.arg(qualified(schema, brinName));
        f.inTransaction = false;
        f.locks = kIndexLocks;
        f.time = hasBrin ? u"the drop: moments once the open transactions end"_s
                         : u"the BRIN build reads the table once (%1); the drop: moments"_s.arg(formatBytes(tableBytes));
        f.disk = u"frees %1, takes about %2"_s.arg(formatBytes(btreeBytes), hasBrin ? u"nothing more"_s : formatBytes(brinBytes));
        f.note = u"The BRIN size is estimated from the table's pages; Apply and measure builds it and reports the real size. "
                 "autosummarize = on lets autovacuum summarize the ranges appended after the build (unsummarized ranges "
                 "are always read). Recheck the correlation after bulk updates or deletes that reuse space."_s;
        f.canApply = r.toBool(i, u"can_change"_s);
        if (!f.canApply)
            f.whyNotApply = u"%1 does not own %2"_s.arg(c.user, label(schema, table));
        f.statements = rangeStatements(c, schema, table, column);
        f.guardKind = u"table"_s;
        f.guardObject = t;
        f.guard = tableGuard(c, schema, table);
        c.report->findings << f;
    }
}

void checkIndexes(Context& c)
{
    const auto r = c.exec(u"indexes"_s, {c.schemas});
    if (!r.ok()) {
        c.note(u"Index checks: "_s + r.error().oneLine());
        return;
    }
    QSet<int> reported;
    QStringList kept;
    auto base = [&](int i, const QString& check) {
        const QString schema = r.text(i, u"schema"_s), table = r.text(i, u"table_name"_s), index = r.text(i, u"index_name"_s);
        const qint64 bytes = r.toInt64(i, u"index_bytes"_s);
        const qint64 writes = entriesWritten(r, i);
        Finding f;
        f.check = check;
        f.object = label(schema, index);
        f.id = check + u':' + f.object;
        f.evidence << ev(u"index_bytes"_s, double(bytes), u"%1 (%2 on %3): %4"_s.arg(index, r.text(i, u"columns"_s), label(schema, table), formatBytes(bytes)))
                   << ev(u"idx_scan"_s, double(r.toInt64(i, u"idx_scan"_s)),
                          u"%1 scans since %2 (%3 h of counters)"_s.arg(formatCount(r.toInt64(i, u"idx_scan"_s)), c.statsSince, formatNumber(c.statsHours)))
                   << ev(u"entries_written"_s, double(writes), u"write cost: %1 entries written since then (%2), one per insert and non-HOT update"_s.arg(formatCount(writes), perHour(double(writes), c.statsHours)));
        f.sql << u"DROP INDEX CONCURRENTLY IF EXISTS %1"_s.arg(qualified(schema, index));
        f.undo << concurrently(r.text(i, u"indexdef"_s));
        f.inTransaction = false;
        f.locks = kIndexLocks;
        f.time = u"moments once the open transactions end; undo rebuilds it (reads the table)"_s;
        f.disk = u"frees %1"_s.arg(formatBytes(bytes));
        f.canApply = r.toBool(i, u"can_change"_s);
        if (!f.canApply)
            f.whyNotApply = u"%1 does not own %2"_s.arg(c.user, label(schema, table));
        f.guardKind = u"table"_s;
        f.guardObject = qualified(schema, table);
        f.guard = tableGuard(c, schema, table);
        return f;
    };

    // Duplicates: same table, method, columns, operator classes, collations, expressions and predicate.
    QHash<QString, QList<int>> groups;
    for (int i = 0; i < r.rowCount(); ++i)
        if (r.toBool(i, u"indisvalid"_s))
            groups[QStringList {r.text(i, u"schema"_s), r.text(i, u"table_name"_s), r.text(i, u"amname"_s), r.text(i, u"indkey"_s),
                r.text(i, u"indclass"_s), r.text(i, u"indcollation"_s), r.text(i, u"exprs"_s), r.text(i, u"pred"_s)}
                       .join(u'\x1f')]
                << i;
    for (const QList<int>& g : std::as_const(groups)) {
        if (g.size() < 2)
            continue;
        // Keep the one that enforces something, else the most used.
        int keep = g.first();
        for (int i : g) {
            const bool enforces = r.toBool(i, u"enforces"_s) || r.toBool(i, u"backs_constraint"_s);
            const bool keepEnforces = r.toBool(keep, u"enforces"_s) || r.toBool(keep, u"backs_constraint"_s);
            if ((enforces && !keepEnforces) || (enforces == keepEnforces && r.toInt64(i, u"idx_scan"_s) > r.toInt64(keep, u"idx_scan"_s)))
                keep = i;
        }
        for (int i : g) {
            if (i == keep || r.toBool(i, u"backs_constraint"_s))
                continue;
            Finding f = base(i, u"duplicate-index"_s);
            f.title = u"%1 duplicates %2"_s.arg(label(r.text(i, u"schema"_s), r.text(i, u"index_name"_s)), r.text(keep, u"index_name"_s));
            f.evidence.prepend(ev(u"duplicate_of"_s, 0, u"same definition as %1: %2"_s.arg(r.text(keep, u"index_name"_s), r.text(keep, u"indexdef"_s))));
            f.gain = u"every write maintains one index fewer; %1 freed; the planner serves the same statements from %2"_s.arg(
                formatBytes(r.toInt64(i, u"index_bytes"_s)), r.text(keep, u"index_name"_s));
            c.report->findings << f;
            reported << i;
        }
    }

    // Redundant: a plain B-tree whose columns lead another B-tree of the same table.
    for (int a = 0; a < r.rowCount(); ++a) {
        if (reported.contains(a) || r.text(a, u"amname"_s) != u"btree"_s || r.toBool(a, u"enforces"_s) || r.toBool(a, u"backs_constraint"_s)
            || !r.text(a, u"exprs"_s).isEmpty() || !r.text(a, u"pred"_s).isEmpty() || !r.toBool(a, u"indisvalid"_s))
            continue;
        for (int b = 0; b < r.rowCount(); ++b) {
            if (a == b || reported.contains(b) || r.text(b, u"schema"_s) != r.text(a, u"schema"_s) || r.text(b, u"table_name"_s) != r.text(a, u"table_name"_s)
                || r.text(b, u"amname"_s) != u"btree"_s || !r.text(b, u"exprs"_s).isEmpty() || !r.text(b, u"pred"_s).isEmpty()
                || !r.toBool(b, u"indisvalid"_s))
                continue;
            if (!r.text(b, u"indkey"_s).startsWith(r.text(a, u"indkey"_s) + u' ')
                || !r.text(b, u"indclass"_s).startsWith(r.text(a, u"indclass"_s) + u' '))
                continue;
            Finding f = base(a, u"redundant-index"_s);
            f.title = u"%1 (%2) is the leading part of %3 (%4)"_s.arg(label(r.text(a, u"schema"_s), r.text(a, u"index_name"_s)),
                r.text(a, u"columns"_s), r.text(b, u"index_name"_s), r.text(b, u"columns"_s));
            f.evidence.prepend(ev(u"covered_by"_s, 0, u"%1 serves the same lookups and ranges: %2"_s.arg(r.text(b, u"index_name"_s), r.text(b, u"indexdef"_s))));
            f.gain = u"every write maintains one index fewer; %1 freed. Lookups on %2 use %3, a little larger per entry."_s.arg(
                formatBytes(r.toInt64(a, u"index_bytes"_s)), r.text(a, u"columns"_s), r.text(b, u"index_name"_s));
            c.report->findings << f;
            reported << a;
            break;
        }
    }

    // Never used.
    for (int i = 0; i < r.rowCount(); ++i) {
        if (reported.contains(i) || r.toInt64(i, u"idx_scan"_s) > 0 || !r.toBool(i, u"indisvalid"_s))
            continue;
        const QString name = label(r.text(i, u"schema"_s), r.text(i, u"index_name"_s));
        if (r.toBool(i, u"enforces"_s) || r.toBool(i, u"backs_constraint"_s))
            continue; // a primary key or unique constraint is not there for reads
        if (!r.text(i, u"serves_fk"_s).isEmpty()) {
            kept << name + u" (checks and cascades of foreign key %1)"_s.arg(r.text(i, u"serves_fk"_s));
            continue;
        }
        if (r.toInt64(i, u"index_bytes"_s) < c.options.minIndexBytes)
            continue;
        if (c.statsHours < c.options.minStatsHours) {
            kept << name + u" (the counters cover %1 h only)"_s.arg(formatNumber(c.statsHours));
            continue;
        }
        Finding f = base(i, u"unused-index"_s);
        f.title = u"%1 has not been used since %2"_s.arg(name, c.statsSince);
        const qint64 writes = entriesWritten(r, i);
        f.gain = u"%1 freed; %2 index entries a write fewer (%3 written since the counters began)"_s.arg(
            formatBytes(r.toInt64(i, u"index_bytes"_s)), u"one"_s, formatCount(writes));
        f.note = u"The counters are this server's only: a standby's reads never show here, so check the standbys first. "
                 "A crash or pg_stat_reset() zeroes them; a month-end job may need the index. Undo rebuilds it."_s;
        c.report->findings << f;
    }
    if (!kept.isEmpty())
        c.note(u"Indexes with no scans kept: %1."_s.arg(kept.join(u", "_s)));
}

} // namespace htap::advise::detail
