// Reading libpg_query's protobuf parse tree: walking it, reading its nodes, deparsing parts of
// it. Shared by the libraries that read statements (mv: view definitions, route: queries);
// include it from .cpp files only (it needs libpg_query's headers).
#pragma once

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <QString>
#include <QStringList>

#include <functional>

namespace htap::pg::parsetree {

using namespace Qt::StringLiterals;

using Node = PgQuery__Node;

inline QString str(const char* s)
{
    return s ? QString::fromUtf8(s) : QString();
}

/// Calls visit for every message under (and including) root, depth first, using the protobuf
/// descriptors, so that no node type can be missed. visit returns false to skip a subtree.
inline void walk(const ProtobufCMessage* root, const std::function<bool(const ProtobufCMessage*)>& visit)
{
    if (!root || !visit(root))
        return;
    const ProtobufCMessageDescriptor* desc = root->descriptor;
    const auto* base = reinterpret_cast<const char*>(root);
    for (unsigned i = 0; i < desc->n_fields; ++i) {
        const ProtobufCFieldDescriptor& f = desc->fields[i];
        if (f.type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f.label == PROTOBUF_C_LABEL_REPEATED) {
            const size_t n = *reinterpret_cast<const size_t*>(base + f.quantifier_offset);
            auto* const* items = *reinterpret_cast<ProtobufCMessage* const* const*>(base + f.offset);
            for (size_t k = 0; k < n; ++k)
                walk(items[k], visit);
            continue;
        }
        if (f.flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            const uint32_t which = *reinterpret_cast<const uint32_t*>(base + f.quantifier_offset);
            if (which != f.id)
                continue;
        }
        walk(*reinterpret_cast<ProtobufCMessage* const*>(base + f.offset), visit);
    }
}

inline bool isA(const ProtobufCMessage* m, const ProtobufCMessageDescriptor& d)
{
    return m && m->descriptor == &d;
}

inline QString lastName(Node* const* names, size_t n)
{
    if (n == 0 || names[n - 1]->node_case != PG_QUERY__NODE__NODE_STRING)
        return {};
    return str(names[n - 1]->string->sval);
}

inline QStringList columnRefFields(const PgQuery__ColumnRef* ref)
{
    QStringList out;
    for (size_t i = 0; i < ref->n_fields; ++i) {
        const Node* f = ref->fields[i];
        if (f->node_case == PG_QUERY__NODE__NODE_STRING)
            out << str(f->string->sval);
        else
            out << u"*"_s;
    }
    return out;
}

/// A function's name as the definition spells it, schema-qualified when it is
/// (pg_get_viewdef under search_path pg_catalog qualifies every function outside pg_catalog).
inline QString dottedName(const PgQuery__FuncCall* fc)
{
    QStringList parts;
    for (size_t i = 0; i < fc->n_funcname; ++i)
        if (fc->funcname[i]->node_case == PG_QUERY__NODE__NODE_STRING)
            parts << str(fc->funcname[i]->string->sval);
    if (parts.size() == 2 && parts[0] == u"pg_catalog"_s)
        parts.removeFirst();
    return parts.join(u'.');
}

/// The first source position under a node (-1 when none): most nodes carry one.
inline int firstLocation(const ProtobufCMessage* root)
{
    int found = -1;
    walk(root, [&](const ProtobufCMessage* m) {
        if (found >= 0)
            return false;
        const ProtobufCMessageDescriptor* desc = m->descriptor;
        for (unsigned i = 0; i < desc->n_fields; ++i) {
            const ProtobufCFieldDescriptor& f = desc->fields[i];
            if (f.type == PROTOBUF_C_TYPE_INT32 && qstrcmp(f.name, "location") == 0) {
                const int loc = *reinterpret_cast<const int32_t*>(reinterpret_cast<const char*>(m) + f.offset);
                if (loc >= 0) {
                    found = loc;
                    return false;
                }
            }
        }
        return true;
    });
    return found;
}


/// A SELECT statement deparsed back to SQL (empty when libpg_query cannot); version is the
/// parse result's (PgQuery__ParseResult::version).
inline QString deparseSelect(PgQuery__SelectStmt& stmt, int32_t version)
{
    Node stmtNode = PG_QUERY__NODE__INIT;
    stmtNode.node_case = PG_QUERY__NODE__NODE_SELECT_STMT;
    stmtNode.select_stmt = &stmt;
    PgQuery__RawStmt rawStmt = PG_QUERY__RAW_STMT__INIT;
    rawStmt.stmt = &stmtNode;
    PgQuery__RawStmt* stmts[] = {&rawStmt};
    PgQuery__ParseResult result = PG_QUERY__PARSE_RESULT__INIT;
    result.version = version;
    result.n_stmts = 1;
    result.stmts = stmts;
    QByteArray buffer(int(pg_query__parse_result__get_packed_size(&result)), Qt::Uninitialized);
    pg_query__parse_result__pack(&result, reinterpret_cast<uint8_t*>(buffer.data()));
    PgQueryProtobuf pb {size_t(buffer.size()), buffer.data()};
    PgQueryDeparseResult out = pg_query_deparse_protobuf(pb);
    QString sql;
    if (!out.error)
        sql = str(out.query);
    pg_query_free_deparse_result(out);
    return sql;
}

/// "SELECT <value> [FROM <from>]" deparsed (from: a FROM clause's items, or none).
inline QString deparseSelectOf(Node* value, int32_t version, size_t nFrom = 0, Node** from = nullptr)
{
    PgQuery__ResTarget target = PG_QUERY__RES_TARGET__INIT;
    target.val = value;
    Node targetNode = PG_QUERY__NODE__INIT;
    targetNode.node_case = PG_QUERY__NODE__NODE_RES_TARGET;
    targetNode.res_target = &target;
    Node* targets[] = {&targetNode};
    PgQuery__SelectStmt stmt = PG_QUERY__SELECT_STMT__INIT;
    stmt.op = PG_QUERY__SET_OPERATION__SETOP_NONE;
    stmt.limit_option = PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_DEFAULT;
    stmt.n_target_list = 1;
    stmt.target_list = targets;
    stmt.n_from_clause = nFrom;
    stmt.from_clause = from;
    return deparseSelect(stmt, version);
}

/// One expression deparsed back to SQL; empty when it cannot be.
inline QString deparseExpression(Node* expr, int32_t version)
{
    const QString sql = deparseSelectOf(expr, version);
    return sql.startsWith(u"SELECT "_s) ? sql.mid(7) : QString();
}

} // namespace htap::pg::parsetree
