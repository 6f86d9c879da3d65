#include "mainwindow.h"

#include "activitypage.h"
#include "banner.h"
#include "colours.h"
#include "chartwidget.h"
#include "latencypage.h"
#include "lockspage.h"
#include "monitoredserver.h"
#include "overviewpage.h"
#include "passwordvault.h"
#include "rolespage.h"
#include "routerpage.h"
#include "advisorpage.h"
#include "scenariospage.h"
#include "replicationpage.h"
#include "vacuumpage.h"
#include "viewjobs.h"
#include "viewspage.h"
#include "connectdialog.h"
#include "settings.h"
#include "targetsdialog.h"
#include "incidentfeed.h"
#include "incidentspage.h"

#include <core/format.h>
#include "snapshotdialogs.h"

#include <monitor/samplejson.h>
#include <pg/sandbox.h>
#include <store/historyfile.h>
#include <store/historystore.h>

#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDateTimeEdit>
#include <QPushButton>
#include <QFileDialog>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLineEdit>
#include <QToolBar>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QActionGroup>
#include <QMenu>
#include <QMessageBox>
#include <QPainter>
#include <QPointer>
#include <QToolButton>
#include <QScrollArea>
#include <QStackedWidget>
#include <QTableWidget>
#include <QHeaderView>
#include <QStatusBar>
#include <QVBoxLayout>
#include <QtConcurrent>

namespace htap::ui {

using namespace Qt::StringLiterals;
using htap::monitor::ConnectionState;

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent)
    , m_serverList(new QListWidget(this))
    , m_banner(new Banner(this))
    , m_vault(new PasswordVault(this))
    , m_pageList(new QListWidget(this))
    , m_pages(new QStackedWidget(this))
    , m_overview(new OverviewPage(this))
    , m_incidents(new IncidentsPage(this))
    , m_latency(new LatencyPage(this))
    , m_activity(new ActivityPage(this))
    , m_locks(new LocksPage(this))
    , m_vacuum(new VacuumPage(this))
    , m_replication(new ReplicationPage(this))
    , m_views(new ViewsPage(this))
    , m_scenarios(new ScenariosPage(this))
    , m_roles(new RolesPage(this))
    , m_router(new RouterPage(this))
    , m_advisor(new AdvisorPage(this))
    , m_history(new htap::store::HistoryStore(this))
    , m_stateDot(new QLabel(this))
    , m_stateLabel(new QLabel(this))
    , m_serversSummary(new QLabel(this))
{
    setObjectName(u"MainWindow"_s);
    setWindowTitle(tr("HTAP Studio"));
    setWindowIcon(QIcon(u":/icons/org.htapstudio.HtapStudio.svg"_s));

    m_pageList->setObjectName(u"pageList"_s);
    m_pageList->setFixedWidth(190);
    m_pageList->setFrameShape(QFrame::NoFrame);
    for (MonitorPage* page : std::initializer_list<MonitorPage*> {m_overview, m_incidents, m_latency, m_activity, m_locks, m_vacuum, m_replication, m_views})
        addPage(page);
    m_incidentFeed = new IncidentFeed(m_incidents, [this] {
        QList<ChartWidget*> all;
        for (MonitorPage* page : std::as_const(m_monitorPages))
            all += page->charts();
        return all;
    }, m_history, this);
    m_incidentFeed->setNotify(Settings::notifyIncidents());
    // The experiment bench is not a monitor page: it drives load rather than watching.
    m_pageList->addItem(m_scenarios->title());
    m_pages->addWidget(scrollable(m_scenarios));
    // Nor is the role editor: it changes the server's configuration.
    m_pageList->addItem(m_roles->title());
    m_pages->addWidget(scrollable(m_roles));
    connect(m_roles, &RolesPage::message, this,
        [this](bool ok, const QString& text) { m_banner->show(ok ? Banner::Level::Info : Banner::Level::Warning, text); });
    // Nor is the router: it decides where statements go, against the shown server's topology.
    m_pageList->addItem(m_router->title());
    m_pages->addWidget(scrollable(m_router));
    // The advisor changes the server's physical design, each change measured and undoable.
    m_pageList->addItem(m_advisor->title());
    m_pages->addWidget(scrollable(m_advisor));
    connect(m_advisor, &AdvisorPage::message, this,
        [this](bool ok, const QString& text) { m_banner->show(ok ? Banner::Level::Info : Banner::Level::Warning, text); });
    // The scenario's own, client-side latency beside the server's view of it.
    connect(m_scenarios->runner(), &htap::workload::ScenarioRunner::secondAvailable, this, [this](const htap::workload::SecondStats& s) {
        // Beside the server it loads only: another server's means are not its measure.
        if (m_selected && m_selected->endpoint() == m_scenarios->runningOn())
            m_latency->addScenarioSecond(m_scenarios->runningScenario(), s);
    });
    connect(m_scenarios, &ScenariosPage::message, this,
        [this](bool ok, const QString& text) { m_banner->show(ok ? Banner::Level::Info : Banner::Level::Warning, text); });
    connect(m_pageList, &QListWidget::currentRowChanged, m_pages, &QStackedWidget::setCurrentIndex);
    m_pageList->setCurrentRow(0);
    connect(m_overview, &OverviewPage::culpritActivated, this, &MainWindow::showCulprit);
    m_latency->setTargets(Settings::targets());
    m_views->setTargets(Settings::targets());
    // While the shown server does not answer, the pages say how long they have had no data.
    m_silence = new QTimer(this);
    m_silence->setInterval(1000);
    connect(m_silence, &QTimer::timeout, this, &MainWindow::showSilence);

    auto* central = new QWidget(this);
    auto* outer = new QVBoxLayout(central);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->setSpacing(0);
    auto* body = new QHBoxLayout;
    auto* left = new QVBoxLayout;
    left->setContentsMargins(0, 0, 0, 0);
    left->setSpacing(2);
    createServerList();
    left->addWidget(m_serverList->parentWidget());
    auto* rule = new QFrame(central);
    rule->setFrameShape(QFrame::HLine);
    rule->setFrameShadow(QFrame::Sunken);
    left->addWidget(rule);
    left->addWidget(m_pageList, 1);
    body->addLayout(left);
    // The pause bar: what the frozen pages show, and the way back to live.
    m_pauseBar = new QFrame(central);
    m_pauseBar->setObjectName(u"pauseBar"_s);
    m_pauseBar->setAutoFillBackground(true);
    {
        QPalette p = m_pauseBar->palette();
        p.setColor(QPalette::Window, colours::rowBackground(colours::Tone::Info, p));
        m_pauseBar->setPalette(p);
        auto* row = new QHBoxLayout(m_pauseBar);
        row->setContentsMargins(10, 4, 6, 4);
        m_pauseText = new QLabel(m_pauseBar);
        m_pauseText->setObjectName(u"pauseText"_s);
        m_pauseText->setWordWrap(true);
        row->addWidget(m_pauseText, 1);
        auto* resume = new QPushButton(tr("Resume live"), m_pauseBar);
        resume->setObjectName(u"resumeLive"_s);
        connect(resume, &QPushButton::clicked, this, [this] {
            if (m_customRange.first.isValid())
                m_window->setCurrentIndex(1); // back to a live window (5 minutes)
            m_pauseAction->setChecked(false);
        });
        row->addWidget(resume);
    }
    m_pauseBar->hide();
    auto* right = new QVBoxLayout;
    right->setContentsMargins(0, 0, 0, 0);
    right->setSpacing(0);
    right->addWidget(m_pauseBar);
    right->addWidget(m_pages, 1);
    body->addLayout(right, 1);
    outer->addLayout(body, 1);
    setCentralWidget(central);
    // Messages lie over the pages' bottom edge: nothing moves when one comes or goes.
    m_banner->setParent(central);
    m_banner->setAnchor(m_pages);

    m_stateDot->setFixedWidth(14);
    m_stateLabel->setTextFormat(Qt::PlainText);
    statusBar()->addWidget(m_stateDot);
    statusBar()->addWidget(m_stateLabel, 1);
    m_serversSummary->setObjectName(u"serversSummary"_s);
    statusBar()->addPermanentWidget(m_serversSummary);
    setStatusDot(Qt::gray, tr("Not connected"));

    createActions();

    connect(m_history, &htap::store::HistoryStore::failed, this,
        [this](const QString& message) { m_banner->show(Banner::Level::Warning, message); });
    connect(m_history, &htap::store::HistoryStore::loaded, this, &MainWindow::onHistoryLoaded);
    m_history->open(Settings::historyPath(), Settings::historyRetentionDays());
    connect(m_locks, &LocksPage::message, this,
        [this](bool ok, const QString& text) { m_banner->show(ok ? Banner::Level::Info : Banner::Level::Warning, text); });
    // The page acts on the shown server only: its incidents say how a blocking episode ended.
    connect(m_locks, &LocksPage::actionTaken, this, [this](int pid, const QString& what) { if (m_selected) m_selected->noteAction(pid, what); });
    connect(m_views, &ViewsPage::message, this,
        [this](bool ok, const QString& text) { m_banner->show(ok ? Banner::Level::Info : Banner::Level::Warning, text); });
    connect(&m_sandboxJob, &QFutureWatcher<SandboxOutcome>::finished, this, &MainWindow::onSandboxFinished);

    resize(1200, 800);
    restoreGeometry(Settings::windowGeometry());
    restoreState(Settings::windowState(), Settings::kWindowStateVersion);
}

