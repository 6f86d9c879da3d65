#include "fieldextension.h"

#include "probes.h"

#include <pg/identifier.h>

namespace htap::monitor {

using namespace Qt::StringLiterals;
using htap::pg::Result;

FieldExtension::FieldExtension(QString name, QString debianPackage, QString needs)
    : m_name(std::move(name))
    , m_package(std::move(debianPackage))
    , m_needs(std::move(needs))
{
}

bool FieldExtension::ready(htap::pg::Connection& conn, QString* missing)
{
    const qint64 recheckMs = m_schema.isEmpty() ? 30000 : 60000;
    if (m_checked && m_since.elapsed() < recheckMs) {
        *missing = m_missing;
        return !m_schema.isEmpty();
    }
    const Result r = conn.execCached(monitorSql(u"field_extension"_s, conn.serverVersionNum()), {m_name});
    if (!r.ok()) {
        *missing = u"%1: cannot tell whether it is installed: %2"_s.arg(m_name, r.error().oneLine());
        return false; // not cached: a connection problem, seen by the caller
    }
    m_checked = true;
    m_since.start();
    m_schema.clear();
    QStringList preload;
    for (const QString& library : r.text(0, u"preload"_s).split(u',', Qt::SkipEmptyParts))
        preload << library.trimmed().remove(u'"');
    const QString package = m_package.contains(u"%1"_s) ? m_package.arg(conn.serverVersionNum() / 10000) : m_package;
    const QString create = m_needs.isEmpty() ? u"CREATE EXTENSION %1"_s.arg(m_name)
                                                : u"CREATE EXTENSION %1 CASCADE (it needs %2)"_s.arg(m_name, m_needs);
    if (!r.toBool(0, u"available"_s) && r.isNull(0, r.column(u"schema"_s)))
        m_missing = u"%1 is not installed on the server: install it (Debian: apt install %2), add it to "
                    "shared_preload_libraries, restart the server, then %3 in this database"_s.arg(m_name, package, create);
    else if (!preload.contains(m_name)) {
        QStringList wanted = preload;
        if (!m_needs.isEmpty() && !wanted.contains(m_needs))
            wanted << m_needs; // before it: pg_stat_kcache's README orders them so
        wanted << m_name;
        m_missing = u"%1 is not in shared_preload_libraries: add it (shared_preload_libraries = '%2'), restart "
                    "the server, then %3 in this database"_s.arg(m_name, wanted.join(u','), create);
    }
    else if (r.isNull(0, r.column(u"schema"_s)))
        m_missing = u"%1 is not created in this database: %2"_s.arg(m_name, create);
    else {
        m_missing.clear();
        m_schema = r.text(0, u"schema"_s);
    }
    *missing = m_missing;
    return !m_schema.isEmpty();
}

QString FieldExtension::qualified(const QString& object) const
{
    return htap::pg::quoteQualified(m_schema, object);
}

} // namespace htap::monitor
