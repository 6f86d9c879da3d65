// The join classes of counted views over outer joins and semi-joins (ivmsqlouter.cpp merges
// them): the columns the joins' equalities make equal form classes, a join without an equality
// (CROSS JOIN) a class every row of its tables is in; and EXISTS kept as semi-joins, whose
// sub-query's equalities with the outer tables are such a join's.
#include "viewquery.h"

#include "viewquery_p.h"

using namespace Qt::StringLiterals;

namespace htap::mv {

void addSemiJoinTables(const QList<const PgQuery__SubLink*>& semi, QList<TableRef>* refs, QList<QPair<QString, QString>>* sameValue,
    QList<QStringList>* crossed)
{
    for (const PgQuery__SubLink* link : semi) {
        const PgQuery__SelectStmt* in = link->subselect->select_stmt;
        const PgQuery__RangeVar* rv = in->from_clause[0]->range_var;
        TableRef t {str(rv->schemaname), str(rv->relname), {}};
        t.refName = rv->alias && rv->alias->aliasname && *rv->alias->aliasname ? str(rv->alias->aliasname) : t.name;
        QStringList outer;
        for (const TableRef& r : std::as_const(*refs))
            outer << r.refName;
        *refs << t;
        const qsizetype firstSame = sameValue->size();
        for (const Node* q : in->where_clause ? conjuncts(in->where_clause) : QList<const Node*>()) {
            QStringList l, r;
            if (!columnEquality(q, &l, &r))
                continue;
            if ((l[0] == t.refName && outer.contains(r[0])) || (r[0] == t.refName && outer.contains(l[0])))
                *sameValue << qMakePair(l[0] + u'.' + l[1], r[0] + u'.' + r[1]);
        }
        if (sameValue->size() == firstSame)
            *crossed << (outer << t.refName);
    }
}

QString assignJoinClasses(const QList<QPair<QString, QString>>& sameValue, const QList<QStringList>& crossed,
    const QHash<QString, TableInfo>& infos, QList<PlanTable>* tables)
{
    SameSets sets;
    for (const auto& e : std::as_const(sameValue))
        sets.join(e.first, e.second);
    QHash<QString, int> classOf;
    for (const auto& e : std::as_const(sameValue))
        for (const QString& c : {e.first, e.second}) {
            const QString root = sets.find(c);
            if (!classOf.contains(root))
                classOf.insert(root, int(classOf.size()) + 1);
            const QString ref = c.section(u'.', 0, 0), column = c.section(u'.', 1);
            for (PlanTable& t : *tables)
                if (t.ref.refName == ref && !t.joinKeys.contains(qMakePair(classOf[root], column)))
                    t.joinKeys << qMakePair(classOf[root], column);
        }
    int next = int(classOf.size()) + 1;
    for (const QStringList& group : std::as_const(crossed)) {
        for (PlanTable& t : *tables)
            if (group.contains(t.ref.refName))
                t.joinKeys << qMakePair(next, QString());
        ++next;
    }
    for (const PlanTable& t : std::as_const(*tables))
        if (t.joinKeys.isEmpty())
            return u"table %1 is not joined to the others"_s.arg(t.ref.refName);
    // A class's values are compared by their type's hash: integers hash alike whatever
    // their width, text and varchar alike; other types must be the same.
    const auto family = [](const QString& type) {
        if (type == u"smallint"_s || type == u"integer"_s || type == u"bigint"_s)
            return u"integer"_s;
        return type == u"character varying"_s ? u"text"_s : type;
    };
    QHash<int, QPair<QString, QString>> firstOf; // class -> (its first column, its type)
    for (const PlanTable& t : std::as_const(*tables))
        for (const auto& k : t.joinKeys) {
            const QString type = infos.value(t.ref.refName).types.value(k.second);
            if (k.second.isEmpty() || type.isEmpty())
                continue;
            const QString column = t.ref.refName + u'.' + k.second;
            if (!firstOf.contains(k.first))
                firstOf.insert(k.first, qMakePair(column, type));
            else if (family(firstOf[k.first].second) != family(type))
                return u"the outer joins compare %1 (%2) with %3 (%4): outer joins are maintained when the columns their "
                       u"equalities compare have the same type (integers of any width, text and varchar count as one)"_s.arg(
                    firstOf[k.first].first, firstOf[k.first].second, column, type);
        }
    return {};
}

} // namespace htap::mv
