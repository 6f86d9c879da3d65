#include "profile.h"

#include <core/inputfile.h>
#include <core/number.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLocale>
#include <QRegularExpression>
#include <QSaveFile>
#include <QStandardPaths>

#include <cmath>

namespace htap::roles {

using namespace Qt::StringLiterals;

namespace {

// The most connections a role can be allowed: PostgreSQL's MAX_BACKENDS, the top of
// max_connections. The server's own limit is checked when the plan is made.
constexpr int kMostConnections = 262143;

/// A JSON number as people write it: "12.5", "10000000000", "1e+20", for statements and messages.
QString numberText(double v)
{
    if (v == std::floor(v) && std::fabs(v) < 1e15)
        return QString::number(qint64(v));
    return QString::number(v, 'g', QLocale::FloatingPointShortest);
}

/// Whether a number survived parsing as written: a double keeps 15 significant digits, so
/// 12345678901234567890 arrives as 12345678901234567168.
bool exactInJson(double v)
{
    return QString::number(v, 'g', 15).toDouble() == v;
}

QString jsonTypeName(const QJsonValue& v)
{
    return v.isString() ? u"a string"_s : v.isBool() ? u"a Boolean"_s : v.isArray() ? u"an array"_s
         : v.isObject() ? u"an object"_s : v.isNull() ? u"null"_s : u"a number"_s;
}

/// A whole number from min to max by the rule every number from people follows (core/number.h),
/// or why not; the caller names the path.
std::optional<QString> wholeNumberProblem(const QJsonValue& v, int min, int max, const QString& meaning)
{
    const htap::core::NumberRule rule {double(min), double(max), true};
    if (!v.isDouble())
        return u"%1 (%2), not %3"_s.arg(htap::core::numberProblem(qQNaN(), rule), meaning, jsonTypeName(v));
    if (const QString problem = htap::core::numberProblem(v.toDouble(), rule); !problem.isEmpty())
        return u"%1 (%2), not %3"_s.arg(problem, meaning, numberText(v.toDouble()));
    return std::nullopt;
}

/// Where a parse error is, for people: line and column rather than a byte offset.
QString lineAndColumn(const QByteArray& json, int offset)
{
    const QByteArray before = json.left(offset);
    const int line = int(before.count('\n')) + 1;
    const int column = int(offset - (before.lastIndexOf('\n') + 1)) + 1;
    return u"line %1, column %2"_s.arg(line).arg(column);
}

} // namespace

QJsonObject ProfileSet::toJson() const
{
    QJsonArray ps;
    for (const RoleProfile& p : profiles) {
        QJsonObject settings;
        for (const auto& [name, value] : p.settings)
            settings.insert(name, value ? QJsonValue(*value) : QJsonValue());
        QJsonObject o {{u"name"_s, p.name}, {u"role"_s, p.role}, {u"settings"_s, settings}};
        if (!p.description.isEmpty())
            o.insert(u"description"_s, p.description);
        if (!p.database.isEmpty())
            o.insert(u"database"_s, p.database);
        if (p.connectionLimit)
            o.insert(u"connection_limit"_s, *p.connectionLimit);
        if (p.cpuNice > 0)
            o.insert(u"cpu_nice"_s, p.cpuNice);
        ps << o;
    }
    QJsonObject root {{u"format"_s, QString::fromLatin1(kProfileFormat)}, {u"version"_s, kProfileVersion},
        {u"name"_s, name}, {u"profiles"_s, ps}};
    if (!description.isEmpty())
        root.insert(u"description"_s, description);
    return root;
}

bool ProfileSet::fromJson(const QByteArray& json, ProfileSet* out, QStringList* errors)
{
    errors->clear();
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &pe);
    if (pe.error != QJsonParseError::NoError) {
        // Qt refuses numbers a double cannot hold (1e400) here, before any path is known.
        *errors << u"$: not JSON: %1 at %2%3"_s.arg(pe.errorString(), lineAndColumn(json, pe.offset),
                       pe.error == QJsonParseError::IllegalNumber ? u" (a number must be finite and fit a double)"_s
                                                                 : QString());
        return false;
    }
    if (!doc.isObject()) {
        *errors << u"$: must be an object"_s;
        return false;
    }
    const QJsonObject root = doc.object();
    auto onlyKeys = [&](const QJsonObject& o, const QString& path, const QStringList& keys) {
        for (auto it = o.begin(); it != o.end(); ++it)
            if (!keys.contains(it.key()))
                *errors << u"%1.%2: unknown key (allowed: %3)"_s.arg(path, it.key(), keys.join(u", "_s));
    };
    onlyKeys(root, u"$"_s, {u"format"_s, u"version"_s, u"name"_s, u"description"_s, u"profiles"_s});
    if (root.value(u"format"_s).toString() != QLatin1String(kProfileFormat))
        *errors << u"$.format: must be \"%1\""_s.arg(QLatin1String(kProfileFormat));
    if (root.value(u"version"_s).toInt(-1) != kProfileVersion)
        *errors << u"$.version: must be %1 (this build reads role profile version %1)"_s.arg(kProfileVersion);
    auto textOrAbsent = [&](const QJsonObject& o, const QString& key, const QString& path) {
        const QJsonValue v = o.value(key);
        if (!v.isUndefined() && !v.isNull() && !v.isString())
            *errors << u"%1.%2: a string"_s.arg(path, key);
        return v.toString();
    };
    ProfileSet set;
    set.name = root.value(u"name"_s).toString();
    static const QRegularExpression nameRe(u"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"_s);
    if (!nameRe.match(set.name).hasMatch())
        *errors << u"$.name: a name of letters, digits, '.', '_' or '-' (it names the saved file)"_s;
    set.description = textOrAbsent(root, u"description"_s, u"$"_s);
    const QJsonValue profiles = root.value(u"profiles"_s);
    if (!profiles.isArray() || profiles.toArray().isEmpty())
        *errors << u"$.profiles: must be a non-empty array"_s;
    const QJsonArray pa = profiles.toArray();
    for (int i = 0; i < pa.size(); ++i) {
        const QString path = u"$.profiles[%1]"_s.arg(i);
        if (!pa[i].isObject()) {
            *errors << path + u": must be an object"_s;
            continue;
        }
        const QJsonObject o = pa[i].toObject();
        onlyKeys(o, path, {u"name"_s, u"role"_s, u"database"_s, u"description"_s, u"connection_limit"_s, u"cpu_nice"_s,
                              u"settings"_s});
        RoleProfile p;
        p.name = textOrAbsent(o, u"name"_s, path);
        p.role = o.value(u"role"_s).toString();
        p.description = textOrAbsent(o, u"description"_s, path);
        if (p.role.isEmpty() || p.role.contains(QChar(0)) || p.role.toUtf8().size() > 63)
            *errors << path + u".role: the role's name, 1 to 63 bytes in UTF-8, spelled exactly"_s;
        // Names longer than 63 bytes (the server cuts them to another name) or with a NUL cannot
        // exist: they must be stopped here, not as a syntax error from the server.
        const QJsonValue db = o.value(u"database"_s);
        if (!db.isUndefined() && !db.isNull()
            && (!db.isString() || db.toString().isEmpty() || db.toString().contains(QChar(0)) || db.toString().toUtf8().size() > 63))
            *errors << path + u".database: a database's name, 1 to 63 bytes in UTF-8, or null for every database"_s;
        p.database = db.toString();
        const QJsonValue limit = o.value(u"connection_limit"_s);
        if (!limit.isUndefined()) {
            if (const auto problem = wholeNumberProblem(limit, -1, kMostConnections, u"-1: no limit"_s))
                *errors << path + u".connection_limit: "_s + *problem;
            else
                p.connectionLimit = limit.toInt();
        }
        const QJsonValue nice = o.value(u"cpu_nice"_s);
        if (!nice.isUndefined()) {
            if (const auto problem = wholeNumberProblem(nice, 0, 19, u"0: normal, 19: lowest CPU priority"_s))
                *errors << path + u".cpu_nice: "_s + *problem;
            else
                p.cpuNice = nice.toInt();
        }
        const QJsonValue settings = o.value(u"settings"_s);
        if (!settings.isUndefined() && !settings.isObject())
            *errors << path + u".settings: an object of parameter: value (a string, or null to reset)"_s;
        const QJsonObject so = settings.toObject();
        static const QRegularExpression paramRe(u"^[A-Za-z_][A-Za-z0-9_$]*(\\.[A-Za-z_][A-Za-z0-9_$]*)*$"_s);
        for (auto it = so.begin(); it != so.end(); ++it) {
            const QString spath = path + u".settings."_s + it.key();
            if (!paramRe.match(it.key()).hasMatch()) {
                *errors << spath + u": not a parameter name"_s;
                continue;
            }
            if (std::any_of(p.settings.cbegin(), p.settings.cend(), [&](const auto& s) { return s.first == it.key().toLower(); })) {
                *errors << spath + u": the same parameter twice (names are not case-sensitive)"_s;
                continue;
            }
            const double number = it.value().toDouble();
            if (it.value().isNull())
                p.settings.append({it.key().toLower(), std::nullopt});
            else if (it.value().isString() && it.value().toString().contains(QChar(0)))
                *errors << spath + u": contains a NUL character, which no setting can hold"_s;
            else if (it.value().isString())
                p.settings.append({it.key().toLower(), it.value().toString()});
            else if (it.value().isDouble() && !exactInJson(number))
                *errors << spath + u": %1 has more digits than a JSON number keeps (15): write it as a string"_s.arg(
                    numberText(number));
            else if (it.value().isDouble())
                p.settings.append({it.key().toLower(), numberText(number)});
            else if (it.value().isBool())
                p.settings.append({it.key().toLower(), it.value().toBool() ? u"on"_s : u"off"_s});
            else
                *errors << spath + u": a string (\"64MB\"), a number, a Boolean, or null to reset"_s;
        }
        if (p.settings.isEmpty() && !p.connectionLimit && p.cpuNice == 0)
            *errors << path + u": changes nothing (give settings, connection_limit or cpu_nice)"_s;
        for (int j = 0; j < set.profiles.size(); ++j)
            if (set.profiles[j].role == p.role && set.profiles[j].database == p.database)
                *errors << u"%1.role: role \"%2\"%3 is already in $.profiles[%4]"_s.arg(path, p.role,
                    p.database.isEmpty() ? QString() : u" in database \""_s + p.database + u'"', QString::number(j));
        set.profiles << p;
    }
    if (!errors->isEmpty())
        return false;
    *out = set;
    return true;
}

