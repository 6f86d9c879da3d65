#include "connectdialog.h"
#include "colours.h"

#include "passwordvault.h"
#include "settings.h"
#include "ui_connectdialog.h"

#include <QCheckBox>
#include <QInputDialog>
#include <QPushButton>

namespace htap::ui {

using namespace Qt::StringLiterals;

ConnectDialog::ConnectDialog(QWidget* parent, PasswordVault* vault)
    : QDialog(parent)
    , m_ui(std::make_unique<Ui::ConnectDialog>())
    , m_vault(vault)
{
    m_ui->setupUi(this);
    m_ui->rememberCheck->setVisible(vault != nullptr);
    if (vault) {
        connect(vault, &PasswordVault::availabilityKnown, this, &ConnectDialog::showKeyringState);
        vault->probe(); // asynchronous: the option stays off until the keyring answers
    }
    m_ui->buttonBox->button(QDialogButtonBox::Ok)->setText(tr("&Connect"));
    connect(m_ui->connInfoEdit, &QLineEdit::textChanged, this, &ConnectDialog::validate);
    connect(m_ui->passwordEdit, &QLineEdit::textChanged, this, &ConnectDialog::validate);
    connect(m_ui->rememberCheck, &QCheckBox::toggled, this, &ConnectDialog::validate);
    connect(m_ui->profileCombo, &QComboBox::activated, this, [this](int index) {
        if (index > 0) {
            m_ui->connInfoEdit->setText(m_ui->profileCombo->itemData(index).toString());
            Settings::setLastProfile(m_ui->profileCombo->itemText(index));
        }
        m_ui->deleteProfileButton->setEnabled(index > 0);
    });
    connect(m_ui->saveProfileButton, &QPushButton::clicked, this, &ConnectDialog::saveProfile);
    connect(m_ui->deleteProfileButton, &QPushButton::clicked, this, &ConnectDialog::deleteProfile);
    connect(m_ui->sandboxButton, &QPushButton::clicked, this, [this] {
        m_choice = Choice::StartSandbox;
        accept();
    });
    connect(m_ui->buttonBox, &QDialogButtonBox::accepted, this, [this] {
        m_choice = Choice::Connect;
        accept();
    });
    connect(m_ui->buttonBox, &QDialogButtonBox::rejected, this, &QDialog::reject);
    loadProfiles(Settings::lastProfile());
    validate();
    showKeyringState();
}

ConnectDialog::~ConnectDialog() = default;

void ConnectDialog::setConnInfoText(const QString& text)
{
    m_ui->connInfoEdit->setText(text);
}

void ConnectDialog::setPasswordText(const QString& text)
{
    m_ui->passwordEdit->setText(text);
}

bool ConnectDialog::rememberPassword() const
{
    return m_vault && m_vault->availability() == PasswordVault::Availability::Available
        && m_ui->rememberCheck->isChecked() && m_info.contains(u"password"_s);
}

void ConnectDialog::showKeyringState()
{
    if (!m_vault)
        return;
    auto* check = m_ui->rememberCheck;
    switch (m_vault->availability()) {
    case PasswordVault::Availability::Unknown:
        check->setEnabled(false);
        check->setToolTip(tr("Asking the desktop's keyring…"));
        break;
    case PasswordVault::Availability::Available:
        check->setEnabled(m_info.contains(u"password"_s));
        check->setToolTip(tr("Kept in the desktop's keyring (service \"%1\"), never in a file; "
                             "removing the server from the list forgets it")
                .arg(PasswordVault::serviceName()));
        break;
    case PasswordVault::Availability::Unavailable:
        check->setChecked(false);
        check->setEnabled(false);
        check->setText(tr("Remember the password: unavailable, %1").arg(m_vault->unavailableReason()));
        check->setToolTip(tr("Passwords are kept only in a desktop keyring (GNOME Keyring, KWallet or another "
                             "Secret Service), never in a file; ~/.pgpass or PGPASSWORD work as with psql"));
        break;
    }
}

void ConnectDialog::loadProfiles(const QString& select)
{
    m_ui->profileCombo->clear();
    m_ui->profileCombo->addItem(tr("(none)"));
    for (const auto& p : Settings::profiles())
        m_ui->profileCombo->addItem(p.name, p.connInfo);
    const int index = select.isEmpty() ? 0 : std::max(0, m_ui->profileCombo->findText(select));
    m_ui->profileCombo->setCurrentIndex(index);
    if (index > 0)
        m_ui->connInfoEdit->setText(m_ui->profileCombo->itemData(index).toString());
    m_ui->deleteProfileButton->setEnabled(index > 0);
}

void ConnectDialog::validate()
{
    QString error;
    m_info = htap::pg::ConnInfo::parse(m_ui->connInfoEdit->text(), &error);
    if (error.isEmpty() && !m_ui->passwordEdit->text().isEmpty())
        m_info = m_info.with(u"password"_s, m_ui->passwordEdit->text());
    auto* ok = m_ui->buttonBox->button(QDialogButtonBox::Ok);
    ok->setEnabled(error.isEmpty());
    m_ui->saveProfileButton->setEnabled(error.isEmpty() && !m_info.isEmpty());
    if (m_vault && m_vault->availability() == PasswordVault::Availability::Available)
        m_ui->rememberCheck->setEnabled(m_info.contains(u"password"_s));
    if (!error.isEmpty()) {
        m_ui->validationLabel->setStyleSheet(u"color: %1"_s.arg(colours::toneText(colours::Tone::Bad, palette()).name()));
        m_ui->validationLabel->setText(tr("Not a valid conninfo: %1").arg(error));
    } else if (m_info.isEmpty()) {
        m_ui->validationLabel->setStyleSheet({});
        m_ui->validationLabel->setText(tr("Empty: libpq defaults (PGHOST, PGPORT, PGUSER, PGDATABASE…) apply."));
    } else {
        m_ui->validationLabel->setStyleSheet({});
        QString text = tr("Connects to %1").arg(m_info.displayName());
        if (m_info.contains(u"password"_s))
            text += m_ui->rememberCheck->isChecked() && m_ui->rememberCheck->isEnabled()
                ? tr(" — the password goes to the desktop's keyring once the server accepts it")
                : tr(" — the password is used for this connection only and is never saved");
        m_ui->validationLabel->setText(text);
    }
}

void ConnectDialog::saveProfile()
{
    bool ok = false;
    const QString name = QInputDialog::getText(this, tr("Save profile"), tr("Profile name:"), QLineEdit::Normal,
        m_info.displayName(), &ok).trimmed();
    if (!ok || name.isEmpty())
        return;
    Settings::saveProfile({name, m_ui->connInfoEdit->text()});
    Settings::setLastProfile(name);
    const QString typed = m_ui->connInfoEdit->text();
    loadProfiles(name);
    m_ui->connInfoEdit->setText(typed); // keep a typed password for this connection
}

void ConnectDialog::deleteProfile()
{
    const int index = m_ui->profileCombo->currentIndex();
    if (index <= 0)
        return;
    Settings::removeProfile(m_ui->profileCombo->itemText(index));
    loadProfiles({});
}

} // namespace htap::ui
