#include "targetsdialog.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>

namespace htap::ui {

namespace {

QDoubleSpinBox* spin(double value, double min, double max, int decimals, const QString& suffix, QWidget* parent)
{
    auto* s = new QDoubleSpinBox(parent);
    s->setRange(min, max);
    s->setDecimals(decimals);
    s->setValue(value);
    s->setSuffix(suffix);
    return s;
}

} // namespace

TargetsDialog::TargetsDialog(const htap::monitor::Targets& t, const QStringList& views, bool notify, QWidget* parent)
    : QDialog(parent)
    , m_oltp(spin(t.oltpSeconds * 1000, 1, 3'600'000, 0, tr(" ms"), this))
    , m_olap(spin(t.olapSeconds * 1000, 1, 3'600'000, 0, tr(" ms"), this))
    , m_freshness(spin(t.freshnessSeconds, 0.1, 86400, 1, tr(" s"), this))
    , m_blocking(spin(t.blockingSeconds, 0.1, 3600, 1, tr(" s"), this))
    , m_views(new QTableWidget(this))
    , m_notify(new QCheckBox(tr("Desktop notification when an incident starts"), this))
{
    setWindowTitle(tr("Targets"));
    auto* form = new QFormLayout(this);
    auto* intro = new QLabel(tr("A class misses its target when its oldest running statement, its oldest open "
                                "transaction or its longest lock wait is older than this (the seed's targets by "
                                "default: orders 50 ms, reports 1 s, freshness 5 s)."),
        this);
    intro->setWordWrap(true);
    form->addRow(intro);
    form->addRow(tr("Order entry (OLTP):"), m_oltp);
    form->addRow(tr("Reports (OLAP):"), m_olap);
    form->addRow(tr("Incremental views, unless set below:"), m_freshness);
    form->addRow(tr("A lock wait this long is a blocking episode:"), m_blocking);
    auto* viewsNote = new QLabel(tr("Freshness per view, in seconds. Empty: from its schedule (every interval, plus "
                                    "a tenth), or the default above for an incremental view, or none. 0: no target."),
        this);
    viewsNote->setWordWrap(true);
    form->addRow(viewsNote);
    QStringList names = views;
    for (auto it = t.views.cbegin(); it != t.views.cend(); ++it)
        if (!names.contains(it.key()))
            names << it.key();
    names.sort();
    m_views->setColumnCount(2);
    m_views->setHorizontalHeaderLabels({tr("view"), tr("freshness target (s)")});
    m_views->setRowCount(int(names.size()));
    for (int r = 0; r < names.size(); ++r) {
        auto* name = new QTableWidgetItem(names[r]);
        name->setFlags(name->flags() & ~Qt::ItemIsEditable);
        m_views->setItem(r, 0, name);
        auto* value = new QTableWidgetItem(t.views.contains(names[r]) ? QString::number(t.views.value(names[r])) : QString());
        m_views->setItem(r, 1, value);
    }
    m_views->horizontalHeader()->setStretchLastSection(true);
    m_views->resizeColumnToContents(0);
    form->addRow(m_views);
    m_notify->setChecked(notify);
    form->addRow(m_notify);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
}

htap::monitor::Targets TargetsDialog::targets() const
{
    htap::monitor::Targets t;
    t.oltpSeconds = m_oltp->value() / 1000;
    t.olapSeconds = m_olap->value() / 1000;
    t.freshnessSeconds = m_freshness->value();
    t.blockingSeconds = m_blocking->value();
    for (int r = 0; r < m_views->rowCount(); ++r) {
        bool ok = false;
        const double v = m_views->item(r, 1)->text().trimmed().toDouble(&ok);
        if (ok && v >= 0 && v < 1e9)
            t.views.insert(m_views->item(r, 0)->text(), v);
    }
    return t;
}

bool TargetsDialog::notify() const
{
    return m_notify->isChecked();
}

} // namespace htap::ui
