#include "routerpage.h"

#include "colours.h"
#include "viewutil.h"

#include <monitor/activitycollector.h>
#include <pg/connection.h>
#include <route/topologyreader.h>

#include <QFontDatabase>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QtConcurrent>

namespace htap::ui {

using namespace Qt::StringLiterals;
using htap::route::Decision;

namespace {

struct Routed {
    QString error;
    htap::route::Decision decision;
    htap::route::Topology topology;
};

QTableWidget* makeTable(const QStringList& headers, QWidget* parent)
{
    auto* t = new QTableWidget(0, int(headers.size()), parent);
    t->setHorizontalHeaderLabels(headers);
    t->verticalHeader()->hide();
    t->setEditTriggers(QAbstractItemView::NoEditTriggers);
    t->setSelectionBehavior(QAbstractItemView::SelectRows);
    t->setWordWrap(true);
    t->horizontalHeader()->setStretchLastSection(true);
    t->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    t->setSizeAdjustPolicy(QAbstractScrollArea::AdjustToContents);
    return t;
}

void setRow(QTableWidget* t, int row, const QStringList& cells, colours::Tone tone = colours::Tone::None)
{
    for (int c = 0; c < cells.size(); ++c) {
        auto* item = new QTableWidgetItem(cells[c]);
        item->setToolTip(cells[c]);
        if (tone != colours::Tone::None)
            item->setBackground(colours::rowBackground(tone, t->palette()));
        t->setItem(row, c, item);
    }
}

} // namespace

RouterPage::RouterPage(QWidget* parent)
    : QWidget(parent)
    , m_reader(std::make_shared<htap::route::TopologyReader>())
    , m_sql(new QPlainTextEdit(this))
    , m_budget(new QLineEdit(this))
    , m_route(new QPushButton(tr("Route"), this))
    , m_status(new QLabel(this))
    , m_decision(new QLabel(this))
    , m_reason(new QLabel(this))
    , m_keyword(new QLabel(this))
    , m_rewrittenLabel(new QLabel(tr("Rewritten to read the view:"), this))
    , m_rewritten(new QPlainTextEdit(this))
    , m_topologyLabel(new QLabel(this))
    , m_standbys(makeTable({tr("Standby"), tr("State"), tr("Replay lag"), tr("WAL to replay")}, this))
    , m_views(makeTable({tr("View"), tr("Data age"), tr("Answers this statement?")}, this))
{
    setObjectName(u"routerPage"_s);
    auto* layout = new QVBoxLayout(this);
    auto* intro = new QLabel(tr("Where the router sends a statement, decided from its parse tree: writes, locking reads, "
                                "volatile functions and DDL to the primary; a read that a registered view answers exactly to "
                                "the view, rewritten, when its data is within the freshness budget; other reads to the standby "
                                "with the least replay lag within the budget, else to the primary. Nothing is run. A comment "
                                "/* htap:fresh=2s */ in the statement sets its own budget."),
        this);
    intro->setWordWrap(true);
    layout->addWidget(intro);

    const QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    m_sql->setObjectName(u"routerSql"_s);
    m_sql->setFont(mono);
    m_sql->setPlaceholderText(tr("A statement, or a transaction's statements"));
    m_sql->setPlainText(u"SELECT date_trunc('hour', created_at) AS hour, count(*) AS orders, sum(total_amount) AS sales\n"
                        u"FROM orders WHERE status = 'completed'\nGROUP BY 1 ORDER BY 1 DESC"_s);
    m_sql->setMinimumHeight(90);
    m_sql->setMaximumHeight(140);
    layout->addWidget(m_sql);

    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel(tr("Freshness budget:"), this));
    m_budget->setObjectName(u"routerBudget"_s);
    m_budget->setPlaceholderText(tr("5s (default)"));
    m_budget->setToolTip(tr("How old the data it reads may be: 2s, 500ms, 1m, 0 (the workload's freshness_s). A hint in the "
                            "statement overrides it."));
    m_budget->setMaximumWidth(140);
    row->addWidget(m_budget);
    m_route->setObjectName(u"routeButton"_s);
    m_route->setDefault(true);
    row->addWidget(m_route);
    m_status->setObjectName(u"routerStatus"_s);
    m_status->setWordWrap(true);
    row->addWidget(m_status, 1);
    layout->addLayout(row);

