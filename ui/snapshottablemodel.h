#pragma once

#include <QAbstractTableModel>
#include <QColor>
#include <QStringList>
#include <QVariant>

#include "colours.h"

namespace htap::ui {

/// A read-only table that is replaced whole with every sample (beginResetModel/endResetModel).
/// Cells hold display values; SortRole holds the raw value so numbers sort as numbers.
class SnapshotTableModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Roles { SortRole = Qt::UserRole, KeyRole };

    struct Row {
        QVariantList display;     ///< one per column
        QVariantList sort;        ///< raw values; empty to sort by display
        QString key;              ///< identity across snapshots (to keep the selection)
        QColor background;        ///< invalid: none; a fixed colour (tone follows the palette)
        colours::Tone tone = colours::Tone::None; ///< a highlight that follows the palette
        QString toolTip;
    };

    explicit SnapshotTableModel(QStringList headers, QObject* parent = nullptr);
    void setRows(QList<Row> rows);
    const Row& row(int r) const { return m_rows.at(r); }
    int rowOf(const QString& key) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    QStringList m_headers;
    QList<Row> m_rows;
};

} // namespace htap::ui
