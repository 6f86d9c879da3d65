#include "banner.h"
#include "colours.h"

#include <QEvent>
#include <QGraphicsDropShadowEffect>
#include <QHBoxLayout>
#include <QLabel>
#include <QToolButton>

namespace htap::ui {

namespace {

colours::Tone toneOf(Banner::Level level)
{
    return level == Banner::Level::Error ? colours::Tone::Bad : level == Banner::Level::Warning ? colours::Tone::Warn : colours::Tone::Info;
}

} // namespace

QColor Banner::background(Level level, const QPalette& palette)
{
    // A tint of the level's colour over the window's base: pale on a light theme, deep on a dark one.
    return colours::rowBackground(toneOf(level), palette);
}

QColor Banner::foreground(Level, const QPalette& palette)
{
    return palette.color(QPalette::Text);
}

Banner::Banner(QWidget* parent)
    : QFrame(parent)
    , m_label(new QLabel(this))
{
    setObjectName(QStringLiteral("banner"));
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(14, 8, 6, 8);
    m_label->setObjectName(QStringLiteral("bannerText"));
    m_label->setWordWrap(true);
    m_label->setTextFormat(Qt::PlainText); // server messages are text, never markup
    m_label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_label, 1);
    auto* close = new QToolButton(this);
    close->setText(QStringLiteral("✕"));
    close->setAutoRaise(true);
    close->setToolTip(tr("Dismiss"));
    layout->addWidget(close, 0, Qt::AlignTop);
    connect(close, &QToolButton::clicked, this, &QWidget::hide);
    m_hideTimer.setSingleShot(true);
    connect(&m_hideTimer, &QTimer::timeout, this, &QWidget::hide);
    auto* shadow = new QGraphicsDropShadowEffect(this);
    shadow->setBlurRadius(12);
    shadow->setOffset(0, 2);
    shadow->setColor(QColor(0, 0, 0, 90));
    setGraphicsEffect(shadow);
    hide();
}

void Banner::setAnchor(QWidget* anchor)
{
    if (m_anchor)
        m_anchor->removeEventFilter(this);
    m_anchor = anchor;
    if (anchor)
        anchor->installEventFilter(this);
    place();
}

bool Banner::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_anchor && (event->type() == QEvent::Resize || event->type() == QEvent::Move))
        place();
    return QFrame::eventFilter(watched, event);
}

void Banner::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::PaletteChange && isVisible())
        applyColours();
    QFrame::changeEvent(event);
}

void Banner::place()
{
    if (!m_anchor || !parentWidget())
        return;
    // Over the anchor's bottom edge, inset a little, as tall as its text needs: the top of a
    // page is its headline (the Overview's health row), which a message must not hide.
    const QPoint topLeft = m_anchor->mapTo(parentWidget(), QPoint(0, 0));
    const int width = std::max(200, m_anchor->width() - 24);
    const int height = std::min(layout()->totalHeightForWidth(width), m_anchor->height() / 2);
    setGeometry(topLeft.x() + 12, topLeft.y() + m_anchor->height() - height - 10, width, height);
    raise();
}

void Banner::applyColours()
{
    const QPalette base = parentWidget() ? parentWidget()->palette() : palette();
    const QString sheet = QStringLiteral("#banner { background: %1; border-left: 4px solid %2; border-radius: 3px; } "
                                         "#bannerText { color: %3; }")
                              .arg(background(m_level, base).name(), colours::hue(toneOf(m_level)).name(),
                                  foreground(m_level, base).name());
    if (sheet != styleSheet()) // a style sheet change is a palette change too: once is enough
        setStyleSheet(sheet);
}

void Banner::show(Level level, const QString& text)
{
    const bool same = isVisible() && level == m_level && text == m_raw;
    m_level = level;
    if (!same) {
        applyColours();
        // libpq's second lines start with a tab: one message, lines flush left.
        QStringList lines = text.split(u'\n');
        for (QString& line : lines)
            line = line.trimmed();
        m_label->setText(lines.join(u'\n'));
        m_raw = text;
    }
    setVisible(true);
    place();
    if (level == Level::Info)
        m_hideTimer.start(6000);
    else
        m_hideTimer.stop();
}

QString Banner::text() const
{
    return isVisible() ? m_raw : QString();
}

} // namespace htap::ui
