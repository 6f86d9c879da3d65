#include "rolespage.h"
#include "colours.h"
#include "viewutil.h"
#include "workerjob.h"

#include <monitor/activitycollector.h>
#include <pg/connection.h>

#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFontDatabase>
#include <QFormLayout>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QtConcurrent>

#include <limits>
#include <type_traits>

using namespace Qt::StringLiterals;
using namespace htap::roles;

namespace htap::ui {

namespace {

constexpr auto kLimitRow = "(connection limit)";
constexpr auto kNiceRow = "(cpu nice)";
enum EditorColumn { ColProfile, ColRole, ColDatabase, ColParameter, ColValue, ColCheck, EditorColumns };

QTableWidgetItem* item(const QString& text, const QString& tip = {})
{
    auto* i = new QTableWidgetItem(text);
    if (!tip.isEmpty())
        i->setToolTip(tip);
    return i;
}

QString limitText(int limit)
{
    return limit < 0 ? RolesPage::tr("no limit") : QString::number(limit);
}

QString shown(const std::optional<QString>& v)
{
    return v ? *v : RolesPage::tr("(server value)");
}

} // namespace

RolesPage::RolesPage(QWidget* parent)
    : QWidget(parent)
    , m_auditPath(htap::store::AuditLog::defaultPath())
    , m_facts(new QLabel(tr("Not connected."), this))
    , m_roles(makeTable({tr("role"), tr("login"), tr("connection limit"), tr("sessions"), tr("pg_monitor"),
                            tr("pg_signal_backend"), tr("own settings")},
          this, u"rolesTable"_s))
    , m_settings(makeTable({tr("parameter"), tr("a new session gets"), tr("from"), tr("server value"), tr("allowed")}, this,
          u"roleSettingsTable"_s))
    , m_profileChoice(new QComboBox(this))
    , m_editor(makeTable({tr("profile"), tr("role"), tr("database"), tr("parameter"), tr("value"), tr("check")}, this,
          u"profileEditor"_s))
    , m_planView(new QPlainTextEdit(this))
    , m_sessions(makeTable({tr("pid"), tr("role"), tr("database"), tr("application"), tr("client"), tr("state"),
                               tr("session started")},
          this, u"oldSessionsTable"_s))
    , m_audit(makeTable({tr("#"), tr("when"), tr("kind"), tr("what"), tr("roles"), tr("by"), tr("status")}, this,
          u"auditTable"_s))
    , m_tabs(new QTabWidget(this))
    , m_reload(new QPushButton(tr("Reload"), this))
    , m_apply(new QPushButton(tr("Apply…"), this))
    , m_undo(new QPushButton(tr("Undo…"), this))
    , m_endSessions(new QPushButton(tr("End selected sessions…"), this))
    , m_renice(new QPushButton(tr("Lower CPU priority now…"), this))
    , m_installPrioritize(new QPushButton(tr("Create extension prioritize"), this))
    , m_nice(new QSpinBox(this))
    , m_priorityNote(new QLabel(this))
{
    qRegisterMetaType<ApplyOutcome>();
    m_facts->setWordWrap(true);
    m_facts->setObjectName(u"rolesFacts"_s);
    m_planView->setReadOnly(true);
    m_planView->setObjectName(u"planView"_s);
    m_planView->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_planView->setPlaceholderText(tr("The exact SQL appears here as you edit the profile set; nothing is sent before Apply."));
    m_editor->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed
        | QAbstractItemView::AnyKeyPressed | QAbstractItemView::SelectedClicked);
    m_editor->setSelectionBehavior(QAbstractItemView::SelectItems);
    m_nice->setRange(1, 19);
    m_nice->setValue(10);
    m_nice->setPrefix(tr("nice "));
    m_priorityNote->setWordWrap(true);
    m_apply->setEnabled(false);
    m_apply->setObjectName(u"applyButton"_s);

    auto* wizard = new QPushButton(tr("Role wizard…"), this);
    wizard->setToolTip(tr("Create the seed's OLTP writer, OLAP reader and monitor roles with least grants"));
    auto* header = new QHBoxLayout;
    header->addWidget(m_facts, 1);
    header->addWidget(m_reload);
    header->addWidget(wizard);

    auto* top = new QSplitter(Qt::Horizontal, this);
    auto* rolesBox = new QWidget(top);
    auto* rolesLayout = new QVBoxLayout(rolesBox);
    rolesLayout->setContentsMargins(0, 0, 0, 0);
    rolesLayout->addWidget(new QLabel(tr("<b>Roles</b> (pg_ roles hidden)"), rolesBox));
    rolesLayout->addWidget(m_roles);
    auto* settingsBox = new QWidget(top);
    auto* settingsLayout = new QVBoxLayout(settingsBox);
    settingsLayout->setContentsMargins(0, 0, 0, 0);
    auto* settingsTitle = new QLabel(tr("<b>Settings of the selected role</b>: what its next session gets, and from where"),
        settingsBox);
    settingsLayout->addWidget(settingsTitle);
    settingsLayout->addWidget(m_settings);
    top->addWidget(rolesBox);
    top->addWidget(settingsBox);
    top->setStretchFactor(0, 5);
    top->setStretchFactor(1, 6);

