// Role profile sets (htap-role-profiles): ProfileSet::fromJson, the entry point of every profile
// file, built-in set and user's saved set. A set that parses must serialise back and parse again
// to the same set; its reset twin keeps every profile with every setting reset.
#include "fuzzutil.h"

#include <roles/profile.h>

#include <QJsonDocument>
#include <QRegularExpression>

using namespace Qt::StringLiterals;
using htap::fuzz::check;
using htap::roles::ProfileSet;

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    htap::fuzz::quietQt();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const QByteArray json = htap::fuzz::bytes(data, size);
    ProfileSet set;
    QStringList errors;
    const bool ok = ProfileSet::fromJson(json, &set, &errors);
    check(ok == errors.isEmpty(), "fromJson's result agrees with its errors", errors.join(u'\n'));
    for (const QString& e : std::as_const(errors))
        check(e.startsWith(u'$'), "every error names its JSON path", e);
    if (!ok)
        return 0;

    static const QRegularExpression paramRe(u"^[a-z_][a-z0-9_$]*(\\.[a-z_][a-z0-9_$]*)*$"_s);
    check(!set.profiles.isEmpty(), "a valid set has profiles");
    for (const auto& p : std::as_const(set.profiles)) {
        // PostgreSQL keeps names of at most 63 bytes (NAMEDATALEN) and cuts longer ones: a
        // longer name in a plan would act on another role.
        check(!p.role.isEmpty() && !p.role.contains(QChar(0)) && p.role.toUtf8().size() <= 63, "a profile names a role",
            p.role);
        check(p.database.isEmpty() || (!p.database.contains(QChar(0)) && p.database.toUtf8().size() <= 63),
            "a profile names a database or none", p.database);
        check(!p.connectionLimit || *p.connectionLimit >= -1, "a connection limit is -1 or more");
        check(p.cpuNice >= 0 && p.cpuNice <= 19, "cpu_nice from 0 to 19");
        check(!p.settings.isEmpty() || p.connectionLimit || p.cpuNice > 0, "a profile changes something");
        for (const auto& [name, value] : p.settings)
            check(paramRe.match(name).hasMatch(), "a setting is a parameter name in lower case", name);
    }

    const QByteArray again = QJsonDocument(set.toJson()).toJson(QJsonDocument::Compact);
    ProfileSet set2;
    QStringList errors2;
    check(ProfileSet::fromJson(again, &set2, &errors2), "the set reads back",
        QString::fromUtf8(again) + u"\n"_s + errors2.join(u'\n'));
    check(set2.toJson() == set.toJson(), "the set reads back the same", QString::fromUtf8(again));

    const ProfileSet reset = set.resetting();
    check(reset.profiles.size() == set.profiles.size(), "the reset set has every profile");
    for (qsizetype i = 0; i < reset.profiles.size(); ++i) {
        check(reset.profiles[i].settings.size() == set.profiles[i].settings.size(), "the reset set has every setting");
        for (const auto& [name, value] : reset.profiles[i].settings)
            check(!value, "the reset set resets every setting", name);
        check(reset.profiles[i].cpuNice == 0, "the reset set lifts the CPU priority");
    }
    return 0;
}
