"""``cove cluster config`` and ``cove ca``: client certificates signed by the cluster's CA."""

from __future__ import annotations

import shlex
import stat
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.cli.conftest import Cove, unique


def _check_pair(directory: Path) -> x509.Certificate:
    """cert.pem is signed by ca.pem and belongs to key.pem; returns the certificate."""
    ca = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
    cert = x509.load_pem_x509_certificate((directory / "cert.pem").read_bytes())
    key = serialization.load_pem_private_key((directory / "key.pem").read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    cert.verify_directly_issued_by(ca)  # raises when the CA did not sign it
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    message = b"proof of possession"
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    return cert


def test_config_writes_a_signed_pair_and_prints_the_environment(
    cove: Cove, cluster: dict[str, Any], tmp_path: Path
) -> None:
    directory = tmp_path / "certs"
    result = cove(f"cluster config {cluster['name']} --dir {directory}")
    assert result.stdout == (
        f"export DOCKER_HOST=tcp://10.0.0.2:2376 DOCKER_CERT_PATH={directory} DOCKER_TLS_VERIFY=1\n"
    )
    assert sorted(p.name for p in directory.iterdir()) == ["ca.pem", "cert.pem", "key.pem"]
    assert stat.S_IMODE((directory / "key.pem").stat().st_mode) == 0o600
    cert = _check_pair(directory)
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usages
    ca_pem = cove(f"ca show {cluster['uuid']}").stdout
    assert ca_pem.strip() == (directory / "ca.pem").read_text().strip()


def test_config_defaults_to_the_home_directory_and_refuses_to_overwrite(
    cove: Cove, cluster: dict[str, Any]
) -> None:
    name = cluster["name"]
    first = cove(f"cluster config {name}")
    directory = Path(cove.env["HOME"]) / ".cove" / "clusters" / name
    assert f"DOCKER_CERT_PATH={directory} " in first.stdout
    before = (directory / "cert.pem").read_text()
    again = cove(f"cluster config {name}", code=1)
    assert again.error_lines() == [
        f"error: ca.pem, cert.pem, key.pem already in {directory}; use --force to overwrite"
    ]
    assert (directory / "cert.pem").read_text() == before
    cove(f"cluster config {name} --force")
    assert (directory / "cert.pem").read_text() != before
    _check_pair(directory)


def test_config_without_tls_prints_only_the_host(
    cove: Cove, world: dict[str, str], tmp_path: Path
) -> None:
    name = unique("c")
    cove(f"cluster create {name} --template {world['plain']} -f json")
    result = cove(f"cluster config {name} --dir {tmp_path / 'none'}")
    assert result.stdout == "export DOCKER_HOST=tcp://10.0.0.2:2376\n"
    assert not (tmp_path / "none").exists()
    cove(f"cluster delete {name}")


def test_config_output_evaluates_in_a_shell(cove: Cove, cluster: dict[str, Any]) -> None:
    line = cove(f"cluster config {cluster['name']} --force").stdout
    words = shlex.split(line)
    assert words[0] == "export"
    env = dict(word.split("=", 1) for word in words[1:])
    assert env["DOCKER_TLS_VERIFY"] == "1"
    assert Path(env["DOCKER_CERT_PATH"], "key.pem").exists()


def test_ca_sign_and_rotate(cove: Cove, cluster: dict[str, Any], tmp_path: Path) -> None:
    name = cluster["name"]
    cove(f"cluster config {name} --dir {tmp_path / 'old'}")
    csr = tmp_path / "old" / "client.csr"
    key = serialization.load_pem_private_key((tmp_path / "old" / "key.pem").read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "me")]))
        .sign(key, hashes.SHA256())
    )
    csr.write_bytes(request.public_bytes(serialization.Encoding.PEM))
    signed = cove(f"ca sign {name} --csr {csr}").stdout
    cert = x509.load_pem_x509_certificate(signed.encode())
    assert cert.subject.rfc4514_string() == "CN=me"
    old_ca = cove.json(f"ca show {name}")["pem"]
    rotated = cove(f"ca rotate {name}")
    assert "CA rotation accepted." in rotated.stderr
    assert "UPDATE_COMPLETE" in rotated.stderr
    assert cove.json(f"ca show {name}")["pem"] != old_ca
    bad = cove(f"ca sign {name} --csr {tmp_path / 'old' / 'ca.pem'}", code=1)
    assert bad.error_lines() and "csr" in bad.error_lines()[0].lower()
