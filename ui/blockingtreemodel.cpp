#include "blockingtreemodel.h"
#include "colours.h"

#include <QColor>
#include <QHash>
#include <QSet>

namespace htap::ui {

using namespace Qt::StringLiterals;
using htap::monitor::LockNode;

BlockingTreeModel::BlockingTreeModel(QObject* parent)
    : QAbstractItemModel(parent)
{
}

void BlockingTreeModel::setSample(const htap::monitor::LockSample& sample)
{
    beginResetModel();
    m_sample = sample;
    m_items.clear();
    m_roots.clear();
    // Waiters by blocker, once, so the walk below is linear in the edges.
    const QHash<int, QList<int>> waiters = m_sample.waitersByBlocker();
    QSet<int> placed;
    QList<int> queue;
    for (int pid : std::as_const(m_sample.roots)) {
        if (placed.contains(pid))
            continue;
        placed.insert(pid);
        queue.append(addItem(pid, -1));
    }
    auto walk = [&] {
        for (qsizetype i = 0; i < queue.size(); ++i) {
            const int item = queue[i];
            QList<int> next = waiters.value(m_items[item].pid);
            std::sort(next.begin(), next.end());
            for (int w : std::as_const(next)) {
                if (placed.contains(w))
                    continue;
                placed.insert(w);
                queue.append(addItem(w, item));
            }
        }
    };
    walk();
    // Waiters no root reaches (a deadlock cycle before deadlock_timeout breaks it, or a blocker
    // that left between two reads) are shown at the top rather than hidden.
    for (const LockNode& n : std::as_const(m_sample.nodes)) {
        if (!placed.contains(n.pid) && !n.blockedBy.isEmpty()) {
            placed.insert(n.pid);
            queue.append(addItem(n.pid, -1));
            walk();
        }
    }
    m_nodeIndex.clear();
    for (int i = 0; i < m_sample.nodes.size(); ++i)
        m_nodeIndex.insert(m_sample.nodes[i].pid, i);
    m_totals.clear();
    endResetModel();
}

int BlockingTreeModel::addItem(int pid, int parent)
{
    const int me = int(m_items.size());
    const int row = parent < 0 ? int(m_roots.size()) : int(m_items[parent].children.size());
    m_items.push_back({pid, parent, row, {}});
    if (parent < 0)
        m_roots.append(me);
    else
        m_items[parent].children.append(me);
    return me;
}

const LockNode* BlockingTreeModel::find(int pid) const
{
    const int i = m_nodeIndex.value(pid, -1);
    return i < 0 ? nullptr : &m_sample.nodes[i];
}

LockNode BlockingTreeModel::node(const QModelIndex& index) const
{
    if (!index.isValid())
        return {};
    const LockNode* n = find(m_items[index.internalId()].pid);
    return n ? *n : LockNode {};
}

QModelIndex BlockingTreeModel::index(int row, int column, const QModelIndex& parent) const
{
    if (!hasIndex(row, column, parent))
        return {};
    const QList<int>& siblings = parent.isValid() ? m_items[parent.internalId()].children : m_roots;
    return createIndex(row, column, quintptr(siblings.at(row)));
}

QModelIndex BlockingTreeModel::parent(const QModelIndex& child) const
{
    if (!child.isValid())
        return {};
    const int p = m_items[child.internalId()].parent;
    if (p < 0)
        return {};
    return createIndex(m_items[p].row, 0, quintptr(p));
}

int BlockingTreeModel::rowCount(const QModelIndex& parent) const
{
    if (parent.column() > 0)
        return 0;
    return parent.isValid() ? int(m_items[parent.internalId()].children.size()) : int(m_roots.size());
}

int BlockingTreeModel::columnCount(const QModelIndex&) const
{
    return ColumnCount;
}

QVariant BlockingTreeModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid))
        return {};
    const Item& item = m_items[index.internalId()];
    const LockNode* n = find(item.pid);
    if (role == PidRole)
        return item.pid;
    if (!n)
        return role == Qt::DisplayRole && index.column() == Pid ? QVariant(item.pid) : QVariant();
    const bool root = item.parent < 0;
    if (role == Qt::ForegroundRole && root && index.column() == Pid)
        return colours::toneText(colours::Tone::Bad);
    if (role == Qt::ToolTipRole && index.column() == Query)
        return n->query;
    if (role != Qt::DisplayRole)
        return {};
    switch (Columns(index.column())) {
    case Pid:
        if (n->pid == 0) {
            QStringList gids;
            for (const auto& p : n->preparedTransactions)
                gids << p.gid;
            return tr("prepared: %1").arg(gids.join(u", "_s));
        }
        return n->pid;
    case Blocks:
        if (!root)
            return {};
        if (!m_totals.contains(n->pid)) // computed once per sample, not per paint
            m_totals.insert(n->pid, m_sample.totalWaitersUnder(n->pid));
        return m_totals.value(n->pid);
    case Role:
        return n->pid == 0 && !n->preparedTransactions.isEmpty() ? n->preparedTransactions.first().owner : n->role;
    case Application:
        return n->application;
    case State:
        return n->state;
    case WaitingFor:
        return n->lockMode.isEmpty() ? QString() : u"%1 on %2 %3"_s.arg(n->lockMode, n->lockType, n->lockTarget);
    case WaitSeconds:
        return n->lockMode.isEmpty() ? QVariant() : QVariant(QString::number(n->waitSeconds, 'f', 1));
    case TransactionSeconds:
        if (n->pid == 0 && !n->preparedTransactions.isEmpty())
            return QString::number(n->preparedTransactions.first().ageSeconds, 'f', 0);
        return QString::number(n->transactionSeconds, 'f', 1);
    case AlsoBlockedBy: {
        QStringList others;
        const int shownUnder = item.parent < 0 ? -1 : m_items[item.parent].pid;
        for (int b : n->blockedBy)
            if (b != shownUnder)
                others << (b == 0 ? tr("prepared xact") : QString::number(b));
        return others.join(u", "_s);
    }
    case Query:
        return QString(n->query).replace(u'\n', u' ').simplified();
    case ColumnCount:
        break;
    }
    return {};
}

QVariant BlockingTreeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char* names[] = {QT_TR_NOOP("pid"), QT_TR_NOOP("blocks"), QT_TR_NOOP("role"), QT_TR_NOOP("application"),
        QT_TR_NOOP("state"), QT_TR_NOOP("waiting for"), QT_TR_NOOP("wait (s)"), QT_TR_NOOP("xact (s)"),
        QT_TR_NOOP("also blocked by"), QT_TR_NOOP("query")};
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

} // namespace htap::ui
