#pragma once

#include <report/reportwriter.h>

#include <QDialog>

class QCheckBox;
class QComboBox;
class QDateTimeEdit;
class QLineEdit;
class QPlainTextEdit;
class QTableWidget;

namespace htap::ui {

/// What File > Export snapshot… asks for.
struct ExportRequest {
    QString title;
    QString note;
    QDateTime from, to;
    QList<htap::report::Format> formats;
    QString folder;
    QString baseName;
};

/// The window (last 5 min, last hour, the last scenario run, or from/to), a title and a note,
/// the formats and where to write them.
class ExportSnapshotDialog : public QDialog
{
    Q_OBJECT
public:
    /// lastRun: the last scenario run's start and end (invalid when there was none); shown: the
    /// range the charts show now, as panned and zoomed on their time axis.
    ExportSnapshotDialog(const QDateTime& lastRunFrom, const QDateTime& lastRunTo, const QDateTime& shownFrom,
        const QDateTime& shownTo, QWidget* parent = nullptr);
    ExportRequest request() const;
    /// Preselects "what the charts show" (a window picked on a chart's time axis).
    void pickShownRange();

private:
    void onPreset();
    void validate();

    QDateTime m_runFrom, m_runTo, m_shownFrom, m_shownTo;
    QLineEdit* m_title;
    QPlainTextEdit* m_note;
    QComboBox* m_preset;
    QDateTimeEdit* m_from;
    QDateTimeEdit* m_to;
    QList<std::pair<htap::report::Format, QCheckBox*>> m_formats;
    QLineEdit* m_folder;
    QLineEdit* m_baseName;
};

/// Two snapshots' key figures side by side, the change of each coloured better or worse.
class CompareSnapshotsDialog : public QDialog
{
    Q_OBJECT
public:
    CompareSnapshotsDialog(const htap::report::Snapshot& a, const htap::report::Snapshot& b, QWidget* parent = nullptr);
    QTableWidget* table() const { return m_table; }

private:
    QTableWidget* m_table;
};

} // namespace htap::ui
