// How an incremental view captures changes: the base tables' shared PL/pgSQL statement triggers
// (mode sql) or the htap_capture extension's row triggers in C (mode c, src/pgext).
#include "mvcommon.h"
#include "mvservice.h"

#include <pg/identifier.h>

using namespace Qt::StringLiterals;
using htap::pg::Result;

namespace htap::mv {

QString ViewInfo::captureModeText() const
{
    if (captureMode == u"c"_s)
        return u"row triggers in C (c)"_s;
    if (captureMode == u"sql"_s)
        return u"statement triggers (sql)"_s;
    return captureMode;
}

QString MvService::setCaptureMode(const QString& name, const QString& mode)
{
    if (mode != u"sql"_s && mode != u"c"_s)
        return u"capture mode must be sql (statement triggers) or c (row triggers of the htap_capture extension), not \"%1\""_s.arg(mode);
    if (const QString e = ensureRegistry(); !e.isEmpty())
        return e;
    Resolved res;
    QString error;
    if (!resolve(name, &res, &error))
        return error;
    if (res.ivmId == 0)
        return u"%1.%2 is not maintained incrementally (htapctl mv enable-incremental)"_s.arg(res.schema, res.name);

    // One transaction: the extension, the grant and the switch commit together or not at all.
    Result r = m_conn.exec(u"BEGIN"_s);
    const auto fail = [this](const QString& message) {
        m_conn.exec(u"ROLLBACK"_s);
        return message;
    };
    // The switch takes each base table's lock (SHARE ROW EXCLUSIVE): behind a long writer it
    // gives up rather than hold every other writer in the queue behind it.
    if (r.ok())
        r = m_conn.exec(u"SELECT set_config('lock_timeout', '2s', true)"_s);
    if (r.ok() && mode == u"c"_s)
        r = m_conn.exec(u"SELECT to_regprocedure('htap.ivm_capture_row()') IS NOT NULL, "
                        u"EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'htap_capture'), "
                        u"(SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'htap.ivm_capture'::regclass)"_s);
    if (!r.ok())
        return fail(statementError(r));
    if (mode == u"c"_s && !r.toBool(0, 0)) {
        if (!r.toBool(0, 1))
            return fail(u"capture mode c needs the htap_capture extension, which this server does not have: install it on the "
                        u"database server (the htap-studio-capture-pg<major> package that installer/setup.sh package builds, or "
                        u"make install in src/pgext/htap_capture against its pg_config)"_s);
        if (const Result c = m_conn.exec(u"CREATE EXTENSION IF NOT EXISTS htap_capture"_s); !c.ok())
            return fail(u"capture mode c: creating the htap_capture extension failed (it needs a superuser): %1"_s.arg(statementError(c)));
    }
    // The engine's owner creates the row triggers and plans them: it runs the extension's
    // functions (also when a superuser created the extension by hand).
    if (mode == u"c"_s) {
        const QString owner = r.text(0, 2);
        r = m_conn.exec(u"SELECT has_function_privilege($1, 'htap.ivm_capture_row()', 'EXECUTE') "
                        u"AND has_function_privilege($1, 'htap.ivm_capture_row_check(regclass)', 'EXECUTE') "
                        u"AND has_function_privilege($1, 'htap.ivm_capture_row_reset(regclass)', 'EXECUTE')"_s,
            {owner});
        if (r.ok() && !r.toBool(0, 0))
            r = m_conn.exec(u"GRANT EXECUTE ON FUNCTION htap.ivm_capture_row(), htap.ivm_capture_row_check(regclass), "
                            u"htap.ivm_capture_row_reset(regclass) TO %1"_s.arg(pg::quoteIdentifier(owner)));
        if (!r.ok())
            return fail(u"capture mode c: the engine's owner %1 may not run the htap_capture extension's functions: %2"_s.arg(
                owner, statementError(r)));
    }
    r = m_conn.exec(u"SELECT htap.ivm_set_capture_mode($1, $2)"_s, {res.ivmId, mode});
    if (!r.ok()) {
        if (r.error().sqlstate == u"55P03"_s)
            return fail(u"%1.%2: a base table stayed locked by writers for 2 s; nothing changed, try again"_s.arg(res.schema, res.name));
        return fail(statementError(r));
    }
    r = m_conn.exec(u"COMMIT"_s);
    if (!r.ok())
        return fail(statementError(r));
    return {};
}

} // namespace htap::mv
