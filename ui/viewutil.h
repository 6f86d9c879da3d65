#pragma once

#include <QDateTime>
#include <QString>
#include <QStringList>

class QTableView;
class QTableWidget;
class QWidget;

namespace htap::ui {

class SnapshotTableModel;

/// A sortable, row-selecting table view over a snapshot model (numbers sort as numbers).
QTableView* makeSnapshotTableView(SnapshotTableModel* model, QWidget* parent);

/// A read-only table of rows: whole rows selected, no row numbers, the last column stretched.
QTableWidget* makeTable(const QStringList& headers, QWidget* parent, const QString& objectName);

/// "12 s ago", "5 min ago", "3 h ago", "never".
QString formatAgo(const QDateTime& then, const QDateTime& now);
/// "850 ms", "12.3 s", "4.2 min", "3.1 h"; "unknown" for a negative value.
QString formatSeconds(double seconds);
/// "512 B", "1.5 MB" (powers of 1024, like pg_size_pretty).
QString formatBytes(qint64 bytes);

} // namespace htap::ui
