// Every colour a page shows, from the palette or derived from it, so that a dark desktop theme
// keeps every row, tile and message readable. Literal colours are only the tones' hues.
#pragma once

#include <QColor>
#include <QPalette>

namespace htap::ui::colours {

/// What a highlight means; its hue is fixed, its lightness follows the palette.
enum class Tone { None, Bad, Warn, Good, Info };

/// The tone's hue (a saturated colour readable as a line or a dot on light and dark).
QColor hue(Tone tone);
/// a + (b - a) * t in RGB.
QColor mix(const QColor& a, const QColor& b, double t);
/// A row's or tile's background: the tone tinted into the palette's Base (invalid for None).
QColor rowBackground(Tone tone, const QPalette& palette);
/// rowBackground under the application's palette (for models, which have no widget).
QColor rowBackground(Tone tone);
/// Text in the tone's colour that keeps at least 4.5:1 against Base (a root blocker's pid, an alarm).
QColor toneText(Tone tone, const QPalette& palette);
QColor toneText(Tone tone);
/// WCAG 2 contrast ratio of two colours, 1 to 21.
double contrastRatio(const QColor& a, const QColor& b);

} // namespace htap::ui::colours
