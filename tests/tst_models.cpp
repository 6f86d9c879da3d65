// Item models of the monitoring pages, checked with QAbstractItemModelTester on hand-built
// samples (the integration tests build the real situations).
#include <ui/blockingtreemodel.h>
#include <ui/snapshottablemodel.h>
#include <monitor/classifier.h>
#include <monitor/probes.h>

#include <QAbstractItemModelTester>
#include <QtTest>

using namespace Qt::StringLiterals;
using namespace htap::monitor;
using htap::ui::BlockingTreeModel;
using htap::ui::SnapshotTableModel;

namespace {
LockNode node(int pid, QList<int> blockedBy, const QString& mode = {})
{
    LockNode n;
    n.pid = pid;
    n.blockedBy = std::move(blockedBy);
    n.lockMode = mode;
    n.role = u"r%1"_s.arg(pid);
    n.query = u"SELECT %1"_s.arg(pid);
    return n;
}
} // namespace

class TestModels : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void blockingTreeIsADagShownAsATree()
    {
        // 10 holds a row; 11 waits for 10; 12 (ALTER) waits for 10 and 11; 13 waits for 12;
        // a prepared transaction (0) blocks 20.
        LockSample s;
        s.nodes = {node(10, {}), node(11, {10}, u"ShareLock"_s), node(12, {10, 11}, u"AccessExclusiveLock"_s),
            node(13, {12}, u"AccessShareLock"_s), node(20, {0}, u"RowExclusiveLock"_s)};
        LockNode prepared = node(0, {});
        prepared.preparedTransactions = {{u"px1"_s, u"app"_s, u"shop"_s, 39}};
        s.nodes.append(prepared);
        s.roots = {0, 10};
        BlockingTreeModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setSample(s);
        QCOMPARE(model.rowCount(), 2);
        const QModelIndex px = model.index(0, 0);
        QCOMPARE(px.data(BlockingTreeModel::PidRole).toInt(), 0);
        QVERIFY(px.data().toString().contains(u"px1"_s));
        QCOMPARE(model.rowCount(px), 1);
        const QModelIndex root = model.index(1, 0);
        QCOMPARE(root.data(BlockingTreeModel::PidRole).toInt(), 10);
        QCOMPARE(model.index(1, BlockingTreeModel::Blocks).data().toInt(), 3);
        // Each session once, under its nearest blocker: 11 and 12 under 10 (12 is also
        // blocked by 11, said in its own column), 13 under 12.
        QCOMPARE(model.rowCount(root), 2);
        const QModelIndex i11 = model.index(0, 0, root);
        const QModelIndex i12 = model.index(1, 0, root);
        QCOMPARE(i11.data(BlockingTreeModel::PidRole).toInt(), 11);
        QCOMPARE(i12.data(BlockingTreeModel::PidRole).toInt(), 12);
        QCOMPARE(model.rowCount(i11), 0);
        QCOMPARE(model.index(1, BlockingTreeModel::AlsoBlockedBy, root).data().toString(), u"11"_s);
        QCOMPARE(model.index(0, 0, i12).data(BlockingTreeModel::PidRole).toInt(), 13);
        QCOMPARE(model.parent(model.index(0, 0, i12)), i12);
        QCOMPARE(model.node(i12).lockMode, u"AccessExclusiveLock"_s);
        model.setSample({});
        QCOMPARE(model.rowCount(), 0);
    }

    void aLongLockQueueStaysLinear()
    {
        // 2000 sessions queued for one lock: each is blocked by the holder and by everyone
        // ahead of it (soft blocks). Shown as a tree with duplicates this would be 2^2000 rows.
        LockSample s;
        s.nodes.append(node(1, {}));
        for (int k = 0; k < 2000; ++k) {
            QList<int> ahead {1};
            for (int j = 0; j < std::min(k, 50); ++j) // the head of the queue, enough to make a dense DAG
                ahead.append(100 + j);
            s.nodes.append(node(100 + k, ahead, u"AccessExclusiveLock"_s));
        }
        s.roots = {1};
        BlockingTreeModel model;
        model.setSample(s);
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.rowCount(model.index(0, 0)), 2000);
        QCOMPARE(s.totalWaitersUnder(1), 2000);
    }

    void blockingTreeSurvivesACycle()
    {
        // A deadlock before the server breaks it: nobody is a root, yet both are shown, no hang.
        LockSample s;
        s.nodes = {node(1, {2}), node(2, {1})};
        BlockingTreeModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setSample(s);
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.rowCount(model.index(0, 0)), 1);
        QCOMPARE(s.totalWaitersUnder(1), 1);
    }

    void classifier_data()
    {
        QTest::addColumn<QString>("role");
        QTest::addColumn<QString>("app");
        QTest::addColumn<int>("expected");
        QTest::newRow("seed oltp role") << u"oltp_user"_s << QString() << int(WorkloadClass::Oltp);
        QTest::newRow("seed olap role") << u"olap_user"_s << QString() << int(WorkloadClass::Olap);
        QTest::newRow("wildcard role") << u"report_eu"_s << QString() << int(WorkloadClass::Olap);
        QTest::newRow("case matters") << u"OLTP_USER"_s << QString() << int(WorkloadClass::Other);
        QTest::newRow("by application") << u"postgres"_s << u"htap-studio olap demo"_s << int(WorkloadClass::Olap);
        QTest::newRow("role wins over application") << u"oltp_user"_s << u"htap-studio olap x"_s << int(WorkloadClass::Oltp);
        QTest::newRow("nothing") << u"postgres"_s << u"psql"_s << int(WorkloadClass::Other);
    }
    void classifier()
    {
        QFETCH(QString, role);
        QFETCH(QString, app);
        QFETCH(int, expected);
        WorkloadClassifier c;
        c.olapRoles << u"report_*"_s;
        QCOMPARE(int(c.classify(role, app)), expected);
    }

    void snapshotTableSortsNumbersAsNumbers()
    {
        SnapshotTableModel model({u"table"_s, u"dead"_s});
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setRows({{{u"a"_s, u"9"_s}, {u"a"_s, 9}, u"a"_s, {}, {}, {}}, {{u"b"_s, u"10"_s}, {u"b"_s, 10}, u"b"_s, Qt::red, {}, {}}});
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.columnCount(), 2);
        QCOMPARE(model.index(1, 1).data(SnapshotTableModel::SortRole).toInt(), 10);
        QCOMPARE(model.index(1, 0).data(Qt::BackgroundRole).value<QColor>(), QColor(Qt::red));
        QCOMPARE(model.rowOf(u"b"_s), 1);
        QCOMPARE(model.headerData(1, Qt::Horizontal, Qt::DisplayRole).toString(), u"dead"_s);
    }
};

QTEST_MAIN(TestModels)
#include "tst_models.moc"
