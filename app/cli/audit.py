"""`flask --app run audit verify|anchor|rekey`: check the keyed hash chain of the audit trail and anchor
its head outside the database."""
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from app.cli.common import fail
from app.extensions import db

audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
@click.option("--anchor", "anchor_file", default=None, metavar="FILE",
              help="Anchors written by `audit anchor`: rows removed from the end since are found too.")
def audit_verify_command(anchor_file: str | None) -> None:
    """Check the keyed hash chain of the audit trail (and the anchors); exit 1 at the first edited,
    deleted or moved row, 2 on an unreadable anchor file."""
    from app.services.audit import verify_chain
    from app.services.audit_anchor import AnchorFileError, read_anchors

    try:
        anchors = read_anchors(anchor_file) if anchor_file else None
    except AnchorFileError as err:
        fail(err.message)
    checked, problem = verify_chain(anchors=anchors)
    if problem:
        click.echo(f"Журнал аудита нарушен: {problem} (проверено записей до неё: {checked})", err=True)
        sys.exit(1)
    suffix = f"; привязок сверено: {len(anchors)}" if anchors is not None else ""
    click.echo(f"Журнал аудита цел: проверено записей {checked}{suffix}")


@audit_cli.command("anchor")
@click.option("--file", "anchor_file", default=None, metavar="FILE",
              help="File the anchor is appended to (default: AUDIT_ANCHOR_FILE). Keep it off the database server.")
def audit_anchor_command(anchor_file: str | None) -> None:
    """Record the chain's head (row count, last row, hash, time) outside the database: one JSON line
    appended to FILE and the log. Refuses (exit 1) to anchor a broken chain."""
    import json

    from app.services.audit import verify_chain
    from app.services.audit_anchor import AnchorFileError, append_anchor, chain_head

    checked, problem = verify_chain()
    if problem:
        click.echo(f"Журнал аудита нарушен: {problem} (проверено записей до неё: {checked}); "
                   "привязка не записана", err=True)
        sys.exit(1)
    anchor = chain_head()
    db.session.rollback()
    path = anchor_file or current_app.config["AUDIT_ANCHOR_FILE"]
    try:
        append_anchor(anchor, path)
    except AnchorFileError as err:
        fail(err.message)
    click.echo(json.dumps(anchor, ensure_ascii=False))
    click.echo(f"Привязка журнала аудита дописана в {path}: записей {anchor['count']}")


@audit_cli.command("rekey")
def audit_rekey_command() -> None:
    """Once, after upgrading to the keyed chain: re-chain a trail written without AUDIT_KEY, if intact."""
    from app.services.audit import rekey_legacy_chain, verify_chain

    checked, problem = verify_chain()
    if problem is None:
        click.echo(f"Журнал аудита уже связан ключом: записей {checked}; ничего не изменено")
        return
    done, problem = rekey_legacy_chain()
    if problem:
        click.echo(f"Журнал аудита нарушен: {problem}", err=True)
        sys.exit(1)
    click.echo(f"Журнал аудита связан ключом AUDIT_KEY: записей {done}")
