// htapctl advise: the tuning advisor's findings, apply with measurement, undo, log (issue 25).
#include "common.h"

#include <advise/adviceservice.h>
#include <advise/advisor.h>
#include <core/format.h>
#include <pg/sandbox.h>

#include <QJsonArray>

namespace htap::cli {

using namespace Qt::StringLiterals;
using namespace htap::advise;
using htap::core::formatBytes;
using htap::core::formatCount;
using htap::core::formatNumber;

namespace {

const char* kAdviseUsage =
    "Usage: htapctl advise [ACTION] [options] (see htapctl advise --help)\n\n"
    "  (none)                  read the catalog and statistics and print the findings\n"
    "  apply ID                advise again, show the finding's SQL, confirm, measure its statements, apply, measure again\n"
    "  measure ID              run the finding's statements N times with EXPLAIN (ANALYZE, BUFFERS) now\n"
    "  undo N                  put back what audit entry N applied\n"
    "  log                     the Advisor's changes in the audit log, newest first\n\n"
    "Without --conn: the sandbox. Changes need confirmation (--yes where there is no terminal), and on a\n"
    "server that is not a sandbox of this machine --confirm-database with its database's name.\n";

void printFinding(const Finding& f)
{
    out() << "\n[" << f.id << "]\n  " << f.title << Qt::endl;
    for (const Evidence& e : f.evidence)
        out() << "    - " << e.text << Qt::endl;
    out() << "  gain: " << f.gain << Qt::endl;
    if (!f.sql.isEmpty()) {
        out() << "  SQL" << (f.inTransaction ? (f.sql.size() > 1 ? " (one transaction)" : "") : " (one by one, outside a transaction)") << ":\n";
        for (const QString& s : f.sql)
            out() << "    " << s << (s.startsWith(u"--"_s) ? "\n" : ";\n");
        out() << "  undo:\n";
        for (const QString& s : f.undo)
            out() << "    " << s << (s.startsWith(u"--"_s) ? "\n" : ";\n");
    }
    out() << "  locks: " << f.locks << "\n  time: " << f.time << "\n  disk: " << f.disk << Qt::endl;
    if (!f.note.isEmpty())
        out() << "  note: " << f.note << Qt::endl;
    if (!f.sql.isEmpty() && !f.canApply)
        out() << "  cannot apply: " << f.whyNotApply << Qt::endl;
}

void printReport(const AdviceReport& r)
{
    out() << "Advice for " << r.server << " (PostgreSQL " << r.serverVersion << (r.sandbox ? ", sandbox" : "") << "), statistics since "
          << r.statsSince << " (" << formatNumber(r.statsHours) << " h): " << r.findings.size() << " finding(s)" << Qt::endl;
    for (const Finding& f : r.findings)
        printFinding(f);
    for (const QString& n : r.notes)
        out() << "\nnote: " << n << Qt::endl;
}

void printMeasurements(const Measurement& before, const Measurement* after)
{
    for (int i = 0; i < before.statements.size(); ++i) {
        const StatementRun& b = before.statements[i];
        out() << "\n  " << b.statement.simplified().left(160) << Qt::endl;
        if (!b.error.isEmpty()) {
            out() << "    not measured: " << b.error << Qt::endl;
            continue;
        }
        const StatementRun* a = after && i < after->statements.size() ? &after->statements[i] : nullptr;
        out() << "    " << (a ? "before: " : "") << "median " << formatNumber(b.medianMs) << " ms (min " << formatNumber(b.minMs) << ", "
              << b.runs << " runs), buffers " << formatCount(b.buffers()) << " (" << formatCount(b.sharedHit) << " hit, "
              << formatCount(b.sharedRead) << " read)" << Qt::endl;
        for (const QString& l : b.plan.split(u'\n'))
            out() << "      " << l << Qt::endl;
        if (!a)
            continue;
        if (!a->error.isEmpty()) {
            out() << "    after: not measured: " << a->error << Qt::endl;
            continue;
        }
        out() << "    after:  median " << formatNumber(a->medianMs) << " ms (min " << formatNumber(a->minMs) << "), buffers "
              << formatCount(a->buffers()) << "; time " << formatNumber(a->medianMs / std::max(b.medianMs, 0.001)) << "x, buffers "
              << formatNumber(double(a->buffers()) / double(std::max<qint64>(b.buffers(), 1))) << "x" << Qt::endl;
        for (const QString& l : a->plan.split(u'\n'))
            out() << "      " << l << Qt::endl;
    }
}

void printSizes(const QList<IndexSize>& before, const QList<IndexSize>& after)
{
    if (before.isEmpty() && after.isEmpty())
        return;
    out() << "\n  indexes of the table, before -> after:" << Qt::endl;
    QStringList names;
    for (const IndexSize& i : before + after)
        if (!names.contains(i.name))
            names << i.name;
    for (const QString& n : names) {
        auto find = [&](const QList<IndexSize>& l) -> QString {
            for (const IndexSize& i : l)
                if (i.name == n)
                    return u"%1 (%2)"_s.arg(formatBytes(i.bytes), i.method);
            return u"–"_s;
        };
        out() << "    " << n.leftJustified(40) << find(before).leftJustified(22) << " -> " << find(after) << Qt::endl;
    }
}

} // namespace

int cmdAdvise(const QStringList& args)
{
    static const QStringList actions {u"apply"_s, u"measure"_s, u"undo"_s, u"log"_s};
    QString action = args.value(1);
    if (action == u"help"_s) {
        out() << kAdviseUsage;
        return ExitOk;
    }
    QStringList rest = args.mid(1);
    if (!actions.contains(action))
        action.clear(); // options only: list the findings
    QCommandLineParser parser;
    const QCommandLineOption yes(u"yes"_s, u"apply, undo: do it without asking"_s);
    const QCommandLineOption confirmDb(u"confirm-database"_s,
        u"apply, undo: required on a server that is not a sandbox of this machine: the name of its database"_s, u"name"_s);
    const QCommandLineOption check(u"check"_s, u"Run only this check (repeatable): %1"_s.arg(allChecks().join(u", "_s)), u"name"_s);
    const QCommandLineOption schema(u"schema"_s, u"Look only at this schema (repeatable; default: all but the system ones and htap)"_s, u"name"_s);
    const QCommandLineOption olapRole(u"olap-role"_s, u"The OLAP role the parallel check looks at (repeatable; default olap_user)"_s, u"name"_s);
    const QCommandLineOption statement(u"statement"_s, u"A statement to try missing indexes on and to measure (repeatable; default: "
                                                         "the top statements of pg_stat_statements)"_s, u"sql"_s);
    const QCommandLineOption minTable(u"min-table-mb"_s, u"Tables smaller than this are not BRIN, index or parallel candidates (default 8)"_s, u"MB"_s);
    const QCommandLineOption minPartition(u"min-partition-mb"_s, u"Tables smaller than this are not partition candidates (default 1024)"_s, u"MB"_s);
    const QCommandLineOption runs(u"runs"_s, u"apply, measure: runs of each statement (default 5)"_s, u"n"_s);
    const QCommandLineOption lockTimeout(u"lock-timeout"_s, u"apply, undo: seconds a statement waits for a lock (default 5)"_s, u"s"_s);
    const QCommandLineOption batchRows(u"batch-rows"_s, u"apply partition: rows a copy batch, one transaction each (default 10000)"_s, u"n"_s);
    const QCommandLineOption batchPause(u"batch-pause-ms"_s, u"apply partition: a pause after each batch, leaving I/O to the writers (default 0)"_s, u"ms"_s);
    const QCommandLineOption declarative(u"declarative"_s, u"apply partition: plain declarative partitions even where pg_partman is installed"_s);
    const QCommandLineOption limit(u"limit"_s, u"log: how many entries (default 50)"_s, u"n"_s);
    const QCommandLineOption audit(u"audit"_s, u"The audit log file (default: %1)"_s.arg(htap::store::AuditLog::defaultPath()), u"file"_s);
    parser.addOptions({connOption, jsonOption, yes, confirmDb, check, schema, olapRole, statement, minTable, minPartition, runs,
        lockTimeout, batchRows, batchPause, declarative, limit, audit});
    int code = ExitOk;
    if (!parseOptions(parser, rest, u"Tuning advisor: findings with evidence, SQL, undo; apply with before/after measurement."_s, &code))
        return code;
    const QStringList pos = parser.positionalArguments();
    if (action.isEmpty() && !pos.isEmpty())
        return fail(u"advise: unknown action \"%1\" (actions: %2; see htapctl advise --help)"_s.arg(pos.first(), actions.join(u", "_s)), ExitUsage);
    const QString arg = pos.value(1);
    if ((action == u"apply"_s || action == u"measure"_s) && arg.isEmpty())
        return fail(u"advise %1 needs a finding's id (see htapctl advise)"_s.arg(action), ExitUsage);
    qint64 undoId = 0;
    if (action == u"undo"_s && !parseAuditId(u"advise"_s, arg, &undoId, &code))
        return code;
    qint64 runsValue = 5, limitValue = 50, batchRowsValue = 10000, batchPauseValue = 0;
    double minTableMb = 8, minPartitionMb = 1024, lockSeconds = 5;
    if (!parseWholeNumber(parser, runs, 1, 1000, &runsValue, &code) || !parseWholeNumber(parser, limit, 1, 100000, &limitValue, &code)
        || !parseNumber(parser, minTable, 0, 1e9, &minTableMb, &code) || !parseNumber(parser, minPartition, 0, 1e9, &minPartitionMb, &code)
        || !parseNumber(parser, lockTimeout, 0.001, 3600, &lockSeconds, &code)
        || !parseWholeNumber(parser, batchRows, 1, 100000000, &batchRowsValue, &code)
        || !parseWholeNumber(parser, batchPause, 0, 3600000, &batchPauseValue, &code))
        return code;
    AdvisorOptions options;
    options.checks = parser.values(check);
    for (const QString& c : std::as_const(options.checks))
        if (!allChecks().contains(c))
            return fail(u"advise: unknown check \"%1\" (checks: %2)"_s.arg(c, allChecks().join(u", "_s)), ExitUsage);
    options.schemas = parser.values(schema);
    if (parser.isSet(olapRole))
        options.olapRoles = parser.values(olapRole);
    options.statements = parser.values(statement);
    options.minTableBytes = qint64(minTableMb * 1024 * 1024);
    options.minPartitionBytes = qint64(minPartitionMb * 1024 * 1024);
    const bool json = parser.isSet(jsonOption);

    const htap::store::AuditLog auditLog(parser.value(audit));
    if (action == u"apply"_s || action == u"undo"_s) {
        QString error;
        if (!auditLog.checkWritable(&error))
            return fail(error + u"; nothing was sent to the server"_s);
    }
    htap::pg::Connection conn;
    if (!connectConnOrSandbox(parser, conn, u"htapctl advise"_s, &code))
        return code;
    AdviceService service(conn, auditLog);
    service.setLockTimeoutMs(int(lockSeconds * 1000));
    PartitionMoveOptions moveOptions;
    moveOptions.batchRows = int(batchRowsValue);
    moveOptions.batchPauseMs = int(batchPauseValue);
    moveOptions.declarativeOnly = parser.isSet(declarative);
    if (parser.isSet(lockTimeout))
        moveOptions.lockTimeoutMs = int(lockSeconds * 1000);
    service.setPartitionOptions(moveOptions);
    if (!json)
        service.setProgress([](const QString& line) { err() << "htapctl: " << line << Qt::endl; });
    QString error;
    if (action == u"log"_s || action == u"apply"_s || action == u"undo"_s) {
        for (const QString& note : service.settleInterrupted(&error))
            err() << "htapctl: note: " << note << Qt::endl;
        if (!error.isEmpty())
            err() << "htapctl: warning: audit entries left \"applying\" could not be settled: " << error << Qt::endl;
        error.clear();
    }

    if (action == u"log"_s) {
        const QList<htap::store::AuditEntry> entries = service.log(int(limitValue), &error);
        if (!error.isEmpty())
            return fail(error);
        if (json) {
            printJson(htap::store::AuditEntry::toJsonArray(entries));
            return ExitOk;
        }
        if (entries.isEmpty())
            out() << "no Advisor changes recorded for this server in " << auditLog.path() << Qt::endl;
        for (const auto& e : entries) {
            out() << "#" << e.id << "  " << e.at.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s) << "  " << e.kind << "  " << e.title
                  << "  by " << e.appliedBy << "  " << e.status << (e.message.isEmpty() ? QString() : u": "_s + e.message) << Qt::endl;
            for (const QJsonValue& s : e.plan.value(u"statements"_s).toArray())
                out() << "      " << s.toString() << Qt::endl;
        }
        return ExitOk;
    }
    if (action == u"undo"_s) {
        const std::optional<htap::store::AuditEntry> e = auditLog.find(undoId, &error);
        if (!e)
            return fail(error, ExitUsage);
        if (!json) {
            out() << "Undo #" << undoId << " (" << e->title << "):" << Qt::endl;
            for (const QJsonValue& s : e->plan.value(u"undo"_s).toArray())
                out() << "  " << s.toString() << ";" << Qt::endl;
        }
        if (!confirm(parser.isSet(yes), u"Run these statements on %1?"_s.arg(conn.effectiveInfo().displayName()), &code))
            return code;
        const ChangeOutcome o = service.undo(undoId, parser.value(confirmDb));
        if (json)
            printJson(o.toJson());
        else if (o.ok)
            out() << o.message << Qt::endl;
        if (!json)
            for (const QJsonValue& n : o.move.value(u"notes"_s).toArray())
                out() << "  - " << n.toString() << Qt::endl;
        return o.ok ? ExitOk : fail(o.message);
    }

