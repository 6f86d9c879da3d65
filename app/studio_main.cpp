// htap-studio: the GUI. Parses its arguments and wires the main window; nothing else.
#include <core/number.h>
#include <pg/sandbox.h>
#include <ui/advisorpage.h>
#include <ui/mainwindow.h>
#include <ui/monitoredserver.h>
#include <ui/routerpage.h>
#include <ui/scenariospage.h>
#include <ui/settings.h>
#include <ui/theme.h>
#include <workload/scenario.h>

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QDialog>
#include <QTimer>

#include <cstdio>

namespace {

/// The options, described once: for --help without a display, and for the real start.
void addOptions(QCommandLineParser& parser, QList<QCommandLineOption>& options)
{
    parser.setApplicationDescription(QStringLiteral("HTAP Studio: PostgreSQL OLTP/OLAP workbench"));
    parser.addHelpOption();
    parser.addVersionOption();
    options = {
        {QStringLiteral("connect"), QStringLiteral("Monitor this conninfo or URI too (give it once per server)"), QStringLiteral("conninfo")},
        {QStringLiteral("no-restore"), QStringLiteral("Do not reconnect to the servers of the last session")},
        {QStringLiteral("sandbox"), QStringLiteral("Start the sandbox and monitor it too")},
        {QStringLiteral("sandbox-dir"), QStringLiteral("Sandbox folder"), QStringLiteral("folder")},
        {QStringLiteral("screenshot"), QStringLiteral("Save a PNG of the window after --screenshot-delay seconds, then quit "
                                                      "(a name with %1 saves every page, %1 standing for its name)"),
            QStringLiteral("file")},
        {QStringLiteral("screenshot-delay"), QStringLiteral("Seconds (default 8)"), QStringLiteral("s"), QStringLiteral("8")},
        {QStringLiteral("page"),
            QStringLiteral("Page to show first: Overview, Incidents, Latency, Activity, Locks, Vacuum, Views, Scenarios, Roles or Router"),
            QStringLiteral("name")},
        {QStringLiteral("run-scenario"),
            QStringLiteral("Once connected, start this scenario (a preset's name or a scenario file) on the Scenarios page"),
            QStringLiteral("preset|file")},
        {QStringLiteral("open-snapshot"), QStringLiteral("Show this snapshot file offline (no server needed)"), QStringLiteral("file.json")},
        {QStringLiteral("compare"), QStringLiteral("Compare two snapshot files: give --compare A --compare B"), QStringLiteral("file.json")},
        {QStringLiteral("size"), QStringLiteral("Window size in pixels, e.g. 1600x1000 (for screenshots)"), QStringLiteral("WxH")},
        {QStringLiteral("theme"),
            QStringLiteral("desktop, light or dark, for this run (View > Theme chooses and keeps one)"), QStringLiteral("name")},
    };
    parser.addOptions(options);
}

void describeApp()
{
    QCoreApplication::setApplicationName(QStringLiteral("htap-studio"));
    QCoreApplication::setOrganizationName(QStringLiteral("htap-studio"));
    QCoreApplication::setApplicationVersion(QStringLiteral(HTAP_VERSION));
}

} // namespace

