// A sandbox's streaming standbys: each a sandbox folder of its own (data/, run/, log/,
// sandbox.json with role "standby"), made by pg_basebackup -R through a physical replication
// slot of the primary, listed in the primary's sandbox.json so that its start, stop and destroy
// take them along.
#include "sandbox.h"
#include "sandbox_p.h"

#include "connection.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QLockFile>
#include <QRegularExpression>
#include <QThread>

#include <sys/stat.h>

namespace htap::pg {

using namespace Qt::StringLiterals;
using namespace sandbox_detail;

namespace {

/// The primary's slot for a standby folder: "htap_" and its name in lower-case letters, digits
/// and underscores (a slot name allows nothing else), at most 63 bytes.
QString slotFor(const QString& standbyDir)
{
    QString name = QFileInfo(standbyDir).fileName().toLower();
    name.replace(QRegularExpression(u"[^a-z0-9_]"_s), u"_"_s);
    return QString(u"htap_"_s + name).left(63);
}

bool setStandbys(const QString& primaryDir, const QStringList& standbys, QString* error)
{
    QJsonObject meta = readMeta(primaryDir);
    if (meta.isEmpty()) {
        *error = u"%1 is not a sandbox"_s.arg(primaryDir);
        return false;
    }
    if (standbys.isEmpty())
        meta.remove(u"standbys"_s);
    else
        meta.insert(u"standbys"_s, QJsonArray::fromStringList(standbys));
    return writeMeta(primaryDir, meta, error);
}

/// The copies an add-standby has under way, in the primary's sandbox.json ("copying": folder
/// and slot), written before pg_basebackup starts: one killed half way leaves its record, and
/// the next add-standby or start (under the primary's lock, so nothing copies meanwhile)
/// removes the half-made folder and drops the slot, which would hold WAL for ever.
bool setCopying(const QString& primaryDir, const QString& dir, const QString& slot, bool on, QString* error)
{
    QJsonObject meta = readMeta(primaryDir);
    if (meta.isEmpty()) {
        *error = u"%1 is not a sandbox"_s.arg(primaryDir);
        return false;
    }
    QJsonObject copying = meta.value(u"copying"_s).toObject();
    if (on)
        copying.insert(dir, slot);
    else
        copying.remove(dir);
    if (copying.isEmpty())
        meta.remove(u"copying"_s);
    else
        meta.insert(u"copying"_s, copying);
    return writeMeta(primaryDir, meta, error);
}

} // namespace

void Sandbox::settleInterruptedCopies(const ConnInfo& primary, const Progress& progress)
{
    const QJsonObject copying = readMeta(m_dir).value(u"copying"_s).toObject();
    for (auto it = copying.begin(); it != copying.end(); ++it) {
        const QString dir = it.key(), slot = it.value().toString();
        bool slotGone = primary.isEmpty();
        Connection conn;
        if (!primary.isEmpty() && !conn.open(primary.with(u"dbname"_s, u"postgres"_s), {10000, u"htap-studio sandbox"_s})) {
            // pg_basebackup's WAL streamer is a process of its own that outlives the killed copy
            // (its parent died of the parent-death signal, it did not): it keeps the slot
            // active until its walsender goes.
            conn.exec(u"SELECT pg_terminate_backend(active_pid, 5000) FROM pg_replication_slots WHERE slot_name = $1 AND active"_s,
                {slot});
            for (int i = 0; i < 50 && conn.exec(u"SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active"_s, {slot}).rowCount(); ++i)
                QThread::msleep(100);
            conn.exec(u"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active"_s, {slot});
            slotGone = conn.exec(u"SELECT 1 FROM pg_replication_slots WHERE slot_name = $1"_s, {slot}).rowCount() == 0;
        }
        if (!slotGone)
            continue; // the server is down (start settles it once up) or the slot is in use
        for (const QString& sub : {u"data"_s, u"run"_s, u"log"_s})
            QDir(dir + u'/' + sub).removeRecursively();
        QFile::remove(dir + u"/sandbox.json"_s);
        QDir().rmdir(dir);
        QString err;
        setCopying(m_dir, dir, slot, false, &err);
        progress(u"removed the half-made standby copy in %1 that an interrupted add-standby left, and dropped its slot %2"_s.arg(dir, slot));
    }
}

QStringList Sandbox::standbySettings() const
{
    const QJsonObject meta = readMeta(m_dir);
    if (meta.value(u"role"_s).toString() != u"standby"_s)
        return {};
    // cluster_name is what the primary's pg_stat_replication shows as application_name.
    return {u"cluster_name=%1"_s.arg(QFileInfo(m_dir).fileName()),
        u"hot_standby_feedback=%1"_s.arg(meta.value(u"hotStandbyFeedback"_s).toBool() ? u"on"_s : u"off"_s),
        // Replay waiting on a report is logged (after deadlock_timeout), not only its end.
        u"log_recovery_conflict_waits=on"_s};
}

bool Sandbox::addStandby(QString* standbyDir, int port, bool hotStandbyFeedback, const Progress& progressIn, QString* error)
{
    const Progress progress = progressIn ? progressIn : [](const QString&) {};
    const SandboxStatus primary = status();
    if (primary.standby) {
        *error = u"%1 is itself a standby; add standbys to its primary, %2"_s.arg(m_dir, primary.primary);
        return false;
    }
    if (!primary.running) {
        *error = primary.initialized ? u"the sandbox in %1 is not running; start it first"_s.arg(m_dir)
                                     : u"no sandbox in %1"_s.arg(m_dir);
        return false;
    }
    // Two adds at once (the GUI and the CLI) must not pick the same folder, nor one undo the
    // other's half-made standby: the primary's lock, as for start and stop.
    QLockFile lock(m_dir + u"/.lock"_s);
    lock.setStaleLockTime(0);
    if (!lock.tryLock(m_lockWaitMs)) {
        *error = u"another process is starting, stopping or changing the sandbox in %1; try again when it is done"_s.arg(m_dir);
        return false;
    }
    settleInterruptedCopies(connInfo(), progress);
    QString dir = standbyDir->isEmpty() ? QString() : QDir::cleanPath(QFileInfo(*standbyDir).absoluteFilePath());
    for (int n = 1; dir.isEmpty() && n < 100; ++n)
        if (!QFileInfo::exists(u"%1-standby%2"_s.arg(m_dir).arg(n)))
            dir = u"%1-standby%2"_s.arg(m_dir).arg(n);
    if (dir == m_dir || dir.startsWith(m_dir + u'/')) {
        *error = u"a standby needs a folder of its own, not %1 inside the sandbox"_s.arg(dir);
        return false;
    }
    if (QFileInfo::exists(dir + u"/data/PG_VERSION"_s) || !readMeta(dir).isEmpty()) {
        *error = u"%1 already holds a sandbox; choose another folder"_s.arg(dir);
        return false;
    }
    Sandbox standby(dir);
    if (QFile::encodeName(dir + u"/run/.s.PGSQL.65535"_s).size() > 107 || !safePath(dir)) {
        *error = u"standby folder %1 is too long for a unix socket or has a quote, backslash, $ or backquote"_s.arg(dir);
        return false;
    }
    QString err;
    // A port named and taken is said before minutes of copying, not after.
    if (int chosen = 0; port != 0 && !standby.choosePort(port, &chosen, &err)) {
        *error = err;
        return false;
    }
    if (!standby.prepareFolder(&err)) {
        *error = err;
        return false;
    }
    const RunAs as = runAs(&err);
    if (!err.isEmpty() || !reachable(dir, as, &err)) {
        *error = err;
        return false;
    }
    const auto undo = [&] {
        for (const QString& sub : {u"data"_s, u"run"_s, u"log"_s})
            QDir(dir + u'/' + sub).removeRecursively();
        QFile::remove(dir + u"/sandbox.json"_s);
        QDir().rmdir(dir);
    };
    for (const QString& sub : {u"data"_s, u"run"_s, u"log"_s}) {
        const QString p = dir + u'/' + sub;
        if (::mkdir(QFile::encodeName(p).constData(), 0700) != 0 || !handOver(p, as, &err)) {
            *error = err.isEmpty() ? u"cannot create %1: %2"_s.arg(p, errnoText()) : err;
            undo();
            return false;
        }
    }
    // Through a slot, so that the primary keeps the WAL the standby has not received yet.
    const QString slot = slotFor(dir);
    m_binDir = primary.binDir.isEmpty() ? findBinDir(&err) : primary.binDir;
    if (!setCopying(m_dir, dir, slot, true, &err)) {
        *error = err;
        undo();
        return false;
    }
    progress(u"pg_basebackup: copying the sandbox into %1/data (slot %2)"_s.arg(dir, slot));
    QString out;
    if (!runServerTool(u"pg_basebackup"_s,
            {u"-D"_s, dir + u"/data"_s, u"-h"_s, m_dir + u"/run"_s, u"-p"_s, QString::number(primary.port), u"-U"_s,
                QString::fromLatin1(kSuperuser), u"-R"_s, u"-X"_s, u"stream"_s, u"-C"_s, u"-S"_s, slot, u"-c"_s, u"fast"_s,
                u"-w"_s},
            &out, 30 * 60 * 1000, ToolLife::DiesWithCaller)) {
        *error = u"pg_basebackup failed: %1"_s.arg(out.section(u'\n', -2).simplified());
        undo();
        Connection conn; // a slot made before the copy failed would hold WAL for ever
        if (!conn.open(connInfo().with(u"dbname"_s, u"postgres"_s), {10000, u"htap-studio sandbox"_s}))
            conn.exec(u"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active"_s,
                {slot});
        setCopying(m_dir, dir, slot, false, &err);
        return false;
    }
    const QJsonObject primaryMeta = readMeta(m_dir);
    const QJsonObject meta {{u"format"_s, u"htap-sandbox"_s}, {u"version"_s, primaryMeta.value(u"version"_s)},
        {u"created"_s, QDateTime::currentDateTimeUtc().toString(Qt::ISODate)}, {u"role"_s, u"standby"_s}, {u"primary"_s, m_dir},
        {u"slot"_s, slot}, {u"hotStandbyFeedback"_s, hotStandbyFeedback}, {u"loaded"_s, true},
        {u"scale"_s, primary.scale}, {u"binDir"_s, m_binDir}};
    QStringList list = status().standbys; // as it is now, under the lock
    list << dir;
    if (!writeMeta(dir, meta, &err) || !setStandbys(m_dir, list, &err) || !setCopying(m_dir, dir, slot, false, &err)) {
        *error = err;
        return false;
    }
    lock.unlock(); // listed now; its start takes its own folder's lock
    if (!standby.start(port, primary.scale > 0 ? primary.scale : 1, progress, &err)) {
        // Not left half-made (stopped, listed, its slot holding WAL): removed, slot and all.
        QString removeError;
        *error = removeStandby(dir, &removeError)
            ? u"%1; the standby was removed again"_s.arg(err)
            : u"%1; removing the half-made standby failed too: %2 (htapctl sandbox remove-standby --standby-dir %3)"_s
                  .arg(err, removeError, dir);
        return false;
    }
    *standbyDir = dir;
    return true;
}

bool Sandbox::removeStandby(const QString& standbyDirIn, QString* error)
{
    const QString dir = QDir::cleanPath(QFileInfo(standbyDirIn).absoluteFilePath());
    QLockFile lock(m_dir + u"/.lock"_s);
    lock.setStaleLockTime(0);
    if (!lock.tryLock(m_lockWaitMs)) {
        *error = u"another process is starting, stopping or changing the sandbox in %1; try again when it is done"_s.arg(m_dir);
        return false;
    }
    const SandboxStatus primary = status();
    if (!primary.standbys.contains(dir)) {
        *error = primary.standbys.isEmpty() ? u"the sandbox in %1 has no standby"_s.arg(m_dir)
                                            : u"%1 is not a standby of the sandbox in %2 (its standbys: %3)"_s.arg(dir, m_dir,
                                                  primary.standbys.join(u", "_s));
        return false;
    }
    Sandbox standby(dir);
    const SandboxStatus st = standby.status();
    QString err;
    if (!readMeta(dir).isEmpty() && !standby.destroy(&err)) {
        *error = err;
        return false;
    }
    // The slot goes with it: an abandoned slot keeps every WAL segment since.
    if (primary.running && !st.slot.isEmpty()) {
        Connection conn;
        if (PgError e = conn.open(connInfo().with(u"dbname"_s, u"postgres"_s), {10000, u"htap-studio sandbox"_s})) {
            *error = u"the standby is gone, but its slot %1 could not be dropped: %2"_s.arg(st.slot, e.oneLine());
            return false;
        }
        const Result r = conn.exec(
            u"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1"_s, {st.slot});
        if (!r.ok()) {
            *error = u"the standby is gone, but its slot %1 could not be dropped: %2"_s.arg(st.slot, r.error().oneLine());
            return false;
        }
    }
    QStringList list = primary.standbys;
    list.removeAll(dir);
    return setStandbys(m_dir, list, error);
}

void Sandbox::startStandbys(const Progress& progress) const
{
    for (const QString& dir : status().standbys) {
        Sandbox standby(dir);
        const SandboxStatus st = standby.status();
        if (!st.initialized || st.running)
            continue;
        QString err;
        if (!standby.start(0, st.scale > 0 ? st.scale : 1, progress, &err))
            progress(u"standby %1 did not start: %2"_s.arg(dir, err));
    }
}

bool Sandbox::stopStandbys(QString* error) const
{
    for (const QString& dir : status().standbys) {
        Sandbox standby(dir);
        if (standby.status().running && !standby.stop(error))
            return false;
    }
    return true;
}

} // namespace htap::pg
