#include "mainwindow.h"

#include "activitypage.h"
#include "banner.h"
#include "chartwidget.h"
#include "latencypage.h"
#include "lockspage.h"
#include "overviewpage.h"
#include "rolespage.h"
#include "scenariospage.h"
#include "vacuumpage.h"
#include "viewspage.h"
#include "connectdialog.h"
#include "settings.h"
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
#include <QMessageBox>
#include <QPointer>
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
    , m_collector(new htap::monitor::ActivityCollector(this))
    , m_banner(new Banner(this))
    , m_pageList(new QListWidget(this))
    , m_pages(new QStackedWidget(this))
    , m_overview(new OverviewPage(this))
    , m_latency(new LatencyPage(this))
    , m_activity(new ActivityPage(this))
    , m_locks(new LocksPage(m_collector, this))
    , m_vacuum(new VacuumPage(this))
    , m_views(new ViewsPage(m_collector, this))
    , m_scenarios(new ScenariosPage(m_collector, this))
    , m_roles(new RolesPage(m_collector, this))
    , m_history(new htap::store::HistoryStore(this))
    , m_stateDot(new QLabel(this))
    , m_stateLabel(new QLabel(this))
{
    setObjectName(u"MainWindow"_s);
    setWindowTitle(tr("HTAP Studio"));
    setWindowIcon(QIcon(u":/icons/org.htapstudio.HtapStudio.svg"_s));

    m_pageList->setObjectName(u"pageList"_s);
    m_pageList->setFixedWidth(160);
    m_pageList->setFrameShape(QFrame::NoFrame);
    for (MonitorPage* page : std::initializer_list<MonitorPage*> {m_overview, m_latency, m_activity, m_locks, m_vacuum, m_views})
        addPage(page);
    // The experiment bench is not a monitor page: it drives load rather than watching.
    m_pageList->addItem(m_scenarios->title());
    m_pages->addWidget(m_scenarios);
    // Nor is the role editor: it changes the server's configuration.
    m_pageList->addItem(m_roles->title());
    m_pages->addWidget(m_roles);
    connect(m_roles, &RolesPage::message, this,
        [this](bool ok, const QString& text) { m_banner->show(ok ? Banner::Level::Info : Banner::Level::Warning, text); });
    // The scenario's own, client-side latency beside the server's view of it.
    connect(m_scenarios->runner(), &htap::workload::ScenarioRunner::secondAvailable, this,
        [this](const htap::workload::SecondStats& s) { m_latency->addScenarioSecond(m_scenarios->runningScenario(), s); });
    connect(m_scenarios, &ScenariosPage::message, this,
        [this](bool ok, const QString& text) { m_banner->show(ok ? Banner::Level::Info : Banner::Level::Warning, text); });
    connect(m_pageList, &QListWidget::currentRowChanged, m_pages, &QStackedWidget::setCurrentIndex);
    m_pageList->setCurrentRow(0);

    auto* central = new QWidget(this);
    auto* outer = new QVBoxLayout(central);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->setSpacing(0);
    outer->addWidget(m_banner);
    auto* body = new QHBoxLayout;
    body->addWidget(m_pageList);
    body->addWidget(m_pages, 1);
    outer->addLayout(body, 1);
    setCentralWidget(central);

    m_stateDot->setFixedWidth(14);
    m_stateLabel->setTextFormat(Qt::PlainText);
    statusBar()->addWidget(m_stateDot);
    statusBar()->addWidget(m_stateLabel, 1);
    setStatusDot(Qt::gray, tr("Not connected"));

    createActions();

    connect(m_collector, &htap::monitor::ActivityCollector::stateChanged, this, &MainWindow::onStateChanged);
    connect(m_collector, &htap::monitor::ActivityCollector::sampleAvailable, this, &MainWindow::onSample);
    connect(m_collector, &htap::monitor::ActivityCollector::connected, this, [this](const htap::monitor::ServerInfo& s) {
        if (s.endpoint == m_server)
            return; // a reconnect: what was drawn is still there
        if (!m_offline.isEmpty()) {
            m_offline.clear();
            setWindowTitle(tr("HTAP Studio"));
        }
        if (!m_server.isEmpty())
            for (MonitorPage* page : std::as_const(m_monitorPages))
                page->clear(); // another server: its lines must not mix with the last one's
        m_server = s.endpoint;
        m_liveFrom = {};
        const QDateTime now = QDateTime::currentDateTimeUtc();
        m_historyFrom = now;
        loadHistory(now.addSecs(-m_window->currentData().toInt()), now);
    });
    connect(m_history, &htap::store::HistoryStore::failed, this,
        [this](const QString& message) { m_banner->show(Banner::Level::Warning, message); });
    connect(m_history, &htap::store::HistoryStore::loaded, this, &MainWindow::onHistoryLoaded);
    m_history->open(Settings::historyPath(), Settings::historyRetentionDays());
    m_collector->setClassifier(Settings::classifier());
    connect(m_locks, &LocksPage::message, this,
        [this](bool ok, const QString& text) { m_banner->show(ok ? Banner::Level::Info : Banner::Level::Warning, text); });
    connect(m_views, &ViewsPage::message, this,
        [this](bool ok, const QString& text) { m_banner->show(ok ? Banner::Level::Info : Banner::Level::Warning, text); });
    connect(m_collector, &htap::monitor::ActivityCollector::errorOccurred, this,
        [this](const htap::pg::PgError& e) { m_banner->show(Banner::Level::Error, e.fullText()); });
    connect(m_collector, &htap::monitor::ActivityCollector::passwordRequired, this, &MainWindow::onPasswordRequired);
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

void MainWindow::addPage(MonitorPage* page)
{
    m_monitorPages.append(page);
    for (ChartWidget* chart : page->charts())
        connect(chart, &ChartWidget::rangeSelected, this,
            [this](const QDateTime& from, const QDateTime& to) { exportSnapshot(from, to); });
    m_pageList->addItem(page->title());
    m_pages->addWidget(page);
}

void MainWindow::showPage(const QString& title)
{
    const auto hits = m_pageList->findItems(title, Qt::MatchExactly);
    if (!hits.isEmpty())
        m_pageList->setCurrentItem(hits.first());
}

void MainWindow::onSample(const htap::monitor::ServerSample& sample)
{
    m_lastSampleAt = sample.sampledAt;
    if (!m_liveFrom.isValid())
        m_liveFrom = sample.sampledAt;
    for (MonitorPage* page : std::as_const(m_monitorPages))
        page->addSample(sample);
    if (!m_server.isEmpty())
        m_history->append(m_server, sample.sampledAt, htap::monitor::toJson(sample, m_server));
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
    if (m_historyRequests.take(request) != m_server)
        return; // asked for another server than the one shown now
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
        if (previous.isValid() && previous.secsTo(samples[i].sampledAt) > 5)
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

void MainWindow::exportSnapshot(const QDateTime& pickedFrom, const QDateTime& pickedTo)
{
    if (m_server.isEmpty() || !m_offline.isEmpty()) {
        m_banner->show(Banner::Level::Warning, tr("Connect to a server first: a snapshot is made from the history of the "
                                                  "server being monitored (or use htapctl snapshot export)."));
        return;
    }
    const htap::workload::ScenarioResult& run = m_scenarios->lastResult();
    auto [shownFrom, shownTo] = m_activity->throughputChart()->visibleRange();
    if (pickedFrom.isValid()) {
        shownFrom = pickedFrom;
        shownTo = pickedTo;
    }
    ExportSnapshotDialog dialog(run.startedAt, run.finishedAt, shownFrom, shownTo, this);
    if (pickedFrom.isValid())
        dialog.pickShownRange();
    if (dialog.exec() == QDialog::Accepted)
        exportSnapshotTo(dialog.request());
}

void MainWindow::exportSnapshotTo(const ExportRequest& request)
{
    struct Outcome {
        QStringList files;
        QString error;
        QString note;
    };
    const QString server = m_server;
    const bool connected = m_collector->state() == htap::monitor::ConnectionState::Connected;
    const htap::pg::ConnInfo info = m_collector->connInfoWithPassword();
    const QString historyPath = Settings::historyPath();
    QJsonArray results; // the last scenario run, when it overlaps the window
    const htap::workload::ScenarioResult& run = m_scenarios->lastResult();
    if (run.startedAt.isValid() && run.startedAt < request.to && run.finishedAt > request.from)
        results << run.toJson();
    auto job = [=] {
        Outcome o;
        const htap::store::HistoryFile file(historyPath);
        htap::report::Snapshot s;
        s.title = request.title;
        s.note = request.note;
        s.createdAt = QDateTime::currentDateTimeUtc();
        s.createdBy = u"HTAP Studio "_s + QStringLiteral(HTAP_VERSION);
        s.server = server;
        s.from = request.from;
        s.to = request.to;
        s.scenarioResults = results;
        if (request.from.secsTo(request.to) > 24 * 3600) {
            o.error = tr("A snapshot covers at most 24 hours; make one per day.");
            return o;
        }
        s.samples = file.load(server, request.from, request.to, &o.error);
        if (!o.error.isEmpty())
            return o;
        if (s.samples.isEmpty()) {
            const auto [first, last] = file.range(server, &o.error);
            o.error = first.isValid()
                ? tr("No samples of %1 between %2 and %3: its history runs from %4 to %5.")
                      .arg(server, request.from.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s),
                          request.to.toLocalTime().toString(u"HH:mm:ss"_s), first.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s),
                          last.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s))
                : tr("No history of %1 yet.").arg(server);
            return o;
        }
        if (connected) {
            htap::pg::Connection conn;
            if (htap::pg::PgError e = conn.open(info, {10000, u"htap-studio snapshot"_s}))
                s.facts.unavailable << u"server facts: cannot connect (%1)"_s.arg(e.oneLine());
            else
                s.facts = htap::report::readFacts(conn, request.from, request.to);
        } else {
            s.facts.unavailable << u"server facts: not connected when the snapshot was made"_s;
        }
        if (!htap::report::Snapshot::build(&s, &o.error))
            return o;
        if (!QDir().mkpath(request.folder)) {
            o.error = tr("cannot create the folder %1").arg(request.folder);
            return o;
        }
        // Never over an earlier export (a before/after pair must not become one file); all
        // formats or none.
        for (htap::report::Format f : request.formats) {
            const QString path = QDir(request.folder).filePath(request.baseName + u'.' + htap::report::formatName(f));
            if (QFileInfo::exists(path) || (f == htap::report::Format::Png && !QDir(request.folder).entryList(
                                                {request.baseName + u"-*.png"_s}).isEmpty())) {
                o.error = tr("%1 exists already: choose another file name").arg(path);
                return o;
            }
        }
        for (htap::report::Format f : request.formats) {
            const QString path = QDir(request.folder).filePath(request.baseName + u'.' + htap::report::formatName(f));
            QStringList written;
            if (!htap::report::exportSnapshot(s, f, path, &written, &o.error)) {
                for (const QString& w : std::as_const(o.files))
                    QFile::remove(w);
                o.files.clear();
                return o;
            }
            o.files << written;
        }
        QString keepError;
        if (!file.saveSnapshot({0, s.createdAt, s.title, server, s.from, s.to, o.files.value(0)},
                QJsonDocument(s.toJson()).toJson(QJsonDocument::Compact), &keepError))
            o.note = tr(" (not kept in the history file: %1)").arg(keepError);
        return o;
    };
    // Samples still queued for the history file go there first.
    connect(m_history, &htap::store::HistoryStore::flushed, this, [this, job] {
        auto* watcher = new QFutureWatcher<Outcome>(this);
        connect(watcher, &QFutureWatcher<Outcome>::finished, this, [this, watcher] {
            const Outcome o = watcher->result();
            watcher->deleteLater();
            if (o.error.isEmpty())
                m_banner->show(Banner::Level::Info, tr("Snapshot written: %1%2").arg(o.files.join(u", "_s), o.note));
            else
                m_banner->show(Banner::Level::Warning, tr("Snapshot not written: %1").arg(o.error));
            Q_EMIT snapshotExported(o.files, o.error);
        });
        watcher->setFuture(QtConcurrent::run(job));
    }, Qt::SingleShotConnection);
    m_history->flush();
}

