#pragma once

#include <QtGlobal>

#include <random>

namespace htap::workload {

/// The draws of QRandomGenerator(seed), made inline: the same 32-bit Mersenne twister seeded
/// through std::seed_seq, and the same bounded() and generateDouble(), so a scenario's seed
/// gives the draws it always gave. A request's draws then run no code outside the binary, whose
/// hot path stays in few cache lines and pages (a client thread finds them cold at each wakeup,
/// the server having run in between). tst_scenario compares it with QRandomGenerator.
class SeededRandom
{
public:
    explicit SeededRandom(quint32 seed)
    {
        std::seed_seq sequence {seed};
        m_engine.seed(sequence);
    }

    quint32 generate() { return quint32(m_engine()); }
    quint64 generate64()
    {
        const quint64 low = generate();
        return low | (quint64(generate()) << 32);
    }
    /// 0 <= value < highest.
    quint32 bounded(quint32 highest) { return quint32((quint64(generate()) * highest) >> 32); }
    int bounded(int highest) { return int(bounded(quint32(highest))); }
    /// 0 <= value < highest, for 0 < highest < 2^63 (above, Qt's differs): 64-bit draws masked
    /// to highest's width, drawn again when too large.
    quint64 bounded(quint64 highest)
    {
        const quint64 mask = highest <= 1 ? 0 : ~quint64(0) >> __builtin_clzll(highest - 1);
        quint64 v;
        do {
            v = generate64() & mask;
        } while (v >= highest && highest > 0);
        return v;
    }
    /// 0 <= value < 1, from 53 random bits.
    double generateDouble() { return double(generate64() >> 11) / double(quint64(1) << 53); }

private:
    std::mt19937 m_engine;
};

} // namespace htap::workload
