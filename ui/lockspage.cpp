#include "lockspage.h"

#include "blockingtreemodel.h"
#include "chartwidget.h"

#include <core/format.h>

#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QTime>
#include <QTimer>
#include <QTreeView>
#include <QVBoxLayout>

#include <algorithm>

namespace htap::ui {

using htap::core::formatCount;
using htap::core::formatSeconds;
using htap::monitor::BackendAction;
using htap::monitor::LockNode;
using htap::monitor::LockSample;

namespace {

/// How long the samples after an action have to show its effect before the page settles on
/// "still blocks": a few seconds and a few samples (a slow or loaded server samples late, and
/// one late sample is no verdict); past the limit it settles on what it has.
constexpr int kCheckSeconds = 5;
constexpr int kCheckSamples = 3;
constexpr int kCheckLimitSeconds = 15;

/// pg_stat_activity's states in which pg_cancel_backend has a statement to interrupt.
bool runsAStatement(const QString& state)
{
    return state == QLatin1String("active") || state == QLatin1String("fastpath function call");
}

/// The client holds a live transaction open between statements: a cancel finds nothing to
/// interrupt, and the transaction keeps its locks until it ends. ("idle in transaction
/// (aborted)" is another case: the failed transaction released its own locks already, so what
/// such a session still blocks with is a lock of the session, an advisory lock.)
bool idleInTransaction(const QString& state)
{
    return state == QLatin1String("idle in transaction");
}

/// NULL without pg_read_all_stats for another role's session, "disabled" with track_activities
/// off: the page cannot tell what the session does.
bool stateHidden(const QString& state)
{
    return state.isEmpty() || state == QLatin1String("disabled");
}

/// Everyone waiting behind pid, directly or not.
QSet<int> waitersUnder(const LockSample& sample, int pid)
{
    const QHash<int, QList<int>> waiters = sample.waitersByBlocker();
    QSet<int> seen;
    QList<int> todo {pid};
    for (qsizetype i = 0; i < todo.size(); ++i)
        for (int w : waiters.value(todo[i]))
            if (w != pid && !seen.contains(w)) {
                seen.insert(w);
                todo.append(w);
            }
    return seen;
}

/// "850 ms later": from the action to the sample that showed it; unknown without the server's
/// time of the action.
QString later(double seconds)
{
    return seconds >= 0 ? LocksPage::tr("%1 later").arg(formatSeconds(seconds)) : LocksPage::tr("Since then");
}

} // namespace

LocksPage::LocksPage(QWidget* parent)
    : MonitorPage(parent)
    , m_model(new BlockingTreeModel(this))
    , m_view(new QTreeView(this))
    , m_chart(new ChartWidget(tr("Sessions waiting on a lock"), tr("sessions"), this))
    , m_summary(new QLabel(tr("No session waits on a lock."), this))
    , m_cancel(new QPushButton(tr("Cancel query…"), this))
    , m_terminate(new QPushButton(tr("Terminate session…"), this))
    , m_rollback(new QPushButton(tr("Roll back prepared transaction…"), this))
    , m_advice(new QLabel(this))
    , m_status(new QLabel(this))
    , m_checkDeadline(new QTimer(this))
{
    m_view->setObjectName(QStringLiteral("blockingTree"));
    m_cancel->setObjectName(QStringLiteral("cancelQuery"));
    m_terminate->setObjectName(QStringLiteral("terminateSession"));
    m_rollback->setObjectName(QStringLiteral("rollbackPrepared"));
    m_advice->setObjectName(QStringLiteral("lockAdvice"));
    m_status->setObjectName(QStringLiteral("lockActionStatus"));
    m_summary->setWordWrap(true);
    for (QLabel* line : {m_advice, m_status}) {
        line->setWordWrap(true);
        line->setTextFormat(Qt::PlainText);
        line->setTextInteractionFlags(Qt::TextSelectableByMouse); // a pid to copy into psql
        line->setFrameShape(QFrame::StyledPanel);
        line->setMargin(4);
        line->hide();
    }
    // Set apart from the tree by a tint of the palette's highlight over its base (no colour
    // literal: a dark theme keeps its contrast).
    QPalette tinted = m_status->palette();
    const QColor base = tinted.color(QPalette::Base);
    const QColor mark = tinted.color(QPalette::Highlight);
    tinted.setColor(QPalette::Window, QColor::fromRgbF(base.redF() * 0.88 + mark.redF() * 0.12,
                                          base.greenF() * 0.88 + mark.greenF() * 0.12, base.blueF() * 0.88 + mark.blueF() * 0.12));
    for (QLabel* line : {m_advice, m_status}) {
        line->setPalette(tinted);
        line->setAutoFillBackground(true);
    }
    m_checkDeadline->setInterval(250);
    connect(m_checkDeadline, &QTimer::timeout, this, [this] {
        if (!m_check) {
            m_checkDeadline->stop();
            return;
        }
        const qint64 ms = m_check->since.elapsed();
        if ((ms >= kCheckSeconds * 1000 && m_check->samples >= kCheckSamples) || ms >= kCheckLimitSeconds * 1000)
            settleCheck();
    });
    m_view->setModel(m_model);
    m_view->setAlternatingRowColors(true);
    m_view->setUniformRowHeights(true);
    m_view->header()->setStretchLastSection(true);
    m_totalSeries = m_chart->addSeries(tr("all lock types"), QColor(0xd6, 0x27, 0x28));

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_summary, 1);
    buttons->addWidget(m_cancel);
    buttons->addWidget(m_terminate);
    buttons->addWidget(m_rollback);
    auto* top = new QWidget(this);
    auto* topLayout = new QVBoxLayout(top);
    topLayout->setContentsMargins(0, 0, 0, 0);
    topLayout->addLayout(buttons);
    topLayout->addWidget(m_advice);
    topLayout->addWidget(m_status);
    topLayout->addWidget(m_view);
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(top);
    split->addWidget(m_chart);
    split->setSizes({400, 300});
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(split);