    auto* editorBox = new QWidget(this);
    auto* editorLayout = new QVBoxLayout(editorBox);
    editorLayout->setContentsMargins(0, 0, 0, 0);
    auto* editorBar = new QHBoxLayout;
    editorBar->addWidget(new QLabel(tr("<b>Profile set</b>"), editorBox));
    editorBar->addWidget(m_profileChoice, 1);
    auto* addRow = new QPushButton(tr("Add row"), editorBox);
    auto* removeRow = new QPushButton(tr("Remove row"), editorBox);
    auto* save = new QPushButton(tr("Save as…"), editorBox);
    auto* open = new QPushButton(tr("Open file…"), editorBox);
    editorBar->addWidget(addRow);
    editorBar->addWidget(removeRow);
    editorBar->addWidget(save);
    editorBar->addWidget(open);
    editorLayout->addLayout(editorBar);
    editorLayout->addWidget(m_editor);

    auto* planTab = new QWidget(m_tabs);
    auto* planLayout = new QVBoxLayout(planTab);
    planLayout->addWidget(m_planView);
    auto* planBar = new QHBoxLayout;
    auto* newSessions = new QLabel(tr("Role settings reach <b>new sessions only</b>: sessions already open keep their values "
                                      "until they reconnect. They are listed after Apply, and can be ended there."),
        planTab);
    newSessions->setWordWrap(true);
    planBar->addWidget(newSessions, 1);
    planBar->addWidget(m_apply);
    planLayout->addLayout(planBar);
    m_tabs->addTab(planTab, tr("Plan (SQL)"));

    auto* sessionsTab = new QWidget(m_tabs);
    auto* sessionsLayout = new QVBoxLayout(sessionsTab);
    sessionsLayout->addWidget(m_sessions);
    auto* sessionsBar = new QHBoxLayout;
    sessionsBar->addStretch(1);
    sessionsBar->addWidget(m_endSessions);
    sessionsLayout->addLayout(sessionsBar);
    m_tabs->addTab(sessionsTab, tr("Sessions on old settings"));

    auto* auditTab = new QWidget(m_tabs);
    auto* auditLayout = new QVBoxLayout(auditTab);
    auditLayout->addWidget(m_audit);
    auto* auditBar = new QHBoxLayout;
    auto* auditNote = new QLabel(tr("Every change made here, kept in %1").arg(QDir::toNativeSeparators(m_auditPath)), auditTab);
    auditNote->setObjectName(u"auditNote"_s);
    auditBar->addWidget(auditNote, 1);
    auditBar->addWidget(m_undo);
    auditLayout->addLayout(auditBar);
    m_tabs->addTab(auditTab, tr("Audit log"));

    auto* cpuTab = new QWidget(m_tabs);
    auto* cpuLayout = new QVBoxLayout(cpuTab);
    cpuLayout->addWidget(m_priorityNote);
    auto* cpuBar = new QHBoxLayout;
    cpuBar->addWidget(m_nice);
    cpuBar->addWidget(m_renice);
    cpuBar->addWidget(m_installPrioritize);
    cpuBar->addStretch(1);
    cpuLayout->addLayout(cpuBar);
    cpuLayout->addStretch(1);
    m_tabs->addTab(cpuTab, tr("CPU priority"));

    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(top);
    split->addWidget(editorBox);
    split->addWidget(m_tabs);
    split->setStretchFactor(0, 4);
    split->setStretchFactor(1, 4);
    split->setStretchFactor(2, 3);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(header);
    layout->addWidget(split, 1);

    connect(m_reload, &QPushButton::clicked, this, &RolesPage::reload);
    connect(wizard, &QPushButton::clicked, this, &RolesPage::openWizard);
    connect(m_roles, &QTableWidget::itemSelectionChanged, this, &RolesPage::showRoleSettings);
    connect(m_editor, &QTableWidget::itemChanged, this, [this] {
        if (!m_filling)
            revalidate();
    });
    connect(m_profileChoice, &QComboBox::activated, this, [this] { selectProfileSet(m_profileChoice->currentData().toString()); });
    connect(addRow, &QPushButton::clicked, this, [this] {
        const int from = std::max(0, m_editor->currentRow());
        const int row = m_editor->rowCount();
        m_filling = true;
        m_editor->insertRow(row);
        m_editor->setItem(row, ColProfile, item(m_editor->item(from, ColProfile) ? m_editor->item(from, ColProfile)->text() : u"OLTP"_s));
        m_editor->setItem(row, ColRole, item(m_editor->item(from, ColRole) ? m_editor->item(from, ColRole)->text() : u"oltp_user"_s));
        m_editor->setItem(row, ColDatabase, item(m_editor->item(from, ColDatabase) ? m_editor->item(from, ColDatabase)->text() : QString()));
        m_editor->setItem(row, ColParameter, item(QString()));
        m_editor->setItem(row, ColValue, item(QString()));
        m_editor->setItem(row, ColCheck, item(QString()));
        m_filling = false;
        m_editor->setCurrentCell(row, ColParameter);
        m_editor->editItem(m_editor->item(row, ColParameter));
    });
    connect(removeRow, &QPushButton::clicked, this, [this] {
        if (m_editor->currentRow() >= 0) {
            m_editor->removeRow(m_editor->currentRow());
            revalidate();
        }
    });
    connect(save, &QPushButton::clicked, this, &RolesPage::saveSet);
    connect(open, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("Open a role profile set"), QString(), tr("Profile sets (*.json)"));
        if (!file.isEmpty())
            selectProfileSet(file);
    });
    connect(m_apply, &QPushButton::clicked, this, [this] { applyPlan(true); });
    connect(m_undo, &QPushButton::clicked, this, &RolesPage::undoSelected);
    connect(m_endSessions, &QPushButton::clicked, this, &RolesPage::endSelectedSessions);
    connect(m_renice, &QPushButton::clicked, this, &RolesPage::lowerPriority);
    connect(m_installPrioritize, &QPushButton::clicked, this, &RolesPage::installPrioritize);

    refreshProfileChoice();
    selectProfileSet(u"seed-isolation"_s);
    showCatalog();
}