MainWindow::~MainWindow()
{
    // A sandbox start in progress finishes on its own; we only must not receive its result.
    m_sandboxJob.disconnect(this);
    m_sandboxJob.waitForFinished();
}

QWidget* MainWindow::scrollable(QWidget* page)
{
    // A page narrower or shorter than it needs scrolls, rather than making the window as wide as
    // its widest page: the window fits a 1024x700 screen.
    auto* area = new QScrollArea(m_pages);
    area->setObjectName(page->objectName() + u"Scroll"_s);
    area->setFrameShape(QFrame::NoFrame);
    area->setWidgetResizable(true);
    area->setWidget(page);
    return area;
}

void MainWindow::addPage(MonitorPage* page)
{
    m_monitorPages.append(page);
    for (ChartWidget* chart : page->charts())
        connect(chart, &ChartWidget::rangeSelected, this,
            [this](const QDateTime& from, const QDateTime& to) { exportSnapshot(from, to); });
    m_pageList->addItem(page->title());
    m_pages->addWidget(scrollable(page));
}

QStringList MainWindow::pageTitles() const
{
    QStringList titles;
    for (int i = 0; i < m_pageList->count(); ++i)
        titles << m_pageList->item(i)->text();
    return titles;
}

void MainWindow::showPage(const QString& title)
{
    const auto hits = m_pageList->findItems(title, Qt::MatchExactly);
    if (!hits.isEmpty())
        m_pageList->setCurrentItem(hits.first());
}

