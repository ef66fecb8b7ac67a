"""The GUI session: first admin, login, then the main window until it is closed.

Dialogs are opened non-modally (``open()``) and awaited through a future resolved by
``finished(int)``: a nested ``exec()`` loop inside a qasync task would re-enter the event
loop that runs that very task, which qasync does not support reliably. The CLI builds
the container, then runs ``run_gui_session(container.services, ...)`` with
``run_until_closed``; this module never sees the container.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog

from task_station.gui.dialogs import FirstAdminDialog, LoginDialog, VaultDialog
from task_station.gui.main_window import MainWindow
from task_station.services.bundle import Services
from task_station.services.setup import FirstRunChoices
from task_station.services.users import AuthService, LoginResult


async def show_dialog(dialog: QDialog) -> bool:
    """Show ``dialog`` and wait for it to finish; True when accepted. Deletes it after."""
    finished: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_finished(code: int) -> None:
        if not finished.done():
            finished.set_result(code)

    dialog.finished.connect(on_finished)
    dialog.open()
    try:
        return await finished == QDialog.DialogCode.Accepted.value
    finally:
        dialog.deleteLater()


async def ask_vault_password(unlock: Callable[[str], None], creating: bool) -> bool:
    """Ask the vault's master password until ``unlock`` accepts it; False if cancelled."""
    return await show_dialog(VaultDialog(unlock, creating))


async def run_first_run_wizard() -> FirstRunChoices | None:
    """Show the first-run wizard; save its settings and return the choices (None if
    the trader closed it)."""
    from task_station.gui.first_run import FirstRunWizard
    from task_station.services.setup import save_choices

    wizard = FirstRunWizard()
    if not await show_dialog(wizard):
        return None
    choices = wizard.choices()
    save_choices(choices)
    return choices


async def wait_closed(window: MainWindow) -> None:
    """Return once ``window`` has been closed."""
    closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_closed() -> None:
        if not closed.done():
            closed.set_result(None)

    window.closed.connect(on_closed)
    await closed


async def login(auth: AuthService) -> LoginResult | None:
    """Show the login dialog; the ``LoginResult``, or None if the user gave up."""
    dialog = LoginDialog(auth)
    dialog.username_edit.setFocus()
    if not await show_dialog(dialog):
        return None
    return dialog.result


async def run_gui_session(
    services: Services,
    *,
    api_url: str | None,
    auto_login: LoginResult | None = None,
    settings: QSettings | None = None,
) -> None:
    """Run the whole GUI: login (unless ``auto_login``), then the main window until closed.

    Returns without opening the window when the user cancels the first-admin or login
    dialog. Stopping the bots afterwards is the caller's job (``Container.aclose``).
    """
    if services.users.needs_first_admin() and not await show_dialog(
        FirstAdminDialog(services.users)
    ):
        return
    result = auto_login or await login(services.auth)
    if result is None:
        return
    window = MainWindow(services, result.principal, api_url, settings)
    window.show()
    try:
        await wait_closed(window)
    finally:
        window.deleteLater()