RolesPage::~RolesPage() = default;

void RolesPage::setCollector(htap::monitor::ActivityCollector* collector)
{
    if (m_collector)
        disconnect(m_collector, nullptr, this, nullptr);
    m_collector = collector;
    ++m_generation;
    // Another server's roles and audit entries must not stay on screen as if they were these.
    m_catalog = {};
    m_entries = {};
    // Sessions listed after an Apply are pids of that server: never to be ended on another.
    m_sessions->setRowCount(0);
    showCatalog();
    revalidate();
    if (!m_collector)
        return;
    connect(m_collector, &htap::monitor::ActivityCollector::stateChanged, this, [this](htap::monitor::ConnectionState state) {
        if (state == htap::monitor::ConnectionState::Connected && isVisible())
            reload();
    });
    if (isVisible() && m_collector->state() == htap::monitor::ConnectionState::Connected)
        reload();
}

void RolesPage::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    // Read on first sight and whenever the page is shown again: roles change outside the app.
    if (m_busy == 0 && m_collector && m_collector->state() == htap::monitor::ConnectionState::Connected)
        reload();
}

void RolesPage::setAuditPath(const QString& path)
{
    m_auditPath = path;
    if (auto* note = findChild<QLabel*>(u"auditNote"_s))
        note->setText(tr("Every change made here, kept in %1").arg(QDir::toNativeSeparators(path)));
}

template <typename T>
void RolesPage::run(const QString& what, std::function<T(htap::pg::Connection&, RoleService&)> work,
    std::function<void(const T&)> done)
{
    if (!m_collector || m_collector->state() != htap::monitor::ConnectionState::Connected) {
        Q_EMIT message(false, tr("Connect to a server first."));
        return;
    }
    const QString auditPath = m_auditPath;
    setBusy(true);
    const quint64 generation = m_generation;
    const QString server = m_collector->server().endpoint;
    runOnWorker<T>(this, m_collector->connInfoWithPassword(), u"htap-studio roles"_s,
        [auditPath, work](htap::pg::Connection& conn) {
            const htap::store::AuditLog audit(auditPath);
            RoleService service(conn, audit);
            return work(conn, service);
        },
        [this, what, done, generation, server](const WorkerAnswer<T>& r) {
            setBusy(false);
            if (generation != m_generation) {
                // Another server is shown now: its page must not get this one's answer, but what
                // changed a server is still told.
                if constexpr (std::is_same_v<T, ApplyOutcome>)
                    Q_EMIT message(r.error.isEmpty() && r.value.ok,
                        tr("%1 on %2: %3").arg(what, server, r.error.isEmpty() ? r.value.message : r.error));
                else if (!r.error.isEmpty())
                    Q_EMIT message(false, tr("%1 on %2: %3").arg(what, server, r.error));
                return;
            }
            if (!r.error.isEmpty()) {
                Q_EMIT message(false, tr("%1: %2").arg(what, r.error));
                return;
            }
            done(r.value);
        });
}

void RolesPage::setBusy(bool busy)
{
    m_busy += busy ? 1 : -1;
    updateButtons();
}

void RolesPage::updateButtons()
{
    const bool idle = m_busy == 0;
    m_reload->setEnabled(idle);
    const bool canApply = m_plan.ok() && !m_plan.isEmpty() && m_catalog.readAt.isValid();
    m_apply->setEnabled(idle && canApply);
    m_apply->setToolTip(canApply ? tr("Send the statements above in one transaction")
            : !m_catalog.readAt.isValid() ? tr("Connect to a server first")
            : !m_plan.ok()                ? tr("The plan has errors (red rows): fix them first")
                                          : tr("Nothing to change"));
    m_undo->setEnabled(idle);
    m_endSessions->setEnabled(idle);
    const bool installed = m_catalog.prioritize == u"installed"_s;
    m_renice->setEnabled(idle && installed);
    m_renice->setToolTip(installed ? tr("Lower the CPU priority of the selected role's running backends")
                                   : tr("Needs the prioritize extension in this database"));
    m_installPrioritize->setEnabled(idle && m_catalog.prioritize == u"available"_s);
    m_installPrioritize->setVisible(m_catalog.prioritize != u"installed"_s);
}

void RolesPage::reload()
{
    struct Loaded {
        Catalog catalog;
        QList<htap::store::AuditEntry> entries;
        QStringList settled;
        QString error;
        QString auditError;
    };
    run<Loaded>(tr("Reading roles"),
        [auditPath = m_auditPath](htap::pg::Connection&, RoleService& service) {
            Loaded l;
            l.catalog = service.catalog(&l.error);
            if (!l.error.isEmpty())
                return l;
            // An entry a stopped program left "applying" is shown as what the server says it
            // became, not as a change still under way.
            QString settleError;
            l.settled = service.settleInterrupted(&settleError);
            l.entries = htap::store::AuditLog(auditPath).list(l.catalog.serverKey, 200, &l.auditError);
            if (l.auditError.isEmpty())
                l.auditError = settleError;
            return l;
        },
        [this](const Loaded& l) {
            if (!l.error.isEmpty()) {
                Q_EMIT message(false, tr("Reading roles: %1").arg(l.error));
                return;
            }
            if (!l.auditError.isEmpty())
                Q_EMIT message(false, l.auditError);
            for (const QString& note : l.settled)
                Q_EMIT message(true, note);
            m_catalog = l.catalog;
            m_entries = l.entries;
            showCatalog();
            revalidate();
            Q_EMIT reloaded();
        });
}

