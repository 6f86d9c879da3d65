#pragma once

#include <QObject>
#include <QPointer>
#include <QString>

#include <functional>

#include <pg/conninfo.h>

namespace htap::ui {

/// Passwords the user chose to remember, kept in the desktop's keyring (libsecret: GNOME
/// Keyring, KeePassXC; or KWallet) through QtKeychain, never in a file we write: no insecure
/// fallback. Every call is asynchronous (D-Bus); the answers come back on the GUI thread.
/// Which servers have one is kept in Settings (the fact, not the secret).
class PasswordVault : public QObject
{
    Q_OBJECT
public:
    enum class Availability { Unknown, Available, Unavailable };

    explicit PasswordVault(QObject* parent = nullptr);

    /// The keyring's name for a server: its options without secrets, in keyword order, so that
    /// the same server written another way is the same entry.
    static QString keyFor(const htap::pg::ConnInfo& info);

    /// Asks the keyring once whether it answers (Unknown until then; availabilityKnown after).
    void probe();
    Availability availability() const { return m_availability; }
    /// Why the keyring cannot be used, in words ("no D-Bus session: …").
    QString unavailableReason() const { return m_reason; }

    /// Keeps the password of this server; done(error) with an empty error when kept.
    void store(const htap::pg::ConnInfo& info, const QString& password, QObject* context,
        const std::function<void(const QString& error)>& done);
    /// Whether a password of this server was kept (by store).
    static bool hasPassword(const htap::pg::ConnInfo& info);
    /// done(password, error): an empty password with an empty error when the keyring has none.
    void fetch(const htap::pg::ConnInfo& info, QObject* context,
        const std::function<void(const QString& password, const QString& error)>& done);
    /// Removes this server's password from the keyring (removing the server does).
    void forget(const htap::pg::ConnInfo& info);

    static QString serviceName();

Q_SIGNALS:
    void availabilityKnown();

private:
    Availability m_availability = Availability::Unknown;
    QString m_reason;
    bool m_probing = false;
};

} // namespace htap::ui
