#pragma once

#include <QFrame>

#include <deque>

class QLabel;

namespace htap::ui {

/// One key figure: caption, current value, a sparkline of recent values, and a threshold
/// above which it turns red.
class FigureTile : public QFrame
{
    Q_OBJECT
public:
    FigureTile(const QString& caption, const QString& unit, double threshold, QWidget* parent = nullptr);
    /// NaN: no value this time (shown as "–", a gap in the sparkline).
    void setValue(double value, const QString& text = {});
    /// A break in the sparkline; the figure shown stays.
    void addGap();
    /// The server has not answered for this long: the figure turns grey and says so (the next
    /// value restores it).
    void setNoData(double seconds);
    void clear();
    QString caption() const { return m_caption; }
    QString valueText() const;
    bool alarmed() const { return m_alarmed; }

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    QString m_caption;
    QString m_unit;
    double m_threshold;
    bool m_alarmed = false;
    QLabel* m_value;
    QLabel* m_label;
    std::deque<double> m_history;
};

} // namespace htap::ui