void RolesPage::showCatalog()
{
    const Catalog& c = m_catalog;
    if (!c.readAt.isValid()) {
        m_facts->setText(tr("Not connected: connect to a server to read its roles. The profile set can be edited offline."));
    } else {
        m_facts->setText(tr("<b>%1</b> — PostgreSQL %2 · max_connections %3 (%4 reserved for superusers) · you are <b>%5</b>%6")
                             .arg(c.server.toHtmlEscaped(), c.serverVersion, QString::number(c.maxConnections),
                                 QString::number(c.reservedConnections), c.currentUser.toHtmlEscaped(),
                                 c.superuser    ? tr(" (superuser)")
                                     : c.createRole ? tr(" (CREATEROLE)")
                                                    : tr(" — <span style='color:#b00'>you cannot change roles (needs CREATEROLE)</span>")));
    }
    const QString selected = m_roles->currentRow() >= 0 && m_roles->item(m_roles->currentRow(), 0)
        ? m_roles->item(m_roles->currentRow(), 0)->text()
        : QString();
    m_roles->setSortingEnabled(false);
    m_roles->setRowCount(int(c.roles.size()));
    for (int i = 0; i < c.roles.size(); ++i) {
        const RoleInfo& r = c.roles[i];
        QStringList own;
        for (const RoleSetting& s : r.settings)
            own << (s.database.isEmpty() ? QString() : s.database + u':') + s.name + u'=' + s.value;
        m_roles->setItem(i, 0, item(r.name, r.superuser ? tr("superuser") : QString()));
        m_roles->setItem(i, 1, item(r.canLogin ? tr("yes") : tr("no")));
        m_roles->setItem(i, 2, item(limitText(r.connectionLimit)));
        m_roles->setItem(i, 3, item(QString::number(r.sessions)));
        m_roles->setItem(i, 4, item(r.pgMonitor ? tr("yes") : QString()));
        m_roles->setItem(i, 5, item(r.pgSignalBackend ? tr("yes") : QString()));
        m_roles->setItem(i, 6, item(own.join(u", "_s), own.join(u'\n')));
    }
    m_roles->resizeColumnsToContents();
    m_roles->horizontalHeader()->setStretchLastSection(true);
    if (!selected.isEmpty())
        selectRole(selected);
    else if (c.role(u"olap_user"_s))
        selectRole(u"olap_user"_s);

    m_audit->setRowCount(int(m_entries.size()));
    for (int i = 0; i < m_entries.size(); ++i) {
        const htap::store::AuditEntry& e = m_entries[i];
        const Plan p = Plan::fromJson(e.plan);
        QStringList detail = p.statements();
        if (e.kind == u"wizard"_s)
            for (const QJsonValue& s : e.plan.value(u"statements"_s).toArray())
                detail << s.toString();
        m_audit->setItem(i, 0, item(QString::number(e.id)));
        m_audit->setItem(i, 1, item(e.at.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s)));
        m_audit->setItem(i, 2, item(e.kind));
        m_audit->setItem(i, 3, item(e.title, detail.join(u";\n"_s)));
        m_audit->setItem(i, 4, item(e.roles.join(u", "_s)));
        m_audit->setItem(i, 5, item(e.appliedBy));
        m_audit->setItem(i, 6, item(e.message.isEmpty() ? e.status : e.status + u": "_s + e.message));
    }
    m_audit->resizeColumnsToContents();
    m_audit->horizontalHeader()->setStretchLastSection(true);

    if (c.prioritize == u"installed"_s)
        m_priorityNote->setText(tr("The seed limits OLAP CPU with a cgroup (3.3). Inside PostgreSQL the prioritize extension "
                                   "does it per backend: select a role above and lower the priority of its running backends. "
                                   "Sessions opened later start at normal priority (a profile's cpu_nice is applied to the "
                                   "role's backends on every Apply), and a backend cannot be given its priority back."));
    else if (c.prioritize == u"available"_s)
        m_priorityNote->setText(tr("The prioritize extension is installed on the server but not created in this database: "
                                   "create it (superuser) to lower the CPU priority of OLAP backends."));
    else if (c.readAt.isValid())
        m_priorityNote->setText(tr("CPU priority needs the prioritize extension, which this server does not have: install "
                                   "the Debian package postgresql-15-prioritize on the server, then create the extension."));
    else
        m_priorityNote->setText(tr("Connect to see whether the server can lower the CPU priority of backends."));
    updateButtons();
}

void RolesPage::selectRole(const QString& name)
{
    for (int i = 0; i < m_roles->rowCount(); ++i)
        if (m_roles->item(i, 0) && m_roles->item(i, 0)->text() == name) {
            m_roles->selectRow(i);
            m_roles->setCurrentCell(i, 0);
            break;
        }
    showRoleSettings();
}