void MainWindow::createServerList()
{
    // A small list above the pages: every server with its own dot, the selected one is shown.
    auto* box = new QWidget(this);
    auto* layout = new QVBoxLayout(box);
    layout->setContentsMargins(4, 4, 4, 0);
    layout->setSpacing(2);
    auto* header = new QHBoxLayout;
    auto* title = new QLabel(tr("<b>Servers</b>"), box);
    header->addWidget(title, 1);
    auto tool = [box](const QString& text, const QString& tip, const QString& name) {
        auto* b = new QToolButton(box);
        b->setText(text);
        b->setToolTip(tip);
        b->setObjectName(name);
        b->setAutoRaise(true);
        return b;
    };
    QToolButton* add = tool(u"+"_s, tr("Add a server to monitor (File > Add server…)"), u"addServerButton"_s);
    QToolButton* remove = tool(u"−"_s, tr("Stop monitoring the selected server and take it off the list"), u"removeServerButton"_s);
    header->addWidget(add);
    header->addWidget(remove);
    layout->addLayout(header);
    m_serverList->setObjectName(u"serverList"_s);
    m_serverList->setFrameShape(QFrame::NoFrame);
    m_serverList->setContextMenuPolicy(Qt::CustomContextMenu);
    m_serverList->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_serverList->setTextElideMode(Qt::ElideMiddle);
    m_serverList->setUniformItemSizes(true);
    fitServerList();
    layout->addWidget(m_serverList);
    box->setFixedWidth(m_pageList->width());
    connect(add, &QToolButton::clicked, this, &MainWindow::showConnectDialog);
    connect(remove, &QToolButton::clicked, this, [this] {
        if (m_selected)
            removeServer(m_selected);
    });
    connect(m_serverList, &QListWidget::currentRowChanged, this, [this](int row) {
        if (row >= 0 && row < m_servers.size() && m_servers[row] != m_selected)
            selectServer(m_servers[row]);
    });
    connect(m_serverList, &QListWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
        const int row = m_serverList->row(m_serverList->itemAt(pos));
        if (row < 0)
            return;
        QPointer<MonitoredServer> server = m_servers[row];
        QMenu menu(this);
        menu.addAction(tr("Reconnect"), this, [this, server] {
            if (server)
                server->needsPassword() ? askPassword(server) : server->connectNow();
        });
        menu.addAction(tr("Remove server"), this, [this, server] {
            if (server)
                removeServer(server);
        });
        menu.exec(m_serverList->viewport()->mapToGlobal(pos));
    });
}

void MainWindow::fitServerList()
{
    // As tall as its rows (up to six, then it scrolls): the pages' list keeps the room.
    const int row = m_serverList->count() ? m_serverList->sizeHintForRow(0) : m_serverList->fontMetrics().height();
    const int rows = std::clamp(int(m_serverList->count()), 1, 6);
    m_serverList->setFixedHeight(rows * row + 2 * m_serverList->frameWidth() + 2);
}

htap::monitor::ActivityCollector* MainWindow::collector() const
{
    return m_selected ? m_selected->collector() : nullptr;
}

MonitoredServer* MainWindow::addServer(const htap::pg::ConnInfo& info)
{
    auto* server = new MonitoredServer(info, m_history, this);
    server->collector()->setClassifier(Settings::classifier());
    server->setTargets(Settings::targets());
    m_servers.append(server);
    new QListWidgetItem(m_serverList); // its text and dot: onServerChanged
    connect(server, &MonitoredServer::changed, this, [this, server] { onServerChanged(server); });
    connect(server, &MonitoredServer::sampleEvaluated, this,
        [this, server](const htap::monitor::ServerSample& s) { onSample(server, s); });
    connect(server->collector(), &htap::monitor::ActivityCollector::stateChanged, this,
        [this, server](htap::monitor::ConnectionState state) { onStateChanged(server, state); });
    connect(server->collector(), &htap::monitor::ActivityCollector::connected, this, [this, server] { onServerConnected(server); });
    connect(server->collector(), &htap::monitor::ActivityCollector::errorOccurred, this, [this, server](const htap::pg::PgError& e) {
        // Another server's troubles show in its row of the list; the banner is the shown one's.
        if (server == m_selected)
            m_banner->show(Banner::Level::Error, e.fullText());
    });
    connect(server->collector(), &htap::monitor::ActivityCollector::passwordRequired, this, [this, server] {
        if (server == m_selected)
            askPassword(server);
    });
    // The Locks page answers for the shown server; an action's answer from another still counts.
    connect(server->collector(), &htap::monitor::ActivityCollector::actionFinished, this,
        [this, server](const htap::monitor::BackendAction&, bool ok, const QString& text) {
            if (server != m_selected)
                m_banner->show(ok ? Banner::Level::Info : Banner::Level::Warning, tr("%1: %2").arg(server->label(), text));
        });
    // A view job on a server not shown (a refresh started before switching, a schedule) that
    // fails must still be heard of; its successes are in that server's refresh log.
    connect(server->jobs(), &ViewJobs::jobFinished, this,
        [this, server](const QString& view, const QString& what, bool ok, const QString& text, double) {
            if (server != m_selected && !ok)
                m_banner->show(Banner::Level::Warning, tr("%1: %2 of %3 failed: %4").arg(server->label(), what, view, text));
        });
    onServerChanged(server);
    updateServersSummary();
    fitServerList();
    return server;
}

namespace {
/// What identifies a server row: its options without secrets, in keyword order, so that the
/// same conninfo written in another order (the sandbox's, the stored list's) is one row.
QString serverKey(const htap::pg::ConnInfo& info)
{
    QStringList parts;
    for (const auto& [key, value] : info.options())
        if (key != u"password"_s && key != u"sslpassword"_s)
            parts << key + u'=' + value;
    parts.sort();
    return parts.join(u'\n');
}
} // namespace

void MainWindow::whenNoDialog(const std::function<void()>& f)
{
    // A confirmation open on one server (terminate this pid, apply these settings) must not
    // see the shown server change under it when something finishes in the background.
    if (QApplication::activeModalWidget()) {
        QTimer::singleShot(200, this, [this, f] { whenNoDialog(f); });
        return;
    }
    f();
}

MonitoredServer* MainWindow::findServer(const htap::pg::ConnInfo& info) const
{
    const QString key = serverKey(info);
    for (MonitoredServer* s : std::as_const(m_servers))
        if (serverKey(s->info()) == key)
            return s;
    return nullptr;
}

