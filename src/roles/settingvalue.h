// htap_roles: per-role resource settings. Read what a server holds, validate an edit against
// that server's own pg_settings, plan the ALTER ROLE statements, apply them in one transaction,
// read them back, keep an audit log and undo. No widgets.
#pragma once

#include <QString>
#include <QStringList>

#include <optional>

namespace htap::roles {

/// One parameter as the connected server describes it in pg_settings.
struct ParamDef {
    QString name;     ///< lower case, as pg_settings spells it
    QString vartype;  ///< bool, integer, real, string, enum
    QString unit;     ///< pg_settings.unit: "", "B", "kB", "8kB", "MB", "ms", "s", "min", ...
    QString context;  ///< user, superuser, backend, superuser-backend, sighup, postmaster, internal
    QString category;
    QString description;
    std::optional<double> min, max; ///< in the parameter's own unit
    QStringList enumValues;
    QString bootValue;
    QString serverValue;  ///< what a session gets when no role or database setting applies
    QString serverSource; ///< where serverValue comes from: default, configuration file, ...

    bool isMemory() const;
    bool isTime() const;
    /// How many bytes (memory) or milliseconds (time) one of the parameter's units is; 1 otherwise.
    double unitScale() const;
    /// A value of this parameter in its own unit, written the way a DBA would: 65536 (kB) -> "64MB".
    QString formatInUnit(double value) const;
    /// A stored value for people: a plain number of a parameter with a unit gets the unit
    /// ("4096" of work_mem -> "4MB"); anything else is returned as it is.
    QString display(const QString& value) const;
    /// "64kB .. 2TB", "0 .. 1024", "one of: serializable, repeatable read, ...", "on or off".
    QString allowedText() const;
};

/// What checkValue says about a value.
struct ValueCheck {
    bool ok = false;
    QString canonical; ///< the text to send: trimmed, units kept, enums and booleans spelled as the server does
    double base = 0;   ///< numeric value in bytes (memory), ms (time) or plain units, for comparisons
    QString message;   ///< when !ok: names the parameter, what is wrong and what is allowed
};

/// Checks one value the way the server's parser would (guc.c parse_int/parse_real/parse_bool and
/// the enum lookup), without sending it: units, rounding, range, enum values, booleans.
ValueCheck checkValue(const ParamDef& def, const QString& text);

/// True when both texts mean the same value of def ("64MB" and "65536kB", "Repeatable Read" and
/// "repeatable read"); falls back to comparing the text when a side does not parse.
bool sameValue(const ParamDef& def, const QString& a, const QString& b);

/// Parameters whose value is a list of names that the server quotes one by one (GUC_LIST_QUOTE:
/// search_path, temp_tablespaces, the preload libraries). ALTER ROLE must send them as a list of
/// literals, one per element, or the whole text becomes one element.
bool isListParam(const QString& name);
/// Splits a list value as the server does: elements separated by commas, "double-quoted" ones
/// kept exactly, bare ones lower-cased when downcase (names: SplitIdentifierString; library paths
/// keep their case: SplitDirectoriesString). false on an unbalanced quote or a trailing comma.
bool splitList(const QString& text, QStringList* elements, bool downcase = true);
/// Whether a list parameter holds names (lower-cased when bare) rather than paths.
bool listDowncases(const QString& name);
/// Two split lists mean the same (an empty list reads back as one empty name).
bool sameList(const QStringList& a, const QStringList& b);
/// Elements written back as a list value: quoted where needed ("Shop", public).
QString joinList(const QStringList& elements);

/// Two values as pg_db_role_setting stores them (nullopt: not set): the same text, or for a list
/// parameter the same elements (the server re-quotes them).
bool sameStoredValue(const QString& name, const std::optional<QString>& a, const std::optional<QString>& b);

/// Why a role-level setting of a parameter with this context is impossible, or empty when it is
/// possible. superuserOnly is set for parameters only a superuser (or a SET grant) may set.
QString roleSettableReason(const ParamDef& def, bool* superuserOnly);

} // namespace htap::roles