ProfileSet ProfileSet::resetting() const
{
    ProfileSet r = *this;
    r.name = name + u"-reset"_s;
    r.description = u"Every setting of %1 reset to the server's value, no connection limits."_s.arg(name);
    for (RoleProfile& p : r.profiles) {
        for (auto& s : p.settings)
            s.second.reset();
        if (p.connectionLimit)
            p.connectionLimit = -1;
        p.cpuNice = 0;
    }
    return r;
}

QStringList builtinProfileNames()
{
    QStringList names;
    for (const QString& f : QDir(u":/roles"_s).entryList({u"*.json"_s}, QDir::Files, QDir::Name))
        names << f.chopped(5);
    return names;
}

QByteArray builtinProfileJson(const QString& name)
{
    QFile f(u":/roles/%1.json"_s.arg(name));
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

QString userProfileDir()
{
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) + u"/htap-studio/profiles"_s;
}

bool loadProfileSet(const QString& nameOrPath, ProfileSet* out, QStringList* errors)
{
    errors->clear();
    QByteArray json;
    const bool looksLikePath = nameOrPath.contains(u'/') || nameOrPath.endsWith(u".json"_s);
    const QString userFile = userProfileDir() + u'/' + nameOrPath + u".json"_s;
    const QString path = looksLikePath ? nameOrPath : QFileInfo::exists(userFile) ? userFile : QString();
    if (!path.isEmpty()) {
        QString error; // bounded, and never a FIFO or a device: /dev/zero grew to 16 GB
        if (!htap::core::readInputFile(path, htap::core::kMaxProfileBytes, u"profile file"_s, &json, &error)) {
            *errors << error;
            return false;
        }
    } else {
        json = builtinProfileJson(nameOrPath);
        if (json.isEmpty()) {
            *errors << u"no profile set \"%1\": give a file, or one of: %2"_s.arg(nameOrPath,
                           (builtinProfileNames() + QDir(userProfileDir()).entryList({u"*.json"_s})).join(u", "_s));
            return false;
        }
    }
    if (!ProfileSet::fromJson(json, out, errors)) {
        if (!path.isEmpty())
            for (QString& e : *errors)
                e.prepend(path + u": "_s);
        return false;
    }
    return true;
}

bool saveUserProfileSet(const ProfileSet& set, QString* error)
{
    if (!QDir().mkpath(userProfileDir())) {
        *error = u"cannot create %1"_s.arg(userProfileDir());
        return false;
    }
    QSaveFile f(userProfileDir() + u'/' + set.name + u".json"_s);
    if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(set.toJson()).toJson(QJsonDocument::Indented)) < 0
        || !f.commit()) {
        *error = u"cannot write %1: %2"_s.arg(f.fileName(), f.errorString());
        return false;
    }
    return true;
}

} // namespace htap::roles
