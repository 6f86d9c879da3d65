#include "topologyreader.h"

#include <mv/mvservice.h>
#include <mv/viewquery.h>
#include <pg/connection.h>
#include <pg/identifier.h>
#include <pg/sandbox.h>
#include <pg/sqlfile.h>

#include <QFileInfo>

using namespace Qt::StringLiterals;

namespace htap::route {

namespace {

QString sql(const QString& name)
{
    return pg::namedStatements(u"route/topology.sql"_s).value(name);
}

/// A text[] literal of values, each double-quoted (bound as one parameter, never pasted in SQL).
QString textArray(const QStringList& values)
{
    QStringList quoted;
    for (QString v : values)
        quoted << u'"' + v.replace(u'\\', u"\\\\"_s).replace(u'"', u"\\\""_s) + u'"';
    return u'{' + quoted.join(u',') + u'}';
}

} // namespace

bool TopologyReader::fetch(pg::Connection& conn, const QStringList& functions, Topology* out, QString* error)
{
    Topology t;
    t.primary = conn.effectiveInfo().displayName();
    t.fetchedAt = QDateTime::currentDateTimeUtc();
    const pg::Result server = conn.exec(sql(u"server"_s));
    if (!server.ok()) {
        *error = server.error().oneLine();
        return false;
    }
    t.connectedIsStandby = server.toBool(0, 0);

    // Standbys, as the primary sees them.
    if (!t.connectedIsStandby) {
        const pg::Result r = conn.exec(sql(u"standbys"_s));
        if (!r.ok()) {
            *error = r.error().oneLine();
            return false;
        }
        QHash<QString, QString> sandboxStandbys;
        QString folder;
        if (r.rowCount() > 0 && pg::Sandbox::isSandboxServer(conn, &folder))
            for (const QString& dir : pg::Sandbox(folder).status().standbys)
                sandboxStandbys.insert(QFileInfo(dir).fileName(), pg::Sandbox(dir).connInfo().toConnString());
        for (int i = 0; i < r.rowCount(); ++i) {
            Standby s;
            s.name = r.text(i, 0);
            s.state = r.text(i, 1);
            s.replayLagSeconds = r.isNull(i, 2) ? -1 : std::max(0.0, r.toDouble(i, 2));
            s.replayGapBytes = r.isNull(i, 3) ? -1 : std::max<qint64>(0, r.toInt64(i, 3));
            s.conninfo = sandboxStandbys.value(s.name);
            t.standbys << s;
        }
    }

    // The registered views: staleness from the registry, definitions schema-qualified.
    mv::MvService service(conn);
    QString listError;
    const QList<mv::ViewInfo> views = service.list(&listError);
    if (!listError.isEmpty()) {
        *error = listError;
        return false;
    }
    QStringList baseTables;
    for (const mv::ViewInfo& v : views) {
        RegisteredView rv;
        rv.schema = v.schema;
        rv.name = v.name;
        rv.incremental = v.incremental;
        rv.stalenessSeconds = v.stalenessSeconds;
        if (!v.populated) {
            rv.readable = false;
            rv.unreadableReason = u"it is not populated"_s;
        } else if (v.incremental && v.ivmState != u"ready"_s) {
            rv.readable = false;
            rv.unreadableReason = u"its incremental engine is %1%2"_s.arg(v.ivmState, v.ivmReason.isEmpty() ? QString() : u" (" + v.ivmReason + u')');
        }
        const QString qualified = pg::quoteQualified(v.schema, v.name);
        rv.definition = v.definition;
        if (rv.definition.isEmpty()) {
            // pg_get_viewdef locks the base tables: behind DDL it gives up after a second.
            pg::Result d = conn.exec(u"BEGIN"_s);
            if (d.ok())
                d = conn.exec(u"SET LOCAL search_path TO pg_catalog, pg_temp"_s);
            if (d.ok())
                d = conn.exec(u"SET LOCAL lock_timeout = '1s'"_s);
            if (d.ok())
                d = conn.exec(sql(u"view_definition"_s), {qualified});
            conn.exec(d.ok() ? u"COMMIT"_s : u"ROLLBACK"_s);
            if (!d.ok() || d.rowCount() != 1) {
                t.notes << u"%1: its definition could not be read (%2)"_s.arg(rv.label(), d.ok() ? u"gone"_s : d.error().oneLine());
                continue;
            }
            rv.definition = d.text(0, 0).trimmed();
        }
        if (rv.definition.endsWith(u';'))
            rv.definition.chop(1);
        const pg::Result cols = conn.exec(sql(u"view_columns"_s), {qualified});
        if (!cols.ok()) {
            t.notes << u"%1: its columns could not be read (%2)"_s.arg(rv.label(), cols.error().oneLine());
            continue;
        }
        for (int i = 0; i < cols.rowCount(); ++i) {
            rv.columns << cols.text(i, 0);
            rv.columnTypes << cols.text(i, 1);
        }
        mv::ViewQuery parsed;
        QString parseError;
        if (parsed.parse(rv.definition, &parseError))
            for (const mv::TableRef& ref : parsed.tables())
                if (!ref.schema.isEmpty())
                    baseTables << pg::quoteQualified(ref.schema, ref.name);
        t.views << rv;
    }
    baseTables.removeDuplicates();
    if (!baseTables.isEmpty()) {
        const pg::Result r = conn.exec(sql(u"table_columns"_s), {textArray(baseTables)});
        if (!r.ok()) {
            *error = r.error().oneLine();
            return false;
        }
        for (int i = 0; i < r.rowCount(); ++i) {
            TableFacts& f = t.tables[r.text(i, 0)];
            f.visible = r.toBool(i, 1);
            f.columns << r.text(i, 2);
            f.columnTypes.insert(r.text(i, 2), r.text(i, 3));
            if (r.toBool(i, 4))
                f.notNull.insert(r.text(i, 2));
        }
    }

    // Functions: what pg_proc says of the names the statements call, cached.
    {
        const std::lock_guard lock(m_mutex);
        QStringList missing;
        for (const QString& f : functions)
            if (!m_looked.contains(f) && !missing.contains(f))
                missing << f;
        if (!missing.isEmpty()) {
            const pg::Result r = conn.exec(sql(u"functions"_s), {textArray(missing)});
            if (!r.ok()) {
                *error = r.error().oneLine();
                return false;
            }
            for (int i = 0; i < r.rowCount(); ++i)
                m_known.insert(r.text(i, 0), {r.toBool(i, 1), r.toBool(i, 2)});
            for (const QString& f : std::as_const(missing))
                m_looked.insert(f);
        }
        for (auto it = m_known.cbegin(); it != m_known.cend(); ++it) {
            t.volatileFunctions.insert(it.key(), it.value().first);
            if (it.value().second)
                t.aggregateFunctions.insert(it.key());
        }
        t.functionsLookedUp = m_looked;
    }
    *out = t;
    return true;
}

} // namespace htap::route
