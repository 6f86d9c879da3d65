#pragma once

#include <QList>
#include <QMetaType>
#include <QPair>
#include <QString>

namespace htap::pg {

/// A parsed libpq connection string (key=value form or postgresql:// URI).
///
/// Parsing is libpq's own (PQconninfoParse), so every keyword libpq knows is accepted and
/// everything else is refused with libpq's message. What the string leaves out (host, user,
/// password...) is left to libpq at connect time: PG* environment variables, pg_service.conf and
/// ~/.pgpass keep working because we do not re-implement them.
class ConnInfo
{
public:
    ConnInfo() = default;

    /// Parses and validates; on failure returns an empty ConnInfo and sets *error to one line.
    static ConnInfo parse(const QString& text, QString* error);

    bool isEmpty() const { return m_options.isEmpty(); }
    QString value(const QString& keyword) const;
    bool contains(const QString& keyword) const;
    /// Returns a copy with keyword set (replacing an earlier value).
    ConnInfo with(const QString& keyword, const QString& value) const;
    /// Returns a copy without keyword.
    ConnInfo without(const QString& keyword) const;

    /// The keyword/value pairs in the order given.
    const QList<QPair<QString, QString>>& options() const { return m_options; }

    /// A conninfo string that libpq (and psql) accept, with the password if one was given.
    /// For connecting only: never display or log it; use redacted() for that.
    QString toConnString() const;
    /// The same string with any password replaced by "********".
    QString redacted() const;
    /// Short human label, "user@host:port/dbname", from what the string names (libpq
    /// defaults shown as such), never the password.
    QString displayName() const;

    /// Quotes a value for a conninfo string: bare when safe, else single-quoted with escapes.
    static QString quoteValue(const QString& value);

private:
    QList<QPair<QString, QString>> m_options;
};

} // namespace htap::pg

Q_DECLARE_METATYPE(htap::pg::ConnInfo)
