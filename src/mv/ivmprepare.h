// What planning an incremental engine finds out about a view; shared by the files that
// implement MvService, not part of the library's interface.
#pragma once

#include "viewquery.h"

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

} // namespace htap::mv