void MainWindow::connectTo(const htap::pg::ConnInfo& info)
{
    // The same server twice is one row: connect it again (with a typed password, perhaps).
    MonitoredServer* server = findServer(info);
    const bool known = server != nullptr;
    if (!server)
        server = addServer(info);
    whenNoDialog([this, p = QPointer<MonitoredServer>(server)] {
        if (p)
            selectServer(p);
    });
    if (!known || info.contains(u"password"_s) || server->state() != htap::monitor::ConnectionState::Connected)
        server->connectNow(info);
}

void MainWindow::restoreServers()
{
    const QStringList list = Settings::servers();
    for (const QString& text : list) {
        QString error;
        const htap::pg::ConnInfo info = htap::pg::ConnInfo::parse(text, &error);
        if (!error.isEmpty())
            continue; // written by us, so only a hand edit gets here
        if (findServer(info))
            continue;
        MonitoredServer* server = addServer(info);
        if (PasswordVault::hasPassword(info))
            askPassword(server); // the keyring answers, or the user when it is shown
        else
            server->connectNow();
    }
    const int selected = Settings::selectedServer();
    MonitoredServer* wanted = nullptr;
    if (selected >= 0 && selected < list.size()) {
        QString error;
        wanted = findServer(htap::pg::ConnInfo::parse(list[selected], &error));
    }
    if (!m_selected && !m_servers.isEmpty())
        selectServer(wanted ? wanted : m_servers.first());
}

void MainWindow::saveServers()
{
    if (!m_saveServerList)
        return; // --no-restore: this session's servers do not replace the stored list
    QStringList list;
    for (const MonitoredServer* s : std::as_const(m_servers))
        list << s->info().toConnString(); // without a password: MonitoredServer::info() never has one
    Settings::setServers(list, int(m_servers.indexOf(m_selected)));
}

void MainWindow::selectServer(MonitoredServer* server)
{
    if (server == m_selected && m_offline.isEmpty())
        return;
    m_selected = server;
    m_banner->hide(); // what it said was about the server shown before
    if (!m_offline.isEmpty()) {
        m_offline.clear();
        setWindowTitle(tr("HTAP Studio"));
    }
    {
        const QSignalBlocker block(m_serverList);
        m_serverList->setCurrentRow(int(m_servers.indexOf(server)));
    }
    // Pages that act on a server act on the shown one.
    htap::monitor::ActivityCollector* collector = server ? server->collector() : nullptr;
    m_locks->setCollector(collector);
    m_views->setServer(collector, server ? server->jobs() : nullptr);
    m_scenarios->setCollector(collector);
    m_roles->setCollector(collector);
    m_router->setCollector(collector);
    m_advisor->setCollector(collector);
    redrawShown();
    showSelectedState();
    saveServers();
    if (server && server->needsPassword())
        QTimer::singleShot(0, this, [this, p = QPointer<MonitoredServer>(server)] {
            if (p && p == m_selected && p->needsPassword())
                askPassword(p);
        });
}

void MainWindow::redrawShown()
{
    MonitoredServer* server = m_selected;
    // Its lines must not mix with the last one's: clear, then draw what it sampled meanwhile.
    for (MonitorPage* page : std::as_const(m_monitorPages))
        page->clear();
    m_incidentFeed->showServer(server);
    m_lastSampleAt = {};
    QTimer::singleShot(0, this, &MainWindow::showSilence); // after what it sampled is drawn
    m_historyRequests.clear(); // what earlier selections asked for is drawn by this one
    m_server = server ? server->endpoint() : QString();
    m_liveFrom = {};
    if (server) {
        drawRecent(server);
        if (!server->recent().isEmpty())
            m_liveFrom = server->recent().first().sample.sampledAt;
    }
    // What is older than this session comes from the history file.
    m_historyFrom = m_liveFrom.isValid() ? m_liveFrom : QDateTime::currentDateTimeUtc();
    loadShownWindow();
}

void MainWindow::setPaused(bool paused)
{
    m_pauseAction->setChecked(paused);
}

void MainWindow::setFrozen(bool frozen)
{
    // Pause freezes everything the pages show, tables and tiles as well as charts; samples go
    // on into the history and the incident log. Resuming draws what came meanwhile.
    if (frozen == m_frozen)
        return;
    m_frozen = frozen;
    for (MonitorPage* page : std::as_const(m_monitorPages))
        for (ChartWidget* c : page->charts())
            c->setPaused(frozen);
    if (frozen) {
        m_frozenAt = QDateTime::currentDateTime();
        m_missedWhileFrozen = 0;
        m_pauseText->setText(m_customRange.first.isValid()
                ? tr("Showing %1 to %2: the pages hold still; new samples are recorded")
                      .arg(QLocale().toString(m_customRange.first.toLocalTime(), QLocale::ShortFormat),
                          QLocale().toString(m_customRange.second.toLocalTime(), QLocale::ShortFormat))
                : tr("Paused at %1: every page shows that moment (drag and wheel to look around); "
                     "new samples are recorded")
                      .arg(m_frozenAt.toString(u"HH:mm:ss"_s)));
        m_pauseBar->show();
    } else {
        m_pauseBar->hide();
        if (m_missedWhileFrozen > 0 && m_offline.isEmpty())
            redrawShown();
    }
}

void MainWindow::drawRecent(const MonitoredServer* server)
{
    const QList<MonitoredServer::Recent>& recent = server->recent();
    // The newest sample fills the tables only while the server answers: a pid from a server
    // that went away is not one to act on.
    const bool live = server->state() == ConnectionState::Connected || server->state() == ConnectionState::NotResponding;
    QDateTime previous;
    for (qsizetype i = 0; i < recent.size(); ++i) {
        const MonitoredServer::Recent& r = recent[i];
        if (previous.isValid() && (previous.secsTo(r.sample.sampledAt) > 5 || r.sample.gapBefore))
            for (MonitorPage* page : std::as_const(m_monitorPages))
                page->addGap(previous.addMSecs(1));
        for (MonitorPage* page : std::as_const(m_monitorPages)) {
            if (live && i + 1 == recent.size())
                page->addSample(r.sample);
            else
                page->addPastSample(r.sample);
        }
        if (r.gapAfter)
            for (MonitorPage* page : std::as_const(m_monitorPages))
                page->addGap(r.sample.sampledAt.addMSecs(1));
        previous = r.sample.sampledAt;
    }
    m_lastSampleAt = previous;
}

