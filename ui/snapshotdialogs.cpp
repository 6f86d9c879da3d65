#include "snapshotdialogs.h"
#include "colours.h"

#include <core/format.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDateTimeEdit>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QStandardPaths>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>

namespace htap::ui {

using namespace Qt::StringLiterals;
using namespace htap::report;

ExportSnapshotDialog::ExportSnapshotDialog(const QDateTime& lastRunFrom, const QDateTime& lastRunTo,
    const QDateTime& shownFrom, const QDateTime& shownTo, QWidget* parent)
    : QDialog(parent)
    , m_runFrom(lastRunFrom)
    , m_runTo(lastRunTo)
    , m_shownFrom(shownFrom)
    , m_shownTo(shownTo)
    , m_title(new QLineEdit(this))
    , m_note(new QPlainTextEdit(this))
    , m_preset(new QComboBox(this))
    , m_from(new QDateTimeEdit(this))
    , m_to(new QDateTimeEdit(this))
    , m_folder(new QLineEdit(QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation), this))
    , m_baseName(new QLineEdit(this))
{
    setWindowTitle(tr("Export snapshot"));
    m_title->setPlaceholderText(tr("e.g. Before changing the OLAP role"));
    m_note->setPlaceholderText(tr("What was going on, what changed, the ticket…"));
    m_note->setMaximumHeight(80);
    m_preset->addItem(tr("Last 5 minutes"), 300);
    m_preset->addItem(tr("Last hour"), 3600);
    m_preset->addItem(tr("The last scenario run"), -1);
    m_preset->addItem(tr("The window picked on a chart (Shift + drag), or what the charts show"), -2);
    m_preset->addItem(tr("From … to …"), 0);
    if (!m_runFrom.isValid())
        m_preset->setItemData(2, 0, Qt::UserRole - 1); // disabled: no run yet
    for (QDateTimeEdit* e : {m_from, m_to}) {
        e->setDisplayFormat(u"yyyy-MM-dd HH:mm:ss"_s);
        e->setCalendarPopup(true);
    }
    m_to->setDateTime(QDateTime::currentDateTime());
    m_from->setDateTime(QDateTime::currentDateTime().addSecs(-300));
    m_baseName->setText(u"snapshot-"_s + QDateTime::currentDateTime().toString(u"yyyyMMdd-HHmmss"_s));

    auto* formats = new QHBoxLayout;
    for (const auto& [f, text, on] : {std::tuple {Format::Html, tr("HTML report"), true}, {Format::Json, tr("JSON"), true},
             {Format::Csv, tr("CSV"), false}, {Format::Pdf, tr("PDF report"), false}, {Format::Png, tr("PNG charts"), false}}) {
        auto* box = new QCheckBox(text, this);
        box->setChecked(on);
        formats->addWidget(box);
        m_formats.append({f, box});
        connect(box, &QCheckBox::toggled, this, &ExportSnapshotDialog::validate);
    }
    auto* browse = new QPushButton(tr("Choose…"), this);
    auto* folderRow = new QHBoxLayout;
    folderRow->addWidget(m_folder, 1);
    folderRow->addWidget(browse);
    auto* window = new QHBoxLayout;
    window->addWidget(m_preset);
    window->addWidget(m_from);
    window->addWidget(new QLabel(tr("to"), this));
    window->addWidget(m_to);

    auto* form = new QFormLayout;
    form->addRow(tr("Title"), m_title);
    form->addRow(tr("Note"), m_note);
    form->addRow(tr("Window"), window);
    form->addRow(tr("Formats"), formats);
    form->addRow(tr("Folder"), folderRow);
    form->addRow(tr("File name"), m_baseName);
    auto* hint = new QLabel(tr("The snapshot is also kept in the history file. Files are written whole or not at all."), this);
    hint->setWordWrap(true);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    buttons->addButton(tr("Export"), QDialogButtonBox::AcceptRole)->setObjectName(u"exportButton"_s);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(hint);
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_preset, &QComboBox::currentIndexChanged, this, &ExportSnapshotDialog::onPreset);
    connect(m_from, &QDateTimeEdit::dateTimeChanged, this, &ExportSnapshotDialog::validate);
    connect(m_to, &QDateTimeEdit::dateTimeChanged, this, &ExportSnapshotDialog::validate);
    connect(m_folder, &QLineEdit::textChanged, this, &ExportSnapshotDialog::validate);
    connect(m_baseName, &QLineEdit::textChanged, this, &ExportSnapshotDialog::validate);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Export into"), m_folder->text());
        if (!d.isEmpty())
            m_folder->setText(d);
    });
    onPreset();
}

