#pragma once

#include <monitor/targets.h>

#include <QDialog>

class QCheckBox;
class QDoubleSpinBox;
class QTableWidget;

namespace htap::ui {

/// Monitor > Targets…: what healthy means. Per class (OLTP, OLAP: the oldest statement or
/// transaction and the longest lock wait), the freshness of incremental views, the lock wait
/// that makes a blocking episode, and a freshness target per view (a view refreshed hourly is
/// fresh at 50 min; a view without one is never late, its age only shown).
class TargetsDialog : public QDialog
{
    Q_OBJECT
public:
    /// views: the views of the server shown, listed even when they have no target yet.
    TargetsDialog(const htap::monitor::Targets& targets, const QStringList& views, bool notify, QWidget* parent = nullptr);
    htap::monitor::Targets targets() const;
    bool notify() const;

private:
    QDoubleSpinBox* m_oltp;
    QDoubleSpinBox* m_olap;
    QDoubleSpinBox* m_freshness;
    QDoubleSpinBox* m_blocking;
    QTableWidget* m_views;
    QCheckBox* m_notify;
};

} // namespace htap::ui
