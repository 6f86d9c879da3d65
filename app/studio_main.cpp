// htap-studio: the GUI. Parses its arguments and wires the main window; nothing else.
#include <ui/mainwindow.h>

#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include <cstdio>

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("htap-studio"));
    QApplication::setOrganizationName(QStringLiteral("htap-studio"));
    QApplication::setApplicationDisplayName(QStringLiteral("HTAP Studio"));
    QApplication::setApplicationVersion(QStringLiteral(HTAP_VERSION));
    QApplication::setDesktopFileName(QStringLiteral(HTAP_APP_ID));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("HTAP Studio: PostgreSQL OLTP/OLAP workbench"));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption connectOpt(QStringLiteral("connect"), QStringLiteral("Connect at start to this conninfo or URI"),
        QStringLiteral("conninfo"));
    const QCommandLineOption sandboxOpt(QStringLiteral("sandbox"), QStringLiteral("Start the sandbox and connect to it"));
    const QCommandLineOption sandboxDirOpt(QStringLiteral("sandbox-dir"), QStringLiteral("Sandbox folder"),
        QStringLiteral("folder"));
    const QCommandLineOption screenshotOpt(QStringLiteral("screenshot"),
        QStringLiteral("Save a PNG of the window after --screenshot-delay seconds, then quit"), QStringLiteral("file"));
    const QCommandLineOption delayOpt(QStringLiteral("screenshot-delay"), QStringLiteral("Seconds (default 8)"),
        QStringLiteral("s"), QStringLiteral("8"));
    parser.addOptions({connectOpt, sandboxOpt, sandboxDirOpt, screenshotOpt, delayOpt});
    parser.process(app);

    htap::ui::MainWindow window;
    window.show();

    if (parser.isSet(connectOpt)) {
        QString error;
        const auto info = htap::pg::ConnInfo::parse(parser.value(connectOpt), &error);
        if (!error.isEmpty()) {
            std::fprintf(stderr, "htap-studio: error: invalid --connect conninfo: %s\n", qPrintable(error));
            return 2;
        }
        window.connectTo(info);
    } else if (parser.isSet(sandboxOpt)) {
        window.startSandbox(parser.value(sandboxDirOpt));
    } else {
        QTimer::singleShot(0, &window, &htap::ui::MainWindow::showConnectDialog);
    }

    if (parser.isSet(screenshotOpt)) {
        const QString file = parser.value(screenshotOpt);
        QTimer::singleShot(int(parser.value(delayOpt).toDouble() * 1000), &window, [&window, file] {
            if (!window.grab().save(file))
                std::fprintf(stderr, "htap-studio: error: cannot write %s\n", qPrintable(file));
            window.close();
        });
    }
    return app.exec();
}
