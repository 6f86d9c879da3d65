#include "snapshottablemodel.h"

namespace htap::ui {

SnapshotTableModel::SnapshotTableModel(QStringList headers, QObject* parent)
    : QAbstractTableModel(parent)
    , m_headers(std::move(headers))
{
}

void SnapshotTableModel::setRows(QList<Row> rows)
{
    beginResetModel();
    m_rows = std::move(rows);
    endResetModel();
}

int SnapshotTableModel::rowOf(const QString& key) const
{
    for (int r = 0; r < m_rows.size(); ++r)
        if (m_rows[r].key == key)
            return r;
    return -1;
}

int SnapshotTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int SnapshotTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_headers.size());
}

QVariant SnapshotTableModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row& row = m_rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        return row.display.value(index.column());
    case SortRole:
        return row.sort.isEmpty() ? row.display.value(index.column()) : row.sort.value(index.column());
    case KeyRole:
        return row.key;
    case Qt::BackgroundRole:
        if (row.tone != colours::Tone::None)
            return colours::rowBackground(row.tone); // at paint time: a theme change applies at once
        return row.background.isValid() ? QVariant(row.background) : QVariant();
    case Qt::ToolTipRole:
        return row.toolTip.isEmpty() ? row.display.value(index.column()) : QVariant(row.toolTip);
    case Qt::TextAlignmentRole: {
        const QVariant v = row.sort.isEmpty() ? row.display.value(index.column()) : row.sort.value(index.column());
        const bool numeric = v.typeId() == QMetaType::Int || v.typeId() == QMetaType::LongLong
            || v.typeId() == QMetaType::Double;
        return QVariant::fromValue(Qt::AlignVCenter | (numeric ? Qt::AlignRight : Qt::AlignLeft));
    }
    default:
        return {};
    }
}

QVariant SnapshotTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation == Qt::Horizontal && role == Qt::DisplayRole)
        return m_headers.value(section);
    return {};
}

} // namespace htap::ui
