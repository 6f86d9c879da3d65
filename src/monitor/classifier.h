#pragma once

#include "serversample.h"

#include <QStringList>

namespace htap::monitor {

/// Maps a role (and, for running sessions, an application_name) to OLTP, OLAP or other.
/// pg_stat_statements keys statements by role, not by application, so the role rule is what
/// server-side latency uses; application patterns help classify sessions in flight.
/// Patterns are shell wildcards ("*" and "?"), matched case-sensitively like PostgreSQL names.
struct WorkloadClassifier {
    QStringList oltpRoles {QStringLiteral("oltp_user")}; ///< the seed's 3.3 roles
    QStringList olapRoles {QStringLiteral("olap_user")};
    QStringList oltpApps {QStringLiteral("htap-studio oltp*")};
    QStringList olapApps {QStringLiteral("htap-studio olap*")};

    WorkloadClass classify(const QString& role, const QString& application = {}) const;
};

} // namespace htap::monitor
