"""The first-run wizard: where the data lives, how secrets are kept, the admin, and
whether to start with demo paper bots.

It runs before the station exists (the database and the vault are what it chooses),
so each page checks its choice through ``services.setup`` when the trader presses Next,
and the wizard ends with a ``FirstRunChoices`` the start-up then applies: settings
saved to the settings file, the vault unlocked, the admin created and logged in.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from task_station.domain.errors import TaskStationError, ValidationError
from task_station.gui.resources import robot_pixmap
from task_station.services import setup
from task_station.services.setup import FirstRunChoices

POSTGRES_HINT = "postgresql://user@127.0.0.1:5432/task_station"


class _Page(QWizardPage):
    """A page with an inline error line; ``check`` raises to refuse Next."""

    def __init__(self, title: str, subtitle: str) -> None:
        super().__init__()
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.body = QVBoxLayout(self)
        self.error = QLabel()
        self.error.setObjectName("errorLabel")
        self.error.setWordWrap(True)
        self.error.hide()

    def finish_layout(self) -> None:
        self.body.addStretch(1)
        self.body.addWidget(self.error)

    def check(self) -> None:
        """Raise ``TaskStationError`` to stay on the page (its message is shown)."""

    def validatePage(self) -> bool:
        try:
            self.check()
        except TaskStationError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return False
        self.error.hide()
        return True


class WelcomePage(_Page):
    def __init__(self) -> None:
        super().__init__(
            "Welcome to TASK Station",
            "A few choices and the station is ready: where your data lives, how your keys "
            "are kept, and your admin account. Everything can be changed later in Settings.",
        )
        art = QLabel()
        art.setPixmap(robot_pixmap(160))
        art.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body.addWidget(art)
        self.finish_layout()


class StoragePage(_Page):
    def __init__(self) -> None:
        super().__init__(
            "Where your data lives",
            "SQLite needs nothing installed and keeps everything in one file. PostgreSQL "
            "suits a server or several machines sharing one station.",
        )
        self.sqlite = QRadioButton("SQLite in the station's data folder (recommended)")
        self.postgres = QRadioButton("PostgreSQL")
        self.sqlite.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.sqlite)
        group.addButton(self.postgres)
        self.url = QLineEdit()
        self.url.setPlaceholderText(POSTGRES_HINT)
        self.url.setEnabled(False)
        self.test_button = QPushButton("Test connection")
        self.test_button.setEnabled(False)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.postgres.toggled.connect(self.url.setEnabled)
        self.postgres.toggled.connect(self.test_button.setEnabled)
        self.test_button.clicked.connect(self.test_connection)
        for widget in (self.sqlite, self.postgres, self.url, self.test_button, self.result):
            self.body.addWidget(widget)
        self.finish_layout()

    def database_url(self) -> str | None:
        """The chosen URL (psycopg's dialect named), or None for SQLite."""
        return self._url() if self.postgres.isChecked() else None

    def test_connection(self) -> bool:
        try:
            self.result.setText(f"Connected: {setup.check_database(self._url())}")
        except TaskStationError as exc:
            self.result.setText(str(exc))
            return False
        return True

    def _url(self) -> str:
        url = self.url.text().strip()
        if not url:
            raise ValidationError(f"enter the PostgreSQL URL, e.g. {POSTGRES_HINT}")
        if url.startswith(("postgres://", "postgresql://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url

    def check(self) -> None:
        if self.postgres.isChecked():
            setup.check_database(self._url())


class SecretsPage(_Page):
    def __init__(self, os_keyring: bool) -> None:
        super().__init__(
            "How your keys are kept",
            "Exchange API keys and wallet keys never go into the database. They live in "
            "your system's keyring, or in a file encrypted with a password only you know.",
        )
        self.keyring = QRadioButton("The system keyring")
        self.encrypted = QRadioButton("An encrypted file, unlocked with a password at start")
        group = QButtonGroup(self)
        group.addButton(self.keyring)
        group.addButton(self.encrypted)
        self.keyring.setEnabled(os_keyring)
        (self.keyring if os_keyring else self.encrypted).setChecked(True)
        if not os_keyring:
            self.keyring.setText("The system keyring (none is running on this computer)")
        form = QFormLayout()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm = QLineEdit()
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Vault password", self.password)
        form.addRow("Again", self.confirm)
        holder = QWidget()
        holder.setLayout(form)
        self.keyring.toggled.connect(lambda on: holder.setEnabled(not on))
        holder.setEnabled(not self.keyring.isChecked())
        for widget in (self.keyring, self.encrypted, holder):
            self.body.addWidget(widget)
        self.finish_layout()

    def backend(self) -> str:
        return "auto" if self.keyring.isChecked() else "cryptfile"

    def check(self) -> None:
        if self.encrypted.isChecked():
            if self.password.text() != self.confirm.text():
                raise ValidationError("the two vault passwords differ")
            if len(self.password.text()) < 8:
                raise ValidationError("the vault password must have at least 8 characters")


class AdminPage(_Page):
    def __init__(self) -> None:
        super().__init__(
            "Your admin account",
            "The admin manages users and settings; add traders and viewers later.",
        )
        form = QFormLayout()
        self.username = QLineEdit("admin")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm = QLineEdit()
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("Username", self.username)
        form.addRow("Password", self.password)
        form.addRow("Again", self.confirm)
        self.body.addLayout(form)
        self.finish_layout()

    def check(self) -> None:
        if not self.username.text().strip():
            raise ValidationError("choose a username")
        setup.check_admin_password(self.password.text(), self.confirm.text())


class ModePage(_Page):
    def __init__(self) -> None:
        super().__init__(
            "Paper trading first",
            "The station starts in paper mode: bots trade a simulated account against "
            "real or replayed prices, with no exchange keys needed. Connect exchange "
            "accounts later in the Accounts panel.",
        )
        self.demo = QCheckBox("Add three demo paper bots to explore (you can delete them)")
        self.demo.setChecked(True)
        self.body.addWidget(self.demo)
        self.finish_layout()


class FirstRunWizard(QWizard):
    """``choices()`` after it was accepted."""

    def __init__(self, parent: QWidget | None = None, *, os_keyring: bool | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("TASK Station — first start")
        self.setObjectName("firstRunWizard")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setPixmap(QWizard.WizardPixmap.LogoPixmap, robot_pixmap(56))
        self.welcome = WelcomePage()
        self.storage = StoragePage()
        self.secrets = SecretsPage(setup.has_os_keyring() if os_keyring is None else os_keyring)
        self.admin = AdminPage()
        self.mode = ModePage()
        for page in (self.welcome, self.storage, self.secrets, self.admin, self.mode):
            self.addPage(page)

    def choices(self) -> FirstRunChoices:
        encrypted = self.secrets.backend() == "cryptfile"
        return FirstRunChoices(
            admin_username=self.admin.username.text().strip(),
            admin_password=self.admin.password.text(),
            database_url=self.storage.database_url(),
            keyring_backend=self.secrets.backend(),
            vault_password=self.secrets.password.text() if encrypted else None,
            demo_bots=self.mode.demo.isChecked(),
        )
