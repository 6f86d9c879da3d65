#include "finding.h"

#include <QJsonArray>

namespace htap::advise {

using namespace Qt::StringLiterals;

namespace {

QJsonObject mapToJson(const QMap<QString, QString>& m)
{
    QJsonObject o;
    for (auto it = m.cbegin(); it != m.cend(); ++it)
        o.insert(it.key(), it.value());
    return o;
}

QMap<QString, QString> mapFromJson(const QJsonObject& o)
{
    QMap<QString, QString> m;
    for (auto it = o.begin(); it != o.end(); ++it)
        m.insert(it.key(), it.value().toString());
    return m;
}

QStringList strings(const QJsonValue& v)
{
    QStringList l;
    for (const QJsonValue& s : v.toArray())
        l << s.toString();
    return l;
}

QString preview(const QStringList& sql, bool inTransaction)
{
    if (sql.isEmpty())
        return {};
    QString text;
    if (inTransaction && sql.size() > 1)
        text += u"BEGIN;\n"_s;
    for (const QString& s : sql)
        text += s + (s.startsWith(u"--"_s) ? u"\n"_s : u";\n"_s);
    if (inTransaction && sql.size() > 1)
        text += u"COMMIT;\n"_s;
    return text;
}

} // namespace

QJsonObject Finding::toJson() const
{
    QJsonArray ev;
    for (const Evidence& e : evidence)
        ev << QJsonObject {{u"name"_s, e.name}, {u"value"_s, e.value}, {u"text"_s, e.text}};
    QJsonObject o {{u"id"_s, id}, {u"check"_s, check}, {u"object"_s, object}, {u"title"_s, title}, {u"evidence"_s, ev},
        {u"gain"_s, gain}, {u"sql"_s, QJsonArray::fromStringList(sql)}, {u"undo"_s, QJsonArray::fromStringList(undo)},
        {u"in_transaction"_s, inTransaction},
        {u"cost"_s, QJsonObject {{u"locks"_s, locks}, {u"time"_s, time}, {u"disk"_s, disk}}}, {u"note"_s, note},
        {u"can_apply"_s, canApply}, {u"why_not_apply"_s, whyNotApply},
        {u"statements"_s, QJsonArray::fromStringList(statements)},
        {u"guard"_s, QJsonObject {{u"kind"_s, guardKind}, {u"object"_s, guardObject}, {u"state"_s, guard}}}};
    if (isMove())
        o.insert(u"move"_s, QJsonObject {{u"schema"_s, moveSchema}, {u"table"_s, moveTable}, {u"column"_s, moveColumn}});
    if (!settingsBefore.isEmpty() || !settingsAfter.isEmpty())
        o.insert(u"measure_settings"_s,
            QJsonObject {{u"before"_s, mapToJson(settingsBefore)}, {u"after"_s, mapToJson(settingsAfter)}});
    return o;
}

Finding Finding::fromJson(const QJsonObject& o)
{
    Finding f;
    f.id = o.value(u"id"_s).toString();
    f.check = o.value(u"check"_s).toString();
    f.object = o.value(u"object"_s).toString();
    f.title = o.value(u"title"_s).toString();
    for (const QJsonValue& v : o.value(u"evidence"_s).toArray()) {
        const QJsonObject e = v.toObject();
        f.evidence << Evidence {e.value(u"name"_s).toString(), e.value(u"value"_s).toDouble(), e.value(u"text"_s).toString()};
    }
    f.gain = o.value(u"gain"_s).toString();
    f.sql = strings(o.value(u"sql"_s));
    f.undo = strings(o.value(u"undo"_s));
    f.inTransaction = o.value(u"in_transaction"_s).toBool(true);
    const QJsonObject cost = o.value(u"cost"_s).toObject();
    f.locks = cost.value(u"locks"_s).toString();
    f.time = cost.value(u"time"_s).toString();
    f.disk = cost.value(u"disk"_s).toString();
    f.note = o.value(u"note"_s).toString();
    f.canApply = o.value(u"can_apply"_s).toBool(true);
    f.whyNotApply = o.value(u"why_not_apply"_s).toString();
    f.statements = strings(o.value(u"statements"_s));
    const QJsonObject ms = o.value(u"measure_settings"_s).toObject();
    f.settingsBefore = mapFromJson(ms.value(u"before"_s).toObject());
    f.settingsAfter = mapFromJson(ms.value(u"after"_s).toObject());
    const QJsonObject g = o.value(u"guard"_s).toObject();
    f.guardKind = g.value(u"kind"_s).toString();
    f.guardObject = g.value(u"object"_s).toString();
    f.guard = g.value(u"state"_s).toString();
    const QJsonObject move = o.value(u"move"_s).toObject();
    f.moveSchema = move.value(u"schema"_s).toString();
    f.moveTable = move.value(u"table"_s).toString();
    f.moveColumn = move.value(u"column"_s).toString();
    return f;
}

QString Finding::sqlPreview() const
{
    return preview(sql, inTransaction);
}

QString Finding::undoPreview() const
{
    return preview(undo, inTransaction);
}

QJsonObject AdviceReport::toJson() const
{
    QJsonArray fs;
    for (const Finding& f : findings)
        fs << f.toJson();
    return {{u"format"_s, QLatin1StringView(kAdviceFormat)}, {u"version"_s, kAdviceFormatVersion}, {u"server"_s, server},
        {u"server_version"_s, serverVersion}, {u"read_at"_s, readAt.toString(Qt::ISODateWithMs)}, {u"sandbox"_s, sandbox},
        {u"read_only"_s, readOnly}, {u"stats_since"_s, statsSince}, {u"stats_hours"_s, statsHours}, {u"findings"_s, fs},
        {u"notes"_s, QJsonArray::fromStringList(notes)}};
}

AdviceReport AdviceReport::fromJson(const QJsonObject& o)
{
    AdviceReport r;
    r.server = o.value(u"server"_s).toString();
    r.serverVersion = o.value(u"server_version"_s).toString();
    r.readAt = QDateTime::fromString(o.value(u"read_at"_s).toString(), Qt::ISODateWithMs);
    r.sandbox = o.value(u"sandbox"_s).toBool();
    r.readOnly = o.value(u"read_only"_s).toBool();
    r.statsSince = o.value(u"stats_since"_s).toString();
    r.statsHours = o.value(u"stats_hours"_s).toDouble();
    for (const QJsonValue& v : o.value(u"findings"_s).toArray())
        r.findings << Finding::fromJson(v.toObject());
    r.notes = strings(o.value(u"notes"_s));
    return r;
}

const Finding* AdviceReport::find(const QString& id) const
{
    for (const Finding& f : findings)
        if (f.id == id)
            return &f;
    return nullptr;
}

QJsonObject StatementRun::toJson() const
{
    return {{u"statement"_s, statement}, {u"runs"_s, runs}, {u"median_ms"_s, medianMs}, {u"min_ms"_s, minMs},
        {u"shared_hit"_s, sharedHit}, {u"shared_read"_s, sharedRead}, {u"plan"_s, plan}, {u"error"_s, error}};
}

QJsonObject Measurement::toJson() const
{
    QJsonArray a;
    for (const StatementRun& s : statements)
        a << s.toJson();
    return {{u"at"_s, at.toString(Qt::ISODateWithMs)}, {u"statements"_s, a}};
}

} // namespace htap::advise
