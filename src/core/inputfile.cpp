#include "inputfile.h"

#include <QFile>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace htap::core {

using namespace Qt::StringLiterals;

QString byteLimit(qint64 bytes)
{
    if (bytes >= (qint64(1) << 20) && bytes % (qint64(1) << 20) == 0)
        return u"%1 MiB"_s.arg(bytes >> 20);
    if (bytes >= 1024 && bytes % 1024 == 0)
        return u"%1 KiB"_s.arg(bytes >> 10);
    return u"%1 bytes"_s.arg(bytes);
}

bool readInputFile(const QString& path, qint64 maxBytes, const QString& what, QByteArray* bytes, QString* error)
{
    // O_NONBLOCK: opening a FIFO must not wait for a writer before fstat can refuse it.
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        *error = u"cannot read %1 %2: %3"_s.arg(what, path, QString::fromLocal8Bit(std::strerror(errno)));
        return false;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        const bool folder = S_ISDIR(st.st_mode);
        ::close(fd);
        *error = u"cannot read %1 %2: it is %3, not a regular file"_s.arg(what, path,
            folder ? u"a folder"_s : S_ISFIFO(st.st_mode) ? u"a pipe (FIFO)"_s : S_ISSOCK(st.st_mode) ? u"a socket"_s : u"a device"_s);
        return false;
    }
    if (st.st_size > maxBytes) {
        ::close(fd);
        *error = u"%1 %2 is too large: %3 bytes, more than the %4 it may have"_s.arg(what, path, QString::number(st.st_size),
            byteLimit(maxBytes));
        return false;
    }
    // The size may change under us (a file still being written): read at most one byte past
    // the limit to tell.
    QByteArray data(qsizetype(std::min<qint64>(st.st_size, maxBytes) + 1), Qt::Uninitialized);
    qint64 got = 0;
    for (;;) {
        if (got == data.size()) {
            if (got > maxBytes)
                break;
            data.resize(std::min<qint64>(maxBytes + 1, data.size() * 2));
        }
        const ssize_t n = ::read(fd, data.data() + got, size_t(data.size() - got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            const int saved = errno;
            ::close(fd);
            *error = u"cannot read %1 %2: %3"_s.arg(what, path, QString::fromLocal8Bit(std::strerror(saved)));
            return false;
        }
        if (n == 0)
            break;
        got += n;
    }
    ::close(fd);
    if (got > maxBytes) {
        *error = u"%1 %2 is too large: more than the %3 it may have"_s.arg(what, path, byteLimit(maxBytes));
        return false;
    }
    data.truncate(got);
    *bytes = data;
    return true;
}

} // namespace htap::core