void MainWindow::openSnapshotFile(const QString& path)
{
    struct Loaded {
        htap::report::Snapshot snapshot;
        QString error;
    };
    auto* watcher = new QFutureWatcher<Loaded>(this);
    connect(watcher, &QFutureWatcher<Loaded>::finished, this, [this, watcher, path] {
        const Loaded l = watcher->result();
        watcher->deleteLater();
        if (!l.error.isEmpty()) {
            m_banner->show(Banner::Level::Warning, tr("Cannot open %1: %2").arg(path, l.error));
            Q_EMIT snapshotOpened(QString(), l.error);
            return;
        }
        showSnapshot(l.snapshot, path);
        Q_EMIT snapshotOpened(l.snapshot.title, QString());
    });
    watcher->setFuture(QtConcurrent::run([path] {
        Loaded l;
        htap::report::Snapshot::fromFile(path, &l.snapshot, &l.error);
        return l;
    }));
}

void MainWindow::showSnapshot(const htap::report::Snapshot& snapshot, const QString& path)
{
    // Offline: the pages show the snapshot's samples; nothing is connected to act on.
    m_collector->disconnectFromServer();
    for (MonitorPage* page : std::as_const(m_monitorPages))
        page->clear();
    m_offline = path;
    m_server = u"snapshot:"_s + path;
    m_liveFrom = {};
    const int shown = replay(snapshot.samples, {}, true);
    // The smallest time window that shows all of it.
    const qint64 span = snapshot.from.secsTo(snapshot.to);
    for (int i = 0; i < m_window->count(); ++i)
        if (m_window->itemData(i).toInt() >= span || i + 1 == m_window->count()) {
            m_window->setCurrentIndex(i);
            break;
        }
    setWindowTitle(tr("HTAP Studio — snapshot %1 (offline)").arg(snapshot.title.isEmpty() ? QFileInfo(path).fileName() : snapshot.title));
    m_banner->show(Banner::Level::Info, tr("Viewing the snapshot %1: %2, %3 to %4, %5 samples. Offline: nothing here acts on a "
                                           "server. Connect to go back to live monitoring.")
                                            .arg(QFileInfo(path).fileName(), snapshot.server,
                                                snapshot.from.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s),
                                                snapshot.to.toLocalTime().toString(u"HH:mm:ss"_s),
                                                QString::number(shown)));
}

