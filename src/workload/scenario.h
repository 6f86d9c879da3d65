// htap_workload: mixed-load scenarios — the model and its validation, the requests of the
// seed's workloads, and the open/closed-loop runner with honest latency.
#pragma once

#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QMetaType>
#include <QString>
#include <QStringList>

namespace htap::workload {

inline constexpr const char* kScenarioFormat = "htap-scenario";
inline constexpr int kScenarioVersion = 1;

struct Workload {
    enum class Kind { Order, Report, Sql, Refresh };
    enum class OrderForm { RoundTrip, Pipeline, Cte };
    enum class Arrival { Constant, Poisson, Closed };
    /// Where its statements run: the primary (the connection's server), the primary's standby,
    /// or where the router (src/route) sends each statement.
    enum class Target { Primary, Standby, Router };

    QString name;
    Kind kind = Kind::Order;
    OrderForm form = OrderForm::RoundTrip;
    bool zipfian = false;   ///< product choice
    double zipfS = 1.1;
    int minItems = 1;       ///< order: distinct products per order, drawn uniformly from min to max
    int maxItems = 5;
    QStringList reports;    ///< Report: hourly, category, rfm, base_aggregation, taken in turn
    QString sqlFile;        ///< Sql: a file of one statement
    QString sqlText;        ///< Sql: its text, read at load time
    QStringList views;      ///< Refresh: materialized views kept fresh, in turn
    QString refreshMode;    ///< Refresh: plain, concurrent or incremental (the views are converted as needed)
    Arrival arrival = Arrival::Poisson;
    int connections = 4;    ///< open: the connection budget; closed: the clients
    double thinkMs = 0;     ///< closed loop only
    QString role;           ///< connect as this role; empty: the connection's own
    QString isolation = QStringLiteral("read committed");
    double sloP99Ms = 0;    ///< 0: none
    int maxTries = 3;       ///< tries for 40001/40P01
    double skipIfLaterThanMs = 0; ///< open loop: skip (and count) a request that could not start in time; 0: never
    double holdSeconds = 0; ///< report/sql: keep the transaction (its snapshot) open this long after the query
    Target target = Target::Primary; ///< standby and router: report and sql workloads only
    double freshnessSeconds = -1;    ///< router: the statements' freshness budget; -1: the router's default
    /// Set by the runner, never read from a file: report name -> the statement that replaces it
    /// (the router's rewrite over a view).
    QMap<QString, QString> rewrittenReports;

    bool open() const { return arrival != Arrival::Closed; }
};

/// A phase's demand for one workload: a rate (requests/s, open loop; a ramp when from != to)
/// or a number of active clients (closed loop).
struct Demand {
    double from = 0;
    double to = 0;
    double at(double fraction) const { return from + (to - from) * fraction; }
};

struct Phase {
    QString name;
    double durationSeconds = 0;
    bool warmup = false;
    QMap<QString, Demand> demand; ///< by workload name; absent = idle in this phase
};

struct Scenario {
    /// Open-loop arrivals a second per workload the runner schedules at most (pgbench's best
    /// on a large server is about a tenth of it), and the longest run, all phases together.
    static constexpr double kMaxRate = 1e6;
    static constexpr double kMaxTotalSeconds = 30 * 86400;

    QString name;
    QString description;
    quint64 seed = 42;
    /// Client threads per workload: each serves its share of the workload's connections without
    /// blocking (like pgbench -j). 0: one per CPU core. Held snapshots and refreshes, which wait
    /// on purpose, keep a thread per connection.
    int threads = 0;
    QList<Workload> workloads;
    QList<Phase> phases;
    /// A role profile set (name or file): run every phase twice, first with the set's settings
    /// reset and its connection limits removed, then with the set applied; restore afterwards
    /// (the seed's isolation experiment, 5.2.4). Empty: one run as the server is.
    QString compareProfiles;

    double totalSeconds() const;
    /// threads, or the number of CPU cores when 0.
    int effectiveThreads() const;
    const Workload* workload(const QString& name) const;
    /// Multiplies open-loop rates (and durations) for a smaller or larger server.
    void scale(double rateFactor, double durationFactor);
    /// One workload resized: its connections (the budget, or the most clients), then its rates
    /// (open loop) or its clients in every phase (closed loop, rounded, 1 to its connections)
    /// multiplied by factor.
    void resizeWorkload(const QString& name, int connections, double factor);
    /// The resolved scenario, stored in every result.
    QJsonObject toJson() const;

    /// What the runner cannot schedule, after scale() too: a rate above kMaxRate, a run longer
    /// than kMaxTotalSeconds. Each with its JSON path; empty when the scenario can run.
    QStringList limitProblems() const;

    /// Parses and validates. Errors name the JSON path ("$.phases[1].rates.orders: ...");
    /// warnings are for things that run but deserve a look. baseDir is the scenario file's
    /// folder: a sqlFile is read from inside it, or from inside one of sqlDirs (htapctl
    /// --allow-sql-from), never from elsewhere (no absolute paths, no "..", no symbolic link out).
    static bool fromJson(const QByteArray& json, Scenario* out, QStringList* errors, QStringList* warnings,
        const QString& baseDir = {}, const QStringList& sqlDirs = {});
};

QString targetName(Workload::Target target);

/// The built-in scenarios (resources), by name.
QStringList presetNames();
QByteArray presetJson(const QString& name);

} // namespace htap::workload
