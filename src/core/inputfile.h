// Files people name (scenarios, profiles, SQL, snapshots): read whole, but bounded.
#pragma once

#include <QByteArray>
#include <QString>

namespace htap::core {

/// The largest file of each kind we read (docs/hardening.md): a scenario, profile set or SQL
/// file is hand-written text; a snapshot holds up to a day of samples.
inline constexpr qint64 kMaxScenarioBytes = 1 << 20;
inline constexpr qint64 kMaxProfileBytes = 1 << 20;
inline constexpr qint64 kMaxSqlFileBytes = 1 << 20;
inline constexpr qint64 kMaxSnapshotBytes = qint64(64) << 20;

/// Reads a regular file of at most maxBytes into *bytes. A FIFO, device, socket or folder is
/// refused before anything is read from it (reading /dev/zero would never end, a FIFO would
/// wait for a writer), and so is a larger file, with what (e.g. "scenario file") in the
/// one-line error: nothing past the limit is read.
bool readInputFile(const QString& path, qint64 maxBytes, const QString& what, QByteArray* bytes, QString* error);

/// "1 MiB", "64 MiB": a limit in words.
QString byteLimit(qint64 bytes);

} // namespace htap::core
