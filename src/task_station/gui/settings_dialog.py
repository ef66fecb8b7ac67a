"""Settings: the station's editable settings, saved for the next start (admins only)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from task_station.domain.errors import TaskStationError
from task_station.domain.users import Role
from task_station.services.principal import Principal
from task_station.services.settings import SettingsService

Editor = QCheckBox | QLineEdit


class SettingsDialog(QDialog):
    def __init__(
        self, settings: SettingsService, principal: Principal, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("TASK Station — Settings")
        self.setMinimumWidth(520)
        self._service = settings
        self._principal = principal
        self.editors: dict[str, Editor] = {}
        self._initial: dict[str, object] = {}
        form = QFormLayout()
        for view in settings.list():
            editor: Editor
            if view.kind == "bool":
                editor = QCheckBox()
                editor.setChecked(bool(view.value))
                self._initial[view.name] = editor.isChecked()
            else:
                editor = QLineEdit("" if view.value is None else str(view.value))
                if view.optional:
                    editor.setPlaceholderText("not set")
                self._initial[view.name] = editor.text()
            editor.setObjectName(f"setting_{view.name}")
            editor.setToolTip(view.description)
            self.editors[view.name] = editor
            form.addRow(view.name.replace("_", " "), editor)
        holder = QWidget()
        holder.setLayout(form)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        self.note = QLabel("Changes are saved to the settings file and apply at the next start.")
        self.note.setWordWrap(True)
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        admin = principal.role is Role.ADMIN
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        save.setEnabled(admin)
        if not admin:
            self.note.setText("Only an admin can change settings; they are shown read-only.")
            for editor in self.editors.values():
                editor.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def changes(self) -> dict[str, object]:
        """The settings whose editor differs from what was shown."""
        out: dict[str, object] = {}
        for name, editor in self.editors.items():
            value = editor.isChecked() if isinstance(editor, QCheckBox) else editor.text()
            if value != self._initial[name]:
                out[name] = value
        return out

    def submit(self) -> bool:
        changes = self.changes()
        if not changes:
            self.accept()
            return True
        try:
            self._service.update(self._principal, changes)
        except TaskStationError as exc:
            self.error_label.setText(str(exc))
            self.error_label.show()
            return False
        self.accept()
        return True
