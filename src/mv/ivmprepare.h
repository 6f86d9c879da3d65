// What planning an incremental engine finds out about a view; shared by the files that
// implement MvService, not part of the library's interface.
#pragma once

#include "ivmsql.h"
#include "viewquery.h"

#include <pg/connection.h>

#include <QString>
#include <QStringList>

namespace htap::mv {

struct EnginePrep {
    QString definition; ///< with every name schema-qualified
    QStringList columns, types;
    QStringList indexDefs;
    QString owner;
    QStringList grants; ///< GRANT statements for the view under its own name
    IvmPlan plan;
    QStringList storeNotes; ///< how each count(DISTINCT) keeps its pairs, and why
};

/// The step that puts an engine's view in place of the materialized view, inside the caller's
/// transaction: the engine's key indexes (unless the view brings its own on the same column),
/// DROP MATERIALIZED VIEW, the view over the state, the view's own indexes on the state (those
/// that cannot be, in *skipped), its grants, owner and comment. The error, or empty.
QString switchToView(pg::Connection& conn, const QString& qualified, const EnginePrep& prep, const IvmSql& sql, int id,
    QStringList* skipped);

} // namespace htap::mv