    connect(m_view->selectionModel(), &QItemSelectionModel::currentChanged, this, &LocksPage::updateButtons);
    connect(m_model, &QAbstractItemModel::modelReset, this, &LocksPage::updateButtons);
    connect(m_cancel, &QPushButton::clicked, this, [this] { runAction(BackendAction::Kind::Cancel, false); });
    connect(m_terminate, &QPushButton::clicked, this, [this] { runAction(BackendAction::Kind::Terminate, false); });
    connect(m_rollback, &QPushButton::clicked, this, [this] { runAction(BackendAction::Kind::RollbackPrepared, false); });
    updateButtons();
}

void LocksPage::setCollector(htap::monitor::ActivityCollector* collector)
{
    if (m_collector)
        disconnect(m_collector, nullptr, this, nullptr);
    m_collector = collector;
    if (m_collector)
        connect(m_collector, &htap::monitor::ActivityCollector::actionFinished, this, &LocksPage::onActionFinished);
}

void LocksPage::addPastSample(const htap::monitor::ServerSample& s)
{
    if (!s.locks)
        return;
    m_chart->addPoint(m_totalSeries, s.sampledAt, s.locks->waitingSessions);
    for (auto it = s.locks->waitingByLockType.cbegin(); it != s.locks->waitingByLockType.cend(); ++it) {
        if (!m_series.contains(it.key()) && m_series.size() < 8) {
            m_series.insert(it.key(), m_chart->addSeries(it.key(), ChartWidget::seriesColor(int(m_series.size()))));
        }
    }
    for (auto it = m_series.cbegin(); it != m_series.cend(); ++it)
        m_chart->addPoint(it.value(), s.sampledAt, s.locks->waitingByLockType.value(it.key()));
}

bool LocksPage::selectPid(int pid)
{
    const auto hits = m_model->match(m_model->index(0, 0), BlockingTreeModel::PidRole, pid, 1, Qt::MatchExactly | Qt::MatchRecursive);
    if (hits.isEmpty())
        return false;
    m_view->setCurrentIndex(hits.first());
    m_view->scrollTo(hits.first());
    return true;
}

