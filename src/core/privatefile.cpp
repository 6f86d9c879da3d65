#include "privatefile.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace htap::core {

using namespace Qt::StringLiterals;

namespace {

constexpr QFileDevice::Permissions kOwnerOnly = QFileDevice::ReadOwner | QFileDevice::WriteOwner;

} // namespace

bool writePrivateFile(const QString& path, const QByteArray& bytes, QString* error)
{
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly)) {
        *error = u"cannot write %1: %2"_s.arg(path, f.errorString());
        return false;
    }
    f.setPermissions(kOwnerOnly);
    // A full disk gives a short write with no error set; the next write reports the cause.
    qint64 done = 0;
    while (done < bytes.size()) {
        const qint64 n = f.write(bytes.constData() + done, bytes.size() - done);
        if (n <= 0)
            break;
        done += n;
    }
    if (done != bytes.size() || !f.commit()) {
        *error = u"cannot write %1: %2 (nothing was left behind)"_s.arg(path, f.errorString());
        return false;
    }
    return true;
}

bool openPrivateForAppend(QFile& file, QString* error)
{
    const QByteArray name = QFile::encodeName(file.fileName());
    const int fd = ::open(name.constData(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        *error = u"cannot write %1: %2"_s.arg(file.fileName(), QString::fromLocal8Bit(std::strerror(errno)));
        return false;
    }
    if (!file.open(fd, QIODevice::Append | QIODevice::Text, QFileDevice::AutoCloseHandle)) {
        ::close(fd);
        *error = u"cannot write %1: %2"_s.arg(file.fileName(), file.errorString());
        return false;
    }
    return true;
}

bool makePrivateFolder(const QString& folder, QString* error)
{
    const QString absolute = QFileInfo(folder).absoluteFilePath();
    QStringList missing;
    for (QString d = absolute; !d.isEmpty() && !QFileInfo::exists(d); d = QFileInfo(d).path()) {
        missing.prepend(d);
        if (d == QFileInfo(d).path())
            break;
    }
    for (const QString& d : std::as_const(missing)) {
        if (::mkdir(QFile::encodeName(d).constData(), 0700) != 0 && errno != EEXIST) {
            *error = u"cannot create the folder %1: %2"_s.arg(d, QString::fromLocal8Bit(std::strerror(errno)));
            return false;
        }
    }
    if (!QFileInfo(absolute).isDir()) {
        *error = u"cannot create the folder %1: a file of that name is in the way"_s.arg(absolute);
        return false;
    }
    return true;
}

bool canWriteFile(const QString& path, QString* error)
{
    const QFileInfo target(path);
    const QFileInfo folder(target.absolutePath());
    if (target.isDir()) {
        *error = u"cannot write %1: it is a folder"_s.arg(path);
        return false;
    }
    if (!folder.isDir()) {
        *error = u"cannot write %1: the folder %2 does not exist"_s.arg(path, folder.filePath());
        return false;
    }
    // access() answers for root too (which may write almost anywhere) and for read-only mounts.
    if (::access(QFile::encodeName(folder.filePath()).constData(), W_OK | X_OK) != 0) {
        *error = u"cannot write %1: %2"_s.arg(path, QString::fromLocal8Bit(std::strerror(errno)));
        return false;
    }
    return true;
}

} // namespace htap::core
