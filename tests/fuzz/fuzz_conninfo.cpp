// Connection strings: ConnInfo::parse as the connect dialog validates what is typed (and the
// --connect option, the saved server list), with a typed password added the way the dialog does.
// Input: the conninfo, optionally a newline and the typed password. A conninfo that parses must
// come back the same from toConnString(), and neither redacted() nor displayName() may show the
// password.
#include "fuzzutil.h"

#include <pg/conninfo.h>

using namespace Qt::StringLiterals;
using htap::fuzz::check;
using htap::pg::ConnInfo;

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    htap::fuzz::quietQt();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const QString input = QString::fromUtf8(htap::fuzz::bytes(data, size));
    const qsizetype newline = input.indexOf(u'\n');
    const QString text = newline < 0 ? input : input.left(newline);
    // A conninfo is a C string: a NUL cannot reach libpq, and the dialog's password field gets
    // none from the keyboard.
    const QString typed = newline < 0 ? QString() : input.mid(newline + 1).section(QChar(0), 0, 0);

    QString error;
    ConnInfo info = ConnInfo::parse(text, &error);
    if (!error.isEmpty()) {
        check(info.isEmpty(), "a refused conninfo is empty");
        check(!error.contains(u'\n'), "the message is one line", error);
        return 0;
    }
    if (!typed.isEmpty())
        info = info.with(u"password"_s, typed); // ConnectDialog::validate

    const QString display = info.displayName();
    const QString redacted = info.redacted();
    QString again;
    const ConnInfo back = ConnInfo::parse(info.toConnString(), &again);
    check(again.isEmpty(), "toConnString() parses", info.toConnString() + u"\n"_s + again);
    // libpq gives each keyword once, in its own order; with() appends the password.
    for (const auto& [keyword, value] : info.options())
        check(back.value(keyword) == value && back.contains(keyword), "toConnString() keeps every value",
            keyword + u"="_s + value + u" -> "_s + back.value(keyword));
    check(back.options().size() == info.options().size(), "toConnString() adds nothing", info.toConnString());

    // A password that is also part of another value, or that could span the separators of the
    // texts shown, proves nothing.
    const QString password = info.value(u"password"_s);
    bool elsewhere = u"(default host)service password"_s.contains(password);
    for (const auto& [keyword, value] : info.options())
        elsewhere |= keyword != u"password"_s && (value.contains(password) || keyword.contains(password));
    for (const QChar c : u" =@:/\\'*"_s)
        elsewhere |= password.contains(c);
    if (password.size() >= 4 && !elsewhere) {
        check(!display.contains(password), "displayName() never shows the password", display);
        check(!redacted.contains(password), "redacted() never shows the password", redacted);
    }
    QString redactedError;
    const ConnInfo fromRedacted = ConnInfo::parse(redacted, &redactedError);
    check(redactedError.isEmpty(), "redacted() parses", redacted + u"\n"_s + redactedError);
    check(fromRedacted.options().size() == info.options().size(), "redacted() keeps every keyword", redacted);
    return 0;
}
