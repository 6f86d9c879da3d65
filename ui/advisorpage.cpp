#include "advisorpage.h"
#include "viewutil.h"
#include "workerjob.h"

#include <core/format.h>
#include <monitor/activitycollector.h>
#include <pg/connection.h>

#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QJsonArray>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>

#include <type_traits>

using namespace Qt::StringLiterals;
using namespace htap::advise;

namespace htap::ui {

namespace {

/// A change's message with what a partition move did to the views and foreign keys, and the
/// audit log's warning.
QString withNotes(const htap::advise::ChangeOutcome& c)
{
    QString text = c.message;
    for (const QJsonValue& n : c.move.value(QStringLiteral("notes")).toArray())
        text += QStringLiteral("\n• ") + n.toString();
    if (!c.auditWarning.isEmpty())
        text += u'\n' + c.auditWarning;
    return text;
}

QTableWidgetItem* cell(const QString& text, const QString& tip = {})
{
    auto* i = new QTableWidgetItem(text);
    i->setToolTip(tip.isEmpty() ? text : tip);
    return i;
}

QPlainTextEdit* textView(QWidget* parent, const QString& name, bool fixed)
{
    auto* t = new QPlainTextEdit(parent);
    t->setObjectName(name);
    t->setReadOnly(true);
    t->setLineWrapMode(fixed ? QPlainTextEdit::NoWrap : QPlainTextEdit::WidgetWidth);
    if (fixed)
        t->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    return t;
}

QString sizesText(const Proof& p)
{
    QStringList lines;
    QStringList names;
    for (const IndexSize& i : p.indexesBefore + p.indexesAfter)
        if (!names.contains(i.name))
            names << i.name;
    auto find = [](const QList<IndexSize>& l, const QString& n) {
        for (const IndexSize& i : l)
            if (i.name == n)
                return u"%1 (%2)"_s.arg(formatBytes(i.bytes), i.method);
        return u"–"_s;
    };
    for (const QString& n : names)
        lines << u"%1: %2 → %3"_s.arg(n, find(p.indexesBefore, n), find(p.indexesAfter, n));
    return lines.join(u'\n');
}

} // namespace

AdvisorPage::AdvisorPage(QWidget* parent)
    : QWidget(parent)
    , m_auditPath(htap::store::AuditLog::defaultPath())
    , m_facts(new QLabel(tr("Not connected."), this))
    , m_findings(makeTable({tr("check"), tr("object"), tr("finding")}, this, u"findingsTable"_s))
    , m_tabs(new QTabWidget(this))
    , m_evidence(textView(this, u"evidenceView"_s, false))
    , m_sql(textView(this, u"sqlView"_s, true))
    , m_measure(makeTable({tr("statement"), tr("before"), tr("after"), tr("buffers before"), tr("buffers after")}, this,
          u"measureTable"_s))
    , m_planBefore(textView(this, u"planBefore"_s, true))
    , m_planAfter(textView(this, u"planAfter"_s, true))
    , m_changes(makeTable({tr("#"), tr("when"), tr("kind"), tr("what"), tr("status")}, this, u"adviceChanges"_s))
    , m_advise(new QPushButton(tr("Advise"), this))
    , m_apply(new QPushButton(tr("Apply and measure…"), this))
    , m_measureButton(new QPushButton(tr("Measure now"), this))
    , m_undo(new QPushButton(tr("Undo…"), this))
    , m_runs(new QSpinBox(this))
{
    qRegisterMetaType<Proof>();
    qRegisterMetaType<ChangeOutcome>();
    m_facts->setWordWrap(true);
    m_facts->setObjectName(u"advisorFacts"_s);
    m_findings->setWordWrap(false);
    m_findings->setSelectionMode(QAbstractItemView::SingleSelection);
    m_runs->setRange(1, 100);
    m_runs->setValue(5);
    m_runs->setPrefix(tr("runs "));
    m_runs->setToolTip(tr("How many times Measure runs each statement with EXPLAIN (ANALYZE, BUFFERS), after one warm-up run"));
    m_apply->setObjectName(u"adviceApply"_s);
    m_apply->setToolTip(tr("Run the finding's statements, apply its SQL (audited, with its undo), run them again"));
    m_measureButton->setToolTip(tr("Run the finding's statements now, read-only, and show time, buffers and plan"));
    m_undo->setToolTip(tr("Put back the change selected in Changes (its undo SQL)"));
    m_sql->setPlaceholderText(tr("The exact SQL of the selected finding, and its undo. Nothing is sent before Apply."));
    m_planBefore->setPlaceholderText(tr("Plan before"));
    m_planAfter->setPlaceholderText(tr("Plan after"));

    auto* header = new QHBoxLayout;
    header->addWidget(m_facts, 1);
    header->addWidget(m_advise);

    m_tabs->addTab(m_evidence, tr("Evidence"));
    m_tabs->addTab(m_sql, tr("SQL and undo"));
    auto* measureTab = new QWidget(m_tabs);
    auto* measureLayout = new QVBoxLayout(measureTab);
    measureLayout->setContentsMargins(4, 4, 4, 4);
    auto* plans = new QSplitter(Qt::Horizontal, measureTab);
    plans->addWidget(m_planBefore);
    plans->addWidget(m_planAfter);
    auto* measureSplit = new QSplitter(Qt::Vertical, measureTab);
    measureSplit->addWidget(m_measure);
    measureSplit->addWidget(plans);
    measureSplit->setStretchFactor(0, 1);
    measureSplit->setStretchFactor(1, 3);
    measureLayout->addWidget(measureSplit);
    m_tabs->addTab(measureTab, tr("Before / after"));
    m_tabs->addTab(m_changes, tr("Changes"));

    auto* buttons = new QHBoxLayout;
    auto* note = new QLabel(tr("Changes run in one transaction where PostgreSQL allows it; CONCURRENTLY ones one by one, "
                               "put back on failure. All are kept in the audit log with their undo."),
        this);
    note->setWordWrap(true);
    buttons->addWidget(note, 1);
    buttons->addWidget(m_runs);
    buttons->addWidget(m_measureButton);
    buttons->addWidget(m_apply);
    buttons->addWidget(m_undo);

    // The actions sit between the findings and their details: select, read, act.
    auto* top = new QWidget(this);
    auto* topLayout = new QVBoxLayout(top);
    topLayout->setContentsMargins(0, 0, 0, 0);
    topLayout->addWidget(m_findings, 1);
    topLayout->addLayout(buttons);
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(top);
    split->addWidget(m_tabs);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 3);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(header);
    layout->addWidget(split, 1);

