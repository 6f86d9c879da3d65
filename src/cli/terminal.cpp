#include "terminal.h"

#include <cstdio>
#include <termios.h>
#include <unistd.h>

namespace htap::cli {

QString promptPassword(const QString& prompt)
{
    if (!::isatty(STDIN_FILENO))
        return {};
    std::fputs(prompt.toLocal8Bit().constData(), stderr);
    std::fflush(stderr);
    termios old {};
    const bool haveTerm = ::tcgetattr(STDIN_FILENO, &old) == 0;
    if (haveTerm) {
        termios quiet = old;
        quiet.c_lflag &= ~tcflag_t(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char buf[1024] = {};
    const bool got = std::fgets(buf, sizeof buf, stdin) != nullptr;
    if (haveTerm)
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    std::fputs("\n", stderr);
    QString pw = got ? QString::fromLocal8Bit(buf) : QString();
    while (pw.endsWith(u'\n') || pw.endsWith(u'\r'))
        pw.chop(1);
    // Overwrite our copy of the secret before the stack frame goes.
    for (char& c : buf)
        c = 0;
    return pw;
}

} // namespace htap::cli
