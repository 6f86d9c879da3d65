#include "colours.h"

#include <QGuiApplication>

#include <algorithm>
#include <cmath>

namespace htap::ui::colours {

QColor hue(Tone tone)
{
    switch (tone) {
    case Tone::Bad:
        return QColor(0xd0, 0x30, 0x30);
    case Tone::Warn:
        return QColor(0xe0, 0x9a, 0x00);
    case Tone::Good:
        return QColor(0x30, 0xa0, 0x50);
    case Tone::Info:
        return QColor(0x1f, 0x77, 0xb4);
    case Tone::None:
        break;
    }
    return {};
}

QColor mix(const QColor& a, const QColor& b, double t)
{
    const auto f = [t](float x, float y) { return float(x + (y - x) * t); };
    return QColor::fromRgbF(f(a.redF(), b.redF()), f(a.greenF(), b.greenF()), f(a.blueF(), b.blueF()));
}

namespace {

double luminance(const QColor& c)
{
    const auto channel = [](double v) { return v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF());
}

QPalette appPalette()
{
    return qGuiApp ? QGuiApplication::palette() : QPalette();
}

} // namespace

double contrastRatio(const QColor& a, const QColor& b)
{
    const double la = luminance(a), lb = luminance(b);
    return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

QColor rowBackground(Tone tone, const QPalette& palette)
{
    if (tone == Tone::None)
        return {};
    const QColor base = palette.color(QPalette::Base);
    // Enough of the hue to be seen, little enough that the palette's text keeps its contrast.
    const double amount = tone == Tone::Good ? 0.14 : 0.22;
    QColor bg = mix(base, hue(tone), amount);
    for (double t = amount; t > 0.04 && contrastRatio(bg, palette.color(QPalette::Text)) < 4.5; t -= 0.04)
        bg = mix(base, hue(tone), t);
    return bg;
}

QColor rowBackground(Tone tone)
{
    return rowBackground(tone, appPalette());
}

QColor toneText(Tone tone, const QPalette& palette)
{
    const QColor text = palette.color(QPalette::Text);
    if (tone == Tone::None)
        return text;
    const QColor base = palette.color(QPalette::Base);
    // From the hue toward the text colour until it reads against the background.
    for (double t = 0.8; t >= 0; t -= 0.1) {
        const QColor c = mix(text, hue(tone), t);
        if (contrastRatio(c, base) >= 4.5)
            return c;
    }
    return text;
}

QColor toneText(Tone tone)
{
    return toneText(tone, appPalette());
}

} // namespace htap::ui::colours
