#pragma once

#include <monitor/serversample.h>

#include <QAbstractItemModel>
#include <QHash>

#include <vector>

namespace htap::ui {

/// The blocking tree: root blockers at the top, under each the sessions it blocks. The graph is
/// a DAG (a waiter queued behind others is blocked by all of them), so each session is shown
/// once, under the first blocker that reaches it breadth-first (the nearest to a root); its
/// other blockers are listed in "also blocked by". pid 0 stands for prepared transactions.
class BlockingTreeModel : public QAbstractItemModel
{
    Q_OBJECT
public:
    enum Columns { Pid, Blocks, Role, Application, State, WaitingFor, WaitSeconds, TransactionSeconds, AlsoBlockedBy, Query, ColumnCount };
    enum Roles { PidRole = Qt::UserRole, NodeRole };

    explicit BlockingTreeModel(QObject* parent = nullptr);
    void setSample(const htap::monitor::LockSample& sample);
    const htap::monitor::LockSample& sample() const { return m_sample; }
    /// The node shown at index (a copy: the model may be replaced at the next sample).
    htap::monitor::LockNode node(const QModelIndex& index) const;

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    struct Item {
        int pid;
        int parent; ///< index into m_items, -1 for a root
        int row;    ///< row under its parent
        QList<int> children;
    };
    int addItem(int pid, int parent);
    const htap::monitor::LockNode* find(int pid) const;

    htap::monitor::LockSample m_sample;
    std::vector<Item> m_items;
    QList<int> m_roots; ///< indexes into m_items
    QHash<int, int> m_nodeIndex; ///< pid -> index into m_sample.nodes
    mutable QHash<int, int> m_totals; ///< root pid -> sessions blocked under it
};

} // namespace htap::ui
