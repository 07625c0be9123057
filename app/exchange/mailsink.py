"""A local mail sink for the demo (and drills): a real SMTP server (aiosmtpd) that accepts every message and keeps
it, so that deliveries by e-mail succeed without the internet and can be read.

    python -m app.exchange.mailsink [--host 127.0.0.1] [--port 8025] [--dir instance/mail]

Each message is written as `<time>-<id>.eml` in the folder (open it with any mail reader, or `less`), and one
line — time, recipients, subject, file — is appended to `mail.log` there.
"""
import argparse
import datetime as dt
import email
import time
import uuid
from email import policy
from pathlib import Path

from aiosmtpd.controller import Controller


class Sink:
    """The aiosmtpd handler: every message to a file, and a line in the log."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(envelope.content)
        subject = email.message_from_bytes(envelope.content, policy=policy.default)["Subject"] or ""
        with (self.folder / "mail.log").open("a", encoding="utf-8") as log:
            log.write(f"{stamp}\t{', '.join(envelope.rcpt_tos)}\t{subject}\t{path.name}\n")
        return "250 Message accepted for delivery"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A local SMTP server that keeps every message it receives.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", default="instance/mail", help="where the messages and mail.log go")
    args = parser.parse_args(argv)
    folder = Path(args.dir).resolve()
    controller = Controller(Sink(folder), hostname=args.host, port=args.port)
    controller.start()
    print(f"listening on smtp://{args.host}:{args.port}; mail in {folder}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
