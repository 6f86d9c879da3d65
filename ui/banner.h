#pragma once

#include <QFrame>
#include <QTimer>

class QLabel;

namespace htap::ui {

/// A non-modal message strip at the top of the window: errors stay until closed, information
/// fades after a few seconds. Message boxes are kept for answers to a direct user action.
class Banner : public QFrame
{
    Q_OBJECT
public:
    enum class Level { Info, Warning, Error };
    explicit Banner(QWidget* parent = nullptr);
    void show(Level level, const QString& text);
    QString text() const;

private:
    QLabel* m_label;
    QTimer m_hideTimer;
};

} // namespace htap::ui
