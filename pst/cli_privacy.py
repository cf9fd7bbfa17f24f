"""`pst edge privacy …` and `pst cloud privacy …`: the retention run and a person's export or erasure by e-mail
(UU No. 27/2022), for an administrator at the machine. Each is recorded in the side's audit trail."""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path

import click

EMAIL = click.argument("email")
OUTPUT = click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
                      help="Write the JSON here (readable by its owner only) instead of standard output.")
YES = click.option("--yes", is_flag=True, help="Erase without asking for confirmation.")


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _write(document: dict, output: Path | None) -> None:
    text = json.dumps(document, ensure_ascii=False, indent=2, default=str)
    if output is None:
        click.echo(text)
        return
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text + "\n")
    click.echo(f"written: {output}", err=True)


def _counts(counts: dict) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items())


@click.group("privacy", help="Personal data on the appliance: retention, a person's export or erasure by e-mail.")
def edge_privacy() -> None:
    pass


def _edge_service():
    from edge.appliance import secret_key
    from edge.migrations import migrate
    from edge.privacy import PrivacyService
    from edge.store import EdgeStore
    from pst.cli import _edge_settings, _open_store
    from pst.clock import SystemClock

    settings = _edge_settings()
    store = _open_store(settings, EdgeStore)
    migrate(store)
    return store, PrivacyService(store, SystemClock(), settings.config.privacy.identity_months,
                                 secret_key(settings.data_dir, store.path), settings.data_dir)


@edge_privacy.command("apply", help="Anonymise what is older than [privacy] identity_months (the appliance also "
                      "does this once a day on its own).")
def edge_apply() -> None:
    store, service = _edge_service()
    try:
        click.echo("anonymised: " + _counts(service.apply()))
    finally:
        store.close()


@edge_privacy.command("export", help="Everything the appliance holds about EMAIL, as JSON.")
@EMAIL
@OUTPUT
def edge_export(email: str, output: Path | None) -> None:
    store, service = _edge_service()
    try:
        _write(service.export(email, _actor()), output)
    finally:
        store.close()


@edge_privacy.command("erase", help="Anonymise every record of EMAIL here; the sync takes it to the portal and the "
                      "other offices.")
@EMAIL
@YES
def edge_erase(email: str, yes: bool) -> None:
    if not yes:
        click.confirm(f"Erase the identity of {email} everywhere? This cannot be undone", abort=True)
    store, service = _edge_service()
    try:
        click.echo("erased: " + _counts(service.erase(email, _actor())))
    finally:
        store.close()


@click.group("privacy", help="Personal data on the portal: retention, a person's export or erasure by e-mail.")
def cloud_privacy() -> None:
    pass


def _cloud_run(action):
    """Runs `action(service)` against the portal's database, migrated first."""
    import asyncio

    from cloud.db import Database
    from cloud.migrations import migrate
    from cloud.privacy import Privacy, PrivacyError
    from pst.cli import PstError, _cloud_call, _cloud_settings
    from pst.clock import SystemClock

    settings = _cloud_settings()

    async def run():
        db = Database(settings.database_url)
        await db.start()
        try:
            await migrate(db)
            service = Privacy(db, SystemClock(), settings.signing_key(), settings.data_dir,
                              settings.identity_months)
            return await action(service)
        finally:
            await db.stop()

    try:
        return _cloud_call(asyncio.run, run())
    except PrivacyError as exc:
        raise PstError(exc.detail) from None


@cloud_privacy.command("apply", help="Anonymise what is older than PST_CLOUD_IDENTITY_MONTHS (the portal also does "
                       "this once a day on its own).")
def cloud_apply() -> None:
    click.echo("anonymised: " + _counts(_cloud_run(lambda service: service.apply())))


@cloud_privacy.command("export", help="Everything the portal holds about EMAIL, as JSON.")
@EMAIL
@OUTPUT
def cloud_export(email: str, output: Path | None) -> None:
    _write(_cloud_run(lambda service: service.export(email, _actor())), output)


@cloud_privacy.command("erase", help="Anonymise EMAIL's records and account on the portal; every office's "
                       "appliance follows through the sync.")
@EMAIL
@YES
def cloud_erase(email: str, yes: bool) -> None:
    if not yes:
        click.confirm(f"Erase the identity of {email} everywhere? This cannot be undone", abort=True)
    click.echo("erased: " + _counts(_cloud_run(lambda service: service.erase(email, _actor()))))
