// route(): what a statement is, from its parse tree, and where it goes.
#include "router.h"

#include "viewmatch.h"

#include <core/format.h>

#include <QJsonArray>
#include <QRegularExpression>
#include <QScopeGuard>

#include <algorithm>
#include <functional>
#include <mutex>

using namespace Qt::StringLiterals;
using namespace htap::pg::parsetree;

namespace htap::route {

namespace {

/// Functions that change or need the primary's state whatever pg_proc says of them.
const QHash<QString, QString>& primaryOnlyFunctions()
{
    static const QHash<QString, QString> names {
        {u"nextval"_s, u"advances a sequence (a write)"_s},
        {u"setval"_s, u"sets a sequence (a write)"_s},
        {u"currval"_s, u"reads this session's last sequence value, which only the primary session has"_s},
        {u"lastval"_s, u"reads this session's last sequence value, which only the primary session has"_s},
        {u"txid_current"_s, u"assigns a transaction id (a write)"_s},
        {u"pg_current_xact_id"_s, u"assigns a transaction id (a write)"_s},
        {u"set_config"_s, u"changes a setting of the session that runs it"_s},
    };
    return names;
}

/// Volatile functions and aggregates when the topology did not look a name up (a pure test,
/// a fetch that failed): PostgreSQL's own commonest ones.
bool builtinVolatile(const QString& name)
{
    static const QSet<QString> names {u"random"_s, u"clock_timestamp"_s, u"timeofday"_s, u"statement_timestamp"_s,
        u"pg_sleep"_s, u"gen_random_uuid"_s, u"pg_advisory_lock"_s, u"pg_try_advisory_lock"_s, u"pg_advisory_xact_lock"_s,
        u"pg_notify"_s, u"lo_import"_s, u"lo_export"_s, u"dblink"_s, u"dblink_exec"_s};
    return names.contains(name);
}
bool builtinAggregate(const QString& name)
{
    static const QSet<QString> names {u"count"_s, u"sum"_s, u"avg"_s, u"min"_s, u"max"_s, u"string_agg"_s,
        u"array_agg"_s, u"bool_and"_s, u"bool_or"_s, u"every"_s, u"json_agg"_s, u"jsonb_agg"_s, u"stddev"_s,
        u"variance"_s, u"stddev_pop"_s, u"stddev_samp"_s, u"var_pop"_s, u"var_samp"_s, u"bit_and"_s, u"bit_or"_s,
        u"json_object_agg"_s, u"jsonb_object_agg"_s, u"percentile_cont"_s, u"percentile_disc"_s, u"mode"_s};
    return names.contains(name);
}

/// A canonical column reference ("public.orders".status) as a person writes it: orders.status.
/// (QRegularExpression is reentrant, not thread-safe: one a thread, since route() runs on many.)
QString readable(QString text)
{
    thread_local const QRegularExpression canonical(uR"re("[^".]+\.([^"]+)"\.)re"_s);
    return text.replace(canonical, u"\\1."_s);
}

QString seconds(double s)
{
    return htap::core::formatSeconds(s);
}

/// What one statement of the text is.
struct Classified {
    QString kind;   ///< read, write, locking read, ddl, transaction, utility, volatile read
    QString why;    ///< the construct that decided it
    bool readOnlyTransaction = false; ///< BEGIN/COMMIT and the like that a read-only transaction may hold
};

QString firstWords(const QByteArray& text, const PgQuery__RawStmt* raw, int words)
{
    const int start = raw->stmt_location;
    const int len = raw->stmt_len > 0 ? raw->stmt_len : int(text.size()) - start;
    const QStringList parts = QString::fromUtf8(text.mid(start, len)).simplified().split(u' ', Qt::SkipEmptyParts);
    QStringList first;
    for (const QString& p : parts) {
        if (first.size() == words || p.startsWith(u"/*"_s) || p.startsWith(u"--"_s))
            break;
        first << p.toUpper();
    }
    return first.join(u' ');
}

Classified classify(const QByteArray& text, const PgQuery__RawStmt* raw, const Topology& topology)
{
    const Node* stmt = raw->stmt;
    switch (stmt->node_case) {
    case PG_QUERY__NODE__NODE_INSERT_STMT:
    case PG_QUERY__NODE__NODE_UPDATE_STMT:
    case PG_QUERY__NODE__NODE_DELETE_STMT:
    case PG_QUERY__NODE__NODE_MERGE_STMT:
        return {u"write"_s, u"%1 writes"_s.arg(firstWords(text, raw, 1))};
    case PG_QUERY__NODE__NODE_TRANSACTION_STMT: {
        const auto kind = stmt->transaction_stmt->kind;
        const bool harmless = kind == PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN
            || kind == PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START || kind == PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT
            || kind == PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK;
        // A standby refuses SERIALIZABLE: such a transaction stays on the primary.
        bool serializable = false;
        walk(&stmt->base, [&](const ProtobufCMessage* m) {
            if (isA(m, pg_query__a__const__descriptor)) {
                const auto* c = reinterpret_cast<const PgQuery__AConst*>(m);
                if (c->val_case == PG_QUERY__A__CONST__VAL_SVAL && str(c->sval->sval).toLower() == u"serializable"_s)
                    serializable = true;
            }
            return true;
        });
        Classified c {u"transaction"_s, u"%1 is transaction control"_s.arg(firstWords(text, raw, 2))};
        c.readOnlyTransaction = harmless && !serializable;
        if (serializable)
            c.why = u"a SERIALIZABLE transaction, which a standby refuses"_s;
        return c;
    }
    case PG_QUERY__NODE__NODE_SELECT_STMT:
        break;
    case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT:
    case PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT:
    case PG_QUERY__NODE__NODE_EXPLAIN_STMT:
    case PG_QUERY__NODE__NODE_VACUUM_STMT:
    case PG_QUERY__NODE__NODE_CHECK_POINT_STMT:
    case PG_QUERY__NODE__NODE_LOCK_STMT:
    case PG_QUERY__NODE__NODE_NOTIFY_STMT:
    case PG_QUERY__NODE__NODE_LISTEN_STMT:
    case PG_QUERY__NODE__NODE_UNLISTEN_STMT:
    case PG_QUERY__NODE__NODE_CALL_STMT:
    case PG_QUERY__NODE__NODE_DO_STMT:
    case PG_QUERY__NODE__NODE_COPY_STMT:
    case PG_QUERY__NODE__NODE_PREPARE_STMT:
    case PG_QUERY__NODE__NODE_EXECUTE_STMT:
    case PG_QUERY__NODE__NODE_DEALLOCATE_STMT:
    case PG_QUERY__NODE__NODE_DECLARE_CURSOR_STMT:
    case PG_QUERY__NODE__NODE_FETCH_STMT:
    case PG_QUERY__NODE__NODE_CLOSE_PORTAL_STMT:
    case PG_QUERY__NODE__NODE_DISCARD_STMT:
        return {u"utility"_s, u"%1 is not a plain query; the primary runs every statement"_s.arg(firstWords(text, raw, 1))};
    default:
        return {u"ddl"_s, u"%1 changes the schema or the server (DDL)"_s.arg(firstWords(text, raw, 2))};
    }

    // A SELECT: what inside it needs the primary.
    Classified c {u"read"_s, {}};
    walk(&stmt->base, [&](const ProtobufCMessage* m) {
        if (!c.why.isEmpty())
            return false;
        if (isA(m, pg_query__insert_stmt__descriptor) || isA(m, pg_query__update_stmt__descriptor)
            || isA(m, pg_query__delete_stmt__descriptor) || isA(m, pg_query__merge_stmt__descriptor)) {
            c = {u"write"_s, u"a WITH clause writes (INSERT, UPDATE or DELETE in it)"_s};
        } else if (isA(m, pg_query__select_stmt__descriptor)) {
            const auto* s = reinterpret_cast<const PgQuery__SelectStmt*>(m);
            if (s->n_locking_clause) {
                const auto strength = s->locking_clause[0]->locking_clause->strength;
                const QString what = strength == PG_QUERY__LOCK_CLAUSE_STRENGTH__LCS_FORUPDATE ? u"FOR UPDATE"_s
                    : strength == PG_QUERY__LOCK_CLAUSE_STRENGTH__LCS_FORNOKEYUPDATE           ? u"FOR NO KEY UPDATE"_s
                    : strength == PG_QUERY__LOCK_CLAUSE_STRENGTH__LCS_FORSHARE                 ? u"FOR SHARE"_s
                                                                                               : u"FOR KEY SHARE"_s;
                c = {u"locking read"_s, u"%1 locks the rows it reads, which only the primary can"_s.arg(what)};
            } else if (s->into_clause) {
                c = {u"write"_s, u"SELECT INTO creates a table"_s};
            }
        } else if (isA(m, pg_query__func_call__descriptor)) {
            const auto* fc = reinterpret_cast<const PgQuery__FuncCall*>(m);
            const QString name = dottedName(fc).toLower();
            const QString bare = name.section(u'.', -1);
            if (primaryOnlyFunctions().contains(bare)) {
                c = {bare == u"nextval"_s || bare == u"setval"_s ? u"write"_s : u"volatile read"_s,
                    u"%1() %2"_s.arg(bare, primaryOnlyFunctions().value(bare))};
            } else if (topology.functionsLookedUp.contains(name)) {
                if (!topology.volatileFunctions.contains(name))
                    c = {u"volatile read"_s, u"%1() is not a function this server knows"_s.arg(name)};
                else if (topology.volatileFunctions.value(name))
                    c = {u"volatile read"_s, u"%1() is volatile (pg_proc.provolatile = 'v'): it may write or differ "
                                             u"between servers"_s.arg(name)};
            } else if (builtinVolatile(bare)) {
                c = {u"volatile read"_s, u"%1() is volatile: it may write or differ between servers"_s.arg(name)};
            }
        }
        return c.why.isEmpty();
    });
    return c;
}

/// Which views answer a statement, and the statement over each: what depends on the text and
/// on the views' definitions and tables alone (not on lag or staleness), so it is kept for the
/// next call with the same text and shapes (the scenario engine routes the same statements
/// thousands of times a second; parsing and matching take milliseconds).
struct ViewMatches {
    QString queryRefusal;
    QHash<QString, QString> why;       ///< by view label; empty: it answers
    QHash<QString, QString> rewritten; ///< by view label
};

QString shapesKey(const Topology& t)
{
    QString key;
    for (const RegisteredView& v : t.views)
        key += v.label() + u'\x1f' + v.definition + u'\x1f' + v.columns.join(u',') + u'\x1f' + v.columnTypes.join(u',') + u'\x1e';
    QStringList tables = t.tables.keys();
    tables.sort();
    for (const QString& k : std::as_const(tables)) {
        const TableFacts& f = t.tables[k];
        QStringList notNull = f.notNull.values();
        notNull.sort();
        key += k + (f.visible ? u"+"_s : u"-"_s) + f.columns.join(u',') + u'\x1f' + notNull.join(u',') + u'\x1e';
        for (const QString& c : f.columns)
            key += f.columnTypes.value(c) + u',';
    }
    QStringList aggregates = t.aggregateFunctions.values();
    aggregates.sort();
    QStringList looked = t.functionsLookedUp.values();
    looked.sort();
    return key + aggregates.join(u',') + u'\x1e' + looked.join(u',');
}

ViewMatches matchViews(const QString& sql, const Topology& topology, const std::function<bool(const QString&)>& isAggregate)
{
    static std::mutex mutex;
    static QHash<QString, ViewMatches> cache;
    const QString key = sql + u'\x1d' + shapesKey(topology);
    {
        const std::lock_guard lock(mutex);
        if (const auto it = cache.constFind(key); it != cache.cend())
            return it.value();
    }
    ViewMatches m;
    SelectShape query;
    QString error;
    if (!query.parse(sql, &error))
        m.queryRefusal = error;
    else
        m.queryRefusal = query.analyze(topology.tables, isAggregate);
    if (m.queryRefusal.isEmpty()) {
        for (const RegisteredView& v : topology.views) {
            QString rewritten;
            m.why.insert(v.label(), answerFrom(query, v, topology, isAggregate, &rewritten));
            m.rewritten.insert(v.label(), rewritten);
        }
    }
    const std::lock_guard lock(mutex);
    if (cache.size() >= 4096) // distinct texts without end (literals in them): start over
        cache.clear();
    cache.insert(key, m);
    return m;
}

} // namespace

