#include "banner.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QToolButton>

namespace htap::ui {

Banner::Banner(QWidget* parent)
    : QFrame(parent)
    , m_label(new QLabel(this))
{
    setObjectName(QStringLiteral("banner"));
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(10, 6, 6, 6);
    m_label->setWordWrap(true);
    m_label->setTextFormat(Qt::PlainText); // server messages are text, never markup
    m_label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_label, 1);
    auto* close = new QToolButton(this);
    close->setText(QStringLiteral("✕"));
    close->setAutoRaise(true);
    close->setToolTip(tr("Dismiss"));
    layout->addWidget(close);
    connect(close, &QToolButton::clicked, this, &QWidget::hide);
    m_hideTimer.setSingleShot(true);
    connect(&m_hideTimer, &QTimer::timeout, this, &QWidget::hide);
    hide();
}

void Banner::show(Level level, const QString& text)
{
    static const char* colours[] = {"#e7f1fb; color: #0b3d66", "#fff4d6; color: #5c4300", "#fbe3e4; color: #7a1216"};
    setStyleSheet(QStringLiteral("#banner { background: %1; border-bottom: 1px solid #c8c8c8; }")
                      .arg(QString::fromLatin1(colours[int(level)])));
    m_label->setText(text);
    setVisible(true);
    if (level == Level::Info)
        m_hideTimer.start(6000);
    else
        m_hideTimer.stop();
}

QString Banner::text() const
{
    return isVisible() ? m_label->text() : QString();
}

} // namespace htap::ui
