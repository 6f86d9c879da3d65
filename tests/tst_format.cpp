// The one formatter of figures a person reads: never scientific notation, separators,
// durations in words.
#include <core/format.h>
#include <core/number.h>

#include <QtTest>

#include <limits>

using namespace Qt::StringLiterals;

class TestFormat : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void numbers_data()
    {
        QTest::addColumn<double>("value");
        QTest::addColumn<QString>("text");
        QTest::newRow("xid age") << 10560.0 << u"10,560"_s; // a tile printed 1.056e+04 xids
        QTest::newRow("percent") << 55740.0 << u"55,740"_s; // and 5.574e+04 %
        QTest::newRow("ms") << 0.2134 << u"0.213"_s;
        QTest::newRow("tens") << 42.46 << u"42.5"_s;
        QTest::newRow("whole") << 7.0 << u"7"_s;
        QTest::newRow("small") << 0.00042 << u"0.000420"_s;
        QTest::newRow("negative") << -1234.5 << u"-1,235"_s;
        QTest::newRow("huge") << 1.06e18 << u"1.06 × 10^18"_s;
        QTest::newRow("max double") << std::numeric_limits<double>::max() << u"1.80 × 10^308"_s;
        QTest::newRow("nan") << std::numeric_limits<double>::quiet_NaN() << u"–"_s;
    }
    void numbers()
    {
        QFETCH(double, value);
        QFETCH(QString, text);
        QCOMPARE(htap::core::formatNumber(value), text);
        QVERIFY(!htap::core::formatNumber(value).contains(u"e+"_s));
    }

    void seconds()
    {
        QCOMPARE(htap::core::formatSeconds(0.0421), u"42 ms"_s);
        QCOMPARE(htap::core::formatSeconds(182.4), u"3.0 min"_s);
        QCOMPARE(htap::core::formatSeconds(std::numeric_limits<double>::quiet_NaN()), u"unknown"_s);
        QCOMPARE(htap::core::formatCount(1820), u"1,820"_s);
        QCOMPARE(htap::core::formatDuration(2.5), u"2.5 s"_s);
        QCOMPARE(htap::core::formatDuration(45), u"45 s"_s);
        QCOMPARE(htap::core::formatDuration(192), u"3 min 12 s"_s);
        QCOMPARE(htap::core::formatDuration(180), u"3 min"_s);
        QCOMPARE(htap::core::formatDuration(3900), u"1 h 5 min"_s);
        QCOMPARE(htap::core::formatDuration(183600), u"2 d 3 h"_s);
        QCOMPARE(htap::core::formatDuration(-1), u"unknown"_s);
        QVERIFY(!htap::core::formatDuration(1e300).contains(u"e+"_s));
    }

    void excerptsAreShort()
    {
        const QString huge(130000, u'a');
        QVERIFY(htap::core::excerpt(huge).size() < 100);
        QVERIFY(htap::core::excerpt(huge).endsWith(u"(130000 characters)"_s));
        QCOMPARE(htap::core::excerpt(u"a\nb"_s), u"a b"_s);
    }
};

QTEST_APPLESS_MAIN(TestFormat)
#include "tst_format.moc"