double Standby::effectiveLag() const
{
    if (replayLagSeconds >= 0)
        return replayLagSeconds;
    return replayGapBytes == 0 ? 0 : -1;
}

QString targetName(Decision::Target target)
{
    switch (target) {
    case Decision::Target::Primary:
        return u"primary"_s;
    case Decision::Target::Standby:
        return u"standby"_s;
    case Decision::Target::View:
        return u"view"_s;
    }
    return {};
}

QStringList calledFunctions(const QString& sql)
{
    QStringList out;
    const QByteArray text = sql.toUtf8();
    PgQueryProtobufParseResult raw = pg_query_parse_protobuf(text.constData());
    if (!raw.error) {
        PgQuery__ParseResult* tree = pg_query__parse_result__unpack(nullptr, raw.parse_tree.len, reinterpret_cast<const uint8_t*>(raw.parse_tree.data));
        if (tree) {
            walk(&tree->base, [&](const ProtobufCMessage* m) {
                if (isA(m, pg_query__func_call__descriptor)) {
                    const QString name = dottedName(reinterpret_cast<const PgQuery__FuncCall*>(m)).toLower();
                    if (!out.contains(name))
                        out << name;
                }
                return true;
            });
            pg_query__parse_result__free_unpacked(tree, nullptr);
        }
    }
    pg_query_free_protobuf_parse_result(raw);
    return out;
}

