// Monitor samples (htap-monitor-sample): monitor::fromJson, as the GUI reads the history back and
// opens a snapshot's samples. A sample that reads must write and read again to the same document,
// and every statement text in it must come out masked.
#include "fuzzutil.h"

#include <monitor/samplejson.h>
#include <pg/statementtext.h>

#include <QJsonDocument>

using namespace Qt::StringLiterals;
using htap::fuzz::check;

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    htap::fuzz::quietQt();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const QJsonDocument doc = QJsonDocument::fromJson(htap::fuzz::bytes(data, size));
    if (!doc.isObject())
        return 0;
    htap::monitor::ServerSample sample;
    QString error;
    if (!htap::monitor::fromJson(doc.object(), &sample, &error)) {
        check(!error.isEmpty(), "a refused sample says why");
        return 0;
    }
    if (sample.locks)
        for (const auto& n : std::as_const(sample.locks->nodes))
            check(htap::pg::maskStatement(n.query) == n.query, "a lock holder's statement is masked", n.query);

    const QJsonObject once = htap::monitor::toJson(sample, u"fuzz"_s);
    htap::monitor::ServerSample again;
    check(htap::monitor::fromJson(once, &again, &error), "the sample reads back", error);
    const QJsonObject twice = htap::monitor::toJson(again, u"fuzz"_s);
    check(twice == once, "the sample reads back the same",
        QString::fromUtf8(QJsonDocument(once).toJson(QJsonDocument::Compact)) + u"\n"_s
            + QString::fromUtf8(QJsonDocument(twice).toJson(QJsonDocument::Compact)));
    return 0;
}
