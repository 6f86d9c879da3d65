#pragma once

#include <QFrame>

class QLabel;

namespace htap::ui {

/// One line of the Overview's first row: is this part of the system healthy now? A verdict in
/// a word, the figure it rests on and what that figure measures, the reason in words, and the
/// culprit (a pid, a view) as a link that opens its page with its row selected.
class HealthTile : public QFrame
{
    Q_OBJECT
public:
    enum class State { Unknown, Healthy, Missed, NoData, NoTarget };

    explicit HealthTile(const QString& caption, QWidget* parent = nullptr);
    /// figure: "3.1 min" and measure: "oldest open transaction (target 50 ms)".
    void setState(State state, const QString& figure, const QString& measure, const QString& reason);
    /// The culprit link: kind "pid" or "view", and its id; empty kind: none.
    void setCulprit(const QString& kind, const QString& id, const QString& text);
    /// The server did not answer for this long: grey, the last figures kept for reference.
    void setNoData(double seconds);
    void clear();

    State state() const { return m_state; }
    QString caption() const { return m_caption; }
    QString verdictText() const;
    QString reasonText() const;

Q_SIGNALS:
    void culpritActivated(const QString& kind, const QString& id);

private:
    void applyColours();

    QString m_caption;
    State m_state = State::Unknown;
    QLabel* m_title;
    QLabel* m_verdict;
    QLabel* m_figure;
    QLabel* m_measure;
    QLabel* m_reason;
    QLabel* m_culprit;
};

} // namespace htap::ui