void RolesPage::showRoleSettings()
{
    const int row = m_roles->currentRow();
    const RoleInfo* r = row >= 0 && m_roles->item(row, 0) ? m_catalog.role(m_roles->item(row, 0)->text()) : nullptr;
    m_settings->setRowCount(0);
    if (!r)
        return;
    const QStringList names = m_catalog.parametersOf(*r, m_editedParameters);
    m_settings->setRowCount(int(names.size()));
    for (int i = 0; i < names.size(); ++i) {
        const EffectiveValue e = m_catalog.effective(*r, m_catalog.database, names[i]);
        const ParamDef* p = m_catalog.param(names[i]);
        auto* value = item(p ? p->display(e.value) : e.value, e.detail);
        if (e.source != u"server"_s) {
            QFont f = value->font();
            f.setBold(true);
            value->setFont(f);
        }
        m_settings->setItem(i, 0, item(names[i], p ? p->description : QString()));
        m_settings->setItem(i, 1, value);
        m_settings->setItem(i, 2, item(e.source == u"role"_s ? tr("role (all databases)")
                                          : e.source == u"role in database"_s ? tr("role in %1").arg(m_catalog.database)
                                          : e.source == u"database"_s ? tr("database %1").arg(m_catalog.database)
                                                                      : tr("server (%1)").arg(e.detail),
                                      e.detail));
        m_settings->setItem(i, 3, item(p ? p->display(p->serverValue) : QString(), p ? p->serverSource : QString()));
        m_settings->setItem(i, 4, item(p ? p->allowedText() : tr("not known to this server"), p ? p->context : QString()));
    }
    m_settings->resizeColumnsToContents();
    m_settings->horizontalHeader()->setStretchLastSection(true);
}

void RolesPage::refreshProfileChoice()
{
    m_profileChoice->clear();
    // A set of your own with a built-in's name is the one loaded by that name.
    const QStringList yours = QDir(userProfileDir()).entryList({u"*.json"_s}, QDir::Files, QDir::Name);
    for (const QString& n : builtinProfileNames())
        if (!yours.contains(n + u".json"_s))
            m_profileChoice->addItem(tr("%1 (built-in)").arg(n), n);
    for (const QString& f : yours)
        m_profileChoice->addItem(tr("%1 (yours)").arg(f.chopped(5)), f.chopped(5));
}

bool RolesPage::selectProfileSet(const QString& nameOrPath)
{
    ProfileSet set;
    QStringList errors;
    if (!loadProfileSet(nameOrPath, &set, &errors)) {
        Q_EMIT message(false, tr("Cannot open the profile set:\n%1").arg(errors.join(u'\n')));
        return false;
    }
    // A file is shown under its own name, so the choice never claims another set.
    const bool isFile = nameOrPath.contains(u'/') || nameOrPath.endsWith(u".json"_s);
    int index = m_profileChoice->findData(isFile ? nameOrPath : set.name);
    if (index < 0 && isFile) {
        m_profileChoice->addItem(tr("%1 (%2)").arg(set.name, QDir::toNativeSeparators(nameOrPath)), nameOrPath);
        index = m_profileChoice->count() - 1;
    }
    if (index >= 0)
        m_profileChoice->setCurrentIndex(index);
    m_setName = set.name;
    m_setDescription = set.description;
    m_profileChoice->setToolTip(set.description);
    fillEditor(set);
    revalidate();
    return true;
}

void RolesPage::fillEditor(const ProfileSet& set)
{
    m_filling = true;
    m_editor->setRowCount(0);
    auto add = [&](const RoleProfile& p, const QString& parameter, const QString& value) {
        const int row = m_editor->rowCount();
        m_editor->insertRow(row);
        m_editor->setItem(row, ColProfile, item(p.name, p.description));
        m_editor->setItem(row, ColRole, item(p.role));
        m_editor->setItem(row, ColDatabase, item(p.database, tr("Empty: every database (ALTER ROLE ... SET); a name: "
                                                                 "ALTER ROLE ... IN DATABASE name SET")));
        auto* param = item(parameter);
        if (parameter.startsWith(u'('))
            param->setFlags(param->flags() & ~Qt::ItemIsEditable);
        m_editor->setItem(row, ColParameter, param);
        m_editor->setItem(row, ColValue, item(value));
        auto* check = item(QString());
        check->setFlags(check->flags() & ~Qt::ItemIsEditable);
        m_editor->setItem(row, ColCheck, check);
    };
    for (const RoleProfile& p : set.profiles) {
        for (const auto& [name, value] : p.settings)
            add(p, name, value.value_or(QString()));
        if (p.connectionLimit)
            add(p, QLatin1String(kLimitRow), QString::number(*p.connectionLimit));
        if (p.cpuNice > 0)
            add(p, QLatin1String(kNiceRow), QString::number(p.cpuNice));
    }
    m_editor->resizeColumnsToContents();
    m_editor->horizontalHeader()->setStretchLastSection(true);
    m_filling = false;
}

ProfileSet RolesPage::editedSet() const
{
    ProfileSet set;
    set.name = m_setName;
    set.description = m_setDescription;
    auto text = [&](int row, int col) { return m_editor->item(row, col) ? m_editor->item(row, col)->text().trimmed() : QString(); };
    for (int row = 0; row < m_editor->rowCount(); ++row) {
        const QString profile = text(row, ColProfile), role = m_editor->item(row, ColRole) ? m_editor->item(row, ColRole)->text() : QString();
        const QString database = text(row, ColDatabase);
        const QString parameter = text(row, ColParameter).toLower(), value = text(row, ColValue);
        if (parameter.isEmpty())
            continue;
        auto it = std::find_if(set.profiles.begin(), set.profiles.end(),
            [&](const RoleProfile& p) { return p.name == profile && p.role == role && p.database == database; });
        if (it == set.profiles.end()) {
            RoleProfile p;
            p.name = profile;
            p.role = role;
            p.database = database;
            set.profiles << p;
            it = set.profiles.end() - 1;
        }
        bool isNumber = false;
        const int number = value.toInt(&isNumber);
        if (parameter == QLatin1String(kLimitRow)) // not a number: out of range, so the plan names it
            it->connectionLimit = isNumber ? number : std::numeric_limits<int>::min();
        else if (parameter == QLatin1String(kNiceRow))
            it->cpuNice = isNumber ? number : -1;
        else // an empty value resets the parameter to the server's value
            it->settings.append({parameter, value.isEmpty() ? std::nullopt : std::optional<QString>(value)});
    }
    return set;
}

