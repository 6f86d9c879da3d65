#pragma once

#include <QHash>
#include <QString>
#include <QStringList>

namespace htap::pg {

/// The text of an SQL file compiled in from sql/ (resource path ":/sql/<relativePath>").
/// Returns an empty string for a file that does not exist (a build error, so callers assert).
QString sqlFile(const QString& relativePath);

/// The statements of a file separated by lines "-- name: <name>", by name (comments dropped).
/// Read once per file; thread-safe.
QHash<QString, QString> namedStatements(const QString& relativePath);

/// The scripts that install the refresh registry and the incremental engine's shared part, in
/// the order they run (the last one stamps htap.registry_version()).
QStringList engineScripts();

} // namespace htap::pg
