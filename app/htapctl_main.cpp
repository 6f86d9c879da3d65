// htapctl: the headless command line over the same libraries as the GUI.
#include <cli/htapctl.h>

#include <QCoreApplication>
#include <QGuiApplication>

#include <cstring>
#include <sys/stat.h>
#include <unistd.h>
#include <memory>

int main(int argc, char** argv)
{
    // Snapshots draw charts (HTML, PDF, PNG), which needs fonts: a QGuiApplication, on the
    // offscreen platform where there is no display. Everything else stays a QCoreApplication.
    std::unique_ptr<QCoreApplication> app;
    if (argc > 1 && std::strcmp(argv[1], "snapshot") == 0) {
        if (qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY")
            && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
            qputenv("QT_QPA_PLATFORM", "offscreen");
        if (qEnvironmentVariableIsEmpty("XDG_RUNTIME_DIR")) { // what Qt would pick, without its warning
            const QByteArray dir = "/tmp/runtime-" + QByteArray::number(::getuid());
            ::mkdir(dir.constData(), 0700);
            qputenv("XDG_RUNTIME_DIR", dir);
        }
        app = std::make_unique<QGuiApplication>(argc, argv);
    } else {
        app = std::make_unique<QCoreApplication>(argc, argv);
    }
    QCoreApplication::setApplicationName(QStringLiteral("htap-studio"));
    QCoreApplication::setOrganizationName(QStringLiteral("htap-studio"));
    QCoreApplication::setApplicationVersion(QStringLiteral(HTAP_VERSION));
    return htap::cli::runHtapctl(QCoreApplication::arguments().mid(1));
}
