// The one masking function for statement texts of other sessions (style.md 14): every literal
// form PostgreSQL's lexer knows, comments, cut-off and unreadable texts.
#include <pg/statementtext.h>

#include <QtTest>

using namespace Qt::StringLiterals;
using htap::pg::maskStatement;

class TestMasking : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void everyLiteralFormIsMasked_data()
    {
        QTest::addColumn<QString>("sql");
        QTest::addColumn<QString>("expected");
        QTest::newRow("plain string") << u"ALTER ROLE app PASSWORD 's3cret'"_s << u"ALTER ROLE app PASSWORD $1"_s;
        QTest::newRow("quote inside") << u"create user x with password 'it''s me' login"_s
                                      << u"create user x with password $1 login"_s;
        QTest::newRow("escape string") << u"ALTER ROLE olap_user PASSWORD E'x-secret'"_s
                                       << u"ALTER ROLE olap_user PASSWORD $1"_s;
        QTest::newRow("escape string, escaped quote") << u"ALTER ROLE a PASSWORD E'a\\'b'"_s << u"ALTER ROLE a PASSWORD $1"_s;
        QTest::newRow("unicode escape string") << u"ALTER ROLE a PASSWORD U&'d\\0061t\\+000061'"_s
                                               << u"ALTER ROLE a PASSWORD $1"_s;
        QTest::newRow("unicode with UESCAPE") << u"SELECT U&'d!0061t' UESCAPE '!'"_s << u"SELECT $1 UESCAPE $2"_s;
        QTest::newRow("dollar quoted") << u"ALTER USER a PASSWORD $$p$$"_s << u"ALTER USER a PASSWORD $1"_s;
        QTest::newRow("tagged dollar quote") << u"ALTER USER a PASSWORD $pw$x'y$pw$"_s << u"ALTER USER a PASSWORD $1"_s;
        QTest::newRow("national") << u"SELECT N'secret'"_s << u"SELECT N $1"_s; // N is a token of its own, and so is $1
        QTest::newRow("bit and hex") << u"SELECT B'1010', X'1F'"_s << u"SELECT $1, $2"_s;
        QTest::newRow("numbers") << u"SELECT 42, -1.5e3, .5 FROM t LIMIT 10"_s << u"SELECT $1, -$2, $3 FROM t LIMIT $4"_s;
        QTest::newRow("after its own parameters") << u"SELECT $2 + 7 WHERE a = $1"_s << u"SELECT $2 + $3 WHERE a = $1"_s;
        QTest::newRow("typed literal") << u"SELECT interval '1 day', date '2024-01-01'"_s << u"SELECT interval $1, date $2"_s;
        QTest::newRow("copy program") << u"COPY t FROM PROGRAM 'curl http://x?k=secret'"_s << u"COPY t FROM PROGRAM $1"_s;
        QTest::newRow("user mapping") << u"CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'bob', password 'pw')"_s
                                      << u"CREATE USER MAPPING FOR bob SERVER s OPTIONS (user $1, password $2)"_s;
        QTest::newRow("dblink") << u"SELECT dblink_connect('host=h password=pw')"_s << u"SELECT dblink_connect($1)"_s;
        QTest::newRow("block comment") << u"SELECT 1 /* password 'x' */ FROM t"_s << u"SELECT $1  FROM t"_s;
        QTest::newRow("line comment") << u"SELECT a -- key=secret\nFROM t"_s << u"SELECT a \nFROM t"_s;
        QTest::newRow("comment between words") << u"SELECT a/*x*/FROM t"_s << u"SELECT a FROM t"_s;
        QTest::newRow("two statements") << u"SELECT 'x'; ALTER ROLE a PASSWORD 'y'"_s << u"SELECT $1; ALTER ROLE a PASSWORD $2"_s;
        QTest::newRow("identifiers stay") << u"UPDATE \"Orders\" SET status = 'paid' WHERE id = 7"_s
                                          << u"UPDATE \"Orders\" SET status = $1 WHERE id = $2"_s;
        QTest::newRow("non-ASCII") << u"SELECT 'café' AS \"naïve\""_s << u"SELECT $1 AS \"naïve\""_s;
        QTest::newRow("nothing to hide") << u"SELECT count(*) FROM orders"_s << u"SELECT count(*) FROM orders"_s;
        QTest::newRow("empty") << QString() << QString();
        // Cut off by track_activity_query_size inside a literal: what was read, then "…".
        QTest::newRow("cut inside a string") << u"ALTER ROLE a PASSWORD 'abcdef"_s << u"ALTER ROLE a PASSWORD …"_s;
        QTest::newRow("cut inside E string") << u"SELECT 1, E'x-sec"_s << u"SELECT $1, …"_s;
        QTest::newRow("cut inside dollar quote") << u"DO $$ BEGIN PERFORM 'x"_s << u"DO …"_s;
        QTest::newRow("cut inside a comment") << u"SELECT 1 /* password 'x"_s << u"SELECT $1 …"_s;
        QTest::newRow("unreadable from the start") << u"'secret"_s << QString::fromLatin1(htap::pg::kWithheldStatement);
        QTest::newRow("NUL byte") << u"SELECT 'a'"_s + QChar(0) + u"'secret'"_s << u"SELECT $1 …"_s;
        // Found by tests/fuzz (fuzz_masking): "$2GROUPING" is trailing junk to the lexer, so the
        // masked text itself was withheld when masked again (a snapshot re-masks on reading).
        QTest::newRow("literal against a word") << u"SELECT B'1010', X'1F'GROUPING SETS"_s << u"SELECT $1, $2 GROUPING SETS"_s;
        QTest::newRow("literal against non-ASCII") << u"SELECT 'a'é, 'b'_x"_s << u"SELECT $1 é, $2 _x"_s;
        // "ROLE$1" would be a word, "$tSWf$2" the opening tag of a dollar quote.
        QTest::newRow("literal after a word") << u"ALTER ROLE'b\nc', $tSWf'01', X'ff'"_s << u"ALTER ROLE $1, $tSWf $2, $3"_s;
        // Numbering on from the highest parameter must not overflow (UBSan).
        QTest::newRow("parameter at int's limit") << u"SELECT $2147483647, 1"_s << u"SELECT $2147483647, $2147483648"_s;
        QTest::newRow("parameter past int") << u"SELECT $99999999999, 1"_s << u"SELECT $99999999999, $2147483648"_s;
    }
    void everyLiteralFormIsMasked()
    {
        QFETCH(QString, sql);
        QFETCH(QString, expected);
        const QString masked = maskStatement(sql);
        QCOMPARE(masked, expected);
        QCOMPARE(maskStatement(masked), masked); // masking twice changes nothing
    }

    void noSecretSurvives()
    {
        // Whatever the form, the word inside the literal is gone.
        const QStringList forms {u"'%1'"_s, u"E'%1'"_s, u"e'%1'"_s, u"U&'%1'"_s, u"u&'%1'"_s, u"$$%1$$"_s, u"$q$%1$q$"_s,
            u"N'%1'"_s, u"'a' '%1'"_s, u"'a'\n'%1'"_s};
        for (const QString& form : forms) {
            const QString sql = u"ALTER ROLE r PASSWORD "_s + form.arg(u"hunter2"_s);
            QVERIFY2(!maskStatement(sql).contains(u"hunter2"_s), qPrintable(sql + u" -> "_s + maskStatement(sql)));
        }
    }
};

QTEST_APPLESS_MAIN(TestMasking)
#include "tst_masking.moc"
