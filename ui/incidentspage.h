#pragma once

#include "monitorpage.h"

#include <QHash>

class QLabel;
class QTableView;

namespace htap::ui {

class SnapshotTableModel;

/// Everything a DBA had to act on, newest first: targets missed, blocking episodes (who, how
/// many waited, how long, how it ended), the server not answering, views past their freshness
/// target. Those still open are marked; past ones come from the history.
class IncidentsPage : public MonitorPage
{
    Q_OBJECT
public:
    explicit IncidentsPage(QWidget* parent = nullptr);
    QString title() const override { return tr("Incidents"); }
    void addSample(const htap::monitor::ServerSample& sample) override;
    void addGap(const QDateTime&) override {}
    void clear() override;
    /// Incidents that opened, got worse or ended (live), or were read from the history.
    void addIncidents(const QList<htap::monitor::Incident>& incidents);
    SnapshotTableModel* model() const { return m_model; }
    int openCount() const;

private:
    void show();

    SnapshotTableModel* m_model;
    QTableView* m_view;
    QLabel* m_summary;
    QHash<QString, htap::monitor::Incident> m_incidents; ///< by key
};

} // namespace htap::ui
