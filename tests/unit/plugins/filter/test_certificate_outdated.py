import datetime
import ipaddress

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ansible_collections.tmi.postgresql.plugins.filter.certificate_outdated import certificate_outdated

NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
NAMES = ['DNS:db1.example.org', 'DNS:localhost', 'IP:127.0.0.1', 'IP:::1']


def make_pem(common_name='db1.example.org', names=None, key=None, days=825, start=NOW, san_critical=None):
    key = key or ec.generate_private_key(ec.SECP384R1())
    general = []
    for name in NAMES if names is None else names:
        kind, value = name.split(':', 1)
        general.append(x509.DNSName(value) if kind == 'DNS' else x509.IPAddress(ipaddress.ip_address(value)))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else [])
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
               .serial_number(1).not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days)))
    if general:
        # As the CSR of the pgbackrest_tls role: critical when there is no subject.
        critical = not common_name if san_critical is None else san_critical
        builder = builder.add_extension(x509.SubjectAlternativeName(general), critical=critical)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def outdated(pem, now=NOW, **kw):
    wanted = dict(common_name='db1.example.org', subject_alt_names=NAMES, curve='secp384r1', renew_days=30)
    wanted.update(kw)
    return certificate_outdated(pem, now=now, **wanted)


def test_a_certificate_as_wanted_is_kept():
    assert outdated(make_pem()) is False


def test_the_order_of_the_names_does_not_matter():
    assert outdated(make_pem(names=list(reversed(NAMES)))) is False


@pytest.mark.parametrize('pem', ['', None, 'not a certificate', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'])
def test_a_missing_or_unreadable_certificate_is_made_again(pem):
    assert outdated(pem) is True


def test_a_certificate_that_ends_within_the_renewal_days_is_made_again():
    pem = make_pem(days=100)
    assert outdated(pem, now=NOW + datetime.timedelta(days=69)) is False
    assert outdated(pem, now=NOW + datetime.timedelta(days=71)) is True


# The certificates are made in the test, not at collection: pytest-xdist's
# workers must collect the same test ids, and a PEM in the id differs by key.
@pytest.mark.parametrize('change', ['common name', 'one name less', 'one name more', 'no names', 'another curve',
                                    'an RSA key'])
def test_other_names_or_another_key_make_it_again(change):
    made = {
        'common name': lambda: make_pem(common_name='db2.example.org'),
        'one name less': lambda: make_pem(names=NAMES[:3]),
        'one name more': lambda: make_pem(names=NAMES + ['DNS:db1']),
        'no names': lambda: make_pem(names=[]),
        'another curve': lambda: make_pem(key=ec.generate_private_key(ec.SECP256R1())),
        'an RSA key': lambda: make_pem(key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    }
    assert outdated(made[change]()) is True, change


def test_a_certificate_without_a_common_name_is_kept_when_none_is_wanted():
    # etcd's gateway refuses a client certificate with a CN once authentication is on (tmi.postgresql.etcd).
    pem = make_pem(common_name='')
    assert not certificate_outdated(pem, '', NAMES, 'secp384r1', 30, now=NOW)
    assert certificate_outdated(pem, 'db1.example.org', NAMES, 'secp384r1', 30, now=NOW)
    assert certificate_outdated(make_pem(), '', NAMES, 'secp384r1', 30, now=NOW)


def test_a_certificate_without_a_subject_and_a_san_not_critical_is_made_again():
    # RFC 5280 4.2.1.6; Python 3.13 refuses it ("Subject empty and Subject Alt Name extension not critical"), as the
    # etcd role's health check on Debian 13 did with the certificates made before.
    assert certificate_outdated(make_pem(common_name='', san_critical=False), '', NAMES, 'secp384r1', 30, now=NOW)
    assert not certificate_outdated(make_pem(san_critical=False), 'db1.example.org', NAMES, 'secp384r1', 30, now=NOW)