void MainWindow::showStoredSnapshots()
{
    struct Listed {
        QList<htap::store::StoredSnapshot> list;
        QString error;
    };
    auto* watcher = new QFutureWatcher<Listed>(this);
    connect(watcher, &QFutureWatcher<Listed>::finished, this, [this, watcher] {
        const Listed l = watcher->result();
        watcher->deleteLater();
        if (!l.error.isEmpty()) {
            m_banner->show(Banner::Level::Warning, l.error);
            return;
        }
        auto* dialog = new QDialog(this);
        dialog->setObjectName(u"storedSnapshots"_s);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        dialog->setWindowTitle(tr("Snapshots in the history"));
        auto* table = new QTableWidget(int(l.list.size()), 5, dialog);
        table->setHorizontalHeaderLabels({tr("#"), tr("made"), tr("title"), tr("server"), tr("window")});
        table->verticalHeader()->hide();
        table->setSelectionBehavior(QAbstractItemView::SelectRows);
        table->setSelectionMode(QAbstractItemView::SingleSelection);
        table->setEditTriggers(QAbstractItemView::NoEditTriggers);
        for (int i = 0; i < l.list.size(); ++i) {
            const htap::store::StoredSnapshot& k = l.list[i];
            const QStringList cells {QString::number(k.id), k.createdAt.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s), k.title,
                k.server, k.from.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s) + u" – "_s + k.to.toLocalTime().toString(u"HH:mm:ss"_s)};
            for (int c = 0; c < cells.size(); ++c)
                table->setItem(i, c, new QTableWidgetItem(cells[c]));
            table->item(i, 0)->setData(Qt::UserRole, k.id);
        }
        table->resizeColumnsToContents();
        table->horizontalHeader()->setStretchLastSection(true);
        auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
        QPushButton* open = buttons->addButton(tr("Open offline"), QDialogButtonBox::AcceptRole);
        open->setEnabled(false);
        connect(table, &QTableWidget::itemSelectionChanged, open, [table, open] { open->setEnabled(table->currentRow() >= 0); });
        connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::close);
        connect(open, &QPushButton::clicked, dialog, [this, table, dialog] {
            openStoredSnapshot(table->item(table->currentRow(), 0)->data(Qt::UserRole).toLongLong());
            dialog->close();
        });
        auto* layout = new QVBoxLayout(dialog);
        layout->addWidget(new QLabel(l.list.isEmpty() ? tr("No snapshot is kept in %1 yet.").arg(Settings::historyPath())
                                                      : tr("Kept in %1 with each export.").arg(Settings::historyPath()),
            dialog));
        layout->addWidget(table, 1);
        layout->addWidget(buttons);
        dialog->resize(900, 400);
        dialog->show();
    });
    watcher->setFuture(QtConcurrent::run([path = Settings::historyPath()] {
        Listed l;
        l.list = htap::store::HistoryFile(path).snapshots(&l.error);
        return l;
    }));
}

