// Fetching the router's Topology from a connection: the thin, blocking part of the router.
#pragma once

#include "router.h"

#include <QHash>
#include <QPair>

#include <mutex>

namespace htap::pg {
class Connection;
}

namespace htap::route {

/// Reads a Topology over a connection: the standbys from pg_stat_replication (with their
/// conninfo when the server is a sandbox of this machine), the registered views with their
/// definition, columns and staleness (the app's registry, MvService), their base tables'
/// columns, and the volatility of the functions a statement calls (pg_proc), those cached
/// across fetches. Blocking: call it from a worker thread or the CLI. One reader may serve
/// several threads, one fetch at a time each over its own connection.
class TopologyReader
{
public:
    /// functions: the names the statements to route call (calledFunctions()); looked up once,
    /// then answered from the cache. Returns false with *error when the server cannot be read;
    /// parts that fail alone (a view's definition behind a lock) become Topology::notes.
    bool fetch(pg::Connection& conn, const QStringList& functions, Topology* out, QString* error);

private:
    std::mutex m_mutex;
    /// name -> (volatile, aggregate); a name the server does not know is absent from
    /// m_known's values but present in m_looked.
    QHash<QString, QPair<bool, bool>> m_known;
    QSet<QString> m_looked;
};

} // namespace htap::route
