#include "settings.h"

#include <pg/conninfo.h>
#include <store/historystore.h>

#include <QSettings>

namespace htap::ui {

using namespace Qt::StringLiterals;

namespace Key {
const auto Profiles = u"connections/profiles"_s;
const auto ProfileName = u"name"_s;
const auto ProfileConnInfo = u"conninfo"_s;
const auto LastProfile = u"connections/last"_s;
const auto Servers = u"servers/list"_s;
const auto SelectedServer = u"servers/selected"_s;
const auto OltpRoles = u"classes/oltpRoles"_s;
const auto OlapRoles = u"classes/olapRoles"_s;
const auto OltpApps = u"classes/oltpApplications"_s;
const auto OlapApps = u"classes/olapApplications"_s;
const auto HistoryPath = u"history/path"_s;
const auto HistoryRetentionDays = u"history/retentionDays"_s;
const auto Geometry = u"window/geometry"_s;
const auto State = u"window/state"_s;
const auto StateVersion = u"window/stateVersion"_s;
const auto NotifyIncidents = u"incidents/notify"_s;
const auto Theme = u"appearance/theme"_s;
const auto RememberedPasswords = u"connections/passwordInKeyring"_s;
// targets/*: kept by htap::monitor::Targets::load/save, which htapctl monitor reads too.
} // namespace Key

QList<ConnectionProfile> Settings::profiles()
{
    QSettings s;
    QList<ConnectionProfile> out;
    const int n = s.beginReadArray(Key::Profiles);
    for (int i = 0; i < n; ++i) {
        s.setArrayIndex(i);
        out.append({s.value(Key::ProfileName).toString(), s.value(Key::ProfileConnInfo).toString()});
    }
    s.endArray();
    return out;
}

namespace {
void writeProfiles(const QList<ConnectionProfile>& list)
{
    QSettings s;
    s.remove(Key::Profiles);
    s.beginWriteArray(Key::Profiles, int(list.size()));
    for (int i = 0; i < list.size(); ++i) {
        s.setArrayIndex(i);
        s.setValue(Key::ProfileName, list[i].name);
        s.setValue(Key::ProfileConnInfo, list[i].connInfo);
    }
    s.endArray();
}
} // namespace

void Settings::saveProfile(const ConnectionProfile& profile)
{
    QString error;
    const auto parsed = htap::pg::ConnInfo::parse(profile.connInfo, &error);
    const ConnectionProfile safe {profile.name,
        error.isEmpty() ? parsed.without(u"password"_s).toConnString() : QString()};
    auto list = profiles();
    auto it = std::find_if(list.begin(), list.end(), [&](const auto& p) { return p.name == profile.name; });
    if (it != list.end())
        *it = safe;
    else
        list.append(safe);
    writeProfiles(list);
}

void Settings::removeProfile(const QString& name)
{
    auto list = profiles();
    list.removeIf([&](const auto& p) { return p.name == name; });
    writeProfiles(list);
}

QString Settings::lastProfile()
{
    return QSettings().value(Key::LastProfile).toString();
}

void Settings::setLastProfile(const QString& name)
{
    QSettings().setValue(Key::LastProfile, name);
}

QStringList Settings::servers()
{
    return QSettings().value(Key::Servers).toStringList();
}

int Settings::selectedServer()
{
    return QSettings().value(Key::SelectedServer, 0).toInt();
}

void Settings::setServers(const QStringList& connInfos, int selected)
{
    QStringList safe;
    for (const QString& text : connInfos) {
        QString error;
        const auto parsed = htap::pg::ConnInfo::parse(text, &error);
        if (error.isEmpty())
            safe << parsed.without(u"password"_s).without(u"sslpassword"_s).toConnString();
    }
    QSettings s;
    s.setValue(Key::Servers, safe);
    if (selected >= 0)
        s.setValue(Key::SelectedServer, selected);
}

htap::monitor::WorkloadClassifier Settings::classifier()
{
    QSettings s;
    htap::monitor::WorkloadClassifier c;
    c.oltpRoles = s.value(Key::OltpRoles, c.oltpRoles).toStringList();
    c.olapRoles = s.value(Key::OlapRoles, c.olapRoles).toStringList();
    c.oltpApps = s.value(Key::OltpApps, c.oltpApps).toStringList();
    c.olapApps = s.value(Key::OlapApps, c.olapApps).toStringList();
    return c;
}

void Settings::setClassifier(const htap::monitor::WorkloadClassifier& c)
{
    QSettings s;
    s.setValue(Key::OltpRoles, c.oltpRoles);
    s.setValue(Key::OlapRoles, c.olapRoles);
    s.setValue(Key::OltpApps, c.oltpApps);
    s.setValue(Key::OlapApps, c.olapApps);
}

htap::monitor::Targets Settings::targets()
{
    QSettings s;
    return htap::monitor::Targets::load(s);
}

void Settings::setTargets(const htap::monitor::Targets& targets)
{
    QSettings s;
    targets.save(s);
}

QStringList Settings::rememberedPasswords()
{
    return QSettings().value(Key::RememberedPasswords).toStringList();
}

void Settings::setPasswordRemembered(const QString& key, bool remembered)
{
    QStringList keys = rememberedPasswords();
    keys.removeAll(key);
    if (remembered)
        keys << key;
    QSettings().setValue(Key::RememberedPasswords, keys);
}

bool Settings::notifyIncidents()
{
    return QSettings().value(Key::NotifyIncidents, false).toBool();
}

void Settings::setNotifyIncidents(bool on)
{
    QSettings().setValue(Key::NotifyIncidents, on);
}

Theme Settings::theme()
{
    return themeFromName(QSettings().value(Key::Theme).toString()).value_or(Theme::Desktop);
}

void Settings::setTheme(Theme theme)
{
    QSettings().setValue(Key::Theme, themeName(theme));
}

QString Settings::historyPath()
{
    return QSettings().value(Key::HistoryPath, htap::store::HistoryStore::defaultPath()).toString();
}

int Settings::historyRetentionDays()
{
    return std::clamp(QSettings().value(Key::HistoryRetentionDays, 7).toInt(), 1, 3650);
}

QByteArray Settings::windowGeometry()
{
    return QSettings().value(Key::Geometry).toByteArray();
}

QByteArray Settings::windowState()
{
    QSettings s;
    if (s.value(Key::StateVersion).toInt() != kWindowStateVersion)
        return {};
    return s.value(Key::State).toByteArray();
}

void Settings::saveWindow(const QByteArray& geometry, const QByteArray& state)
{
    QSettings s;
    s.setValue(Key::Geometry, geometry);
    s.setValue(Key::State, state);
    s.setValue(Key::StateVersion, kWindowStateVersion);
}

} // namespace htap::ui