    m_decision->setObjectName(u"routerDecision"_s);
    QFont big = m_decision->font();
    big.setPointSizeF(big.pointSizeF() * 1.3);
    big.setBold(true);
    m_decision->setFont(big);
    m_decision->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_decision->setWordWrap(true);
    layout->addWidget(m_decision);
    m_reason->setObjectName(u"routerReason"_s);
    m_reason->setWordWrap(true);
    m_reason->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_reason);
    m_keyword->setObjectName(u"routerKeyword"_s);
    m_keyword->setWordWrap(true);
    layout->addWidget(m_keyword);
    layout->addWidget(m_rewrittenLabel);
    m_rewritten->setObjectName(u"routerRewritten"_s);
    m_rewritten->setReadOnly(true);
    m_rewritten->setFont(mono);
    m_rewritten->setMaximumHeight(60);
    m_rewritten->setLineWrapMode(QPlainTextEdit::WidgetWidth);
    layout->addWidget(m_rewritten);
    m_rewrittenLabel->hide();
    m_rewritten->hide();

    m_topologyLabel->setWordWrap(true);
    layout->addWidget(m_topologyLabel);
    m_standbys->setObjectName(u"routerStandbys"_s);
    m_views->setObjectName(u"routerViews"_s);
    m_standbys->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_standbys->horizontalHeader()->setStretchLastSection(true);
    m_views->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    m_views->horizontalHeader()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    layout->addWidget(m_standbys);
    layout->addWidget(m_views, 1);
    m_standbys->hide();

    connect(m_route, &QPushButton::clicked, this, &RouterPage::routeStatement);
    connect(m_budget, &QLineEdit::returnPressed, this, &RouterPage::routeStatement);
    m_topologyLabel->setText(tr("Connect to a server, then Route: the topology it decides against shows here."));
}

RouterPage::~RouterPage() = default;

void RouterPage::setCollector(htap::monitor::ActivityCollector* collector)
{
    m_collector = collector;
    ++m_generation;
    m_busy = false;
    m_route->setEnabled(true);
    // What was decided against another server's topology must not stay as if it were this one's.
    m_decision->clear();
    m_reason->clear();
    m_keyword->clear();
    m_status->clear();
    m_rewritten->clear();
    m_rewrittenLabel->hide();
    m_rewritten->hide();
    m_standbys->setRowCount(0);
    m_standbys->hide();
    m_views->setRowCount(0);
}

void RouterPage::setStatement(const QString& sql)
{
    m_sql->setPlainText(sql);
}

void RouterPage::setBudget(const QString& text)
{
    m_budget->setText(text);
}

QString RouterPage::decisionText() const
{
    return m_decision->text();
}

QString RouterPage::reasonText() const
{
    return m_reason->text();
}

QString RouterPage::rewrittenText() const
{
    return m_rewritten->toPlainText();
}

void RouterPage::showError(const QString& text)
{
    m_status->setText(text);
    QPalette p = m_status->palette();
    p.setColor(QPalette::WindowText, colours::toneText(colours::Tone::Bad, p));
    m_status->setPalette(p);
    Q_EMIT routed();
}

void RouterPage::routeStatement()
{
    m_status->setPalette(palette());
    const QString sql = m_sql->toPlainText();
    if (sql.trimmed().isEmpty()) {
        showError(tr("Type a statement first."));
        return;
    }
    htap::route::Budget budget;
    if (!m_budget->text().trimmed().isEmpty()) {
        QString why;
        if (!htap::route::parseDuration(m_budget->text(), &budget.seconds, &why)) {
            showError(tr("Freshness budget: %1").arg(why));
            return;
        }
        budget.source = u"workload"_s;
    }
    if (!m_collector || m_collector->state() != htap::monitor::ConnectionState::Connected) {
        showError(tr("Connect to a server first: the decision depends on its standbys and views."));
        return;
    }
    const htap::pg::ConnInfo info = m_collector->connInfoWithPassword();
    m_busy = true;
    m_route->setEnabled(false);
    m_status->setText(tr("Reading the topology of %1 …").arg(m_collector->server().endpoint));
    const quint64 generation = m_generation;
    auto* watcher = new QFutureWatcher<Routed>(this);
    connect(watcher, &QFutureWatcher<Routed>::finished, this, [this, watcher, generation] {
        const Routed r = watcher->result();
        watcher->deleteLater();
        if (generation != m_generation)
            return; // another server is shown now
        m_busy = false;
        m_route->setEnabled(true);
        if (!r.error.isEmpty()) {
            showError(tr("Cannot read the topology: %1").arg(r.error));
            return;
        }
        showDecision(r.decision, r.topology);
    });
    watcher->setFuture(QtConcurrent::run([info, sql, budget, reader = m_reader] {
        Routed r;
        htap::pg::Connection conn;
        if (htap::pg::PgError e = conn.open(info, {10000, u"htap-studio router"_s})) {
            r.error = e.oneLine();
            return r;
        }
        if (!reader->fetch(conn, htap::route::calledFunctions(sql), &r.topology, &r.error))
            return r;
        r.decision = htap::route::route(sql, budget, r.topology);
        return r;
    }));
}

