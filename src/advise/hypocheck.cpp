// Missing indexes: the top statements' sequential scans with a filter, each filtered column tried
// as a hypothetical index (hypopg) and the statement planned again.
#include "advisor_p.h"

#include <core/format.h>
#include <pg/identifier.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>

namespace htap::advise::detail {

using namespace Qt::StringLiterals;
using htap::core::formatBytes;
using htap::core::formatNumber;
using htap::pg::quoteIdentifier;

namespace {

struct Plan {
    double cost = -1;
    QJsonObject root;
    QString error;
};

/// EXPLAIN (VERBOSE, FORMAT JSON) of a statement; one with $n parameters is prepared and its generic plan
/// explained (what PostgreSQL 16's EXPLAIN (GENERIC_PLAN) does). Prepared anew each time, so
/// that the hypothetical indexes of the moment are seen.
Plan explain(htap::pg::Connection& conn, const QString& statement)
{
    Plan p;
    int params = 0;
    static const QRegularExpression dollar(u"\\$(\\d+)"_s);
    for (auto m = dollar.globalMatch(statement); m.hasNext();)
        params = std::max(params, m.next().captured(1).toInt());
    htap::pg::Result r;
    if (params == 0) {
        r = conn.exec(u"EXPLAIN (VERBOSE, FORMAT JSON) "_s + statement);
    } else {
        auto prep = conn.exec(u"SET plan_cache_mode = force_generic_plan"_s);
        if (prep.ok())
            prep = conn.exec(u"PREPARE htap_advise_statement AS "_s + statement);
        if (!prep.ok()) {
            conn.exec(u"RESET plan_cache_mode"_s);
            p.error = prep.error().oneLine();
            return p;
        }
        QStringList nulls;
        for (int i = 0; i < params; ++i)
            nulls << u"NULL"_s;
        r = conn.exec(u"EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE htap_advise_statement(%1)"_s.arg(nulls.join(u", "_s)));
        conn.exec(u"DEALLOCATE htap_advise_statement"_s);
        conn.exec(u"RESET plan_cache_mode"_s);
    }
    if (!r.ok()) {
        p.error = r.error().oneLine();
        return p;
    }
    p.root = QJsonDocument::fromJson(r.text(0, 0).toUtf8()).array().first().toObject().value(u"Plan"_s).toObject();
    p.cost = p.root.value(u"Total Cost"_s).toDouble();
    return p;
}

struct FilteredScan {
    QString schema, table, filter;
};

void seqScans(const QJsonObject& node, QList<FilteredScan>* out)
{
    if (node.value(u"Node Type"_s).toString() == u"Seq Scan"_s && node.contains(u"Filter"_s))
        *out << FilteredScan {node.value(u"Schema"_s).toString(), node.value(u"Relation Name"_s).toString(), node.value(u"Filter"_s).toString()};
    for (const QJsonValue& child : node.value(u"Plans"_s).toArray())
        seqScans(child.toObject(), out);
}

struct Candidate {
    QString schema, table;
    QStringList columns; ///< one, or two when the second cuts the cost further
    qint64 estimatedBytes = 0;
    QStringList statements;
    QList<std::pair<double, double>> costs;
};

} // namespace

void checkMissingIndexes(Context& c)
{
    QStringList statements = c.options.statements;
    if (statements.isEmpty() && c.pgss) {
        const auto r = c.exec(u"top_statements"_s, {c.options.topStatements});
        if (!r.ok()) {
            c.note(u"Missing-index check: "_s + r.error().oneLine());
            return;
        }
        for (int i = 0; i < r.rowCount(); ++i)
            statements << r.text(i, 0);
    }
    if (statements.isEmpty())
        return;
    if (c.hypopg.isEmpty()) {
        Finding f;
        f.check = u"hypopg"_s;
        f.object = u"hypopg"_s;
        f.id = u"hypopg:install"_s;
        f.title = u"hypopg is not installed: missing indexes for %1 statement(s) cannot be tried"_s.arg(statements.size());
        f.evidence << ev(u"statements"_s, double(statements.size()), u"%1 statements to try"_s.arg(statements.size()));
        f.gain = u"the missing-index check: for each top statement, the index that would serve it and its cost before and after, "
                 "without building anything (hypothetical indexes live in one session's memory)"_s;
        if (c.hypopgAvailable) {
            f.sql << u"CREATE EXTENSION hypopg"_s;
            f.undo << u"DROP EXTENSION hypopg"_s;
            f.canApply = c.canCreateExtension;
            if (!f.canApply)
                f.whyNotApply = u"%1 may not create extensions in this database"_s.arg(c.user);
        } else {
            f.note = u"Install the package on the server (Debian: apt-get install postgresql-15-hypopg), then CREATE EXTENSION hypopg."_s;
            f.canApply = false;
            f.whyNotApply = u"the hypopg package is not installed on the server"_s;
        }
        f.locks = u"none"_s;
        f.time = u"moments"_s;
        f.disk = u"none"_s;
        c.report->findings << f;
        return;
    }

    // The planner's cost of a statement with a hypothetical index on these columns, and the
    // index's estimated size; nothing when the plan would not use it.
    struct Tried {
        double cost = -1;
        qint64 bytes = 0;
    };
    const auto tryIndex = [&c](const QString& table, const QStringList& columns, const QString& statement) -> Tried {
        QStringList quoted;
        for (const QString& col : columns)
            quoted << quoteIdentifier(col);
        const auto h = c.conn.exec(u"SELECT indexrelid, indexname FROM hypopg_create_index($1)"_s,
            {u"CREATE INDEX ON %1 (%2)"_s.arg(table, quoted.join(u", "_s))});
        if (!h.ok()) {
            c.note(u"hypopg: "_s + h.error().oneLine());
            return {};
        }
        Tried t;
        const Plan after = explain(c.conn, statement);
        if (after.cost >= 0 && QJsonDocument(after.root).toJson(QJsonDocument::Compact).contains(h.text(0, 1).toUtf8())) {
            t.cost = after.cost;
            t.bytes = c.conn.exec(u"SELECT hypopg_relation_size($1::oid)"_s, {h.text(0, 0)}).toInt64(0, 0);
        }
        c.conn.exec(u"SELECT hypopg_reset()"_s);
        return t;
    };

    QMap<QString, Candidate> found; // schema.table.columns -> what it would serve
    for (const QString& statement : std::as_const(statements)) {
        const Plan before = explain(c.conn, statement);
        if (before.cost < 0)
            continue; // not plannable here (a statement of another database's objects, a type it cannot infer)
        QList<FilteredScan> scans;
        seqScans(before.root, &scans);
        for (const FilteredScan& s : std::as_const(scans)) {
            if (c.options.schemas.size() && !c.options.schemas.contains(s.schema))
                continue;
            const QString t = qualified(s.schema, s.table);
            const auto size = c.conn.exec(u"SELECT pg_relation_size(to_regclass($1))"_s, {t});
            if (!size.ok() || size.toInt64(0, 0) < c.options.minTableBytes)
                continue;
            const auto cols = c.exec(u"table_columns"_s, {t});
            QStringList filtered; // the table's columns the filter names
            for (int k = 0; cols.ok() && k < cols.rowCount(); ++k) {
                const QString col = cols.text(k, 0);
                const QRegularExpression word(u"(^|[^A-Za-z0-9_\"])\"?%1\"?($|[^A-Za-z0-9_])"_s.arg(QRegularExpression::escape(col)));
                if (word.match(s.filter).hasMatch())
                    filtered << col;
            }
            Tried best {before.cost, 0};
            QStringList bestColumns;
            for (const QString& col : std::as_const(filtered))
                if (const Tried tried = tryIndex(t, {col}, statement); tried.cost >= 0 && tried.cost < best.cost) {
                    best = tried;
                    bestColumns = {col};
                }
            // A second column after the best one, when the filter names more: kept only when it
            // cuts the cost by a fifth more (each column widens every entry the writers write).
            if (!bestColumns.isEmpty()) {
                const Tried single = best;
                for (const QString& col : std::as_const(filtered)) {
                    if (col == bestColumns.first())
                        continue;
                    if (const Tried tried = tryIndex(t, {bestColumns.first(), col}, statement);
                        tried.cost >= 0 && tried.cost < single.cost * 0.8 && tried.cost < best.cost) {
                        best = tried;
                        bestColumns = QStringList {bestColumns.first(), col};
                    }
                }
            }
            if (bestColumns.isEmpty() || before.cost / std::max(best.cost, 0.01) < c.options.minCostGain)
                continue;
            Candidate& cand = found[label(s.schema, s.table) + u'.' + bestColumns.join(u',')];
            cand.schema = s.schema;
            cand.table = s.table;
            cand.columns = bestColumns;
            cand.estimatedBytes = best.bytes;
            if (!cand.statements.contains(statement)) {
                cand.statements << statement;
                cand.costs << std::pair {before.cost, best.cost};
            }
        }
    }
    // A composite index serves the statements of the single-column one on its leading column
    // too: one index instead of two, when the plans say so.
    const QStringList keys = found.keys();
    for (const QString& key : keys) {
        const Candidate single = found.value(key);
        QString widerKey;
        for (auto o = found.cbegin(); o != found.cend(); ++o)
            if (single.columns.size() == 1 && o->columns.size() > 1 && o->schema == single.schema && o->table == single.table
                && o->columns.first() == single.columns.first())
                widerKey = o.key();
        if (widerKey.isEmpty())
            continue;
        Candidate folded = found.value(widerKey);
        bool all = true;
        for (int k = 0; k < single.statements.size() && all; ++k) {
            const Tried tried = tryIndex(qualified(single.schema, single.table), folded.columns, single.statements[k]);
            all = tried.cost >= 0 && single.costs[k].first / std::max(tried.cost, 0.01) >= c.options.minCostGain;
            folded.statements << single.statements[k];
            folded.costs << std::pair {single.costs[k].first, tried.cost};
        }
        if (all) {
            found.insert(widerKey, folded);
            found.remove(key);
        }
    }
    for (const Candidate& cand : std::as_const(found)) {
        const QString columns = cand.columns.join(u", "_s);
        QStringList quoted;
        for (const QString& col : cand.columns)
            quoted << quoteIdentifier(col);
        const QString name = objectName(cand.table + u'_' + cand.columns.join(u'_'), u"_idx"_s);
        Finding f;
        f.check = u"missing-index"_s;
        f.object = label(cand.schema, cand.table);
        f.id = u"missing-index:%1.%2"_s.arg(f.object, cand.columns.join(u','));
        double worst = 1;
        for (int k = 0; k < cand.statements.size(); ++k) {
            const auto [b, a] = cand.costs[k];
            worst = std::max(worst, b / std::max(a, 0.01));
            f.evidence << ev(u"cost"_s, a, u"planner cost %1 → %2 (%3x) with a hypothetical index on %4: %5"_s.arg(formatNumber(b), formatNumber(a),
                                                formatNumber(b / std::max(a, 0.01)), columns, cand.statements[k].simplified().left(120)));
        }
        f.evidence << ev(u"estimated_bytes"_s, double(cand.estimatedBytes),
            u"hypopg estimates the index at %1 (it ignores B-tree deduplication: low-cardinality columns come out larger than built)"_s.arg(formatBytes(cand.estimatedBytes)));
        f.title = u"An index on %1 (%2) would cut %3 statement(s)' cost up to %4x"_s.arg(f.object, columns).arg(cand.statements.size()).arg(formatNumber(worst));
        f.gain = u"the statements read through the index instead of the whole table; each insert and non-HOT update then writes one "
                 "entry more (the seed's 7.4: not an index on every column)"_s;
        f.sql << u"CREATE INDEX CONCURRENTLY IF NOT EXISTS %1 ON %2 (%3)"_s.arg(quoteIdentifier(name), qualified(cand.schema, cand.table), quoted.join(u", "_s));
        f.undo << u"DROP INDEX CONCURRENTLY IF EXISTS %1"_s.arg(qualified(cand.schema, name));
        f.inTransaction = false;
        f.locks = u"CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE on the table: reads and writes go on; it waits for "
                  "the transactions already open"_s;
        f.time = u"one read of the table and a sort"_s;
        f.disk = u"about %1 (hypopg's estimate)"_s.arg(formatBytes(cand.estimatedBytes));
        f.note = u"Costs are the planner's estimates with a hypothetical index (EXPLAIN without ANALYZE); Measure runs the "
                 "statements before and after a real one."_s;
        const auto owner = c.conn.exec(u"SELECT pg_has_role(relowner, 'USAGE') FROM pg_class WHERE oid = to_regclass($1)"_s,
            {qualified(cand.schema, cand.table)});
        f.canApply = owner.ok() && owner.rowCount() && owner.toBool(0, 0);
        if (!f.canApply)
            f.whyNotApply = u"%1 does not own %2"_s.arg(c.user, f.object);
        for (const QString& s : cand.statements)
            if (!s.contains(u'$'))
                f.statements << s;
        f.guardKind = u"table"_s;
        f.guardObject = qualified(cand.schema, cand.table);
        f.guard = tableGuard(c, cand.schema, cand.table);
        c.report->findings << f;
    }
}

} // namespace htap::advise::detail