QString seedKeywordRoute(const QString& sql)
{
    const QString lower = sql.toLower();
    for (const char* k : {"sum(", "avg(", "group by", "having", "count(*)"})
        if (lower.contains(QLatin1String(k)))
            return u"olap"_s;
    return u"oltp"_s;
}

Decision route(const QString& sql, const Budget& workload, const Topology& topology)
{
    Decision d;
    d.server = topology.primary;
    d.target = Decision::Target::Primary;
    const QString onPrimary = topology.connectedIsStandby
        ? u" (%1 is itself a standby: connect to its primary to run it)"_s.arg(topology.primary)
        : QString();

    // The budget: the statement's hint, else the workload's, else the seed's target.
    double hinted = -1;
    QString hintError;
    if (findHint(sql, &hinted, &hintError) && hintError.isEmpty())
        d.budget = {hinted, u"hint"_s};
    else if (workload.seconds >= 0)
        d.budget = {workload.seconds, workload.source.isEmpty() ? u"workload"_s : workload.source};
    else
        d.budget = {kDefaultBudgetSeconds, u"default"_s};
    d.hintError = hintError;

    const QByteArray text = sql.toUtf8();
    PgQueryProtobufParseResult raw = pg_query_parse_protobuf(text.constData());
    const auto freeRaw = qScopeGuard([&] { pg_query_free_protobuf_parse_result(raw); });
    if (raw.error) {
        d.kind = u"unparsable"_s;
        d.reason = u"the statement does not parse (%1 at character %2): sent to the primary, whose parser reports the "
                   u"error to the client"_s.arg(str(raw.error->message)).arg(raw.error->cursorpos);
        return d;
    }
    PgQuery__ParseResult* tree = pg_query__parse_result__unpack(nullptr, raw.parse_tree.len, reinterpret_cast<const uint8_t*>(raw.parse_tree.data));
    const auto freeTree = qScopeGuard([&] {
        if (tree)
            pg_query__parse_result__free_unpacked(tree, nullptr);
    });
    if (!tree || tree->n_stmts == 0) {
        d.kind = u"unparsable"_s;
        d.reason = u"the text holds no statement: sent to the primary"_s;
        return d;
    }

    // Several statements: a transaction (or a batch) goes as a whole to one server.
    if (tree->n_stmts > 1) {
        bool anyRead = false;
        for (size_t i = 0; i < tree->n_stmts; ++i) {
            const Classified c = classify(text, tree->stmts[i], topology);
            if (c.kind == u"read"_s) {
                anyRead = true;
                continue;
            }
            if (c.kind == u"transaction"_s && c.readOnlyTransaction)
                continue;
            d.kind = c.kind == u"transaction"_s ? u"transaction"_s : c.kind;
            d.reason = u"statement %1 of %2: %3; the whole text runs on the primary%4"_s.arg(i + 1).arg(tree->n_stmts).arg(c.why, onPrimary);
            if (c.kind == u"write"_s)
                d.reason = u"an explicit transaction that writes (statement %1 of %2: %3): the primary%4"_s.arg(i + 1).arg(tree->n_stmts).arg(c.why, onPrimary);
            return d;
        }
        if (!anyRead) {
            d.kind = u"transaction"_s;
            d.reason = u"transaction control only: the primary%1"_s.arg(onPrimary);
            return d;
        }
        d.kind = u"read"_s;
    } else {
        const Classified c = classify(text, tree->stmts[0], topology);
        d.kind = c.kind;
        if (c.kind != u"read"_s) {
            d.reason = c.kind == u"transaction"_s
                ? u"%1: a transaction's statements run on one server, so it starts on the primary; send a read-only "
                  u"transaction as one text to route it as a whole%2"_s.arg(c.why, onPrimary)
                : c.why + u": the primary"_s + onPrimary;
            return d;
        }
    }
    if (!hintError.isEmpty()) {
        d.reason = u"%1: sent to the primary, whose data is always fresh"_s.arg(hintError);
        return d;
    }

    // Where the budget came from is the decision's budget source; the reason names the figure.
    const QString budgetText = u"%1 budget"_s.arg(seconds(d.budget.seconds));

    // A view that answers it exactly, fresh enough.
    QString viewSummary;
    if (tree->n_stmts == 1 && !topology.views.isEmpty()) {
        const auto isAggregate = [&](const QString& name) {
            return topology.functionsLookedUp.contains(name) ? topology.aggregateFunctions.contains(name) : builtinAggregate(name.section(u'.', -1));
        };
        const ViewMatches matches = matchViews(sql, topology, isAggregate);
        const QString& refusal = matches.queryRefusal;
        if (!refusal.isEmpty()) {
            viewSummary = u"no view answers it (%1)"_s.arg(readable(refusal));
            d.viewsConsidered << u"the query: %1"_s.arg(readable(refusal));
        } else {
            // The freshest view first.
            QList<const RegisteredView*> order;
            for (const RegisteredView& v : topology.views)
                order << &v;
            std::stable_sort(order.begin(), order.end(), [](const RegisteredView* a, const RegisteredView* b) {
                return (a->stalenessSeconds < 0 ? 1e18 : a->stalenessSeconds) < (b->stalenessSeconds < 0 ? 1e18 : b->stalenessSeconds);
            });
            QStringList staleOnes;
            const RegisteredView* chosen = nullptr;
            QString chosenSql;
            for (const RegisteredView* v : std::as_const(order)) {
                const QString why = matches.why.value(v->label());
                const QString rewritten = matches.rewritten.value(v->label());
                if (!why.isEmpty()) {
                    d.viewsConsidered << u"%1: %2"_s.arg(v->label(), readable(why));
                    continue;
                }
                if (!v->readable) {
                    d.viewsConsidered << u"%1 answers it but %2"_s.arg(v->label(), v->unreadableReason);
                    staleOnes << d.viewsConsidered.last();
                    continue;
                }
                if (v->stalenessSeconds < 0 || v->stalenessSeconds > d.budget.seconds) {
                    d.viewsConsidered << u"%1 answers it but its data is %2 old, past the %3"_s.arg(v->label(),
                        v->stalenessSeconds < 0 ? u"of unknown age (never refreshed through the registry)"_s : seconds(v->stalenessSeconds),
                        budgetText);
                    staleOnes << d.viewsConsidered.last();
                    continue;
                }
                if (chosen) {
                    d.viewsConsidered << u"%1 answers it too, with older data than %2"_s.arg(v->label(), chosen->label());
                    continue;
                }
                chosen = v;
                chosenSql = rewritten;
                d.viewsConsidered << u"%1 answers it: the statement reads it"_s.arg(v->label());
            }
            if (chosen) {
                d.target = Decision::Target::View;
                d.view = chosen->label();
                d.rewrittenSql = chosenSql;
                d.reason = u"a read that %1 answers exactly (%2), its data %3 old, within the %4: rewritten to read the view "
                           u"on the primary%5"_s.arg(chosen->label(), chosen->incremental ? u"maintained incrementally"_s : u"materialized"_s,
                               seconds(chosen->stalenessSeconds), budgetText, onPrimary);
                return d;
            }
            viewSummary = staleOnes.isEmpty() ? u"no registered view answers it exactly"_s : staleOnes.join(u"; "_s);
        }
    } else if (tree->n_stmts > 1) {
        viewSummary = u"a transaction of reads (views answer single statements)"_s;
    } else {
        viewSummary = u"no views are registered"_s;
    }

    // The standby with the least replay lag within the budget.
    const Standby* best = nullptr;
    QStringList others;
    for (const Standby& s : topology.standbys) {
        const double lag = s.effectiveLag();
        if (s.state != u"streaming"_s)
            others << u"%1 is %2"_s.arg(s.name, s.state.isEmpty() ? u"not streaming"_s : s.state);
        else if (lag < 0)
            others << u"%1's lag is unknown (%2 bytes to replay, no replay_lag)"_s.arg(s.name).arg(s.replayGapBytes);
        else if (lag > d.budget.seconds)
            others << u"%1 is %2 behind"_s.arg(s.name, seconds(lag));
        else if (!best || lag < best->effectiveLag())
            best = &s;
    }
    if (best) {
        d.target = Decision::Target::Standby;
        d.server = best->name;
        d.reason = u"a read; %1; standby %2 replays %3 behind, within the %4%5"_s.arg(viewSummary, best->name,
            seconds(best->effectiveLag()), budgetText,
            topology.standbys.size() > 1 ? u" (the least lag of %1 standbys)"_s.arg(topology.standbys.size()) : QString());
        return d;
    }
    d.reason = u"a read; %1; %2: the primary%3"_s.arg(viewSummary,
        topology.standbys.isEmpty() ? u"no standby"_s : u"no standby within the %1 (%2)"_s.arg(budgetText, others.join(u"; "_s)), onPrimary);
    return d;
}

