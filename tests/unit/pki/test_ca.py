from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from cove import errors
from cove.pki import ca


def _csr(extensions: list[x509.ExtensionType] | None = None) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, "admin"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
            ]
        )
    )
    for ext in extensions or []:
        builder = builder.add_extension(ext, critical=False)
    from cryptography.hazmat.primitives import serialization

    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def test_signed_certificate_keeps_subject_and_verifies_against_the_ca() -> None:
    authority = ca.create_ca("c1")
    cert = x509.load_pem_x509_certificate(ca.sign_csr(authority, _csr()).encode())
    root = x509.load_pem_x509_certificate(authority.cert_pem.encode())
    cert.verify_directly_issued_by(root)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "admin"
    assert cert.issuer == root.subject
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_a_csr_cannot_obtain_a_ca_certificate() -> None:
    authority = ca.create_ca("c1")
    pem = ca.sign_csr(authority, _csr([x509.BasicConstraints(ca=True, path_length=None)]))
    cert = x509.load_pem_x509_certificate(pem.encode())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_garbage_is_refused_naming_the_field() -> None:
    with pytest.raises(errors.InvalidField, match="csr"):
        ca.sign_csr(ca.create_ca("c1"), "not a csr")


def test_rotated_ca_does_not_verify_old_certificates() -> None:
    old, new = ca.create_ca("c1"), ca.create_ca("c1")
    cert = x509.load_pem_x509_certificate(ca.sign_csr(old, _csr()).encode())
    with pytest.raises(InvalidSignature):
        cert.verify_directly_issued_by(x509.load_pem_x509_certificate(new.cert_pem.encode()))


def test_a_name_longer_than_x509_allows_names_the_first_64_characters() -> None:
    """A cluster's name may be 242 characters; a certificate's common name at most 64."""
    name = "c" + "x" * 241
    authority = ca.create_ca(name)
    node = ca.issue(authority, name, server_names=["localhost"], client=False)
    for pem in (authority.cert_pem, node.cert_pem):
        cert = x509.load_pem_x509_certificate(pem.encode())
        [cn] = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        assert cn.value == name[:64]
