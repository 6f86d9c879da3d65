// Helpers for the tests of the incremental engine: how far a maintained view is from its
// definition, and merging until nothing is pending.
#pragma once

#include <mv/mvservice.h>
#include <pg/connection.h>
#include <pg/identifier.h>

#include <QtTest>

#include "testutil.h"

/// Runs a statement the test needs; a failure ends the test function with the server's message.
#define EXEC(conn, sql)                                                                                                        \
    do {                                                                                                                       \
        const htap::pg::Result r_ = (conn).exec(sql);                                                                          \
        QVERIFY2(r_.ok(), qPrintable(r_.error().oneLine() + u" in: "_s + (sql)));                                             \
    } while (false)

namespace htap::test {

/// Opens c on the test sandbox under the application name given, or ends the test run.
inline void openOrDie(pg::Connection& c, const QString& application)
{
    const pg::PgError e = c.open(sandboxConnInfo(), {10000, application});
    if (e)
        qFatal("cannot connect to the test sandbox: %s", qPrintable(e.oneLine()));
}

/// Rows that differ between a maintained view and its definition run now (0 = exact). The
/// definition is the one the engine keeps up to date across renames of what it reads.
inline qint64 ivmDifferences(pg::Connection& c, const QString& schema, const QString& name)
{
    using namespace Qt::StringLiterals;
    const pg::Result def = c.exec(u"SELECT definition FROM htap.ivm_views WHERE view_schema = $1 AND view_name = $2"_s, {schema, name});
    if (!def.ok() || def.rowCount() != 1) {
        qWarning("no registry row for %s.%s", qPrintable(schema), qPrintable(name));
        return -1;
    }
    const QString v = pg::quoteQualified(schema, name);
    const QString d = def.text(0, 0);
    const pg::Result r = c.exec(u"SELECT count(*) FROM ((TABLE %1 EXCEPT ALL (%2)) UNION ALL ((%2) EXCEPT ALL TABLE %1)) x"_s.arg(v, d));
    if (!r.ok()) {
        qWarning("%s", qPrintable(r.error().oneLine()));
        return -1;
    }
    return r.toInt64(0, 0);
}

/// Merges until nothing is pending.
inline bool ivmDrain(mv::MvService& s, const QString& view)
{
    using namespace Qt::StringLiterals;
    for (int i = 0; i < 50; ++i) {
        const mv::RefreshOutcome o = s.refresh(view, mv::RefreshMode::Incremental);
        if (!o.ok && !o.message.contains(u"another merge"_s)) {
            qWarning("merge of %s failed: %s", qPrintable(view), qPrintable(o.message));
            return false;
        }
        mv::ViewInfo info;
        QString error;
        if (s.find(view, &info, &error) && info.pendingRows == 0)
            return true;
    }
    return false;
}

} // namespace htap::test
