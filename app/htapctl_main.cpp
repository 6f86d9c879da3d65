// htapctl: the headless command line over the same libraries as the GUI.
#include <cli/htapctl.h>

#include <QCoreApplication>

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("htap-studio"));
    QCoreApplication::setOrganizationName(QStringLiteral("htap-studio"));
    QCoreApplication::setApplicationVersion(QStringLiteral(HTAP_VERSION));
    return htap::cli::runHtapctl(QCoreApplication::arguments().mid(1));
}
