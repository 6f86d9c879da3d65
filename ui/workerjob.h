// Runs a page's server work on a pool thread with a connection of its own, and hands the answer
// back on the page's thread: the GUI thread never waits on the network.
#pragma once

#include <pg/connection.h>

#include <QFutureWatcher>
#include <QObject>
#include <QtConcurrent>

#include <functional>

namespace htap::ui {

/// A worker's answer: its value, or why there is none (the connect failed).
template <typename T>
struct WorkerAnswer {
    T value {};
    QString error;
};

/// Opens a connection to info on a pool thread, runs work on it, closes it, and calls done with
/// the answer on receiver's thread (not at all when receiver is gone by then).
template <typename T>
void runOnWorker(QObject* receiver, const htap::pg::ConnInfo& info, const QString& applicationName,
    std::function<T(htap::pg::Connection&)> work, std::function<void(const WorkerAnswer<T>&)> done)
{
    auto* watcher = new QFutureWatcher<WorkerAnswer<T>>(receiver);
    QObject::connect(watcher, &QFutureWatcher<WorkerAnswer<T>>::finished, receiver, [watcher, done] {
        const WorkerAnswer<T> r = watcher->result();
        watcher->deleteLater();
        done(r);
    });
    watcher->setFuture(QtConcurrent::run([info, applicationName, work] {
        WorkerAnswer<T> r;
        htap::pg::Connection conn;
        if (htap::pg::PgError e = conn.open(info, {10000, applicationName})) {
            r.error = e.oneLine();
            return r;
        }
        r.value = work(conn);
        return r;
    }));
}

} // namespace htap::ui