void MainWindow::removeServer(MonitoredServer* server)
{
    const qsizetype row = m_servers.indexOf(server);
    if (row < 0)
        return;
    m_servers.removeAt(row);
    delete m_serverList->takeItem(int(row));
    m_rememberOnConnect.remove(server);
    m_vaultTried.remove(server);
    m_upstreams.remove(server);
    m_vault->forget(server->info()); // the list's entry and its keyring entry go together
    server->disconnect(this);
    server->collector()->disconnect(this);
    if (server == m_selected) {
        // Show a neighbour (or nothing) first, so no page keeps a pointer into what goes.
        selectServer(m_servers.value(std::min(row, m_servers.size() - 1), nullptr));
    }
    server->retire();
    saveServers();
    updateServersSummary();
    fitServerList();
}

void MainWindow::onServerChanged(MonitoredServer* server)
{
    const qsizetype row = m_servers.indexOf(server);
    QListWidgetItem* item = m_serverList->item(int(row));
    if (!item)
        return;
    // A coloured dot as the icon: the state at a glance, also for the servers not shown.
    QPixmap dot(12, 12);
    dot.fill(Qt::transparent);
    {
        QPainter p(&dot);
        p.setRenderHint(QPainter::Antialiasing);
        p.setPen(Qt::NoPen);
        p.setBrush(server->statusColour());
        p.drawEllipse(QRectF(1, 1, 10, 10));
    }
    item->setIcon(QIcon(dot));
    // Two lines: which server, and how it is, readable without hovering. A standby of a server
    // in the list sits under it, indented, with how far behind it replays.
    const Upstream up = m_upstreams.value(server);
    const QString standbyOf = up.primary ? tr("standby of %1").arg(up.primary->label()) : QString();
    const QString behind = up.replayAgeSeconds >= 0 ? tr(", data %1 old").arg(htap::core::formatSeconds(up.replayAgeSeconds)) : QString();
    item->setText(up.primary ? QString(u"↳ "_s + server->label() + u"\n   "_s + server->statusWord() + behind)
                             : QString(server->label() + u'\n' + server->statusWord()));
    item->setToolTip(tr("%1\n%2\n%3").arg(server->label(), server->statusLine(), server->stateText())
        + (up.primary ? u'\n' + standbyOf + behind : QString()));
    item->setData(Qt::UserRole + 1, standbyOf);
    item->setData(Qt::UserRole, server->statusWord());
}

void MainWindow::placeStandby(MonitoredServer* server, const htap::monitor::ServerSample& sample)
{
    // The topology from what the servers say: a standby's WAL receiver names the host and port
    // it streams from; the server in the list with that host and port is its primary.
    if (!sample.replication)
        return;
    Upstream up;
    if (const auto& w = sample.replication->receiver) {
        up.replayAgeSeconds = w->replayAgeSeconds;
        for (MonitoredServer* other : std::as_const(m_servers))
            if (other != server && other->info().value(u"host"_s) == w->senderHost
                && (other->info().value(u"port"_s).isEmpty() ? 5432 : other->info().value(u"port"_s).toInt()) == w->senderPort)
                up.primary = other;
    }
    const Upstream before = m_upstreams.value(server);
    if (up.primary == before.primary && std::abs(up.replayAgeSeconds - before.replayAgeSeconds) < 0.5)
        return;
    m_upstreams.insert(server, up);
    // Under its primary: move its row (and its place in the list) right after the primary's.
    const qsizetype at = m_servers.indexOf(server), primaryAt = up.primary ? m_servers.indexOf(up.primary) : -1;
    if (primaryAt >= 0 && at != primaryAt + 1) {
        const QSignalBlocker block(m_serverList);
        const qsizetype to = at > primaryAt ? primaryAt + 1 : primaryAt;
        m_servers.move(at, to);
        m_serverList->insertItem(int(to), m_serverList->takeItem(int(at)));
        m_serverList->setCurrentRow(int(m_servers.indexOf(m_selected)));
    }
    onServerChanged(server);
}

void MainWindow::onSample(MonitoredServer* server, const htap::monitor::ServerSample& sample)
{
    placeStandby(server, sample);
    // A monitored standby of the selected primary: its readers' data age on the primary's page.
    if (server != m_selected && m_selected && !m_frozen && sample.replication && sample.replication->inRecovery
        && m_upstreams.value(server).primary == m_selected)
        m_replication->addStandbyDataAge(server->label(), sample.sampledAt, sample.replication->heartbeatAgeSeconds);
    if (server != m_selected)
        return; // kept in its recent samples and the history; drawn when it is selected
    if (m_frozen) {
        ++m_missedWhileFrozen; // drawn on resume
        m_incidentFeed->addSample(sample);
        return;
    }
    // A stall or a reconnect: the lines break here instead of bridging the time without data.
    if (sample.gapBefore && m_lastSampleAt.isValid())
        for (MonitorPage* page : std::as_const(m_monitorPages))
            page->addGap(m_lastSampleAt.addMSecs(1));
    m_lastSampleAt = sample.sampledAt;
    m_silence->stop();
    if (!m_liveFrom.isValid())
        m_liveFrom = sample.sampledAt;
    for (MonitorPage* page : std::as_const(m_monitorPages))
        if (page != m_incidents) // fed with the spans, below
            page->addSample(sample);
    m_incidentFeed->addSample(sample);
}

