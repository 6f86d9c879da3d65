#include "targets.h"

#include <QSettings>

namespace htap::monitor {

using namespace Qt::StringLiterals;

namespace {
// Keys under targets/ in the app's settings (GUI and htapctl share them).
const QString kOltp = u"targets/oltpMs"_s;
const QString kOlap = u"targets/olapMs"_s;
const QString kFreshness = u"targets/freshnessSeconds"_s;
const QString kBlocking = u"targets/blockingSeconds"_s;
const QString kViews = u"targets/views"_s;

double positive(const QVariant& v, double fallback)
{
    bool ok = false;
    const double d = v.toDouble(&ok);
    return ok && d > 0 && d < 1e9 ? d : fallback;
}
} // namespace

double Targets::classSeconds(WorkloadClass c) const
{
    switch (c) {
    case WorkloadClass::Oltp:
        return oltpSeconds;
    case WorkloadClass::Olap:
        return olapSeconds;
    case WorkloadClass::Other:
        break;
    }
    return -1;
}

double Targets::viewSeconds(const ViewState& view, double scheduleSeconds, QString* from) const
{
    auto say = [&](const QString& s) {
        if (from)
            *from = s;
    };
    if (views.contains(view.view)) {
        const double t = views.value(view.view);
        say(t > 0 ? u"its target"_s : u"no target"_s);
        return t > 0 ? t : -1;
    }
    if (scheduleSeconds > 0) {
        // Refreshed every N: fresh until the next run is due, with a tenth of the interval (and
        // at least 5 s) for the refresh itself to run.
        say(u"its schedule"_s);
        return scheduleSeconds + std::max(5.0, scheduleSeconds / 10);
    }
    if (view.incremental) {
        say(u"the default for incremental views"_s);
        return freshnessSeconds;
    }
    say(u"no target"_s);
    return -1;
}

Targets Targets::load(QSettings& s)
{
    Targets t;
    t.oltpSeconds = positive(s.value(kOltp), t.oltpSeconds * 1000) / 1000;
    t.olapSeconds = positive(s.value(kOlap), t.olapSeconds * 1000) / 1000;
    t.freshnessSeconds = positive(s.value(kFreshness), t.freshnessSeconds);
    t.blockingSeconds = positive(s.value(kBlocking), t.blockingSeconds);
    const QVariantMap views = s.value(kViews).toMap();
    for (auto it = views.cbegin(); it != views.cend(); ++it) {
        bool ok = false;
        const double d = it.value().toDouble(&ok);
        if (ok && d >= 0 && d < 1e9)
            t.views.insert(it.key(), d);
    }
    return t;
}

void Targets::save(QSettings& s) const
{
    s.setValue(kOltp, oltpSeconds * 1000);
    s.setValue(kOlap, olapSeconds * 1000);
    s.setValue(kFreshness, freshnessSeconds);
    s.setValue(kBlocking, blockingSeconds);
    QVariantMap v;
    for (auto it = views.cbegin(); it != views.cend(); ++it)
        v.insert(it.key(), it.value());
    s.setValue(kViews, v);
}

} // namespace htap::monitor