void MainWindow::openStoredSnapshot(qint64 id)
{
    struct Loaded {
        htap::report::Snapshot snapshot;
        QString error;
    };
    auto* watcher = new QFutureWatcher<Loaded>(this);
    const QString label = tr("history snapshot #%1").arg(id);
    connect(watcher, &QFutureWatcher<Loaded>::finished, this, [this, watcher, label] {
        const Loaded l = watcher->result();
        watcher->deleteLater();
        if (!l.error.isEmpty()) {
            m_banner->show(Banner::Level::Warning, tr("Cannot open %1: %2").arg(label, l.error));
            Q_EMIT snapshotOpened(QString(), l.error);
            return;
        }
        showSnapshot(l.snapshot, label);
        Q_EMIT snapshotOpened(l.snapshot.title, QString());
    });
    watcher->setFuture(QtConcurrent::run([id, path = Settings::historyPath()] {
        Loaded l;
        const QByteArray json = htap::store::HistoryFile(path).snapshotJson(id, &l.error);
        if (l.error.isEmpty())
            htap::report::Snapshot::fromJson(json, &l.snapshot, &l.error);
        return l;
    }));
}

void MainWindow::compareSnapshotFiles(const QString& a, const QString& b)
{
    struct Loaded {
        htap::report::Snapshot a, b;
        QString error;
    };
    auto* watcher = new QFutureWatcher<Loaded>(this);
    connect(watcher, &QFutureWatcher<Loaded>::finished, this, [this, watcher] {
        const Loaded l = watcher->result();
        watcher->deleteLater();
        if (!l.error.isEmpty()) {
            m_banner->show(Banner::Level::Warning, l.error);
            return;
        }
        auto* dialog = new CompareSnapshotsDialog(l.a, l.b, this);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        dialog->setObjectName(u"compareDialog"_s);
        dialog->show();
    });
    watcher->setFuture(QtConcurrent::run([a, b] {
        Loaded l;
        for (const auto& [path, target] : {std::pair {a, &l.a}, {b, &l.b}}) {
            QString error;
            if (!htap::report::Snapshot::fromFile(path, target, &error)) {
                l.error = tr("Cannot open %1: %2").arg(path, error);
                break;
            }
        }
        return l;
    }));
}

