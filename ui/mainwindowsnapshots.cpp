// The main window's snapshots and time ranges: exporting and opening snapshot files, the stored
// snapshots, comparing two, a custom range of history, marking a gap.
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
    const bool connected = m_selected && m_selected->state() == htap::monitor::ConnectionState::Connected;
    const htap::pg::ConnInfo info = m_selected ? m_selected->collector()->connInfoWithPassword() : htap::pg::ConnInfo();
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
        if (o.error.isEmpty())
            for (const QJsonObject& i : file.incidents(server, request.from, request.to, &o.error))
                s.incidents.append(i);
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

/// A snapshot read on a worker thread, or why it could not be.
struct MainWindow::LoadedSnapshot {
    htap::report::Snapshot snapshot;
    QString error;
};

void MainWindow::openSnapshotFile(const QString& path)
{
    loadSnapshot(path, [path] {
        LoadedSnapshot l;
        htap::report::Snapshot::fromFile(path, &l.snapshot, &l.error);
        return l;
    });
}

void MainWindow::loadSnapshot(const QString& label, const std::function<LoadedSnapshot()>& load)
{
    auto* watcher = new QFutureWatcher<LoadedSnapshot>(this);
    connect(watcher, &QFutureWatcher<LoadedSnapshot>::finished, this, [this, watcher, label] {
        const LoadedSnapshot l = watcher->result();
        watcher->deleteLater();
        if (!l.error.isEmpty()) {
            m_banner->show(Banner::Level::Warning, tr("Cannot open %1: %2").arg(label, l.error));
            Q_EMIT snapshotOpened(QString(), l.error);
            return;
        }
        whenNoDialog([this, l, label] {
            showSnapshot(l.snapshot, label);
            Q_EMIT snapshotOpened(l.snapshot.title, QString());
        });
    });
    watcher->setFuture(QtConcurrent::run(load));
}

void MainWindow::showSnapshot(const htap::report::Snapshot& snapshot, const QString& path)
{
    // Offline: the pages show the snapshot's samples and nothing shown acts on a server; the
    // servers in the list go on being sampled into the history meanwhile.
    selectServer(nullptr);
    for (MonitorPage* page : std::as_const(m_monitorPages))
        page->clear(); // also when nothing was selected before (selectServer did nothing then)
    m_offline = path;
    m_server = u"snapshot:"_s + path;
    m_liveFrom = {};
    const int shown = replay(snapshot.samplesToReplay(), {}, true); // the tables: the last state of each section
    // The smallest time window that shows all of it.
    const qint64 span = snapshot.from.secsTo(snapshot.to);
    for (int i = 0; i < m_window->count(); ++i)
        if (m_window->itemData(i).toInt() >= span || i + 1 == m_window->count()) {
            m_window->setCurrentIndex(i);
            break;
        }
    setWindowTitle(tr("HTAP Studio — snapshot %1 (offline)").arg(snapshot.title.isEmpty() ? QFileInfo(path).fileName() : snapshot.title));
    m_banner->show(Banner::Level::Info, tr("Viewing the snapshot %1: %2, %3 to %4, %5 samples. Offline: nothing here acts on a "
                                           "server. Select a server in the list to go back to live monitoring.")
                                            .arg(QFileInfo(path).fileName(), snapshot.server,
                                                snapshot.from.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s),
                                                snapshot.to.toLocalTime().toString(u"HH:mm:ss"_s),
                                                QString::number(shown)));
    setStatusDot(Qt::gray, tr("Offline: snapshot %1").arg(QFileInfo(path).fileName()));
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
    loadSnapshot(tr("history snapshot #%1").arg(id), [id, path = Settings::historyPath()] {
        LoadedSnapshot l;
        const QByteArray json = htap::store::HistoryFile(path).snapshotJson(id, &l.error);
        if (l.error.isEmpty())
            htap::report::Snapshot::fromJson(json, &l.snapshot, &l.error);
        return l;
    });
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

} // namespace htap::ui
