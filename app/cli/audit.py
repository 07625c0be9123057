"""`flask --app run audit verify|anchor|rekey`: check the keyed hash chains of the audit trail (one per
school) and anchor their heads outside the database."""
import sys

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _

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
        click.echo(_("The audit trail is broken: %(problem)s (rows checked before it: %(checked)d)",
                     problem=problem, checked=checked), err=True)
        sys.exit(1)
    suffix = _("; anchors checked: %(n)d", n=len(anchors)) if anchors is not None else ""
    click.echo(_("The audit trail is intact: %(checked)d rows checked%(suffix)s", checked=checked, suffix=suffix))


@audit_cli.command("anchor")
@click.option("--file", "anchor_file", default=None, metavar="FILE",
              help="File the anchor is appended to (default: AUDIT_ANCHOR_FILE). Keep it off the database server.")
def audit_anchor_command(anchor_file: str | None) -> None:
    """Record the chain's head (row count, last row, hash, time) outside the database: one JSON line
    appended to FILE and the log. Refuses (exit 1) to anchor a broken chain."""
    from app.services.audit import verify_chain
    from app.services.audit_anchor import AnchorFileError, anchor_line, anchored_rows, append_anchor, chain_head

    checked, problem = verify_chain()
    if problem:
        click.echo(_("The audit trail is broken: %(problem)s (rows checked before it: %(checked)d); no anchor "
                     "written", problem=problem, checked=checked), err=True)
        sys.exit(1)
    anchor = chain_head()
    db.session.rollback()
    path = anchor_file or current_app.config["AUDIT_ANCHOR_FILE"]
    try:
        append_anchor(anchor, path)
    except AnchorFileError as err:
        fail(err.message)
    click.echo(anchor_line(anchor))
    click.echo(_("The audit trail's anchor is appended to %(path)s: %(count)d rows", path=path,
                 count=anchored_rows(anchor)))


@audit_cli.command("rekey")
def audit_rekey_command() -> None:
    """Once, after upgrading to the keyed chain: re-chain a trail written without AUDIT_KEY, if intact."""
    from app.services.audit import rekey_legacy_chain, verify_chain

    checked, problem = verify_chain()
    if problem is None:
        click.echo(_("The audit trail is already keyed: %(n)d rows; nothing changed", n=checked))
        return
    done, problem = rekey_legacy_chain()
    if problem:
        click.echo(_("The audit trail is broken: %(problem)s", problem=problem), err=True)
        sys.exit(1)
    click.echo(_("The audit trail is keyed with AUDIT_KEY: %(n)d rows", n=done))