void MainWindow::onServerConnected(MonitoredServer* server)
{
    m_vaultTried.remove(server);
    if (const auto it = m_rememberOnConnect.constFind(server); it != m_rememberOnConnect.cend()) {
        const QString password = it.value();
        m_rememberOnConnect.erase(it);
        m_vault->store(server->info(), password, this, [this, name = server->info().displayName()](const QString& error) {
            if (error.isEmpty())
                m_banner->show(Banner::Level::Info, tr("The password of %1 is kept in the desktop's keyring").arg(name));
            else
                m_banner->show(Banner::Level::Warning, tr("The password of %1 was not kept: %2").arg(name, error));
        });
    }
    if (server != m_selected || server->endpoint() == m_server)
        return; // another server, or a reconnect: what was drawn is still there
    // The first connect of the shown server: now its history key is known.
    m_server = server->endpoint();
    if (!m_liveFrom.isValid())
        m_historyFrom = QDateTime::currentDateTimeUtc();
    loadShownWindow();
}

void MainWindow::loadShownWindow()
{
    if (m_server.isEmpty() || !m_offline.isEmpty())
        return;
    if (m_customRange.first.isValid()) {
        showCustomRange(m_customRange.first, m_customRange.second);
        return;
    }
    const QDateTime start = QDateTime::currentDateTimeUtc().addSecs(-m_window->currentData().toInt());
    if (start < m_historyFrom) {
        loadHistory(start, m_historyFrom);
        m_historyFrom = start;
    }
}

void MainWindow::loadHistory(const QDateTime& from, const QDateTime& to)
{
    if (m_server.isEmpty() || from >= to)
        return;
    // Replaying a whole day through the pages is too slow for the GUI thread: one hour at most
    // (the rest of the file stays for snapshots and the CLI).
    const QDateTime start = std::max(from, to.addSecs(-3600));
    m_historyRequests.insert(++m_historyRequest, m_server);
    m_history->load(m_server, start, to, m_historyRequest);
}

void MainWindow::onHistoryLoaded(quint64 request, const QList<QJsonObject>& documents)
{
    const QString asked = m_historyRequests.take(request);
    if (asked.isEmpty() || asked != m_server)
        return; // asked for another server than the one shown now, or before it was shown again
    replay(documents, m_liveFrom, false);
}

int MainWindow::replay(const QList<QJsonObject>& documents, const QDateTime& stopAt, bool lastIsCurrent)
{
    QList<htap::monitor::ServerSample> samples;
    for (const QJsonObject& doc : documents) {
        htap::monitor::ServerSample sample;
        QString error;
        if (!htap::monitor::fromJson(doc, &sample, &error))
            continue;
        if (stopAt.isValid() && sample.sampledAt >= stopAt)
            break; // this session's own samples are drawn already
        samples << sample;
    }
    QDateTime previous;
    for (int i = 0; i < samples.size(); ++i) {
        // A pause (the app was closed) is a gap in the charts.
        if (previous.isValid() && (previous.secsTo(samples[i].sampledAt) > 5 || samples[i].gapBefore))
            for (MonitorPage* page : std::as_const(m_monitorPages))
                page->addGap(previous.addMSecs(1));
        previous = samples[i].sampledAt;
        for (MonitorPage* page : std::as_const(m_monitorPages)) {
            if (lastIsCurrent && i + 1 == samples.size())
                page->addSample(samples[i]); // the state at the end fills the tables
            else
                page->addPastSample(samples[i]);
        }
    }
    if (!lastIsCurrent && previous.isValid())
        for (MonitorPage* page : std::as_const(m_monitorPages))
            page->addGap(previous.addMSecs(1));
    return int(samples.size());
}

