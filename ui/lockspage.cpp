#include "lockspage.h"

#include "blockingtreemodel.h"
#include "chartwidget.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QTreeView>
#include <QVBoxLayout>

namespace htap::ui {

using htap::monitor::BackendAction;

LocksPage::LocksPage(QWidget* parent)
    : MonitorPage(parent)
    , m_model(new BlockingTreeModel(this))
    , m_view(new QTreeView(this))
    , m_chart(new ChartWidget(tr("Sessions waiting on a lock"), tr("sessions"), this))
    , m_summary(new QLabel(tr("No session waits on a lock."), this))
    , m_cancel(new QPushButton(tr("Cancel query…"), this))
    , m_terminate(new QPushButton(tr("Terminate session…"), this))
    , m_rollback(new QPushButton(tr("Roll back prepared transaction…"), this))
{
    m_view->setObjectName(QStringLiteral("blockingTree"));
    m_summary->setWordWrap(true);
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
    topLayout->addWidget(m_view);
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(top);
    split->addWidget(m_chart);
    split->setSizes({400, 300});
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(split);

    m_cancel->setToolTip(tr("pg_cancel_backend: stops the running statement; the session stays"));
    m_terminate->setToolTip(tr("pg_terminate_backend: ends the session and rolls back its transaction"));
    connect(m_view->selectionModel(), &QItemSelectionModel::currentChanged, this, &LocksPage::updateButtons);
    connect(m_model, &QAbstractItemModel::modelReset, this, &LocksPage::updateButtons);
    connect(m_cancel, &QPushButton::clicked, this, [this] { act(BackendAction::Kind::Cancel); });
    connect(m_terminate, &QPushButton::clicked, this, [this] { act(BackendAction::Kind::Terminate); });
    connect(m_rollback, &QPushButton::clicked, this, [this] { act(BackendAction::Kind::RollbackPrepared); });
    updateButtons();
}

void LocksPage::setCollector(htap::monitor::ActivityCollector* collector)
{
    if (m_collector)
        disconnect(m_collector, nullptr, this, nullptr);
    m_collector = collector;
    if (m_collector)
        connect(m_collector, &htap::monitor::ActivityCollector::actionFinished, this,
            [this](const BackendAction&, bool ok, const QString& text) { Q_EMIT message(ok, text); });
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
        for (int r : s.locks->roots)
            roots << (r == 0 ? tr("prepared transaction") : tr("pid %1").arg(r)) + tr(" blocks %1").arg(s.locks->totalWaitersUnder(r));
        m_summary->setText(tr("%n session(s) waiting. Root blockers: ", nullptr, s.locks->waitingSessions) + roots.join(QStringLiteral("; ")));
    }
}

void LocksPage::addGap(const QDateTime& at)
{
    m_chart->addGap(at);
}

void LocksPage::clear()
{
    m_model->setSample({});
    m_chart->clear();
}

QList<ChartWidget*> LocksPage::charts() const
{
    return {m_chart};
}

void LocksPage::updateButtons()
{
    const auto node = m_model->node(m_view->currentIndex());
    const bool any = m_view->currentIndex().isValid();
    m_cancel->setEnabled(any && node.pid > 0);
    m_terminate->setEnabled(any && node.pid > 0);
    m_rollback->setEnabled(any && node.pid == 0 && !node.preparedTransactions.isEmpty());
}

void LocksPage::act(BackendAction::Kind kind)
{
    const auto node = m_model->node(m_view->currentIndex());
    BackendAction action;
    action.kind = kind;
    action.pid = node.pid;
    QString question;
    switch (kind) {
    case BackendAction::Kind::Cancel:
        question = tr("Cancel the running statement of pid %1 (%2)?\n\n%3").arg(node.pid).arg(node.role, node.query.left(300));
        break;
    case BackendAction::Kind::Terminate:
        question = tr("Terminate pid %1 (%2)? Its open transaction is rolled back and the client is disconnected.\n\n"
                      "Cancelling its query is gentler; try that first.")
                       .arg(node.pid)
                       .arg(node.role);
        break;
    case BackendAction::Kind::RollbackPrepared:
        if (node.preparedTransactions.isEmpty())
            return;
    {
        // pid 0 stands for every prepared transaction: the operator picks the one to end.
        QStringList choices;
        for (const auto& p : node.preparedTransactions)
            choices << tr("%1 (owner %2, database %3, prepared %4 s ago)").arg(p.gid, p.owner, p.database,
                QString::number(p.ageSeconds, 'f', 0));
        bool ok = false;
        const QString picked = choices.size() == 1 ? choices.first()
            : QInputDialog::getItem(this, tr("Prepared transaction"), tr("Which one?"), choices, 0, false, &ok);
        if (choices.size() > 1 && !ok)
            return;
        const auto& chosen = node.preparedTransactions.at(int(choices.indexOf(picked)));
        action.gid = chosen.gid;
        action.database = chosen.database;
    }
        question = tr("Roll back prepared transaction \"%1\" in database %2? Its changes are lost; the "
                      "application that prepared it will not be able to commit it.")
                       .arg(action.gid, action.database);
        break;
    }
    if (QMessageBox::question(this, tr("Confirm"), question) != QMessageBox::Yes)
        return;
    if (!m_collector) { // removed while the question was open
        Q_EMIT message(false, tr("No server is shown: select one in the server list."));
        return;
    }
    m_collector->runAction(action);
}

} // namespace htap::ui
