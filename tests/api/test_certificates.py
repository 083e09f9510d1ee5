"""A cluster's CA through /v1/certificates: show it, sign a client CSR with it (as
`openstack coe cluster config` does), rotate it."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.conftest import Api, error_detail, template_body

Catalog = dict[str, Any]


@pytest.fixture
def cluster(api: Api, catalog: Catalog) -> dict[str, Any]:
    assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201
    created = api.post("/v1/clusters", json={"name": "c1", "cluster_template_id": "swarm-tpl"})
    assert created.status_code == 202
    api.settle()
    shown = api.get("/v1/clusters/c1")
    assert shown.status_code == 200
    return dict(shown.json())


def _csr(common_name: str = "admin", organization: str = "system:masters") -> tuple[str, Any]:
    """A client CSR like magnumclient's: RSA 2048, CN=admin, O=system:masters."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode(), key


def _ca(api: Api, ident: str = "c1") -> x509.Certificate:
    response = api.get(f"/v1/certificates/{ident}")
    assert response.status_code == 200, response.text
    return x509.load_pem_x509_certificate(response.json()["pem"].encode())


def _sign(api: Api, csr: str, ident: str = "c1") -> x509.Certificate:
    response = api.post("/v1/certificates", json={"cluster_uuid": ident, "csr": csr})
    assert response.status_code == 201, response.text
    return x509.load_pem_x509_certificate(response.json()["pem"].encode())


def test_show_ca_returns_the_pem_and_links(api: Api, cluster: dict[str, Any]) -> None:
    uuid = cluster["uuid"]
    response = api.get("/v1/certificates/c1")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"cluster_uuid", "pem", "links"}
    assert body["cluster_uuid"] == uuid
    assert body["pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert body["links"] == [
        {"href": f"http://testserver/v1/certificates/{uuid}", "rel": "self"},
        {"href": f"http://testserver/certificates/{uuid}", "rel": "bookmark"},
    ]
    ca = x509.load_pem_x509_certificate(body["pem"].encode())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert api.get(f"/v1/certificates/{uuid}").json() == body
    assert api.at(None).get("/v1/certificates/c1").json() == body  # not gated: works at 1.1
    kinds = ("kubernetes", "etcd", "front_proxy", "front-proxy")
    for kind in kinds:
        typed = api.get("/v1/certificates/c1", params={"ca_cert_type": kind})
        assert typed.status_code == 200, kind
    bad = api.get("/v1/certificates/c1", params={"ca_cert_type": "ssh"})
    assert bad.status_code == 400 and "ca_cert_type" in error_detail(bad)


def test_show_ca_of_an_unknown_cluster_is_404(api: Api, cluster: dict[str, Any]) -> None:
    response = api.get("/v1/certificates/nope")
    assert response.status_code == 404
    assert error_detail(response) == "Cluster nope could not be found."


def test_signed_certificate_verifies_against_the_ca_and_keeps_the_subject(
    api: Api, cluster: dict[str, Any]
) -> None:
    csr, key = _csr()
    response = api.post("/v1/certificates", json={"cluster_uuid": "c1", "csr": csr})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"cluster_uuid", "csr", "pem", "links"}
    assert body["cluster_uuid"] == cluster["uuid"] and body["csr"] == csr
    assert body["links"][0]["href"] == f"http://testserver/v1/certificates/{cluster['uuid']}"
    cert = x509.load_pem_x509_certificate(body["pem"].encode())
    ca = _ca(api)
    cert.verify_directly_issued_by(ca)
    assert cert.issuer == ca.subject
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "admin"
    organization = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    assert organization == "system:masters"
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    assert cert.public_key().public_bytes(serialization.Encoding.PEM, public) == (
        key.public_key().public_bytes(serialization.Encoding.PEM, public)
    )
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_sign_by_cluster_uuid_echoes_the_ca_cert_type(api: Api, cluster: dict[str, Any]) -> None:
    csr, _key = _csr("kubelet", "system:nodes")
    body = {"cluster_uuid": cluster["uuid"], "csr": csr, "ca_cert_type": "kubernetes"}
    response = api.post("/v1/certificates", json=body)
    assert response.status_code == 201
    assert response.json()["ca_cert_type"] == "kubernetes"
    signed = x509.load_pem_x509_certificate(response.json()["pem"].encode())
    signed.verify_directly_issued_by(_ca(api))


