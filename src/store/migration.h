#pragma once

#include <QString>

class QSqlDatabase;

namespace htap::store {

/// Runs one of our own migration scripts (sql/store/NAME, a resource) in one transaction and
/// sets PRAGMA user_version to toVersion. Comments are stripped first (they may hold a ';'),
/// then one statement per ';'. On failure nothing is changed and *error says why.
bool applyMigration(QSqlDatabase& db, const QString& file, int toVersion, QString* error);

} // namespace htap::store
