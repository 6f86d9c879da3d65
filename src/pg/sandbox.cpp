#include "sandbox.h"
#include "sandbox_p.h"

#include "connection.h"
#include "identifier.h"
#include "sqlfile.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QThread>
#include <QHostAddress>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLockFile>
#include <QProcess>
#include <QRegularExpression>
#include <QSaveFile>
#include <QStandardPaths>
#include <QTcpServer>
#include <QVersionNumber>

#include <cerrno>
#include <fcntl.h>
#include <cstring>
#include <grp.h>
#include <pwd.h>
#include <csignal>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace htap::pg {

using namespace Qt::StringLiterals;

namespace sandbox_detail {

constexpr int kFirstPort = 54320;
constexpr int kLastPort = 54999;
constexpr int kMetaVersion = 1;
const QString kMetaFile = u"sandbox.json"_s;

RunAs runAs(QString* error)
{
    RunAs r;
    r.uid = ::geteuid();
    r.gid = ::getegid();
    if (r.uid != 0)
        return r;
    const passwd* pw = ::getpwnam("postgres");
    if (!pw) {
        if (error)
            *error = u"running as root needs the 'postgres' OS account to run the server "
                     "(initdb refuses root); install postgresql-common or run as a normal user"_s;
        return r;
    }
    r.switchUser = true;
    r.uid = pw->pw_uid;
    r.gid = pw->pw_gid;
    r.name = QString::fromUtf8(pw->pw_name);
    r.home = QString::fromUtf8(pw->pw_dir);
    return r;
}

QString errnoText()
{
    return QString::fromLocal8Bit(std::strerror(errno));
}

/// Makes a path owned by the run-as account (no-op when we are that account).
bool handOver(const QString& path, const RunAs& as, QString* error)
{
    if (!as.switchUser)
        return true;
    if (::chown(QFile::encodeName(path).constData(), as.uid, as.gid) != 0) {
        if (error)
            *error = u"cannot give %1 to the %2 account: %3"_s.arg(path, as.name, errnoText());
        return false;
    }
    return true;
}

/// Every ancestor must let the run-as account through, or the server cannot reach its folder.
bool reachable(const QString& dir, const RunAs& as, QString* error)
{
    if (!as.switchUser)
        return true;
    QDir d(QFileInfo(dir).absoluteFilePath());
    while (true) {
        struct stat st {};
        const QByteArray p = QFile::encodeName(d.absolutePath());
        if (::stat(p.constData(), &st) == 0) {
            const bool mine = st.st_uid == as.uid;
            const bool through = mine ? (st.st_mode & S_IXUSR)
                : st.st_gid == as.gid ? (st.st_mode & S_IXGRP)
                                      : (st.st_mode & S_IXOTH);
            if (!through) {
                if (error)
                    *error = u"the %1 account cannot reach %2: %3 is mode %4; choose a --dir outside it "
                             "(the default for root is /var/lib/htap-studio/sandbox)"_s.arg(as.name, dir,
                                 d.absolutePath(), QString::number(st.st_mode & 07777, 8));
                return false;
            }
        }
        if (d.isRoot())
            return true;
        d.cdUp();
    }
}

bool portFree(int port)
{
    QTcpServer probe;
    return probe.listen(QHostAddress::LocalHost, quint16(port));
}

/// Reads at most maxBytes of a file without following a symlink: files inside the cluster's
/// folders belong to the server account, which must not be able to point root at another file.
QByteArray readNoFollow(const QString& path, qint64 maxBytes, qint64 fromEnd = 0)
{
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return {};
    QFile f;
    if (!f.open(fd, QIODevice::ReadOnly, QFileDevice::AutoCloseHandle)) {
        ::close(fd);
        return {};
    }
    if (fromEnd > 0 && f.size() > fromEnd)
        f.seek(f.size() - fromEnd);
    return f.read(maxBytes);
}

QJsonObject readMeta(const QString& dir)
{
    QFile f(dir + u'/' + kMetaFile);
    if (!f.open(QIODevice::ReadOnly) || f.size() > 65536)
        return {};
    const QJsonObject meta = QJsonDocument::fromJson(f.readAll()).object();
    // Only our own metadata makes a folder a sandbox, not any file of that name.
    if (meta.value(u"format"_s).toString() != u"htap-sandbox"_s || meta.value(u"version"_s).toInt() != kMetaVersion)
        return {};
    return meta;
}

/// True if pid is a live PostgreSQL server process (a stale postmaster.pid may name a pid that
/// now belongs to something else).
bool isPostgresProcess(qint64 pid)
{
    if (pid <= 0 || (::kill(pid_t(pid), 0) != 0 && errno != EPERM))
        return false;
    QFile comm(u"/proc/%1/comm"_s.arg(pid));
    if (!comm.open(QIODevice::ReadOnly))
        return true; // no /proc: trust kill()
    const QByteArray name = comm.readAll().trimmed();
    return name == "postgres" || name == "postmaster";
}

/// Characters that would break the shell command line pg_ctl builds, or a config value.
bool safePath(const QString& path)
{
    for (QChar c : path)
        if (c == u'\'' || c == u'"' || c == u'$' || c == u'`' || c == u'\\' || c == u'\n' || c.unicode() < 32)
            return false;
    return true;
}

bool writeMeta(const QString& dir, const QJsonObject& meta, QString* error)
{
    QSaveFile f(dir + u'/' + kMetaFile);
    if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(meta).toJson()) < 0 || !f.commit()) {
        if (error)
            *error = u"cannot write %1: %2"_s.arg(f.fileName(), f.errorString());
        return false;
    }
    return true;
}

} // namespace sandbox_detail

