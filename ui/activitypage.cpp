#include "activitypage.h"

#include "chartwidget.h"

#include <QLabel>
#include <QVBoxLayout>

namespace htap::ui {

namespace Series {
enum Tps { Commits, Rollbacks };
enum Sessions { Active, IdleInTx, Idle, Waiting };
} // namespace Series

ActivityPage::ActivityPage(QWidget* parent)
    : MonitorPage(parent)
    , m_tps(new ChartWidget(tr("Transactions per second, last 5 s (all databases, the monitor's own left out)"), tr("tx/s"), this))
    , m_sessions(new ChartWidget(tr("Client sessions by state"), tr("sessions"), this))
    , m_figures(new QWidget(this))
{
    auto* figures = new QHBoxLayout(m_figures);
    figures->setContentsMargins(0, 0, 0, 0);
    m_commits = addFigure(tr("commits/s, last 5 s"));
    m_rollbacks = addFigure(tr("rollbacks/s, last 5 s"));
    m_active = addFigure(tr("active sessions"));
    m_idleInTx = addFigure(tr("idle in transaction"));
    m_waiting = addFigure(tr("waiting on a lock"));
    figures->addStretch(1);
    m_tps->addSeries(tr("commits/s"), QColor(0x1f, 0x77, 0xb4));
    m_tps->addSeries(tr("rollbacks/s"), QColor(0xd6, 0x27, 0x28));
    m_sessions->addSeries(tr("active"), QColor(0x2c, 0xa0, 0x2c));
    m_sessions->addSeries(tr("idle in transaction"), QColor(0xff, 0x7f, 0x0e));
    m_sessions->addSeries(tr("idle"), QColor(0x7f, 0x7f, 0x7f));
    m_sessions->addSeries(tr("waiting on a lock"), QColor(0xd6, 0x27, 0x28));

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_figures);
    layout->addWidget(m_tps, 1);
    layout->addWidget(m_sessions, 1);
}

QLabel* ActivityPage::addFigure(const QString& caption)
{
    auto* box = new QWidget(m_figures);
    auto* v = new QVBoxLayout(box);
    v->setContentsMargins(12, 4, 24, 4);
    auto* value = new QLabel(QStringLiteral("–"), box);
    QFont big = value->font();
    big.setPointSizeF(big.pointSizeF() * 1.8);
    big.setBold(true);
    value->setFont(big);
    auto* label = new QLabel(caption, box);
    label->setForegroundRole(QPalette::PlaceholderText);
    v->addWidget(value);
    v->addWidget(label);
    static_cast<QHBoxLayout*>(m_figures->layout())->addWidget(box);
    return value;
}

void ActivityPage::addPastSample(const htap::monitor::ServerSample& sample)
{
    const htap::monitor::ActivitySample& s = sample.activity;
    if (s.hasRates && s.windowSeconds >= 2) {
        // Over a few seconds: backends flush their counts once a second at most, so one second's
        // count swings between nothing and twice the load.
        m_tps->addPoint(Series::Commits, s.sampledAt, s.commitsPerSecondWindow);
        m_tps->addPoint(Series::Rollbacks, s.sampledAt, s.rollbacksPerSecondWindow);
    } else {
        m_tps->addGap(s.sampledAt); // a baseline or a counter reset: no rate to draw
    }
    m_sessions->addPoint(Series::Active, s.sampledAt, s.active);
    m_sessions->addPoint(Series::IdleInTx, s.sampledAt, s.idleInTransaction + s.idleInTransactionAborted);
    m_sessions->addPoint(Series::Idle, s.sampledAt, s.idle);
    m_sessions->addPoint(Series::Waiting, s.sampledAt, s.waitingOnLock);
}

void ActivityPage::addSample(const htap::monitor::ServerSample& sample)
{
    addPastSample(sample);
    const htap::monitor::ActivitySample& s = sample.activity;
    if (s.hasRates && s.windowSeconds >= 2) {
        m_commits->setText(QString::number(s.commitsPerSecondWindow, 'f', 1));
        m_rollbacks->setText(QString::number(s.rollbacksPerSecondWindow, 'f', 1));
    }
    m_active->setText(QString::number(s.active));
    m_idleInTx->setText(QString::number(s.idleInTransaction + s.idleInTransactionAborted));
    m_waiting->setText(QString::number(s.waitingOnLock));
}

void ActivityPage::addGap(const QDateTime& at)
{
    m_tps->addGap(at);
    m_sessions->addGap(at);
    for (QLabel* l : {m_commits, m_rollbacks, m_active, m_idleInTx, m_waiting})
        l->setText(QStringLiteral("–"));
}

void ActivityPage::clear()
{
    m_tps->clear();
    m_sessions->clear();
    for (QLabel* l : {m_commits, m_rollbacks, m_active, m_idleInTx, m_waiting})
        l->setText(QStringLiteral("–"));
}

} // namespace htap::ui
