"""``--tls-cert``/``--tls-key`` (and ``TOCSIN_TLS_CERT``/``_KEY``) for ``tocsin web`` and
``up``: files that cannot serve https stop the start with one line and exit 2."""

from pathlib import Path

import pytest

from tests.certificates import self_signed
from tocsin.cli import main

DEPLOY = Path(__file__).parents[2] / "deploy" / "tocsin.yaml"


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # Everything else a web process needs is there: only TLS can be wrong.
    monkeypatch.setenv("TOCSIN_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("TOCSIN_SECRET_KEY", "k" * 32)


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["web", "--config", str(DEPLOY), *argv]) == 2
    return capsys.readouterr().err.splitlines()


def test_a_missing_certificate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, key = self_signed(tmp_path)
    missing = tmp_path / "missing.pem"
    assert refused(["--tls-cert", str(missing), "--tls-key", str(key)], capsys) == [
        f"tocsin: --tls-cert {missing}: cannot read file: No such file or directory"
    ]


def test_a_certificate_without_its_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cert, _ = self_signed(tmp_path)
    assert refused(["--tls-cert", str(cert)], capsys) == [
        "tocsin: TLS needs both --tls-cert and --tls-key (TOCSIN_TLS_CERT/_KEY)"
    ]


def test_a_file_that_is_not_pem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, key = self_signed(tmp_path)
    garbage = tmp_path / "cert.txt"
    garbage.write_text("not a certificate\n")
    (line,) = refused(["--tls-cert", str(garbage), "--tls-key", str(key)], capsys)
    assert line.startswith(
        f"tocsin: --tls-cert {garbage} --tls-key {key}: not a PEM certificate and its "
        "unencrypted private key ("
    )


def test_a_key_of_another_certificate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    cert, _ = self_signed(tmp_path / "a")
    _, other_key = self_signed(tmp_path / "b")
    assert refused(["--tls-cert", str(cert), "--tls-key", str(other_key)], capsys) == [
        f"tocsin: --tls-cert {cert} --tls-key {other_key}: the key does not belong to the "
        "certificate (KEY_VALUES_MISMATCH)"
    ]


def test_the_environment_names_them_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.pem"
    monkeypatch.setenv("TOCSIN_TLS_CERT", str(missing))
    monkeypatch.setenv("TOCSIN_TLS_KEY", str(missing))
    assert refused([], capsys) == [
        f"tocsin: --tls-cert {missing}: cannot read file: No such file or directory"
    ]


def test_other_roles_have_no_tls_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["router", "--config", str(DEPLOY), "--tls-cert", "cert.pem"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --tls-cert" in capsys.readouterr().err