void ExportSnapshotDialog::onPreset()
{
    const int seconds = m_preset->currentData().toInt();
    const bool custom = seconds == 0;
    m_from->setEnabled(custom);
    m_to->setEnabled(custom);
    if (seconds > 0) {
        m_to->setDateTime(QDateTime::currentDateTime());
        m_from->setDateTime(QDateTime::currentDateTime().addSecs(-seconds));
    } else if (seconds == -1 && m_runFrom.isValid()) {
        m_from->setDateTime(m_runFrom.toLocalTime());
        m_to->setDateTime(m_runTo.toLocalTime());
    } else if (seconds == -2 && m_shownFrom.isValid()) {
        m_from->setDateTime(m_shownFrom.toLocalTime());
        m_to->setDateTime(m_shownTo.toLocalTime());
    }
    validate();
}

void ExportSnapshotDialog::validate()
{
    auto* ok = findChild<QPushButton*>(u"exportButton"_s);
    QString why;
    if (m_to->dateTime() <= m_from->dateTime())
        why = tr("The window is empty: “to” must be after “from”.");
    else if (std::none_of(m_formats.begin(), m_formats.end(), [](const auto& f) { return f.second->isChecked(); }))
        why = tr("Choose at least one format.");
    else if (m_folder->text().trimmed().isEmpty() || m_baseName->text().trimmed().isEmpty()
        || m_baseName->text().contains(u'/'))
        why = tr("Choose a folder and a file name (without '/').");
    if (ok) {
        ok->setEnabled(why.isEmpty());
        ok->setToolTip(why);
    }
}

void ExportSnapshotDialog::pickShownRange()
{
    m_preset->setCurrentIndex(m_preset->findData(-2));
}

ExportRequest ExportSnapshotDialog::request() const
{
    ExportRequest r;
    r.title = m_title->text();
    r.note = m_note->toPlainText();
    // Presets end now (when Export is pressed), not when the dialog opened.
    const int seconds = m_preset->currentData().toInt();
    r.to = seconds > 0 ? QDateTime::currentDateTimeUtc() : m_to->dateTime().toUTC();
    r.from = seconds > 0 ? r.to.addSecs(-seconds) : m_from->dateTime().toUTC();
    for (const auto& [f, box] : m_formats)
        if (box->isChecked())
            r.formats << f;
    r.folder = m_folder->text().trimmed();
    r.baseName = m_baseName->text().trimmed();
    return r;
}

CompareSnapshotsDialog::CompareSnapshotsDialog(const Snapshot& a, const Snapshot& b, QWidget* parent)
    : QDialog(parent)
    , m_table(new QTableWidget(0, 5, this))
{
    setWindowTitle(tr("Compare snapshots"));
    m_table->setObjectName(u"compareTable"_s);
    m_table->setHorizontalHeaderLabels({tr("figure"), tr("A"), tr("B"), tr("change"), tr("")});
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    const QList<FigureChange> changes = compare(a, b);
    m_table->setRowCount(int(changes.size()));
    for (int i = 0; i < changes.size(); ++i) {
        const FigureChange& c = changes[i];
        const int verdict = c.verdict();
        const QColor bg = colours::rowBackground(
            verdict > 0 ? colours::Tone::Good : verdict < 0 ? colours::Tone::Bad : colours::Tone::None, palette());
        const QStringList cells {c.before.label, figureText(c.before.value, c.before.unit), figureText(c.after.value, c.after.unit),
            std::isfinite(c.changePct()) ? htap::core::formatNumber(std::round(c.changePct())) + u" %"_s : u"–"_s,
            verdict > 0 ? tr("better") : verdict < 0 ? tr("worse") : QString()};
        for (int col = 0; col < cells.size(); ++col) {
            auto* item = new QTableWidgetItem(cells[col]);
            if (bg.isValid())
                item->setBackground(bg);
            m_table->setItem(i, col, item);
        }
    }
    m_table->resizeColumnsToContents();
    m_table->horizontalHeader()->setStretchLastSection(true);
    auto* heading = new QLabel(tr("<b>A</b>: %1 — %2 to %3<br><b>B</b>: %4 — %5 to %6")
                                   .arg(a.title.toHtmlEscaped(), a.from.toLocalTime().toString(u"yyyy-MM-dd HH:mm"_s),
                                       a.to.toLocalTime().toString(u"HH:mm"_s), b.title.toHtmlEscaped(),
                                       b.from.toLocalTime().toString(u"yyyy-MM-dd HH:mm"_s), b.to.toLocalTime().toString(u"HH:mm"_s)),
        this);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(heading);
    layout->addWidget(m_table, 1);
    layout->addWidget(buttons);
    resize(900, 480);
}

} // namespace htap::ui
