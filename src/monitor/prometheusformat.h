// The latest ServerSample in the Prometheus text exposition format (version 0.0.4), for a
// team that watches many servers with its Prometheus (htapctl monitor --listen). Names, units
// and labels are listed in docs/prometheus.md.
#pragma once

#include "serversample.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <array>
#include <optional>

namespace htap::monitor {

/// docs/prometheus.md's format version: a renamed or removed metric, or a change of meaning,
/// bumps it; new metrics do not.
inline constexpr int kPrometheusFormatVersion = 1;
inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

/// Statements of one class since the exporter started, summed from pg_stat_statements' deltas:
/// its own totals are no counter (entries are evicted and reset), the sum of deltas is.
struct ClassStatementTotals {
    qint64 statements = 0;
    double execSeconds = 0;
};

/// Everything one scrape shows.
struct PrometheusInput {
    QString server;          ///< host:port/database of the monitored server: every series' `server` label
    QString postgresVersion; ///< "15.18"; empty before the first connect
    bool up = false;         ///< connected, with a sample: false shows htap_up 0 and nothing of the server
    const ServerSample* sample = nullptr;
    qint64 samples = 0; ///< samples taken since the exporter started
    std::array<ClassStatementTotals, 3> statements; ///< by WorkloadClass
};

/// The exposition: HELP and TYPE once per metric, then its series; only what the input holds.
/// Pure: the same input gives the same bytes.
QByteArray formatPrometheus(const PrometheusInput& in);

/// A label value as the format quotes it: backslash, double quote and newline escaped.
QString escapeLabelValue(const QString& value);

/// The server label for an endpoint as the collector reports it ("user@host:port/db"): the user
/// left out, so one server keeps its series whoever the monitor logs in as.
QString serverLabel(const QString& endpoint);

/// Labels for standbys (application_name): two with the same name (the default "walreceiver")
/// get "#2", "#3" after theirs, so no two series collide. In the order given.
QStringList standbyLabels(const QList<StandbyLag>& standbys);

/// What an exporter keeps between samples: the latest sample, with the sections of slow probes
/// (vacuum, views, waits, cpu run every tenth tick) carried from the sample that had them, and
/// the statement totals. Lives on the thread that feeds it.
class PrometheusExposition
{
public:
    void setServer(const QString& endpoint, const QString& postgresVersion);
    /// False while the server does not answer: a scrape then says htap_up 0.
    void setUp(bool up) { m_up = up; }
    void addSample(const ServerSample& sample);
    bool hasSample() const { return m_latest.has_value(); }
    QByteArray text() const;

private:
    QString m_server;
    QString m_version;
    bool m_up = false;
    std::optional<ServerSample> m_latest;
    qint64 m_samples = 0;
    std::array<ClassStatementTotals, 3> m_statements;
};

/// next, with each slow section it lacks taken from previous, unless its probe said this time
/// that it cannot run (then the section is gone, as the server's).
ServerSample carrySlowSections(const ServerSample& previous, ServerSample next);

} // namespace htap::monitor
