// Snapshot files (htap-snapshot): Snapshot::fromJson, as File > Open snapshot, Compare and
// htapctl snapshot show/diff read them. A snapshot that parses must give its key figures and CSV,
// compare with itself as unchanged, and re-serialise and parse again to the same series.
#include "fuzzutil.h"

#include <report/snapshot.h>

#include <QJsonDocument>

using namespace Qt::StringLiterals;
using htap::fuzz::check;
using htap::report::Snapshot;

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    htap::fuzz::quietQt();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const QByteArray json = htap::fuzz::bytes(data, size);
    Snapshot s;
    QString error;
    const bool ok = Snapshot::fromJson(json, &s, &error);
    check(ok == error.isEmpty(), "fromJson's result agrees with its message", error);
    if (!ok)
        return 0;

    for (const auto& series : std::as_const(s.series))
        check(series.t.size() == series.v.size(), "a series has a value for each time", series.key);
    const QList<htap::report::KeyFigure> figures = s.keyFigures();
    const QByteArray csv = s.toCsv();
    check(csv.startsWith("series,label,unit,at,value\n"), "the CSV has its header");
    for (const auto& c : htap::report::compare(s, s))
        check(c.verdict() == 0, "a snapshot compared with itself is unchanged", c.before.key);

    const QByteArray again = QJsonDocument(s.toJson()).toJson(QJsonDocument::Compact);
    Snapshot s2;
    check(Snapshot::fromJson(again, &s2, &error), "the snapshot reads back", error);
    check(s2.series.size() == s.series.size(), "the same number of series",
        u"%1 then %2"_s.arg(s.series.size()).arg(s2.series.size()));
    for (qsizetype i = 0; i < s.series.size(); ++i)
        check(s2.series[i].key == s.series[i].key && s2.series[i].t.size() == s.series[i].t.size(),
            "each series reads back with its points", s.series[i].key);
    check(s2.samples.size() == s.samples.size(), "the same number of samples");
    check(s2.keyFigures().size() == figures.size(), "the same key figures");
    return 0;
}
