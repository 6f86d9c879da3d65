#include "connection.h"
#include "identifier.h"

#include <hotpath.h>

#include <QByteArrayList>
#include <QDateTime>
#include <QDeadlineTimer>
#include <QLoggingCategory>

#include <libpq-fe.h>
#include <poll.h>

#include <vector>

namespace htap::pg {

using namespace Qt::StringLiterals;

Canceller::Canceller(pg_cancel* cancel)
    : m_cancel(cancel)
{
}

Canceller::~Canceller()
{
    if (m_cancel)
        PQfreeCancel(m_cancel);
}

bool Canceller::cancel(QString* error) const
{
    if (!m_cancel) {
        if (error)
            *error = u"no connection to cancel"_s;
        return false;
    }
    char buf[256] = {};
    if (PQcancel(m_cancel, buf, sizeof buf) == 1)
        return true;
    if (error)
        *error = QString::fromUtf8(buf).trimmed();
    return false;
}

Connection::Connection() = default;

Connection::~Connection()
{
    close();
}

Connection::Connection(Connection&& other) noexcept
    : m_conn(std::exchange(other.m_conn, nullptr))
    , m_canceller(std::move(other.m_canceller))
    , m_neededPassword(other.m_neededPassword)
    , m_statementTag(std::move(other.m_statementTag))
    , m_cached(std::exchange(other.m_cached, {}))
    , m_cachedSerial(other.m_cachedSerial)
    , m_pending(std::exchange(other.m_pending, {}))
    , m_reply(std::move(other.m_reply))
    , m_replies(std::move(other.m_replies))
    , m_takenOne(other.m_takenOne)
{
}

Connection& Connection::operator=(Connection&& other) noexcept
{
    if (this != &other) {
        close();
        m_conn = std::exchange(other.m_conn, nullptr);
        m_canceller = std::move(other.m_canceller);
        m_neededPassword = other.m_neededPassword;
        m_statementTag = std::move(other.m_statementTag);
        m_cached = std::exchange(other.m_cached, {});
        m_cachedSerial = other.m_cachedSerial;
        m_pending = std::exchange(other.m_pending, {});
        m_reply = std::move(other.m_reply);
        m_replies = std::move(other.m_replies);
        m_takenOne = other.m_takenOne;
    }
    return *this;
}

namespace {

Q_LOGGING_CATEGORY(lcNotice, "htap.pg.notice", QtWarningMsg)

QString cleanMessage(const char* msg)
{
    // libpq's connect messages span lines with tab-indented advice; keep them on one line.
    QString s = QString::fromUtf8(msg ? msg : "").trimmed();
    s.replace(u"\n\t"_s, u" "_s);
    s.replace(u'\n', u' ');
    s.replace(u'\t', u' ');
    return s.simplified();
}

QString endpoint(pg_conn* conn)
{
    const char* host = PQhost(conn);
    const char* port = PQport(conn);
    QString h = QString::fromUtf8(host && *host ? host : "(default)");
    if (port && *port)
        h += u':' + QString::fromUtf8(port);
    return h;
}

} // namespace

PgError Connection::open(const ConnInfo& info, const ConnectOptions& options, const std::function<bool()>& abortRequested)
{
    close();
    m_neededPassword = false;
    m_ownCommits = m_ownRollbacks = 0; // a new session: its own count starts again

    ConnInfo effective = info.with(u"application_name"_s, options.applicationName);
    if (!effective.contains(u"client_encoding"_s))
        effective = effective.with(u"client_encoding"_s, u"UTF8"_s);
    // A server host that goes silent must not hold a statement for the OS default of two hours:
    // notice a dead peer within about half a minute, unless the operator chose otherwise.
    const QList<QPair<QString, QString>> keepalive {{u"keepalives_idle"_s, u"10"_s},
        {u"keepalives_interval"_s, u"5"_s}, {u"keepalives_count"_s, u"3"_s}, {u"tcp_user_timeout"_s, u"30000"_s}};
    for (const auto& [k, v] : keepalive)
        if (!effective.contains(k))
            effective = effective.with(k, v);

    QByteArrayList keys, values;
    for (const auto& [k, v] : effective.options()) {
        keys << k.toUtf8();
        values << v.toUtf8();
    }
    std::vector<const char*> kw, val;
    for (int i = 0; i < keys.size(); ++i) {
        kw.push_back(keys[i].constData());
        val.push_back(values[i].constData());
    }
    kw.push_back(nullptr);
    val.push_back(nullptr);

    pg_conn* conn = PQconnectStartParams(kw.data(), val.data(), 0);
    if (!conn)
        return PgError::make(PgError::Kind::Connection, u"out of memory starting a connection"_s);
    if (PQstatus(conn) == CONNECTION_BAD) {
        PgError e = PgError::make(PgError::Kind::Connection, cleanMessage(PQerrorMessage(conn)));
        PQfinish(conn);
        return e;
    }

    // libpq's connect_timeout is per host (multi-host strings try each in turn); take the value
    // libpq resolved, wherever it came from. libpq treats values below 2 s as 2 s.
    int timeoutMs = options.timeoutMs;
    if (PQconninfoOption* resolved = PQconninfo(conn)) {
        int perHostSeconds = 0, hosts = 1;
        for (PQconninfoOption* o = resolved; o->keyword; ++o) {
            const QByteArray key(o->keyword);
            if (key == "connect_timeout" && o->val)
                perHostSeconds = QByteArray(o->val).toInt();
            else if ((key == "host" || key == "hostaddr") && o->val)
                hosts = std::max<int>(hosts, QByteArray(o->val).count(',') + 1);
        }
        PQconninfoFree(resolved);
        if (perHostSeconds > 0)
            timeoutMs = std::max(2, perHostSeconds) * 1000 * hosts;
    }
    const QDeadlineTimer deadline(timeoutMs);
    PostgresPollingStatusType state = PGRES_POLLING_WRITING;
    while (state != PGRES_POLLING_OK) {
        if (state == PGRES_POLLING_FAILED) {
            PgError e = PgError::make(PgError::Kind::Connection, cleanMessage(PQerrorMessage(conn)));
            m_neededPassword = PQconnectionNeedsPassword(conn);
            PQfinish(conn);
            return e;
        }
        if (abortRequested && abortRequested()) {
            PQfinish(conn);
            return PgError::make(PgError::Kind::Cancelled, u"connection attempt cancelled"_s);
        }
        if (deadline.hasExpired()) {
            PgError e = PgError::make(PgError::Kind::Timeout,
                u"timed out after %1 s connecting to %2 (no answer from the server)"_s.arg(
                    QString::number(timeoutMs / 1000.0), endpoint(conn)));
            PQfinish(conn);
            return e;
        }
        pollfd pfd {};
        pfd.fd = PQsocket(conn);
        pfd.events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        const int slice = int(std::min<qint64>(100, std::max<qint64>(1, deadline.remainingTime())));
        const int ready = pfd.fd >= 0 ? ::poll(&pfd, 1, slice) : 1;
        if (ready > 0)
            state = PQconnectPoll(conn);
        // ready == 0: slice elapsed; loop to check abort and deadline. EINTR: just retry.
    }
    // Server notices (NOTICE, WARNING) would go to stderr by default; they are not errors.
    PQsetNoticeProcessor(conn, [](void*, const char* message) { qCDebug(lcNotice, "%s", message); }, nullptr);
    m_conn = conn;
    m_canceller = std::make_shared<const Canceller>(PQgetCancel(conn));
    return {};
}

void Connection::close()
{
    m_canceller.reset();
    m_pending = {};
    m_cached.clear(); // prepared statements end with their session
    if (m_conn) {
        PQfinish(m_conn);
        m_conn = nullptr;
    }
}

HTAP_HOT bool Connection::isOpen() const
{
    return m_conn && PQstatus(m_conn) == CONNECTION_OK;
}

bool Connection::inTransaction() const
{
    if (!m_conn)
        return false;
    const PGTransactionStatusType s = PQtransactionStatus(m_conn);
    return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

Result Connection::finish(PGresult* result, const QString& sql)
{
    Result r(finishReply(result, sql));
    // A statement outside a transaction block is a transaction of its own on the server: the
    // monitor takes its own out of the server's commit count.
    if (m_conn && PQtransactionStatus(m_conn) == PQTRANS_IDLE)
        ++(r.ok() ? m_ownCommits : m_ownRollbacks);
    return r;
}

HTAP_HOT Reply Connection::finishReply(PGresult* result, const QString& sql)
{
    if (result && PQresultStatus(result) == PGRES_EMPTY_QUERY) {
        PQclear(result);
        return Reply(PgError::make(PgError::Kind::Usage, u"empty statement"_s, sql));
    }
    // The connection's message is the fallback text of a failure only: not built for every row
    // of a load run.
    const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    const bool failed = status == PGRES_BAD_RESPONSE || status == PGRES_NONFATAL_ERROR || status == PGRES_FATAL_ERROR;
    Reply r(result, sql, failed ? cleanMessage(PQerrorMessage(m_conn)) : QString());
    // Only the connection's own state says whether the link broke; an error without SQLSTATE
    // on a good connection is a client-side failure, not a lost server.
    if (!r.ok() && PQstatus(m_conn) == CONNECTION_BAD) {
        PgError e = r.error();
        e.kind = PgError::Kind::Connection;
        if (e.message.isEmpty())
            e.message = u"connection to the server was lost"_s;
        return Reply(e);
    }
    return r;
}

namespace {
/// Text-format parameter values; the storage must outlive the libpq call.
struct BoundParams {
    QByteArrayList storage;
    std::vector<const char*> values;

    explicit BoundParams(const QVariantList& params)
    {
        storage.reserve(params.size());
        for (const QVariant& p : params) {
            if (p.isNull()) {
                values.push_back(nullptr);
                continue;
            }
            switch (p.typeId()) {
            case QMetaType::Bool:
                storage << QByteArray(p.toBool() ? "true" : "false");
                break;
            case QMetaType::QDateTime:
                storage << p.toDateTime().toString(Qt::ISODateWithMs).toUtf8();
                break;
            case QMetaType::Double:
                storage << QByteArray::number(p.toDouble(), 'g', 17);
                break;
            case QMetaType::Int:
            case QMetaType::LongLong:
                storage << QByteArray::number(p.toLongLong());
                break;
            case QMetaType::QByteArray:
                storage << p.toByteArray();
                break;
            case QMetaType::QStringList: {
                // A text[] literal: every element double-quoted, \ and " escaped.
                QByteArray a("{");
                const QStringList items = p.toStringList();
                for (qsizetype i = 0; i < items.size(); ++i) {
                    QByteArray e = items[i].toUtf8();
                    e.replace('\\', "\\\\").replace('"', "\\\"");
                    a += (i ? ",\"" : "\"") + e + '"';
                }
                storage << a + '}';
                break;
            }
            default:
                storage << p.toString().toUtf8();
            }
            values.push_back(storage.last().constData());
        }
    }
    int count() const { return int(values.size()); }
    const char* const* data() const { return values.empty() ? nullptr : values.data(); }
};
} // namespace

Result Connection::exec(const QString& sql, const QVariantList& params)
{
    if (!m_conn)
        return Result(PgError::make(PgError::Kind::Usage, u"not connected"_s, sql));
    const BoundParams bound(params);
    PGresult* res = PQexecParams(m_conn, QByteArray(m_statementTag + sql.toUtf8()).constData(), bound.count(), nullptr,
        bound.data(), nullptr, nullptr, 0);
    return finish(res, sql);
}

Result Connection::prepare(const QString& name, const QString& sql)
{
    if (!m_conn)
        return Result(PgError::make(PgError::Kind::Usage, u"not connected"_s, sql));
    return finish(PQprepare(m_conn, name.toUtf8().constData(), QByteArray(m_statementTag + sql.toUtf8()).constData(), 0, nullptr),
        sql);
}

Result Connection::execCached(const QString& sql, const QVariantList& params)
{
    if (!m_conn)
        return Result(PgError::make(PgError::Kind::Usage, u"not connected"_s, sql));
    auto it = m_cached.constFind(sql);
    if (it == m_cached.cend()) {
        if (m_cached.size() >= 64)
            return exec(sql, params);
        const QByteArray name = "htap_cached_" + QByteArray::number(++m_cachedSerial);
        const Result prepared = prepare(QString::fromLatin1(name), sql);
        if (!prepared.ok())
            return prepared; // what exec() would have said (a missing relation, a syntax error)
        it = m_cached.insert(sql, name);
    }
    const QByteArray name = *it;
    const BoundParams bound(params);
    Result r = finish(PQexecPrepared(m_conn, name.constData(), bound.count(), bound.data(), nullptr, nullptr, 0), sql);
    if (!r.ok()) {
        // Prepared anew next time: "cached plan must not change result type" after an object
        // it reads was made again would otherwise fail every time.
        m_cached.remove(sql);
        if (isOpen() && !inTransaction())
            exec(u"DEALLOCATE "_s + quoteIdentifier(QString::fromLatin1(name)));
    }
    return r;
}

Result Connection::execPrepared(const QString& name, const QVariantList& params)
{
    if (!m_conn)
        return Result(PgError::make(PgError::Kind::Usage, u"not connected"_s, name));
    const BoundParams bound(params);
    return finish(PQexecPrepared(m_conn, name.toUtf8().constData(), bound.count(), bound.data(), nullptr, nullptr, 0),
        name);
}

QList<Result> Connection::execPipeline(const QList<PipelineStep>& steps)
{
    QList<Result> out;
    auto failAll = [&](const QString& why) {
        out.clear();
        for (const auto& s : steps)
            out.append(Result(PgError::make(isOpen() ? PgError::Kind::Usage : PgError::Kind::Connection, why, s.statement)));
        return out;
    };
    if (!m_conn)
        return failAll(u"not connected"_s);
    if (PQenterPipelineMode(m_conn) != 1)
        return failAll(cleanMessage(PQerrorMessage(m_conn)));
    std::vector<BoundParams> bound;
    bound.reserve(std::size_t(steps.size()));
    for (const auto& step : steps) {
        bound.emplace_back(step.params);
        const int sent = !step.prepareAs.isEmpty()
            ? PQsendPrepare(m_conn, step.prepareAs.toUtf8().constData(), step.statement.toUtf8().constData(), 0, nullptr)
            : step.prepared
            ? PQsendQueryPrepared(m_conn, step.statement.toUtf8().constData(), bound.back().count(),
                bound.back().data(), nullptr, nullptr, 0)
            : PQsendQueryParams(m_conn, step.statement.toUtf8().constData(), bound.back().count(), nullptr,
                bound.back().data(), nullptr, nullptr, 0);
        if (sent != 1) {
            const QString why = cleanMessage(PQerrorMessage(m_conn));
            PQexitPipelineMode(m_conn);
            return failAll(why);
        }
    }
    if (PQpipelineSync(m_conn) != 1) {
        const QString why = cleanMessage(PQerrorMessage(m_conn));
        return failAll(why);
    }
    // Each statement's results end with a NULL; the sync's result closes the pipeline.
    for (const auto& step : steps) {
        PGresult* r = PQgetResult(m_conn);
        if (!r) {
            out.append(Result(PgError::make(PgError::Kind::Connection, u"connection to the server was lost"_s, step.statement)));
            continue;
        }
        if (PQresultStatus(r) == PGRES_PIPELINE_ABORTED) {
            PQclear(r);
            out.append(Result(PgError::make(PgError::Kind::Server,
                u"not run: an earlier statement of the pipeline failed"_s, step.statement)));
        } else {
            out.append(finish(r, step.statement));
        }
        while (PGresult* extra = PQgetResult(m_conn))
            PQclear(extra);
    }
    while (PGresult* r = PQgetResult(m_conn)) {
        const bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
        PQclear(r);
        if (sync)
            break;
    }
    PQexitPipelineMode(m_conn);
    return out;
}

int Connection::socket() const
{
    return m_conn ? PQsocket(m_conn) : -1;
}

bool Connection::usesTls() const
{
    return m_conn && PQsslInUse(m_conn) == 1;
}

bool Connection::setNonBlocking(bool on)
{
    return m_conn && PQsetnonblocking(m_conn, on ? 1 : 0) == 0;
}

HTAP_HOT PgError Connection::beginSend(const char* what)
{
    if (!m_conn)
        return PgError::make(PgError::Kind::Usage, u"not connected"_s, QString::fromUtf8(what));
    if (m_pending.active)
        return PgError::make(PgError::Kind::Usage, u"a command is still outstanding on this connection"_s, QString::fromUtf8(what));
    // libpq's results go back to malloc while they are warm, as pgbench's do.
    m_reply = {};
    m_replies.clear();
    m_takenOne = false;
    m_pending.replies.clear();
    m_pending.last = {};
    m_pending.statements.clear();
    m_pending.pipeline = false;
    if (!m_pending.owned.empty())
        m_pending.owned.clear();
    return {};
}

PgError Connection::sendPrepared(const QString& name, const QVariantList& params)
{
    const BoundParams bound(params);
    QByteArray text = name.toUtf8();
    const PgError e = sendPrepared(text.constData(), bound.values);
    m_pending.owned.push_back(std::move(text)); // the pending name points into it
    return e;
}

HTAP_HOT PgError Connection::sendPrepared(const char* name, std::span<const char* const> values)
{
    if (PgError e = beginSend(name))
        return e;
    if (PQsendQueryPrepared(m_conn, name, int(values.size()), values.data(), nullptr, nullptr, 0) != 1)
        return finishReply(nullptr, QString::fromUtf8(name)).error();
    m_pending.active = true;
    m_pending.statement = name;
    return {};
}

PgError Connection::sendScript(const QString& sql)
{
    QByteArray text = sql.toUtf8();
    const PgError e = sendScript(text.constData());
    m_pending.owned.push_back(std::move(text));
    return e;
}

HTAP_HOT PgError Connection::sendScript(const char* sql)
{
    if (PgError e = beginSend(sql))
        return e;
    if (PQsendQuery(m_conn, sql) != 1)
        return finishReply(nullptr, QString::fromUtf8(sql)).error();
    m_pending.active = true;
    m_pending.statement = sql;
    return {};
}

PgError Connection::sendPipeline(const QList<PipelineStep>& steps)
{
    std::vector<BoundParams> bound;
    std::vector<QByteArray> names;
    std::vector<Statement> raw;
    bound.reserve(std::size_t(steps.size()));
    names.reserve(std::size_t(steps.size()));
    raw.reserve(std::size_t(steps.size()));
    for (const auto& step : steps) {
        if (!step.prepareAs.isEmpty())
            return PgError::make(PgError::Kind::Usage, u"a non-blocking pipeline cannot prepare: use execPipeline"_s, step.prepareAs);
        bound.emplace_back(step.params);
        names.push_back(step.statement.toUtf8());
        raw.push_back({names.back().constData(), bound.back().values, step.prepared});
    }
    const PgError e = sendPipeline(raw);
    // The pending names point into these buffers, which a move keeps. Appended: a refused
    // call must not free the names of the command still outstanding.
    for (QByteArray& name : names)
        m_pending.owned.push_back(std::move(name));
    return e;
}

PgError Connection::sendPipeline(std::span<const Statement> steps)
{
    if (PgError e = beginSend(steps.empty() ? "" : steps.front().name))
        return e;
    if (PQenterPipelineMode(m_conn) != 1)
        return PgError::make(PgError::Kind::Usage, cleanMessage(PQerrorMessage(m_conn)));
    for (const Statement& step : steps) {
        const int n = int(step.values.size());
        const int sent = step.prepared
            ? PQsendQueryPrepared(m_conn, step.name, n, step.values.data(), nullptr, nullptr, 0)
            : PQsendQueryParams(m_conn, step.name, n, nullptr, step.values.data(), nullptr, nullptr, 0);
        if (sent != 1) {
            // What was queued cannot be taken back: the connection is in an unknown state.
            const PgError e = finishReply(nullptr, QString::fromUtf8(step.name)).error();
            close();
            return e.kind == PgError::Kind::Connection ? e
                                                       : PgError::make(PgError::Kind::Connection, e.message, QString::fromUtf8(step.name));
        }
        m_pending.statements.push_back(step.name);
    }
    if (PQpipelineSync(m_conn) != 1) {
        const PgError e = PgError::make(PgError::Kind::Connection, cleanMessage(PQerrorMessage(m_conn)));
        close();
        return e;
    }
    m_pending.active = true;
    m_pending.pipeline = true;
    return {};
}

HTAP_HOT int Connection::flush()
{
    return m_conn ? PQflush(m_conn) : -1;
}

HTAP_HOT bool Connection::consumeInput()
{
    return m_conn && PQconsumeInput(m_conn) == 1;
}

void Connection::complete()
{
    m_replies.swap(m_pending.replies); // both keep their capacity: no allocation per command
    m_pending.replies.clear();
    m_pending.active = false;
}

HTAP_HOT void Connection::completeOne(Reply reply)
{
    m_reply = std::move(reply);
    m_takenOne = true;
    m_pending.active = false;
}

void Connection::failPending()
{
    // The link broke: every result still due is a connection error.
    const QString why = m_conn ? cleanMessage(PQerrorMessage(m_conn)) : u"connection to the server was lost"_s;
    if (!m_pending.pipeline) {
        completeOne(m_pending.last.ok()
                ? Reply(PgError::make(PgError::Kind::Connection, why, QString::fromUtf8(m_pending.statement)))
                : std::move(m_pending.last));
        return;
    }
    for (std::size_t i = m_pending.replies.size(); i < m_pending.statements.size(); ++i)
        m_pending.replies.emplace_back(PgError::make(PgError::Kind::Connection, why, QString::fromUtf8(m_pending.statements[i])));
    complete();
}

HTAP_HOT std::span<const Reply> Connection::replies() const
{
    return m_takenOne ? std::span<const Reply>(&m_reply, 1) : std::span<const Reply>(m_replies);
}

bool Connection::takeResults(QList<Result>* results)
{
    if (!takeReplies())
        return false;
    results->clear();
    if (m_takenOne)
        results->append(Result(std::move(m_reply)));
    for (Reply& r : m_replies)
        results->append(Result(std::move(r)));
    m_reply = {};
    m_replies.clear();
    m_takenOne = false;
    return true;
}

HTAP_HOT bool Connection::takeReplies()
{
    if (!m_pending.active)
        return false;
    if (!m_conn || PQstatus(m_conn) == CONNECTION_BAD) {
        failPending();
        return true;
    }
    while (!PQisBusy(m_conn)) {
        PGresult* r = PQgetResult(m_conn);
        if (m_pending.pipeline) {
            if (!r) { // the end of one step's results
                if (PQstatus(m_conn) == CONNECTION_BAD) {
                    failPending();
                    return true;
                }
                continue;
            }
            const ExecStatusType status = PQresultStatus(r);
            if (status == PGRES_PIPELINE_SYNC) {
                PQclear(r);
                // Still in pipeline mode after the sync, the next command would go out without
                // one and never be answered: then the connection is given up after this answer.
                const bool stuck = PQexitPipelineMode(m_conn) != 1;
                for (std::size_t i = m_pending.replies.size(); i < m_pending.statements.size(); ++i)
                    m_pending.replies.emplace_back(PgError::make(PgError::Kind::Server,
                        u"no result before the pipeline's sync"_s, QString::fromUtf8(m_pending.statements[i])));
                complete();
                if (stuck)
                    close();
                return true;
            }
            // The statement's name goes into errors only: no conversion for every good result.
            const bool failed = status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK;
            const std::size_t step = m_pending.replies.size();
            const QString statement = failed && step < m_pending.statements.size() ? QString::fromUtf8(m_pending.statements[step]) : QString();
            if (status == PGRES_PIPELINE_ABORTED) {
                PQclear(r);
                m_pending.replies.emplace_back(PgError::make(PgError::Kind::Server,
                    u"not run: an earlier statement of the pipeline failed"_s, statement));
            } else {
                m_pending.replies.push_back(finishReply(r, statement));
            }
            continue;
        }
        if (!r) { // the command is complete: its last result (a failure stops a script)
            if (PQstatus(m_conn) == CONNECTION_BAD && m_pending.last.ok()) {
                failPending();
                return true;
            }
            completeOne(std::exchange(m_pending.last, {}));
            return true;
        }
        // The statement's name goes into errors only: no conversion for every good result.
        const ExecStatusType status = PQresultStatus(r);
        const bool failed = status == PGRES_BAD_RESPONSE || status == PGRES_NONFATAL_ERROR || status == PGRES_FATAL_ERROR;
        Reply one = finishReply(r, failed ? QString::fromUtf8(m_pending.statement) : QString());
        if (m_pending.last.ok() || !one.ok())
            m_pending.last = std::move(one);
    }
    return false;
}

Result Connection::runScript(const QString& sql)
{
    if (!m_conn)
        return Result(PgError::make(PgError::Kind::Usage, u"not connected"_s, sql));
    return finish(PQexec(m_conn, QByteArray(m_statementTag + sql.toUtf8()).constData()), sql);
}

int Connection::serverVersionNum() const
{
    return m_conn ? PQserverVersion(m_conn) : 0;
}

QString Connection::serverVersion() const
{
    return parameterStatus(u"server_version"_s).section(u' ', 0, 0);
}

int Connection::backendPid() const
{
    return m_conn ? PQbackendPID(m_conn) : 0;
}

QString Connection::parameterStatus(const QString& name) const
{
    if (!m_conn)
        return {};
    const char* v = PQparameterStatus(m_conn, name.toUtf8().constData());
    return v ? QString::fromUtf8(v) : QString();
}

ConnInfo Connection::effectiveInfo() const
{
    if (!m_conn)
        return {};
    ConnInfo info;
    auto put = [&](const char* key, const char* v) {
        if (v && *v)
            info = info.with(QString::fromUtf8(key), QString::fromUtf8(v));
    };
    put("host", PQhost(m_conn));
    put("port", PQport(m_conn));
    put("user", PQuser(m_conn));
    put("dbname", PQdb(m_conn));
    return info;
}

QString Connection::lastErrorMessage() const
{
    return m_conn ? cleanMessage(PQerrorMessage(m_conn)) : QString();
}

QString Connection::encryptPassword(const QString& password, const QString& role, QString* error)
{
    if (!m_conn) {
        *error = u"not connected"_s;
        return {};
    }
    QByteArray pw = password.toUtf8();
    char* hashed = PQencryptPasswordConn(m_conn, pw.constData(), role.toUtf8().constData(), nullptr);
    pw.fill('\0');
    if (!hashed) {
        *error = lastErrorMessage();
        return {};
    }
    const QString out = QString::fromUtf8(hashed);
    PQfreemem(hashed);
    return out;
}

QString Connection::libraryVersion()
{
    const int v = PQlibVersion();
    return QString::number(v / 10000) + u'.' + QString::number(v % 100);
}

} // namespace htap::pg