void LocksPage::addSample(const htap::monitor::ServerSample& s)
{
    if (!s.locks)
        return;
    addPastSample(s);
    // Keep the operator's place across the once-a-second model reset.
    const int selectedPid = m_view->currentIndex().data(BlockingTreeModel::PidRole).toInt();
    const bool hadSelection = m_view->currentIndex().isValid();
    m_model->setSample(*s.locks);
    m_view->expandAll();
    if (hadSelection) {
        const auto hits = m_model->match(m_model->index(0, 0), BlockingTreeModel::PidRole, selectedPid, 1,
            Qt::MatchExactly | Qt::MatchRecursive);
        if (!hits.isEmpty())
            m_view->setCurrentIndex(hits.first());
    }
    if (m_model->rowCount() < 200) // sizing columns reads every row: not with thousands of waiters
        for (int c = 0; c < BlockingTreeModel::Query; ++c)
            m_view->resizeColumnToContents(c);

    if (s.locks->waitingSessions == 0) {
        m_summary->setText(tr("No session waits on a lock."));
    } else {
        QStringList roots;
        for (int r : s.locks->roots) {
            // The root's state says which action can help it: the first thing a DBA asks.
            const LockNode* n = s.locks->node(r);
            const QString who = r == 0 ? tr("prepared transaction")
                : n && !stateHidden(n->state) ? tr("pid %1 (%2)").arg(r).arg(n->state)
                                              : tr("pid %1").arg(r);
            roots << tr("%1 blocks %2").arg(who, formatCount(s.locks->totalWaitersUnder(r)));
        }
        m_summary->setText(tr("%n session(s) waiting. Root blockers: ", nullptr, s.locks->waitingSessions) + roots.join(QStringLiteral("; ")));
    }
    if (m_check)
        checkSample(*s.locks, s.sampledAt);
}

void LocksPage::addGap(const QDateTime& at)
{
    m_chart->addGap(at);
}

void LocksPage::clear()
{
    // Another server (or none) is shown now: an action on the last one is not this page's to judge.
    m_check.reset();
    m_checkDeadline->stop();
    setStatus({});
    m_model->setSample({});
    m_chart->clear();
}

QList<ChartWidget*> LocksPage::charts() const
{
    return {m_chart};
}

QPushButton* LocksPage::button(BackendAction::Kind kind) const
{
    switch (kind) {
    case BackendAction::Kind::Cancel:
        return m_cancel;
    case BackendAction::Kind::Terminate:
        return m_terminate;
    case BackendAction::Kind::RollbackPrepared:
        return m_rollback;
    }
    return nullptr;
}

QString LocksPage::statusText() const
{
    return m_status->text();
}

QString LocksPage::adviceText() const
{
    return m_advice->text();
}

void LocksPage::setStatus(const QString& text, const QString& when)
{
    // The line stays until the next action: the time says which one it is about.
    const QString at = !when.isEmpty() ? when : m_check ? m_check->when : QString();
    m_status->setText(text.isEmpty() || at.isEmpty() ? text : tr("Action at %1: %2").arg(at, text));
    m_status->setVisible(!text.isEmpty());
}

QString LocksPage::rootsAdvice() const
{
    // With nothing selected the buttons are off; the root blockers a cancel cannot help are
    // named anyway, since "cancel it" is the reflex that leaves everyone waiting.
    QStringList idle;
    QString onlyState;
    for (int r : m_model->sample().roots) {
        const LockNode* n = m_model->sample().node(r);
        if (r > 0 && n && !runsAStatement(n->state) && !stateHidden(n->state)) {
            idle << tr("pid %1 (%2)").arg(r).arg(n->state);
            onlyState = n->state;
        }
    }
    if (idle.isEmpty())
        return {};
    if (idle.size() == 1)
        return tr("Root blocker %1 runs no statement: cancel cannot help it%2. Select it to terminate it.")
            .arg(idle.first(),
                idleInTransaction(onlyState) ? tr(", and its transaction holds its locks until it ends") : QString());
    return tr("Root blockers %1 run no statement: cancel cannot help them. Select one to terminate it.")
        .arg(idle.join(QStringLiteral(", ")));
}

