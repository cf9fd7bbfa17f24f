"""The `pst` command. Each group imports its package only when used: the Pi never imports the cloud."""

from __future__ import annotations

import os
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import click


class PstError(click.ClickException):
    """An error the user can act on, printed without a traceback."""


@click.group(help="PST Pustaka: the library service of a BPS PST office.")
@click.version_option(package_name="pst-pustaka")
def main() -> None:
    from pst.privacy import private_umask

    _without_httpx_command_line()
    private_umask()


def _without_httpx_command_line() -> None:
    """httpx's `__init__` imports its own command-line client (`httpx._main`, which loads rich and pygments: some
    5 MB and 40 ms in every process that imports httpx) only to offer `httpx.main`, and falls back to a stub when
    that import fails. No process of ours runs httpx's command line, so the import is made to fail (None in
    sys.modules); the clients, transports and everything else of httpx stay as they are. A process that has
    imported httpx already is left alone."""
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)


@main.command(help="The whole demo on one machine, simulated hardware, data under ./var; prints the URLs.")
@click.option("--port", type=int, default=None, help="Port of the appliance (default PST_EDGE_PORT or 8000).")
def up(port: int | None) -> None:
    _leave_on_signals()
    os.environ.setdefault("PST_EDGE_HARDWARE", "sim")
    if port is not None:
        os.environ["PST_EDGE_PORT"] = str(port)
    settings = _edge_settings()
    if settings.hardware != "sim":
        raise PstError("`pst up` is the demo and runs simulated hardware; unset PST_EDGE_HARDWARE or use `pst edge serve`")
    from edge.demo import ensure_demo_logins
    from edge.demo_activity import ensure_demo_activity
    from edge.demo_catalogue import ensure_demo_catalogue

    logins = ensure_demo_logins(settings)
    ensure_demo_catalogue(settings)
    ensure_demo_activity(settings)  # a month of desk activity for the reports, once, through the real services
    base = f"http://{settings.host}:{settings.port}"
    click.echo(f"PST Pustaka (demo, simulated hardware) — {settings.config.office.name}")
    click.echo(f"  Kiosk (ambil nomor antrian):  {base}/")
    click.echo(f"  Buku tamu (guestbook):        {base}/buku-tamu")
    click.echo(f"  Layar antrian (TV display):   {base}/layar")
    click.echo(f"  Katalog ruang baca:           {base}/katalog")
    click.echo(f"  Pemindai (self-service scan): {base}/pemindai   simulasi: curl -X POST {base}/_sim/scanner/feed -d '{{\"pages\": 3}}'")
    click.echo(f"  Konsol petugas (console):     {base}/petugas   " + ", ".join(f"{u} / {p}" for u, p in logins))
    click.echo(f"  Loker, permintaan pustaka:    {base}/petugas/loker, {base}/petugas/permintaan")
    click.echo(f"  Tekan tombol antrian:         curl -X POST {base}/_sim/button")
    click.echo(f"  Printer simulasi (tiket):     {base}/_sim/printer")
    click.echo(f"  Kesehatan (health):           {base}/healthz")
    staff = _portal_demo_staff()
    portal = _start_portal_demo()
    click.echo(f"  Portal (cloud, demo):         {portal}/   e-mail demo: {portal}/_dev/mail")
    click.echo(f"  Back office portal (kantor):  {portal}/kantor   " + ", ".join(f"{e} / {p}" for e, p in staff))
    click.echo(f"  Sinkronisasi (sync agent):    every {os.environ.get('PST_SYNC_INTERVAL') or '5'} s; "
               "`pst sync status`; on the console (Konsol petugas)")
    click.echo(f"  Data:                         {settings.data_dir.resolve()}")
    threading.Thread(target=_start_sync_demo, args=(settings, portal), daemon=True, name="sync-demo").start()
    try:
        _serve_edge(settings)
    finally:
        _stop_portal_demo()


_portal: list = []  # the processes `pst up` started: the portal, then the sync agent
_stopping: list = []
_portal_lock = threading.Lock()
STOP_GRACE_S = 15  # how long the portal and the agent get to finish what they do before they are killed
# how long a stopping portal lets the requests in flight finish before it cancels them (a copy being stamped stops
# with its request), within systemd's TimeoutStopSec=30 of pst-portal.service
PORTAL_STOP_GRACE_S = 20


