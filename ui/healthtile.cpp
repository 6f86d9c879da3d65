#include "healthtile.h"
#include "colours.h"

#include <core/format.h>

#include <QLabel>
#include <QVBoxLayout>

namespace htap::ui {


HealthTile::HealthTile(const QString& caption, QWidget* parent)
    : QFrame(parent)
    , m_caption(caption)
    , m_title(new QLabel(caption, this))
    , m_verdict(new QLabel(this))
    , m_figure(new QLabel(this))
    , m_measure(new QLabel(this))
    , m_reason(new QLabel(this))
    , m_culprit(new QLabel(this))
{
    setFrameShape(QFrame::StyledPanel);
    setAutoFillBackground(true);
    setMinimumSize(220, 150);
    QFont bold = m_title->font();
    bold.setBold(true);
    m_title->setFont(bold);
    QFont big = m_verdict->font();
    big.setPointSizeF(big.pointSizeF() * 1.6);
    big.setBold(true);
    m_verdict->setFont(big);
    QFont figure = m_figure->font();
    figure.setPointSizeF(figure.pointSizeF() * 1.3);
    m_figure->setFont(figure);
    m_reason->setWordWrap(true);
    m_measure->setWordWrap(true);
    m_reason->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_culprit->setTextFormat(Qt::RichText);
    m_culprit->setWordWrap(true); // "public.sales_hourly_mv on the Views page →" in a narrow tile
    m_culprit->setTextInteractionFlags(Qt::LinksAccessibleByMouse | Qt::LinksAccessibleByKeyboard);
    connect(m_culprit, &QLabel::linkActivated, this, [this](const QString& link) {
        Q_EMIT culpritActivated(link.section(u':', 0, 0), link.section(u':', 1));
    });
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_title);
    layout->addWidget(m_verdict);
    auto* row = new QHBoxLayout;
    row->addWidget(m_figure);
    row->addWidget(m_measure, 1);
    layout->addLayout(row);
    layout->addWidget(m_reason);
    layout->addWidget(m_culprit);
    layout->addStretch(1);
    clear();
}

void HealthTile::setState(State state, const QString& figure, const QString& measure, const QString& reason)
{
    m_state = state;
    m_verdict->setText(verdictText());
    m_figure->setText(figure);
    m_measure->setText(measure);
    m_reason->setText(reason);
    setToolTip(reason);
    applyColours();
}

void HealthTile::setCulprit(const QString& kind, const QString& id, const QString& text)
{
    m_culprit->setText(kind.isEmpty() ? QString() : u"<a href=\"%1:%2\">%3 →</a>"_qs.arg(kind, id, text.toHtmlEscaped()));
    m_culprit->setVisible(!kind.isEmpty());
}

void HealthTile::setNoData(double seconds)
{
    m_state = State::NoData;
    m_verdict->setText(tr("No data for %1").arg(htap::core::formatSeconds(seconds)));
    m_culprit->setVisible(false);
    applyColours();
}

void HealthTile::clear()
{
    m_state = State::Unknown;
    m_verdict->setText(verdictText());
    m_figure->clear();
    m_measure->clear();
    m_reason->clear();
    m_culprit->clear();
    m_culprit->setVisible(false);
    applyColours();
}

QString HealthTile::verdictText() const
{
    switch (m_state) {
    case State::Unknown:
        return tr("–");
    case State::Healthy:
        return tr("Healthy");
    case State::Missed:
        return tr("Target missed");
    case State::NoData:
        return m_verdict->text();
    case State::NoTarget:
        return tr("No target set");
    }
    return {};
}

QString HealthTile::reasonText() const
{
    return m_reason->text();
}

void HealthTile::applyColours()
{
    // From the palette, not literals: a dark theme keeps its contrast.
    const QPalette base = parentWidget() ? parentWidget()->palette() : palette();
    QPalette p = base;
    const QColor window = base.color(QPalette::Base);
    QColor bg = window;
    QColor verdict = base.color(QPalette::Text);
    switch (m_state) {
    case State::Missed:
        bg = colours::rowBackground(colours::Tone::Bad, base);
        verdict = colours::toneText(colours::Tone::Bad, base);
        break;
    case State::Healthy:
        bg = colours::mix(window, colours::hue(colours::Tone::Good), 0.10);
        break;
    case State::NoData:
        bg = base.color(QPalette::Window);
        verdict = base.color(QPalette::PlaceholderText);
        break;
    case State::Unknown:
    case State::NoTarget:
        break;
    }
    p.setColor(QPalette::Window, bg);
    setPalette(p);
    QPalette v = m_verdict->palette();
    v.setColor(QPalette::WindowText, verdict);
    m_verdict->setPalette(v);
    const bool grey = m_state == State::NoData;
    for (QLabel* l : {m_figure, m_measure, m_reason}) {
        QPalette lp = l->palette();
        lp.setColor(QPalette::WindowText, grey ? base.color(QPalette::PlaceholderText) : base.color(QPalette::WindowText));
        l->setPalette(lp);
    }
}

} // namespace htap::ui