void MainWindow::createActions()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    m_connectAction = file->addAction(tr("&Add server…"), QKeySequence::Open, this, &MainWindow::showConnectDialog);
    m_reconnectAction = file->addAction(tr("Re&connect"), this, [this] {
        if (m_selected)
            m_selected->needsPassword() ? askPassword(m_selected) : m_selected->connectNow();
    });
    m_removeAction = file->addAction(tr("&Remove server"), this, [this] {
        if (m_selected)
            removeServer(m_selected);
    });
    m_reconnectAction->setEnabled(false);
    m_removeAction->setEnabled(false);
    file->addSeparator();
    file->addAction(tr("&Export snapshot…"), QKeySequence(tr("Ctrl+E")), this, [this] { exportSnapshot(); });
    file->addAction(tr("Open s&napshot…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open a snapshot"), QString(), tr("Snapshots (*.json)"));
        if (!path.isEmpty())
            openSnapshotFile(path);
    });
    file->addAction(tr("Snapshots in the &history…"), this, &MainWindow::showStoredSnapshots);
    file->addAction(tr("Co&mpare snapshots…"), this, [this] {
        const QString a = QFileDialog::getOpenFileName(this, tr("Snapshot A (before)"), QString(), tr("Snapshots (*.json)"));
        if (a.isEmpty())
            return;
        const QString b = QFileDialog::getOpenFileName(this, tr("Snapshot B (after)"), QFileInfo(a).absolutePath(),
            tr("Snapshots (*.json)"));
        if (!b.isEmpty())
            compareSnapshotFiles(a, b);
    });
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    // One time window and one pause for every chart of every page.
    QToolBar* bar = addToolBar(tr("Charts"));
    bar->setObjectName(u"chartsToolBar"_s);
    bar->addWidget(new QLabel(tr(" Show the last "), bar));
    auto* window = m_window = new QComboBox(bar);
    window->setObjectName(u"timeWindow"_s);
    for (const auto& [text, seconds] : {std::pair {tr("1 minute"), 60}, {tr("5 minutes"), 300}, {tr("15 minutes"), 900},
             {tr("1 hour"), 3600}, {tr("24 hours"), 86400}})
        window->addItem(text, seconds);
    window->addItem(tr("custom range…"), -1);
    window->setCurrentIndex(1);
    bar->addWidget(window);
    QAction* pause = m_pauseAction = bar->addAction(tr("Pause"));
    pause->setCheckable(true);
    pause->setToolTip(tr("Stop following live data to pan (drag) and zoom (wheel); new samples are still recorded"));
    auto charts = [this] {
        QList<ChartWidget*> all;
        for (MonitorPage* page : std::as_const(m_monitorPages))
            all += page->charts();
        return all;
    };
    connect(window, &QComboBox::activated, this, [this, window](int index) {
        if (window->itemData(index).toInt() < 0)
            chooseCustomRange();
    });
    connect(window, &QComboBox::currentIndexChanged, this, [this, window, charts, pause] {
        if (window->currentData().toInt() < 0)
            return; // a custom range: chooseCustomRange() shows it
        const bool wasCustom = m_customRange.first.isValid();
        m_customRange = {};
        const QList<ChartWidget*> all = charts();
        const int before = all.isEmpty() ? 0 : all.first()->visibleSeconds();
        for (ChartWidget* c : all)
            c->setVisibleSeconds(window->currentData().toInt());
        // Charts keep only what their window needs: a wider one (or leaving a custom range)
        // draws again, the recent samples from memory and the rest from the history.
        const bool redraw = (wasCustom || window->currentData().toInt() > before) && m_offline.isEmpty();
        if (redraw)
            m_missedWhileFrozen = 0; // one redraw, below
        pause->setChecked(false);
        if (redraw)
            redrawShown();
    });
    connect(pause, &QAction::toggled, this, &MainWindow::setFrozen);

    QMenu* monitor = menuBar()->addMenu(tr("&Monitor"));
    monitor->addAction(tr("&Targets…"), this, &MainWindow::editTargets);
    monitor->addAction(tr("&Workload classes…"), this, &MainWindow::editClassifier);

    // The desktop's look, or a light or dark one chosen here (Qt 6 on Debian does not follow
    // a GTK dark theme by itself). Kept in the settings.
    QMenu* view = menuBar()->addMenu(tr("&View"));
    QMenu* theme = view->addMenu(tr("&Theme"));
    theme->setObjectName(u"themeMenu"_s);
    auto* themes = new QActionGroup(this);
    for (const auto& [t, label] : {std::pair {Theme::Desktop, tr("Follow the &desktop")}, std::pair {Theme::Light, tr("&Light")},
             std::pair {Theme::Dark, tr("D&ark")}}) {
        QAction* a = theme->addAction(label);
        a->setCheckable(true);
        a->setChecked(Settings::theme() == t);
        a->setData(themeName(t));
        themes->addAction(a);
        connect(a, &QAction::triggered, this, [t] {
            Settings::setTheme(t);
            applyTheme(t);
        });
    }

    QMenu* sandbox = menuBar()->addMenu(tr("&Sandbox"));
    m_sandboxStartAction = sandbox->addAction(tr("&Start sandbox and connect"), this, [this] { startSandbox(); });
    m_sandboxStopAction = sandbox->addAction(tr("S&top sandbox"), this, &MainWindow::stopSandbox);
    m_sandboxStandbyAction = sandbox->addAction(tr("&Add standby…"), this, &MainWindow::addSandboxStandby);
    m_sandboxStandbyAction->setObjectName(u"addStandbyAction"_s);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About HTAP Studio"), this, [this] {
        QMessageBox::about(this, tr("About HTAP Studio"),
            tr("<b>HTAP Studio %1</b><p>Watch and experiment with a PostgreSQL database that serves order "
               "entry and live reports at once.</p>")
                .arg(QStringLiteral(HTAP_VERSION)));
    });
}

void MainWindow::editClassifier()
{
    // Which roles are order entry and which are reports: pg_stat_statements knows roles only.
    QDialog dialog(this);
    dialog.setWindowTitle(tr("Workload classes"));
    auto* form = new QFormLayout(&dialog);
    const auto c = Settings::classifier();
    auto field = [&](const QStringList& v) {
        auto* e = new QLineEdit(v.join(u", "_s), &dialog);
        e->setPlaceholderText(tr("comma-separated names; * and ? match any text"));
        return e;
    };
    auto* oltpRoles = field(c.oltpRoles);
    auto* olapRoles = field(c.olapRoles);
    auto* oltpApps = field(c.oltpApps);
    auto* olapApps = field(c.olapApps);
    form->addRow(new QLabel(tr("Statement latency is classified by role (pg_stat_statements keys by role); "
                               "running statements also by application_name."),
        &dialog));
    form->addRow(tr("OLTP roles:"), oltpRoles);
    form->addRow(tr("OLAP roles:"), olapRoles);
    form->addRow(tr("OLTP applications:"), oltpApps);
    form->addRow(tr("OLAP applications:"), olapApps);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    if (dialog.exec() != QDialog::Accepted)
        return;
    auto split = [](const QLineEdit* e) {
        QStringList out;
        for (const QString& part : e->text().split(u',', Qt::SkipEmptyParts))
            if (!part.trimmed().isEmpty())
                out << part.trimmed();
        return out;
    };
    htap::monitor::WorkloadClassifier next {split(oltpRoles), split(olapRoles), split(oltpApps), split(olapApps)};
    Settings::setClassifier(next);
    for (MonitoredServer* server : std::as_const(m_servers))
        server->collector()->setClassifier(next);
    m_banner->show(Banner::Level::Info, tr("Workload classes changed; latency starts a new baseline"));
}

void MainWindow::showConnectDialog()
{
    ConnectDialog dialog(this, m_vault);
    if (dialog.exec() != QDialog::Accepted)
        return;
    if (dialog.choice() == ConnectDialog::Choice::StartSandbox)
        startSandbox();
    else if (dialog.rememberPassword())
        connectAndRemember(dialog.connInfo());
    else
        connectTo(dialog.connInfo());
}

void MainWindow::onStateChanged(MonitoredServer* server, ConnectionState state)
{
    updateServersSummary();
    if (state == ConnectionState::Failed)
        m_rememberOnConnect.remove(server); // refused (a wrong password): nothing to keep
    if (server != m_selected)
        return;
    if (state == ConnectionState::Reconnecting || state == ConnectionState::Disconnected)
        markGap();
    showSilence();
    showSelectedState();
}