using namespace sandbox_detail;

Sandbox::Sandbox(QString dir)
    : m_dir(QDir::cleanPath(QFileInfo(dir).absoluteFilePath()))
{
}

QString Sandbox::defaultDir()
{
    const QString env = qEnvironmentVariable("HTAP_SANDBOX_DIR");
    if (!env.isEmpty())
        return env;
    if (::geteuid() == 0)
        return u"/var/lib/htap-studio/sandbox"_s;
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) + u"/htap-studio/sandbox"_s;
}

QString Sandbox::findBinDir(QString* error, int major)
{
    const QString env = qEnvironmentVariable("HTAP_PG_BINDIR");
    auto complete = [](const QString& dir) {
        for (const char* tool : {"initdb", "pg_ctl", "postgres"})
            if (!QFileInfo(dir + u'/' + QString::fromLatin1(tool)).isExecutable())
                return false;
        return true;
    };
    if (!env.isEmpty()) {
        if (complete(env))
            return env;
        if (error)
            *error = u"HTAP_PG_BINDIR=%1 does not hold initdb, pg_ctl and postgres"_s.arg(env);
        return {};
    }
    // Debian/Ubuntu: /usr/lib/postgresql/<major>/bin; RPM-style: /usr/pgsql-<major>/bin.
    QStringList candidates;
    for (const QString& v : QDir(u"/usr/lib/postgresql"_s).entryList(QDir::Dirs | QDir::NoDotAndDotDot))
        candidates << u"/usr/lib/postgresql/"_s + v + u"/bin"_s;
    for (const QString& v : QDir(u"/usr"_s).entryList({u"pgsql-*"_s}, QDir::Dirs))
        candidates << u"/usr/"_s + v + u"/bin"_s;
    QVersionNumber best;
    QString bestDir;
    static const QRegularExpression versionInPath(u"(\\d+(?:\\.\\d+)?)/bin$"_s);
    for (const QString& c : std::as_const(candidates)) {
        const auto m = versionInPath.match(c);
        const QVersionNumber v = m.hasMatch() ? QVersionNumber::fromString(m.captured(1)) : QVersionNumber();
        if (major > 0 && v.majorVersion() != major)
            continue;
        if (complete(c) && v > best) {
            best = v;
            bestDir = c;
        }
    }
    if (bestDir.isEmpty()) {
        const QString initdb = QStandardPaths::findExecutable(u"initdb"_s);
        if (major == 0 && !initdb.isEmpty() && complete(QFileInfo(initdb).canonicalPath()))
            return QFileInfo(initdb).canonicalPath();
        if (error && major > 0)
            *error = u"this sandbox was made by PostgreSQL %1, whose server binaries are not installed "
                     "(install postgresql-%1 or set HTAP_PG_BINDIR)"_s.arg(major);
        else if (error)
            *error = u"no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin and PATH); "
                     "install postgresql or set HTAP_PG_BINDIR"_s;
    }
    return bestDir;
}

