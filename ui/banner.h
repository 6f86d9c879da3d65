#pragma once

#include <QFrame>
#include <QPointer>
#include <QTimer>

class QLabel;

namespace htap::ui {

/// A non-modal message strip laid over the bottom of a widget (the pages): it never moves the
/// layout, so a click aimed at a button lands on it whether a message shows or not. Errors stay
/// until closed, information fades after a few seconds; the same text again only restarts its
/// timer. Colours come from the palette (light and dark). Message boxes are kept for answers to a
/// direct user action.
class Banner : public QFrame
{
    Q_OBJECT
public:
    enum class Level { Info, Warning, Error };
    /// Laid over anchor's bottom edge (a sibling or child of parent's window).
    explicit Banner(QWidget* parent = nullptr);
    void setAnchor(QWidget* anchor);
    void show(Level level, const QString& text);
    QString text() const;
    Level level() const { return m_level; }
    /// The strip's background and text colours for a level under a palette (tested for contrast).
    static QColor background(Level level, const QPalette& palette);
    static QColor foreground(Level level, const QPalette& palette);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    void place();
    void applyColours();

    QLabel* m_label;
    QString m_raw; ///< the text as given (the label's is tidied)
    QTimer m_hideTimer;
    QPointer<QWidget> m_anchor;
    Level m_level = Level::Info;
};

} // namespace htap::ui
