#include "scenariospage.h"
#include "colours.h"

#include "chartwidget.h"
#include "snapshottablemodel.h"
#include "viewutil.h"

#include <core/format.h>
#include <core/inputfile.h>
#include <monitor/activitycollector.h>
#include <pg/sandbox.h>
#include <report/reportwriter.h>

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSplitter>
#include <QHeaderView>
#include <QTableView>
#include <QTableWidget>
#include <QTime>
#include <QVBoxLayout>

#include <cmath>

namespace htap::ui {

using namespace Qt::StringLiterals;
using namespace htap::workload;


ScenariosPage::ScenariosPage(QWidget* parent)
    : QWidget(parent)
    , m_runner(new ScenarioRunner(this))
    , m_comparison(new ProfileComparison(this))
    , m_choice(new QComboBox(this))
    , m_rateScale(new QDoubleSpinBox(this))
    , m_durationScale(new QDoubleSpinBox(this))
    , m_threads(new QSpinBox(this))
    , m_standby(new QLineEdit(this))
    , m_workloads(new QTableWidget(0, 5, this))
    , m_start(new QPushButton(tr("Start"), this))
    , m_stop(new QPushButton(tr("Stop"), this))
    , m_save(new QPushButton(tr("Save result…"), this))
    , m_progress(new QProgressBar(this))
    , m_status(new QLabel(tr("Choose a scenario and start it on the connected server."), this))
    , m_about(new QLabel(this))
    , m_throughput(new ChartWidget(tr("Throughput per workload (dashed: target)"), tr("requests/s"), this))
    , m_latency(new ChartWidget(tr("Latency from the intended start: p50 and p99"), tr("ms"), this))
    , m_summary(new SnapshotTableModel({tr("workload"), tr("committed"), tr("rolled back"), tr("failed"), tr("retried"), tr("tps"),
                                           tr("target"), tr("p50 ms"), tr("p99 ms"), tr("p99.9 ms"), tr("max ms"), tr("late"),
                                           tr("SLO p99"), tr("ran on")},
          this))
{
    m_choice->setObjectName(u"scenarioChoice"_s);
    for (const QString& name : presetNames()) {
        // Each preset with how long it runs and what it does, so that nobody starts an hour of
        // load or a change of role settings by surprise.
        Scenario s;
        QStringList errors, warnings;
        if (!Scenario::fromJson(presetJson(name), &s, &errors, &warnings))
            continue;
        const double seconds = s.compareProfiles.isEmpty() ? s.totalSeconds() : 2 * s.totalSeconds();
        m_choice->addItem(tr("%1 — %2").arg(name, htap::core::formatDuration(seconds)), name);
        m_choice->setItemData(m_choice->count() - 1, s.description, Qt::ToolTipRole);
    }
    m_choice->addItem(tr("Open a scenario file…"), QString());
    m_about->setObjectName(u"scenarioDescription"_s);
    m_about->setWordWrap(true);
    m_about->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_status->setObjectName(u"scenarioStatus"_s);
    m_status->setWordWrap(true);
    m_progress->setObjectName(u"scenarioProgress"_s);
    for (QDoubleSpinBox* box : {m_rateScale, m_durationScale}) {
        box->setRange(0.01, 100);
        box->setDecimals(2);
        box->setSingleStep(0.1);
        box->setValue(1);
    }
    m_rateScale->setToolTip(tr("Multiplies every open-loop rate: size the preset for this server"));
    m_durationScale->setToolTip(tr("Multiplies every phase's duration"));
    m_threads->setObjectName(u"scenarioThreads"_s);
    m_threads->setRange(0, 256);
    m_threads->setSpecialValueText(tr("default"));
    m_threads->setToolTip(tr("Client threads per workload, each serving several connections without blocking "
                             "(like pgbench -j). Default: the scenario's, or one per CPU core"));
    m_standby->setObjectName(u"scenarioStandby"_s);
    m_standby->setPlaceholderText(tr("standby: the sandbox's"));
    m_standby->setClearButtonEnabled(true);
    m_standby->setToolTip(tr("Where workloads with target standby (or router) read: a standby's conninfo. Empty: the "
                             "primary's streaming sandbox standby with the least lag (Sandbox > Add standby)"));
    m_throughput->setLegendGroup(2); // a workload's throughput and its target
    m_latency->setLegendGroup(2);    // its p50 and p99
    m_latency->setLogarithmic(true);
    m_latency->addThreshold(50, tr("OLTP target 50 ms"), ChartWidget::seriesColor(0));
    m_latency->addThreshold(1000, tr("OLAP target 1 s"), ChartWidget::seriesColor(1));

    // Two rows: in one, the page needed 962 px and its buttons ran off a 1024 px window.
    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Scenario:"), this));
    m_choice->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_choice->setMinimumContentsLength(24);
    controls->addWidget(m_choice, 1);
    controls->addWidget(m_start);
    controls->addWidget(m_stop);
    controls->addWidget(m_save);
    auto* scales = new QHBoxLayout;
    scales->addWidget(new QLabel(tr("rate ×"), this));
    scales->addWidget(m_rateScale);
    scales->addSpacing(12);
    scales->addWidget(new QLabel(tr("duration ×"), this));
    scales->addWidget(m_durationScale);
    scales->addSpacing(12);
    scales->addWidget(new QLabel(tr("threads"), this));
    scales->addWidget(m_threads);
    scales->addSpacing(12);
    scales->addWidget(m_standby, 1);
    m_workloads->setObjectName(u"scenarioWorkloads"_s);
    m_workloads->setHorizontalHeaderLabels({tr("workload"), tr("kind"), tr("arrival"), tr("connections"), tr("× rate or clients")});
    m_workloads->horizontalHeaderItem(3)->setToolTip(tr("Open loop: the connection budget; closed loop: the most clients"));
    m_workloads->horizontalHeaderItem(4)->setToolTip(
        tr("Multiplies this workload's rates (open loop) or its clients in every phase (closed loop), "
           "on top of the rate × above"));
    m_workloads->verticalHeader()->hide();
    m_workloads->verticalHeader()->setDefaultSectionSize(m_workloads->fontMetrics().height() + 8);
    m_workloads->horizontalHeader()->setStretchLastSection(true);
    m_workloads->setEditTriggers(QAbstractItemView::AllEditTriggers);
    auto* table = makeSnapshotTableView(m_summary, this);
    table->setObjectName(u"scenarioSummary"_s);
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(m_workloads);
    split->addWidget(m_throughput);
    split->addWidget(m_latency);
    split->addWidget(table);
    split->setSizes({m_workloads->horizontalHeader()->sizeHint().height() + 4 * (m_workloads->fontMetrics().height() + 8), 280, 280, 130});
    // The progress bar shows only while a run goes on, beside the status line that stays.
    auto* state = new QHBoxLayout;
    state->addWidget(m_progress, 1);
    state->addWidget(m_status, 2);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addLayout(scales);
    layout->addWidget(m_about);
    layout->addLayout(state);
    layout->addWidget(split, 1);

    connect(m_choice, &QComboBox::activated, this, [this](int index) {
        if (!m_choice->itemData(index).toString().isEmpty())
            return;
        const QString file = QFileDialog::getOpenFileName(this, tr("Scenario file"), {}, tr("Scenarios (*.json)"));
        if (!file.isEmpty())
            selectFile(file);
    });
    connect(m_choice, &QComboBox::currentIndexChanged, this, &ScenariosPage::showWorkloads);
    connect(m_durationScale, &QDoubleSpinBox::valueChanged, this, [this] {
        if (!m_about->text().isEmpty() && !m_aboutScenario.workloads.isEmpty())
            showAbout();
    });
    connect(m_start, &QPushButton::clicked, this, &ScenariosPage::startSelected);
    connect(m_stop, &QPushButton::clicked, this, [this] {
        if (m_comparison->isRunning())
            m_comparison->stop();
        else
            m_runner->stop();
    });
    connect(m_comparison, &ProfileComparison::secondAvailable, this, [this](const QString& side, const SecondStats& s) {
        // Both sides on one time axis; each workload twice, named by its side.
        SecondStats named = s;
        named.workloads.clear();
        for (auto it = s.workloads.cbegin(); it != s.workloads.cend(); ++it)
            named.workloads.insert(u"%1 (%2)"_s.arg(it.key(), side), it.value());
        if (side == u"with"_s)
            named.second += int(std::ceil(m_running.totalSeconds()));
        onSecond(named);
    });
    connect(m_comparison, &ProfileComparison::progress, this, [this](const QString& text) { m_status->setText(text); });
    connect(m_comparison, &ProfileComparison::finished, this, &ScenariosPage::onComparisonFinished);
    connect(m_comparison, &ProfileComparison::failedToStart, this, [this](const QString& why) {
        setRunning(false);
        m_status->setText(tr("Did not start: %1").arg(why));
        Q_EMIT message(false, tr("The comparison did not start: %1").arg(why));
    });
    connect(m_save, &QPushButton::clicked, this, &ScenariosPage::saveResult);
    connect(m_runner, &ScenarioRunner::secondAvailable, this, &ScenariosPage::onSecond);
    connect(m_runner, &ScenarioRunner::finished, this, &ScenariosPage::onFinished);
    connect(m_runner, &ScenarioRunner::failedToStart, this, [this](const QString& why) {
        setRunning(false);
        m_status->setText(tr("Did not start: %1").arg(why));
        Q_EMIT message(false, tr("The scenario did not start: %1").arg(why));
    });
    connect(m_runner, &ScenarioRunner::started, this,
        [this](const QString& server) { m_status->setText(tr("Running %1 on %2").arg(m_running.name, server)); });
    setRunning(false);
    m_save->setEnabled(false);
    selectPreset(u"smoke"_s); // the safe start: 30 s of load, no settings changed
    showWorkloads();
}

void ScenariosPage::showWorkloads()
{
    m_workloads->setRowCount(0);
    m_about->clear();
    m_aboutScenario = {};
    const QString preset = m_choice->currentData().toString();
    QByteArray json;
    QString error;
    if (!preset.isEmpty())
        json = presetJson(preset);
    else if (!m_file.isEmpty())
        htap::core::readInputFile(m_file, htap::core::kMaxScenarioBytes, tr("scenario file"), &json, &error);
    Scenario s;
    QStringList errors, warnings;
    if (json.isEmpty() || !Scenario::fromJson(json, &s, &errors, &warnings, preset.isEmpty() ? QFileInfo(m_file).absolutePath() : QString())) {
        if (!error.isEmpty() || !errors.isEmpty())
            m_about->setText(tr("Not a valid scenario: %1").arg(error.isEmpty() ? errors.value(0) : error));
        return; // the whole list of problems when started
    }
    m_aboutScenario = s;
    showAbout();
    for (const Workload& w : std::as_const(s.workloads)) {
        const int row = m_workloads->rowCount();
        m_workloads->insertRow(row);
        QString kind = w.kind == Workload::Kind::Order ? tr("orders")
            : w.kind == Workload::Kind::Report              ? tr("reports: %1").arg(w.reports.join(u", "_s))
            : w.kind == Workload::Kind::Sql                 ? tr("SQL file")
                                                            : tr("refresh: %1").arg(w.views.join(u", "_s));
        const QString arrival = w.open() ? tr("open") : tr("closed");
        if (w.target != Workload::Target::Primary)
            kind += w.target == Workload::Target::Standby ? tr(" · on the standby") : tr(" · through the router");
        int col = 0;
        for (const QString& text : {w.name, kind, arrival}) {
            auto* item = new QTableWidgetItem(text);
            item->setFlags(item->flags() & ~Qt::ItemIsEditable);
            m_workloads->setItem(row, col++, item);
        }
        auto* connections = new QTableWidgetItem;
        connections->setData(Qt::EditRole, w.connections);
        m_workloads->setItem(row, 3, connections);
        auto* factor = new QTableWidgetItem;
        factor->setData(Qt::EditRole, 1.0);
        m_workloads->setItem(row, 4, factor);
    }
    m_workloads->resizeColumnsToContents();
}

void ScenariosPage::showAbout()
{
    const Scenario& s = m_aboutScenario;
    QString about = s.description.isEmpty() ? tr("(no description)") : s.description;
    const double seconds = (s.compareProfiles.isEmpty() ? 1 : 2) * s.totalSeconds() * m_durationScale->value();
    about += tr(" Runs %1.").arg(htap::core::formatDuration(seconds));
    if (!s.compareProfiles.isEmpty())
        about += tr(" Changes role settings (profile set %1) and puts them back.").arg(s.compareProfiles);
    m_about->setText(about);
}

void ScenariosPage::selectPreset(const QString& name)
{
    const int i = m_choice->findData(name);
    if (i >= 0)
        m_choice->setCurrentIndex(i);
}

void ScenariosPage::selectFile(const QString& path)
{
    const int i = m_choice->findData(QString());
    m_file = path;
    m_choice->setItemText(i, QFileInfo(path).fileName());
    if (m_choice->currentIndex() == i)
        showWorkloads();
    else
        m_choice->setCurrentIndex(i); // shows its workloads
}

bool ScenariosPage::loadSelected(Scenario* scenario)
{
    const QString preset = m_choice->currentData().toString();
    QByteArray json = preset.isEmpty() ? QByteArray() : presetJson(preset);
    if (preset.isEmpty()) {
        if (m_file.isEmpty()) {
            Q_EMIT message(false, tr("Choose a scenario file first"));
            return false;
        }
        QString error;
        if (!htap::core::readInputFile(m_file, htap::core::kMaxScenarioBytes, tr("scenario file"), &json, &error)) {
            Q_EMIT message(false, error);
            return false;
        }
    }
    QStringList errors, warnings;
    if (!Scenario::fromJson(json, scenario, &errors, &warnings, preset.isEmpty() ? QFileInfo(m_file).absolutePath() : QString())) {
        Q_EMIT message(false, tr("The scenario is not valid:\n%1").arg(errors.join(u'\n')));
        return false;
    }
    if (!warnings.isEmpty())
        Q_EMIT message(true, tr("Warnings:\n%1").arg(warnings.join(u'\n')));
    scenario->scale(m_rateScale->value(), m_durationScale->value());
    for (int row = 0; row < m_workloads->rowCount(); ++row) {
        const QString name = m_workloads->item(row, 0)->text();
        const int connections = m_workloads->item(row, 3)->data(Qt::EditRole).toInt();
        const double factor = m_workloads->item(row, 4)->data(Qt::EditRole).toDouble();
        if (!scenario->workload(name))
            continue; // the table is from an older read of the file
        if (connections < 1 || connections > 500 || !(factor > 0) || factor > 100) {
            Q_EMIT message(false, tr("Workload %1: connections must be 1 to 500 and the factor above 0 and at most 100").arg(name));
            return false;
        }
        if (connections != scenario->workload(name)->connections || factor != 1.0)
            scenario->resizeWorkload(name, connections, factor);
    }
    if (m_threads->value() > 0)
        scenario->threads = m_threads->value();
    if (const QStringList problems = scenario->limitProblems(); !problems.isEmpty()) {
        Q_EMIT message(false, tr("The scenario cannot run as scaled:\n%1").arg(problems.join(u'\n')));
        return false;
    }
    return true;
}

void ScenariosPage::setCollector(htap::monitor::ActivityCollector* collector)
{
    m_collector = collector;
}

void ScenariosPage::startSelected()
{
    if (!m_collector || m_collector->state() != htap::monitor::ConnectionState::Connected) {
        Q_EMIT message(false, tr("Connect to a server first (the sandbox is the safe place for experiments)"));
        return;
    }
    const auto info = m_collector->connInfoWithPassword();
    const QPointer<htap::monitor::ActivityCollector> target = m_collector; // checked after the questions
    Scenario scenario;
    if (!loadSelected(&scenario))
        return;
    if (!m_collector->server().sandbox) {
        // A scenario writes orders: on a real server only when the operator names it.
        const QString db = m_collector->server().endpoint.section(u'/', -1);
        bool ok = false;
        const QString typed = QInputDialog::getText(this, tr("Run on this server?"),
            tr("%1 writes orders into %2, which is not the sandbox.\nType the database name (%3) to go ahead:")
                .arg(scenario.name, m_collector->server().endpoint, db),
            QLineEdit::Normal, {}, &ok);
        if (!ok || typed != db) {
            Q_EMIT message(false, tr("Not started: the database name was not confirmed"));
            return;
        }
    }
    if (!scenario.compareProfiles.isEmpty() && m_confirmRoleChanges) {
        const auto answer = QMessageBox::question(this, tr("Change role settings for the comparison?"),
            tr("%1 runs twice: first with the settings of the profile set %2 reset on %3, then with them applied. "
               "Both changes are kept in the role audit log and undone at the end, also when you stop it.")
                .arg(scenario.name, scenario.compareProfiles, m_collector->server().endpoint));
        if (answer != QMessageBox::Yes)
            return;
    }
    if (!target || target != m_collector) { // the shown server changed while a question was open
        Q_EMIT message(false, tr("Not started: the server shown changed meanwhile"));
        return;
    }
    m_running = scenario;
    m_runningOn = m_collector->server().endpoint;
    m_lastWasComparison = !scenario.compareProfiles.isEmpty();
    // This run's workloads only: a run of another scenario left series that would stay empty.
    for (ChartWidget* c : {m_throughput, m_latency})
        c->removeAllSeries();
    m_tpsSeries.clear();
    m_p50Series.clear();
    m_p99Series.clear();
    for (ChartWidget* c : {m_throughput, m_latency}) // the whole run in view
        c->setVisibleSeconds(int(std::ceil(scenario.totalSeconds())) + 5);
    m_summary->setRows({});
    m_progress->setRange(0, int(std::ceil(scenario.totalSeconds())));
    m_progress->setValue(0);
    m_status->setText(tr("Connecting %n workload(s)…", nullptr, int(scenario.workloads.size())));
    setRunning(true);
    if (m_lastWasComparison) {
        const int total = int(std::ceil(2 * scenario.totalSeconds()));
        m_progress->setRange(0, total);
        for (ChartWidget* c : {m_throughput, m_latency})
            c->setVisibleSeconds(total + 5);
        m_comparison->start(scenario, info);
        return;
    }
    htap::pg::ConnInfo standby;
    if (!m_standby->text().trimmed().isEmpty()) {
        QString error;
        standby = htap::pg::ConnInfo::parse(m_standby->text().trimmed(), &error);
        if (!error.isEmpty()) {
            setRunning(false);
            m_status->setText(tr("Did not start: the standby's conninfo: %1").arg(error));
            Q_EMIT message(false, tr("The standby's conninfo: %1").arg(error));
            return;
        }
    }
    m_runner->setStandby(standby);
    m_runner->start(scenario, info);
}

void ScenariosPage::onSecond(const SecondStats& s)
{
    m_progress->setValue(s.second);
    m_progress->setFormat(tr("%1 — %2 left").arg(s.phase, htap::core::formatDuration(std::max(0, m_progress->maximum() - s.second))));
    for (auto it = s.workloads.cbegin(); it != s.workloads.cend(); ++it) {
        if (!m_tpsSeries.contains(it.key())) {
            const QColor c = ChartWidget::seriesColor(int(m_tpsSeries.size()));
            m_tpsSeries.insert(it.key(), m_throughput->addSeries(it.key(), c));
            m_throughput->addSeries(it.key() + tr(" target"), c, Qt::DashLine);
            m_p50Series.insert(it.key(), m_latency->addSeries(it.key() + u" p50"_s, c.lighter(140)));
            m_p99Series.insert(it.key(), m_latency->addSeries(it.key() + u" p99"_s, c));
        }
        const WorkloadStats& w = it.value();
        m_throughput->addPoint(m_tpsSeries.value(it.key()), s.at, w.tps());
        m_throughput->addPoint(m_tpsSeries.value(it.key()) + 1, s.at, w.targetRate);
        const bool any = w.committed + w.rolledBack + w.failed > 0;
        m_latency->addPoint(m_p50Series.value(it.key()), s.at, any ? w.latency.p50 : std::nan(""));
        m_latency->addPoint(m_p99Series.value(it.key()), s.at, any ? w.latency.p99 : std::nan(""));
    }
}

void ScenariosPage::onFinished(const ScenarioResult& r)
{
    m_result = r;
    setRunning(false);
    m_save->setEnabled(true);
    QList<SnapshotTableModel::Row> rows;
    for (auto it = r.summary.cbegin(); it != r.summary.cend(); ++it) {
        const WorkloadStats& w = it.value();
        const Workload* wl = r.scenario.workload(it.key());
        const QString slo = wl && wl->sloP99Ms > 0
            ? (w.latency.p99 <= wl->sloP99Ms ? tr("met (%1 ms)") : tr("MISSED (%1 ms)")).arg(wl->sloP99Ms)
            : QString();
        // Standby and router workloads: where their requests ran, with each target's p99.
        QStringList ranOn;
        for (auto t = w.targets.cbegin(); t != w.targets.cend(); ++t)
            ranOn << tr("%1 %2 (p99 %3 ms%4)").arg(t.key(), htap::core::formatCount(t->committed + t->failed),
                QString::number(t->latency.p99, 'f', 1), t->conflicts > 0 ? tr(", %n conflict(s)", nullptr, int(t->conflicts)) : QString());
        SnapshotTableModel::Row row;
        row.key = it.key();
        row.display = {it.key(), w.committed, w.rolledBack, w.failed, w.retries, QString::number(w.tps(), 'f', 1),
            w.targetRate > 0 ? QString::number(w.targetRate, 'f', 1) : QString(), QString::number(w.latency.p50, 'f', 2),
            QString::number(w.latency.p99, 'f', 2), QString::number(w.latency.p999, 'f', 2),
            QString::number(w.latency.max, 'f', 1), w.late, slo, ranOn.join(u"; "_s)};
        if (slo.startsWith(tr("MISSED")) || w.failed > 0)
            row.tone = colours::Tone::Bad;
        rows.append(row);
    }
    m_summary->setRows(rows);
    QString text = tr("Finished %1 at %2 after %3").arg(r.scenario.name, QTime::currentTime().toString(u"HH:mm:ss"_s),
        htap::core::formatDuration(m_progress->value()));
    if (r.partial)
        text = tr("Stopped early at %1 (%2): partial result").arg(QTime::currentTime().toString(u"HH:mm:ss"_s), r.stopReason);
    if (r.interferenceP99 >= 0)
        text += tr(" · OLTP p99 with reports / without: %1×").arg(QString::number(r.interferenceP99, 'f', 2));
    if (r.oltpAchievedOverTarget >= 0)
        text += tr(" · OLTP achieved / target: %1").arg(QString::number(r.oltpAchievedOverTarget, 'f', 3));
    if (r.serverDeadlockDelta > 0) // each one stalls its transactions for deadlock_timeout: a dip in the charts
        text += (r.serverDeadlockDelta == 1 ? tr(" · 1 deadlock in the database during the run")
                                             : tr(" · %1 deadlocks in the database during the run").arg(r.serverDeadlockDelta));
    if (!r.standby.isEmpty()) {
        // The standby the reports read from, over the measured phases: lag, data age, conflicts.
        double lag = -1, age = -1;
        qint64 conflicts = 0;
        for (const PhaseResult& p : r.phases) {
            if (p.warmup)
                continue;
            lag = std::max(lag, p.replica.lagP99);
            age = std::max(age, p.replica.dataAgeP99);
            conflicts += p.replica.conflicts;
        }
        text += tr(" · standby %1: replay lag p99 %2, data age p99 %3, %n recovery conflict(s)", nullptr, int(conflicts))
                    .arg(r.standby, lag >= 0 ? htap::core::formatSeconds(lag) : tr("unknown"), age >= 0 ? htap::core::formatSeconds(age) : tr("unknown"));
    }
    m_status->setText(text);
}

void ScenariosPage::onComparisonFinished(const ComparisonResult& r)
{
    m_comparisonResult = r;
    m_result = r.ranWith ? r.with : r.without;
    setRunning(false);
    m_save->setEnabled(true);
    QList<SnapshotTableModel::Row> rows;
    for (const ComparisonResult::Row& row : r.rows()) {
        for (const auto& [side, w] : {std::pair {tr("without"), row.without}, {tr("with"), row.with}}) {
            if (side == tr("with") && !r.ranWith)
                continue;
            SnapshotTableModel::Row t;
            t.key = row.workload + u' ' + side;
            t.display = {u"%1 (%2)"_s.arg(row.workload, side), w.committed, w.rolledBack, w.failed, w.retries, QString::number(w.tps(), 'f', 1),
                w.targetRate > 0 ? QString::number(w.targetRate, 'f', 1) : QString(), QString::number(w.latency.p50, 'f', 2),
                QString::number(w.latency.p99, 'f', 2), QString::number(w.latency.p999, 'f', 2),
                QString::number(w.latency.max, 'f', 1), w.late, QString()};
            rows.append(t);
        }
    }
    m_summary->setRows(rows);
    QStringList text {r.partial ? tr("Stopped early (%1): partial comparison").arg(r.stopReason)
                                : tr("Finished %1: without vs with %2").arg(m_running.name, r.profileSet)};
    for (const ComparisonResult::Row& row : r.rows())
        if (r.ranWith && row.without.latency.p99 > 0)
            text << tr("%1 p99 %2 → %3 ms").arg(row.workload, QString::number(row.without.latency.p99, 'f', 1),
                QString::number(row.with.latency.p99, 'f', 1));
    text << r.restoreMessage;
    m_status->setText(text.join(u" · "_s));
    Q_EMIT message(r.restored, r.restored ? text.join(u" · "_s) : tr("The roles were NOT all put back: %1").arg(r.restoreMessage));
}

void ScenariosPage::saveResult()
{
    if (m_lastWasComparison) {
        const QString path = QFileDialog::getSaveFileName(this, tr("Save comparison"),
            m_running.name + u"-comparison.json"_s, tr("Comparison (*.json)"));
        if (path.isEmpty())
            return;
        QString error;
        if (!htap::report::writeAtomically(path, QJsonDocument(m_comparisonResult.toJson()).toJson(), &error))
            Q_EMIT message(false, tr("Could not save: %1").arg(error));
        else
            Q_EMIT message(true, tr("Saved %1").arg(path));
        return;
    }
    const QString path = QFileDialog::getSaveFileName(this, tr("Save result"), m_result.scenario.name + u"-result.json"_s,
        tr("Result (*.json)"));
    if (path.isEmpty())
        return;
    const QString csvPath = (path.endsWith(u".json"_s) ? path.chopped(5) : path) + u".csv"_s;
    for (const auto& [file, bytes] : {std::pair {path, QJsonDocument(m_result.toJson()).toJson()}, {csvPath, m_result.toCsv()}}) {
        QString error;
        if (!htap::report::writeAtomically(file, bytes, &error)) {
            Q_EMIT message(false, tr("Could not save: %1").arg(error));
            return;
        }
    }
    Q_EMIT message(true, tr("Saved %1 and %2").arg(path, csvPath));
}

void ScenariosPage::setRunning(bool running)
{
    m_start->setEnabled(!running);
    m_stop->setEnabled(running);
    m_choice->setEnabled(!running);
    m_rateScale->setEnabled(!running);
    m_durationScale->setEnabled(!running);
    m_threads->setEnabled(!running);
    m_workloads->setEnabled(!running);
    m_progress->setVisible(running);
}

} // namespace htap::ui
