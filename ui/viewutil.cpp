#include "viewutil.h"

#include "snapshottablemodel.h"

#include <core/format.h>

#include <QHeaderView>
#include <QLocale>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTableWidget>

namespace htap::ui {

QTableView* makeSnapshotTableView(SnapshotTableModel* model, QWidget* parent)
{
    auto* proxy = new QSortFilterProxyModel(parent);
    proxy->setSourceModel(model);
    proxy->setSortRole(SnapshotTableModel::SortRole);
    auto* view = new QTableView(parent);
    view->setModel(proxy);
    view->setSortingEnabled(true);
    view->setAlternatingRowColors(true);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->verticalHeader()->hide();
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 6);
    view->setWordWrap(false);
    view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    view->horizontalHeader()->setStretchLastSection(true);
    view->horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder);
    return view;
}

QString formatAgo(const QDateTime& then, const QDateTime& now)
{
    if (!then.isValid())
        return QObject::tr("never");
    const qint64 s = then.secsTo(now);
    if (s < 120)
        return QObject::tr("%1 s ago").arg(s);
    if (s < 7200)
        return QObject::tr("%1 min ago").arg(s / 60);
    return QObject::tr("%1 h ago").arg(s / 3600);
}

QString formatSeconds(double seconds)
{
    return htap::core::formatSeconds(seconds);
}

/// (see viewutil.h)
QTableWidget* makeTable(const QStringList& headers, QWidget* parent, const QString& name)
{
    auto* t = new QTableWidget(0, int(headers.size()), parent);
    t->setObjectName(name);
    t->setHorizontalHeaderLabels(headers);
    t->verticalHeader()->hide();
    t->setSelectionBehavior(QAbstractItemView::SelectRows);
    t->setEditTriggers(QAbstractItemView::NoEditTriggers);
    t->horizontalHeader()->setStretchLastSection(true);
    t->setWordWrap(false);
    t->verticalHeader()->setDefaultSectionSize(t->fontMetrics().height() + 8);
    return t;
}

QString formatBytes(qint64 bytes)
{
    return htap::core::formatBytes(bytes);
}

} // namespace htap::ui
