// View definitions: ViewQuery::parse and analyze, which decide whether the incremental engine
// maintains a materialized view (htapctl mv enable-incremental, the Views page). The definition
// comes from the server's catalog, so whoever may create a view writes it.
//
// Input: SQL text. A first line "-- catalog: REF=PK[>schema.table.col,...] ...; columns: a,b"
// (a comment, so the text stays SQL) says what the catalog would: which FROM entries are plain
// tables, their primary key and the foreign keys that reference it, and the view's column names;
// without it every table is plain with primary key "id" and the columns are c0, c1, ...
//
// A view that is accepted must have a plan that holds together, deparsed parts that parse
// again, and (when its tables are schema-qualified, as the catalog gives them) an engine
// (generateIvmSql) whose every statement parses as exactly one statement (the capture functions
// the registry keeps for renames too), with plpgsql bodies that parse and the view's own filter
// and expressions in them unchanged.
#include "fuzzutil.h"

#include <mv/ivmsql.h>
#include <mv/viewquery.h>

#include <pg_query.h>

using namespace Qt::StringLiterals;
using htap::fuzz::check;
using namespace htap::mv;

namespace {

struct Catalog {
    bool given = false;
    QHash<QString, TableInfo> tables;
    QStringList columns;
    OutputColumn::DistinctStore store = OutputColumn::DistinctStore::Counts;
};

Catalog catalogOf(const QString& sql)
{
    Catalog c;
    const QString prefix = u"-- catalog:"_s;
    if (!sql.startsWith(prefix))
        return c;
    c.given = true;
    const QString line = sql.mid(prefix.size(), sql.indexOf(u'\n') - prefix.size());
    const QStringList parts = line.split(u';');
    for (const QString& entry : parts.value(0).split(u' ', Qt::SkipEmptyParts)) {
        const QString ref = entry.section(u'=', 0, 0);
        const QString rest = entry.section(u'=', 1);
        TableInfo info;
        info.primaryKey = rest.section(u'>', 0, 0);
        info.primaryKeyType = u"bigint"_s;
        info.referencedBy = rest.section(u'>', 1).split(u',', Qt::SkipEmptyParts);
        c.tables.insert(ref, info);
    }
    for (const QString& option : parts.mid(1)) {
        const QString o = option.trimmed();
        if (o.startsWith(u"columns:"_s))
            c.columns = o.mid(8).trimmed().split(u',');
        else if (o == u"store=pairs"_s)
            c.store = OutputColumn::DistinctStore::Pairs;
        else if (o == u"store=bitmaps"_s)
            c.store = OutputColumn::DistinctStore::Bitmaps;
    }
    return c;
}

/// The number of statements in sql, or -1 when it does not parse.
int statements(const QString& sql)
{
    const QByteArray utf8 = sql.toUtf8();
    PgQuerySplitResult r = pg_query_split_with_parser(utf8.constData());
    const int n = r.error ? -1 : r.n_stmts;
    pg_query_free_split_result(r);
    return n;
}

QString plpgsqlError(const QString& sql)
{
    const QByteArray utf8 = sql.toUtf8();
    PgQueryPlpgsqlParseResult r = pg_query_parse_plpgsql(utf8.constData());
    const QString error = r.error ? QString::fromUtf8(r.error->message) : QString();
    pg_query_free_plpgsql_parse_result(r);
    return error;
}

bool parses(const QString& sql)
{
    return statements(sql) == 1;
}

void checkEngine(IvmPlan plan, const Catalog& catalog)
{
    for (OutputColumn& o : plan.outputs) {
        const bool counts = o.kind == OutputColumn::Kind::Count || o.kind == OutputColumn::Kind::CountStar
            || o.kind == OutputColumn::Kind::CountDistinct;
        o.type = counts ? u"bigint"_s : u"numeric"_s;
        o.distinctStore = catalog.store;
    }
    const IvmSql sql = generateIvmSql(plan, 7, u"public"_s, u"v"_s);
    check(!sql.install.isEmpty() && !sql.createView.isEmpty(), "an accepted view gets an engine");
    // The capture functions as the registry keeps them, for the DDL guard to install again after
    // a rename: their columns where @ivm_cols@ stands.
    QStringList kept;
    for (const CaptureSpec& c : sql.captures)
        for (const QString& f : c.functions + QStringList {c.updateUnfiltered})
            if (!f.isEmpty())
                kept << QString(f).replace(u"@ivm_cols@"_s, u"__ivm_r.x AS x"_s);
    for (const QString& s : sql.install + sql.indexes + sql.uninstall + QStringList {sql.createView} + kept) {
        check(statements(s) == 1, "every statement of the engine parses as one statement", s);
        if (s.startsWith(u"CREATE FUNCTION"_s) || s.startsWith(u"CREATE OR REPLACE FUNCTION"_s)
            || s.startsWith(u"CREATE PROCEDURE"_s)) {
            const QString error = plpgsqlError(s);
            check(error.isEmpty(), "every function of the engine parses", error + u"\n"_s + s);
        }
    }
    const QString install = sql.install.join(u'\n');
    check(plan.whereSql.isEmpty() || install.contains(plan.whereSql), "the view's filter reaches the engine unchanged",
        plan.whereSql);
    for (const OutputColumn& o : std::as_const(plan.outputs))
        check(o.expr.isEmpty() || install.contains(o.expr), "each column's expression reaches the engine unchanged", o.expr);
    for (int j = 0; j < plan.outputs.size(); ++j)
        if (plan.outputs[j].kind == OutputColumn::Kind::CountDistinct)
            check(parses(distinctDensityQuery(plan, j)), "the density query parses", distinctDensityQuery(plan, j));
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    htap::fuzz::quietQt();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const QString sql = QString::fromUtf8(htap::fuzz::bytes(data, size));
    ViewQuery q;
    QString error;
    if (!q.parse(sql, &error)) {
        check(!error.isEmpty(), "a refused definition says why");
        check(q.targetCount() == 0 && q.tables().isEmpty(), "a refused definition has no parts");
        return 0;
    }
    for (int i = 0; i < q.targetCount(); ++i)
        q.deparseTarget(i);

    const Catalog catalog = catalogOf(sql);
    QHash<QString, TableInfo> infos = catalog.tables;
    if (!catalog.given)
        for (const TableRef& t : q.tables())
            infos.insert(t.refName, TableInfo {u"id"_s, u"bigint"_s, {}});
    QStringList names = catalog.columns;
    if (names.isEmpty())
        for (int i = 0; i < q.targetCount(); ++i)
            names << u"c%1"_s.arg(i);

    IvmPlan plan;
    const QString refusal = q.analyze(names, infos, &plan);
    IvmPlan again;
    check(q.analyze(names, infos, &again) == refusal, "the same definition gets the same answer", refusal);
    if (!refusal.isEmpty())
        return 0;

    check(plan.outputs.size() == q.targetCount(), "a column in the plan for each column of the view");
    check(!plan.tables.isEmpty() && plan.tables[plan.factIndex()].isFact, "the fact table comes first");
    int facts = 0;
    for (const PlanTable& t : std::as_const(plan.tables))
        facts += t.isFact;
    check(facts == 1, "one fact table", QString::number(facts));
    check(again.fromSql == plan.fromSql && again.whereSql == plan.whereSql, "the same plan twice");
    check(parses(u"SELECT * FROM "_s + plan.fromSql), "the FROM clause deparses to SQL", plan.fromSql);
    check(plan.whereSql.isEmpty() || parses(u"SELECT 1 FROM t WHERE "_s + plan.whereSql), "the filter deparses to SQL",
        plan.whereSql);
    for (const OutputColumn& o : std::as_const(plan.outputs))
        check(o.kind == OutputColumn::Kind::CountStar || parses(u"SELECT "_s + o.expr), "each column deparses to SQL",
            o.expr);
    // The engine is generated from definitions as pg_get_viewdef prints them under search_path
    // pg_catalog: every table schema-qualified (MvService::prepareEngine, which also sets the
    // definition and refuses text that holds the generator's marker).
    plan.definition = sql.trimmed();
    if (plan.definition.endsWith(u';'))
        plan.definition.chop(1);
    if (std::all_of(plan.tables.cbegin(), plan.tables.cend(), [](const PlanTable& t) { return !t.ref.schema.isEmpty(); })
        && textTheEngineCannotHold(plan).isEmpty())
        checkEngine(plan, catalog);
    return 0;
}