bool Sandbox::isSandboxServer(Connection& conn, QString* which)
{
    // The server's own identity, as every role may read it; a data_directory when the role may
    // read that too. The conninfo is not asked: hostaddr and port can take a sandbox-looking
    // host anywhere.
    const Result r = conn.exec(u"SELECT (pg_control_system()).system_identifier::text, "
                               "CASE WHEN pg_has_role(current_user, 'pg_read_all_settings', 'USAGE') "
                               "THEN current_setting('data_directory') END"_s);
    if (!r.ok() || r.rowCount() != 1 || r.isNull(0, 0))
        return false;
    const quint64 serverId = r.text(0, 0).toULongLong();
    QStringList dirs {defaultDir()};
    if (!r.isNull(0, 1))
        dirs << QFileInfo(r.text(0, 1)).path();
    const QString host = conn.effectiveInfo().value(u"host"_s);
    if (host.endsWith(u"/run"_s))
        dirs << host.chopped(4);
    for (const QString& dir : std::as_const(dirs)) {
        if (readMeta(dir).isEmpty())
            continue;
        // pg_control begins with the cluster's system identifier, as initdb chose it.
        QFile control(dir + u"/data/global/pg_control"_s);
        quint64 id = 0;
        if (!control.open(QIODevice::ReadOnly) || control.read(reinterpret_cast<char*>(&id), sizeof id) != qint64(sizeof id))
            continue;
        if (id == serverId && serverId != 0) {
            if (which)
                *which = dir;
            return true;
        }
    }
    return false;
}

SandboxStatus Sandbox::status() const
{
    SandboxStatus s;
    s.dir = m_dir;
    const QJsonObject meta = readMeta(m_dir);
    s.initialized = !meta.isEmpty() && QFileInfo::exists(m_dir + u"/data/PG_VERSION"_s);
    s.port = meta.value(u"port"_s).toInt();
    s.scale = meta.value(u"scale"_s).toDouble();
    s.loaded = meta.value(u"loaded"_s).toBool();
    s.binDir = meta.value(u"binDir"_s).toString();
    s.logFile = m_dir + u"/log/postgresql.log"_s;
    s.standby = meta.value(u"role"_s).toString() == u"standby"_s;
    s.primary = meta.value(u"primary"_s).toString();
    s.slot = meta.value(u"slot"_s).toString();
    s.hotStandbyFeedback = meta.value(u"hotStandbyFeedback"_s).toBool();
    for (const QJsonValue& v : meta.value(u"standbys"_s).toArray())
        s.standbys << v.toString();
    // postmaster.pid: first line the pid, and the server is up if that process exists.
    if (s.initialized) {
        const qint64 pid = readNoFollow(m_dir + u"/data/postmaster.pid"_s, 32).split('\n').value(0).trimmed().toLongLong();
        if (isPostgresProcess(pid)) {
            s.running = true;
            s.pid = pid;
        }
    }
    return s;
}

ConnInfo Sandbox::connInfo() const
{
    const SandboxStatus s = status();
    return ConnInfo()
        .with(u"host"_s, m_dir + u"/run"_s)
        .with(u"port"_s, QString::number(s.port))
        .with(u"dbname"_s, QString::fromLatin1(kDatabase))
        .with(u"user"_s, QString::fromLatin1(kSuperuser));
}

bool Sandbox::prepareFolder(QString* error)
{
    const QFileInfo info(m_dir);
    if (info.exists() && !info.isDir()) {
        *error = u"sandbox folder %1 exists and is not a folder"_s.arg(m_dir);
        return false;
    }
    if (info.exists() && readMeta(m_dir).isEmpty()) {
        if (QFileInfo::exists(m_dir + u"/PG_VERSION"_s) || QFileInfo::exists(m_dir + u"/data/PG_VERSION"_s)) {
            *error = u"%1 holds a PostgreSQL data directory that is not an HTAP Studio sandbox; "
                     "choose another --dir"_s.arg(m_dir);
            return false;
        }
        const QStringList entries = QDir(m_dir).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden);
        if (!entries.isEmpty() && entries != QStringList {u".lock"_s}) {
            *error = u"%1 is not empty and is not an HTAP Studio sandbox; choose an empty or new folder"_s.arg(m_dir);
            return false;
        }
    }
    // QDir::mkpath gives no reason; mkdir(2) does.
    QStringList missing;
    for (QDir d(m_dir); !d.exists(); d.setPath(QFileInfo(d.absolutePath()).path()))
        missing.prepend(d.absolutePath());
    for (const QString& p : std::as_const(missing)) {
        if (::mkdir(QFile::encodeName(p).constData(), 0755) != 0 && errno != EEXIST) {
            *error = u"cannot create sandbox folder %1: %2"_s.arg(p, errnoText());
            return false;
        }
    }
    // As root we write our metadata into this folder, so it must be root's own: a folder the
    // server account controls could hold symlinks aimed at other files.
    struct stat st {};
    if (::geteuid() == 0 && ::lstat(QFile::encodeName(m_dir).constData(), &st) == 0 && st.st_uid != 0) {
        *error = u"%1 is not owned by root; as root, use a sandbox folder that root owns "
                 "(the default is /var/lib/htap-studio/sandbox)"_s.arg(m_dir);
        return false;
    }
    if (::access(QFile::encodeName(m_dir).constData(), W_OK) != 0) {
        *error = u"sandbox folder %1 is not writable: %2"_s.arg(m_dir, errnoText());
        return false;
    }
    return true;
}

