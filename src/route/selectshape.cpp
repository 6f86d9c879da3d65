// SelectShape: a SELECT's canonical form (tables, joins, conditions, groups, outputs) and its
// rewriting over a view, on libpg_query's parse tree.
#include "selectshape.h"

#include <pg/identifier.h>

#include <QScopeGuard>

#include <algorithm>

using namespace Qt::StringLiterals;
using namespace htap::pg::parsetree;

namespace htap::route {

namespace {

/// The message a Node wraps (its one set field).
ProtobufCMessage* inner(Node* n)
{
    if (!n)
        return nullptr;
    const ProtobufCMessageDescriptor* desc = n->base.descriptor;
    for (unsigned i = 0; i < desc->n_fields; ++i) {
        const ProtobufCFieldDescriptor& f = desc->fields[i];
        if ((f.flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && uint32_t(n->node_case) == f.id)
            return *reinterpret_cast<ProtobufCMessage**>(reinterpret_cast<char*>(n) + f.offset);
    }
    return nullptr;
}

/// Calls f for every Node slot directly below m (through messages that are not Nodes).
void forEachSlot(ProtobufCMessage* m, const std::function<void(Node**)>& f)
{
    if (!m)
        return;
    const ProtobufCMessageDescriptor* desc = m->descriptor;
    auto* base = reinterpret_cast<char*>(m);
    for (unsigned i = 0; i < desc->n_fields; ++i) {
        const ProtobufCFieldDescriptor& fd = desc->fields[i];
        if (fd.type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const bool isNode = fd.descriptor == &pg_query__node__descriptor;
        if (fd.label == PROTOBUF_C_LABEL_REPEATED) {
            const size_t n = *reinterpret_cast<size_t*>(base + fd.quantifier_offset);
            auto** items = *reinterpret_cast<ProtobufCMessage***>(base + fd.offset);
            for (size_t k = 0; k < n; ++k) {
                if (isNode)
                    f(reinterpret_cast<Node**>(&items[k]));
                else
                    forEachSlot(items[k], f);
            }
            continue;
        }
        if ((fd.flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && *reinterpret_cast<uint32_t*>(base + fd.quantifier_offset) != fd.id)
            continue;
        auto** slot = reinterpret_cast<ProtobufCMessage**>(base + fd.offset);
        if (!*slot)
            continue;
        if (isNode)
            f(reinterpret_cast<Node**>(slot));
        else
            forEachSlot(*slot, f);
    }
}

/// Every Node slot under (not including) a node, depth first; f returns false to skip below.
void forEachSlotDeep(Node* n, const std::function<bool(Node**)>& f)
{
    forEachSlot(inner(n), [&](Node** slot) {
        if (f(slot))
            forEachSlotDeep(*slot, f);
    });
}

QString typeNameOf(const PgQuery__TypeName* t)
{
    if (!t || t->n_names == 0 || t->n_array_bounds)
        return {};
    QString last = lastName(t->names, t->n_names);
    if (t->n_typmods)
        last += u"(typmod)"_s;
    return last;
}

/// A cast that changes no value of a column of type from (format_type spelling) or of a
/// literal (from empty): the ones the parser adds and pg_get_viewdef prints.
bool losslessCast(const QString& from, const QString& to, bool literal)
{
    static const QSet<QString> textual {u"text"_s, u"varchar"_s};
    if (literal)
        return textual.contains(to) || to == u"numeric"_s;
    QString base = from;
    if (const int paren = int(base.indexOf(u'(')); paren >= 0)
        base = base.left(paren);
    base = base.trimmed();
    if (base == u"character varying"_s || base == u"text"_s)
        return textual.contains(to);
    if (base == u"smallint"_s)
        return to == u"int4"_s || to == u"int8"_s || to == u"numeric"_s;
    if (base == u"integer"_s)
        return to == u"int8"_s || to == u"numeric"_s;
    if (base == u"bigint"_s || base == u"numeric"_s)
        return to == u"numeric"_s;
    return false;
}

QString defaultName(const Node* v)
{
    switch (v->node_case) {
    case PG_QUERY__NODE__NODE_FUNC_CALL:
        return lastName(v->func_call->funcname, v->func_call->n_funcname);
    case PG_QUERY__NODE__NODE_COLUMN_REF: {
        const QStringList f = columnRefFields(v->column_ref);
        return f.isEmpty() ? u"?column?"_s : f.last();
    }
    case PG_QUERY__NODE__NODE_TYPE_CAST:
        return v->type_cast->arg ? defaultName(v->type_cast->arg) : u"?column?"_s;
    default:
        return u"?column?"_s;
    }
}

} // namespace

SelectShape::~SelectShape()
{
    undoTo(0);
    if (m_tree)
        pg_query__parse_result__free_unpacked(m_tree, nullptr);
    pg_query_free_protobuf_parse_result(m_raw);
    for (PgQuery__ParseResult* f : std::as_const(m_fragments))
        pg_query__parse_result__free_unpacked(f, nullptr);
    for (const PgQueryProtobufParseResult& r : std::as_const(m_fragmentRaw))
        pg_query_free_protobuf_parse_result(r);
}

bool SelectShape::parse(const QString& sql, QString* error)
{
    m_raw = pg_query_parse_protobuf(sql.toUtf8().constData());
    if (m_raw.error) {
        *error = str(m_raw.error->message);
        return false;
    }
    m_tree = pg_query__parse_result__unpack(nullptr, m_raw.parse_tree.len, reinterpret_cast<const uint8_t*>(m_raw.parse_tree.data));
    if (!m_tree || m_tree->n_stmts != 1 || m_tree->stmts[0]->stmt->node_case != PG_QUERY__NODE__NODE_SELECT_STMT) {
        *error = u"not one SELECT statement"_s;
        return false;
    }
    m_select = m_tree->stmts[0]->stmt->select_stmt;
    return true;
}

void SelectShape::replace(Node** slot, Node* with)
{
    Node* old = *slot;
    m_undo.push_back([slot, old] { *slot = old; });
    *slot = with;
}

void SelectShape::undoTo(size_t mark)
{
    while (m_undo.size() > mark) {
        m_undo.back()();
        m_undo.pop_back();
    }
}

Node* SelectShape::stringNode(const QString& value)
{
    m_bytes.push_back(value.toUtf8());
    PgQuery__String s = PG_QUERY__STRING__INIT;
    s.sval = m_bytes.back().data();
    m_strings.push_back(s);
    Node n = PG_QUERY__NODE__INIT;
    n.node_case = PG_QUERY__NODE__NODE_STRING;
    n.string = &m_strings.back();
    m_nodes.push_back(n);
    return &m_nodes.back();
}

Node* SelectShape::fragment(const QString& sql)
{
    const QByteArray text = (u"SELECT "_s + sql).toUtf8();
    PgQueryProtobufParseResult raw = pg_query_parse_protobuf(text.constData());
    m_fragmentRaw << raw;
    if (raw.error)
        return nullptr;
    PgQuery__ParseResult* tree = pg_query__parse_result__unpack(nullptr, raw.parse_tree.len, reinterpret_cast<const uint8_t*>(raw.parse_tree.data));
    if (!tree)
        return nullptr;
    m_fragments << tree;
    return tree->stmts[0]->stmt->select_stmt->target_list[0]->res_target->val;
}

QString SelectShape::text(Node* node) const
{
    return node ? deparseExpression(node, m_tree->version) : QString();
}

bool SelectShape::isAggregateCall(const Node* node) const
{
    if (!node || node->node_case != PG_QUERY__NODE__NODE_FUNC_CALL)
        return false;
    const PgQuery__FuncCall* fc = node->func_call;
    if (fc->over)
        return false;
    return fc->agg_star || fc->agg_distinct || fc->n_agg_order || fc->agg_filter || fc->agg_within_group
        || (m_isAggregate && m_isAggregate(dottedName(fc).toLower()));
}

QString SelectShape::aggregateKey(const PgQuery__FuncCall* fc) const
{
    QString args;
    if (fc->agg_star)
        args = u"*"_s;
    else
        for (size_t i = 0; i < fc->n_args; ++i)
            args += (i ? u", "_s : QString()) + text(fc->args[i]);
    return u"%1|%2|%3"_s.arg(dottedName(fc).toLower()).arg(fc->agg_distinct ? 1 : 0).arg(args);
}

QString SelectShape::canonicalize(const QHash<QString, TableFacts>& facts, const QHash<QString, QString>& refs,
    const QStringList& keys, PgQuery__ColumnRef* ref, const QSet<QString>& outputNames, Names names)
{
    const QStringList f = columnRefFields(ref);
    QString key, column;
    if (f.contains(u"*"_s))
        return u"* (every column) cannot be matched to a view's columns; name the columns"_s;
    if (f.size() == 1) {
        // ORDER BY prefers an output column's name to an input column's; GROUP BY the reverse.
        if (names == Names::OutputFirst && outputNames.contains(f[0]))
            return {};
        const bool input = std::any_of(keys.cbegin(), keys.cend(), [&](const QString& k) { return facts.value(k).columns.contains(f[0]); });
        if (names == Names::InputFirst && !input && outputNames.contains(f[0]))
            return {};
        for (const QString& k : keys) {
            if (facts.value(k).columns.contains(f[0])) {
                if (!key.isEmpty())
                    return u"column %1 is ambiguous (%2 and %3 have it)"_s.arg(f[0], key, k);
                key = k;
            }
        }
        if (key.isEmpty())
            return u"column %1 is not a column of %2"_s.arg(f[0], keys.join(u", "_s));
        column = f[0];
    } else if (f.size() == 2) {
        if (!refs.contains(f[0]))
            return u"%1.%2 names no table of the FROM clause"_s.arg(f[0], f[1]);
        key = refs.value(f[0]);
        column = f[1];
    } else if (f.size() == 3) {
        key = f[0] + u'.' + f[1];
        column = f[2];
        if (!keys.contains(key))
            return u"%1 names no table of the FROM clause"_s.arg(f.join(u'.'));
    } else {
        return u"the column reference %1 is not matched"_s.arg(f.join(u'.'));
    }
    if (!facts.value(key).columns.contains(column))
        return u"%1 has no column %2"_s.arg(key, column);
    m_arrays.push_back({stringNode(key), stringNode(column)});
    const size_t oldN = ref->n_fields;
    Node** oldFields = ref->fields;
    m_undo.push_back([ref, oldN, oldFields] {
        ref->n_fields = oldN;
        ref->fields = oldFields;
    });
    ref->n_fields = 2;
    ref->fields = m_arrays.back().data();
    m_columnTypes.insert(ref, facts.value(key).columnTypes.value(column));
    return {};
}

QString SelectShape::analyze(const QHash<QString, TableFacts>& facts, const std::function<bool(const QString&)>& isAggregate)
{
    m_isAggregate = isAggregate;
    PgQuery__SelectStmt* s = m_select;
    if (s->op != PG_QUERY__SET_OPERATION__SETOP_NONE)
        return u"a set operation (UNION, INTERSECT, EXCEPT)"_s;
    if (s->with_clause)
        return u"a WITH clause"_s;
    if (s->n_distinct_clause)
        return u"SELECT DISTINCT"_s;
    if (s->n_window_clause)
        return u"a window"_s;
    if (s->n_values_lists)
        return u"VALUES"_s;
    if (s->into_clause)
        return u"SELECT INTO"_s;
    if (s->n_locking_clause)
        return u"FOR UPDATE or FOR SHARE"_s;
    if (s->n_from_clause != 1)
        return s->n_from_clause == 0 ? u"no FROM clause"_s : u"tables listed with commas (write JOIN ... ON)"_s;
    QString refusal;
    walk(&s->base, [&](const ProtobufCMessage* m) {
        if (!refusal.isEmpty())
            return false;
        if (isA(m, pg_query__sub_link__descriptor))
            refusal = u"a sub-query"_s;
        else if (isA(m, pg_query__range_subselect__descriptor))
            refusal = u"a sub-query in FROM"_s;
        else if (isA(m, pg_query__range_function__descriptor) || isA(m, pg_query__range_table_func__descriptor))
            refusal = u"a function in FROM"_s;
        else if (isA(m, pg_query__grouping_set__descriptor))
            refusal = u"GROUPING SETS, ROLLUP or CUBE"_s;
        else if (isA(m, pg_query__func_call__descriptor)) {
            const auto* fc = reinterpret_cast<const PgQuery__FuncCall*>(m);
            if (fc->over)
                refusal = u"a window function"_s;
            else if (fc->agg_filter || fc->n_agg_order || fc->agg_within_group)
                refusal = u"an aggregate with FILTER, ORDER BY or WITHIN GROUP"_s;
        } else if (isA(m, pg_query__join_expr__descriptor)) {
            const auto* j = reinterpret_cast<const PgQuery__JoinExpr*>(m);
            if (j->jointype != PG_QUERY__JOIN_TYPE__JOIN_INNER)
                refusal = u"an outer join"_s;
            else if (j->is_natural || j->n_using_clause || !j->quals)
                refusal = u"a join without ON (USING, NATURAL, CROSS)"_s;
        } else if (isA(m, pg_query__range_var__descriptor)) {
            const auto* rv = reinterpret_cast<const PgQuery__RangeVar*>(m);
            if (!rv->inh)
                refusal = u"FROM ONLY"_s;
        }
        return refusal.isEmpty();
    });
    if (!refusal.isEmpty())
        return refusal;

    // FROM: the tables (each once) and the conditions of the joins' ON clauses.
    QHash<QString, QString> refs; // reference name -> "schema.table"
    QStringList keys;
    QList<Node**> conditions;
    std::function<QString(Node**)> fromItem = [&](Node** slot) -> QString {
        Node* n = *slot;
        if (n->node_case == PG_QUERY__NODE__NODE_RANGE_VAR) {
            const PgQuery__RangeVar* rv = n->range_var;
            const QString name = str(rv->relname);
            const QString ref = rv->alias && rv->alias->aliasname && *rv->alias->aliasname ? str(rv->alias->aliasname) : name;
            if (rv->alias && rv->alias->n_colnames)
                return u"column aliases in FROM"_s;
            QString key;
            if (rv->schemaname && *rv->schemaname) {
                key = str(rv->schemaname) + u'.' + name;
                if (!facts.contains(key))
                    return u"no registered view reads %1"_s.arg(key);
            } else {
                for (auto it = facts.cbegin(); it != facts.cend(); ++it)
                    if (it.value().visible && it.key().section(u'.', 1) == name)
                        key = it.key();
                if (key.isEmpty())
                    return u"no registered view reads %1"_s.arg(name);
            }
            if (keys.contains(key) || refs.contains(ref))
                return u"%1 is read twice (a self-join)"_s.arg(key);
            keys << key;
            refs.insert(ref, key);
            return {};
        }
        if (n->node_case != PG_QUERY__NODE__NODE_JOIN_EXPR)
            return u"only tables and joins in FROM"_s;
        PgQuery__JoinExpr* j = n->join_expr;
        if (QString r = fromItem(&j->larg); !r.isEmpty())
            return r;
        if (QString r = fromItem(&j->rarg); !r.isEmpty())
            return r;
        conditions << &j->quals;
        return {};
    };
    if (QString r = fromItem(&s->from_clause[0]); !r.isEmpty())
        return r;
    if (s->where_clause)
        conditions << &s->where_clause;

    QSet<QString> outputNames;
    for (size_t i = 0; i < s->n_target_list; ++i) {
        const PgQuery__ResTarget* rt = s->target_list[i]->res_target;
        outputNames.insert(rt->name && *rt->name ? str(rt->name) : defaultName(rt->val));
    }

    // Column references to the canonical form, everywhere but the ORDER BY output names.
    const auto canonicalAll = [&](Node* root, Names names) -> QString {
        QString why;
        const auto visit = [&](Node** slot) {
            if (!why.isEmpty())
                return false;
            if ((*slot)->node_case == PG_QUERY__NODE__NODE_COLUMN_REF) {
                why = canonicalize(facts, refs, keys, (*slot)->column_ref, outputNames, names);
                return false;
            }
            return true;
        };
        Node* holder[] = {root};
        if (visit(&holder[0]))
            forEachSlotDeep(root, visit);
        return why;
    };
    for (size_t i = 0; i < s->n_target_list; ++i)
        if (QString r = canonicalAll(s->target_list[i]->res_target->val, Names::InputOnly); !r.isEmpty())
            return r;
    for (Node** c : std::as_const(conditions))
        if (QString r = canonicalAll(*c, Names::InputOnly); !r.isEmpty())
            return r;
    for (size_t i = 0; i < s->n_group_clause; ++i)
        if (QString r = canonicalAll(s->group_clause[i], Names::InputFirst); !r.isEmpty())
            return r;
    if (s->having_clause)
        if (QString r = canonicalAll(s->having_clause, Names::InputOnly); !r.isEmpty())
            return r;
    for (size_t i = 0; i < s->n_sort_clause; ++i)
        if (QString r = canonicalAll(s->sort_clause[i]->sort_by->node, Names::OutputFirst); !r.isEmpty())
            return r;

    // Casts that change no value go (on both sides of a match alike).
    const auto dropCasts = [&](Node** slot) {
        const auto visit = [&](Node** at) {
            Node* n = *at;
            if (n->node_case != PG_QUERY__NODE__NODE_TYPE_CAST || !n->type_cast->arg)
                return true;
            Node* arg = n->type_cast->arg;
            const QString to = typeNameOf(n->type_cast->type_name);
            const bool literal = arg->node_case == PG_QUERY__NODE__NODE_A_CONST
                && (arg->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL || arg->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL);
            const bool column = arg->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && m_columnTypes.contains(arg->column_ref);
            if ((literal && (arg->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL ? to != u"numeric"_s : to == u"numeric"_s)
                    && losslessCast({}, to, true))
                || (column && losslessCast(m_columnTypes.value(arg->column_ref), to, false))) {
                replace(at, arg);
                return false;
            }
            return true;
        };
        if (visit(slot))
            forEachSlotDeep(*slot, visit);
    };
    for (size_t i = 0; i < s->n_target_list; ++i)
        dropCasts(&s->target_list[i]->res_target->val);
    for (Node** c : std::as_const(conditions))
        dropCasts(c);
    for (size_t i = 0; i < s->n_group_clause; ++i)
        dropCasts(&s->group_clause[i]);
    if (s->having_clause)
        dropCasts(&s->having_clause);
    for (size_t i = 0; i < s->n_sort_clause; ++i)
        dropCasts(&s->sort_clause[i]->sort_by->node);

    // Conditions: AND-ed parts; an equality of two tables' columns is a join.
    QList<Node*> parts;
    for (Node** c : std::as_const(conditions))
        parts << *c;
    while (!parts.isEmpty()) {
        Node* q = parts.takeFirst();
        if (q->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR && q->bool_expr->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR) {
            for (size_t k = 0; k < q->bool_expr->n_args; ++k)
                parts << q->bool_expr->args[k];
            continue;
        }
        const bool columnEquality = q->node_case == PG_QUERY__NODE__NODE_A_EXPR && q->a_expr->kind == PG_QUERY__A__EXPR__KIND__AEXPR_OP
            && lastName(q->a_expr->name, q->a_expr->n_name) == u"="_s && q->a_expr->lexpr && q->a_expr->rexpr
            && q->a_expr->lexpr->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && q->a_expr->rexpr->node_case == PG_QUERY__NODE__NODE_COLUMN_REF;
        if (columnEquality) {
            const QStringList l = columnRefFields(q->a_expr->lexpr->column_ref);
            const QStringList r = columnRefFields(q->a_expr->rexpr->column_ref);
            if (l.size() == 2 && r.size() == 2 && l[0] != r[0]) {
                QString a = text(q->a_expr->lexpr), b = text(q->a_expr->rexpr);
                if (b < a)
                    std::swap(a, b);
                joins.insert(a + u" = "_s + b);
                continue;
            }
        }
        conjuncts << text(q);
        conjunctNodes << q;
    }

    keys.sort();
    tables = keys;
    for (size_t i = 0; i < s->n_target_list; ++i) {
        PgQuery__ResTarget* rt = s->target_list[i]->res_target;
        targets << Target {rt->name && *rt->name ? str(rt->name) : defaultName(rt->val), text(rt->val), rt->val};
    }
    for (size_t i = 0; i < s->n_group_clause; ++i) {
        Node* g = s->group_clause[i];
        if (g->node_case == PG_QUERY__NODE__NODE_A_CONST && g->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL) {
            const int pos = g->a_const->ival->ival;
            if (pos < 1 || pos > targets.size())
                return u"GROUP BY %1 names no output column"_s.arg(pos);
            groups << targets[pos - 1].text;
        } else if (g->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && g->column_ref->n_fields == 1) {
            // An output column's name (canonical references have two fields).
            const QString name = columnRefFields(g->column_ref).value(0);
            const auto t = std::find_if(targets.cbegin(), targets.cend(), [&](const Target& x) { return x.name == name; });
            if (t == targets.cend())
                return u"GROUP BY %1 names no output column"_s.arg(name);
            groups << t->text;
        } else {
            groups << text(g);
        }
    }
    aggregated = s->n_group_clause > 0 || s->having_clause;
    walk(&s->base, [&](const ProtobufCMessage* m) {
        if (isA(m, pg_query__func_call__descriptor)) {
            const auto* fc = reinterpret_cast<const PgQuery__FuncCall*>(m);
            Node probe = PG_QUERY__NODE__INIT;
            probe.node_case = PG_QUERY__NODE__NODE_FUNC_CALL;
            probe.func_call = const_cast<PgQuery__FuncCall*>(fc);
            if (isAggregateCall(&probe))
                aggregated = true;
        }
        return true;
    });
    hasHaving = s->having_clause != nullptr;
    return {};
}

bool SelectShape::substitute(Node** slot, const Substitution& sub, QString* why)
{
    Node* n = *slot;
    const QString t = text(n);
    if (const auto it = sub.columns.constFind(t); it != sub.columns.cend()) {
        Node* col = fragment(it.value());
        if (!col) {
            *why = u"cannot name the view's column %1"_s.arg(it.value());
            return false;
        }
        replace(slot, col);
        return true;
    }
    if (isAggregateCall(n) && sub.aggregate) {
        const QString sql = sub.aggregate(n->func_call, why);
        if (sql.isEmpty())
            return false;
        Node* derived = fragment(sql);
        if (!derived) {
            *why = u"cannot parse the derived expression %1"_s.arg(sql);
            return false;
        }
        replace(slot, derived);
        return true;
    }
    if (n->node_case == PG_QUERY__NODE__NODE_COLUMN_REF) {
        if (n->column_ref->n_fields == 1)
            return true; // ORDER BY an output column's name
        *why = u"%1 is not one of the view's %2"_s.arg(t, sub.aggregate ? u"group columns"_s : u"columns"_s);
        return false;
    }
    bool ok = true;
    forEachSlot(inner(n), [&](Node** child) {
        if (ok && *child && (*child)->node_case != PG_QUERY__NODE__NODE_STRING)
            ok = substitute(child, sub, why);
    });
    return ok;
}

QString SelectShape::rewrite(const QString& schema, const QString& name, const Substitution& sub, QString* why)
{
    const size_t mark = m_undo.size();
    PgQuery__SelectStmt* s = m_select;
    const auto restore = qScopeGuard([&] { undoTo(mark); });
    const auto keep = [&](auto* field) {
        const auto old = *field;
        m_undo.push_back([field, old] { *field = old; });
    };

    for (size_t i = 0; i < s->n_target_list; ++i) {
        PgQuery__ResTarget* rt = s->target_list[i]->res_target;
        if (!rt->name || !*rt->name) {
            keep(&rt->name);
            m_bytes.push_back(targets.value(int(i)).name.toUtf8());
            rt->name = m_bytes.back().data();
        }
        if (!substitute(&rt->val, sub, why))
            return {};
    }
    // WHERE: the conditions the view does not apply already, over its columns.
    std::vector<Node*> where;
    for (int i = 0; i < conjunctNodes.size(); ++i) {
        if (sub.droppedConjuncts.contains(conjuncts[i]))
            continue;
        where.push_back(conjunctNodes[i]);
    }
    if (!sub.keepGroupBy && s->having_clause) {
        QList<Node*> parts {s->having_clause};
        while (!parts.isEmpty()) {
            Node* q = parts.takeFirst();
            if (q->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR && q->bool_expr->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR) {
                for (size_t k = 0; k < q->bool_expr->n_args; ++k)
                    parts << q->bool_expr->args[k];
                continue;
            }
            where.push_back(q);
        }
    }
    m_arrays.emplace_back(where);
    std::vector<Node*>& whereSlots = m_arrays.back();
    for (Node*& w : whereSlots)
        if (!substitute(&w, sub, why))
            return {};
    keep(&s->where_clause);
    if (whereSlots.empty()) {
        s->where_clause = nullptr;
    } else if (whereSlots.size() == 1) {
        s->where_clause = whereSlots[0];
    } else {
        PgQuery__BoolExpr b = PG_QUERY__BOOL_EXPR__INIT;
        b.boolop = PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR;
        b.n_args = whereSlots.size();
        b.args = whereSlots.data();
        b.location = -1;
        m_boolExprs.push_back(b);
        Node node = PG_QUERY__NODE__INIT;
        node.node_case = PG_QUERY__NODE__NODE_BOOL_EXPR;
        node.bool_expr = &m_boolExprs.back();
        m_nodes.push_back(node);
        s->where_clause = &m_nodes.back();
    }
    keep(&s->n_group_clause);
    keep(&s->having_clause);
    if (sub.keepGroupBy) {
        for (size_t i = 0; i < s->n_group_clause; ++i)
            if (!substitute(&s->group_clause[i], sub, why))
                return {};
        if (s->having_clause && !substitute(&s->having_clause, sub, why))
            return {};
    } else {
        s->n_group_clause = 0;
        s->having_clause = nullptr;
    }
    for (size_t i = 0; i < s->n_sort_clause; ++i)
        if (!substitute(&s->sort_clause[i]->sort_by->node, sub, why))
            return {};

    // FROM the view.
    PgQuery__RangeVar rv = PG_QUERY__RANGE_VAR__INIT;
    m_bytes.push_back(schema.toUtf8());
    rv.schemaname = m_bytes.back().data();
    m_bytes.push_back(name.toUtf8());
    rv.relname = m_bytes.back().data();
    m_bytes.push_back("p");
    rv.relpersistence = m_bytes.back().data();
    rv.inh = true;
    rv.location = -1;
    m_rangeVars.push_back(rv);
    Node fromNode = PG_QUERY__NODE__INIT;
    fromNode.node_case = PG_QUERY__NODE__NODE_RANGE_VAR;
    fromNode.range_var = &m_rangeVars.back();
    m_nodes.push_back(fromNode);
    replace(&s->from_clause[0], &m_nodes.back());

    const QString sql = deparseSelect(*s, m_tree->version);
    if (sql.isEmpty())
        *why = u"the rewritten statement could not be deparsed"_s;
    return sql;
}

} // namespace htap::route
