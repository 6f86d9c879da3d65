// The main window's sandbox actions: start it, add a standby, stop it (on worker threads).
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

void MainWindow::addSandboxStandby()
{
    if (m_sandboxJob.isRunning())
        return;
    // The replica trade-off, chosen here and visible later on the standby's own row.
    QMessageBox ask(QMessageBox::Question, tr("Add standby"),
        tr("Add a streaming standby of the sandbox (pg_basebackup through a replication slot, in a folder beside it)?"),
        QMessageBox::Cancel, this);
    ask.setInformativeText(tr("With hot_standby_feedback on, long reports on the standby hold the primary's xmin horizon "
                              "(its vacuum waits, tables bloat). Off, the primary's vacuum goes on and the standby cancels "
                              "reports that need the rows it removed (recovery conflicts)."));
    QPushButton* on = ask.addButton(tr("Feedback on"), QMessageBox::AcceptRole);
    QPushButton* off = ask.addButton(tr("Feedback off"), QMessageBox::AcceptRole);
    ask.setDefaultButton(off);
    ask.exec();
    if (ask.clickedButton() != on && ask.clickedButton() != off)
        return;
    const bool feedback = ask.clickedButton() == on;
    m_sandboxDir = m_sandboxDir.isEmpty() ? htap::pg::Sandbox::defaultDir() : m_sandboxDir;
    for (QAction* a : {m_sandboxStartAction, m_sandboxStopAction, m_sandboxStandbyAction})
        a->setEnabled(false);
    setStatusDot(QColor(0xe0, 0xa0, 0x00), tr("Adding a standby to the sandbox in %1 …").arg(m_sandboxDir));
    QPointer<QLabel> label = m_stateLabel;
    m_sandboxJob.setFuture(QtConcurrent::run([dir = m_sandboxDir, label, feedback] {
        const auto progress = [label](const QString& step) {
            QMetaObject::invokeMethod(qApp, [label, step] {
                if (label)
                    label->setText(QObject::tr("Sandbox: %1").arg(step));
            });
        };
        htap::pg::Sandbox sandbox(dir);
        SandboxOutcome out;
        out.standbyJob = true;
        QString standbyDir;
        out.ok = sandbox.start(0, 1.0, progress, &out.error) && sandbox.addStandby(&standbyDir, 0, feedback, progress, &out.error);
        if (out.ok) {
            out.info = htap::pg::Sandbox(standbyDir).connInfo();
            out.standbyDir = standbyDir;
        }
        return out;
    }));
}

void MainWindow::onSandboxFinished()
{
    for (QAction* a : {m_sandboxStartAction, m_sandboxStopAction, m_sandboxStandbyAction})
        a->setEnabled(true);
    const SandboxOutcome out = m_sandboxJob.result();
    if (!out.ok) {
        setStatusDot(QColor(0xc0, 0x20, 0x20), out.standbyJob ? tr("No standby added") : tr("Sandbox did not start"));
        m_banner->show(Banner::Level::Error, out.standbyJob ? tr("The standby was not added: %1").arg(out.error)
                                                            : tr("The sandbox did not start: %1").arg(out.error));
        return;
    }
    connectTo(out.info); // selecting it clears the banner: the message comes after
    m_banner->show(Banner::Level::Info, !out.standbyJob
            ? tr("Sandbox running: %1").arg(out.info.toConnString())
            : tr("Standby running in %1: %2 (htapctl sandbox remove-standby deletes it)").arg(out.standbyDir, out.info.toConnString()));
}

void MainWindow::stopSandbox()
{
    const auto answer = QMessageBox::question(this, tr("Stop sandbox"),
        tr("Stop the sandbox server? Its data is kept; sessions connected to it end."));
    if (answer != QMessageBox::Yes)
        return;
    const QString dir = m_sandboxDir.isEmpty() ? htap::pg::Sandbox::defaultDir() : m_sandboxDir;
    // Its monitor lets go first, so it is not counted as a server gone down.
    const QString socket = htap::pg::Sandbox(dir).connInfo().value(u"host"_s);
    for (MonitoredServer* server : std::as_const(m_servers))
        if (server->info().value(u"host"_s) == socket)
            server->collector()->disconnectFromServer();
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

} // namespace htap::ui