bool Sandbox::runPgCtl(const QStringList& args, QString* output, int timeoutMs) const
{
    return runServerTool(u"pg_ctl"_s, args, output, timeoutMs);
}

bool Sandbox::runServerTool(const QString& tool, const QStringList& args, QString* output, int timeoutMs, ToolLife life) const
{
    QString ignored;
    const RunAs as = runAs(&ignored);
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.setWorkingDirectory(m_dir);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(u"LC_ALL"_s, u"C"_s); // so we can read its messages
    env.remove(u"PGDATA"_s);
    if (as.switchUser) {
        env.insert(u"HOME"_s, as.home);
        env.insert(u"USER"_s, as.name);
        env.insert(u"LOGNAME"_s, as.name);
        const uid_t uid = as.uid;
        const gid_t gid = as.gid;
        // Runs in the forked child before exec: async-signal-safe calls only. The parent-death
        // signal after the switch (a change of credentials clears it).
        p.setChildProcessModifier([uid, gid, life, parent = ::getpid()] {
            if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)
                ::_exit(126);
            if (life == ToolLife::DiesWithCaller && (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent))
                ::_exit(125);
        });
    } else if (life == ToolLife::DiesWithCaller) {
        p.setChildProcessModifier([parent = ::getpid()] {
            if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent)
                ::_exit(125);
        });
    }
    p.setProcessEnvironment(env);
    p.start(m_binDir + u'/' + tool, args);
    if (!p.waitForStarted(10000)) {
        *output = u"cannot run %1/%2: %3"_s.arg(m_binDir, tool, p.errorString());
        return false;
    }
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished(2000);
        *output = u"%1 %2 did not finish within %3 s"_s.arg(tool, args.value(0), QString::number(timeoutMs / 1000));
        return false;
    }
    *output = QString::fromLocal8Bit(p.readAll()).trimmed();
    if (p.exitCode() == 126 && as.switchUser)
        *output = u"cannot switch to the %1 account to run the server"_s.arg(as.name);
    return p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
}

bool Sandbox::initCluster(const Progress& progress, QString* error)
{
    const RunAs as = runAs(error);
    if (!error->isEmpty())
        return false;
    if (!reachable(m_dir, as, error))
        return false;
    // The folder stays ours (root's, when we are root); only the subfolders we create here go
    // to the server account.
    QStringList made;
    auto undo = [&] {
        for (const QString& p : std::as_const(made))
            QDir(p).removeRecursively();
    };
    for (const QString& sub : {u"data"_s, u"run"_s, u"log"_s}) {
        const QString p = m_dir + u'/' + sub;
        if (::mkdir(QFile::encodeName(p).constData(), 0700) != 0) {
            *error = u"cannot create %1: %2"_s.arg(p, errnoText());
            undo();
            return false;
        }
        made << p;
        if (!handOver(p, as, error)) {
            undo();
            return false;
        }
    }
    progress(u"initdb: creating the cluster in %1/data"_s.arg(m_dir));
    QString out;
    // Unix socket (in our 0700 folder): trust. TCP on 127.0.0.1: password only, and no role has
    // one until the operator gives it one, so the sandbox is not open to other local users.
    const QStringList initdbOpts = {u"-U"_s, QString::fromLatin1(kSuperuser), u"-E"_s, u"UTF8"_s,
        u"--no-locale"_s, u"--auth-local=trust"_s, u"--auth-host=scram-sha-256"_s};
    if (!runPgCtl({u"initdb"_s, u"-s"_s, u"-D"_s, m_dir + u"/data"_s, u"-o"_s, initdbOpts.join(u' ')}, &out)) {
        *error = u"initdb failed: %1"_s.arg(out.section(u'\n', -3).simplified());
        undo(); // a half-made cluster would make every later start refuse the folder
        return false;
    }
    return true;
}

