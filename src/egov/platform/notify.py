"""Messages to people: e-mail through SMTP, SMS through a sender; a development outbox for both.

E-mail goes over real SMTP (`EGOV_SMTP_HOST`; STARTTLS and login when configured). There is no
SMS gateway on this platform yet, so SMS goes through the `SmsSender` protocol and the only
implementation is the development outbox (JSON lines under `EGOV_DATA_DIR/outbox/`), which
production settings refuse. Message bodies may carry one-time codes: they are never logged.
"""

from __future__ import annotations

import json
import logging
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

log = logging.getLogger("egov.platform.notify")


class NotConfigured(Exception):
    """The channel has no sender in this deployment."""


class SmsSender(Protocol):
    def send_sms(self, to: str, text: str) -> None: ...


class EmailSender(Protocol):
    def send_email(self, to: str, subject: str, body: str) -> None: ...


@dataclass
class OutboxSender:
    """Development only: appends each message to `directory/{email,sms}.jsonl` for a developer or a test."""

    directory: Path

    def _append(self, name: str, record: dict[str, str]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / f"{name}.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps({**record, "at": datetime.now(UTC).isoformat()}, ensure_ascii=False) + "\n")

    def send_sms(self, to: str, text: str) -> None:
        self._append("sms", {"to": to, "text": text})
        log.info("sms written to the development outbox")  # never the text: it may hold a code

    def send_email(self, to: str, subject: str, body: str) -> None:
        self._append("email", {"to": to, "subject": subject, "body": body})
        log.info("e-mail written to the development outbox")

    def read(self, name: str) -> list[dict[str, str]]:
        path = self.directory / f"{name}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class SmtpSender:
    host: str
    port: int
    sender: str
    starttls: bool = False
    username: str = ""
    password: str = ""
    timeout: float = 10.0

    def send_email(self, to: str, subject: str, body: str) -> None:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        msg["Subject"] = subject
        msg.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(msg)


class RefusingSms:
    def send_sms(self, to: str, text: str) -> None:
        raise NotConfigured("no SMS gateway is configured in this deployment")


@dataclass
class Notifier:
    email: EmailSender
    sms: SmsSender