    m_findings->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    m_findings->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Interactive);
    m_findings->setColumnWidth(1, 220);
    m_measure->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_measure->horizontalHeader()->setStretchLastSection(false);
    for (int c = 1; c < 5; ++c)
        m_measure->horizontalHeader()->setSectionResizeMode(c, QHeaderView::ResizeToContents);

    connect(m_advise, &QPushButton::clicked, this, &AdvisorPage::advise);
    connect(m_findings, &QTableWidget::itemSelectionChanged, this, &AdvisorPage::showSelected);
    connect(m_apply, &QPushButton::clicked, this, [this] { applySelected(true); });
    connect(m_measureButton, &QPushButton::clicked, this, &AdvisorPage::measureSelected);
    connect(m_undo, &QPushButton::clicked, this, [this] { undoChange(true); });
    connect(m_changes, &QTableWidget::itemSelectionChanged, this, &AdvisorPage::updateButtons);
    updateButtons();
}

AdvisorPage::~AdvisorPage() = default;

void AdvisorPage::setCollector(htap::monitor::ActivityCollector* collector)
{
    if (m_collector)
        disconnect(m_collector, nullptr, this, nullptr);
    m_collector = collector;
    ++m_generation;
    // Another server's findings must not stay on screen as if they were this one's.
    m_report = {};
    m_entries = {};
    showReport();
    m_changes->setRowCount(0);
    if (!m_collector)
        return;
    connect(m_collector, &htap::monitor::ActivityCollector::stateChanged, this, [this](htap::monitor::ConnectionState state) {
        if (state == htap::monitor::ConnectionState::Connected && isVisible() && !m_report.readAt.isValid())
            advise();
    });
    if (isVisible() && m_collector->state() == htap::monitor::ConnectionState::Connected)
        advise();
}

