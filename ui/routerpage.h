#pragma once

#include <route/router.h>

#include <QPointer>
#include <QWidget>

#include <memory>

class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QTableWidget;

namespace htap::monitor {
class ActivityCollector;
}
namespace htap::route {
class TopologyReader;
}

namespace htap::ui {

/// The parse-tree router, interactively (issue 24): a statement and a freshness budget in;
/// where it would go (the primary, a standby, or a view that answers it, with the statement
/// rewritten over the view), why, and the topology it decided against: the standbys with
/// their replay lag and the registered views with their data's age and why each did or did
/// not answer. Nothing is run. The topology is read on a worker thread over a connection of
/// its own, each time Route is pressed.
class RouterPage : public QWidget
{
    Q_OBJECT
public:
    explicit RouterPage(QWidget* parent = nullptr);
    ~RouterPage() override;
    QString title() const { return tr("Router"); }
    /// The server whose topology the page reads (the one shown); nullptr: none. An answer
    /// still in flight for the previous one is dropped.
    void setCollector(htap::monitor::ActivityCollector* collector);

    void setStatement(const QString& sql);
    void setBudget(const QString& text);
    /// Routes the statement (the Route button).
    void routeStatement();
    bool isBusy() const { return m_busy; }
    /// What the page shows: the decision's headline, its reason, the rewritten statement.
    QString decisionText() const;
    QString reasonText() const;
    QString rewrittenText() const;
    QTableWidget* standbysTable() const { return m_standbys; }
    QTableWidget* viewsTable() const { return m_views; }

Q_SIGNALS:
    void message(bool ok, const QString& text);
    /// A decision is shown (or an error, in the status line).
    void routed();

private:
    void showDecision(const htap::route::Decision& decision, const htap::route::Topology& topology);
    void showError(const QString& text);

    QPointer<htap::monitor::ActivityCollector> m_collector;
    std::shared_ptr<htap::route::TopologyReader> m_reader; ///< its function cache outlives a run
    quint64 m_generation = 0;
    bool m_busy = false;

    QPlainTextEdit* m_sql;
    QLineEdit* m_budget;
    QPushButton* m_route;
    QLabel* m_status;
    QLabel* m_decision;
    QLabel* m_reason;
    QLabel* m_keyword;
    QLabel* m_rewrittenLabel;
    QPlainTextEdit* m_rewritten;
    QLabel* m_topologyLabel;
    QTableWidget* m_standbys;
    QTableWidget* m_views;
};

} // namespace htap::ui
