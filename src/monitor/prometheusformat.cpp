#include "prometheusformat.h"

#include <QLocale>
#include <QSet>

#include <algorithm>
#include <cmath>
#include <initializer_list>

namespace htap::monitor {

using namespace Qt::StringLiterals;

namespace {

enum class Type { Counter, Gauge };

struct Label {
    const char* name;
    QString value;
};

/// The series of one metric, each label set once: a repeat would be a second series with the
/// same identity, which Prometheus rejects for the whole scrape (and promtool does not catch).
class Series
{
public:
    explicit Series(const QString& server)
        : m_server(escapeLabelValue(server))
    {
    }
    void add(double value, std::initializer_list<Label> labels = {})
    {
        if (!std::isfinite(value))
            return; // "unknown" is no value: the series is left out
        QByteArray set = "{server=\"" + m_server.toUtf8() + '"';
        for (const Label& l : labels)
            set += ',' + QByteArray(l.name) + "=\"" + escapeLabelValue(l.value).toUtf8() + '"';
        set += '}';
        if (m_seen.contains(set))
            return;
        m_seen.insert(set);
        m_lines.append({set, value});
    }
    bool isEmpty() const { return m_lines.isEmpty(); }
    const QList<std::pair<QByteArray, double>>& lines() const { return m_lines; }

private:
    QString m_server;
    QSet<QByteArray> m_seen;
    QList<std::pair<QByteArray, double>> m_lines;
};

QByteArray number(double v)
{
    // Whole values as integers (counters of bytes pass 10^9 soon): no "1.2e+09" for a reader.
    if (std::abs(v) < 9e15 && v == std::trunc(v))
        return QByteArray::number(qint64(v));
    return QByteArray::number(v, 'g', QLocale::FloatingPointShortest);
}

QByteArray escapeHelp(const char* help)
{
    QByteArray h(help);
    h.replace('\\', "\\\\");
    h.replace('\n', "\\n");
    return h;
}

template <class T, class F>
void perClass(const QList<T>& list, Series& o, F value)
{
    for (const T& c : list)
        o.add(double(value(c)), {{"class", toString(c.workloadClass)}});
}

template <class F>
void perView(const std::optional<ViewSample>& views, Series& o, F value)
{
    if (views)
        for (const ViewState& v : views->views)
            if (const std::optional<double> x = value(v))
                o.add(*x, {{"view", v.view}});
}

template <class F>
void perStandby(const std::optional<ReplicationSample>& r, Series& o, F value)
{
    if (!r)
        return;
    const QStringList names = standbyLabels(r->standbys);
    for (qsizetype i = 0; i < r->standbys.size(); ++i)
        o.add(double(value(r->standbys[i])), {{"standby", names[i]}});
}

template <class F>
void perSlot(const std::optional<ReplicationSample>& r, Series& o, F value)
{
    if (r)
        for (const SlotState& s : r->replicationSlots)
            o.add(double(value(s)), {{"slot", s.name}, {"slot_type", s.type}});
}

/// The largest value per holder kind.
template <class F>
void perHolderKind(const std::optional<VacuumSample>& v, Series& o, F value)
{
    if (!v)
        return;
    QMap<QString, double> worst;
    for (const XminHolder& h : v->holders)
        worst[h.kind] = std::max(worst.value(h.kind, 0), double(value(h)));
    for (auto it = worst.cbegin(); it != worst.cend(); ++it)
        o.add(it.value(), {{"kind", it.key()}});
}

std::optional<double> when(bool condition, double value)
{
    return condition ? std::optional<double>(value) : std::nullopt;
}

/// One metric: its name, type, HELP text, and how its series come from the input. A new field
/// of the sample is one entry here and one row in docs/prometheus.md.
template <class Source>
struct Metric {
    const char* name;
    Type type;
    const char* help;
    void (*fill)(const Source&, Series&);
};

constexpr Type Gauge = Type::Gauge;
constexpr Type Counter = Type::Counter;
using In = PrometheusInput;
using S = ServerSample;

// Shown whatever the server's state.
const Metric<In> kExporterMetrics[] = {
    {"htap_up", Gauge, "1 when the monitor is connected to the server and has sampled it, else 0 (then no other series of the server is shown).",
     [](const In& in, Series& o) { o.add(in.up ? 1 : 0); }},
    {"htap_exporter_info", Gauge, "Always 1; the labels say the exporter's build and the format version of these metrics (docs/prometheus.md).",
     [](const In&, Series& o) {
         o.add(1, {{"version", QString::fromLatin1(HTAP_VERSION)}, {"format_version", QString::number(kPrometheusFormatVersion)}});
     }},
    {"htap_postgres_info", Gauge, "Always 1; the label says the server's PostgreSQL version.",
     [](const In& in, Series& o) {
         if (!in.postgresVersion.isEmpty())
             o.add(1, {{"version", in.postgresVersion}});
     }},
    {"htap_samples_total", Counter, "Samples the monitor took of the server since the exporter started.",
     [](const In& in, Series& o) { o.add(double(in.samples)); }},
};

// Shown while up.
const Metric<In> kTotalMetrics[] = {
    {"htap_class_statements_total", Counter,
     "Statements of the class that finished since the exporter started (pg_stat_statements deltas between samples; an interval with a reset or eviction is not counted).",
     [](const In& in, Series& o) {
         for (int c = 0; c < 3; ++c)
             o.add(double(in.statements[c].statements), {{"class", toString(WorkloadClass(c))}});
     }},
    {"htap_class_statement_exec_seconds_total", Counter,
     "Execution time of the class's finished statements since the exporter started (as htap_class_statements_total); divided by it over a range, the mean latency.",
     [](const In& in, Series& o) {
         for (int c = 0; c < 3; ++c)
             o.add(in.statements[c].execSeconds, {{"class", toString(WorkloadClass(c))}});
     }},
};

const Metric<S> kSampleMetrics[] = {
    // Activity: pg_stat_database's counters over all databases, and pg_stat_activity now.
    {"htap_sample_timestamp_seconds", Gauge, "When the sample shown was taken, on the server's clock (Unix time).",
     [](const S& s, Series& o) { o.add(double(s.sampledAt.toMSecsSinceEpoch()) / 1000.0); }},
    {"htap_transactions_committed_total", Counter, "Transactions committed, all databases (pg_stat_database.xact_commit; the monitor's own included, about one a sample).",
     [](const S& s, Series& o) { o.add(double(s.activity.xactCommit)); }},
    {"htap_transactions_rolled_back_total", Counter, "Transactions rolled back, all databases (pg_stat_database.xact_rollback).",
     [](const S& s, Series& o) { o.add(double(s.activity.xactRollback)); }},
    {"htap_blocks_hit_total", Counter, "Block reads found in shared buffers, all databases (pg_stat_database.blks_hit).",
     [](const S& s, Series& o) { o.add(double(s.activity.blocksHit)); }},
    {"htap_blocks_read_total", Counter, "Block reads that missed shared buffers, all databases (pg_stat_database.blks_read).",
     [](const S& s, Series& o) { o.add(double(s.activity.blocksRead)); }},
    {"htap_tuples_read_total", Counter, "Rows returned and fetched, all databases (pg_stat_database tup_returned + tup_fetched).",
     [](const S& s, Series& o) { o.add(double(s.activity.tuplesRead)); }},
    {"htap_tuples_written_total", Counter, "Rows inserted, updated and deleted, all databases.",
     [](const S& s, Series& o) { o.add(double(s.activity.tuplesWritten)); }},
    {"htap_temp_files_total", Counter, "Temporary files created by queries, all databases.",
     [](const S& s, Series& o) { o.add(double(s.activity.tempFiles)); }},
    {"htap_temp_bytes_total", Counter, "Bytes written to temporary files by queries, all databases.",
     [](const S& s, Series& o) { o.add(double(s.activity.tempBytes)); }},
    {"htap_wal_bytes_total", Counter, "WAL position in bytes (pg_current_wal_lsn(); on a standby the replay position): its rate is WAL written (replayed) per second.",
     [](const S& s, Series& o) { o.add(double(s.activity.walPosition)); }},
    {"htap_sessions", Gauge, "Client sessions by state (pg_stat_activity; the monitor's own left out).",
     [](const S& s, Series& o) {
         const ActivitySample& a = s.activity;
         o.add(a.active, {{"state", u"active"_s}});
         o.add(a.idle, {{"state", u"idle"_s}});
         o.add(a.idleInTransaction, {{"state", u"idle_in_transaction"_s}});
         o.add(a.idleInTransactionAborted, {{"state", u"idle_in_transaction_aborted"_s}});
         o.add(a.otherState, {{"state", u"other"_s}});
     }},
    {"htap_active_sessions_waiting", Gauge, "Active client sessions waiting now, by wait_event_type.",
     [](const S& s, Series& o) {
         for (auto it = s.activity.waitEvents.cbegin(); it != s.activity.waitEvents.cend(); ++it)
             o.add(it.value(), {{"wait_event_type", it.key()}});
     }},

    // Per workload class (OLTP, OLAP, other): what its sessions do now, and its statements.
    {"htap_class_sessions", Gauge, "Client sessions of the class, any state.",
     [](const S& s, Series& o) { perClass(s.sessions.classes, o, [](const ClassSessions& c) { return c.sessions; }); }},
    {"htap_class_active_sessions", Gauge, "Sessions of the class running a statement now.",
     [](const S& s, Series& o) { perClass(s.sessions.classes, o, [](const ClassSessions& c) { return c.active; }); }},
    {"htap_class_idle_in_transaction_sessions", Gauge, "Sessions of the class idle inside an open transaction.",
     [](const S& s, Series& o) { perClass(s.sessions.classes, o, [](const ClassSessions& c) { return c.idleInTransaction; }); }},
    {"htap_class_lock_waiting_sessions", Gauge, "Sessions of the class waiting on a lock now.",
     [](const S& s, Series& o) { perClass(s.sessions.classes, o, [](const ClassSessions& c) { return c.waitingOnLock; }); }},
    {"htap_class_oldest_statement_seconds", Gauge, "Age of the class's longest-running statement now; 0 when none runs.",
     [](const S& s, Series& o) { perClass(s.sessions.classes, o, [](const ClassSessions& c) { return c.oldestStatement.seconds; }); }},
    {"htap_class_oldest_transaction_seconds", Gauge, "Age of the class's oldest open transaction now; 0 when none is open.",
     [](const S& s, Series& o) { perClass(s.sessions.classes, o, [](const ClassSessions& c) { return c.oldestTransaction.seconds; }); }},
    {"htap_class_longest_lock_wait_seconds", Gauge, "The class's longest lock wait now; 0 when none waits.",
     [](const S& s, Series& o) { perClass(s.sessions.classes, o, [](const ClassSessions& c) { return c.longestLockWait.seconds; }); }},
    {"htap_class_statement_window_mean_seconds", Gauge,
     "Mean execution time of the class's statements that finished in the monitor's rolling window (10 s by default); absent when none did.",
     [](const S& s, Series& o) {
         if (s.latency && s.latency->hasDeltas)
             for (const LatencyFigures& f : s.latency->classes)
                 if (f.windowCalls > 0)
                     o.add(f.windowMeanExecMs / 1000.0, {{"class", toString(f.workloadClass)}});
     }},
    {"htap_class_target_seconds", Gauge, "The class's target for its oldest statement, transaction and lock wait (Monitor > Targets).",
     [](const S& s, Series& o) {
         for (const ClassHealth& h : s.health)
             if (h.target > 0)
                 o.add(h.target, {{"class", toString(h.workloadClass)}});
     }},
    {"htap_class_worst_age_seconds", Gauge, "The worst of the class's oldest statement, oldest transaction and longest lock wait: what its target is held against.",
     [](const S& s, Series& o) { perClass(s.health, o, [](const ClassHealth& h) { return h.worst; }); }},
    {"htap_class_target_missed", Gauge, "1 while the class has a target-missed incident open, else 0.",
     [](const S& s, Series& o) { perClass(s.health, o, [](const ClassHealth& h) { return h.missed ? 1 : 0; }); }},
    {"htap_class_wait_event_sessions", Gauge,
     "Average sessions of the class in each wait_event_type over the wait profile's window (pg_wait_sampling; CPU: running, not waiting).",
     [](const S& s, Series& o) {
         if (s.waits && s.waits->hasDeltas && s.waits->windowSeconds > 0)
             for (const ClassWaits& c : s.waits->classes)
                 for (auto it = c.secondsByType.cbegin(); it != c.secondsByType.cend(); ++it)
                     o.add(it.value() / s.waits->windowSeconds, {{"class", toString(c.workloadClass)}, {"wait_event_type", it.key()}});
     }},
    {"htap_class_cpu_cores", Gauge,
     "CPU seconds per second of the class's statements that finished in the window (pg_stat_kcache, user + system): cores kept busy.",
     [](const S& s, Series& o) {
         if (s.cpu && s.cpu->hasDeltas)
             perClass(s.cpu->classes, o, [](const ClassCpu& c) { return c.cpuPerSecond; });
     }},

    // Locks.
    {"htap_lock_waiting_sessions", Gauge, "Sessions waiting on a lock now, by the type of lock they wait for.",
     [](const S& s, Series& o) {
         if (s.locks)
             for (auto it = s.locks->waitingByLockType.cbegin(); it != s.locks->waitingByLockType.cend(); ++it)
                 o.add(it.value(), {{"lock_type", it.key()}});
     }},
    {"htap_lock_root_blockers", Gauge, "Sessions (or prepared transactions) that block others and wait for nobody.",
     [](const S& s, Series& o) {
         if (s.locks)
             o.add(double(s.locks->roots.size()));
     }},

    // Vacuum and the xmin horizon.
    {"htap_xmin_horizon_xid_age", Gauge, "Age in transaction IDs of the oldest xmin holder: how far back VACUUM cannot remove dead rows.",
     [](const S& s, Series& o) {
         if (s.vacuum)
             o.add(double(s.vacuum->horizonAge));
     }},
    {"htap_xmin_holder_xid_age", Gauge, "The oldest holder's xid age by kind (backend, prepared_xact, slot_xmin, slot_catalog_xmin, standby_feedback).",
     [](const S& s, Series& o) { perHolderKind(s.vacuum, o, [](const XminHolder& h) { return h.xidAge; }); }},
    {"htap_xmin_holder_held_seconds", Gauge, "How long the longest holder of each kind has held the horizon back.",
     [](const S& s, Series& o) { perHolderKind(s.vacuum, o, [](const XminHolder& h) { return h.heldSeconds; }); }},
    {"htap_database_xid_age", Gauge, "age(datfrozenxid) of the database.",
     [](const S& s, Series& o) {
         if (s.vacuum)
             for (const DatabaseAge& d : s.vacuum->databases)
                 o.add(double(d.xidAge), {{"database", d.database}});
     }},
    {"htap_database_wraparound_ratio", Gauge, "The database's xid age as a part of the 2^31 that stops writes at wraparound (0-1).",
     [](const S& s, Series& o) {
         if (s.vacuum)
             for (const DatabaseAge& d : s.vacuum->databases)
                 o.add(d.pctToWraparound / 100.0, {{"database", d.database}});
     }},
    {"htap_table_dead_tuples", Gauge, "Dead rows of the table (the 50 most urgent tables).",
     [](const S& s, Series& o) {
         if (s.vacuum)
             for (const TableVacuum& t : s.vacuum->tables)
                 o.add(double(t.deadTuples), {{"table", t.table}});
     }},
    {"htap_table_autovacuum_trigger_ratio", Gauge, "Dead rows as a part of the table's autovacuum trigger (threshold + scale factor * rows, reloptions honoured); 1 = due.",
     [](const S& s, Series& o) {
         if (s.vacuum)
             for (const TableVacuum& t : s.vacuum->tables)
                 o.add(t.pctOfTrigger / 100.0, {{"table", t.table}});
     }},
    {"htap_vacuums_running", Gauge, "VACUUMs running now (pg_stat_progress_vacuum), autovacuum included.",
     [](const S& s, Series& o) {
         if (s.vacuum)
             o.add(double(s.vacuum->running.size()));
     }},

    // Materialized and incremental views.
    {"htap_view_staleness_seconds", Gauge,
     "Now minus the view's last successful refresh start (incremental: its oldest unmerged change); absent when the registry knows no refresh.",
     [](const S& s, Series& o) { perView(s.views, o, [](const ViewState& v) { return when(v.stalenessSeconds >= 0, v.stalenessSeconds); }); }},
    {"htap_view_populated", Gauge, "1 when the view holds data, 0 when it was created WITH NO DATA.",
     [](const S& s, Series& o) { perView(s.views, o, [](const ViewState& v) { return when(true, v.populated ? 1 : 0); }); }},
    {"htap_view_size_bytes", Gauge, "The view's size on disk, indexes included.",
     [](const S& s, Series& o) { perView(s.views, o, [](const ViewState& v) { return when(true, double(v.totalBytes)); }); }},
    {"htap_view_last_refresh_duration_seconds", Gauge, "How long the view's last successful refresh took.",
     [](const S& s, Series& o) { perView(s.views, o, [](const ViewState& v) { return when(v.registryKnown, v.lastDurationSeconds); }); }},
    {"htap_view_pending_changes", Gauge, "Changes captured for an incrementally maintained view and not merged yet.",
     [](const S& s, Series& o) { perView(s.views, o, [](const ViewState& v) { return when(v.incremental, double(v.pendingRows)); }); }},
    {"htap_view_oldest_pending_change_seconds", Gauge, "Age of the oldest unmerged change of an incrementally maintained view; 0 when none waits.",
     [](const S& s, Series& o) { perView(s.views, o, [](const ViewState& v) { return when(v.incremental, v.oldestPendingSeconds); }); }},
    {"htap_views_late", Gauge, "Views past their freshness target now.",
     [](const S& s, Series& o) {
         if (s.viewsHealth)
             o.add(s.viewsHealth->late);
     }},

    // Replication: on a primary its standbys and slots, on a standby its WAL receiver.
    {"htap_in_recovery", Gauge, "1 on a standby (pg_is_in_recovery()), 0 on a primary.",
     [](const S& s, Series& o) {
         if (s.replication)
             o.add(s.replication->inRecovery ? 1 : 0);
     }},
    {"htap_standby_streaming", Gauge, "1 when the standby's WAL sender is streaming, else 0 (catchup, backup, ...).",
     [](const S& s, Series& o) { perStandby(s.replication, o, [](const StandbyLag& l) { return l.state == u"streaming"_s ? 1 : 0; }); }},
    {"htap_standby_write_lag_seconds", Gauge, "Time until the standby wrote recent WAL (pg_stat_replication.write_lag).",
     [](const S& s, Series& o) { perStandby(s.replication, o, [](const StandbyLag& l) { return l.writeLagSeconds; }); }},
    {"htap_standby_flush_lag_seconds", Gauge, "Time until the standby flushed recent WAL (flush_lag).",
     [](const S& s, Series& o) { perStandby(s.replication, o, [](const StandbyLag& l) { return l.flushLagSeconds; }); }},
    {"htap_standby_replay_lag_seconds", Gauge, "Time until the standby replayed recent WAL (replay_lag).",
     [](const S& s, Series& o) { perStandby(s.replication, o, [](const StandbyLag& l) { return l.replayLagSeconds; }); }},
    {"htap_standby_replay_lag_bytes", Gauge, "WAL the standby has yet to replay: the primary's position minus its replay position.",
     [](const S& s, Series& o) { perStandby(s.replication, o, [](const StandbyLag& l) { return l.replayLagBytes; }); }},
    {"htap_replication_slot_active", Gauge, "1 when a consumer is connected to the slot.",
     [](const S& s, Series& o) { perSlot(s.replication, o, [](const SlotState& l) { return l.active ? 1 : 0; }); }},
    {"htap_replication_slot_retained_wal_bytes", Gauge, "WAL the slot keeps on the primary's disk.",
     [](const S& s, Series& o) { perSlot(s.replication, o, [](const SlotState& l) { return l.retainedWalBytes; }); }},
    {"htap_wal_receiver_streaming", Gauge, "On a standby: 1 when its WAL receiver is streaming from the primary, else 0.",
     [](const S& s, Series& o) {
         if (s.replication && s.replication->receiver)
             o.add(s.replication->receiver->status == u"streaming"_s ? 1 : 0);
     }},
    {"htap_wal_receiver_last_message_age_seconds", Gauge, "On a standby: time since the last message from the primary.",
     [](const S& s, Series& o) {
         if (s.replication && s.replication->receiver && s.replication->receiver->sinceMessageSeconds >= 0)
             o.add(s.replication->receiver->sinceMessageSeconds);
     }},
    {"htap_replay_commit_age_seconds", Gauge, "On a standby: now minus the commit time of the last transaction replayed.",
     [](const S& s, Series& o) {
         if (s.replication && s.replication->receiver && s.replication->receiver->replayAgeSeconds >= 0)
             o.add(s.replication->receiver->replayAgeSeconds);
     }},
    {"htap_replay_gap_bytes", Gauge, "On a standby: WAL received and not yet replayed (replay waits on a query, or is slower).",
     [](const S& s, Series& o) {
         if (s.replication && s.replication->receiver)
             o.add(double(s.replication->receiver->replayGapBytes));
     }},
    {"htap_heartbeat_age_seconds", Gauge, "Now minus the last heartbeat in htap.heartbeat. On a standby: the age of the data its readers see. On a primary: since the heartbeat was last written (docs/replication.md).",
     [](const S& s, Series& o) {
         if (s.replication && s.replication->heartbeatAgeSeconds >= 0)
             o.add(s.replication->heartbeatAgeSeconds);
     }},
    {"htap_recovery_conflicts_total", Counter, "On a standby: queries that recovery cancelled (or whose sessions it ended), by cause, all databases (pg_stat_database_conflicts).",
     [](const S& s, Series& o) {
         if (!s.replication || !s.replication->conflicts)
             return;
         const RecoveryConflicts& k = *s.replication->conflicts;
         o.add(double(k.snapshot), {{"kind", u"snapshot"_s}});
         o.add(double(k.lock), {{"kind", u"lock"_s}});
         o.add(double(k.bufferpin), {{"kind", u"bufferpin"_s}});
         o.add(double(k.deadlock), {{"kind", u"deadlock"_s}});
         o.add(double(k.tablespace), {{"kind", u"tablespace"_s}});
     }},

    // Incidents and what could not be sampled.
    {"htap_incidents_open", Gauge, "Incidents open now by kind (docs/monitor-sample.md: target_missed, blocking, not_responding, view_late).",
     [](const S& s, Series& o) {
         for (Incident::Kind k : {Incident::Kind::TargetMissed, Incident::Kind::Blocking, Incident::Kind::NotResponding,
                  Incident::Kind::ViewLate})
             o.add(double(std::count_if(s.incidents.cbegin(), s.incidents.cend(), [k](const Incident& i) { return i.kind == k; })),
                 {{"kind", toString(k)}});
     }},
    {"htap_probe_unavailable", Gauge, "1 for each probe that cannot run on this server (a missing extension or privilege; htapctl monitor says why).",
     [](const S& s, Series& o) {
         for (auto it = s.unavailable.cbegin(); it != s.unavailable.cend(); ++it)
             o.add(1, {{"probe", it.key()}});
     }},
};

template <class Source, std::size_t N>
void writeMetrics(QByteArray& out, const Metric<Source> (&metrics)[N], const Source& source, const QString& server)
{
    for (const Metric<Source>& m : metrics) {
        Series series(server);
        m.fill(source, series);
        if (series.isEmpty())
            continue;
        out += "# HELP " + QByteArray(m.name) + ' ' + escapeHelp(m.help) + '\n';
        out += "# TYPE " + QByteArray(m.name) + (m.type == Type::Counter ? " counter\n" : " gauge\n");
        for (const auto& [labels, value] : series.lines())
            out += m.name + labels + ' ' + number(value) + '\n';
    }
}

} // namespace

QString escapeLabelValue(const QString& value)
{
    QString v = value;
    v.replace(u'\\', u"\\\\"_s);
    v.replace(u'"', u"\\\""_s);
    v.replace(u'\n', u"\\n"_s);
    return v;
}

QString serverLabel(const QString& endpoint)
{
    const qsizetype at = endpoint.lastIndexOf(u'@'); // a user name may hold an @ (user@tenant)
    return at >= 0 ? endpoint.mid(at + 1) : endpoint;
}

QStringList standbyLabels(const QList<StandbyLag>& standbys)
{
    QStringList labels;
    QHash<QString, int> seen;
    for (const StandbyLag& s : standbys) {
        const int n = ++seen[s.name];
        labels << (n == 1 ? s.name : u"%1#%2"_s.arg(s.name).arg(n));
    }
    return labels;
}

QByteArray formatPrometheus(const PrometheusInput& in)
{
    QByteArray out;
    writeMetrics(out, kExporterMetrics, in, in.server);
    if (!in.up || !in.sample)
        return out;
    writeMetrics(out, kTotalMetrics, in, in.server);
    writeMetrics(out, kSampleMetrics, *in.sample, in.server);
    return out;
}

ServerSample carrySlowSections(const ServerSample& previous, ServerSample next)
{
    auto carry = [&](auto member, const QString& probe) {
        if ((next.*member) || next.unavailable.contains(probe))
            return; // the probe ran this tick
        if (previous.*member)
            next.*member = previous.*member;
        else if (previous.unavailable.contains(probe)) // it keeps its last word, as the collector does
            next.unavailable.insert(probe, previous.unavailable.value(probe));
    };
    carry(&ServerSample::vacuum, u"vacuum"_s);
    carry(&ServerSample::views, u"views"_s);
    carry(&ServerSample::waits, u"waits"_s);
    carry(&ServerSample::cpu, u"cpu"_s);
    carry(&ServerSample::topStatements, u"statements"_s);
    return next;
}

void PrometheusExposition::setServer(const QString& endpoint, const QString& postgresVersion)
{
    m_server = serverLabel(endpoint);
    m_version = postgresVersion;
}

void PrometheusExposition::addSample(const ServerSample& sample)
{
    m_latest = m_latest ? carrySlowSections(*m_latest, sample) : sample;
    ++m_samples;
    if (sample.latency && sample.latency->hasDeltas)
        for (const LatencyFigures& f : sample.latency->classes) {
            ClassStatementTotals& t = m_statements[std::size_t(f.workloadClass)];
            t.statements += f.calls;
            t.execSeconds += f.meanExecMs * double(f.calls) / 1000.0;
        }
}

QByteArray PrometheusExposition::text() const
{
    PrometheusInput in;
    in.server = m_server;
    in.postgresVersion = m_version;
    in.up = m_up && m_latest.has_value();
    in.sample = m_latest ? &*m_latest : nullptr;
    in.samples = m_samples;
    in.statements = m_statements;
    return formatPrometheus(in);
}

} // namespace htap::monitor
