// htap_ui: widgets, pages and dialogs. The only library that includes widget headers.
#pragma once

#include <QByteArray>
#include <QList>
#include <QString>
#include <QStringList>

#include <monitor/classifier.h>
#include <monitor/targets.h>

#include "theme.h"

namespace htap::ui {

struct ConnectionProfile {
    QString name;
    QString connInfo; ///< never holds a password: stripped before saving
};

/// Typed access to the app's QSettings. Keys live here only; no secret is ever written.
class Settings
{
public:
    /// Bump when the window layout changes, so an old saved state is ignored, not misapplied.
    static constexpr int kWindowStateVersion = 2;

    static QList<ConnectionProfile> profiles();
    /// Adds or replaces the profile of that name; a password in the conninfo is removed.
    static void saveProfile(const ConnectionProfile& profile);
    static void removeProfile(const QString& name);
    static QString lastProfile();
    static void setLastProfile(const QString& name);

    /// The servers of the window's list, as conninfo strings (a password in one is removed),
    /// and which of them was shown.
    static QStringList servers();
    static int selectedServer();
    /// selected < 0 keeps the one remembered (nothing is shown: a snapshot offline).
    static void setServers(const QStringList& connInfos, int selected);

    /// The servers (PasswordVault::keyFor) whose password the desktop's keyring keeps: only the
    /// fact is kept here, so that no keyring is asked for a server it has nothing for.
    static QStringList rememberedPasswords();
    static void setPasswordRemembered(const QString& key, bool remembered);

    /// Which roles and applications are OLTP and OLAP (default: the seed's oltp_user/olap_user).
    static htap::monitor::WorkloadClassifier classifier();
    static void setClassifier(const htap::monitor::WorkloadClassifier& classifier);

    /// What healthy means (Monitor > Targets…): per class, per view; htapctl reads them too.
    static htap::monitor::Targets targets();
    static void setTargets(const htap::monitor::Targets& targets);
    /// A desktop notification when an incident starts (off by default).
    static bool notifyIncidents();
    static void setNotifyIncidents(bool on);

    /// View > Theme (the desktop's unless chosen).
    static Theme theme();
    static void setTheme(Theme theme);

    /// The history file (default: HistoryStore::defaultPath()) and how many days it keeps.
    static QString historyPath();
    static int historyRetentionDays();

    static QByteArray windowGeometry();
    static QByteArray windowState();
    static void saveWindow(const QByteArray& geometry, const QByteArray& state);
};

} // namespace htap::ui
