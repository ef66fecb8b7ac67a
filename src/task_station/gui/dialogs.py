"""The start-up dialogs: unlock the vault, create the first admin, log in.

Each dialog calls one service (or the vault's unlock) and shows the error it raises
inline, so the rules (password policy, wrong credentials, wrong vault password) live in
one place and read the same in the GUI, the API and the CLI.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from task_station.domain.errors import TaskStationError
from task_station.domain.users import Role, User
from task_station.gui.resources import robot_pixmap
from task_station.services.users import AuthService, LoginResult, UserService


class FormDialog(QDialog):
    """A titled form with an inline error line; subclasses implement ``submit``."""

    def __init__(
        self, title: str, subtitle: str, *, robot: int = 0, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"TASK Station — {title}")
        self.setMinimumWidth(380)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        if robot:
            art = QLabel()
            art.setPixmap(robot_pixmap(robot))
            art.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(art)
        heading = QLabel(title)
        heading.setObjectName("titleLabel")
        heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        sub = QLabel(subtitle)
        sub.setObjectName("subtitleLabel")
        sub.setWordWrap(True)
        sub.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(heading)
        layout.addWidget(sub)
        self.form = QFormLayout()
        layout.addLayout(self.form)
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def password_field(self, label: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow(label, edit)
        return edit

    def set_ok_text(self, text: str) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(text)

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    @property
    def error_text(self) -> str:
        """The inline error a user sees ("" when none is shown)."""
        return self.error_label.text() if not self.error_label.isHidden() else ""

    def submit(self) -> bool:
        raise NotImplementedError


class LoginDialog(FormDialog):
    """Log in through ``AuthService``; ``result`` holds the ``LoginResult`` once accepted.

    ``result`` shadows ``QDialog.result()`` on purpose (the attribute is the public API
    the faces agreed on); ``exec()`` still returns the dialog code.
    """

    def __init__(self, auth: AuthService, parent: QWidget | None = None) -> None:
        super().__init__("Log in", "Welcome back to the station.", robot=150, parent=parent)
        self._auth = auth
        self.result: LoginResult | None = None  # type: ignore[assignment]
        self.username_edit = QLineEdit()
        self.form.addRow("Username", self.username_edit)
        self.password_edit = self.password_field("Password")
        self.set_ok_text("Log in")

    def submit(self) -> bool:
        try:
            self.result = self._auth.login(self.username_edit.text(), self.password_edit.text())
        except TaskStationError as exc:
            self.password_edit.clear()
            self.password_edit.setFocus()
            self.show_error(str(exc))
            return False
        self.accept()
        return True


class FirstAdminDialog(FormDialog):
    """First run: create the admin account through ``UserService.create``."""

    def __init__(self, users: UserService, parent: QWidget | None = None) -> None:
        super().__init__(
            "Create the admin",
            "No users yet: choose the administrator's name and password.",
            robot=110,
            parent=parent,
        )
        self._users = users
        self.user: User | None = None
        self.username_edit = QLineEdit("admin")
        self.form.addRow("Username", self.username_edit)
        self.password_edit = self.password_field("Password")
        self.confirm_edit = self.password_field("Confirm")
        self.set_ok_text("Create admin")

    def submit(self) -> bool:
        if self.password_edit.text() != self.confirm_edit.text():
            self.show_error("the two passwords do not match")
            return False
        try:
            self.user = self._users.create(
                self.username_edit.text(), self.password_edit.text(), Role.ADMIN, None
            )
        except TaskStationError as exc:
            self.show_error(str(exc))
            return False
        self.accept()
        return True


class VaultDialog(FormDialog):
    """Ask the master password of the encrypted-file vault and call ``unlock`` with it.

    ``unlock`` raises ``SecretStoreError`` (wrong password, too short); its message is
    shown inline. With ``creating`` the password is typed twice.
    """

    def __init__(
        self, unlock: Callable[[str], None], creating: bool, parent: QWidget | None = None
    ) -> None:
        subtitle = (
            "Choose a master password for the station's secrets vault. It is never stored: "
            "you will type it each time the station starts."
            if creating
            else "Type the master password of the station's secrets vault."
        )
        super().__init__(
            "Create the vault" if creating else "Unlock the vault",
            subtitle,
            robot=90,
            parent=parent,
        )
        self._unlock = unlock
        self.unlocked = False
        self.password_edit = self.password_field("Master password")
        self.confirm_edit = self.password_field("Confirm") if creating else None
        self.set_ok_text("Create" if creating else "Unlock")

    def submit(self) -> bool:
        password = self.password_edit.text()
        if self.confirm_edit is not None and password != self.confirm_edit.text():
            self.show_error("the two passwords do not match")
            return False
        try:
            self._unlock(password)
        except TaskStationError as exc:
            self.password_edit.clear()
            self.show_error(str(exc))
            return False
        self.unlocked = True
        self.accept()
        return True
