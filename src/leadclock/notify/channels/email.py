"""E-mail over SMTP with the standard library: multipart/alternative, plain text and HTML.

Settings:
- `host` (default localhost), `port` (default 587 with STARTTLS, 465 with `ssl`, else 25);
- `from` (required): the sender address, e.g. `leadclock@example.co.jp`;
- `starttls: true` to upgrade the connection before authenticating; `ssl: true` for implicit TLS;
  `ca_file`: a CA bundle to verify the server with (a private CA), else the system's;
- `username` and `password` (or `password_env`) to authenticate (only after STARTTLS/SSL unless
  `allow_plain_auth: true`, for a relay on localhost);
- `timeout` seconds (default 10); `message_id_domain` (default: the `from` address's domain).

The recipient of an outbox row is the address. `Message-ID` is derived from the dedupe key, so a
retry of the same message carries the same id and mail systems can drop the duplicate; the
message says `Auto-Submitted: auto-generated` so auto-responders do not answer it (RFC 3834).
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from leadclock.notify.channels import ChannelContext, Settings, register
from leadclock.notify.errors import NotifyError, PermanentError, TransientError
from leadclock.notify.outbox import OutboxRow


def message_id(dedupe_key: str, domain: str) -> str:
    return f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:40]}@{domain}>"


def _smtp_error(error: smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused, what: str) -> Exception:
    # SMTP's own rule: 4xx is temporary, 5xx is final.
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        code = max(codes) if codes else 550
        detail = "; ".join(f"{addr}: {c} {m.decode(errors='replace') if isinstance(m, bytes) else m}"
                           for addr, (c, m) in error.recipients.items())
    else:
        code = error.smtp_code
        raw = error.smtp_error
        detail = f"{code} {raw.decode(errors='replace') if isinstance(raw, bytes) else raw}"
    text = f"{what}: {detail}"
    return PermanentError(text) if code >= 500 else TransientError(text)


@register("email")
class EmailChannel:
    type = "email"

    def __init__(self, name: str, settings: Settings, context: ChannelContext) -> None:
        self.name = name
        self.sender = settings.require("from")
        if "@" not in self.sender:
            raise NotifyError(f"channel {name!r}: from {self.sender!r} is not an e-mail address")
        self.starttls = settings.flag("starttls")
        self.ssl = settings.flag("ssl")
        if self.starttls and self.ssl:
            raise NotifyError(f"channel {name!r}: choose starttls or ssl, not both")
        self.host = settings.get("host", "localhost") or "localhost"
        default_port = 465 if self.ssl else 587 if self.starttls else 25
        self.port = int(settings.number("port", default_port))
        self.username = settings.get("username")
        self.password = settings.get("password")
        if self.username and not self.password:
            raise NotifyError(f"channel {name!r}: username is set but password (or password_env) is not")
        self.allow_plain_auth = settings.flag("allow_plain_auth")
        if self.username and not (self.starttls or self.ssl or self.allow_plain_auth):
            raise NotifyError(
                f"channel {name!r}: refusing to send a password unencrypted; set starttls or ssl "
                "(or allow_plain_auth for a local relay)"
            )
        self.ca_file = settings.get("ca_file")
        self.timeout = settings.number("timeout", 10.0)
        self.domain = settings.get("message_id_domain") or self.sender.rsplit("@", 1)[1].strip(" >")

    def build(self, row: OutboxRow) -> EmailMessage:
        """The message as it will be sent (also handy to preview)."""
        message = EmailMessage()
        message["Subject"] = row.subject
        message["From"] = self.sender
        message["To"] = row.recipient
        message["Date"] = format_datetime(row.created_at)
        message["Message-ID"] = message_id(row.dedupe_key, self.domain)
        message["Auto-Submitted"] = "auto-generated"
        message["X-Leadclock-Idempotency-Key"] = row.idempotency_key
        message.set_content(row.body_text)
        message.add_alternative(row.body_html, subtype="html")
        return message

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def send(self, row: OutboxRow) -> None:
        what = f"email {self.name}"
        try:
            Address(addr_spec=row.recipient)
        except (ValueError, IndexError) as error:
            raise PermanentError(f"{what}: recipient {row.recipient!r} is not an e-mail address ({error})") from None
        message = self.build(row)
        try:
            smtp: smtplib.SMTP
            if self.ssl:
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._tls())
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=self._tls())
                    smtp.ehlo()
                if self.username and self.password:
                    smtp.login(self.username, self.password)
                smtp.send_message(message, from_addr=self.sender, to_addrs=[row.recipient])
        except smtplib.SMTPNotSupportedError as error:
            # e.g. STARTTLS or AUTH not offered: a configuration problem, not a passing one.
            raise PermanentError(f"{what}: {error}") from error
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as error:
            raise _smtp_error(error, what) from error
        except ssl.SSLCertVerificationError as error:
            raise PermanentError(f"{what}: the server's certificate does not verify ({error.verify_message})") from error
        except (smtplib.SMTPException, OSError) as error:
            # Refused or dropped connections, timeouts, TLS hiccups: try again later.
            raise TransientError(f"{what}: {error or type(error).__name__}") from error


__all__ = ["EmailChannel", "message_id"]