void LocksPage::updateButtons()
{
    const bool any = m_view->currentIndex().isValid();
    const LockNode node = m_model->node(m_view->currentIndex());
    QString advice;
    if (!any) {
        const QString pick = tr("Select a session in the tree first");
        for (QPushButton* b : {m_cancel, m_terminate, m_rollback}) {
            b->setEnabled(false);
            b->setToolTip(pick);
        }
        advice = rootsAdvice();
    } else if (node.pid == 0) {
        // pid 0 stands for prepared transactions: no backend runs them, so no signal reaches them.
        const QString why = tr("A prepared transaction has no session: nothing to cancel or terminate. Roll it back "
                               "(or have its application commit it).");
        m_cancel->setEnabled(false);
        m_cancel->setToolTip(why);
        m_terminate->setEnabled(false);
        m_terminate->setToolTip(why);
        m_rollback->setEnabled(!node.preparedTransactions.isEmpty());
        m_rollback->setToolTip(tr("ROLLBACK PREPARED: its changes are lost; the application that prepared it cannot "
                                  "commit it any more"));
    } else {
        const QString state = node.state;
        if (runsAStatement(state)) {
            m_cancel->setEnabled(true);
            m_cancel->setToolTip(tr("pg_cancel_backend: stops the statement pid %1 is running; the session stays. "
                                    "Inside a transaction block the transaction is aborted, which releases its locks.")
                                     .arg(node.pid));
        } else if (stateHidden(state)) {
            // Unknown is not "idle": the cancel is sent and the collector says what it found.
            m_cancel->setEnabled(true);
            m_cancel->setToolTip(tr("This role cannot see whether pid %1 is running a statement (pg_read_all_stats "
                                    "shows it); a cancel helps only if it is.")
                                     .arg(node.pid));
        } else if (idleInTransaction(state)) {
            m_cancel->setEnabled(false);
            m_cancel->setToolTip(tr("pid %1 is %2: there is no statement to cancel, and its transaction holds its "
                                    "locks until it ends. Terminate it instead.")
                                     .arg(node.pid)
                                     .arg(state));
            advice = tr("pid %1 is %2 (its transaction open for %3): cancel cannot help, there is no statement to "
                        "cancel and the transaction holds its locks until it ends. Terminate ends the session: its "
                        "transaction is rolled back and its client gets an error.")
                         .arg(node.pid)
                         .arg(state, formatSeconds(node.transactionSeconds));
        } else {
            // Idle, or idle in a failed transaction: what it can still block with is a lock of
            // the session, not of a transaction.
            m_cancel->setEnabled(false);
            m_cancel->setToolTip(tr("pid %1 is %2: there is no statement to cancel.").arg(node.pid).arg(state));
            if (!m_model->sample().waitersOf(node.pid).isEmpty())
                advice = tr("pid %1 is %2 and still blocks others: cancel cannot help, there is no statement to "
                            "cancel. What blocks is a lock of the session (an advisory lock, say), kept until the "
                            "session releases it or ends. Terminate ends the session: its client gets an error.")
                             .arg(node.pid)
                             .arg(state);
        }
        m_terminate->setEnabled(true);
        m_terminate->setToolTip(tr("pg_terminate_backend: ends the session of pid %1; its transaction is rolled back "
                                   "and its client gets an error")
                                    .arg(node.pid));
        m_rollback->setEnabled(false);
        m_rollback->setToolTip(tr("Only for a prepared transaction (pid 0 in the tree)"));
    }
    m_advice->setText(advice);
    m_advice->setVisible(!advice.isEmpty());
}