def _leave_on_signals() -> None:
    """SIGTERM and SIGHUP end `pst up` as Ctrl-C does, by an exception, so that its `finally` stops the processes
    it started. (uvicorn, stopped by a signal, raises the signal again once it has restored the handler it found —
    this one; with the default handler the process would die on the spot and leave its children running.)"""
    import signal

    def leave(signum, frame) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, leave)


def _start_portal_demo() -> str:
    """The portal beside the appliance, in its own process (`pst cloud serve --demo`): it never shares the
    appliance's process, as on the real machines."""
    import subprocess

    host = os.environ.get("PST_CLOUD_HOST") or "127.0.0.1"
    port = os.environ.get("PST_CLOUD_PORT") or "8100"
    proc = subprocess.Popen([sys.executable, "-c", "from pst.cli import main; main()", "cloud", "serve", "--demo"])
    _portal.append(proc)
    return f"http://{host}:{port}"


def _portal_demo_staff() -> list[tuple[str, str]]:
    import asyncio

    from cloud.demo import ensure_demo_staff

    return _cloud_call(asyncio.run, ensure_demo_staff(_cloud_settings(demo=True)))


def _start_sync_demo(settings, portal: str) -> None:
    """Once the demo portal answers: enrol this appliance with it (first start only), then run the agent in its own
    process, as on a real appliance."""
    import subprocess
    import time

    import httpx

    from sync.agent import Enrolment, SyncError, enroll

    for _ in range(120):
        if _portal[0].poll() is not None:  # e.g. its port is taken: a demo without its portal is not the demo
            click.echo(f"pst up: the demo portal stopped (exit status {_portal[0].returncode}; is {portal} already in"
                       " use?); stopping", err=True)
            _stop_up()
            return
        try:
            if httpx.get(f"{portal}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    else:
        click.echo("sync: the demo portal did not start; the appliance works on without it", err=True)
        return
    if Enrolment.load(settings.data_dir) is None:
        office = settings.config.office
        try:
            async def add(devices):
                await devices.ensure_office(office.code, office.name)
                return await devices.add_device(office.code, "Meja depan (demo)")

            _, code = _with_devices(add, demo=True)
            enroll(portal, code, settings.data_dir)
        except (PstError, SyncError, httpx.HTTPError) as exc:
            click.echo(f"sync: demo enrolment failed: {exc}", err=True)
            return
    env = {**os.environ, "PST_SYNC_INTERVAL": os.environ.get("PST_SYNC_INTERVAL") or "5"}
    with _portal_lock:
        if not _stopping:  # `pst up` may have been stopped while the portal was starting
            _portal.append(subprocess.Popen([sys.executable, "-c", "from pst.cli import main; main()", "sync", "run"],
                                            env=env))


def _stop_up() -> None:
    """Ends `pst up` from another thread: the signal makes the appliance's server stop as it would on Ctrl-C."""
    import signal

    os.kill(os.getpid(), signal.SIGTERM)


def _stop_portal_demo() -> None:
    """Stops every process `pst up` started, together, and waits for each (a child never waited for stays a zombie);
    one that does not finish within STOP_GRACE_S is killed. A second Ctrl-C cannot cut this short."""
    import signal
    import subprocess
    import time

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    with _portal_lock:
        _stopping.append(True)
    for proc in _portal:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for proc in reversed(_portal):
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            click.echo(f"pst up: process {proc.pid} did not stop within {STOP_GRACE_S} s; killed", err=True)
            proc.kill()
            proc.wait()


@main.group(help="The front-desk appliance.")
def edge() -> None:
    pass


@edge.command("serve", help="Run the appliance web app (kiosk, staff pages, API) and its devices.")
def edge_serve() -> None:
    settings = _edge_settings()
    click.echo(f"PST Pustaka appliance on http://{settings.host}:{settings.port} (hardware: {settings.hardware})")
    _serve_edge(settings)


@edge.command("migrate", help="Create or update the appliance database schema (safe to run again).")
def edge_migrate() -> None:
    from edge.migrations import migrate
    from edge.store import EdgeStore

    settings = _edge_settings()
    store = _open_store(settings, EdgeStore)
    try:
        applied = migrate(store)
    finally:
        store.close()
    click.echo(f"{settings.db_path}: " + (f"applied {', '.join(applied)}" if applied else "up to date"))


@edge.command("backup", help="Copy the appliance database while it runs (SQLite online backup) and check the copy.")
@click.argument("dest", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--keep-days", type=click.IntRange(min=1), default=None,
              help="After a good copy, delete the edge-*.db copies in its folder older than this many days.")
def edge_backup(dest: Path | None, keep_days: int | None) -> None:
    from edge.health import record_backup
    from edge.store import EdgeStore, prune_backups

    settings = _edge_settings()
    if not settings.db_path.exists():
        raise PstError(f"{settings.db_path}: no database yet (run `pst edge migrate`)")
    if dest is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        dest = settings.data_dir / "backups" / f"edge-{stamp}.db"
    store = _open_store(settings, EdgeStore)
    try:
        written = store.backup(dest)
    except Exception as exc:  # the sync reports the failed backup to the cloud (edge.health)
        record_backup(settings.data_dir / "backups", datetime.now(timezone.utc), False, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        store.close()
    record_backup(settings.data_dir / "backups", datetime.now(timezone.utc), True, str(written.resolve()))
    click.echo(f"backup written: {written} ({written.stat().st_size} bytes, integrity ok)")
    if keep_days is not None:
        for gone in prune_backups(written.parent, keep_days, keep=written):
            click.echo(f"older than {keep_days} days, deleted: {gone}")


@edge.command("restore", help="Put a backup in place of the appliance database: the newest local one that passes "
              "the integrity check, BACKUP (a file, e.g. from a USB stick), or with --from-cloud the latest this "
              "appliance sent to the cloud. Then, when the appliance is enrolled, the records made after the backup "
              "come back from the cloud. On a new SD card: --from-cloud --cloud URL --code CODE, with a replacement "
              "code from the back office. Stop `pst edge serve` and `pst sync run` first.")
@click.argument("backup", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Restore even though the current database passes its integrity check "
              "(it is kept aside as edge.db.damaged-<time>; what it holds beyond the backup comes back from the "
              "cloud, as far as the cloud has it).")
@click.option("--from-cloud", is_flag=True, help="Fetch the latest backup the cloud holds of this appliance.")
@click.option("--cloud", "cloud_url", help="With --code: the portal's address, e.g. https://pustaka.example.id")
@click.option("--code", envvar="PST_ENROL_CODE", show_envvar=True,
              help="A replacement (or enrolment) code: this card enrols first and takes the device's place; the old "
              "card stops syncing.")
@click.option("--device", help="Restore another appliance of the same office (its id, `pst cloud device list`) "
              "instead of this one's own.")
@click.option("--catch-up", "catch_up_only", is_flag=True,
              help="Only fetch what came after the restored backup (a restore whose last step failed).")
@click.option("--offline", is_flag=True, help="Do not fetch the records made after the backup: they stay in the "
              "cloud only, and today's queue numbers may start again.")
def edge_restore(backup: Path | None, force: bool, from_cloud: bool, cloud_url: str | None, code: str | None,
                 device: str | None, catch_up_only: bool, offline: bool) -> None:
    from edge.migrations import migrate
    from edge.store import EdgeStore, StoreCorrupt, check_file, restore_backup, serve_lock
    from sync.agent import Enrolment
    from sync.restore import RestoreError, fetch_backup, keep_a_key, mark_pending

    settings = _edge_settings()
    if code and not cloud_url:
        raise PstError("--code needs --cloud URL (the portal to enrol with)")
    if from_cloud and backup is not None:
        raise PstError("BACKUP or --from-cloud, not both")
    with serve_lock(settings.data_dir) as held:
        if not held:
            raise PstError("the appliance is running (`pst edge serve` holds this data folder): stop it first, "
                           "e.g. `systemctl stop pst-edge pst-sync`")
        if code:
            _enroll(settings, cloud_url, code)
        enrolment = Enrolment.load(settings.data_dir)
        if (from_cloud or catch_up_only) and enrolment is None:
            raise PstError("this appliance is not enrolled: add --cloud URL --code CODE (a replacement code from the "
                           "back office, or `pst cloud device replace`)")
        if not catch_up_only:
            if settings.db_path.exists() and not force and check_file(settings.db_path) == "ok":
                raise PstError(f"{settings.db_path} passes its integrity check: nothing to restore (--force to "
                               "restore anyway)")
            if from_cloud:
                try:
                    fetched = fetch_backup(enrolment.cloud_url, enrolment.credential, settings.data_dir / "backups",
                                           device)
                except RestoreError as exc:
                    raise PstError(str(exc)) from None
                except httpx_errors() as exc:
                    raise PstError(f"cloud not reachable at {enrolment.cloud_url}: {exc}") from None
                click.echo(f"fetched the backup of {_office_time(fetched.taken_at, settings.config.office.tz)} from the cloud "
                           f"({fetched.size} bytes)")
                backup = fetched.path
            backup = backup or _newest_good_backup(settings.data_dir / "backups")
            if (result := check_file(backup)) != "ok":
                raise PstError(f"{backup}: integrity check failed ({result.splitlines()[0]}); not restored")
            try:
                aside = restore_backup(settings.db_path, backup, datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S"))
            except StoreCorrupt as exc:
                raise PstError(str(exc)) from None
            store = EdgeStore(settings.db_path)
            try:
                migrate(store)  # a backup from before an upgrade
                if keep_a_key(store):
                    click.echo("the cloud's copy carries no key of the appliance: a new one is made (ID cards in the "
                               "lockers are checked by their last four characters)")
                if enrolment is not None and not offline:
                    mark_pending(store, True)  # until the records since are back: no sync, no serving
            finally:
                store.close()
            click.echo(f"restored {settings.db_path} from {backup} (integrity ok)")
            if aside is not None:
                click.echo(f"the database it replaced is kept at {aside}")
        _catch_up(settings, enrolment, device, offline)


def _enroll(settings, cloud_url: str, code: str) -> None:
    import httpx

    from sync.agent import SyncError, enroll

    try:
        enrolment = enroll(cloud_url, code, settings.data_dir)
    except SyncError as exc:
        raise PstError(f"enrolment refused: {exc}") from None
    except httpx.HTTPError as exc:
        raise PstError(f"cloud not reachable at {cloud_url}: {exc}") from None
    click.echo(f"enrolled as {enrolment.name!r} of office {enrolment.office_code} (device {enrolment.device_id})")


def httpx_errors():
    import httpx

    return httpx.HTTPError


def _catch_up(settings, enrolment, device: str | None, offline: bool) -> None:
    """The records made after the restored backup, from the cloud's journal; then what the desk has now."""
    from edge.store import EdgeStore
    from sync.restore import RestoreError, catch_up, mark_pending

    store = EdgeStore(settings.db_path)
    try:
        if enrolment is None or offline:
            mark_pending(store, False)
            if offline:
                click.echo("not fetched from the cloud: the records made after the backup (--offline)")
            return
        try:
            count = catch_up(store, enrolment.cloud_url, enrolment.credential, device, data_dir=settings.data_dir)
        except (RestoreError, httpx_errors()) as exc:
            raise PstError(f"{exc}\nthe backup is in place, but not what came after it: run `pst edge restore "
                           "--catch-up` once the cloud is reachable (or `--catch-up --offline` to serve without it) "
                           "before starting the appliance") from None
        click.echo(f"{count} records made after the backup came back from the cloud")
        _desk_now(store)
    finally:
        store.close()


def _desk_now(store) -> None:
    db = store.read
    open_visits = db.execute("SELECT count(*) FROM visits WHERE finished_at IS NULL").fetchone()[0]
    held = db.execute("SELECT count(*) FROM locker_uses WHERE released_at IS NULL").fetchone()[0]
    last = db.execute("SELECT number, service_day FROM tickets ORDER BY issued_at DESC, seq DESC LIMIT 1").fetchone()
    click.echo(f"open visits: {open_visits}; ID cards in lockers: {held}"
               + (f"; last ticket: {last[0]} ({last[1]})" if last else ""))


def _newest_good_backup(folder: Path) -> Path:
    from edge.store import newest_good_backup

    found, bad = newest_good_backup(folder)
    for copy, why in bad:
        click.echo(f"skipped {copy}: integrity check failed ({why})")
    if found is None:
        raise PstError(f"no backup in {folder} passes the integrity check (`pst edge backup` makes them)")
    return found


@edge.command("enroll", help="Pair this appliance with the cloud: trade the one-time code from the back office "
              "(or `pst cloud device add`) for the device credential, kept in $PST_DATA_DIR/sync-enrolment.json.")
@click.option("--cloud", "cloud_url", required=True, help="The portal's address, e.g. https://pustaka.example.id")
@click.option("--code", required=True, envvar="PST_ENROL_CODE", show_envvar=True,
              help="The enrolment code, e.g. ABCD-EFGH-JKMN (or from the environment: kept out of process lists)")
def edge_enroll(cloud_url: str, code: str) -> None:
    _enroll(_edge_settings(), cloud_url, code)


@edge.group("user", help="Staff accounts on the appliance.")
def edge_user() -> None:
    pass


@edge_user.command("add", help="Add a staff account; the password is prompted for, or read from standard input.")
@click.argument("name")
@click.option("--role", type=click.Choice(["frontliner", "librarian", "admin"]), required=True, help="What the account may do.")
def edge_user_add(name: str, role: str) -> None:
    from edge.migrations import migrate
    from edge.store import EdgeStore
    from edge.audit import Actor
    from edge.users import UserError, add_user
    from pst.clock import SystemClock

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    settings = _edge_settings()
    store = _open_store(settings, EdgeStore)
    try:
        migrate(store)
        user = add_user(store, SystemClock(), name, role, password, actor=Actor("cli", None))
    except UserError as exc:
        raise PstError(str(exc)) from None
    finally:
        store.close()
    click.echo(f"staff account {user.username} ({user.role}) added")


@edge.group("catalogue", help="The reading-room catalogue on the appliance.")
def edge_catalogue() -> None:
    pass


@edge_catalogue.command(
    "import",
    help="Import publications from a UTF-8 CSV (the cloud's columns, optionally location, shelf, copies); "
    "re-importing updates by catalogue number and year; one bad row and nothing is imported.",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def edge_catalogue_import(file: Path) -> None:
    from edge.catalogue import CatalogueError, import_command
    from edge.store import StoreCorrupt

    try:
        click.echo(import_command(_edge_settings(), file))
    except (CatalogueError, StoreCorrupt) as exc:
        raise PstError(str(exc)) from None


@main.group(help="The cloud portal and back office (SQLite or PostgreSQL, by PST_CLOUD_DATABASE_URL).")
def cloud() -> None:
    pass


@cloud.command("serve", help="Run the portal (reader pages, JSON API); applies pending migrations first.")
@click.option("--demo", is_flag=True, help="Demo mode: a local SMTP sink keeps the mails, shown at /_dev/mail.")
@click.option("--workers", type=click.IntRange(1, 64), envvar="PST_CLOUD_WORKERS", default=1, show_default=True,
              help="Worker processes (PST_CLOUD_WORKERS); they share nothing but the database, so any number works.")
def cloud_serve(demo: bool, workers: int) -> None:
    import dataclasses
    import logging

    import uvicorn

    from cloud.app import create_app
    from cloud.mailsink import MailSink
    from pst.logsafe import uvicorn_log_config
    from pst.serving import protocol

    settings = _cloud_settings(demo=demo)
    sink = None
    if settings.demo and not settings.smtp_url:
        sink = MailSink(settings.mail_dir).start()
        settings = dataclasses.replace(settings, smtp_url=sink.url)
    base = f"http://{settings.host}:{settings.port}"
    click.echo(f"PST Pustaka portal on {base} (database: {settings.database})")
    if settings.demo:
        click.echo(f"  Kotak surat demo (demo mail): {base}/_dev/mail")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("cloud").setLevel(logging.INFO)
    try:
        if workers > 1 and sink is not None:
            raise PstError("--workers: the demo's mail sink lives in one process; give PST_CLOUD_SMTP_URL or one worker")
        if workers > 1:
            _cloud_call(create_app, settings)  # refuse bad settings here, once, before any worker starts
            uvicorn.run("cloud.app:app_from_env", factory=True, workers=workers, host=settings.host,
                        port=settings.port, log_level="info", log_config=uvicorn_log_config(),
                        http=protocol(settings.read_timeout), timeout_graceful_shutdown=PORTAL_STOP_GRACE_S)
        else:
            uvicorn.run(_cloud_call(create_app, settings), host=settings.host, port=settings.port, log_level="info",
                        log_config=uvicorn_log_config(), http=protocol(settings.read_timeout),
                        timeout_graceful_shutdown=PORTAL_STOP_GRACE_S)
    finally:
        if sink is not None:
            sink.stop()


@cloud.command("migrate", help="Create or update the portal database schema (safe to run again, and from several hosts).")
def cloud_migrate() -> None:
    import asyncio

    from cloud.db import Database
    from cloud.migrations import migrate

    settings = _cloud_settings()
    db = Database(settings.database_url)
    applied = _cloud_call(asyncio.run, migrate(db))
    click.echo(f"{db.where}: " + (f"applied {', '.join(applied)}" if applied else "up to date"))


@cloud.group("user", help="Staff accounts of the portal.")
def cloud_user() -> None:
    pass


@cloud_user.command("add", help="Add a staff or admin account; the password is prompted for, or read from standard input.")
@click.argument("email")
@click.option("--role", type=click.Choice(["staff", "admin"]), required=True, help="What the account may do.")
@click.option("--name", default="", help="Name shown in the back office (default: the part of EMAIL before @).")
def cloud_user_add(email: str, role: str, name: str) -> None:
    import asyncio

    from cloud import audit
    from cloud.accounts import Accounts
    from cloud.db import Database
    from cloud.migrations import migrate
    from pst.clock import SystemClock

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    settings = _cloud_settings()
    db = Database(settings.database_url)

    async def add():
        await migrate(db)
        clock = SystemClock()
        async with db.transaction():  # the account and its audit line together
            account = await Accounts(db, clock, None, b"", "").add(email, role, password, name)
            await audit.record(db, clock.now(), actor="cli", action="account.add", target=f"account:{account.id}",
                               detail={"role": account.role})
        return account

    account = _cloud_call(asyncio.run, add())
    click.echo(f"staff account {account.email} ({account.role}) added")


@cloud.group("office", help="Offices (BPS satker) served by this cloud.")
def cloud_office() -> None:
    pass


@cloud_office.command("add", help="Add an office by its 4-digit BPS code.")
@click.argument("code")
@click.argument("name")
def cloud_office_add(code: str, name: str) -> None:
    office = _with_devices(lambda devices: devices.add_office(code, name, actor="cli"))
    click.echo(f"office {office['code']} added")


@cloud.group("device", help="Front-desk appliances and their enrolment.")
def cloud_device() -> None:
    pass


@cloud_device.command("add", help="A new appliance of an office; prints its one-time enrolment code (48 hours) "
                      "on standard output, for `pst edge enroll`.")
@click.option("--office", "office", required=True, help="BPS office code, e.g. 7400")
@click.option("--name", default="Meja depan", show_default=True, help="Name of the appliance")
def cloud_device_add(office: str, name: str) -> None:
    device, code = _with_devices(lambda devices: devices.add_device(office, name, actor="cli"))
    click.echo(code)
    # the code goes to standard output only: standard error is often kept (a journal, a provisioning run's log)
    click.echo(f"device {device['id']} of office {device['office_code']}: on the appliance, PST_ENROL_CODE=<the code"
               " above> pst edge enroll --cloud URL", err=True)


@cloud_device.command("list", help="Appliances with their state and when they were last seen.")
def cloud_device_list() -> None:
    from cloud.db import moment
    from cloud.reports import OFFICE_TZ

    for d in _with_devices(lambda devices: devices.devices()):
        state = "revoked" if d["revoked_at"] else ("enrolled" if d["enrolled"] else "waiting for enrolment")
        seen = _office_time(moment(d["last_seen_at"]), OFFICE_TZ)
        click.echo(f"{d['id']}  {d['office_code']}  {d['name']}  {state}  last seen {seen}")


@cloud_device.command("revoke", help="Refuse every further sync request of an appliance.")
@click.argument("device_id")
def cloud_device_revoke(device_id: str) -> None:
    if not _with_devices(lambda devices: devices.revoke(device_id, actor="cli")):
        raise PstError(f"no active device {device_id}")
    click.echo(f"device {device_id} revoked")


@cloud_device.command("replace", help="A one-time code (48 hours) with which a new SD card takes an appliance's "
                      "place: `pst edge restore --from-cloud --code`. The old card stops syncing once the new one "
                      "enrols.")
@click.argument("device_id")
def cloud_device_replace(device_id: str) -> None:
    code = _with_devices(lambda devices: devices.replacement_code(device_id, actor="cli"))
    click.echo(code)
    click.echo(f"device {device_id}: on the new SD card, PST_ENROL_CODE=<the code above> pst edge restore "
               "--from-cloud --cloud URL", err=True)


def _with_devices(action, demo: bool = False):
    """Runs `action(Devices)` against the cloud database named by the settings (migrated first)."""
    import asyncio

    from cloud.db import Database
    from cloud.devices import Devices
    from cloud.migrations import migrate
    from pst.clock import SystemClock

    settings = _cloud_settings(demo=demo)

    async def run():
        db = Database(settings.database_url)
        await db.start()
        try:
            await migrate(db)
            return await action(Devices(db, SystemClock(), settings.signing_key()))
        finally:
            await db.stop()

    return _cloud_call(asyncio.run, run())


@cloud.group("catalogue", help="The portal's catalogue of publications.")
def cloud_catalogue() -> None:
    pass


@cloud_catalogue.command(
    "import",
    help="Import publications from a UTF-8 CSV with the header title,year,type,subjects,catalogue_number,isbn,"
    "abstract,office,file (subjects separated by ';'; file: a PDF path relative to the CSV, may be empty). "
    "Re-importing updates by catalogue number AND year (every year of a series has the same number); an empty "
    "file cell keeps the softcopy already there. One bad row and nothing is imported.",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def cloud_catalogue_import(file: Path) -> None:
    import asyncio

    from cloud.catalogue import CatalogueError
    from cloud.catalogue_import import import_csv
    from cloud.db import Database
    from cloud.migrations import migrate
    from pst.clock import SystemClock

    settings = _cloud_settings()
    db = Database(settings.database_url)

    async def run():
        await db.start()
        try:
            await migrate(db)
            counts = await import_csv(db, SystemClock(), settings.data_dir, file)
            total = (await db.execute("SELECT count(*) AS n FROM publications"))[0]["n"]
        finally:
            await db.stop()
        return counts, total

    try:
        counts, total = _cloud_call(asyncio.run, run())
    except CatalogueError as exc:
        raise PstError(exc.detail) from None
    click.echo(f"{file}: {counts['added']} added, {counts['updated']} updated, {counts['unchanged']} unchanged;"
               f" {total} publications in the portal catalogue")


def _cloud_settings(demo: bool = False):
    from cloud.settings import CloudSettings, ConfigError

    try:
        return CloudSettings.from_env({**os.environ, "PST_CLOUD_DEMO": "1"} if demo else None)
    except ConfigError as exc:
        raise PstError(str(exc)) from None


def _cloud_call(fn, *args):
    """Runs `fn`, turning the cloud's own errors (settings, account rules, database unreachable) into messages."""
    from cloud.accounts import AccountError
    from cloud.settings import ConfigError

    try:
        return fn(*args)
    except ConfigError as exc:
        raise PstError(str(exc)) from None
    except AccountError as exc:
        fields = "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
        raise PstError(exc.detail + (f" ({fields})" if fields else "")) from None
    except OSError as exc:
        raise PstError(f"database not reachable: {exc}") from None


@main.group(help="The sync agent between this appliance and the cloud.")
def sync() -> None:
    pass


@sync.command("run", help="Sync every PST_SYNC_INTERVAL seconds (default 30), backing off after failures.")
def sync_run() -> None:
    import asyncio
    import logging
    import signal

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("sync").setLevel(logging.INFO)
    store, agent = _sync_agent()
    interval = _sync_interval()

    async def loop() -> None:
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        try:
            await agent.run(interval, stop)
        finally:
            await agent.close()

    click.echo(f"sync agent: {agent.enrolment.cloud_url} every {interval:g} s")
    try:
        asyncio.run(loop())
    finally:
        store.close()


@sync.command("once", help="One round: ask where the cloud stands, take its changes, send what it lacks.")
def sync_once() -> None:
    import asyncio

    from sync.agent import SyncError

    store, agent = _sync_agent()

    async def one():
        try:
            return await agent.round()
        finally:
            await agent.close()

    try:
        result = asyncio.run(one())
    except SyncError as exc:
        raise PstError(f"sync failed: {exc}") from None
    finally:
        store.close()
    click.echo(f"sent {result.sent}, already there {result.duplicates}, refused {result.dead}, "
               f"received {result.received} ({result.requests} requests)")


@sync.command("status", help="Backlog, last success and last error.")
def sync_status() -> None:
    from edge.migrations import migrate
    from edge.store import EdgeStore
    from sync.agent import Enrolment, status

    settings = _edge_settings()
    store = _open_store(settings, EdgeStore)
    try:
        migrate(store)  # a new appliance, or one updated but not restarted yet, has no sync tables before this
        state = status(store)
    finally:
        store.close()
    enrolment = Enrolment.load(settings.data_dir)
    click.echo(f"cloud:        {enrolment.cloud_url if enrolment else 'not enrolled (pst edge enroll)'}")
    click.echo(f"pending:      {state['pending']}")
    tz = settings.config.office.tz
    click.echo(f"last success: {_office_time(state['last_success_at'], tz)}")
    click.echo(f"last error:   {state['last_error'] or '-'}"
               + (f" at {_office_time(state['last_error_at'], tz)}" if state['last_error'] else ""))
    click.echo(f"next attempt: {_office_time(state['next_attempt_at'], tz)}")


def _office_time(stored: str | datetime | None, tz) -> str:
    """A stored UTC time as the office reads it: "2026-12-05 14.02.09 WITA" ("-" when there is none)."""
    from pst.watermark import ZONE_NAMES

    if not stored:
        return "-"
    moment = (stored if isinstance(stored, datetime) else datetime.fromisoformat(stored)).astimezone(tz)
    return f"{moment:%Y-%m-%d %H.%M.%S} {ZONE_NAMES.get(str(tz), moment.strftime('%Z'))}"


def _sync_interval() -> float:
    text = os.environ.get("PST_SYNC_INTERVAL") or "30"
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not 0.1 <= value <= 86_400:
        raise PstError(f"PST_SYNC_INTERVAL: seconds between rounds (0.1–86400), got {text!r}")
    return value


def _sync_agent():
    from dataclasses import replace

    from edge.migrations import migrate
    from edge.store import EdgeStore
    from sync.agent import Agent, Enrolment

    settings = _edge_settings()
    enrolment = Enrolment.load(settings.data_dir)
    if enrolment is None:
        raise PstError("this appliance is not enrolled: run `pst edge enroll --cloud URL --code CODE` first")
    if os.environ.get("PST_SYNC_CLOUD_URL"):
        enrolment = replace(enrolment, cloud_url=os.environ["PST_SYNC_CLOUD_URL"].rstrip("/"))
    store = _open_store(settings, EdgeStore)
    migrate(store)
    return store, Agent(store, enrolment, data_dir=settings.data_dir)


@main.group(help="The appliance's devices.")
def hw() -> None:
    pass


@hw.command("check", help="List the devices found (button, LED, buzzer, printer) and print a test ticket.")
def hw_check() -> None:
    from edge.hwcheck import run_check

    settings = _edge_settings()
    ok = run_check(settings, click.echo)
    if not ok:
        raise PstError("the test ticket did not print; see the printer line above")


def _edge_settings():
    from edge.config import ConfigError
    from edge.settings import EdgeSettings

    try:
        return EdgeSettings.from_env()
    except ConfigError as exc:
        raise PstError(str(exc)) from None


def _open_store(settings, store_class):
    from edge.store import StoreCorrupt

    store = store_class(settings.db_path)
    try:
        store.ensure_sound()
    except StoreCorrupt as exc:
        store.close()
        raise PstError(str(exc)) from None
    return store


def _restore_pending(store) -> bool:
    import sqlite3

    from sync.restore import is_pending

    try:
        return is_pending(store.read)
    except sqlite3.OperationalError:  # a database not migrated yet
        return False


def _serve_edge(settings) -> None:
    import logging

    import uvicorn

    from edge.app import create_app
    from edge.store import EdgeStore, StoreCorrupt, serve_lock
    from pst.logsafe import uvicorn_log_config
    from pst.privacy import keep_private
    from pst.serving import protocol

    keep_private(settings.db_path)  # one made more open before (by an older version, or copied in)
    try:  # a file that is not a database at all is refused; a damaged one is served (pages say so, writes refused)
        store = EdgeStore(settings.db_path)
    except StoreCorrupt as exc:
        raise PstError(f"{exc}; `pst edge restore` puts the newest good backup back") from None
    try:
        restoring = _restore_pending(store)
    finally:
        store.close()
    if restoring:  # today's numbers would start again below the ones the cloud has
        raise PstError("the restore of this database has not finished: run `pst edge restore --catch-up` (or "
                       "`--catch-up --offline` to serve without the records made after the backup)")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("edge", "hardware", "pst"):  # python-escpos logs every connection on the root logger
        logging.getLogger(name).setLevel(logging.INFO)
    with serve_lock(settings.data_dir) as held:  # `pst edge restore` refuses while the appliance serves
        if not held:
            raise PstError(f"{settings.data_dir}: another `pst edge serve` or `pst edge restore` uses this data folder")
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info",
                    log_config=uvicorn_log_config(), http=protocol(settings.read_timeout))


def _add_privacy_commands() -> None:
    from pst.cli_privacy import cloud_privacy, edge_privacy

    edge.add_command(edge_privacy)
    cloud.add_command(cloud_privacy)


_add_privacy_commands()