def test_sign_for_an_unknown_cluster_is_400(api: Api, cluster: dict[str, Any]) -> None:
    csr, _key = _csr()
    response = api.post("/v1/certificates", json={"cluster_uuid": "nope", "csr": csr})
    assert response.status_code == 400  # Magnum rewrites this 404 into a 400
    assert "Cluster nope could not be found" in error_detail(response)
    assert "cluster_uuid" in error_detail(response)


def test_bad_csr_is_refused_naming_it(api: Api, cluster: dict[str, Any]) -> None:
    csr, _key = _csr()
    for bad in ("garbage", csr.replace("REQUEST", "THING"), csr[:200] + csr[260:]):
        response = api.post("/v1/certificates", json={"cluster_uuid": "c1", "csr": bad})
        assert response.status_code == 400, bad
        assert "csr" in error_detail(response), error_detail(response)
    for body, field in (
        ({"cluster_uuid": "c1", "csr": ""}, "csr"),
        ({"cluster_uuid": "c1"}, "csr"),
        ({"csr": csr}, "cluster_uuid"),
        ({"cluster_uuid": "c1", "csr": csr, "bogus": 1}, "bogus"),
    ):
        response = api.post("/v1/certificates", json=body)
        assert response.status_code == 400, body
        assert field in error_detail(response), (body, error_detail(response))


def test_rotate_replaces_the_ca_and_old_certificates_stop_verifying(
    api: Api, cluster: dict[str, Any]
) -> None:
    csr, _key = _csr()
    before = _sign(api, csr)
    old_ca = _ca(api)
    before.verify_directly_issued_by(old_ca)
    response = api.patch("/v1/certificates/c1")
    assert response.status_code == 202
    assert response.json() == {"uuid": cluster["uuid"]}
    assert api.get("/v1/clusters/c1").json()["status"] == "UPDATE_IN_PROGRESS"
    api.settle()
    assert api.get("/v1/clusters/c1").json()["status"] == "UPDATE_COMPLETE"
    new_ca = _ca(api)
    assert new_ca != old_ca
    assert new_ca.public_key() != old_ca.public_key()
    with pytest.raises((InvalidSignature, ValueError)):
        before.verify_directly_issued_by(new_ca)
    after = _sign(api, csr)
    after.verify_directly_issued_by(new_ca)


def test_rotate_is_not_gated_by_microversion(api: Api, cluster: dict[str, Any]) -> None:
    old_ca = _ca(api)
    response = api.at("1.4").patch(f"/v1/certificates/{cluster['uuid']}")
    assert response.status_code == 202
    api.settle()
    assert _ca(api) != old_ca


def test_rotate_on_a_cluster_without_tls_is_refused(api: Api, catalog: Catalog) -> None:
    body = template_body(name="notls", tls_disabled=True)
    assert api.post("/v1/clustertemplates", json=body).status_code == 201
    created = api.post("/v1/clusters", json={"name": "plain", "cluster_template_id": "notls"})
    assert created.status_code == 202
    api.settle()
    ca = api.get("/v1/certificates/plain").json()
    response = api.patch("/v1/certificates/plain")
    assert response.status_code == 400
    assert error_detail(response) == (
        "Rotating the CA certificate on a non-TLS cluster is not supported"
    )
    assert api.get("/v1/clusters/plain").json()["status"] == "CREATE_COMPLETE"
    assert api.settle() == 0
    assert api.get("/v1/certificates/plain").json() == ca


def test_rotate_is_refused_while_another_operation_runs(api: Api, catalog: Catalog) -> None:
    assert api.post("/v1/clustertemplates", json=template_body()).status_code == 201
    created = api.post("/v1/clusters", json={"name": "c1", "cluster_template_id": "swarm-tpl"})
    assert created.status_code == 202
    during_create = api.patch("/v1/certificates/c1")
    assert during_create.status_code == 409
    assert "busy" in error_detail(during_create) and "create" in error_detail(during_create)
    api.settle()
    ca = _ca(api)
    assert api.post("/v1/clusters/c1/actions/resize", json={"node_count": 2}).status_code == 202
    during_resize = api.patch("/v1/certificates/c1")
    assert during_resize.status_code == 409 and "resize" in error_detail(during_resize)
    api.settle()
    assert _ca(api) == ca  # nothing was rotated
    assert api.patch("/v1/certificates/c1").status_code == 202
    again = api.patch("/v1/certificates/c1")
    assert again.status_code == 409 and "rotate-ca" in error_detail(again)