void AdvisorPage::setAuditPath(const QString& path)
{
    m_auditPath = path;
}

void AdvisorPage::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    // Advice reads the whole catalog: on first sight only, then when asked.
    if (m_busy == 0 && !m_report.readAt.isValid() && m_collector && m_collector->state() == htap::monitor::ConnectionState::Connected)
        advise();
}

template <typename T>
void AdvisorPage::run(const QString& what, std::function<T(htap::pg::Connection&, AdviceService&)> work, std::function<void(const T&)> done)
{
    if (!m_collector || m_collector->state() != htap::monitor::ConnectionState::Connected) {
        Q_EMIT message(false, tr("Connect to a server first."));
        return;
    }
    const QString auditPath = m_auditPath;
    const quint64 generation = m_generation;
    const QString server = m_collector->server().endpoint;
    setBusy(true);
    runOnWorker<T>(this, m_collector->connInfoWithPassword(), u"htap-studio advisor"_s,
        [auditPath, work](htap::pg::Connection& conn) {
            const htap::store::AuditLog audit(auditPath);
            AdviceService service(conn, audit);
            return work(conn, service);
        },
        [this, what, done, generation, server](const WorkerAnswer<T>& r) {
            setBusy(false);
            if (generation != m_generation) { // another server's answer: told, never shown as this one's
                if (!r.error.isEmpty())
                    Q_EMIT message(false, tr("%1 on %2: %3").arg(what, server, r.error));
                return;
            }
            if (!r.error.isEmpty())
                Q_EMIT message(false, tr("%1: %2").arg(what, r.error));
            else
                done(r.value);
        });
}

void AdvisorPage::setBusy(bool busy)
{
    m_busy += busy ? 1 : -1;
    updateButtons();
}

const Finding* AdvisorPage::selected() const
{
    const int row = m_findings->currentRow();
    return row >= 0 && row < m_report.findings.size() ? &m_report.findings[row] : nullptr;
}

void AdvisorPage::updateButtons()
{
    const bool idle = m_busy == 0;
    const Finding* f = selected();
    m_advise->setEnabled(idle);
    m_apply->setEnabled(idle && f && !f->sql.isEmpty() && f->canApply);
    m_apply->setToolTip(!f                ? tr("Select a finding")
            : f->sql.isEmpty()            ? tr("Advice only: nothing to apply")
            : !f->canApply                ? tr("Cannot apply: %1").arg(f->whyNotApply)
                                          : tr("Run the finding's statements, apply its SQL (audited, with its undo), run them again"));
    m_measureButton->setEnabled(idle && f && !f->statements.isEmpty());
    const int row = m_changes->currentRow();
    const bool undoable = row >= 0 && row < m_entries.size() && m_entries[row].kind == u"advice"_s && m_entries[row].status == u"applied"_s;
    m_undo->setEnabled(idle && undoable);
}

void AdvisorPage::advise()
{
    const AdvisorOptions options = m_options;
    run<std::pair<AdviceReport, QList<htap::store::AuditEntry>>>(tr("Advising"),
        [options](htap::pg::Connection& conn, AdviceService& service) {
            std::pair<AdviceReport, QList<htap::store::AuditEntry>> out;
            QString error;
            out.first = runAdvisor(conn, options, &error);
            if (!error.isEmpty())
                out.first.notes.prepend(error);
            for (const QString& note : service.settleInterrupted(&error))
                out.first.notes << note;
            out.second = service.log(100, &error);
            return out;
        },
        [this](const std::pair<AdviceReport, QList<htap::store::AuditEntry>>& r) {
            const QString keep = selected() ? selected()->id : QString();
            m_report = r.first;
            m_entries = r.second;
            showReport();
            reloadLog();
            if (!keep.isEmpty())
                selectFinding(keep);
            if (!selected() && !m_report.findings.isEmpty())
                m_findings->selectRow(0);
            Q_EMIT advised();
        });
}

