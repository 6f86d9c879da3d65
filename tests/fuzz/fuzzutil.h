// Shared by the libFuzzer targets: Qt kept quiet, and an invariant that does not hold turned into
// a crash, which libFuzzer reports and writes the input of.
#pragma once

#include <QByteArray>
#include <QString>
#include <QtGlobal>

#include <cstdio>
#include <cstdlib>

namespace htap::fuzz {

[[noreturn]] inline void fail(const char* what, const QString& detail = {})
{
    // A NUL would end the line early: shown as \0.
    std::fprintf(stderr, "\n==fuzz== invariant broken: %s\n%s\n", what, qUtf8Printable(QString(detail).replace(QChar(0), QStringLiteral("\\0"))));
    std::abort();
}

inline void check(bool holds, const char* what, const QString& detail = {})
{
    if (!holds)
        fail(what, detail);
}

/// Random input makes Qt warn (a file that cannot be opened, a date out of range): keep the
/// fuzzer's output to its own lines. A fatal message still aborts.
inline void quietQt()
{
    qInstallMessageHandler([](QtMsgType type, const QMessageLogContext&, const QString& message) {
        if (type == QtFatalMsg)
            fail("qFatal", message);
    });
}

inline QByteArray bytes(const uint8_t* data, size_t size)
{
    return QByteArray(reinterpret_cast<const char*>(data), qsizetype(size));
}

} // namespace htap::fuzz
