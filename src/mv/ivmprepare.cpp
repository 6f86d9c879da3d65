// Planning an incremental engine: reading a view's definition and its tables from the catalog,
// checking them against what the engine maintains, and --check.
#include "mvservice.h"

#include "ivmprepare.h"
#include "ivmsql.h"
#include "mvcommon.h"
#include <pg/identifier.h>

#include <QRegularExpression>

#include <algorithm>
#include <QSet>

using namespace Qt::StringLiterals;
using htap::pg::quoteIdentifier;
using htap::pg::quoteQualified;
using htap::pg::Result;

namespace htap::mv {

QString MvService::prepareEngine(const Resolved& view, EnginePrep* prep)
{
    const QString label = view.schema + u'.' + view.name;
    if (m_conn.serverVersionNum() < 150000)
        return u"the incremental engine needs PostgreSQL 15 or later (UNIQUE NULLS NOT DISTINCT); this server is %1"_s.arg(
            m_conn.serverVersion());
    // Its steps open and commit their own transactions: inside a caller's they would commit it.
    if (m_conn.inTransaction())
        return u"the incremental engine of %1 cannot be planned or enabled inside a transaction block"_s.arg(label);
    // Under search_path pg_catalog every name in the definition comes out schema-qualified, so
    // the generated functions (which run with that search_path) mean exactly the same objects.
    Result r = m_conn.exec(u"BEGIN"_s);
    if (r.ok())
        r = m_conn.exec(u"SET LOCAL search_path TO pg_catalog, pg_temp"_s);
    if (r.ok())
        r = m_conn.exec(u"SELECT pg_get_viewdef($1::oid), pg_get_userbyid(c.relowner), "
                        u"ARRAY(SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = c.oid ORDER BY i.indexrelid), "
                        u"rw.ev_action "
                        u"FROM pg_class c JOIN pg_rewrite rw ON rw.ev_class = c.oid WHERE c.oid = $1::oid"_s,
            {view.oid});
    m_conn.exec(u"COMMIT"_s);
    if (!r.ok() || r.rowCount() != 1)
        return u"cannot read the definition of %1: %2"_s.arg(label, r.ok() ? u"not found"_s : statementError(r));
    prep->definition = r.text(0, 0).trimmed();
    if (prep->definition.endsWith(u';'))
        prep->definition.chop(1);
    prep->owner = r.text(0, 1);
    const QString indexArray = r.text(0, 2);
    const QString action = r.text(0, 3);
    const auto refuse = [&](const QString& why) { return u"the engine cannot maintain %1: %2"_s.arg(label, why); };

    // What the statement's form rules out comes first: it needs no table looked up (a CTE's
    // name is no table), and it is the most fundamental reason.
    ViewQuery query;
    QString error;
    if (!query.parse(prep->definition, &error))
        return error;
    if (const QString why = query.structureRefusal(); !why.isEmpty())
        return refuse(why);

    // Which aggregates the definition calls, as the catalog knows them: array_agg(j) looks like
    // any function call in the text. A floating-point sum kept by adding and subtracting drifts
    // from one computed afresh (+1e15 then -1e15 loses every digit below 1), so it is refused.
    QSet<QString> aggregates;
    {
        QStringList ids;
        static const QRegularExpression aggRe(u"\\{AGGREF :aggfnoid (\\d+)"_s);
        for (auto it = aggRe.globalMatch(action); it.hasNext();)
            ids << it.next().captured(1);
        const Result a = m_conn.exec(u"SELECT CASE WHEN n.nspname = 'pg_catalog' THEN p.proname ELSE n.nspname || '.' || p.proname END, "
                                     u"p.oid::regprocedure::text, n.nspname = 'pg_catalog' AND p.proname IN ('sum', 'avg') "
                                     u"AND p.proargtypes[0] IN ('float4'::regtype, 'float8'::regtype) "
                                     u"FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = ANY ($1::oid[]) ORDER BY 2"_s,
            {QVariant(u"{"_s + ids.join(u',') + u"}"_s)});
        if (!a.ok())
            return statementError(a);
        for (int i = 0; i < a.rowCount(); ++i) {
            aggregates.insert(a.text(i, 0));
            if (a.toBool(i, 2))
                return refuse(u"%1 is not maintained: a floating-point sum kept by adding and subtracting drifts from one "
                              u"computed afresh (adding 1e15 to a value and taking it away again loses its digits below 1); "
                              u"sum a numeric instead, e.g. %2(x::numeric), which stays exact"_s.arg(a.text(i, 1), a.text(i, 1).section(u'(', 0, 0)));
        }
    }

    // Every function the query calls must be immutable: capture and rebuild run at different times.
    QSet<qint64> funcs;
    static const QRegularExpression funcRe(u":(?:funcid|opfuncid) (\\d+)"_s);
    for (auto it = funcRe.globalMatch(action); it.hasNext();)
        funcs.insert(it.next().captured(1).toLongLong());
    if (!funcs.isEmpty()) {
        QStringList ids;
        for (qint64 f : std::as_const(funcs))
            ids << QString::number(f);
        const Result v = m_conn.exec(u"SELECT p.oid::regprocedure::text, p.provolatile FROM pg_proc p "
                                     u"WHERE p.oid = ANY ($1::oid[]) AND p.provolatile <> 'i' ORDER BY 1 LIMIT 1"_s,
            {QVariant(u"{"_s + ids.join(u',') + u"}"_s)});
        if (!v.ok())
            return statementError(v);
        if (v.rowCount() == 1)
            return u"%1 calls %2, which is %3, not immutable: its result could differ between capture and rebuild "
                   u"(e.g. date_trunc on timestamptz depends on the session's TimeZone)"_s.arg(
                       label, v.text(0, 0), v.text(0, 1) == u"s"_s ? u"stable"_s : u"volatile"_s);
    }

    // CURRENT_DATE, LOCALTIMESTAMP and the like have no function to check: they change by themselves.
    if (action.contains(u"{SQLVALUEFUNCTION"_s))
        return u"%1 uses CURRENT_DATE, CURRENT_TIMESTAMP, LOCALTIMESTAMP or a similar value: its rows would age "
               u"without any change to capture"_s.arg(label);
    // A cast through text (e.g. timestamptz::text) runs the types' I/O functions, some of which
    // depend on settings (DateStyle, TimeZone).
    static const QRegularExpression ioRe(u"\\{COERCEVIAIO :arg \\{\\w+ .*?:(?:vartype|consttype|funcresulttype|opresulttype) (\\d+).*?:resulttype (\\d+)"_s);
    for (auto it = ioRe.globalMatch(action); it.hasNext();) {
        const QRegularExpressionMatch m = it.next();
        const Result io = m_conn.exec(
            u"SELECT format_type($1::oid, NULL) || ' to ' || format_type($2::oid, NULL) FROM pg_type s, pg_type d "
            u"JOIN pg_proc pi ON pi.oid = d.typinput WHERE s.oid = $1::oid AND d.oid = $2::oid "
            u"AND (pi.provolatile <> 'i' OR (SELECT provolatile FROM pg_proc WHERE oid = s.typoutput) <> 'i')"_s,
            {m.captured(1), m.captured(2)});
        if (io.ok() && io.rowCount() == 1)
            return u"%1 casts %2 through text, which depends on session settings (DateStyle, TimeZone): not immutable"_s.arg(
                label, io.text(0, 0));
    }

    r = m_conn.exec(u"SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::oid "
                    u"AND attnum > 0 AND NOT attisdropped ORDER BY attnum"_s,
        {view.oid});
    if (!r.ok())
        return statementError(r);
    for (int i = 0; i < r.rowCount(); ++i) {
        prep->columns << r.text(i, 0);
        prep->types << r.text(i, 1);
    }
    QString grantError;
    prep->grants = grantsOf(m_conn, view.oid, quoteQualified(view.schema, view.name), &grantError);
    if (!grantError.isEmpty())
        return grantError;
    r = m_conn.exec(u"SELECT unnest($1::text[])"_s, {indexArray});
    for (int i = 0; r.ok() && i < r.rowCount(); ++i)
        prep->indexDefs << r.text(i, 0);

    // Other views built on this one would have to be dropped with it.
    r = m_conn.exec(u"SELECT DISTINCT rw.ev_class::regclass::text FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid "
                    u"WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = $1::oid AND rw.ev_class <> $1::oid"_s,
        {view.oid});
    if (r.ok() && r.rowCount() > 0) {
        QStringList deps;
        for (int i = 0; i < r.rowCount(); ++i)
            deps << r.text(i, 0);
        return u"%1 is used by %2; the engine replaces the materialized view by a view, which would drop them"_s.arg(
            label, deps.join(u", "_s));
    }

    QHash<QString, TableInfo> infos;
    for (const TableRef& t : query.tables()) {
        const Result c = m_conn.exec(
            u"SELECT c.oid, c.relkind::text, "
            u"(SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            u"  WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1), "
            u"(SELECT format_type(a.atttypid, a.atttypmod) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            u"  AND a.attnum = i.indkey[0] WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1), "
            u"ARRAY(SELECT quote_ident(cn.nspname) || '.' || quote_ident(cc.relname) || '.' || quote_ident(ca.attname) "
            u"  FROM pg_constraint k JOIN pg_class cc ON cc.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace "
            u"  JOIN pg_attribute ca ON ca.attrelid = k.conrelid AND ca.attnum = k.conkey[1] "
            u"  WHERE k.contype = 'f' AND k.confrelid = c.oid AND cardinality(k.conkey) = 1 AND NOT k.condeferrable "
            u"  AND k.convalidated AND k.confkey[1] = (SELECT i.indkey[0] FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) "
            u"  ORDER BY 1), "
            u"EXISTS (SELECT 1 FROM pg_subscription_rel sr WHERE sr.srrelid = c.oid), "
            // 6: its inheritance parent (or partitioned table), if any
            u"(SELECT quote_ident(pn.nspname) || '.' || quote_ident(pc.relname) FROM pg_inherits h JOIN pg_class pc ON pc.oid = h.inhparent "
            u"  JOIN pg_namespace pn ON pn.oid = pc.relnamespace WHERE h.inhrelid = c.oid ORDER BY h.inhseqno LIMIT 1), "
            // 7: its members at any depth, "oid|relkind|quoted qualified name"
            u"ARRAY(WITH RECURSIVE m(oid) AS (SELECT inhrelid FROM pg_inherits WHERE inhparent = c.oid "
            u"  UNION SELECT h.inhrelid FROM pg_inherits h JOIN m ON h.inhparent = m.oid) "
            u"  SELECT m.oid || '|' || k.relkind::text || '|' || quote_ident(kn.nspname) || '.' || quote_ident(k.relname) "
            u"  FROM m JOIN pg_class k ON k.oid = m.oid JOIN pg_namespace kn ON kn.oid = k.relnamespace ORDER BY m.oid), "
            // 8, 9: the primary key's constraint, and the foreign keys of 4 (in the same order)
            u"(SELECT k.oid FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p'), "
            u"ARRAY(SELECT k.oid FROM pg_constraint k JOIN pg_class cc ON cc.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace "
            u"  JOIN pg_attribute ca ON ca.attrelid = k.conrelid AND ca.attnum = k.conkey[1] "
            u"  WHERE k.contype = 'f' AND k.confrelid = c.oid AND cardinality(k.conkey) = 1 AND NOT k.condeferrable "
            u"  AND k.convalidated AND k.confkey[1] = (SELECT i.indkey[0] FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) "
            u"  ORDER BY quote_ident(cn.nspname) || '.' || quote_ident(cc.relname) || '.' || quote_ident(ca.attname)) "
            u"FROM pg_class c WHERE c.oid = to_regclass($1)"_s,
            {quoteQualified(t.schema.isEmpty() ? u"public"_s : t.schema, t.name)});
        if (!c.ok())
            return statementError(c);
        if (c.rowCount() != 1)
            return refuse(u"the table %1 named in FROM was not found"_s.arg(quoteQualified(t.schema, t.name)));
        const QString kind = c.text(0, 1);
        const QString name = quoteQualified(t.schema, t.name);
        if (kind != u"r"_s && kind != u"p"_s) {
            return refuse(kind == u"v"_s ? u"%1 is a view: the engine captures changes to tables; read its tables in FROM instead"_s.arg(name)
                    : kind == u"m"_s     ? u"%1 is a materialized view: it changes only when refreshed, which no trigger sees"_s.arg(name)
                    : kind == u"f"_s     ? u"%1 is a foreign table: its rows change on another server, which no trigger here sees"_s.arg(name)
                                         : u"%1 is not a table"_s.arg(name));
        }
        // A statement fires the triggers of the table it names only: statements on a parent
        // change a child's rows without firing the child's, and its changed rows do not say
        // which table they are in. Members are captured with their parent instead.
        if (!c.isNull(0, 6))
            return refuse(u"%1 is an inheritance child or a partition of %2: statements on %2 change its rows without firing its "
                          u"triggers, and do not tell its rows from the others'; keep it materialized"_s.arg(name, c.text(0, 6)));
        if (c.toBool(0, 5))
            return u"%1 reads %2.%3, which a logical-replication subscription fills: its apply worker fires no "
                   u"statement triggers, so changes could not be captured"_s.arg(label, t.schema, t.name);
        TableInfo info;
        info.primaryKey = c.text(0, 2);
        info.primaryKeyType = c.text(0, 3);
        const Result fk = m_conn.exec(u"SELECT unnest($1::text[])"_s, {c.text(0, 4)});
        for (int i = 0; fk.ok() && i < fk.rowCount(); ++i) {
            // Compare unquoted, as the plan spells names.
            QString ref = fk.text(i, 0);
            ref.remove(u'"');
            info.referencedBy << ref;
        }
        info.oid = quint32(c.toInt64(0, 0));
        info.kind = kind.toLatin1().at(0);
        info.keyConstraint = quint32(c.toInt64(0, 8));
        const Result fkc = m_conn.exec(u"SELECT unnest($1::oid[])"_s, {c.text(0, 9)});
        for (int i = 0; fkc.ok() && i < fkc.rowCount(); ++i)
            info.referencedByConstraints << quint32(fkc.toInt64(i, 0));
        const Result members = m_conn.exec(u"SELECT split_part(m, '|', 1)::oid, split_part(m, '|', 2), substr(m, length(split_part(m, '|', 1)) "
                                           u"+ length(split_part(m, '|', 2)) + 3) FROM unnest($1::text[]) m"_s,
            {c.text(0, 7)});
        for (int i = 0; members.ok() && i < members.rowCount(); ++i) {
            // A foreign partition's rows change elsewhere; a partitioned member has no rows of
            // its own but statements that name it fire its own triggers.
            if (members.text(i, 1) == u"f"_s)
                return refuse(u"%1 has the foreign table %2 as a partition: its rows change on another server, which no trigger "
                              u"here sees"_s.arg(name, members.text(i, 2)));
            info.members << members.text(i, 2);
            info.memberOids << quint32(members.toInt64(i, 0));
        }
        info.hasChildren = !info.members.isEmpty();
        // Each column's type (a domain's base type): what outer joins compare must hash alike.
        const Result cols = m_conn.exec(u"SELECT a.attname, a.attnum, (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END)::regtype::text "
                                        u"FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = $1::oid "
                                        u"AND a.attnum > 0 AND NOT a.attisdropped"_s, {info.oid});
        if (!cols.ok())
            return statementError(cols);
        for (int i = 0; i < cols.rowCount(); ++i) {
            info.attnums.insert(cols.text(i, 0), int(cols.toInt64(i, 1)));
            info.types.insert(cols.text(i, 0), cols.text(i, 2));
        }
        infos.insert(t.refName, info);
    }
    // Row-level security: REFRESH reads the base tables as the view's owner, so its policies
    // decide which rows the materialized view has. Changes reach the capture triggers as
    // transition tables, which no policy filters, and the engine builds its state with its own
    // owner's rights: exact only where neither is filtered (superuser, BYPASSRLS, or the
    // table's owner without FORCE ROW LEVEL SECURITY). Filtering the captured rows by copies of
    // the policies would go wrong as soon as a policy reads another table or is changed.
    {
        QStringList oids;
        for (const TableInfo& info : std::as_const(infos))
            oids << QString::number(info.oid);
        const Result rls = m_conn.exec(
            u"SELECT c.oid::regclass::text, r.rolname, r.rolname = $2 FROM pg_class c CROSS JOIN pg_roles r "
            u"WHERE c.oid = ANY ($1::oid[]) AND c.relrowsecurity AND (r.rolname = $2 OR r.rolname = current_user) "
            u"AND NOT (r.rolsuper OR r.rolbypassrls OR (NOT c.relforcerowsecurity AND pg_has_role(r.oid, c.relowner, 'USAGE'))) "
            u"ORDER BY 3 DESC, 1 LIMIT 1"_s,
            {QVariant(u"{"_s + oids.join(u',') + u"}"_s), prep->owner});
        if (!rls.ok())
            return statementError(rls);
        if (rls.rowCount() == 1)
            return refuse(u"row-level security on %1 filters the rows %2 may read (%3), and changes reach the capture "
                          u"triggers unfiltered: the view would show rows its owner's materialized view hides; keep it "
                          u"materialized"_s.arg(rls.text(0, 0), rls.text(0, 1),
                              rls.toBool(0, 2) ? u"the view's owner: REFRESH reads as the owner"_s
                                               : u"the role enabling the engine, which builds its state"_s));
    }
    const QString refusal = query.analyze(prep->columns, infos, &prep->plan, aggregates);
    if (!refusal.isEmpty())
        return refuse(refusal);
    for (int i = 0; i < prep->plan.outputs.size(); ++i)
        prep->plan.outputs[i].type = prep->types.value(i);
    // How each count(DISTINCT col) keeps its (group, value) pairs. With an index leading with col
    // on its table: pairs checked against that index instead of reference counts (a fraction of
    // the merge's cost); for an integer col whose pairs are dense enough (measured on a sample of
    // blocks, at most 10 s; pairs when in doubt), bitmaps (a row written per block, not per pair).
    if (prep->plan.shape == IvmPlan::Shape::Aggregate) {
        using Store = OutputColumn::DistinctStore;
        const TableRef& t = prep->plan.tables.first().ref;
        for (int j = 0; j < prep->plan.outputs.size(); ++j) {
            OutputColumn& o = prep->plan.outputs[j];
            if (o.kind != OutputColumn::Kind::CountDistinct)
                continue;
            const QString arg = o.argColumn.isEmpty() ? o.expr : quoteIdentifier(o.argColumn);
            const Result ix = o.argColumn.isEmpty()
                ? Result()
                : m_conn.exec(u"SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indkey[0] = a.attnum "
                              u"AND i.indisvalid AND i.indpred IS NULL), a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) "
                              u"FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attname = $2"_s,
                      {quoteQualified(t.schema.isEmpty() ? u"public"_s : t.schema, t.name), o.argColumn});
            if (!ix.ok() || ix.rowCount() != 1 || !ix.toBool(0, 0)) {
                prep->storeNotes << u"%1: count(DISTINCT %2) kept as reference counts (an index leading with %2 on its table "
                                    u"would make merges faster)"_s.arg(o.name, arg);
                continue;
            }
            // A value with few rows in the table (order_id of order items): nothing stored, each
            // merge counts a changed pair's rows through the index. Rows per value counted
            // through the index for up to 100 values of a sample of about 5,000 rows (the
            // planner's n_distinct is often several times off on large tables: 13 rows per
            // order_id of items at scale 50, where there are 3); in doubt, pairs.
            const QString table = quoteQualified(t.schema.isEmpty() ? u"public"_s : t.schema, t.name);
            Result perValue = m_conn.exec(u"SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = to_regclass($1)"_s, {table});
            if (perValue.ok() && perValue.rowCount() == 1) {
                const double sample = std::clamp(100.0 * 5000.0 / std::max(perValue.text(0, 0).toDouble(), 1.0), 0.01, 100.0);
                const QString c = quoteIdentifier(o.argColumn);
                perValue = Result();
                if (m_conn.exec(u"BEGIN"_s).ok()) {
                    m_conn.exec(u"SELECT set_config('statement_timeout', '10s', true) FROM pg_settings "
                                u"WHERE name = 'statement_timeout' AND (setting::bigint = 0 OR setting::bigint > 10000)"_s);
                    m_conn.exec(u"SET LOCAL enable_hashjoin = off"_s); // through the index, not a scan of the table
                    m_conn.exec(u"SET LOCAL enable_mergejoin = off"_s);
                    perValue = m_conn.exec(u"WITH s AS (SELECT DISTINCT v FROM (SELECT %1 AS v FROM %2 TABLESAMPLE SYSTEM (%3) "
                                           u"WHERE %1 IS NOT NULL LIMIT 5000) x LIMIT 100) SELECT avg(n)::float8 FROM "
                                           u"(SELECT count(*) AS n FROM s JOIN %2 t ON t.%1 = s.v GROUP BY s.v) c"_s.arg(c, table, QString::number(sample, 'f', 4)));
                    m_conn.exec(u"ROLLBACK"_s);
                }
            }
            const bool knownPerValue = perValue.ok() && perValue.rowCount() == 1 && !perValue.isNull(0, 0);
            const double rowsPerValue = knownPerValue ? perValue.text(0, 0).toDouble() : 0.0;
            auto lookupOr = [&](Store other, const QString& otherNote, const QString& measured = {}) {
                if (knownPerValue && rowsPerValue <= kDistinctLookupMaxRows) {
                    o.distinctStore = Store::Lookup;
                    prep->storeNotes << u"%1: count(DISTINCT %2) kept as nothing: each merge counts a changed pair's rows through "
                                        u"its index (%3 rows per value%4)"_s.arg(o.name, arg, QString::number(rowsPerValue, 'f', 1),
                                            measured.isEmpty() ? QString() : u"; "_s + measured);
                    return;
                }
                o.distinctStore = other;
                prep->storeNotes << otherNote
                        + (knownPerValue ? u" (%1 rows per value: too many to count at each merge)"_s.arg(rowsPerValue, 0, 'f', 1)
                                         : u" (rows per value not known: %1)"_s.arg(perValue.ok() ? u"no values to sample"_s : statementError(perValue)));
            };
            if (!ix.toBool(0, 1)) {
                lookupOr(Store::Pairs, u"%1: count(DISTINCT %2) kept as pairs checked against its index"_s.arg(o.name, arg));
                continue;
            }
            // In a transaction of its own (there is no caller's: refused above), so that its
            // timeout (10 s, or the session's if lower) ends with it.
            Result d;
            if (m_conn.exec(u"BEGIN"_s).ok()) {
                m_conn.exec(u"SELECT set_config('statement_timeout', '10s', true) FROM pg_settings "
                            u"WHERE name = 'statement_timeout' AND (setting::bigint = 0 OR setting::bigint > 10000)"_s);
                d = m_conn.exec(distinctDensityQuery(prep->plan, j));
                m_conn.exec(u"ROLLBACK"_s);
            }
            const bool measuredDensity = d.ok() && !d.isNull(0, 0);
            const double density = measuredDensity ? d.text(0, 0).toDouble() : 0.0;
            const QString measured = !d.ok() ? u"density not measured: %1"_s.arg(statementError(d))
                : d.isNull(0, 0)             ? u"no values to measure density on"_s
                                             : u"%1 values per block of %2"_s.arg(density, 0, 'f', 1).arg(1 << kDistinctBlockShift);
            if (density >= kBitmapMinDensity) {
                o.distinctStore = Store::Bitmaps;
                prep->storeNotes << u"%1: count(DISTINCT %2) kept as bitmaps (%3)"_s.arg(o.name, arg, measured);
            } else {
                lookupOr(Store::Pairs, u"%1: count(DISTINCT %2) kept as %3 (%4)"_s.arg(o.name, arg,
                                           measuredDensity ? u"pairs, too sparse for bitmaps"_s : u"pairs"_s, measured),
                    measured);
            }
        }
    }
    // Over a join, only reference counts: a pair's removal cannot be checked against one table's index.
    if (prep->plan.shape == IvmPlan::Shape::JoinAggregate)
        for (const OutputColumn& o : std::as_const(prep->plan.outputs))
            if (o.kind == OutputColumn::Kind::CountDistinct)
                prep->storeNotes << u"%1: count(DISTINCT %2) kept as reference counts of the join's rows"_s.arg(o.name, o.expr);
    // Join views: a changed key of a table other than the fact table is followed back to the
    // fact rows it touches through the base tables when every join on the way has an index on
    // its child's column (order_items(product_id)); otherwise the state keeps an index on that
    // table's key. Each such index costs every merge a random insertion per row (at scale 50,
    // the seed's fact view's two on product and customer wrote 28 % of the WAL under load).
    // (Counted views find nothing by key: no note for them.)
    if (prep->plan.shape == IvmPlan::Shape::Join || prep->plan.shape == IvmPlan::Shape::JoinAggregate) {
        QList<PlanTable>& tables = prep->plan.tables;
        auto indexOf = [&tables](const QString& ref) {
            for (int i = 0; i < tables.size(); ++i)
                if (tables[i].ref.refName == ref)
                    return i;
            return -1;
        };
        QHash<int, bool> hopIndexed; // table -> its join's child column is indexed
        for (int i = 1; i < tables.size(); ++i) {
            const int child = indexOf(tables[i].reachedFrom);
            if (child < 0)
                continue;
            const TableRef& c = tables[child].ref;
            const Result ix = m_conn.exec(u"SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                                          u"AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass($1) AND a.attname = $2 "
                                          u"AND i.indisvalid AND i.indpred IS NULL)"_s,
                {quoteQualified(c.schema.isEmpty() ? u"public"_s : c.schema, c.name), tables[i].reachedBy});
            hopIndexed.insert(i, ix.ok() && ix.rowCount() == 1 && ix.toBool(0, 0));
        }
        for (int i = 1; i < tables.size(); ++i) {
            bool ok = true;
            QStringList way;
            for (int cur = i, hops = 0; cur > 0 && ok; ++hops) { // the fact table is 0
                const int child = indexOf(tables[cur].reachedFrom);
                ok = child >= 0 && hopIndexed.value(cur, false) && hops < tables.size();
                if (ok)
                    way << tables[child].ref.refName + u'.' + tables[cur].reachedBy;
                cur = child;
            }
            tables[i].foundThroughBase = ok;
            prep->storeNotes << (ok ? u"changes to %1 are followed to the view's rows through the indexes on %2: the state keeps no "
                                      u"index on its key"_s.arg(tables[i].ref.refName, way.join(u", "_s))
                                    : u"changes to %1 are followed to the view's rows through an index on the state (an index on "
                                      u"each join column from the fact table to it would spare merges that one)"_s.arg(tables[i].ref.refName));
        }
    }
    prep->plan.definition = prep->definition;
    if (const QString e = textTheEngineCannotHold(prep->plan); !e.isEmpty())
        return u"the engine cannot maintain %1: %2"_s.arg(label, e);
    return {};
}

QString MvService::checkIncremental(const QString& name, QString* planText)
{
    Resolved view;
    QString error;
    if (!resolve(name, &view, &error))
        return error;
    if (view.ivmId)
        return u"%1.%2 is already maintained incrementally"_s.arg(view.schema, view.name);
    EnginePrep prep;
    if (const QString e = prepareEngine(view, &prep); !e.isEmpty())
        return e;
    const IvmSql sql = generateIvmSql(prep.plan, 0, view.schema, view.name);
    if (const QString e = dryRun(prep, sql, quoteQualified(view.schema, view.name)); !e.isEmpty())
        return u"%1.%2: %3"_s.arg(view.schema, view.name, e);
    if (planText) {
        QString header;
        for (const QString& note : std::as_const(prep.storeNotes))
            header += u"-- "_s + QString(note).replace(u'\n', u' ') + u'\n';
        *planText = header + (sql.install + sql.indexes + QStringList {sql.createView}).join(u";\n\n"_s) + u";\n"_s;
    }
    return {};
}

} // namespace htap::mv
