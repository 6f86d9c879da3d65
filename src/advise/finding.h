// htap_advise: the tuning advisor (issue 25). Checks read a server's catalog and statistics and
// return findings, each with its evidence in numbers, the exact SQL that applies it and the SQL
// that undoes it; AdviceService applies, measures and undoes them with the audit log. No widgets.
#pragma once

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QMetaType>
#include <QStringList>

namespace htap::advise {

/// The JSON document `htapctl advise --json` prints (docs/advisor.md).
inline constexpr auto kAdviceFormat = "htap-advice";
inline constexpr int kAdviceFormatVersion = 1;

/// One figure a finding rests on: a name, the value, and how a person reads it.
struct Evidence {
    QString name;  ///< machine name, e.g. "correlation", "btree_bytes"
    double value = 0;
    QString text;  ///< e.g. "correlation 0.9996 (pg_stats)"
};

/// What the advisor found about one object, and what to do about it.
struct Finding {
    QString id;     ///< stable within a server: check + ':' + object (+ ':' + column)
    QString check;  ///< brin, unused-index, duplicate-index, redundant-index, autovacuum, parallel,
                    ///< mv-unique-index, mv-refresh, missing-index, hypopg, partition
    QString object; ///< schema.name of what it concerns (a table, index, view or role)
    QString title;  ///< one line
    QList<Evidence> evidence;
    QString gain;   ///< the expected gain, in words with figures
    QStringList sql;  ///< to apply; empty: advice only (see note)
    QStringList undo; ///< puts the object back as it was
    /// True: sql runs in one transaction. False: it holds CONCURRENTLY statements, which run one
    /// by one outside a transaction (each tracked in the audit entry).
    bool inTransaction = true;
    QString locks;  ///< locks taken, and what they block
    QString time;   ///< how long it takes, estimated
    QString disk;   ///< disk used or freed
    QString note;   ///< why there is no SQL, what was estimated rather than measured, caveats
    bool canApply = true;
    QString whyNotApply; ///< when canApply is false: what is missing (privileges, extension)
    /// Statements that show the effect, run before and after by Measure.
    QStringList statements;
    /// Settings the measuring session takes for "before" and "after" (name -> value), for
    /// findings whose change is a setting (the OLAP role's parallel workers).
    QMap<QString, QString> settingsBefore;
    QMap<QString, QString> settingsAfter;
    /// What the object looked like when the advice was made (indexes, options, settings): apply
    /// refuses when it looks different now.
    QString guardKind;   ///< table, role, schedule
    QString guardObject; ///< the table's schema.name, the role's name, the view's label
    QString guard;
    /// A partition finding: the table to move online and its partition key (apply runs a
    /// PartitionMove instead of sql, which is then the preview of its statements).
    QString moveSchema, moveTable, moveColumn;
    bool isMove() const { return !moveTable.isEmpty(); }

    QJsonObject toJson() const;
    static Finding fromJson(const QJsonObject& o);
    /// "BEGIN; ...; COMMIT;" or the statements one a line, as they would be sent.
    QString sqlPreview() const;
    QString undoPreview() const;
};

/// Everything one run of the advisor produced.
struct AdviceReport {
    QString server;          ///< user@host:port/db
    QString serverVersion;
    QDateTime readAt;
    bool sandbox = false;
    bool readOnly = false;   ///< the user cannot change what the findings concern (see notes)
    QString statsSince;      ///< when the cumulative statistics began (reset or server start)
    double statsHours = 0;
    QList<Finding> findings;
    QStringList notes;       ///< checks that could not run, and why
    QJsonObject toJson() const;
    static AdviceReport fromJson(const QJsonObject& o);
    const Finding* find(const QString& id) const;
};

/// One statement measured N times with EXPLAIN (ANALYZE, BUFFERS).
struct StatementRun {
    QString statement;
    int runs = 0;
    double medianMs = 0;
    double minMs = 0;
    qint64 sharedHit = 0;   ///< buffers of the median run
    qint64 sharedRead = 0;
    QString plan;           ///< the plan's nodes, one a line, indented
    QString error;          ///< why it could not be measured
    qint64 buffers() const { return sharedHit + sharedRead; }
    QJsonObject toJson() const;
};

struct Measurement {
    QDateTime at;
    QList<StatementRun> statements;
    QJsonObject toJson() const;
};

} // namespace htap::advise

Q_DECLARE_METATYPE(htap::advise::AdviceReport)
Q_DECLARE_METATYPE(htap::advise::Measurement)