void RolesPage::revalidate()
{
    const ProfileSet set = editedSet();
    m_editedParameters.clear();
    for (const RoleProfile& p : set.profiles)
        for (const auto& setting : p.settings)
            m_editedParameters << setting.first;
    if (!m_catalog.readAt.isValid()) {
        m_plan = Plan();
        m_planView->setPlainText(tr("-- Connect to a server: the profile set is checked against that server's own pg_settings."));
        updateButtons();
        return;
    }
    m_plan = planProfiles(m_catalog, set);
    // Issues point at $.profiles[i].settings.name (or .connection_limit, .cpu_nice, .role).
    m_filling = true;
    auto text = [&](int row, int col) { return m_editor->item(row, col) ? m_editor->item(row, col)->text().trimmed() : QString(); };
    for (int row = 0; row < m_editor->rowCount(); ++row) {
        const QString parameter = text(row, ColParameter).toLower();
        int index = -1;
        for (int i = 0; i < set.profiles.size(); ++i)
            if (set.profiles[i].name == text(row, ColProfile) && set.profiles[i].role == m_editor->item(row, ColRole)->text()
                && set.profiles[i].database == text(row, ColDatabase))
                index = i;
        const QString base = u"$.profiles[%1]"_s.arg(index);
        const QString path = base
            + (parameter == QLatin1String(kLimitRow)      ? u".connection_limit"_s
                    : parameter == QLatin1String(kNiceRow) ? u".cpu_nice"_s
                                                           : QString(u".settings."_s + parameter));
        QStringList errors, warnings;
        for (const PlanIssue& i : m_plan.issues)
            if (i.path == path || i.path == base + u".role"_s || i.path == base + u".database"_s)
                (i.error ? errors : warnings) << i.message;
        const ParamDef* def = m_catalog.param(parameter);
        QTableWidgetItem* check = m_editor->item(row, ColCheck);
        const QColor bg = colours::rowBackground(
            !errors.isEmpty() ? colours::Tone::Bad : !warnings.isEmpty() ? colours::Tone::Warn : colours::Tone::None, palette());
        for (int col = 0; col < EditorColumns; ++col)
            if (QTableWidgetItem* it = m_editor->item(row, col))
                it->setBackground(bg.isValid() ? QBrush(bg) : QBrush());
        check->setText(!errors.isEmpty() ? errors.join(u"; "_s)
                : !warnings.isEmpty()    ? warnings.join(u"; "_s)
                : def                    ? tr("ok · %1").arg(def->allowedText())
                                         : tr("ok"));
        check->setToolTip((errors + warnings).join(u'\n'));
    }
    m_filling = false;
    m_planView->setPlainText(planText());
    updateButtons();
    showRoleSettings();
}

QString RolesPage::planText() const
{
    QStringList lines;
    const QStringList statements = m_plan.statements();
    for (const QString& e : m_plan.errors())
        lines << u"-- ERROR: "_s + e;
    for (const QString& w : m_plan.warnings())
        lines << u"-- warning: "_s + w;
    if (!m_plan.ok())
        lines << tr("-- The plan has errors: it cannot be applied, and nothing is sent.");
    if (statements.isEmpty()) {
        lines << tr("-- Nothing to change: every setting is already as the profile set asks.");
        return lines.join(u'\n');
    }
    for (const RoleChange& c : m_plan.changes) {
        for (const SettingChange& s : c.settings)
            lines << u"-- %1 %2: %3 -> %4"_s.arg(c.role, s.name, shown(s.before), shown(s.after));
        if (c.limitAfter)
            lines << u"-- %1 connection limit: %2 -> %3"_s.arg(c.role, limitText(c.limitBefore.value_or(-1)), limitText(*c.limitAfter));
    }
    lines << u"BEGIN;"_s;
    for (const QString& s : statements)
        lines << s + u';';
    lines << u"COMMIT;"_s;
    return lines.join(u'\n');
}

