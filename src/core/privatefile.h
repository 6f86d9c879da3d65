// Files we write that hold statements or settings: private to the user (0600).
#pragma once

#include <QByteArray>
#include <QString>

class QFile;

namespace htap::core {

/// Writes bytes to path whole or not at all (a temporary file renamed over it), mode 0600
/// whatever the umask or the mode of a file it replaces. On failure nothing is left behind and
/// *error says why in words ("No space left on device", not "Unknown error").
bool writePrivateFile(const QString& path, const QByteArray& bytes, QString* error);

/// Opens file (its name set) for appending; a new file is created 0600, an existing one keeps
/// its mode (the user's choice).
bool openPrivateForAppend(QFile& file, QString* error);

/// Creates folder and its parents; those it creates are 0700.
bool makePrivateFolder(const QString& folder, QString* error);

/// Whether a file of path can be created or replaced now (its folder exists and is writable):
/// asked before a long run whose result goes there, so that it fails at once, not at the end.
bool canWriteFile(const QString& path, QString* error);

} // namespace htap::core