    const AdviceReport report = runAdvisor(conn, options, &error);
    if (!error.isEmpty())
        return fail(error);
    if (action.isEmpty()) {
        if (json)
            printJson(report.toJson());
        else
            printReport(report);
        return ExitOk;
    }
    const Finding* f = report.find(arg);
    if (!f)
        return fail(u"no finding \"%1\" now (it may be fixed, or the table changed): run htapctl advise to see the current ones"_s.arg(arg), ExitUsage);
    if (action == u"measure"_s) {
        if (f->statements.isEmpty())
            return fail(u"finding %1 names no statement to measure: give one with --statement"_s.arg(arg), ExitUsage);
        const Measurement m = service.measure(f->statements, int(runsValue), f->settingsBefore);
        if (json) {
            printJson(m.toJson());
        } else {
            out() << "Measured " << f->id << " now:" << Qt::endl;
            printMeasurements(m, nullptr);
        }
        return ExitOk;
    }
    // apply
    if (!json)
        printFinding(*f);
    if (f->sql.isEmpty())
        return fail(u"finding %1 is advice only: nothing to apply"_s.arg(arg), ExitUsage);
    if (!f->canApply)
        return fail(u"finding %1 cannot be applied here: %2"_s.arg(arg, f->whyNotApply));
    if (!htap::pg::Sandbox::isSandboxServer(conn)) {
        const QString db = conn.exec(u"SELECT current_database()"_s).text(0, 0);
        if (parser.value(confirmDb) != db)
            return fail(u"%1 is not a sandbox of this machine. Run again with --confirm-database %2 if you mean it; nothing was changed"_s.arg(
                            conn.effectiveInfo().displayName(), db),
                ExitUsage);
    }
    if (!confirm(parser.isSet(yes), u"Apply these %1 statement(s) to %2?"_s.arg(QString::number(f->sql.size()), report.server), &code))
        return code;
    const Proof p = service.applyAndMeasure(*f, parser.value(confirmDb), int(runsValue));
    if (json) {
        printJson(p.toJson());
        return p.change.ok ? ExitOk : ExitFailure;
    }
    if (!p.change.ok)
        return fail(p.change.message);
    out() << "\n" << p.change.message << " Undo: htapctl advise undo " << p.change.auditId << Qt::endl;
    for (const QJsonValue& n : p.change.move.value(u"notes"_s).toArray())
        out() << "  - " << n.toString() << Qt::endl;
    if (!p.change.auditWarning.isEmpty())
        out() << "warning: " << p.change.auditWarning << Qt::endl;
    printSizes(p.indexesBefore, p.indexesAfter);
    if (!f->settingsBefore.isEmpty())
        out() << "\n  measured with " << f->settingsBefore.firstKey() << " = " << f->settingsBefore.first() << " before, "
              << f->settingsAfter.value(f->settingsBefore.firstKey()) << " after" << Qt::endl;
    printMeasurements(p.before, &p.after);
    return ExitOk;
}

} // namespace htap::cli