void AdvisorPage::showReport()
{
    if (!m_report.readAt.isValid()) {
        m_facts->setText(m_collector ? tr("Advise reads the catalog and statistics and lists what would help.") : tr("Not connected."));
    } else {
        QString text = tr("<b>%n finding(s)</b> on %1, read %2; statistics since %3 (%4 h).", nullptr, int(m_report.findings.size()))
                           .arg(m_report.server.toHtmlEscaped(), m_report.readAt.toLocalTime().toString(u"HH:mm:ss"_s),
                               m_report.statsSince, htap::core::formatNumber(m_report.statsHours));
        if (m_report.readOnly)
            text += tr(" Read-only advice: the findings cannot be applied by this user.");
        if (!m_report.notes.isEmpty())
            text += tr(" %n note(s) under Evidence.", nullptr, int(m_report.notes.size()));
        m_facts->setText(text);
    }
    m_findings->setRowCount(int(m_report.findings.size()));
    for (int i = 0; i < m_report.findings.size(); ++i) {
        const Finding& f = m_report.findings[i];
        m_findings->setItem(i, 0, cell(f.check));
        m_findings->setItem(i, 1, cell(f.object));
        m_findings->setItem(i, 2, cell(f.title, f.title + u"\n\n"_s + f.gain));
    }
    showSelected();
}

void AdvisorPage::selectFinding(const QString& id)
{
    for (int i = 0; i < m_report.findings.size(); ++i)
        if (m_report.findings[i].id == id)
            m_findings->selectRow(i);
}

void AdvisorPage::showSelected()
{
    const Finding* f = selected();
    if (!f) {
        QString text = m_report.findings.isEmpty() && m_report.readAt.isValid() ? tr("Nothing to advise: every check was silent.") : QString();
        for (const QString& n : m_report.notes)
            text += u"\n\nNote: "_s + n;
        m_evidence->setPlainText(text.trimmed());
        m_sql->clear();
        updateButtons();
        return;
    }
    QString text = f->title + u"\n\n"_s + tr("Evidence") + u":\n"_s;
    for (const Evidence& e : f->evidence)
        text += u"  • "_s + e.text + u'\n';
    text += u"\n"_s + tr("Expected gain: %1").arg(f->gain) + u"\n\n"_s;
    text += tr("Locks: %1").arg(f->locks) + u'\n' + tr("Time: %1").arg(f->time) + u'\n' + tr("Disk: %1").arg(f->disk) + u'\n';
    if (!f->note.isEmpty())
        text += u"\n"_s + f->note + u'\n';
    if (!f->sql.isEmpty() && !f->canApply)
        text += u"\n"_s + tr("Cannot be applied here: %1").arg(f->whyNotApply) + u'\n';
    for (const QString& n : m_report.notes)
        text += u"\nNote: "_s + n;
    m_evidence->setPlainText(text);
    if (f->sql.isEmpty()) {
        m_sql->setPlainText(tr("-- Advice only: no SQL to apply.\n-- %1").arg(f->note));
    } else {
        m_sql->setPlainText(tr("-- Apply (%1):\n%2\n-- Undo:\n%3")
                                .arg(f->inTransaction ? tr("one transaction") : tr("one by one, outside a transaction"),
                                    f->sqlPreview(), f->undoPreview()));
    }
    updateButtons();
}

