// What sandbox.cpp and sandboxstandby.cpp share: the account that runs the cluster, the
// folder's metadata, and the checks on paths and ports.
#pragma once

#include <QJsonObject>
#include <QString>

#include <sys/types.h>

namespace htap::pg::sandbox_detail {

/// The OS account that owns and runs the cluster: ourselves, or `postgres` when we are root.
struct RunAs {
    bool switchUser = false;
    uid_t uid = 0;
    gid_t gid = 0;
    QString name;
    QString home;
};

RunAs runAs(QString* error);
QString errnoText();
/// Gives path to the account that runs the cluster.
bool handOver(const QString& path, const RunAs& as, QString* error);
/// Whether that account can reach dir (every folder above it searchable).
bool reachable(const QString& dir, const RunAs& as, QString* error);
bool portFree(int port);
/// sandbox.json of dir, or empty when it is not ours.
QJsonObject readMeta(const QString& dir);
bool writeMeta(const QString& dir, const QJsonObject& meta, QString* error);
/// No character that would break pg_ctl's shell command line or a config value.
bool safePath(const QString& path);

} // namespace htap::pg::sandbox_detail
