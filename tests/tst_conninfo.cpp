// Unit tests: conninfo parsing/redaction, identifier quoting, counter rates. No server.
#include <metrics/counterrate.h>
#include <pg/conninfo.h>
#include <pg/identifier.h>
#include <pg/pgerror.h>

#include <QtTest>

using namespace Qt::StringLiterals;
using htap::pg::ConnInfo;

class TestConnInfo : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void parse_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<bool>("valid");
        QTest::addColumn<QString>("errorContains");
        QTest::addColumn<QString>("display");
        QTest::newRow("keywords") << u"host=db1 port=5433 dbname=shop user=dba"_s << true << QString() << u"dba@db1:5433/shop"_s;
        QTest::newRow("uri") << u"postgresql://dba@db1:5433/shop?sslmode=require"_s << true << QString() << u"dba@db1:5433/shop"_s;
        QTest::newRow("empty means libpq defaults") << QString() << true << QString() << u"(default host)"_s;
        QTest::newRow("service") << u"service=reports"_s << true << QString() << u"service reports"_s;
        QTest::newRow("quoted value") << u"host=db1 dbname='my shop'"_s << true << QString() << u"db1/my shop"_s;
        QTest::newRow("unknown keyword") << u"hostx=db1"_s << false << u"invalid connection option \"hostx\""_s << QString();
        QTest::newRow("missing =") << u"host"_s << false << u"missing \"=\""_s << QString();
        QTest::newRow("unterminated quote") << u"host='db1"_s << false << u"unterminated quoted string"_s << QString();
        QTest::newRow("bad percent") << u"postgresql://%zz"_s << false << u"percent-encoded"_s << QString();
        QTest::newRow("port not a number") << u"host=db1 port=abc"_s << false << u"invalid port \"abc\""_s << QString();
        QTest::newRow("port too big") << u"host=db1 port=70000"_s << false << u"invalid port"_s << QString();
        QTest::newRow("bad sslmode") << u"host=db1 sslmode=always"_s << false << u"invalid sslmode"_s << QString();
        QTest::newRow("bad connect_timeout") << u"connect_timeout=soon"_s << false << u"connect_timeout"_s << QString();
    }
    void parse()
    {
        QFETCH(QString, text);
        QFETCH(bool, valid);
        QFETCH(QString, errorContains);
        QFETCH(QString, display);
        QString error;
        const ConnInfo info = ConnInfo::parse(text, &error);
        QCOMPARE(error.isEmpty(), valid);
        if (!valid) {
            QVERIFY2(error.contains(errorContains), qPrintable(error));
            QVERIFY(!error.contains(u'\n'));
            return;
        }
        QCOMPARE(info.displayName(), display);
        // What we hand back to libpq parses to the same options.
        const ConnInfo again = ConnInfo::parse(info.toConnString(), &error);
        QVERIFY(error.isEmpty());
        QCOMPARE(again.options(), info.options());
    }

    void passwordIsRedacted_data()
    {
        QTest::addColumn<QString>("text");
        QTest::newRow("keyword") << u"host=db1 user=dba password=s3cr3t"_s;
        QTest::newRow("quoted with spaces") << u"host=db1 password='s3cr3t and more'"_s;
        QTest::newRow("uri") << u"postgresql://dba:s3cr3t@db1/shop"_s;
    }
    void passwordIsRedacted()
    {
        QFETCH(QString, text);
        QString error;
        const ConnInfo info = ConnInfo::parse(text, &error);
        QVERIFY(error.isEmpty());
        QVERIFY(info.contains(u"password"_s));
        QVERIFY(!info.redacted().contains(u"s3cr3t"_s));
        QVERIFY(info.redacted().contains(u"password=********"_s));
        QVERIFY(!info.displayName().contains(u"s3cr3t"_s));
        QVERIFY(!info.without(u"password"_s).toConnString().contains(u"s3cr3t"_s));
        QVERIFY(info.toConnString().contains(u"s3cr3t"_s)); // still usable for connecting
    }

    void withReplaces()
    {
        QString error;
        const ConnInfo info = ConnInfo::parse(u"host=a application_name=x"_s, &error).with(u"application_name"_s, u"y"_s);
        QCOMPARE(info.value(u"application_name"_s), u"y"_s);
        QCOMPARE(info.options().size(), 2);
    }

    void quoteValue_data()
    {
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("quoted");
        QTest::newRow("plain") << u"shop"_s << u"shop"_s;
        QTest::newRow("space") << u"my shop"_s << u"'my shop'"_s;
        QTest::newRow("quote") << u"O'Brien"_s << u"'O\\'Brien'"_s;
        QTest::newRow("backslash") << u"a\\b"_s << u"'a\\\\b'"_s;
        QTest::newRow("empty") << QString() << u"''"_s;
    }
    void quoteValue()
    {
        QFETCH(QString, value);
        QFETCH(QString, quoted);
        QCOMPARE(ConnInfo::quoteValue(value), quoted);
        QString error;
        const ConnInfo parsed = ConnInfo::parse(u"dbname="_s + quoted, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(parsed.value(u"dbname"_s), value);
    }

    void quoteIdentifier_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("quoted");
        QTest::newRow("lower") << u"orders"_s << u"\"orders\""_s;
        QTest::newRow("capitals keep case") << u"OrderEntry"_s << u"\"OrderEntry\""_s;
        QTest::newRow("space") << u"olap reader"_s << u"\"olap reader\""_s;
        QTest::newRow("double quote doubled") << u"a\"b"_s << u"\"a\"\"b\""_s;
        QTest::newRow("single quote as is") << u"O'Brien"_s << u"\"O'Brien\""_s;
        QTest::newRow("injection stays a name") << u"x\"; DROP TABLE orders; --"_s << u"\"x\"\"; DROP TABLE orders; --\""_s;
        QTest::newRow("unicode") << u"报表"_s << u"\"报表\""_s;
        QTest::newRow("empty refused") << QString() << QString();
        QTest::newRow("NUL refused") << QString(u"a"_s + QChar(0) + u"b"_s) << QString();
    }
    void quoteIdentifier()
    {
        QFETCH(QString, name);
        QFETCH(QString, quoted);
        QCOMPARE(htap::pg::quoteIdentifier(name), quoted);
    }

    void quoteQualified()
    {
        QCOMPARE(htap::pg::quoteQualified(u"htap"_s, u"Refresh Log"_s), u"\"htap\".\"Refresh Log\""_s);
        QVERIFY(htap::pg::quoteQualified(QString(), u"x"_s).isEmpty());
    }

    void counterRate()
    {
        QCOMPARE(*htap::metrics::counterRate(100, 160, 2.0), 30.0);
        QCOMPARE(*htap::metrics::counterRate(100, 100, 0.5), 0.0);
        QVERIFY(!htap::metrics::counterRate(500, 10, 1.0)); // reset: no negative rate
        QVERIFY(!htap::metrics::counterRate(1, 2, 0.0));    // no interval
        QVERIFY(!htap::metrics::counterRate(1, 2, -1.0));   // clock went back
    }

    void errorOneLine()
    {
        auto e = htap::pg::PgError::make(htap::pg::PgError::Kind::Server, u"relation \"x\"\ndoes not exist"_s);
        e.sqlstate = u"42P01"_s;
        QCOMPARE(e.oneLine(), u"SQLSTATE 42P01: relation \"x\" does not exist"_s);
        e.sqlstate = u"40001"_s;
        QVERIFY(e.isRetryable());
        QCOMPARE(e.sqlstateClass(), u"40"_s);
    }
};

QTEST_GUILESS_MAIN(TestConnInfo)
#include "tst_conninfo.moc"
