// The parse-tree router (issue 24, the seed's 9.2 and 12.2): where one statement should run.
// A pure decision: the statement's text, its freshness budget and a snapshot of the topology
// (the primary, its standbys with their replay lag, the registered views with their shape and
// staleness) in, a Decision out. No connection, no widget, no shared state: any thread may
// call route() at once (the CLI, the Router page's worker, the scenario engine's workers).
// Fetching a Topology from a server is topologyreader.h.
#pragma once

#include <QDateTime>
#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QSet>
#include <QString>
#include <QStringList>

namespace htap::route {

/// The version of Decision::toJson()'s document ("htap-route-decision", docs/router.md).
constexpr int kDecisionFormatVersion = 1;

/// A standby as the primary's pg_stat_replication shows it.
struct Standby {
    QString name;  ///< application_name (a sandbox standby's cluster_name: its folder's name)
    QString state; ///< streaming, catchup, ...
    /// replay_lag in seconds; -1 when the server gives none (NULL: no WAL flowed lately).
    double replayLagSeconds = -1;
    qint64 replayGapBytes = -1; ///< WAL not replayed yet; -1 unknown
    QString conninfo; ///< how to reach it, when known (a sandbox's standby); empty otherwise
    /// The lag the router goes by: replay_lag; with none given and nothing left to replay, 0
    /// (caught up on an idle primary); -1 when unknown (then the standby is not used).
    double effectiveLag() const;
};

/// A materialized view, or one the incremental engine maintains, with what the matcher needs.
struct RegisteredView {
    QString schema;
    QString name;
    QString label() const { return schema + u'.' + name; }
    bool incremental = false;
    /// Can be read now: populated, and for an incremental view in state ready.
    bool readable = true;
    QString unreadableReason;
    /// The definition with every name schema-qualified (pg_get_viewdef under search_path
    /// pg_catalog; the incremental engine's registry keeps it so).
    QString definition;
    QStringList columns;     ///< the view's column names, in order
    QStringList columnTypes; ///< their types as format_type() spells them
    /// now - last successful refresh start (incremental: the oldest unmerged change's age);
    /// -1 unknown (never refreshed through the registry): then it is not used.
    double stalenessSeconds = -1;
};

/// What the catalog says about one base table of a view.
struct TableFacts {
    /// Its unqualified name resolves to it under the fetching session's search_path
    /// (pg_table_is_visible): a query that writes the name alone means this table.
    bool visible = false;
    QStringList columns;
    QHash<QString, QString> columnTypes; ///< by column: format_type()
    QSet<QString> notNull;
};

/// A snapshot of where statements can go.
struct Topology {
    QString primary = QStringLiteral("primary"); ///< the connected server, as the operator names it
    QDateTime fetchedAt;
    /// The connected server is itself a standby: it cannot take writes (the decision says so).
    bool connectedIsStandby = false;
    QList<Standby> standbys;
    QList<RegisteredView> views;
    /// Base tables of the views by "schema.table".
    QHash<QString, TableFacts> tables;
    /// Functions by the name a statement calls them (lower case; "schema.name" when qualified):
    /// true when an overload is volatile (pg_proc.provolatile = 'v').
    QHash<QString, bool> volatileFunctions;
    /// Of those, the aggregates (pg_proc.prokind = 'a').
    QSet<QString> aggregateFunctions;
    /// The function names that were looked up: a name among them missing from volatileFunctions
    /// does not exist on the server. Names never looked up fall back to a built-in list.
    QSet<QString> functionsLookedUp;
    QStringList notes; ///< what the fetch could not read (a view's definition, ...)
};

/// How stale the data a statement reads may be.
struct Budget {
    double seconds = -1; ///< -1: none given
    QString source;      ///< "hint", "workload", "default"
};

/// The seed's freshness target (5 s): the budget of a statement that states none.
constexpr double kDefaultBudgetSeconds = 5.0;

/// Parses a duration as hints and options spell it: 2s, 500ms, 1.5s, 3m, 1h, 0; a bare number
/// is seconds. Returns false with the reason in *error.
bool parseDuration(const QString& text, double* seconds, QString* error);

/// The statement's hint /* htap:fresh=2s */ (or -- htap:fresh=2s), read with PostgreSQL's own
/// lexer (a hint inside a string literal is no hint). Returns true when there is one; *error
/// says what is wrong with it (a bad duration, an unknown key, two hints), else it is empty.
bool findHint(const QString& sql, double* seconds, QString* error);

/// Where the statement goes and why.
struct Decision {
    enum class Target { Primary, Standby, View };
    Target target = Target::Primary;
    /// The server that runs it: the primary's name, or the standby's. A view is read on the
    /// primary, where its staleness is measured.
    QString server;
    QString view;         ///< Target::View: schema.name
    QString rewrittenSql; ///< Target::View: the statement over the view
    /// What the statement is: read, write, locking read, ddl, transaction, utility,
    /// volatile read, unparsable.
    QString kind;
    QString reason;       ///< in the operator's words, naming the construct that decided it
    Budget budget;
    QString hintError;    ///< a hint that could not be read: the statement went to the primary
    /// Why each registered view did not answer it (when the statement was a candidate read).
    QStringList viewsConsidered;
    QJsonObject toJson() const;
};
QString targetName(Decision::Target target);

/// Routes one statement text (one statement, or several forming a transaction). budget is
/// the workload's (Budget::seconds -1: none); a hint in the text overrides it.
Decision route(const QString& sql, const Budget& budget, const Topology& topology);

/// The function names a statement calls, lower case, "schema.name" when qualified: what the
/// topology fetch looks up in pg_proc. Empty for a text that does not parse.
QStringList calledFunctions(const QString& sql);

/// The seed's keyword router (9.2): "olap" when the lower-cased text contains sum(, avg(,
/// group by, having or count(*), else "oltp". Kept to show where it goes wrong.
QString seedKeywordRoute(const QString& sql);

QJsonObject toJson(const Topology& topology);

} // namespace htap::route
