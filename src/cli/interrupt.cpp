// Ctrl-C and SIGTERM as a request to stop, delivered through the event loop.
#include "interrupt.h"

#include "common.h"

#include <QSocketNotifier>
#include <QTimer>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <unistd.h>

namespace htap::cli {

namespace {

/// Ctrl-C and SIGTERM ask a run to stop (it then cancels what is in flight, restores what it
/// changed and writes a partial result) instead of killing the process mid-way.
std::atomic<bool>& interruptFlag()
{
    static std::atomic<bool> flag {false};
    return flag;
}

/// The write end of the pipe that wakes the event loop on Ctrl-C (-1: none).
std::atomic<int>& interruptPipe()
{
    static std::atomic<int> fd {-1};
    return fd;
}

/// Ctrl-C and SIGTERM end the process again, and the handler has no pipe to write to.
void restoreSignals()
{
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    interruptPipe() = -1;
}

} // namespace

void stopOnInterrupt(QObject* context, const std::function<void()>& stop, bool partialResult)
{
    // The handler sets the flag and writes a byte to a pipe that the event loop watches (the
    // way Qt's documentation calls Qt from a signal handler): the loop sleeps until then
    // instead of waking to look at the flag.
    interruptFlag() = false;
    interruptPipe() = -1; // both statics exist before the handler can run
    int fds[2] = {-1, -1};
    QSocketNotifier* notifier = nullptr;
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0) {
        interruptPipe() = fds[1];
        notifier = new QSocketNotifier(fds[0], QSocketNotifier::Read, context);
    }
    auto handler = [](int) {
        interruptFlag() = true;
        const int saved = errno;
        if (const int fd = interruptPipe(); fd >= 0) {
            const char byte = 1;
            [[maybe_unused]] const auto written = ::write(fd, &byte, 1);
        }
        errno = saved;
    };
    std::signal(SIGINT, handler);
    std::signal(SIGTERM, handler);
    auto onInterrupt = [stop, partialResult] {
        if (interruptFlag().exchange(false)) {
            err() << "htapctl: stopping (interrupted)" << (partialResult ? "; the result will be marked partial" : "") << Qt::endl;
            stop();
        }
    };
    if (notifier) {
        QObject::connect(notifier, &QSocketNotifier::activated, context, [onInterrupt, fd = fds[0]] {
            char bytes[16];
            while (::read(fd, bytes, sizeof bytes) > 0) {
            }
            onInterrupt();
        });
        QObject::connect(notifier, &QObject::destroyed, [fds] {
            restoreSignals();
            ::close(fds[0]);
            ::close(fds[1]);
        });
        return;
    }
    // No pipe: look at the flag ten times a second.
    auto* timer = new QTimer(context);
    QObject::connect(timer, &QTimer::timeout, context, onInterrupt);
    timer->start(100);
    QObject::connect(timer, &QObject::destroyed, restoreSignals);
}

} // namespace htap::cli