bool Sandbox::choosePort(int requested, int* chosen, QString* error)
{
    if (requested != 0) {
        if (requested < 1 || requested > 65535) {
            *error = u"invalid port %1: expected 1 to 65535"_s.arg(requested);
            return false;
        }
        if (!portFree(requested)) {
            *error = u"port %1 on 127.0.0.1 is already in use; choose another --port or leave it out"_s.arg(requested);
            return false;
        }
        *chosen = requested;
        return true;
    }
    const int saved = readMeta(m_dir).value(u"port"_s).toInt();
    if (saved > 0 && portFree(saved)) {
        *chosen = saved;
        return true;
    }
    for (int p = kFirstPort; p <= kLastPort; ++p) {
        if (portFree(p)) {
            *chosen = p;
            return true;
        }
    }
    *error = u"no free port between %1 and %2 on 127.0.0.1"_s.arg(kFirstPort).arg(kLastPort);
    return false;
}

QStringList Sandbox::preloadLibraries() const
{
    // pg_stat_statements always (the latency figures). The others when their Debian package is
    // installed: pg_stat_kcache (postgresql-15-pg-stat-kcache: CPU time per statement; after
    // pg_stat_statements, as its README orders), pg_wait_sampling (postgresql-15-pg-wait-sampling:
    // the wait-event profile), pg_cron (postgresql-15-cron: refresh schedules can run on the
    // server; its jobs run in background workers, so they need no password).
    QStringList libraries {u"pg_stat_statements"_s};
    for (const QString& optional : {u"pg_stat_kcache"_s, u"pg_wait_sampling"_s, u"pg_cron"_s})
        if (!m_binDir.isEmpty() && QFileInfo::exists(QDir(m_binDir).absoluteFilePath(u"../lib/%1.so"_s.arg(optional))))
            libraries << optional;
    return libraries;
}

QString Sandbox::serverOptions(int port) const
{
    // Given on pg_ctl's command line, so that we never write inside the cluster's folders (as
    // root that would mean writing where the server account could plant a symlink).
    // pg_ctl hands this string to /bin/sh: values are single-quoted; start() refuses folder
    // names with quotes or shell characters.
    // This overrides shared_preload_libraries in postgresql.conf: preloadLibraries() is the list.
    const QStringList preload = preloadLibraries();
    const bool cron = preload.contains(u"pg_cron"_s);
    QStringList settings {
        u"port=%1"_s.arg(port),
        u"listen_addresses=127.0.0.1"_s,
        u"unix_socket_directories=%1/run"_s.arg(m_dir),
        u"shared_preload_libraries=%1"_s.arg(preload.join(u',')),
        u"pg_stat_statements.track=top"_s,
        u"track_io_timing=on"_s,
        u"max_connections=200"_s,
        u"max_prepared_transactions=20"_s,
        u"shared_buffers=256MB"_s,
        u"log_line_prefix=%m [%p] %q%u@%d "_s,
        // The log collected into the file pg_ctl starts it in: the server can then read it back
        // (pg_current_logfile), which is how the monitor names the statements a standby's
        // recovery cancelled. One file, never rotated, as before.
        u"logging_collector=on"_s,
        u"log_directory=%1/log"_s.arg(m_dir),
        u"log_filename=postgresql.log"_s,
        u"log_rotation_age=0"_s,
        u"log_rotation_size=0"_s,
        u"log_lock_waits=on"_s,
        u"log_autovacuum_min_duration=10s"_s,
    };
    if (cron)
        settings << u"cron.database_name=%1"_s.arg(QString::fromLatin1(kDatabase)) << u"cron.use_background_workers=on"_s
                 << u"max_worker_processes=16"_s;
    settings << standbySettings();
    QStringList args;
    for (const QString& setting : settings)
        args << u"-c '"_s + setting + u'\'';
    return args.join(u' ');
}

