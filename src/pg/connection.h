#pragma once

#include "conninfo.h"
#include "pgerror.h"
#include "reply.h"
#include "result.h"

#include <QByteArrayList>
#include <QHash>
#include <QVariantList>

#include <functional>
#include <memory>
#include <span>
#include <vector>

struct pg_conn;
struct pg_cancel;

namespace htap::pg {

struct ConnectOptions {
    /// Deadline for the whole connect (all hosts of a multi-host string), in milliseconds.
    /// A connect_timeout in the conninfo takes precedence.
    int timeoutMs = 10000;
    /// Shown in pg_stat_activity; every part of the app names itself.
    QString applicationName = QStringLiteral("htap-studio");
};

/// Cancels whatever the connection it came from is running. The only object of this layer that
/// may be used from another thread than the connection's (libpq documents PQcancel as such).
class Canceller
{
public:
    explicit Canceller(pg_cancel* cancel);
    ~Canceller();
    Canceller(const Canceller&) = delete;
    Canceller& operator=(const Canceller&) = delete;
    /// Sends a cancel request; returns false and sets *error when it could not be sent.
    bool cancel(QString* error = nullptr) const;

private:
    pg_cancel* m_cancel;
};

/// One PGconn, used from one thread ("one connection is a world"). Not copyable.
/// Every statement that carries a value takes it as a bound parameter.
class Connection
{
public:
    Connection();
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    Connection(Connection&& other) noexcept;
    Connection& operator=(Connection&& other) noexcept;

    /// Connects without blocking past the deadline: connect_timeout per host as libpq defines it
    /// (from the conninfo, PGCONNECT_TIMEOUT or a service file), else options.timeoutMs in all.
    /// abortRequested is polled about every 100 ms and may be set from any thread.
    /// Returns an error value; on success isOpen() is true.
    PgError open(const ConnInfo& info, const ConnectOptions& options = {},
        const std::function<bool()>& abortRequested = {});
    void close();
    bool isOpen() const;
    /// Whether a transaction block is open (or failed) on this connection.
    bool inTransaction() const;
    /// Transactions this connection's blocking calls (exec, runScript, execPrepared) ended
    /// outside a transaction block, committed and rolled back: what it added to the server's
    /// xact_commit and xact_rollback, since the last open() (whose connect is one commit more).
    qint64 ownCommits() const { return m_ownCommits; }
    qint64 ownRollbacks() const { return m_ownRollbacks; }
    /// True if the last open() failed because the server asked for a password none was given for.
    bool neededPassword() const { return m_neededPassword; }
    /// A comment put before every statement exec() and runScript() send from now on, across
    /// reconnects (as pganalyze's collector marks its queries): pg_stat_statements keeps the
    /// text it first saw for a statement, comments included, so its texts say which statements
    /// are ours. Errors quote the statement without it. prepare() and execCached() tag too.
    /// Empty: none.
    void setStatementTag(const QString& tag) { m_statementTag = tag.toUtf8(); }

    /// Runs one statement with parameters $1..$n bound in text format. NULL QVariants become SQL NULL.
    Result exec(const QString& sql, const QVariantList& params = {});
    /// Runs a trusted script of several statements that ships with the app (sql/ resources). It
    /// takes no parameters and must never contain user text.
    Result runScript(const QString& sql);

    /// Prepares a named statement on this connection (parameters' types inferred).
    Result prepare(const QString& name, const QString& sql);
    /// Runs a statement of ours that this session runs again and again (a monitoring query
    /// read every second) as exec() would, but prepared the first time and executed prepared
    /// after: the server parses and plans it once a session instead of every time. At most
    /// 64 statements are kept (beyond, it runs as exec()); one whose prepared form fails is
    /// dropped and prepared again next time (an object it reads was made again, say).
    Result execCached(const QString& sql, const QVariantList& params = {});
    /// Runs a statement prepared with prepare().
    Result execPrepared(const QString& name, const QVariantList& params = {});

    /// One statement of a pipeline: a prepared statement's name, or SQL text when prepared is
    /// false; or, with prepareAs (execPipeline only), SQL text to prepare under that name.
    struct PipelineStep {
        QString statement;
        QVariantList params;
        bool prepared = true;
        QString prepareAs = {};
    };
    /// Sends all steps in libpq pipeline mode with one sync and reads every result: one round
    /// trip. After an error the remaining results are errors too (PGRES_PIPELINE_ABORTED).
    QList<Result> execPipeline(const QList<PipelineStep>& steps);

    // Non-blocking use, for one thread serving several connections: send, wait until socket()
    // is readable (or writable while flush() says 1), consumeInput(), then takeResults().
    // One command at a time per connection; the blocking calls above must not be mixed in
    // while one is outstanding.

