#pragma once

#include <QList>
#include <QString>

#include <functional>

class QSqlDatabase;

namespace htap::store {

/// Runs one of our own migration scripts (sql/store/NAME, a resource) in one transaction and
/// sets PRAGMA user_version to toVersion. Comments are stripped first (they may hold a ';'),
/// then one statement per ';'. On failure nothing is changed and *error says why.
bool applyMigration(QSqlDatabase& db, const QString& file, int toVersion, QString* error);

/// One use of one of our SQLite files from any thread: opens it in a connection of its own
/// (busy timeout 5 s, WAL), refuses a file that is not SQLite or was written by a newer build
/// (schema above knownVersion) without touching it, applies the migrations it lacks (script,
/// version) in order, runs body and closes. Errors read "<what> <path>: why".
bool withSqliteFile(const QString& path, const QString& what, int knownVersion,
    const QList<std::pair<QString, int>>& migrations, QString* error, const std::function<bool(QSqlDatabase&)>& body);

} // namespace htap::store
