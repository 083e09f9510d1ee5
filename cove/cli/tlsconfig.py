"""Client TLS material for ``cove cluster config``, made as Magnum's ``cluster config`` makes
it: a fresh RSA key and a CSR here, signed by the cluster's CA through the API; the key never
leaves this machine."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

FILES = ("ca.pem", "cert.pem", "key.pem")
KUBECONFIG = "config"


def key_and_csr(common_name: str = "admin") -> tuple[str, str]:
    """A new private key (PEM) and a CSR for a client certificate (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if common_name == "admin":  # Kubernetes maps this organisation to cluster-admin
        subject.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"))
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(subject))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=True,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, csr.public_bytes(serialization.Encoding.PEM).decode()


def existing(directory: Path, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if (directory / name).exists()]


def write(directory: Path, files: dict[str, str]) -> None:
    """Write the files, private ones (key, kubeconfig) readable by the owner only."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name, text in files.items():
        path = directory / name
        private = name in ("key.pem", KUBECONFIG)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        if private:
            path.chmod(0o600)


def docker_env(api_address: str, directory: Path | None) -> str:
    """The line ``eval $(cove cluster config c)`` runs (no certificates without TLS)."""
    line = f"export DOCKER_HOST={shlex.quote(api_address)}"
    if directory is not None:
        line += f" DOCKER_CERT_PATH={shlex.quote(str(directory))} DOCKER_TLS_VERIFY=1"
    return line


def kubeconfig(name: str, server: str, directory: Path | None) -> str:
    """A kubeconfig naming the PEM files beside it (Magnum's ``--output-certs`` layout)."""
    cluster: dict[str, str] = {"server": server}
    user: dict[str, str] = {}
    if directory is not None:
        cluster["certificate-authority"] = str(directory / "ca.pem")
        user = {
            "client-certificate": str(directory / "cert.pem"),
            "client-key": str(directory / "key.pem"),
        }
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": "admin"}}],
        "current-context": name,
        "users": [{"name": "admin", "user": user}],
    }
    return yaml.safe_dump(document, sort_keys=False)