int main(int argc, char** argv)
{
    // --help and --version need no display: answered before a QApplication (which aborts
    // without one) is made.
    for (int i = 1; i < argc; ++i) {
        const QByteArray a(argv[i]);
        if (a == "-h" || a == "--help" || a == "--help-all" || a == "-v" || a == "--version") {
            QCoreApplication core(argc, argv);
            describeApp();
            QCommandLineParser parser;
            QList<QCommandLineOption> options;
            addOptions(parser, options);
            parser.process(core); // prints and exits
            return 0;
        }
    }

    QApplication app(argc, argv);
    describeApp();
    QApplication::setApplicationDisplayName(QStringLiteral("HTAP Studio"));
    QApplication::setDesktopFileName(QStringLiteral(HTAP_APP_ID));

    QCommandLineParser parser;
    QList<QCommandLineOption> options;
    addOptions(parser, options);
    const QCommandLineOption& connectOpt = options[0];
    const QCommandLineOption& noRestoreOpt = options[1];
    const QCommandLineOption& sandboxOpt = options[2];
    const QCommandLineOption& sandboxDirOpt = options[3];
    const QCommandLineOption& screenshotOpt = options[4];
    const QCommandLineOption& delayOpt = options[5];
    const QCommandLineOption& pageOpt = options[6];
    const QCommandLineOption& scenarioOpt = options[7];
    const QCommandLineOption& openOpt = options[8];
    const QCommandLineOption& compareOpt = options[9];
    const QCommandLineOption& sizeOpt = options[10];
    const QCommandLineOption& themeOpt = options[11];
    parser.process(app);
    QSize size;
    if (parser.isSet(sizeOpt)) {
        const QStringList wh = parser.value(sizeOpt).split(u'x');
        bool okW = false, okH = false;
        if (wh.size() == 2)
            size = QSize(wh[0].toInt(&okW), wh[1].toInt(&okH));
        if (!okW || !okH || size.width() < 200 || size.height() < 200 || size.width() > 16384 || size.height() > 16384) {
            std::fprintf(stderr, "htap-studio: error: --size: expected WIDTHxHEIGHT in pixels, 200 to 16384, got %s\n",
                qPrintable(parser.value(sizeOpt)));
            return 2;
        }
    }
    QString delayError;
    const auto delay = htap::core::parseNumber(u"--screenshot-delay"_qs, parser.value(delayOpt), {0, 3600}, &delayError);
    if (!delay) {
        std::fprintf(stderr, "htap-studio: error: %s\n", qPrintable(delayError));
        return 2;
    }

    // Checked before any window: a typo must not half-start the app. --run-scenario takes a
    // preset's name or a scenario file (whose content is checked when it starts, as the page does).
    QString scenarioArg = parser.value(scenarioOpt);
    const bool scenarioIsFile = parser.isSet(scenarioOpt) && !htap::workload::presetNames().contains(scenarioArg);
    if (scenarioIsFile && !QFileInfo(scenarioArg).isFile()) {
        std::fprintf(stderr, "htap-studio: error: --run-scenario: no preset or file named %s (presets: %s)\n",
            qPrintable(scenarioArg), qPrintable(htap::workload::presetNames().join(QStringLiteral(", "))));
        return 2;
    }
    if (scenarioIsFile)
        scenarioArg = QFileInfo(scenarioArg).absoluteFilePath(); // the working directory is now's

    QList<htap::pg::ConnInfo> servers;
    for (const QString& text : parser.values(connectOpt)) {
        QString error;
        servers << htap::pg::ConnInfo::parse(text, &error);
        if (!error.isEmpty()) {
            std::fprintf(stderr, "htap-studio: error: invalid --connect conninfo: %s\n", qPrintable(error));
            return 2;
        }
    }

    std::optional<htap::ui::Theme> theme = htap::ui::Settings::theme();
    if (parser.isSet(themeOpt)) {
        theme = htap::ui::themeFromName(parser.value(themeOpt));
        if (!theme) {
            std::fprintf(stderr, "htap-studio: error: --theme: expected desktop, light or dark, got %s\n",
                qPrintable(htap::core::excerpt(parser.value(themeOpt))));
            return 2;
        }
    }
    htap::ui::applyTheme(*theme); // before any widget is made

    htap::ui::MainWindow window;
    if (size.isValid())
        window.resize(size);
    window.show();
    if (parser.isSet(pageOpt))
        window.showPage(parser.value(pageOpt));
    if (parser.isSet(scenarioOpt)) {
        auto* once = new QObject(&window);
        // With --sandbox, on that sandbox: not on a server of the last session that happens to
        // connect first.
        const QString sandboxHost = !parser.isSet(sandboxOpt) ? QString()
            : (parser.value(sandboxDirOpt).isEmpty() ? htap::pg::Sandbox() : htap::pg::Sandbox(parser.value(sandboxDirOpt)))
                  .connInfo().value(QStringLiteral("host"));
        QObject::connect(&window, &htap::ui::MainWindow::selectedStateChanged, once,
            [&window, scenarioArg, scenarioIsFile, once, sandboxHost](htap::monitor::ConnectionState state) {
                if (state != htap::monitor::ConnectionState::Connected)
                    return;
                if (!sandboxHost.isEmpty()
                    && !(window.selectedServer() && window.selectedServer()->info().value(QStringLiteral("host")) == sandboxHost))
                    return;
                if (scenarioIsFile)
                    window.scenariosPage()->selectFile(scenarioArg);
                else
                    window.scenariosPage()->selectPreset(scenarioArg);
                window.scenariosPage()->startSelected();
                once->deleteLater();
            });
    }

    if (parser.values(compareOpt).size() == 2)
        window.compareSnapshotFiles(parser.values(compareOpt).at(0), parser.values(compareOpt).at(1));
    else if (parser.isSet(compareOpt)) {
        std::fprintf(stderr, "htap-studio: error: --compare takes two files: --compare A --compare B\n");
        return 2;
    }
    // The last session's servers come back (each connects on its collector's thread); those
    // named here are added to them and the last one named is shown.
    if (!parser.isSet(noRestoreOpt))
        window.restoreServers();
    else
        window.setServerListSaved(false); // the stored list stays for the next ordinary start
    for (const htap::pg::ConnInfo& info : std::as_const(servers))
        window.connectTo(info);
    if (parser.isSet(sandboxOpt))
        window.startSandbox(parser.value(sandboxDirOpt));
    if (parser.isSet(openOpt))
        window.openSnapshotFile(parser.value(openOpt));
    else if (window.servers().isEmpty() && !parser.isSet(sandboxOpt) && !parser.isSet(compareOpt))
        QTimer::singleShot(0, &window, &htap::ui::MainWindow::showConnectDialog);

    if (parser.isSet(screenshotOpt)) {
        // "shot-%1.png" saves every page, "%1" standing for its name; otherwise the current page.
        const QString file = parser.value(screenshotOpt);
        QTimer::singleShot(int(*delay * 1000), &window, [&window, file] {
            const QStringList pages = file.contains(QLatin1String("%1")) ? window.pageTitles() : QStringList {QString()};
            for (const QString& page : pages) {
                if (!page.isEmpty())
                    window.showPage(page);
                QElapsedTimer settle; // let the charts' redraw timer run on the newly shown page
                settle.start();
                if (window.routerPage()->isVisible()) { // its example statement, routed
                    window.routerPage()->routeStatement();
                    while (window.routerPage()->isBusy() && settle.elapsed() < 15000)
                        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
                    settle.restart();
                }
                while (settle.elapsed() < 500)
                    QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
                // The Advisor reads the catalog when first shown: its findings, not its spinner.
                while (page == QLatin1String("Advisor") && settle.elapsed() < 15000
                    && (window.advisorPage()->isBusy() || !window.advisorPage()->report().readAt.isValid()))
                    QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
                const QString path = page.isEmpty() ? file : file.arg(page.toLower());
                // A comparison is a dialog of its own: that is the picture then.
                QWidget* shown = window.findChild<QDialog*>(QStringLiteral("compareDialog"));
                if (!(shown ? shown : static_cast<QWidget*>(&window))->grab().save(path))
                    std::fprintf(stderr, "htap-studio: error: cannot write %s\n", qPrintable(path));
            }
            window.close();
        });
    }
    return app.exec();
}