QString Sandbox::logTail(qint64 since) const
{
    // Only what this start wrote: an older FATAL (pg_cron before the database existed) is not
    // the reason. The logging collector writes a moment after the postmaster gave up.
    const QString file = m_dir + u"/log/postgresql.log"_s;
    QStringList lines;
    for (int i = 0; i < 5; ++i) {
        const qint64 size = QFileInfo(file).size();
        lines = QString::fromUtf8(readNoFollow(file, 8192, std::max<qint64>(0, std::min<qint64>(size - since, 8192))))
                    .split(u'\n', Qt::SkipEmptyParts);
        if (size > since && !lines.isEmpty())
            break;
        QThread::msleep(100);
    }
    for (auto it = lines.crbegin(); it != lines.crend(); ++it)
        if (it->contains(u"FATAL"_s) || it->contains(u"ERROR"_s) || it->contains(u"could not"_s))
            return it->section(u' ', 4).trimmed();
    return lines.isEmpty() ? QString() : lines.last();
}

bool Sandbox::start(int port, double scale, const Progress& progressIn, QString* error)
{
    const Progress progress = progressIn ? progressIn : [](const QString&) {};
    QString err;
    auto fail = [&](const QString& msg) {
        if (error)
            *error = msg;
        return false;
    };
    if (scale <= 0 || scale > 1000)
        return fail(u"invalid scale %1: expected a number above 0 and at most 1000"_s.arg(scale));
    // A unix socket path is limited to 107 bytes (sun_path).
    if (QFile::encodeName(m_dir + u"/run/.s.PGSQL.65535"_s).size() > 107)
        return fail(u"sandbox folder path %1 is too long for a unix socket; choose a shorter --dir"_s.arg(m_dir));
    if (!safePath(m_dir))
        return fail(u"sandbox folder path %1 has a quote, backslash, $ or backquote; choose a plainer --dir"_s.arg(m_dir));
    const bool folderExisted = QFileInfo::exists(m_dir);
    if (!prepareFolder(&err))
        return fail(err);

    // Two starts at once (GUI and CLI) must not both run initdb.
    QLockFile lock(m_dir + u"/.lock"_s);
    lock.setStaleLockTime(0);
    if (!lock.tryLock(m_lockWaitMs))
        return fail(u"another process is starting or stopping the sandbox in %1"_s.arg(m_dir));

    SandboxStatus st = status();
    // An existing cluster runs with the server major version that made it.
    const int major = st.initialized
        ? readNoFollow(m_dir + u"/data/PG_VERSION"_s, 16).trimmed().toInt()
        : 0;
    m_binDir = findBinDir(&err, major);
    if (m_binDir.isEmpty())
        return fail(err);

    if (st.running) {
        if (port != 0 && port != st.port)
            return fail(u"the sandbox in %1 is already running on port %2; stop it first to change the port"_s.arg(
                m_dir, QString::number(st.port)));
        progress(u"sandbox already running on port %1 (pid %2)"_s.arg(st.port).arg(st.pid));
        reportMissingPreloads(progress);
    } else {
        // The port first: a taken port must not leave a half-made sandbox behind.
        int chosen = 0;
        if (!choosePort(port, &chosen, &err)) {
            if (!folderExisted) {
                lock.unlock();
                QDir(m_dir).removeRecursively(); // nothing in it but our lock file
            }
            return fail(err);
        }
        QJsonObject meta = readMeta(m_dir);
        if (!st.initialized) {
            meta = {{u"format"_s, u"htap-sandbox"_s}, {u"version"_s, kMetaVersion},
                {u"created"_s, QDateTime::currentDateTimeUtc().toString(Qt::ISODate)}, {u"loaded"_s, false}};
            // Written before initdb, so that a failed initdb leaves a folder we still recognise.
            if (!writeMeta(m_dir, meta, &err) || !initCluster(progress, &err))
                return fail(err);
        }
        // A port free when chosen can be taken by another server while initdb runs (seconds):
        // unless the operator named it, choose again just before starting, and once more for
        // each start that finds it taken.
        for (int attempt = 1;; ++attempt) {
            if (port == 0 && !portFree(chosen) && !choosePort(0, &chosen, &err))
                return fail(err);
            meta.insert(u"port"_s, chosen);
            meta.insert(u"binDir"_s, m_binDir);
            if (!writeMeta(m_dir, meta, &err))
                return fail(err);
            progress(u"starting PostgreSQL (%1) on 127.0.0.1:%2"_s.arg(m_binDir).arg(chosen));
            QString out;
            const qint64 logBefore = QFileInfo(m_dir + u"/log/postgresql.log"_s).size();
            if (runPgCtl({u"start"_s, u"-w"_s, u"-t"_s, u"60"_s, u"-s"_s, u"-D"_s, m_dir + u"/data"_s, u"-l"_s,
                             m_dir + u"/log/postgresql.log"_s, u"-o"_s, serverOptions(chosen)},
                    &out))
                break;
            const QString reason = logTail(logBefore);
            const bool portTaken = reason.contains(u"could not create any TCP/IP sockets"_s)
                || reason.contains(u"Address already in use"_s);
            if (port == 0 && portTaken && attempt < 5) {
                progress(u"port %1 was taken meanwhile; choosing another"_s.arg(chosen));
                continue;
            }
            return fail(u"the sandbox server did not start: %1"_s.arg(reason.isEmpty() ? out.simplified()
                                                                                  : reason + u" (pg_ctl: "_s + out.simplified() + u')'));
        }
        st = status();
        // A sandbox loaded before an optional extension's package was installed gains the
        // extension here, at the first start that preloads it. Not fatal: they are optional.
        if (st.loaded && !st.standby) {
            Connection shop;
            if (PgError e = shop.open(connInfo(), {30000, u"htap-studio sandbox"_s}))
                progress(u"could not connect to add the optional extensions: %1"_s.arg(e.oneLine()));
            else if (!createExtensions(shop, &err))
                progress(err);
        }
    }
    if (!st.loaded && !loadShop(scale, progress, &err))
        return fail(err);
    if (!st.standby)
        settleInterruptedCopies(connInfo(), progress);
    startStandbys(progress);
    return true;
}

