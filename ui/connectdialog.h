#pragma once

#include <pg/conninfo.h>

#include <QDialog>
#include <QPointer>

#include <memory>

namespace Ui {
class ConnectDialog;
}

namespace htap::ui {

class PasswordVault;

/// Choose a server: a conninfo string or URI, or a saved profile (never with a password),
/// or the sandbox. Validates as you type; does no network work itself.
class ConnectDialog : public QDialog
{
    Q_OBJECT
public:
    enum class Choice { Connect, StartSandbox };

    /// vault: where a password the user asks to remember goes (nullptr: the option is hidden).
    explicit ConnectDialog(QWidget* parent = nullptr, PasswordVault* vault = nullptr);
    ~ConnectDialog() override;

    Choice choice() const { return m_choice; }
    /// The validated connection (with a typed password, in memory only).
    htap::pg::ConnInfo connInfo() const { return m_info; }
    void setConnInfoText(const QString& text);
    void setPasswordText(const QString& text);
    /// The user ticked "Remember the password" (and typed one, and the keyring answers).
    bool rememberPassword() const;

private:
    void loadProfiles(const QString& select);
    void validate();
    void saveProfile();
    void deleteProfile();
    void showKeyringState();

    std::unique_ptr<Ui::ConnectDialog> m_ui;
    Choice m_choice = Choice::Connect;
    htap::pg::ConnInfo m_info;
    QPointer<PasswordVault> m_vault;
};

} // namespace htap::ui