void RolesPage::applyPlan(bool confirm)
{
    const Plan shownPlan = m_plan;
    if (!shownPlan.ok() || shownPlan.isEmpty())
        return;
    if (confirm) {
        QMessageBox box(QMessageBox::Question, tr("Apply role settings?"),
            tr("Send these %n statement(s) to %1 in one transaction?", nullptr, int(shownPlan.statements().size()))
                .arg(m_catalog.server),
            QMessageBox::Cancel, this);
        box.setInformativeText(tr("They are read back before COMMIT and kept in the audit log, where they can be undone. "
                                  "Settings reach new sessions only."));
        box.setDetailedText(shownPlan.statements().join(u";\n"_s) + u';');
        QPushButton* go = box.addButton(tr("Apply"), QMessageBox::AcceptRole);
        box.exec();
        if (box.clickedButton() != go)
            return;
    }
    const ProfileSet set = editedSet();
    run<ApplyOutcome>(tr("Applying"),
        [set, shownPlan](htap::pg::Connection&, RoleService& service) {
            // Plan again against the server as it is now: apply only what the operator saw.
            QString error;
            const Plan fresh = service.plan(set, &error);
            ApplyOutcome o;
            if (!error.isEmpty()) {
                o.message = error;
                return o;
            }
            if (fresh.statements() != shownPlan.statements()) {
                o.message = RolesPage::tr("The server changed since the plan was shown; nothing was sent. Review the new plan.");
                return o;
            }
            return service.apply(fresh);
        },
        [this](const ApplyOutcome& o) {
            Q_EMIT message(o.ok, o.auditWarning.isEmpty() ? o.message : o.message + u'\n' + o.auditWarning);
            for (const QString& n : o.notes)
                Q_EMIT message(true, n);
            m_sessions->setRowCount(int(o.oldSessions.size()));
            for (int i = 0; i < o.oldSessions.size(); ++i) {
                const auto& [role, s] = o.oldSessions[i];
                m_sessions->setItem(i, 0, item(QString::number(s.pid)));
                m_sessions->setItem(i, 1, item(role));
                m_sessions->setItem(i, 2, item(s.database));
                m_sessions->setItem(i, 3, item(s.applicationName));
                m_sessions->setItem(i, 4, item(s.clientAddress));
                m_sessions->setItem(i, 5, item(s.state, s.query));
                m_sessions->setItem(i, 6, item(s.backendStart.toLocalTime().toString(u"yyyy-MM-dd HH:mm:ss"_s)));
            }
            m_sessions->resizeColumnsToContents();
            if (o.ok && !o.oldSessions.isEmpty())
                m_tabs->setCurrentIndex(1);
            Q_EMIT applied(o);
            reload();
        });
}

void RolesPage::applyWithoutConfirmation()
{
    applyPlan(false);
}

void RolesPage::undoSelected()
{
    const int row = m_audit->currentRow();
    if (row < 0 || row >= m_entries.size()) {
        Q_EMIT message(false, tr("Select an entry of the audit log to undo."));
        return;
    }
    const qint64 id = m_entries[row].id;
    run<Plan>(tr("Planning the undo of #%1").arg(id),
        [id](htap::pg::Connection&, RoleService& service) {
            QString error;
            Plan p = service.planUndo(id, &error);
            if (!error.isEmpty())
                p.issues << PlanIssue {true, {}, error};
            return p;
        },
        [this, id](const Plan& plan) {
            if (!plan.ok()) {
                Q_EMIT message(false, tr("Cannot undo #%1:\n%2").arg(QString::number(id), plan.errors().join(u'\n')));
                return;
            }
            if (plan.isEmpty()) {
                Q_EMIT message(true, tr("#%1: the roles already have their before values; nothing to undo.").arg(id));
                return;
            }
            QMessageBox box(QMessageBox::Question, tr("Undo #%1?").arg(id),
                tr("Put back what #%1 changed, with %n statement(s)?", nullptr, int(plan.statements().size())).arg(id),
                QMessageBox::Cancel, this);
            box.setInformativeText(plan.warnings().isEmpty() ? tr("The roles are as #%1 left them.").arg(id)
                                                             : plan.warnings().join(u'\n'));
            box.setDetailedText(plan.statements().join(u";\n"_s) + u';');
            QPushButton* go = box.addButton(tr("Undo"), QMessageBox::AcceptRole);
            box.exec();
            if (box.clickedButton() != go)
                return;
            run<ApplyOutcome>(tr("Undoing #%1").arg(id),
                [plan](htap::pg::Connection&, RoleService& service) { return service.apply(plan); },
                [this](const ApplyOutcome& o) {
                    Q_EMIT message(o.ok, o.message);
                    Q_EMIT applied(o);
                    reload();
                });
        });
}

void RolesPage::endSelectedSessions()
{
    QList<int> pids;
    for (const QModelIndex& i : m_sessions->selectionModel()->selectedRows())
        pids << m_sessions->item(i.row(), 0)->text().toInt();
    if (pids.isEmpty()) {
        Q_EMIT message(false, tr("Select the sessions to end."));
        return;
    }
    if (QMessageBox::question(this, tr("End sessions?"),
            tr("End %n session(s) with pg_terminate_backend? Their open transactions roll back; their clients must "
               "reconnect, and then get the new settings.",
                nullptr, int(pids.size())))
        != QMessageBox::Yes)
        return;
    run<int>(tr("Ending sessions"),
        [pids](htap::pg::Connection&, RoleService& service) {
            QString error;
            const int ended = service.terminate(pids, &error);
            return error.isEmpty() ? ended : -1;
        },
        [this](const int& ended) {
            Q_EMIT message(ended >= 0, ended >= 0 ? tr("%n session(s) ended.", nullptr, ended)
                                                  : tr("Not allowed to end these sessions: that needs pg_signal_backend."));
            for (int row = m_sessions->rowCount() - 1; row >= 0; --row)
                if (m_sessions->item(row, 0)->isSelected())
                    m_sessions->removeRow(row);
        });
}

void RolesPage::lowerPriority()
{
    const int row = m_roles->currentRow();
    if (row < 0) {
        Q_EMIT message(false, tr("Select the role whose backends should get less CPU (the OLAP role)."));
        return;
    }
    const QString role = m_roles->item(row, 0)->text();
    const int nice = m_nice->value();
    if (QMessageBox::question(this, tr("Lower CPU priority?"),
            tr("Set every running backend of %1 to nice %2? The operating system then gives them CPU after others. "
               "It cannot be raised back for a running backend; new sessions start at normal priority.")
                .arg(role, QString::number(nice)))
        != QMessageBox::Yes)
        return;
    run<QString>(tr("Lowering CPU priority"),
        [role, nice](htap::pg::Connection&, RoleService& service) {
            QString error;
            int changed = 0;
            const QString note = service.renice(role, nice, &changed, &error);
            return error.isEmpty() ? note : error;
        },
        [this](const QString& note) { Q_EMIT message(true, note); });
}