void Sandbox::reportMissingPreloads(const Progress& progress) const
{
    Connection conn;
    if (conn.open(connInfo().with(u"dbname"_s, u"postgres"_s), {10000, u"htap-studio sandbox"_s}))
        return; // the caller's own connection will say what is wrong
    const Result r = conn.exec(u"SELECT current_setting('shared_preload_libraries')"_s);
    if (!r.ok())
        return;
    QStringList loaded;
    for (const QString& name : r.text(0, 0).split(u',', Qt::SkipEmptyParts))
        loaded << name.trimmed().remove(u'"');
    QStringList missing;
    for (const QString& name : preloadLibraries())
        if (!loaded.contains(name))
            missing << name;
    if (!missing.isEmpty())
        progress(u"installed but not loaded by the running server: %1; restart the sandbox to add them "
                 "(htapctl sandbox stop, then start; the extensions are created at that start)"_s.arg(missing.join(u", "_s)));
}

bool Sandbox::createExtensions(Connection& shop, QString* error) const
{
    const Result r = shop.runScript(sqlFile(u"shop/extensions.sql"_s));
    if (!r.ok() && error)
        *error = u"creating the optional extensions (sql/shop/extensions.sql) failed: %1"_s.arg(r.error().oneLine());
    return r.ok();
}

bool Sandbox::loadShop(double scale, const Progress& progress, QString* error)
{
    const ConnectOptions opts {30000, u"htap-studio sandbox"_s};
    Connection admin;
    if (PgError e = admin.open(connInfo().with(u"dbname"_s, u"postgres"_s), opts)) {
        *error = u"cannot connect to the new sandbox: %1"_s.arg(e.oneLine());
        return false;
    }
    const QString db = quoteIdentifier(QString::fromLatin1(kDatabase));
    // An earlier load that did not finish leaves a half-filled database: start it over.
    Result r = admin.runScript(u"DROP DATABASE IF EXISTS %1 WITH (FORCE)"_s.arg(db));
    if (r.ok())
        r = admin.runScript(u"CREATE DATABASE %1"_s.arg(db));
    if (!r.ok()) {
        *error = u"cannot create database %1: %2"_s.arg(db, r.error().oneLine());
        return false;
    }
    admin.close();

    Connection shop;
    if (PgError e = shop.open(connInfo(), opts)) {
        *error = u"cannot connect to database %1: %2"_s.arg(db, e.oneLine());
        return false;
    }
    progress(u"creating the shop schema"_s);
    for (const QString& file : QStringList {u"shop/schema.sql"_s, u"shop/extensions.sql"_s, u"shop/demo_data.sql"_s} + engineScripts()
             + QStringList {u"shop/roles.sql"_s}) {
        const QString sql = sqlFile(file);
        Q_ASSERT(!sql.isEmpty());
        r = shop.runScript(sql);
        if (!r.ok()) {
            *error = u"loading sql/%1 failed: %2"_s.arg(file, r.error().oneLine());
            return false;
        }
    }
    progress(u"loading demo data at scale %1 (about %2 orders)"_s.arg(scale).arg(qRound64(100000 * scale)));
    r = shop.exec(u"SELECT * FROM htap.load_demo_data($1)"_s, {scale});
    if (r.ok()) {
        progress(u"creating the seed's materialized views"_s);
        r = shop.runScript(sqlFile(u"shop/views.sql"_s));
    }
    if (r.ok())
        r = shop.runScript(u"VACUUM (ANALYZE)"_s);
    if (!r.ok()) {
        *error = u"loading demo data failed: %1"_s.arg(r.error().oneLine());
        return false;
    }
    QJsonObject meta = readMeta(m_dir);
    meta.insert(u"loaded"_s, true);
    meta.insert(u"scale"_s, scale);
    if (!writeMeta(m_dir, meta, error))
        return false;
    progress(u"demo data loaded"_s);
    return true;
}

