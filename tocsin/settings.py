"""Process settings from the command line and the environment (the configuration file
holds what the service does; these say where it runs)."""

import os
import secrets
import ssl
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ingest.stream import Durability
from notifier.signing import MIN_SECRET_BYTES


class SettingsError(Exception):
    """A setting is missing or wrong; the message says which and how to fix it."""


LOG_FORMATS = ("text", "json")


def _durability(value: str | None) -> Durability:
    try:
        return Durability(value or Durability.PRIMARY)
    except ValueError:
        choices = ", ".join(member.value for member in Durability)
        raise SettingsError(f"TOCSIN_DURABILITY={value!r}: use one of {choices}") from None


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


@dataclass(frozen=True)
class Settings:
    config_path: Path = Path("tocsin.yaml")
    host: str = "127.0.0.1"
    port: int = 8080
    redis_url: str | None = None
    """Unset: ``tocsin up`` starts an embedded Valkey under ``data_dir``."""
    data_dir: Path = Path(".tocsin")
    secret_key: str | None = None
    public_url: str | None = None
    escalation_poll: timedelta = timedelta(milliseconds=100)
    """How often the worker looks for due escalation timers (their precision): a timer runs
    up to this late, and an idle worker asks ten times a second, one cheap query each."""
    durability: Durability = Durability.PRIMARY
    log_format: str = "text"
    shutdown_grace: timedelta = timedelta(seconds=20)
    """After SIGTERM: how long in-flight work may take before the process exits anyway."""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    """PEM files: with both, ``tocsin web`` and ``up`` serve https on their port."""

    @classmethod
    def from_env(cls, **overrides: object) -> "Settings":
        """Environment first, then explicit overrides (command-line flags) that are not None."""
        env = os.environ
        values: dict[str, object] = {
            "config_path": Path(env.get("TOCSIN_CONFIG", "tocsin.yaml")),
            "redis_url": env.get("TOCSIN_REDIS_URL") or None,
            "secret_key": env.get("TOCSIN_SECRET_KEY") or None,
            "public_url": env.get("TOCSIN_PUBLIC_URL") or None,
            "durability": _durability(env.get("TOCSIN_DURABILITY")),
            "log_format": env.get("TOCSIN_LOG_FORMAT") or "text",
            "tls_cert": _path(env.get("TOCSIN_TLS_CERT")),
            "tls_key": _path(env.get("TOCSIN_TLS_KEY")),
        }
        grace = env.get("TOCSIN_SHUTDOWN_GRACE")
        if grace:
            if not grace.isdigit() or not 0 < int(grace) <= 3600:
                raise SettingsError(
                    f"TOCSIN_SHUTDOWN_GRACE={grace!r}: give whole seconds from 1 to 3600"
                )
            values["shutdown_grace"] = timedelta(seconds=int(grace))
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values["log_format"] not in LOG_FORMATS:
            raise SettingsError(
                f"log format {values['log_format']!r}: use one of {', '.join(LOG_FORMATS)}"
            )
        return cls(**values)  # type: ignore[arg-type]

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls_cert else "http"
        return self.public_url or f"{scheme}://{self.host}:{self.port}"

    def tls(self) -> ssl.SSLContext | None:
        """The server context of ``--tls-cert``/``--tls-key``, or None without them;
        ``SettingsError`` in one line when they cannot be used."""
        if self.tls_cert is None and self.tls_key is None:
            return None
        if self.tls_cert is None or self.tls_key is None:
            raise SettingsError("TLS needs both --tls-cert and --tls-key (TOCSIN_TLS_CERT/_KEY)")
        for flag, path in (("--tls-cert", self.tls_cert), ("--tls-key", self.tls_key)):
            try:
                path.read_bytes()
            except OSError as error:
                raise SettingsError(f"{flag} {path}: cannot read file: {error.strerror}") from None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.tls_cert, self.tls_key)
        except ssl.SSLError as error:
            why = (
                "the key does not belong to the certificate"
                if error.reason == "KEY_VALUES_MISMATCH"
                else "not a PEM certificate and its unencrypted private key"
            )
            raise SettingsError(
                f"--tls-cert {self.tls_cert} --tls-key {self.tls_key}: {why} ({error.reason})"
            ) from None
        return context

    def secret(self, *, may_create: bool) -> bytes:
        """The link-signing key. ``tocsin up`` keeps a generated one in the data dir; the
        separate roles must share one, so they require ``TOCSIN_SECRET_KEY``."""
        if self.secret_key:
            key = self.secret_key.encode()
            if len(key) < MIN_SECRET_BYTES:
                raise SettingsError(
                    f"TOCSIN_SECRET_KEY is {len(key)} bytes: it must be at least "
                    f"{MIN_SECRET_BYTES} (generate one with: python3 -c "
                    "'import secrets; print(secrets.token_hex(32))')"
                )
            return key
        if not may_create:
            raise SettingsError(
                "TOCSIN_SECRET_KEY is not set: every web and worker process must sign and "
                "check acknowledge links with the same key"
            )
        path = self.data_dir / "secret.key"
        try:
            if not path.exists():
                self.data_dir.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as file:
                    file.write(secrets.token_hex(32))
            return path.read_text().strip().encode()
        except OSError as error:
            raise SettingsError(
                f"cannot keep the link-signing key in {path}: {error.strerror}; "
                "choose another --data-dir or set TOCSIN_SECRET_KEY"
            ) from error
