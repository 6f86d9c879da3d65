#include "viewspage.h"
#include "colours.h"

#include "chartwidget.h"
#include "snapshottablemodel.h"
#include "viewjobs.h"
#include "viewutil.h"

#include <monitor/activitycollector.h>

#include <QComboBox>
#include <QFrame>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTime>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;
using htap::mv::RefreshMode;

namespace htap::ui {

namespace {

/// Staleness is drawn on a log axis, which has no zero: a view fresher than this is drawn here.
constexpr double kStalenessFloor = 0.1;

QString scheduleText(const htap::mv::Schedule& s)
{
    const QString every = s.everySeconds % 3600 == 0 ? ViewsPage::tr("%1 h").arg(s.everySeconds / 3600)
        : s.everySeconds % 60 == 0                    ? ViewsPage::tr("%1 min").arg(s.everySeconds / 60)
                                                      : ViewsPage::tr("%1 s").arg(s.everySeconds);
    const QString by = s.runner == u"pg_cron"_s ? ViewsPage::tr("pg_cron") : ViewsPage::tr("by this app");
    const QString nice = s.nice > 0 ? ViewsPage::tr(", nice %1").arg(s.nice) : QString();
    if (s.adaptive())
        return ViewsPage::tr("adaptive, within %1 (%2%3)").arg(every, by, nice); // merges only
    return ViewsPage::tr("%1 every %2 (%3%4)").arg(htap::mv::modeName(s.mode), every, by, nice);
}

/// "0.12 s/s, ≈ 6 % of writers": the merges' wall time per second over the last minute and
/// the writers' CPU share it is estimated to take.
QString mergeLoadText(const htap::monitor::ViewState& v)
{
    if (!v.incremental)
        return {};
    if (v.mergesLastMinute == 0)
        return ViewsPage::tr("no merges");
    const QString load = ViewsPage::tr("%1 s/s").arg(QString::number(v.mergeSecondsPerSecond, 'f', v.mergeSecondsPerSecond < 0.1 ? 3 : 2));
    return v.writersShareLost < 0 ? load : ViewsPage::tr("%1, ≈ %2 % of writers").arg(load, QString::number(100 * v.writersShareLost, 'f', 1));
}

} // namespace

ViewsPage::ViewsPage(QWidget* parent)
    : MonitorPage(parent)
    , m_noJobs(new ViewJobs(this))
    , m_jobs(m_noJobs)
    , m_model(new SnapshotTableModel({tr("view"), tr("mode"), tr("now"), tr("staleness"), tr("merge load (1 min)"), tr("schedule"), tr("pending changes"),
                                         tr("last refresh"), tr("took"), tr("size"), tr("CONCURRENTLY"), tr("base tables")},
          this))
    , m_note(new QLabel(this))
    , m_status(new QLabel(this))
    , m_chart(new ChartWidget(tr("Staleness (materialized: since the last refresh started; incremental: oldest unmerged change; "
                                 "log scale, fresher than %1 drawn at %1)")
                                  .arg(formatSeconds(kStalenessFloor)),
          tr("seconds"), this))
    , m_durations(new ChartWidget(tr("Refresh and merge durations (refresh log)"), tr("seconds"), this))
    , m_log(new QTableWidget(0, 7, this))
    , m_waitBar(new QFrame(this))
    , m_waitText(new QLabel(m_waitBar))
    , m_waitCancel(new QPushButton(tr("Cancel its statement"), m_waitBar))
    , m_waitTerminate(new QPushButton(tr("Terminate its session…"), m_waitBar))
    , m_waitStop(new QPushButton(tr("Stop waiting"), m_waitBar))
{
    // A plain view hours old and an incremental one a second behind on one chart: a linear
    // axis drew the incremental ones flat on zero.
    m_chart->setLogarithmic(true);
    m_chart->addThreshold(5, tr("seed target: fresh within 5 s"), QColor(0x2c, 0xa0, 0x2c));
    m_durations->setPointsOnly(true);
    m_durations->setLogarithmic(true);
    m_note->setWordWrap(true);
    m_status->setWordWrap(true);
    m_status->setObjectName(u"viewsStatus"_s);
    m_table = makeSnapshotTableView(m_model, this);
    m_table->setObjectName(u"viewsTable"_s);

    struct ButtonSpec {
        const char* name;
        QString text;
        QString tip;
    };
    const QList<ButtonSpec> specs {
        {"refresh", tr("Refresh…"), tr("REFRESH MATERIALIZED VIEW: rebuilds it; takes ACCESS EXCLUSIVE, so readers wait")},
        {"concurrent", tr("Refresh concurrently"), tr("REFRESH ... CONCURRENTLY: readers go on; slower, needs a unique index")},
        {"merge", tr("Merge now"), tr("Folds the captured changes into an incremental view (cost follows the changes)")},
        {"rebuild", tr("Rebuild…"), tr("Recomputes an incremental view from its base tables; readers go on")},
        {"cancel", tr("Cancel"), tr("Cancels the running refresh, merge or rebuild (nothing is lost: a cancelled merge leaves its changes pending)")},
        {"incremental", tr("Make incremental…"), QString()},
        {"schedule", tr("Schedule…"), tr("Refresh or merge this view every N seconds or minutes")},
        {"capture", tr("Capture in C…"), QString()},
    };
    auto* actions = new QHBoxLayout;
    for (const ButtonSpec& spec : specs) {
        auto* b = new QPushButton(spec.text, this);
        b->setObjectName(QString::fromLatin1(spec.name));
        b->setToolTip(spec.tip);
        m_buttons.insert(QString::fromLatin1(spec.name), b);
        actions->addWidget(b);
        const QString name = QString::fromLatin1(spec.name);
        connect(b, &QPushButton::clicked, this, [this, name] { act(name, false); });
    }
    actions->addStretch(1);

    m_log->setObjectName(u"refreshLog"_s);
    m_log->setHorizontalHeaderLabels({tr("started"), tr("view"), tr("mode"), tr("outcome"), tr("took"), tr("rows"), tr("message")});
    m_log->horizontalHeader()->setStretchLastSection(true);
    m_log->verticalHeader()->setVisible(false);
    m_log->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_log->setSelectionBehavior(QAbstractItemView::SelectRows);
    auto* logSplit = new QSplitter(Qt::Horizontal, this);
    logSplit->addWidget(m_log);
    logSplit->addWidget(m_durations);
    logSplit->setSizes({500, 500});
    auto* tabs = new QTabWidget(this);
    tabs->addTab(m_chart, tr("Staleness"));
    tabs->addTab(logSplit, tr("Refresh log"));

    m_waitBar->setObjectName(u"viewsLockWait"_s);
    m_waitBar->setAutoFillBackground(true);
    {
        QPalette p = m_waitBar->palette();
        p.setColor(QPalette::Window, colours::rowBackground(colours::Tone::Warn, p));
        m_waitBar->setPalette(p);
        auto* row = new QHBoxLayout(m_waitBar);
        row->setContentsMargins(8, 4, 8, 4);
        m_waitText->setObjectName(u"viewsLockWaitText"_s);
        m_waitText->setWordWrap(true);
        m_waitText->setTextFormat(Qt::PlainText);
        row->addWidget(m_waitText, 1);
        m_waitCancel->setObjectName(u"waitCancelBlocker"_s);
        m_waitTerminate->setObjectName(u"waitTerminateBlocker"_s);
        m_waitStop->setObjectName(u"waitStop"_s);
        m_waitCancel->setToolTip(tr("Cancels the statement the blocking session runs; its transaction ends in an error"));
        m_waitTerminate->setToolTip(tr("Ends the blocking session: its open transaction is rolled back"));
        m_waitStop->setToolTip(tr("Cancels this action; the view stays as it was"));
        for (QPushButton* b : {m_waitCancel, m_waitTerminate, m_waitStop})
            row->addWidget(b);
    }
    m_waitBar->hide();
    connect(m_waitCancel, &QPushButton::clicked, this, [this] { actOnBlocker(htap::monitor::BackendAction::Kind::Cancel); });
    connect(m_waitTerminate, &QPushButton::clicked, this, [this] { actOnBlocker(htap::monitor::BackendAction::Kind::Terminate); });
    connect(m_waitStop, &QPushButton::clicked, this, [this] {
        if (!m_waitView.isEmpty())
            m_jobs->cancel(m_waitView);
    });

    auto* top = new QWidget(this);
    auto* topLayout = new QVBoxLayout(top);
    topLayout->setContentsMargins(0, 0, 0, 0);
    topLayout->addWidget(m_note);
    topLayout->addLayout(actions);
    topLayout->addWidget(m_status);
    topLayout->addWidget(m_waitBar);
    topLayout->addWidget(m_table, 1);
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(top);
    split->addWidget(tabs);
    split->setSizes({330, 300});
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(split);

    connect(m_table->selectionModel(), &QItemSelectionModel::currentChanged, this, &ViewsPage::updateButtons);
    connect(m_model, &QAbstractItemModel::modelReset, this, &ViewsPage::updateButtons);
    setServer(nullptr, nullptr);
}

void ViewsPage::setServer(htap::monitor::ActivityCollector* collector, ViewJobs* jobs)
{
    if (m_collector)
        disconnect(m_collector, nullptr, this, nullptr);
    disconnect(m_jobs, nullptr, this, nullptr);
    m_collector = collector;
    m_jobs = jobs ? jobs : m_noJobs;
    if (m_collector)
        connect(m_collector, &htap::monitor::ActivityCollector::stateChanged, this, &ViewsPage::updateButtons);
    connect(m_jobs, &ViewJobs::jobStarted, this, [this](const QString& view, const QString& what) {
        m_status->setText(tr("%1: %2 started at %3…").arg(view, what, QTime::currentTime().toString(u"HH:mm:ss"_s)));
        m_lastBlocker.remove(view);
        rebuildRows();
    });
    connect(m_jobs, &ViewJobs::jobFinished, this,
        [this](const QString& view, const QString& what, bool ok, const QString& text, double seconds) {
            QString why = text;
            if (!ok && (text.contains(u"lock timeout"_s) || text.contains(u"55P03"_s)))
                // The server's words name no one; the samples saw who held the lock.
                why = m_lastBlocker.contains(view)
                    ? tr("it could not get its lock in time (%1); held by %2").arg(formatSeconds(seconds), m_lastBlocker.value(view))
                    : tr("it could not get its lock in time (%1): another session held it; the Locks page shows who")
                          .arg(formatSeconds(seconds));
            const QString line = ok ? tr("%1: %2 done in %3%4").arg(view, what, formatSeconds(seconds), text.isEmpty() ? QString() : u"; "_s + text)
                                    : tr("%1: %2 failed: %3").arg(view, what, why);
            m_status->setText(line);
            // One place per message: the banner only when the page is not in sight.
            if (!isVisible())
                Q_EMIT message(ok, line);
            if (view == m_waitView) {
                m_waitView.clear();
                m_waitBar->hide();
            }
            rebuildRows();
            m_jobs->fetchLog();
            if (m_collector) // its row now, not at the next slow sample (up to 10 s)
                m_collector->sampleEverythingNext();
        });
    connect(m_jobs, &ViewJobs::schedulesAvailable, this, [this] { rebuildRows(); });
    connect(m_jobs, &ViewJobs::logAvailable, this, &ViewsPage::showLog);
    m_jobs->fetchLog();
    updateButtons();
}

QList<ChartWidget*> ViewsPage::charts() const
{
    return {m_chart, m_durations};
}

QPushButton* ViewsPage::button(const QString& objectName) const
{
    return m_buttons.value(objectName);
}

const htap::monitor::ViewState* ViewsPage::viewState(const QString& label) const
{
    for (const auto& v : m_views)
        if (v.view == label)
            return &v;
    return nullptr;
}

QString ViewsPage::currentView() const
{
    // The table sorts through a proxy: its rows are not the model's.
    const QModelIndex i = m_table->currentIndex();
    return i.isValid() ? i.siblingAtColumn(0).data(SnapshotTableModel::KeyRole).toString() : QString();
}

void ViewsPage::selectView(const QString& label)
{
    const int r = m_model->rowOf(label);
    auto* proxy = qobject_cast<QSortFilterProxyModel*>(m_table->model());
    if (r >= 0 && proxy)
        m_table->setCurrentIndex(proxy->mapFromSource(m_model->index(r, 0)));
}

QString ViewsPage::lockWaitText() const
{
    return m_waitBar->isVisible() || !m_waitView.isEmpty() ? m_waitText->text() : QString();
}

void ViewsPage::showLockWait(const htap::monitor::LockSample& locks)
{
    m_waitView.clear();
    m_blockerPid = 0;
    for (const QString& view : m_jobs->runningViews()) {
        const int pid = m_jobs->backendPid(view);
        const htap::monitor::LockNode* waiter = pid ? locks.node(pid) : nullptr;
        if (!waiter || waiter->blockedBy.isEmpty())
            continue;
        // The first blocker that is not itself waiting is the one to act on; else the first.
        const htap::monitor::LockNode* blocker = locks.node(waiter->blockedBy.first());
        for (int b : waiter->blockedBy)
            if (const htap::monitor::LockNode* n = locks.node(b); n && n->blockedBy.isEmpty()) {
                blocker = n;
                break;
            }
        if (!blocker)
            continue;
        QString query = blocker->query.simplified();
        if (query.size() > 120)
            query = query.left(117) + u"…"_s;
        const QString who = tr("pid %1 (%2, %3, transaction open %4%5)")
                                .arg(blocker->pid)
                                .arg(blocker->role.isEmpty() ? tr("unknown role") : blocker->role, blocker->state,
                                    formatSeconds(blocker->transactionSeconds),
                                    query.isEmpty() ? QString() : tr(": %1").arg(query));
        m_lastBlocker.insert(view, who);
        m_waitView = view;
        m_blockerPid = blocker->pid;
        const QString others = waiter->blockedBy.size() > 1 ? tr(" and %n other(s)", nullptr, int(waiter->blockedBy.size() - 1)) : QString();
        m_waitText->setText(tr("%1: %2 waits %3 for a %4 lock on %5, held by %6%7. Writers that come after wait behind it.")
                                .arg(view, m_jobs->runningWhat(view), formatSeconds(waiter->waitSeconds), waiter->lockMode,
                                    waiter->lockTarget.isEmpty() ? tr("a table") : waiter->lockTarget, who, others));
        // Cancel helps only a session running a statement; an idle transaction needs terminate.
        m_waitCancel->setEnabled(blocker->state == u"active"_s);
        m_waitCancel->setToolTip(blocker->state == u"active"_s
                ? tr("Cancels the statement the blocking session runs; its transaction ends in an error")
                : tr("It runs no statement (%1): cancel cannot help, terminate or stop waiting").arg(blocker->state));
        break;
    }
    m_waitBar->setVisible(!m_waitView.isEmpty());
}

void ViewsPage::actOnBlocker(htap::monitor::BackendAction::Kind kind)
{
    if (!m_collector || m_blockerPid <= 0)
        return;
    const int pid = m_blockerPid;
    if (kind == htap::monitor::BackendAction::Kind::Terminate
        && QMessageBox::question(this, tr("Terminate session?"),
               tr("Terminate pid %1? Its open transaction is rolled back and its client gets an error.").arg(pid))
            != QMessageBox::Yes)
        return;
    htap::monitor::BackendAction action;
    action.kind = kind;
    action.pid = pid;
    m_collector->runAction(action); // its answer comes in the banner (MainWindow) and the Locks page
}

void ViewsPage::addSample(const htap::monitor::ServerSample& s)
{
    if (s.locks)
        showLockWait(*s.locks);
    if (!s.views) {
        addPastSample(s); // the charts' window follows every sample
        return;
    }
    m_views = s.views->views;
    m_sampledAt = s.sampledAt;
    rebuildRows();
    addPastSample(s);
    m_jobs->fetchLog();
    if (!s.views->registryInstalled)
        m_note->setText(tr("This database has no refresh registry (schema htap), so staleness is unknown: PostgreSQL "
                           "does not record when a view was refreshed. Refreshes run from HTAP Studio create and fill it."));
    else if (s.views->views.isEmpty())
        m_note->setText(tr("No materialized views in this database."));
    else
        m_note->setText(tr("A plain refresh blocks readers; CONCURRENTLY does not but recomputes everything; an incremental "
                           "view captures changes in the writers' transactions and merges only those."));
}

void ViewsPage::rebuildRows()
{
    QHash<QString, htap::mv::Schedule> schedules;
    for (const htap::mv::Schedule& sch : m_jobs->schedules())
        schedules.insert(sch.view, sch);
    QList<SnapshotTableModel::Row> rows;
    for (const auto& v : std::as_const(m_views)) {
        SnapshotTableModel::Row r;
        r.key = v.view;
        const bool needsRebuild = v.incremental && v.ivmState == u"needs_rebuild"_s;
        const QString mode = !v.incremental ? tr("materialized")
            : needsRebuild                  ? tr("incremental: NEEDS REBUILD")
            : v.ivmState == u"building"_s    ? tr("incremental (building)")
            : v.engineOutdated             ? tr("incremental (older engine)")
            : v.captureMode == u"c"_s       ? tr("incremental (C capture)")
                                            : tr("incremental");
        const QString pending = v.incremental
            ? (v.pendingRows ? tr("%1 (oldest %2)").arg(v.pendingRows).arg(formatSeconds(v.oldestPendingSeconds)) : tr("none"))
            : QString();
        QString now = m_jobs->runningText(v.view);
        if (now.isEmpty() && v.refreshingPid)
            now = tr("refreshing (pid %1)").arg(v.refreshingPid);
        const auto sch = schedules.constFind(v.view);
        // What a DBA weighs freshness against comes first: at 1024 px the table shows the merge
        // load and the start of the schedule without scrolling.
        r.display = {v.view, mode, now, formatSeconds(v.stalenessSeconds), mergeLoadText(v),
            sch != schedules.cend() ? scheduleText(*sch) : QString(), pending, formatAgo(v.lastRefreshEnd, m_sampledAt),
            v.registryKnown ? formatSeconds(v.lastDurationSeconds) : QString(), formatBytes(v.totalBytes),
            v.incremental ? tr("not needed") : (v.concurrentBlocker.isEmpty() ? tr("possible") : tr("no: %1").arg(v.concurrentBlocker)),
            v.baseTables};
        r.sort = {v.view, mode, now, v.stalenessSeconds, v.mergeSecondsPerSecond, sch != schedules.cend() ? sch->everySeconds : 0,
            v.pendingRows, v.lastRefreshEnd.isValid() ? v.lastRefreshEnd.toSecsSinceEpoch() : 0, v.lastDurationSeconds, v.totalBytes,
            v.concurrentBlocker, v.baseTables};
        if (needsRebuild)
            r.toolTip = v.ivmReason;
        else if (v.incremental)
            r.toolTip = tr("Capture: %1, in the writers' transactions%2. Merge load: the merges' wall time per second over the "
                           "last minute, from the refresh log (an upper bound of their CPU: it includes I/O, and waiting for the "
                           "CPU when they run at lower priority); the writers' share is that over the server's cores, when the "
                           "server runs on this machine (merges and writers all busy on the CPU, sharing it evenly).")
                            .arg(v.captureMode == u"c"_s ? tr("row triggers in C (htap_capture)") : tr("PL/pgSQL statement triggers"),
                                v.captureSharedWith.isEmpty()
                                    ? QString()
                                    : tr(", shared with %1: one trigger call per writer statement for all of them, and the "
                                         "triggers stay while one of them captures")
                                          .arg(v.captureSharedWith.join(u", "_s)));
        else if (v.engineOutdated)
            r.toolTip = tr("Its engine was generated by an older HTAP Studio and lacks later fixes: "
                           "disable incremental maintenance and enable it again to regenerate it.");
        // Row colours say why in their tooltip. Late is against the view's freshness target
        // (its own, its schedule's, incremental views' default), as the Overview judges it: a
        // plain view refreshed by hand has none and is never red for its age.
        QString targetFrom;
        const double target = m_targets.viewSeconds(v, v.scheduleSeconds, &targetFrom);
        const bool late = target > 0 && v.stalenessSeconds > target;
        if (needsRebuild || !v.populated || late) {
            r.tone = colours::Tone::Bad;
            if (r.toolTip.isEmpty())
                r.toolTip = !v.populated ? tr("Red: never populated (WITH NO DATA): readers get an error until a refresh")
                                         : tr("Red: its data is %1 old, past %2 (%3); refresh it, merge it or schedule it")
                                               .arg(formatSeconds(v.stalenessSeconds), formatSeconds(target), targetFrom);
        } else if (v.engineOutdated) {
            r.tone = colours::Tone::Warn;
        }
        rows.append(r);
    }
    const QString keep = currentView();
    m_model->setRows(rows);
    if (!keep.isEmpty())
        selectView(keep);
    else if (!rows.isEmpty())
        m_table->setCurrentIndex(m_table->model()->index(0, 0));
    updateButtons();
}

void ViewsPage::updateButtons()
{
    const QString label = currentView();
    const htap::monitor::ViewState* v = viewState(label);
    const bool connected = m_collector
        && (m_collector->state() == htap::monitor::ConnectionState::Connected
            || m_collector->state() == htap::monitor::ConnectionState::NotResponding);
    // A scheduled merge in flight does not grey the buttons out: what is clicked runs after it.
    const bool running = v && (m_jobs->isBusy(label) || (v->refreshingPid && !m_jobs->isRunning(label)));
    const bool ready = connected && v && !running;
    const bool incremental = v && v->incremental;
    auto set = [this](const QString& name, bool on, const QString& whyNot = {}) {
        QPushButton* b = m_buttons.value(name);
        b->setEnabled(on);
        if (!whyNot.isEmpty() && !on)
            b->setToolTip(whyNot);
    };
    set(u"refresh"_s, ready && !incremental, incremental ? tr("An incremental view is merged or rebuilt, not refreshed") : QString());
    const QString concurrentWhy = !v ? QString() : incremental ? tr("An incremental view needs no REFRESH: merge it")
        : !v->concurrentBlocker.isEmpty()                    ? tr("Not possible: %1").arg(v->concurrentBlocker)
                                                             : QString();
    m_buttons.value(u"concurrent"_s)->setToolTip(concurrentWhy.isEmpty()
            ? tr("REFRESH ... CONCURRENTLY: readers go on; slower, needs a unique index")
            : concurrentWhy);
    set(u"concurrent"_s, ready && !incremental && v->concurrentBlocker.isEmpty());
    set(u"merge"_s, ready && incremental);
    set(u"rebuild"_s, ready && incremental);
    set(u"cancel"_s, connected && v && m_jobs->isRunning(label));
    QPushButton* inc = m_buttons.value(u"incremental"_s);
    inc->setText(incremental ? tr("Back to materialized…") : tr("Make incremental…"));
    inc->setToolTip(incremental ? tr("Drops the engine's triggers and state; the view becomes a materialized view again (built once)")
                                : tr("Capture changes with triggers and merge them: fresh within seconds, readers never blocked"));
    set(u"incremental"_s, ready);
    set(u"schedule"_s, ready);
    QPushButton* capture = m_buttons.value(u"capture"_s);
    const bool inC = incremental && v->captureMode == u"c"_s;
    capture->setText(inC ? tr("Capture in SQL…") : tr("Capture in C…"));
    capture->setToolTip(!incremental ? tr("Only an incremental view captures changes")
            : inC ? tr("Back to the PL/pgSQL statement triggers, which need no server extension")
                  : tr("Capture this view's changes with the htap_capture extension's row triggers in C: the same rows, "
                       "at less cost to the writers (needs the extension on the server)"));
    set(u"capture"_s, ready && incremental);
}

void ViewsPage::runAction(const QString& buttonName, bool confirmed)
{
    act(buttonName, confirmed);
}

void ViewsPage::act(const QString& name, bool confirmed)
{
    const QString label = currentView();
    const htap::monitor::ViewState* v = viewState(label);
    if (!v)
        return;
    if (name == u"cancel"_s) {
        m_jobs->cancel(label);
        m_status->setText(tr("%1: cancel requested").arg(label));
        return;
    }
    if (name == u"schedule"_s) {
        editSchedule();
        return;
    }
    ViewJobs::Job job;
    job.view = label;
    QString question;
    if (name == u"refresh"_s) {
        job.mode = RefreshMode::Plain;
        question = tr("A plain refresh of %1 takes an ACCESS EXCLUSIVE lock: every query that reads the view waits until "
                      "it ends%2. If readers hold the view, it gives up after 5 s rather than queue them all.\n\n"
                      "Refresh CONCURRENTLY does not block readers%3.\n\nRefresh %1 now?")
                       .arg(label,
                           v->registryKnown && v->lastMode == u"plain"_s ? tr(" (the last one took %1)").arg(formatSeconds(v->lastDurationSeconds))
                                                                       : QString(),
                           v->concurrentBlocker.isEmpty() ? QString() : tr(", but is not possible here: %1").arg(v->concurrentBlocker));
    } else if (name == u"concurrent"_s) {
        job.mode = RefreshMode::Concurrent;
    } else if (name == u"merge"_s) {
        job.mode = RefreshMode::Incremental;
    } else if (name == u"rebuild"_s) {
        job.mode = RefreshMode::Rebuild;
        question = tr("Rebuild %1 from its base tables? It takes about as long as a full refresh; readers keep reading the "
                      "current state meanwhile, and changes made during the rebuild are merged afterwards.")
                       .arg(label);
    } else if (name == u"capture"_s) {
        if (!v->incremental)
            return;
        job.kind = ViewJobs::Kind::SetCaptureMode;
        job.captureMode = v->captureMode == u"c"_s ? u"sql"_s : u"c"_s;
        question = job.captureMode == u"c"_s
            ? tr("Capture the changes of %1 with row triggers in C (the htap_capture server extension)?\n\n"
                 "- The same changes are captured, in the writers' transactions, at less CPU per row: measured on the seed's "
                 "order transaction, most of what capture costs order entry.\n"
                 "- The extension is created in this database if the server has it (that needs a superuser).\n"
                 "- The switch waits up to 2 s for each base table's writers; nothing is lost or captured twice.")
                  .arg(label)
            : tr("Capture the changes of %1 with the PL/pgSQL statement triggers again? They need no server extension, "
                 "and cost the writers more CPU per statement.")
                  .arg(label);
    } else if (name == u"incremental"_s) {
        if (v->incremental) {
            job.kind = ViewJobs::Kind::DisableIncremental;
            question = tr("Make %1 a materialized view again? It is built once now (like a full refresh), then the "
                          "capture triggers and the engine's state are removed. Merge schedules of it are dropped.")
                           .arg(label);
        } else {
            job.kind = ViewJobs::Kind::EnableIncremental;
            question = tr("Maintain %1 incrementally?\n\n"
                          "- Capture triggers are added to its base tables (%2): each writing statement also records its "
                          "changes, in the same transaction (measured: a few per cent of order throughput).\n"
                          "- The state is built once now, then %1 becomes a view of the same name, columns, indexes and "
                          "grants over it.\n- Merges fold in the captured changes; schedule them every few seconds.\n\n"
                          "Views the engine cannot maintain are refused with the reason, and nothing changes.")
                           .arg(label, v->baseTables);
        }
    } else {
        return;
    }
    if (!confirmed && !question.isEmpty() && QMessageBox::question(this, tr("Confirm"), question) != QMessageBox::Yes)
        return;
    if (!m_jobs->start(job))
        m_status->setText(tr("%1: something runs on it already").arg(label));
}

void ViewsPage::editSchedule()
{
    const QString label = currentView();
    const htap::monitor::ViewState* v = viewState(label);
    if (!v)
        return;
    htap::mv::Schedule current;
    bool has = false;
    for (const htap::mv::Schedule& s : m_jobs->schedules())
        if (s.view == label) {
            current = s;
            has = true;
        }
    QDialog dialog(this);
    dialog.setWindowTitle(tr("Schedule for %1").arg(label));
    auto* form = new QFormLayout(&dialog);
    auto* mode = new QComboBox(&dialog);
    if (v->incremental) {
        mode->addItem(tr("merge"), u"incremental"_s);
    } else {
        if (v->concurrentBlocker.isEmpty())
            mode->addItem(tr("refresh concurrently"), u"concurrent"_s);
        mode->addItem(tr("refresh (blocks readers)"), u"plain"_s);
    }
    auto* every = new QSpinBox(&dialog);
    every->setRange(1, 10080);
    auto* unit = new QComboBox(&dialog);
    unit->addItem(tr("seconds"), 1);
    unit->addItem(tr("minutes"), 60);
    auto* runner = new QComboBox(&dialog);
    runner->addItem(tr("HTAP Studio, while it is connected"), u"app"_s);
    runner->addItem(tr("pg_cron on the server"), u"pg_cron"_s);
    // Merges only: an adaptive cadence (every = the freshness target) and a lower CPU priority.
    auto* cadence = new QComboBox(&dialog);
    cadence->setObjectName(u"scheduleCadence"_s);
    cadence->addItem(tr("on a fixed clock"), u"fixed"_s);
    cadence->addItem(tr("adaptive: when the freshness target needs it"), u"adaptive"_s);
    auto* nice = new QSpinBox(&dialog);
    nice->setObjectName(u"scheduleNice"_s);
    nice->setRange(0, 19);
    nice->setSpecialValueText(tr("normal"));
    nice->setToolTip(tr("Runs the merges at this lower CPU priority (nice, prioritize extension) so that writers win the CPU"));
    if (has) {
        mode->setCurrentIndex(std::max(0, mode->findData(htap::mv::modeName(current.mode))));
        const bool minutes = current.everySeconds % 60 == 0;
        unit->setCurrentIndex(minutes ? 1 : 0);
        every->setValue(minutes ? current.everySeconds / 60 : current.everySeconds);
        runner->setCurrentIndex(std::max(0, runner->findData(current.runner)));
        cadence->setCurrentIndex(current.adaptive() ? 1 : 0);
        nice->setValue(current.nice);
    } else {
        every->setValue(v->incremental ? 1 : 5);
        unit->setCurrentIndex(v->incremental ? 0 : 1);
    }
    auto* everyRow = new QHBoxLayout;
    everyRow->addWidget(every);
    everyRow->addWidget(unit);
    form->addRow(tr("Action"), mode);
    form->addRow(v->incremental ? tr("Every (adaptive: within)") : tr("Every"), everyRow);
    form->addRow(tr("Run by"), runner);
    if (v->incremental) {
        form->addRow(tr("Cadence"), cadence);
        form->addRow(tr("CPU priority"), nice);
        const auto follow = [=] {
            const bool app = runner->currentData().toString() == u"app"_s;
            cadence->setEnabled(app);
            nice->setEnabled(app);
        };
        connect(runner, &QComboBox::currentIndexChanged, &dialog, follow);
        follow();
    }
    auto* hint = new QLabel(tr("pg_cron needs the extension in this database; before pg_cron 1.5 it schedules by the minute."), &dialog);
    hint->setWordWrap(true);
    form->addRow(hint);
    auto* box = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, &dialog);
    QPushButton* remove = has ? box->addButton(tr("Remove schedule"), QDialogButtonBox::DestructiveRole) : nullptr;
    form->addRow(box);
    bool removeIt = false;
    connect(box, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    connect(box, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    if (remove)
        connect(remove, &QPushButton::clicked, &dialog, [&] {
            removeIt = true;
            dialog.accept();
        });
    if (dialog.exec() != QDialog::Accepted)
        return;
    ViewJobs::Job job;
    job.view = label;
    if (removeIt) {
        job.kind = ViewJobs::Kind::ClearSchedule;
    } else {
        job.kind = ViewJobs::Kind::SetSchedule;
        htap::mv::parseMode(mode->currentData().toString(), &job.mode);
        job.everySeconds = every->value() * unit->currentData().toInt();
        job.runner = runner->currentData().toString();
        if (v->incremental && job.runner == u"app"_s) {
            job.merge.adaptive = cadence->currentData().toString() == u"adaptive"_s;
            job.merge.nice = nice->value();
        }
    }
    m_jobs->start(job);
}

void ViewsPage::showLog(const QList<htap::mv::RefreshLogEntry>& entries)
{
    m_log->setRowCount(int(std::min<qsizetype>(entries.size(), 200)));
    for (int i = 0; i < m_log->rowCount(); ++i) {
        const auto& e = entries[i];
        const QStringList cells {e.started.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s), e.view, e.mode, e.outcome,
            e.seconds() >= 0 ? formatSeconds(e.seconds()) : QString(), e.rows >= 0 ? QString::number(e.rows) : QString(),
            e.sqlstate.isEmpty() ? e.message : e.sqlstate + u": "_s + e.message};
        for (int c = 0; c < cells.size(); ++c) {
            auto* item = new QTableWidgetItem(cells[c]);
            if (e.outcome == u"failed"_s || e.outcome == u"cancelled"_s)
                item->setBackground(colours::rowBackground(colours::Tone::Bad, palette()));
            m_log->setItem(i, c, item);
        }
    }
    m_log->resizeColumnsToContents();
    // Durations: one series per view, a dot per successful refresh or merge.
    m_durations->clear(); // the data; series stay, one per view
    for (auto it = entries.crbegin(); it != entries.crend(); ++it) {
        if (it->outcome != u"ok"_s || it->seconds() < 0)
            continue;
        const QString key = it->view;
        if (!m_durationSeries.contains(key)) {
            if (m_durationSeries.size() >= 8)
                continue;
            m_durationSeries.insert(key, m_durations->addSeries(key, ChartWidget::seriesColor(int(m_durationSeries.size()))));
        }
        m_durations->addPoint(m_durationSeries.value(key), it->started.toLocalTime(), std::max(0.0005, it->seconds()));
    }
    if (m_now.isValid())
        m_durations->advanceTo(m_now);
}

void ViewsPage::addPastSample(const htap::monitor::ServerSample& s)
{
    // Both charts end where the other pages' do, at the newest sample: views are sampled every
    // 10th second and refreshes are events, and neither should set the window's end.
    m_now = std::max(m_now, s.sampledAt);
    m_chart->advanceTo(s.sampledAt);
    m_durations->advanceTo(s.sampledAt);
    if (!s.views)
        return;
    for (const auto& v : s.views->views) {
        if (v.stalenessSeconds < 0)
            continue;
        // At most eight lines: a chart with more says nothing (the table has them all).
        if (!m_series.contains(v.view) && m_series.size() < 8)
            m_series.insert(v.view, m_chart->addSeries(v.view, ChartWidget::seriesColor(int(m_series.size()))));
        if (m_series.contains(v.view))
            m_chart->addPoint(m_series.value(v.view), s.sampledAt, std::max(kStalenessFloor, v.stalenessSeconds));
    }
}

void ViewsPage::addGap(const QDateTime& at)
{
    m_chart->addGap(at);
}

void ViewsPage::setTargets(const htap::monitor::Targets& targets)
{
    m_targets = targets;
    rebuildRows();
}

void ViewsPage::clear()
{
    m_views.clear();
    m_model->setRows({});
    m_chart->clear();
    m_durations->clear();
    m_now = {};
    m_log->setRowCount(0);
    m_status->clear();
}

} // namespace htap::ui