void AdvisorPage::showMeasurements(const Measurement& before, const Measurement* after, const QString& sizes)
{
    m_measure->setRowCount(int(before.statements.size()));
    QString planBefore, planAfter;
    for (int i = 0; i < before.statements.size(); ++i) {
        const StatementRun& b = before.statements[i];
        const StatementRun* a = after && i < after->statements.size() ? &after->statements[i] : nullptr;
        m_measure->setItem(i, 0, cell(b.statement.simplified(), b.statement));
        auto ms = [](const StatementRun& s) {
            return s.error.isEmpty() ? tr("%1 ms").arg(htap::core::formatNumber(s.medianMs)) : tr("not run");
        };
        m_measure->setItem(i, 1, cell(ms(b), b.error.isEmpty() ? tr("median of %1 runs, min %2 ms").arg(b.runs).arg(htap::core::formatNumber(b.minMs)) : b.error));
        m_measure->setItem(i, 2, cell(a ? ms(*a) : QString(), a ? (a->error.isEmpty() ? tr("median of %1 runs, min %2 ms").arg(a->runs).arg(htap::core::formatNumber(a->minMs)) : a->error) : QString()));
        m_measure->setItem(i, 3, cell(b.error.isEmpty() ? htap::core::formatCount(b.buffers()) : QString(),
                                     tr("%1 hit, %2 read").arg(htap::core::formatCount(b.sharedHit), htap::core::formatCount(b.sharedRead))));
        m_measure->setItem(i, 4, cell(a && a->error.isEmpty() ? htap::core::formatCount(a->buffers()) : QString(),
                                     a ? tr("%1 hit, %2 read").arg(htap::core::formatCount(a->sharedHit), htap::core::formatCount(a->sharedRead)) : QString()));
        const QString head = u"-- %1\n"_s.arg(b.statement.simplified().left(90));
        planBefore += head + (b.error.isEmpty() ? b.plan : b.error) + u"\n\n"_s;
        if (a)
            planAfter += head + (a->error.isEmpty() ? a->plan : a->error) + u"\n\n"_s;
    }
    if (!sizes.isEmpty())
        planAfter.prepend(tr("-- Indexes of the table, before → after:\n%1\n\n").arg(sizes));
    m_planBefore->setPlainText(tr("Before (%1)\n\n").arg(before.at.toLocalTime().toString(u"HH:mm:ss"_s)) + planBefore);
    m_planAfter->setPlainText(after ? tr("After (%1)\n\n").arg(after->at.toLocalTime().toString(u"HH:mm:ss"_s)) + planAfter : QString());
    m_tabs->setCurrentIndex(2);
}

void AdvisorPage::reloadLog()
{
    m_changes->setRowCount(int(m_entries.size()));
    for (int i = 0; i < m_entries.size(); ++i) {
        const htap::store::AuditEntry& e = m_entries[i];
        m_changes->setItem(i, 0, cell(QString::number(e.id)));
        m_changes->setItem(i, 1, cell(e.at.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s)));
        m_changes->setItem(i, 2, cell(e.kind));
        m_changes->setItem(i, 3, cell(e.title));
        m_changes->setItem(i, 4, cell(e.status, e.message.isEmpty() ? e.status : e.message));
    }
    updateButtons();
}

bool AdvisorPage::confirmChange(const QString& title, const QString& question, const QString& sql)
{
    if (!m_collector)
        return false;
    if (!m_collector->server().sandbox) {
        // Anywhere but the sandbox: only when the operator names the database.
        const QString db = m_collector->server().endpoint.section(u'/', -1);
        bool ok = false;
        const QString typed = QInputDialog::getText(this, title,
            tr("%1\n\n%2\n\n%3 is not the sandbox. Type the database name (%4) to go ahead:").arg(question, sql, m_collector->server().endpoint, db),
            QLineEdit::Normal, {}, &ok);
        if (!ok || typed != db) {
            Q_EMIT message(false, tr("Nothing was changed: the database name was not confirmed"));
            return false;
        }
        return true;
    }
    QMessageBox box(QMessageBox::Question, title, question, QMessageBox::Cancel, this);
    box.setInformativeText(tr("Kept in the audit log with its undo."));
    box.setDetailedText(sql);
    QPushButton* go = box.addButton(tr("Go ahead"), QMessageBox::AcceptRole);
    box.exec();
    return box.clickedButton() == go;
}