void RouterPage::showDecision(const Decision& d, const htap::route::Topology& t)
{
    switch (d.target) {
    case Decision::Target::Primary:
        m_decision->setText(tr("→ the primary, %1").arg(d.server));
        break;
    case Decision::Target::Standby:
        m_decision->setText(tr("→ standby %1").arg(d.server));
        break;
    case Decision::Target::View:
        m_decision->setText(tr("→ view %1 (read on the primary)").arg(d.view));
        break;
    }
    m_reason->setText(tr("%1 statement, budget %2 (%3): %4").arg(d.kind, formatSeconds(d.budget.seconds), d.budget.source, d.reason));
    const QString keyword = htap::route::seedKeywordRoute(m_sql->toPlainText());
    const bool keywordReplica = keyword == u"olap"_s;
    const bool agrees = keywordReplica == (d.target != Decision::Target::Primary);
    m_keyword->setText(tr("The seed's keyword router (9.2) would send it to %1%2.")
                           .arg(keywordReplica ? tr("the replica") : tr("the primary"),
                               agrees ? QString() : tr(", which %1").arg(keywordReplica ? tr("is wrong for this statement") : tr("misses the offload"))));
    m_rewritten->setPlainText(d.rewrittenSql);
    m_rewrittenLabel->setVisible(!d.rewrittenSql.isEmpty());
    m_rewritten->setVisible(!d.rewrittenSql.isEmpty());
    m_status->setText(d.hintError.isEmpty() ? tr("Decided against the topology read at %1.").arg(QLocale().toString(t.fetchedAt.toLocalTime().time(), u"HH:mm:ss"_s))
                                            : tr("The statement's hint is wrong: %1").arg(d.hintError));
    if (!d.hintError.isEmpty()) {
        QPalette p = m_status->palette();
        p.setColor(QPalette::WindowText, colours::toneText(colours::Tone::Bad, p));
        m_status->setPalette(p);
    }

    m_topologyLabel->setText(tr("Topology of %1%2: %3, %4 registered view(s)%5")
                                 .arg(t.primary, t.connectedIsStandby ? tr(" (itself a standby)") : QString())
                                 .arg(t.standbys.isEmpty() ? tr("no standby (pg_stat_replication lists none; Sandbox > Add "
                                                                "standby makes one)")
                                                           : tr("%1 standby(s)").arg(t.standbys.size()))
                                 .arg(t.views.size())
                                 .arg(t.notes.isEmpty() ? QString() : u"; "_s + t.notes.join(u"; "_s)));
    m_standbys->setVisible(!t.standbys.isEmpty());
    m_standbys->setRowCount(int(t.standbys.size()));
    for (int i = 0; i < t.standbys.size(); ++i) {
        const htap::route::Standby& s = t.standbys[i];
        const bool chosen = d.target == Decision::Target::Standby && d.server == s.name;
        setRow(m_standbys, i,
            {s.name, s.state,
                s.replayLagSeconds >= 0 ? formatSeconds(s.replayLagSeconds)
                    : s.effectiveLag() == 0 ? tr("none given (caught up)")
                                            : tr("none given"),
                s.replayGapBytes >= 0 ? formatBytes(s.replayGapBytes) : tr("unknown")},
            chosen ? colours::Tone::Good : colours::Tone::None);
    }
    m_views->setRowCount(int(t.views.size()));
    for (int i = 0; i < t.views.size(); ++i) {
        const htap::route::RegisteredView& v = t.views[i];
        QString answer = tr("not considered (the statement is not a plain read)");
        for (const QString& c : d.viewsConsidered) {
            if (c.startsWith(v.label() + u": "_s))
                answer = tr("no: %1").arg(c.mid(v.label().size() + 2));
            else if (c.startsWith(v.label() + u" answers it"_s)) {
                const QString rest = c.mid(v.label().size() + 11);
                answer = tr("yes%1").arg(rest.startsWith(u" but"_s) ? u',' + rest : rest);
            }
            else if (c.startsWith(u"the query: "_s))
                answer = tr("no: the statement has %1").arg(c.mid(11));
        }
        const bool chosen = d.target == Decision::Target::View && d.view == v.label();
        setRow(m_views, i,
            {v.label() + (v.incremental ? tr(" (incremental)") : QString()),
                v.stalenessSeconds >= 0 ? formatSeconds(v.stalenessSeconds) : tr("unknown"), answer},
            chosen ? colours::Tone::Good : colours::Tone::None);
    }
    m_views->resizeRowsToContents();
    m_standbys->resizeRowsToContents();
    // As tall as its rows: the views below get the room.
    int height = m_standbys->horizontalHeader()->height() + 2 * m_standbys->frameWidth() + 2;
    for (int i = 0; i < m_standbys->rowCount(); ++i)
        height += m_standbys->rowHeight(i);
    m_standbys->setFixedHeight(height);
    Q_EMIT routed();
}

} // namespace htap::ui
