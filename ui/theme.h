// The app's look: the desktop's, or Fusion with a light or a dark palette. Qt 6.4 on Debian
// follows a GTK dark theme only with a platform theme plugin that Debian 12 does not ship for
// Qt 6, so a DBA on Adwaita-dark would get a light app; *View > Theme* and `--theme` choose.
#pragma once

#include <QPalette>
#include <QString>

#include <optional>

namespace htap::ui {

enum class Theme { Desktop, Light, Dark };

/// "desktop", "light", "dark".
QString themeName(Theme theme);
std::optional<Theme> themeFromName(const QString& name);
/// Adwaita-dark's main colours, and Fusion's light palette.
QPalette darkPalette();
QPalette lightPalette();
/// Sets the application's style and palette (the desktop's as they were at the first call).
void applyTheme(Theme theme);

} // namespace htap::ui