void AdvisorPage::applySelected(bool confirm)
{
    const Finding* current = selected();
    if (!current || current->sql.isEmpty() || !current->canApply)
        return;
    const Finding f = *current;
    const QString db = m_collector ? m_collector->server().endpoint.section(u'/', -1) : QString();
    if (confirm && !confirmChange(tr("Apply this finding?"), tr("%1\n\nSend %n statement(s) to %2?", nullptr, int(f.sql.size())).arg(f.title, m_report.server),
                       f.sqlPreview() + u"\n-- Undo:\n"_s + f.undoPreview()))
        return;
    const int runs = m_runs->value();
    // The database name was typed (or this is the sandbox): the service checks it again.
    run<std::pair<Proof, QList<htap::store::AuditEntry>>>(tr("Applying"),
        [f, db, runs](htap::pg::Connection&, AdviceService& service) {
            std::pair<Proof, QList<htap::store::AuditEntry>> out;
            out.first = service.applyAndMeasure(f, db, runs);
            QString error;
            out.second = service.log(100, &error);
            return out;
        },
        [this](const std::pair<Proof, QList<htap::store::AuditEntry>>& r) {
            const Proof& p = r.first;
            Q_EMIT message(p.change.ok, withNotes(p.change));
            m_entries = r.second;
            reloadLog();
            if (p.change.ok)
                showMeasurements(p.before, &p.after, sizesText(p));
            Q_EMIT applied(p);
        });
}

void AdvisorPage::applySelectedWithoutConfirmation()
{
    applySelected(false);
}

void AdvisorPage::measureSelected()
{
    const Finding* current = selected();
    if (!current || current->statements.isEmpty())
        return;
    const QStringList statements = current->statements;
    const QMap<QString, QString> settings = current->settingsBefore;
    const int runs = m_runs->value();
    run<Measurement>(tr("Measuring"),
        [statements, settings, runs](htap::pg::Connection&, AdviceService& service) { return service.measure(statements, runs, settings); },
        [this](const Measurement& m) {
            showMeasurements(m, nullptr, QString());
            Q_EMIT measured();
        });
}

void AdvisorPage::undoChange(bool confirm)
{
    int row = m_changes->currentRow();
    if (!confirm) { // the newest applied change
        row = -1;
        for (int i = 0; i < m_entries.size() && row < 0; ++i)
            if (m_entries[i].kind == u"advice"_s && m_entries[i].status == u"applied"_s)
                row = i;
    }
    if (row < 0 || row >= m_entries.size())
        return;
    const htap::store::AuditEntry e = m_entries[row];
    QStringList undo;
    for (const QJsonValue& v : e.plan.value(u"undo"_s).toArray())
        undo << v.toString() + u';';
    const QString db = m_collector ? m_collector->server().endpoint.section(u'/', -1) : QString();
    if (confirm && !confirmChange(tr("Undo this change?"), tr("Undo #%1 (%2) on %3?").arg(e.id).arg(e.title, e.server), undo.join(u'\n')))
        return;
    run<std::pair<ChangeOutcome, QList<htap::store::AuditEntry>>>(tr("Undoing"),
        [id = e.id, db](htap::pg::Connection&, AdviceService& service) {
            std::pair<ChangeOutcome, QList<htap::store::AuditEntry>> out;
            out.first = service.undo(id, db);
            QString error;
            out.second = service.log(100, &error);
            return out;
        },
        [this](const std::pair<ChangeOutcome, QList<htap::store::AuditEntry>>& r) {
            Q_EMIT message(r.first.ok, withNotes(r.first));
            m_entries = r.second;
            reloadLog();
            Q_EMIT undone(r.first);
        });
}

void AdvisorPage::undoLatestWithoutConfirmation()
{
    undoChange(false);
}

} // namespace htap::ui
