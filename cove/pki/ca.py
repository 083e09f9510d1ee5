"""Per-cluster certificate authorities: create a CA, sign CSRs the way Magnum does (subject
from the CSR, issuer named after the cluster, only safe extensions kept), and issue the
node and client certificates drivers need. Keys are ECDSA P-256: fast to make, and accepted
by the Docker engine and every TLS client cove serves."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cove import errors

VALIDITY_DAYS = 1825


@dataclass(frozen=True)
class KeyPair:
    cert_pem: str
    key_pem: str = field(repr=False)  # a secret: never in a repr or a log line


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _window(now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=1)
    return start, start + dt.timedelta(days=VALIDITY_DAYS)


# X.509's upper bound for a common name (RFC 5280, ub-common-name); a cluster's name may be
# longer (242), and the subject only names the certificate: the first 64 characters do.
COMMON_NAME_MAX = 64


def subject(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:COMMON_NAME_MAX])])


def create_ca(common_name: str) -> KeyPair:
    key = ec.generate_private_key(ec.SECP256R1())
    name = subject(common_name)
    start, end = _window()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(uuid.uuid4().int)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key))


_KEPT_EXTENSIONS = (
    x509.KeyUsage,
    x509.ExtendedKeyUsage,
    x509.SubjectAlternativeName,
    x509.BasicConstraints,
)


def sign_csr(ca: KeyPair, csr_pem: str) -> str:
    """Sign a client's CSR. Only key usage, extended key usage, SAN and a non-CA basic
    constraint are kept from the request, as Magnum does; a SubjectKeyIdentifier is added."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
    except ValueError:
        raise errors.InvalidField(
            "csr", csr_pem[:64], "Not a PEM certificate signing request."
        ) from None
    if not csr.is_signature_valid:
        raise errors.InvalidField("csr", csr_pem[:64], "The CSR's signature does not verify.")
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.encode())
    ca_key = serialization.load_pem_private_key(ca.key_pem.encode(), password=None)
    start, end = _window()
    builder = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca_cert.subject)
        .public_key(csr.public_key())
        .serial_number(uuid.uuid4().int)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), critical=False)
    )
    has_basic = False
    for ext in csr.extensions:
        if isinstance(ext.value, _KEPT_EXTENSIONS):
            if isinstance(ext.value, x509.BasicConstraints):
                has_basic = True
                builder = builder.add_extension(x509.BasicConstraints(False, None), ext.critical)
            else:
                builder = builder.add_extension(ext.value, ext.critical)
    if not has_basic:
        builder = builder.add_extension(x509.BasicConstraints(False, None), critical=True)
    cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def issue(
    ca: KeyPair, common_name: str, *, server_names: list[str] | None = None, client: bool = True
) -> KeyPair:
    """A fresh key and certificate for a node (server) or a client, signed by ``ca``."""
    key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.encode())
    ca_key = serialization.load_pem_private_key(ca.key_pem.encode(), password=None)
    start, end = _window()
    usage = (
        [ExtendedKeyUsageOID.CLIENT_AUTH]
        if client
        else [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(uuid.uuid4().int)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(False, None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    )
    if server_names:
        sans: list[x509.GeneralName] = []
        for item in server_names:
            try:
                import ipaddress

                sans.append(x509.IPAddress(ipaddress.ip_address(item)))
            except ValueError:
                sans.append(x509.DNSName(item))
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key))