void MainWindow::chooseCustomRange()
{
    QDialog dialog(this);
    dialog.setWindowTitle(tr("Custom time range"));
    auto* from = new QDateTimeEdit(m_customRange.first.isValid() ? m_customRange.first.toLocalTime()
                                                                  : QDateTime::currentDateTime().addSecs(-3600),
        &dialog);
    auto* to = new QDateTimeEdit(m_customRange.second.isValid() ? m_customRange.second.toLocalTime() : QDateTime::currentDateTime(),
        &dialog);
    for (QDateTimeEdit* e : {from, to}) {
        e->setDisplayFormat(u"yyyy-MM-dd HH:mm:ss"_s);
        e->setCalendarPopup(true);
    }
    auto* form = new QFormLayout(&dialog);
    form->addRow(tr("From"), from);
    form->addRow(tr("To"), to);
    auto* note = new QLabel(tr("Within the last 24 hours; older history is for snapshots (File > Export snapshot…)."), &dialog);
    note->setWordWrap(true);
    form->addRow(note);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    auto validate = [&] {
        const bool ok = to->dateTime() > from->dateTime() && from->dateTime() >= QDateTime::currentDateTime().addSecs(-24 * 3600);
        buttons->button(QDialogButtonBox::Ok)->setEnabled(ok);
    };
    connect(from, &QDateTimeEdit::dateTimeChanged, &dialog, validate);
    connect(to, &QDateTimeEdit::dateTimeChanged, &dialog, validate);
    validate();
    if (dialog.exec() != QDialog::Accepted) {
        if (!m_customRange.first.isValid())
            m_window->setCurrentIndex(1);
        return;
    }
    showCustomRange(from->dateTime().toUTC(), to->dateTime().toUTC());
}