bool Sandbox::stop(QString* error)
{
    const SandboxStatus st = status();
    if (!st.initialized) {
        if (error)
            *error = u"no sandbox in %1"_s.arg(m_dir);
        return false;
    }
    if (!stopStandbys(error))
        return false;
    if (!st.running)
        return true;
    // Not in the middle of someone else's start (initdb, demo-data load).
    QLockFile lock(m_dir + u"/.lock"_s);
    lock.setStaleLockTime(0);
    if (!lock.tryLock(m_lockWaitMs)) {
        if (error)
            *error = u"another process is starting the sandbox in %1; try again when it is done"_s.arg(m_dir);
        return false;
    }
    m_binDir = st.binDir.isEmpty() ? findBinDir(error) : st.binDir;
    QString out;
    if (!runPgCtl({u"stop"_s, u"-w"_s, u"-t"_s, u"60"_s, u"-s"_s, u"-m"_s, u"fast"_s, u"-D"_s, m_dir + u"/data"_s},
            &out)) {
        if (error)
            *error = u"pg_ctl stop failed: %1"_s.arg(out.simplified());
        return false;
    }
    return true;
}

bool Sandbox::destroy(QString* error)
{
    if (!QFileInfo::exists(m_dir))
        return true;
    if (readMeta(m_dir).isEmpty()) {
        if (error)
            *error = u"%1 is not an HTAP Studio sandbox (no valid %2); not deleting it"_s.arg(m_dir, kMetaFile);
        return false;
    }
    // Nothing is deleted while another process works on the sandbox (a start loading data, an
    // add-standby copying): its lock is waited for first. The steps below take it in turn.
    const auto waitForOthers = [&](QLockFile& lock) {
        lock.setStaleLockTime(0);
        if (lock.tryLock(m_lockWaitMs))
            return true;
        if (error)
            *error = u"another process is starting, stopping or changing the sandbox in %1 (adding a standby?); nothing was "
                     u"deleted: try again when it is done"_s.arg(m_dir);
        return false;
    };
    {
        QLockFile lock(m_dir + u"/.lock"_s);
        if (!waitForOthers(lock))
            return false;
    }
    for (const QString& standby : status().standbys)
        if (!removeStandby(standby, error))
            return false;
    // A copy an add-standby left half-made: its folder goes too (its slot with the cluster).
    // Under the lock, which a running add-standby holds for its whole copy: a copy under way is
    // not taken for an interrupted one (its streamer killed, its folder deleted under it).
    {
        QLockFile lock(m_dir + u"/.lock"_s);
        if (!waitForOthers(lock))
            return false;
        settleInterruptedCopies(status().running ? connInfo() : ConnInfo(), [](const QString&) {});
    }
    if (status().running && !stop(error))
        return false;
    // Only what a sandbox is made of; anything else someone put there stays.
    for (const QString& sub : {u"data"_s, u"run"_s, u"log"_s}) {
        const QString p = m_dir + u'/' + sub;
        if (QFileInfo(p).isSymLink() ? !QFile::remove(p) : !QDir(p).removeRecursively()) {
            if (error)
                *error = u"could not delete all of %1"_s.arg(p);
            return false;
        }
    }
    QFile::remove(m_dir + u'/' + kMetaFile);
    QFile::remove(m_dir + u"/.lock"_s);
    if (!QDir().rmdir(m_dir) && error)
        *error = u"deleted the sandbox; kept %1 because it holds other files"_s.arg(m_dir);
    return true;
}

} // namespace htap::pg