void RolesPage::installPrioritize()
{
    run<QString>(tr("Creating the prioritize extension"),
        [](htap::pg::Connection&, RoleService& service) {
            QString error;
            return service.installPrioritize(&error) ? QString() : error;
        },
        [this](const QString& error) {
            Q_EMIT message(error.isEmpty(), error.isEmpty() ? tr("prioritize is created in %1.").arg(m_catalog.database) : error);
            reload();
        });
}

void RolesPage::saveSet()
{
    bool ok = false;
    const QString name = QInputDialog::getText(this, tr("Save profile set"),
        tr("Name (letters, digits, '.', '_', '-'); it is saved in %1").arg(userProfileDir()), QLineEdit::Normal,
        m_setName == u"seed-isolation"_s ? u"my-isolation"_s : m_setName, &ok);
    if (!ok)
        return;
    ProfileSet set = editedSet();
    set.name = name;
    QStringList errors;
    ProfileSet checked;
    if (!ProfileSet::fromJson(QJsonDocument(set.toJson()).toJson(), &checked, &errors)) {
        Q_EMIT message(false, tr("Not saved:\n%1").arg(errors.join(u'\n')));
        return;
    }
    QString error;
    if (!saveUserProfileSet(checked, &error)) {
        Q_EMIT message(false, error);
        return;
    }
    m_setName = name;
    refreshProfileChoice();
    m_profileChoice->setCurrentIndex(m_profileChoice->findData(name));
    Q_EMIT message(true, tr("Saved the profile set %1 in %2").arg(name, userProfileDir()));
}

void RolesPage::openWizard()
{
    QDialog dialog(this);
    dialog.setWindowTitle(tr("Role wizard"));
    auto* form = new QFormLayout;
    WizardSpec spec;
    auto* schema = new QLineEdit(spec.schema, &dialog);
    auto* oltp = new QLineEdit(spec.oltpRole, &dialog);
    auto* olap = new QLineEdit(spec.olapRole, &dialog);
    auto* monitor = new QLineEdit(spec.monitorRole, &dialog);
    QList<QLineEdit*> passwords;
    form->addRow(tr("Shop schema"), schema);
    for (auto [label, edit] : {std::pair {tr("OLTP writer"), oltp}, {tr("OLAP reader"), olap}, {tr("Monitor (pg_monitor)"), monitor}}) {
        auto* pw = new QLineEdit(&dialog);
        pw->setEchoMode(QLineEdit::Password);
        pw->setPlaceholderText(tr("password (empty: none)"));
        passwords << pw;
        auto* row = new QHBoxLayout;
        row->addWidget(edit, 1);
        row->addWidget(pw, 1);
        form->addRow(label, row);
    }
    auto* note = new QLabel(tr("The writer may insert and update orders, order items and inventory and read the dimensions; "
                               "the reader may only read; the monitor gets pg_monitor. Passwords are hashed here "
                               "(SCRAM) before they are sent, and are never stored or logged."),
        &dialog);
    note->setWordWrap(true);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, &dialog);
    buttons->addButton(tr("Show SQL and create…"), QDialogButtonBox::AcceptRole);
    connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    auto* layout = new QVBoxLayout(&dialog);
    layout->addLayout(form);
    layout->addWidget(note);
    layout->addWidget(buttons);
    if (dialog.exec() != QDialog::Accepted)
        return;
    spec.schema = schema->text().trimmed();
    spec.oltpRole = oltp->text();
    spec.olapRole = olap->text();
    spec.monitorRole = monitor->text();
    const QStringList names {spec.oltpRole, spec.olapRole, spec.monitorRole};
    for (int i = 0; i < 3; ++i)
        if (!passwords[i]->text().isEmpty())
            spec.passwords.insert(names[i], passwords[i]->text());
    for (QLineEdit* pw : passwords)
        pw->clear();
    run<WizardPlan>(tr("Planning the roles"),
        [spec](htap::pg::Connection&, RoleService& service) {
            QString error;
            WizardPlan p = service.planWizard(spec, &error);
            if (!error.isEmpty())
                p.issues << PlanIssue {true, {}, error};
            return p;
        },
        [this, spec](const WizardPlan& plan) {
            QStringList errors, notes;
            for (const PlanIssue& i : plan.issues)
                (i.error ? errors : notes) << i.message;
            if (!plan.ok()) {
                Q_EMIT message(false, tr("The roles cannot be created:\n%1").arg(errors.join(u'\n')));
                return;
            }
            QMessageBox box(QMessageBox::Question, tr("Create the roles?"),
                tr("Create or update %1, %2 and %3 on %4 in one transaction?")
                    .arg(spec.oltpRole, spec.olapRole, spec.monitorRole, m_catalog.server),
                QMessageBox::Cancel, this);
            box.setInformativeText(notes.join(u'\n'));
            box.setDetailedText(plan.statements.join(u";\n"_s) + u';');
            QPushButton* go = box.addButton(tr("Create"), QMessageBox::AcceptRole);
            box.exec();
            if (box.clickedButton() != go)
                return;
            run<ApplyOutcome>(tr("Creating the roles"),
                [spec](htap::pg::Connection&, RoleService& service) { return service.applyWizard(spec); },
                [this](const ApplyOutcome& o) {
                    Q_EMIT message(o.ok, o.message);
                    reload();
                });
        });
}

} // namespace htap::ui
