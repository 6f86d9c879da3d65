// Helpers shared by the files that implement MvService; not part of the library's interface.
#pragma once

#include <pg/connection.h>
#include <pg/identifier.h>
#include <pg/result.h>

#include <QString>
#include <QStringList>

namespace htap::mv {

/// htap.registry_version() of sql/htap/*.sql as this build ships them.
constexpr int kRegistryVersion = 15;

/// A failed statement as one line for the operator (message, SQLSTATE, detail).
inline QString statementError(const pg::Result& r)
{
    return r.error().oneLine();
}

/// GRANT statements that give `target` the privileges relation `oid` grants to others (its
/// owner's own excepted): a view keeps its grants when it changes form. Empty on error.
inline QStringList grantsOf(pg::Connection& conn, quint32 oid, const QString& target, QString* error)
{
    const pg::Result r = conn.exec(QStringLiteral("SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN '' ELSE pg_get_userbyid(a.grantee) END "
                                                  "FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = $1::oid AND a.grantee <> c.relowner"),
        {oid});
    if (!r.ok()) {
        *error = statementError(r);
        return {};
    }
    QStringList out;
    for (int i = 0; i < r.rowCount(); ++i)
        out << QStringLiteral("GRANT %1 ON %2 TO %3")
                   .arg(r.text(i, 0), target, r.text(i, 1).isEmpty() ? QStringLiteral("PUBLIC") : pg::quoteIdentifier(r.text(i, 1)));
    return out;
}

/// While it lives, the session's backend looks at its client's socket every second
/// (client_connection_check_interval, PostgreSQL 14): a client killed in the middle of a long
/// step (a build, REFRESH) gets it rolled back at once, instead of the backend running it to the
/// end for nobody and committing it.
class ClientCheck
{
public:
    explicit ClientCheck(pg::Connection& conn) : m_conn(conn)
    {
        if (conn.serverVersionNum() < 140000)
            return;
        const pg::Result r = conn.exec(QStringLiteral("SELECT current_setting('client_connection_check_interval'), "
                                                      "set_config('client_connection_check_interval', '1s', false)"));
        m_set = r.ok();
        if (m_set)
            m_previous = r.text(0, 0);
    }
    ~ClientCheck()
    {
        if (m_set && m_conn.isOpen())
            m_conn.exec(QStringLiteral("SELECT set_config('client_connection_check_interval', $1, false)"), {m_previous});
    }
    ClientCheck(const ClientCheck&) = delete;
    ClientCheck& operator=(const ClientCheck&) = delete;

private:
    pg::Connection& m_conn;
    QString m_previous;
    bool m_set = false;
};

} // namespace htap::mv
