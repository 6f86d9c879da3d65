// The latency histogram against distributions whose percentiles are known exactly.
#include <metrics/latencyhistogram.h>

#include <QRandomGenerator>
#include <QtTest>

#include <algorithm>
#include <span>
#include <vector>

using htap::metrics::LatencyHistogram;

class TestHistogram : public QObject
{
    Q_OBJECT
private:
    /// Within HdrHistogram's promise: 3 significant digits (relative error < 1/1024 here).
    static bool close(qint64 got, qint64 want) { return std::abs(double(got - want)) <= std::max(1.0, want / 1000.0); }

private Q_SLOTS:
    void uniformOneToTenThousand()
    {
        LatencyHistogram h;
        for (qint64 v = 1; v <= 10000; ++v)
            h.record(v);
        QCOMPARE(h.count(), 10000);
        QCOMPARE(h.minUs(), 1);
        QCOMPARE(h.maxUs(), 10000);
        QVERIFY2(close(h.percentileUs(50), 5000), qPrintable(QString::number(h.percentileUs(50))));
        QVERIFY(close(h.percentileUs(90), 9000));
        QVERIFY(close(h.percentileUs(99), 9900));
        QVERIFY(close(h.percentileUs(99.9), 9990));
        QCOMPARE(h.percentileUs(100), 10000);
        QCOMPARE(h.meanUs(), 5000.5);
    }

    void exactBelowTwoThousand()
    {
        LatencyHistogram h;
        for (int i = 0; i < 99; ++i)
            h.record(100);
        h.record(1500);
        QCOMPARE(h.percentileUs(50), 100);
        QCOMPARE(h.percentileUs(99), 100);
        QCOMPARE(h.percentileUs(99.5), 1500);
    }

    void wideRangeAgainstSortedSample()
    {
        // Log-uniform from 1 us to 100 s, against the exact order statistics.
        QRandomGenerator rng(7);
        LatencyHistogram h;
        std::vector<qint64> values;
        for (int i = 0; i < 200000; ++i) {
            const qint64 v = qint64(std::pow(10.0, rng.generateDouble() * 8));
            values.push_back(std::max<qint64>(1, v));
            h.record(values.back());
        }
        std::sort(values.begin(), values.end());
        for (double p : {50.0, 90.0, 99.0, 99.9}) {
            const qint64 exact = values[std::size_t(std::ceil(p / 100 * values.size())) - 1];
            QVERIFY2(close(h.percentileUs(p), exact),
                qPrintable(QStringLiteral("p%1: %2 vs %3").arg(p).arg(h.percentileUs(p)).arg(exact)));
        }
        QCOMPARE(h.maxUs(), values.back());
    }

    void mergeEqualsRecordingTogether()
    {
        LatencyHistogram a, b, both;
        for (qint64 v = 1; v < 50000; v += 7) {
            (v % 2 ? a : b).record(v);
            both.record(v);
        }
        a.merge(b);
        QCOMPARE(a.count(), both.count());
        for (double p : {1.0, 50.0, 99.0, 99.99})
            QCOMPARE(a.percentileUs(p), both.percentileUs(p));
        QCOMPARE(a.maxUs(), both.maxUs());
        a.reset();
        QCOMPARE(a.count(), 0);
        QCOMPARE(a.percentileUs(99), 0);
    }

    void batchEqualsOneByOne()
    {
        // The load generator records in batches: the same counts, bounds and percentiles as
        // single records, clamping included.
        const std::vector<qint64> values {-5, 0, 1, 2047, 2048, 2049, 5000, 5001, 123456, 7,
            LatencyHistogram::kHighestUs, LatencyHistogram::kHighestUs + 1, 99};
        LatencyHistogram batched, single;
        batched.record(std::span<const qint64>());
        QCOMPARE(batched.count(), 0);
        batched.record(std::span(values));
        for (qint64 v : values)
            single.record(v);
        QCOMPARE(batched.count(), single.count());
        QCOMPARE(batched.minUs(), single.minUs());
        QCOMPARE(batched.maxUs(), single.maxUs());
        QCOMPARE(batched.meanUs(), single.meanUs());
        for (double p = 0; p <= 100; p += 0.5)
            QCOMPARE(batched.percentileUs(p), single.percentileUs(p));
    }

    void resetCopyAndMoveKeepEveryCount()
    {
        // Merges, resets and reads go over the recorded range only: a reset must clear all of
        // it, and a copy or a merge must carry all of it, at both ends of the scale.
        LatencyHistogram h;
        for (qint64 v : {1LL, 3LL, 2047LL, 5000LL, 123456LL, LatencyHistogram::kHighestUs})
            h.record(v);
        h.reset();
        h.record(40);
        h.record(60);
        QCOMPARE(h.count(), 2);
        QCOMPARE(h.percentileUs(1), 40);
        QCOMPARE(h.percentileUs(100), 60);

        LatencyHistogram wide;
        for (qint64 v = 1; v < LatencyHistogram::kHighestUs; v = v * 3 + 1)
            wide.record(v);
        LatencyHistogram copy(wide);
        LatencyHistogram assigned;
        assigned.record(7);
        assigned = wide;
        for (double p : {0.0, 10.0, 50.0, 90.0, 100.0}) {
            QCOMPARE(copy.percentileUs(p), wide.percentileUs(p));
            QCOMPARE(assigned.percentileUs(p), wide.percentileUs(p));
        }
        h.merge(wide); // ranges that overlap in part
        QCOMPARE(h.count(), wide.count() + 2);
        QCOMPARE(h.percentileUs(100), wide.maxUs());

        LatencyHistogram moved(std::move(copy));
        QCOMPARE(moved.percentileUs(50), wide.percentileUs(50));
        QCOMPARE(copy.count(), 0); // NOLINT(bugprone-use-after-move): moved from is empty
        copy = wide;
        QCOMPARE(copy.count(), wide.count());
    }

    void clampsToTheRange()
    {
        LatencyHistogram h;
        h.record(0);
        h.record(LatencyHistogram::kHighestUs * 10);
        QCOMPARE(h.minUs(), 1);
        QCOMPARE(h.maxUs(), LatencyHistogram::kHighestUs);
        QVERIFY(close(h.percentileUs(100), LatencyHistogram::kHighestUs));
    }
};

QTEST_GUILESS_MAIN(TestHistogram)
#include "tst_histogram.moc"
