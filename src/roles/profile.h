#pragma once

#include <QJsonObject>
#include <QList>
#include <QStringList>

#include <optional>

namespace htap::roles {

inline constexpr const char* kProfileFormat = "htap-role-profiles";
inline constexpr int kProfileVersion = 1;

/// What one role should look like: its settings (a null value means RESET: back to the server's
/// value) and optionally its connection limit. docs/role-profiles.md has the file format.
struct RoleProfile {
    QString name;        ///< "OLTP", "OLAP": a label
    QString role;        ///< the role it applies to, spelled exactly (case and quotes kept)
    QString database;    ///< empty: in every database (ALTER ROLE ... SET), else IN DATABASE
    std::optional<int> connectionLimit; ///< -1 removes a limit
    QList<std::pair<QString, std::optional<QString>>> settings; ///< by parameter name
    int cpuNice = 0;     ///< > 0: lower the OS priority of the role's backends (prioritize extension)
    QString description;
};

/// A file of profiles, applied together as one plan.
struct ProfileSet {
    QString name;
    QString description;
    QList<RoleProfile> profiles;

    QJsonObject toJson() const;
    /// Parses and checks the form (types, names); errors name the JSON path. Whether values are
    /// valid is for the plan, against the server's own pg_settings.
    static bool fromJson(const QByteArray& json, ProfileSet* out, QStringList* errors);
    /// The same profiles with every setting reset and every connection limit removed: the
    /// "without isolation" side of isolation-compare.
    ProfileSet resetting() const;
};

/// Built-in profile sets (resources/roles/*.json), by name: "seed-isolation".
QStringList builtinProfileNames();
QByteArray builtinProfileJson(const QString& name);

/// Where the user's own profile sets are kept: $XDG_DATA_HOME/htap-studio/profiles.
QString userProfileDir();
/// A profile set by name (the user's own first, then built-in) or by file path.
bool loadProfileSet(const QString& nameOrPath, ProfileSet* out, QStringList* errors);
/// Writes a profile set to userProfileDir()/NAME.json atomically.
bool saveUserProfileSet(const ProfileSet& set, QString* error);

} // namespace htap::roles
