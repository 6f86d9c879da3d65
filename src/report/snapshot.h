// htap_report: performance snapshots. A snapshot is one document for a time window: every
// collected series, the server's facts, role settings, views and their refresh log, locks and
// vacuum at the end, scenario results, a title and a note. JSON, CSV, a self-contained HTML
// report, PDF and PNG charts. QtGui for drawing; no widgets.
#pragma once

#include <QDateTime>
#include <QJsonArray>
#include <QJsonObject>
#include <QList>
#include <QVector>

namespace htap::report {

inline constexpr const char* kSnapshotFormat = "htap-snapshot";
inline constexpr int kSnapshotVersion = 1;

/// One time series over the window, taken from the samples. NaN marks a second without a value.
struct Series {
    QString key;   ///< "oltp.mean_ms", "views.staleness_s.public.sales_hourly_mv"
    QString label;
    QString unit;
    QString chart; ///< which chart it belongs to: latency, throughput, sessions, vacuum_pct, horizon, staleness, replication
    QVector<qint64> t; ///< ms since the epoch (server clock)
    QVector<double> v;
    bool isEmpty() const;
};

/// A number that sums up the window, compared between snapshots.
struct KeyFigure {
    QString key;
    QString label;
    QString unit;
    double value = qQNaN();
    bool lowerIsBetter = true;
};

/// What a live server adds to a snapshot (each part may be missing: then `unavailable` says why).
struct ServerFacts {
    QJsonObject server;     ///< endpoint, version, database, in_recovery
    QJsonArray settings;    ///< the settings that matter to HTAP: name, setting, unit, source
    QJsonArray extensions;  ///< name, version
    QJsonArray roles;       ///< roles with their settings (rolecatalog JSON)
    QJsonArray views;       ///< materialized and incremental views, their state now
    QJsonArray refreshLog;  ///< refresh log entries in the window
    QStringList unavailable;
};

struct Snapshot {
    QString title;
    QString note;
    QDateTime createdAt;
    QString createdBy;    ///< "htap-studio 0.1.0"
    QString server;       ///< the history key of the server
    QDateTime from, to;   ///< the window asked for
    QList<QJsonObject> samples; ///< htap-monitor-sample documents, oldest first
    QList<Series> series;
    ServerFacts facts;
    QJsonObject locksAtEnd;  ///< the last sample's locks section
    QJsonObject vacuumAtEnd; ///< the last sample's vacuum section
    QJsonArray scenarioResults; ///< htap-scenario-result documents that overlap the window
    QJsonArray incidents; ///< the server's incidents that overlap the window (monitor/incidents.h JSON), oldest first

    /// From samples (and facts, results): fills series and the sections at the end. False with a
    /// message when the window holds no sample.
    static bool build(Snapshot* s, QString* error);
    QList<KeyFigure> keyFigures() const;
    /// The samples as the pages replay them offline: the last one, whose state fills the
    /// tables, completed with each section it lacks from the latest sample that has it (the
    /// slow probes' vacuum, views, waits... come every 10th sample; a probe that did not answer
    /// at the end leaves its section out). The pages' tables show the last state the window holds.
    QList<QJsonObject> samplesToReplay() const;
    const Series* seriesByKey(const QString& key) const;
    /// The first and the last moment with data (ms since the epoch): what the charts span. A
    /// "last hour" asked of 17 minutes of history is 17 minutes of data, not 60 of axis.
    std::pair<qint64, qint64> dataSpan() const;

    QJsonObject toJson() const;
    /// Reads a snapshot file's bytes: refuses another format, a newer version, a truncated or
    /// corrupt file, each with a message that says which.
    static bool fromJson(const QByteArray& bytes, Snapshot* out, QString* error);
    /// fromJson of a file's contents; a file that cannot be read says so.
    static bool fromFile(const QString& path, Snapshot* out, QString* error);

    /// One long table: series,label,unit,at,value (docs/snapshot.md).
    QByteArray toCsv() const;
};

/// A figure with its unit as a person reads it, in the app's one format (core/format.h):
/// "850 ms", "3 min 12 s", "1,820/s", "12.5 MB/s", "4,211 xids"; "–" when there is none.
/// Never scientific notation.
QString figureText(double value, const QString& unit);

/// Two snapshots' key figures side by side: before, after, change, and whether it got better.
struct FigureChange {
    KeyFigure before, after;
    double change() const;      ///< after - before
    double changePct() const;   ///< NaN when before is 0 or missing
    int verdict() const;        ///< +1 better, -1 worse, 0 the same (within 5%) or unknown
};
QList<FigureChange> compare(const Snapshot& a, const Snapshot& b);

} // namespace htap::report
