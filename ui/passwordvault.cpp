#include "passwordvault.h"

#include "settings.h"

#include <qt6keychain/keychain.h>

#include <QStringList>

namespace htap::ui {

using namespace Qt::StringLiterals;

namespace {

QString describe(QKeychain::Error error, const QString& text)
{
    switch (error) {
    case QKeychain::NoBackendAvailable:
        return QObject::tr("no keyring service answers (GNOME Keyring, KWallet or another Secret Service); %1").arg(text);
    case QKeychain::AccessDeniedByUser:
    case QKeychain::AccessDenied:
        return QObject::tr("the keyring refused access: %1").arg(text);
    default:
        return text;
    }
}

} // namespace

PasswordVault::PasswordVault(QObject* parent)
    : QObject(parent)
{
}

QString PasswordVault::serviceName()
{
    return u"HTAP Studio"_s;
}

QString PasswordVault::keyFor(const htap::pg::ConnInfo& info)
{
    QStringList parts;
    for (const auto& [key, value] : info.options())
        if (key != u"password"_s && key != u"sslpassword"_s)
            parts << key + u'=' + htap::pg::ConnInfo::quoteValue(value);
    parts.sort();
    return parts.join(u' ');
}

void PasswordVault::probe()
{
    if (m_probing || m_availability != Availability::Unknown)
        return;
    if (qEnvironmentVariableIsEmpty("DBUS_SESSION_BUS_ADDRESS")) {
        // libsecret would try to start a bus of its own through X11 and wait for it.
        m_availability = Availability::Unavailable;
        m_reason = tr("no desktop session (D-Bus) to reach a keyring through");
        Q_EMIT availabilityKnown();
        return;
    }
    m_probing = true;
    auto* job = new QKeychain::ReadPasswordJob(serviceName(), this);
    job->setAutoDelete(true);
    job->setInsecureFallback(false);
    job->setKey(u"availability probe"_s);
    connect(job, &QKeychain::Job::finished, this, [this](QKeychain::Job* j) {
        m_probing = false;
        const bool ok = j->error() == QKeychain::NoError || j->error() == QKeychain::EntryNotFound;
        m_availability = ok ? Availability::Available : Availability::Unavailable;
        m_reason = ok ? QString() : describe(j->error(), j->errorString());
        Q_EMIT availabilityKnown();
    });
    job->start();
}

bool PasswordVault::hasPassword(const htap::pg::ConnInfo& info)
{
    return Settings::rememberedPasswords().contains(keyFor(info));
}

void PasswordVault::store(const htap::pg::ConnInfo& info, const QString& password, QObject* context,
    const std::function<void(const QString&)>& done)
{
    const QString key = keyFor(info);
    auto* job = new QKeychain::WritePasswordJob(serviceName(), this);
    job->setAutoDelete(true);
    job->setInsecureFallback(false); // never a file of ours
    job->setKey(key);
    job->setTextData(password);
    connect(job, &QKeychain::Job::finished, context, [key, done](QKeychain::Job* j) {
        const bool ok = j->error() == QKeychain::NoError;
        Settings::setPasswordRemembered(key, ok);
        done(ok ? QString() : describe(j->error(), j->errorString()));
    });
    job->start();
}

void PasswordVault::fetch(const htap::pg::ConnInfo& info, QObject* context,
    const std::function<void(const QString&, const QString&)>& done)
{
    const QString key = keyFor(info);
    auto* job = new QKeychain::ReadPasswordJob(serviceName(), this);
    job->setAutoDelete(true);
    job->setInsecureFallback(false);
    job->setKey(key);
    connect(job, &QKeychain::Job::finished, context, [key, done](QKeychain::Job* j) {
        auto* read = static_cast<QKeychain::ReadPasswordJob*>(j);
        if (j->error() == QKeychain::EntryNotFound) {
            Settings::setPasswordRemembered(key, false); // removed by hand in the keyring
            done({}, {});
        } else {
            done(j->error() == QKeychain::NoError ? read->textData() : QString(),
                j->error() == QKeychain::NoError ? QString() : describe(j->error(), j->errorString()));
        }
    });
    job->start();
}

void PasswordVault::forget(const htap::pg::ConnInfo& info)
{
    const QString key = keyFor(info);
    if (!Settings::rememberedPasswords().contains(key))
        return;
    Settings::setPasswordRemembered(key, false);
    auto* job = new QKeychain::DeletePasswordJob(serviceName(), this);
    job->setAutoDelete(true);
    job->setInsecureFallback(false);
    job->setKey(key);
    job->start();
}

} // namespace htap::ui
