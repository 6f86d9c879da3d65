#pragma once

#include "conninfo.h"

#include <QString>
#include <QStringList>

#include <functional>

namespace htap::pg {

class Connection;

struct SandboxStatus {
    bool initialized = false; ///< the folder holds an initialised sandbox
    bool running = false;
    bool loaded = false; ///< the shop schema and demo data were loaded
    int port = 0;
    qint64 pid = 0;
    double scale = 0;
    QString dir;
    QString binDir;
    QString logFile;
    bool standby = false;   ///< this folder is a streaming standby of another sandbox
    QString primary;        ///< its primary's folder
    QString slot;           ///< the primary's replication slot it streams from
    bool hotStandbyFeedback = false;
    QStringList standbys;   ///< a primary's standbys' folders
};

/// A private PostgreSQL cluster that the app creates and manages: initdb in its own folder,
/// listening on 127.0.0.1 and a unix socket inside the folder only, pg_stat_statements
/// preloaded, the shop schema and demo data loaded on first start.
///
/// Folder layout: sandbox.json (our metadata), data/ (PGDATA), run/ (socket), log/.
/// When the process runs as root, the server runs as the `postgres` OS account, since initdb
/// and postgres refuse root; the folder must then be reachable by that account.
///
/// Blocking calls (they run pg_ctl and connect): call them from a worker thread or the CLI.
class Sandbox
{
public:
    using Progress = std::function<void(const QString&)>;

    static constexpr const char* kDatabase = "shop";
    static constexpr const char* kSuperuser = "postgres";

    explicit Sandbox(QString dir = defaultDir());

    /// $XDG_DATA_HOME/htap-studio/sandbox for a normal user; /var/lib/htap-studio/sandbox for
    /// root (root's home is private to the postgres account). HTAP_SANDBOX_DIR overrides both.
    static QString defaultDir();
    /// Newest installed server binaries (HTAP_PG_BINDIR overrides), or empty with *error set.
    /// With major > 0, only that major version will do (an existing cluster needs its own).
    static QString findBinDir(QString* error, int major = 0);

    QString dir() const { return m_dir; }
    /// How long start, stop, add-standby and destroy wait for another process's work on the
    /// sandbox (its lock) before they give up and say so (60 s).
    void setLockWait(int ms) { m_lockWaitMs = ms; }
    /// True when conn's server is a sandbox of this machine (*which: its folder): its system
    /// identifier, which every role may read, is the one in that sandbox's pg_control. Decided
    /// from what the server says, never from the conninfo. Blocking: one statement.
    static bool isSandboxServer(Connection& conn, QString* which = nullptr);

    /// Creates (if needed), starts and loads the sandbox. port 0 keeps the saved port or picks a
    /// free one. scale sets the demo data size on first load (1 = about 100k orders).
    /// Idempotent: an already running sandbox is left as it is. Returns false with *error set.
    bool start(int port, double scale, const Progress& progress, QString* error);
    bool stop(QString* error);
    /// Stops the server and deletes the folder. Refuses a folder that is not a sandbox.
    bool destroy(QString* error);
    SandboxStatus status() const;

    /// A streaming standby of this (running) sandbox in a folder of its own (empty: the first
    /// free "<dir>-standbyN" beside it): pg_basebackup -R through a replication slot of the
    /// primary, then started on port (0: a free one). hot_standby_feedback is the operator's
    /// choice: on, the standby's reports hold the primary's xmin horizon; off, the primary's
    /// vacuum cancels them. `start` and `stop` of the primary start and stop its standbys;
    /// `destroy` deletes them. *standbyDir: the folder used.
    bool addStandby(QString* standbyDir, int port, bool hotStandbyFeedback, const Progress& progress, QString* error);
    /// Stops and deletes one of this sandbox's standbys and drops its replication slot.
    bool removeStandby(const QString& standbyDir, QString* error);
    /// How to reach the sandbox (unix socket, no password): host=<dir>/run port=... dbname=shop user=postgres.
    ConnInfo connInfo() const;

private:
    bool prepareFolder(QString* error);
    bool initCluster(const Progress& progress, QString* error);
    bool choosePort(int requested, int* chosen, QString* error);
    /// shared_preload_libraries for the server: pg_stat_statements and the optional libraries
    /// installed next to m_binDir's server.
    QStringList preloadLibraries() const;
    QString serverOptions(int port) const;
    /// An already running sandbox keeps the libraries it started with: says which installed ones
    /// it lacks (a restart adds them).
    void reportMissingPreloads(const Progress& progress) const;
    /// Creates the optional extensions the server preloads (sql/shop/extensions.sql).
    bool createExtensions(Connection& shop, QString* error) const;
    bool runPgCtl(const QStringList& args, QString* output, int timeoutMs = 120000) const;
    bool loadShop(double scale, const Progress& progress, QString* error);
    /// The reason a start failed, from what the log got after byte `since`.
    QString logTail(qint64 since) const;
    /// Runs one of the server's programs (pg_ctl, pg_basebackup) as the cluster's account.
    /// Whether a tool goes on when this process dies: pg_ctl's server outlives us, a copy must
    /// not (nobody would clean up after it).
    enum class ToolLife { Outlives, DiesWithCaller };
    bool runServerTool(const QString& tool, const QStringList& args, QString* output, int timeoutMs = 120000,
        ToolLife life = ToolLife::Outlives) const;
    /// Removes what an add-standby killed during its copy left (see setCopying).
    void settleInterruptedCopies(const ConnInfo& primary, const Progress& progress);
    /// The settings a standby adds to serverOptions (cluster_name, hot_standby_feedback).
    QStringList standbySettings() const;
    void startStandbys(const Progress& progress) const;
    bool stopStandbys(QString* error) const;

    QString m_dir;
    QString m_binDir;
    int m_lockWaitMs = 60000;
};

} // namespace htap::pg