void LocksPage::runAction(BackendAction::Kind kind, bool confirmed)
{
    if (!m_view->currentIndex().isValid())
        return;
    const LockNode node = m_model->node(m_view->currentIndex());
    BackendAction action;
    action.kind = kind;
    action.pid = node.pid;
    // Who waits behind it now, to compare with the samples after the action.
    const QSet<int> behind = waitersUnder(m_model->sample(), node.pid);
    const QString waiting = behind.isEmpty() ? QString()
        : behind.size() == 1 ? tr("\n\n1 session waits behind it.")
                             : tr("\n\n%1 sessions wait behind it.").arg(formatCount(behind.size()));
    QString question;
    QString verb;
    switch (kind) {
    case BackendAction::Kind::Cancel:
        verb = tr("cancel");
        question = tr("Cancel the running statement of pid %1 (%2)?\n\n%3").arg(node.pid).arg(node.role, node.query.left(300));
        break;
    case BackendAction::Kind::Terminate: {
        verb = tr("terminate");
        const QString doing = stateHidden(node.state) ? QString() : tr(", %1").arg(node.state);
        const QString open = node.transactionSeconds > 0 ? tr(", its transaction open for %1").arg(formatSeconds(node.transactionSeconds)) : QString();
        // transactionSeconds is 0 outside a transaction (xact_start NULL): then there is nothing to roll back.
        const QString effect = node.transactionSeconds > 0
            ? tr("Its transaction is rolled back, so its changes are lost, and its client gets an error: its connection is closed.")
            : tr("Its client gets an error: its connection is closed.");
        question = tr("Terminate pid %1 (%2%3%4)?\n\n%5").arg(node.pid).arg(node.role, doing, open, effect) + waiting;
        if (runsAStatement(node.state))
            question += tr("\n\nCancelling its query is gentler; try that first.");
        break;
    }
    case BackendAction::Kind::RollbackPrepared: {
        if (node.preparedTransactions.isEmpty())
            return;
        verb = tr("rollback");
        // pid 0 stands for every prepared transaction: the operator picks the one to end.
        QStringList choices;
        for (const auto& p : node.preparedTransactions)
            choices << tr("%1 (owner %2, database %3, prepared %4 ago)").arg(p.gid, p.owner, p.database, formatSeconds(p.ageSeconds));
        bool ok = true;
        const QString picked = confirmed || choices.size() == 1 ? choices.first()
            : QInputDialog::getItem(this, tr("Prepared transaction"), tr("Which one?"), choices, 0, false, &ok);
        if (!ok)
            return;
        const auto& chosen = node.preparedTransactions.at(int(choices.indexOf(picked)));
        action.gid = chosen.gid;
        action.database = chosen.database;
        question = tr("Roll back prepared transaction \"%1\" in database %2? Its changes are lost; the "
                      "application that prepared it will not be able to commit it.")
                       .arg(action.gid, action.database)
            + waiting;
        break;
    }
    }
    if (!confirmed && QMessageBox::question(this, tr("Confirm"), question) != QMessageBox::Yes)
        return;
    if (!m_collector) { // removed while the question was open
        Q_EMIT message(false, tr("No server is shown: select one in the server list."));
        return;
    }
    Check check;
    check.action = action;
    check.verb = verb;
    check.waitersBefore = behind;
    m_checkDeadline->stop();
    check.when = QTime::currentTime().toString(QStringLiteral("HH:mm:ss"));
    m_check = check;
    setStatus(tr("Sent: %1 …").arg(action.describe()));
    m_collector->runAction(action);
}

void LocksPage::onActionFinished(const BackendAction& action, bool ok, const QString& text, const QDateTime& actedAt)
{
    const bool ours = m_check && !m_check->answered && m_check->action.kind == action.kind
        && m_check->action.pid == action.pid && m_check->action.gid == action.gid;
    if (!ours) { // run from elsewhere (a test, a script): its answer still counts
        Q_EMIT message(ok, text);
        return;
    }
    if (!ok) {
        // Nothing changed on the server (nothing to cancel, not allowed, gone already): no
        // samples to wait for.
        setStatus(text);
        if (!isVisible()) // the operator went to another page meanwhile
            Q_EMIT message(false, text);
        m_check.reset();
        return;
    }
    switch (action.kind) {
    case BackendAction::Kind::Cancel:
        Q_EMIT actionTaken(action.pid, tr("query cancelled from HTAP Studio"));
        break;
    case BackendAction::Kind::Terminate:
        Q_EMIT actionTaken(action.pid, tr("terminated from HTAP Studio"));
        break;
    case BackendAction::Kind::RollbackPrepared:
        Q_EMIT actionTaken(action.pid, tr("prepared transaction %1 rolled back from HTAP Studio").arg(action.gid));
        break;
    }
    m_check->answered = true;
    m_check->actedAt = actedAt;
    m_check->result = text;
    m_check->since.start();
    setStatus(tr("%1. Checking the next samples …").arg(text));
    m_checkDeadline->start();
}