QJsonObject Decision::toJson() const
{
    QJsonObject o {
        {u"format"_s, u"htap-route-decision"_s},
        {u"version"_s, kDecisionFormatVersion},
        {u"target"_s, targetName(target)},
        {u"server"_s, server},
        {u"kind"_s, kind},
        {u"reason"_s, reason},
        {u"budget_s"_s, budget.seconds},
        {u"budget_source"_s, budget.source},
        {u"view"_s, view.isEmpty() ? QJsonValue() : QJsonValue(view)},
        {u"rewritten_sql"_s, rewrittenSql.isEmpty() ? QJsonValue() : QJsonValue(rewrittenSql)},
        {u"views_considered"_s, QJsonArray::fromStringList(viewsConsidered)},
    };
    if (!hintError.isEmpty())
        o.insert(u"hint_error"_s, hintError);
    return o;
}

QJsonObject toJson(const Topology& t)
{
    QJsonArray standbys;
    for (const Standby& s : t.standbys)
        standbys.append(QJsonObject {{u"name"_s, s.name}, {u"state"_s, s.state},
            {u"replay_lag_s"_s, s.replayLagSeconds < 0 ? QJsonValue() : QJsonValue(s.replayLagSeconds)},
            {u"replay_gap_bytes"_s, s.replayGapBytes < 0 ? QJsonValue() : QJsonValue(s.replayGapBytes)},
            {u"conninfo"_s, s.conninfo.isEmpty() ? QJsonValue() : QJsonValue(s.conninfo)}});
    QJsonArray views;
    for (const RegisteredView& v : t.views)
        views.append(QJsonObject {{u"view"_s, v.label()}, {u"mode"_s, v.incremental ? u"incremental"_s : u"materialized"_s},
            {u"staleness_s"_s, v.stalenessSeconds < 0 ? QJsonValue() : QJsonValue(v.stalenessSeconds)},
            {u"readable"_s, v.readable}});
    return {{u"primary"_s, t.primary}, {u"connected_is_standby"_s, t.connectedIsStandby},
        {u"fetched_at"_s, t.fetchedAt.toUTC().toString(Qt::ISODateWithMs)}, {u"standbys"_s, standbys}, {u"views"_s, views},
        {u"notes"_s, QJsonArray::fromStringList(t.notes)}};
}

} // namespace htap::route