void MainWindow::showCustomRange(const QDateTime& from, const QDateTime& to)
{
    m_customRange = {from, to};
    const QSignalBlocker block(m_window);
    m_window->setCurrentIndex(m_window->findData(-1));
    m_pauseAction->setChecked(true);
    for (MonitorPage* page : std::as_const(m_monitorPages))
        for (ChartWidget* c : page->charts())
            c->showRange(from, to);
    // What the pages have not drawn yet comes from the history (the last hour of the range at
    // most: replaying more would stall the window).
    if (!m_server.isEmpty() && m_offline.isEmpty() && from < m_historyFrom) {
        const QDateTime end = std::min(to, m_historyFrom);
        loadHistory(std::max(from, end.addSecs(-3600)), end);
        if (to >= m_historyFrom)
            m_historyFrom = std::max(from, end.addSecs(-3600));
    }
}

void MainWindow::markGap()
{
    if (!m_lastSampleAt.isValid())
        return;
    const QDateTime at = m_lastSampleAt.addMSecs(1);
    for (MonitorPage* page : std::as_const(m_monitorPages))
        page->addGap(at);
}

void MainWindow::createActions()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    m_connectAction = file->addAction(tr("&Connect…"), QKeySequence::Open, this, &MainWindow::showConnectDialog);
    m_disconnectAction = file->addAction(tr("&Disconnect"), this, [this] {
        m_collector->disconnectFromServer();
    });
    m_disconnectAction->setEnabled(false);
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
        m_customRange = {};
        pause->setChecked(false);
        for (ChartWidget* c : charts())
            c->setVisibleSeconds(window->currentData().toInt());
        // A wider window: fetch the older part from the history.
        const QDateTime start = QDateTime::currentDateTimeUtc().addSecs(-window->currentData().toInt());
        if (!m_server.isEmpty() && start < m_historyFrom) {
            loadHistory(start, m_historyFrom);
            m_historyFrom = start;
        }
    });
    connect(pause, &QAction::toggled, this, [charts](bool on) {
        for (ChartWidget* c : charts())
            c->setPaused(on);
    });

    QMenu* monitor = menuBar()->addMenu(tr("&Monitor"));
    monitor->addAction(tr("&Workload classes…"), this, &MainWindow::editClassifier);

    QMenu* sandbox = menuBar()->addMenu(tr("&Sandbox"));
    m_sandboxStartAction = sandbox->addAction(tr("&Start sandbox and connect"), this, [this] { startSandbox(); });
    m_sandboxStopAction = sandbox->addAction(tr("S&top sandbox"), this, &MainWindow::stopSandbox);

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
    m_collector->setClassifier(next);
    m_banner->show(Banner::Level::Info, tr("Workload classes changed; latency starts a new baseline"));
}

