#pragma once

#include "serversample.h"

#include <QJsonObject>

namespace htap::monitor {

/// Format name and version of a sample as JSON (docs/monitor-sample.md). Bump the version on
/// any change that a reader would notice; additions of new keys are allowed within a version.
inline constexpr const char* kSampleFormat = "htap-monitor-sample";
inline constexpr int kSampleFormatVersion = 3;

QJsonObject toJson(const ServerSample& sample, const QString& server = {});

/// The inverse of toJson. Returns false with *error set for another format or a newer version;
/// unknown keys are ignored, missing ones keep their defaults.
bool fromJson(const QJsonObject& json, ServerSample* sample, QString* error);

} // namespace htap::monitor