void MainWindow::showSilence()
{
    // While the shown server does not answer, the pages say for how long they have had no data.
    if (m_frozen)
        return; // the pages show the moment they froze at
    if (!m_selected || m_selected->state() != ConnectionState::NotResponding || m_selected->secondsSinceSample() < 0) {
        m_silence->stop();
        return;
    }
    for (MonitorPage* page : std::as_const(m_monitorPages))
        page->setNoData(m_selected->secondsSinceSample());
    if (!m_silence->isActive())
        m_silence->start();
}

void MainWindow::showCulprit(const QString& kind, const QString& id)
{
    if (kind == u"pid"_s) {
        showPage(m_locks->title());
        if (!m_locks->selectPid(id.toInt()))
            m_banner->show(Banner::Level::Info, tr("pid %1 no longer blocks or waits on a lock").arg(id));
    } else if (kind == u"view"_s) {
        showPage(m_views->title());
        m_views->selectView(id);
    }
}

void MainWindow::editTargets()
{
    QStringList views;
    if (m_selected && !m_selected->recent().isEmpty())
        for (const MonitoredServer::Recent& r : m_selected->recent())
            if (r.sample.views)
                for (const htap::monitor::ViewState& v : r.sample.views->views)
                    if (!views.contains(v.view))
                        views << v.view;
    TargetsDialog dialog(Settings::targets(), views, Settings::notifyIncidents(), this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    const htap::monitor::Targets targets = dialog.targets();
    Settings::setTargets(targets);
    Settings::setNotifyIncidents(dialog.notify());
    m_incidentFeed->setNotify(dialog.notify());
    for (MonitoredServer* server : std::as_const(m_servers))
        server->setTargets(targets);
    m_latency->setTargets(targets);
    m_views->setTargets(targets);
    m_banner->show(Banner::Level::Info, tr("Targets changed: orders %1, reports %2; they apply from the next sample")
                                            .arg(htap::core::formatSeconds(targets.oltpSeconds), htap::core::formatSeconds(targets.olapSeconds)));
}

void MainWindow::showSelectedState()
{
    m_reconnectAction->setEnabled(m_selected != nullptr);
    m_removeAction->setEnabled(m_selected != nullptr);
    if (!m_selected) {
        if (m_offline.isEmpty())
            setStatusDot(Qt::gray, m_servers.isEmpty() ? tr("Not connected") : tr("No server selected"));
        Q_EMIT selectedStateChanged(ConnectionState::Disconnected);
        return;
    }
    const ConnectionState state = m_selected->state();
    const QString text = m_selected->stateText();
    setStatusDot(m_selected->statusColour(), state == ConnectionState::Failed ? tr("Not connected: %1").arg(text) : text);
    Q_EMIT selectedStateChanged(state);
}

void MainWindow::updateServersSummary()
{
    int up = 0;
    for (const MonitoredServer* server : std::as_const(m_servers))
        up += server->state() == ConnectionState::Connected;
    m_serversSummary->setText(m_servers.size() < 2 ? QString() : tr("%1 of %2 servers up").arg(up).arg(m_servers.size()));
}

void MainWindow::connectAndRemember(const htap::pg::ConnInfo& info)
{
    connectTo(info);
    if (MonitoredServer* server = findServer(info); server && info.contains(u"password"_s))
        m_rememberOnConnect.insert(server, info.value(u"password"_s));
}

void MainWindow::askPassword(MonitoredServer* server)
{
    QPointer<MonitoredServer> guard = server;
    m_rememberOnConnect.remove(server); // the server refused it
    if (PasswordVault::hasPassword(server->info()) && !m_vaultTried.contains(server)) {
        // The keyring's first (asynchronous); the user is asked if it has none or it is refused.
        m_vaultTried.insert(server);
        m_vault->fetch(server->info(), this, [this, guard](const QString& password, const QString& error) {
            if (!guard || !m_servers.contains(guard.data()))
                return;
            if (!password.isEmpty())
                guard->connectNow(guard->info().with(u"password"_s, password));
            else {
                if (!error.isEmpty())
                    m_banner->show(Banner::Level::Warning, tr("The keyring did not give the password of %1: %2")
                                                               .arg(guard->info().displayName(), error));
                if (guard == m_selected)
                    askPassword(guard);
            }
        });
        return;
    }
    bool ok = false;
    const QString password = QInputDialog::getText(this, tr("Password"),
        tr("Password for %1:").arg(server->info().displayName()), QLineEdit::Password, {}, &ok);
    // The list may have changed while the dialog was open.
    if (guard && m_servers.contains(server) && ok && !password.isEmpty())
        server->connectNow(server->info().with(u"password"_s, password));
}

void MainWindow::setStatusDot(const QColor& colour, const QString& text)
{
    m_stateDot->setText(u"●"_s);
    m_stateDot->setStyleSheet(u"color: %1"_s.arg(colour.name()));
    m_stateLabel->setText(text);
}

QString MainWindow::connectionStateText() const
{
    return m_stateLabel->text();
}

QString MainWindow::bannerText() const
{
    return m_banner->text();
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    // A profile comparison has changed role settings on the server: put them back first.
    if (htap::workload::ProfileComparison* comparison = m_scenarios->comparison(); comparison->isRunning()) {
        m_banner->show(Banner::Level::Info, tr("Stopping the comparison and putting the roles back before closing…"));
        connect(comparison, &htap::workload::ProfileComparison::finished, this, &QWidget::close, Qt::SingleShotConnection);
        comparison->stop(tr("the window was closed"));
        event->ignore();
        return;
    }
    Settings::saveWindow(saveGeometry(), saveState(Settings::kWindowStateVersion));
    for (MonitoredServer* server : std::as_const(m_servers))
        server->collector()->disconnectFromServer();
    event->accept();
}

} // namespace htap::ui
