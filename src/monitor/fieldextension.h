#pragma once

#include <pg/connection.h>

#include <QElapsedTimer>
#include <QString>

namespace htap::monitor {

/// An optional extension a probe reads whose library must be preloaded (pg_wait_sampling,
/// pg_stat_kcache): whether the monitored database has it and the server preloads it, in which
/// schema, and when not, what is missing and how to install it. The check reads the catalogs
/// only, so a missing extension costs no failed statement (and no ERROR line in the server's
/// log) every second.
class FieldExtension
{
public:
    /// name: the extension (and its library); debianPackage: its package with %1 for the
    /// server's major version ("postgresql-%1-pg-wait-sampling"); needs: an extension it
    /// needs created (and preloaded) first, or empty.
    FieldExtension(QString name, QString debianPackage, QString needs = {});

    /// True when the probe can read the extension now. Otherwise *missing says what is
    /// missing and how to install it. A missing extension is looked for again every 30 s
    /// (someone may create it); a present one every 60 s (someone may drop it).
    bool ready(htap::pg::Connection& conn, QString* missing);
    /// object (a view or function of the extension), qualified with the extension's schema
    /// through the one quoting function.
    QString qualified(const QString& object) const;
    /// Look again at the next call: a read failed, or the connection is new.
    void forget() { m_checked = false; }

private:
    QString m_name;
    QString m_package;
    QString m_needs;
    bool m_checked = false;
    QElapsedTimer m_since;
    QString m_schema;  ///< empty while missing
    QString m_missing; ///< why, while missing
};

} // namespace htap::monitor