void MainWindow::showConnectDialog()
{
    ConnectDialog dialog(this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    if (dialog.choice() == ConnectDialog::Choice::StartSandbox)
        startSandbox();
    else
        connectTo(dialog.connInfo());
}

void MainWindow::connectTo(const htap::pg::ConnInfo& info)
{
    m_activity->clear();
    m_collector->connectTo(info);
}

void MainWindow::startSandbox(const QString& dir)
{
    if (m_sandboxJob.isRunning())
        return;
    m_sandboxDir = dir.isEmpty() ? htap::pg::Sandbox::defaultDir() : dir;
    m_sandboxStartAction->setEnabled(false);
    m_sandboxStopAction->setEnabled(false);
    setStatusDot(QColor(0xe0, 0xa0, 0x00), tr("Starting the sandbox in %1 …").arg(m_sandboxDir));
    // Progress comes from the worker thread: hand it to the GUI thread as a queued call, and
    // only the latest line matters.
    QPointer<QLabel> label = m_stateLabel;
    m_sandboxJob.setFuture(QtConcurrent::run([dir = m_sandboxDir, label] {
        htap::pg::Sandbox sandbox(dir);
        SandboxOutcome out;
        out.ok = sandbox.start(0, 1.0,
            [label](const QString& step) {
                QMetaObject::invokeMethod(qApp, [label, step] {
                    if (label)
                        label->setText(QObject::tr("Sandbox: %1").arg(step));
                });
            },
            &out.error);
        if (out.ok)
            out.info = sandbox.connInfo();
        return out;
    }));
}

void MainWindow::onSandboxFinished()
{
    m_sandboxStartAction->setEnabled(true);
    m_sandboxStopAction->setEnabled(true);
    const SandboxOutcome out = m_sandboxJob.result();
    if (!out.ok) {
        setStatusDot(QColor(0xc0, 0x20, 0x20), tr("Sandbox did not start"));
        m_banner->show(Banner::Level::Error, tr("The sandbox did not start: %1").arg(out.error));
        return;
    }
    m_banner->show(Banner::Level::Info, tr("Sandbox running: %1").arg(out.info.toConnString()));
    connectTo(out.info);
}

void MainWindow::stopSandbox()
{
    const auto answer = QMessageBox::question(this, tr("Stop sandbox"),
        tr("Stop the sandbox server? Its data is kept; sessions connected to it end."));
    if (answer != QMessageBox::Yes)
        return;
    m_collector->disconnectFromServer();
    const QString dir = m_sandboxDir.isEmpty() ? htap::pg::Sandbox::defaultDir() : m_sandboxDir;
    auto* watcher = new QFutureWatcher<QString>(this);
    connect(watcher, &QFutureWatcher<QString>::finished, this, [this, watcher] {
        const QString error = watcher->result();
        watcher->deleteLater();
        if (error.isEmpty())
            m_banner->show(Banner::Level::Info, tr("Sandbox stopped"));
        else
            m_banner->show(Banner::Level::Error, tr("Could not stop the sandbox: %1").arg(error));
    });
    watcher->setFuture(QtConcurrent::run([dir] {
        QString error;
        htap::pg::Sandbox(dir).stop(&error);
        return error;
    }));
}

void MainWindow::onStateChanged(ConnectionState state, const QString& text)
{
    m_disconnectAction->setEnabled(state != ConnectionState::Disconnected && state != ConnectionState::Failed);
    switch (state) {
    case ConnectionState::Connected:
        setStatusDot(QColor(0x20, 0xa0, 0x40), text);
        break;
    case ConnectionState::Connecting:
        setStatusDot(QColor(0xe0, 0xa0, 0x00), text);
        break;
    case ConnectionState::NotResponding:
        setStatusDot(QColor(0xe0, 0x60, 0x00), text);
        break;
    case ConnectionState::Reconnecting:
        markGap();
        setStatusDot(QColor(0xe0, 0x60, 0x00), text);
        break;
    case ConnectionState::Failed:
        setStatusDot(QColor(0xc0, 0x20, 0x20), tr("Not connected: %1").arg(text));
        break;
    case ConnectionState::Disconnected:
        markGap();
        setStatusDot(Qt::gray, text);
        break;
    }
}

void MainWindow::onPasswordRequired(const htap::pg::ConnInfo& info)
{
    bool ok = false;
    const QString password = QInputDialog::getText(this, tr("Password"),
        tr("Password for %1:").arg(info.displayName()), QLineEdit::Password, {}, &ok);
    if (ok && !password.isEmpty())
        m_collector->connectTo(info.with(u"password"_s, password));
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
    m_collector->disconnectFromServer();
    event->accept();
}

} // namespace htap::ui