void LocksPage::checkSample(const LockSample& locks, const QDateTime& sampledAt)
{
    Check& c = *m_check;
    // A sample read before the server acted shows the state the action was meant to change.
    if (!c.answered || (c.actedAt.isValid() && sampledAt < c.actedAt))
        return;
    ++c.samples;
    const double after = c.actedAt.isValid() ? std::max<qint64>(0, c.actedAt.msecsTo(sampledAt)) / 1000.0 : -1;
    const QString within = after >= 0 ? tr(" within %1").arg(formatSeconds(after)) : QString();
    const int pid = c.action.pid;
    const QString who = pid == 0 ? tr("the prepared transaction") : tr("pid %1").arg(pid);
    auto sessions = [this](qsizetype n) { return n == 1 ? tr("1 session") : tr("%1 sessions").arg(formatCount(n)); };
    QList<int> still; // of those that waited behind it, the ones waiting now
    for (int w : std::as_const(c.waitersBefore)) {
        const LockNode* n = locks.node(w);
        if (n && !n->blockedBy.isEmpty())
            still << w;
    }
    const qsizetype before = c.waitersBefore.size();
    c.stillBlocks = false;
    if (before == 0) {
        // It blocked no one (a waiter's query was cancelled): the question is whether it still waits.
        const LockNode* self = locks.node(pid);
        c.allWentOn = !(self && !self->blockedBy.isEmpty());
        c.reading = c.allWentOn ? tr("%1 no longer waits on a lock").arg(who) : tr("%1 still waits on a lock").arg(who);
    } else if (still.isEmpty()) {
        c.allWentOn = true;
        c.reading = before == 1 ? tr("The waiting session went on%1").arg(within)
                                : tr("The %1 waiting sessions went on%2").arg(formatCount(before), within);
    } else {
        c.allWentOn = false;
        const int blocking = locks.node(pid) ? locks.totalWaitersUnder(pid) : 0;
        c.stillBlocks = blocking > 0;
        const QString wentOn = still.size() < before
            ? tr(" (%1 of the %2 went on)").arg(formatCount(before - still.size()), formatCount(before))
            : QString();
        if (blocking > 0) {
            c.reading = tr("%1 still blocks %2%3").arg(who, sessions(blocking), wentOn);
        } else {
            // It let go, but those behind it now queue behind someone else (the next in line for
            // the same row keeps its lock until its own transaction ends).
            const auto byRoot = locks.waitersByRoot();
            QStringList now;
            for (int r : locks.roots)
                for (int w : std::as_const(still))
                    if (byRoot.value(r).contains(w)) {
                        now << (r == 0 ? tr("a prepared transaction") : tr("pid %1").arg(r));
                        break;
                    }
            const QString wait = still.size() == 1 ? tr("waits") : tr("wait");
            c.reading = tr("%1 of the %2 waiting sessions went on and %3 still %4")
                            .arg(formatCount(before - still.size()), formatCount(before), formatCount(still.size()),
                                now.isEmpty() ? wait : tr("%1, now behind %2").arg(wait, now.join(QStringLiteral(", "))));
        }
    }
    c.readingAfter = after;
    if (c.allWentOn)
        settleCheck();
    else
        setStatus(tr("%1. %2, %3; still checking …").arg(c.result, later(after), c.reading));
}

void LocksPage::settleCheck()
{
    m_checkDeadline->stop();
    if (!m_check)
        return;
    const Check c = *m_check;
    m_check.reset();
    QString text;
    if (c.samples == 0)
        text = tr("%1. No sample came in the %2 after the %3: whether the sessions behind it went on is not known.")
                   .arg(c.result, formatSeconds(c.since.elapsed() / 1000.0), c.verb);
    else if (c.allWentOn)
        text = tr("%1. %2.").arg(c.result, c.reading);
    else
        text = tr("%1. %2, %3.").arg(c.result, later(c.readingAfter), c.reading);
    setStatus(text, c.when);
    // An action after which the session still blocks did not end the episode: when it ends
    // later, the incident must not name this action as its end.
    if (c.stillBlocks)
        Q_EMIT actionTaken(c.action.pid, QString());
    // The status line says it on this page; the banner, when the operator has gone to another
    // page meanwhile.
    if (!isVisible())
        Q_EMIT message(c.allWentOn, text);
}

} // namespace htap::ui