    /// The connection's socket, -1 when closed.
    int socket() const;
    /// Whether the connection is encrypted (TLS can hold bytes that its socket no longer shows).
    bool usesTls() const;
    /// Switches libpq's non-blocking sending on (sends never wait for the socket).
    bool setNonBlocking(bool on);
    /// Sends a prepared statement's execution; an error value when nothing could be sent.
    PgError sendPrepared(const QString& name, const QVariantList& params = {});
    /// The same with values already in text form (a null pointer is SQL NULL), needed only
    /// until the call returns: what a load generator sends thousands of times a second, without
    /// converting or copying anything. The name is not copied either (errors quote it): it must
    /// stay valid until the answer is taken, as a literal does.
    PgError sendPrepared(const char* name, std::span<const char* const> values);
    PgError sendPrepared(const QByteArray&, std::span<const char* const>) = delete; ///< a temporary's text would dangle
    /// Sends a trusted script of ours (simple protocol, no parameters, no user text).
    PgError sendScript(const QString& sql);
    /// The same for a script that stays valid until the answer is taken (a literal).
    PgError sendScript(const char* sql);
    PgError sendScript(const QByteArray&) = delete; ///< a temporary's text would dangle
    /// Sends every step in pipeline mode and a sync: takeResults answers with one result per step.
    PgError sendPipeline(const QList<PipelineStep>& steps);
    /// A pipeline step with its values in text form already (see sendPrepared).
    struct Statement {
        const char* name = nullptr; ///< a prepared statement's name, or SQL text when prepared is false; valid until the answer is taken
        std::span<const char* const> values;
        bool prepared = true;
    };
    PgError sendPipeline(std::span<const Statement> steps);
    /// Writes what libpq still holds: 0 everything is out, 1 wait until the socket is writable,
    /// -1 the connection broke.
    int flush();
    /// Reads what has arrived; false when the connection broke (takeResults then answers with errors).
    bool consumeInput();
    /// True, with the results of the command sent, once all of them have arrived (one per
    /// pipeline step, else the statement's or the script's last); false while more are due.
    bool takeResults(QList<Result>* results);
    /// The same without building Results: true once all have arrived, and replies() then holds
    /// them in the connection's own storage (reused from command to command, so nothing is
    /// allocated for it) until the next send or takeReplies().
    bool takeReplies();
    std::span<const Reply> replies() const;
    /// True while a sent command's results have not all been taken.
    bool hasPending() const { return m_pending.active; }

    /// A handle that cancels the running statement from another thread.
    std::shared_ptr<const Canceller> canceller() const { return m_canceller; }

    int serverVersionNum() const; ///< e.g. 150018
    QString serverVersion() const; ///< e.g. "15.18"
    int backendPid() const;
    QString parameterStatus(const QString& name) const;
    /// What libpq resolved for this connection (host, port, user, dbname), without the password.
    ConnInfo effectiveInfo() const;
    QString lastErrorMessage() const;
    /// A password hashed for role the way this server wants it (password_encryption, asked of the
    /// server), with libpq's PQencryptPasswordConn: what CREATE/ALTER ROLE ... PASSWORD should
    /// carry, so that the clear text never reaches the server, its logs or ours. Empty on error.
    QString encryptPassword(const QString& password, const QString& role, QString* error);
    /// The libpq this program runs with, e.g. "15.18".
    static QString libraryVersion();

private:
    Result finish(struct pg_result* result, const QString& sql);
    Reply finishReply(struct pg_result* result, const QString& sql);

    /// What was sent without waiting and what has come back of it.
    struct Pending {
        bool active = false;
        bool pipeline = false;
        // The statements are named in errors. A single command's answer is kept in the
        // Connection itself, as is its statement: no heap block to reach for each round trip.
        // The names are the caller's (literals, for the load generator: nothing is copied or
        // counted per command); the QString calls keep their converted text in owned.
        const char* statement = nullptr;     ///< outside a pipeline
        std::vector<const char*> statements; ///< a pipeline's, one per step
        std::vector<Reply> replies;          ///< a pipeline's so far
        Reply last;                          ///< outside a pipeline: the last result so far
        std::vector<QByteArray> owned;       ///< the text the names point into, when converted here
    };
    PgError beginSend(const char* what);
    /// The pipeline is answered: its replies move to m_replies.
    void complete();
    /// The single command is answered with reply.
    void completeOne(Reply reply);
    void failPending();

    pg_conn* m_conn = nullptr;
    std::shared_ptr<const Canceller> m_canceller;
    bool m_neededPassword = false;
    QByteArray m_statementTag; ///< setStatementTag()
    QHash<QString, QByteArray> m_cached; ///< execCached(): statement -> its prepared name, this session
    int m_cachedSerial = 0;
    qint64 m_ownCommits = 0;
    qint64 m_ownRollbacks = 0;
    Pending m_pending;
    // The last command's answer, taken (a close() leaves it readable).
    Reply m_reply;                ///< a single command's, when m_takenOne
    std::vector<Reply> m_replies; ///< a pipeline's
    bool m_takenOne = false;
};

} // namespace htap::pg
