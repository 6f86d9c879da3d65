#pragma once

#include "monitorpage.h"

#include <monitor/activitycollector.h>

#include <QElapsedTimer>
#include <QMap>
#include <QSet>

#include <optional>

class QLabel;
class QPushButton;
class QTimer;
class QTreeView;

namespace htap::ui {

class BlockingTreeModel;
class ChartWidget;

/// Who blocks whom right now (the blocking tree) and how many sessions waited, by lock type,
/// over time. Actions on the selected session, each confirmed, offered as its state allows:
/// cancel the query of a session running one, terminate a session (the only help for one idle
/// in transaction), roll back a prepared transaction. After an action the page reads the next
/// samples and says in its status line whether the sessions that waited behind it went on.
class LocksPage : public MonitorPage
{
    Q_OBJECT
public:
    explicit LocksPage(QWidget* parent = nullptr);
    /// The server whose sessions the actions reach (the one shown); nullptr: none.
    void setCollector(htap::monitor::ActivityCollector* collector);
    QString title() const override { return tr("Locks"); }
    void addSample(const htap::monitor::ServerSample& sample) override;
    void addPastSample(const htap::monitor::ServerSample& sample) override;
    void addGap(const QDateTime& at) override;
    void clear() override;
    QList<ChartWidget*> charts() const override;
    BlockingTreeModel* model() const { return m_model; }
    /// Selects the session of pid in the tree (a culprit clicked on the Overview); false when it
    /// is not in the tree (it no longer blocks or waits).
    bool selectPid(int pid);
    QTreeView* view() const { return m_view; }
    QPushButton* button(htap::monitor::BackendAction::Kind kind) const;
    /// Acts on the selected session; confirmed false asks first (the buttons), true does not
    /// (tests, which have no one to answer a dialog).
    void runAction(htap::monitor::BackendAction::Kind kind, bool confirmed);
    /// The status line: what the last action did and what the samples after it showed.
    QString statusText() const;
    /// What the page advises for the selected session (or, with none selected, for the root
    /// blockers that run no statement); empty when there is nothing to say.
    QString adviceText() const;

Q_SIGNALS:
    void message(bool ok, const QString& text);
    /// An action of this page took effect on pid (0: a prepared transaction), what in words
    /// ("terminated from HTAP Studio"): a blocking episode it ends says how it ended. Empty
    /// what: the samples after the action showed pid still blocking (a cancel that left a
    /// session's advisory lock held), so the action is not how the episode ends.
    void actionTaken(int pid, const QString& what);

private:
    /// An action sent from this page, and what the samples after it show.
    struct Check {
        htap::monitor::BackendAction action;
        QString verb;             ///< "terminate", "cancel", "rollback"
        QString when;             ///< local time the operator confirmed it, "17:41:12"
        QSet<int> waitersBefore;  ///< every session waiting behind the session acted on, when confirmed
        bool answered = false;    ///< the collector said the action took effect
        QDateTime actedAt;        ///< the server's clock then: older samples show the state before
        QString result;           ///< the collector's account of the action
        QString reading;          ///< what the latest sample after it shows
        double readingAfter = -1; ///< seconds from the action to that sample
        QElapsedTimer since;      ///< from the collector's answer: how long the samples have had
        bool allWentOn = false;
        bool stillBlocks = false; ///< the session acted on still blocks others in the latest sample
        int samples = 0;
    };
    void updateButtons();
    void onActionFinished(const htap::monitor::BackendAction& action, bool ok, const QString& text, const QDateTime& actedAt);
    void checkSample(const htap::monitor::LockSample& locks, const QDateTime& sampledAt);
    void settleCheck();
    /// text with the time of the action it is about (when, or the pending action's).
    void setStatus(const QString& text, const QString& when = {});
    QString rootsAdvice() const;

    QPointer<htap::monitor::ActivityCollector> m_collector;
    BlockingTreeModel* m_model;
    QTreeView* m_view;
    ChartWidget* m_chart;
    QLabel* m_summary;
    QPushButton* m_cancel;
    QPushButton* m_terminate;
    QPushButton* m_rollback;
    QLabel* m_advice;
    QLabel* m_status;
    std::optional<Check> m_check;
    QTimer* m_checkDeadline; ///< settles the check once the samples have had time to show the effect
    QMap<QString, int> m_series; ///< lock type -> chart series
    int m_totalSeries;
};

} // namespace htap::ui
