# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.certificate_outdated: whether a generated server certificate must be made again.

The ssl role reads the certificate's text in the read it makes anyway and
decides here, on the controller, instead of running
community.crypto.x509_certificate_info on the host on every run.
Documentation: certificate_outdated.yml beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

from ansible.errors import AnsibleFilterError

NAME_PREFIXES = (('DNSName', 'DNS:'), ('IPAddress', 'IP:'), ('RFC822Name', 'email:'),
                 ('UniformResourceIdentifier', 'URI:'))


def _utc(cert, name):
    value = getattr(cert, name + '_utc', None)
    if value is None:  # cryptography before 42
        value = getattr(cert, name).replace(tzinfo=datetime.timezone.utc)
    return value


def _cryptography():
    """cryptography's x509, ec and NameOID, imported on first use, not with this file.

    Ansible loads every filter file of the collection in the worker process of
    each task that uses any of its filters; importing cryptography there would
    cost every such task of a play about 35 ms.
    """
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        raise AnsibleFilterError('certificate_outdated needs the Python library cryptography on the controller')
    return x509, ec, NameOID


def _alt_names(cert, x509):
    """The SAN as the settings write it (sorted), and whether the extension is critical."""
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return [], False
    result = []
    for name in extension.value:
        prefix = dict(NAME_PREFIXES).get(type(name).__name__, type(name).__name__ + ':')
        result.append(prefix + str(name.value))
    return sorted(result), extension.critical


def certificate_outdated(pem, common_name, subject_alt_names, curve, renew_days, now=None):
    """True when pem is missing or unreadable, is not valid renew_days from now, or has other names or
    another key curve than wanted (what x509_certificate_info's valid_at and fields told the role)."""
    if not pem:
        return True
    x509, ec, NameOID = _cryptography()
    try:
        cert = x509.load_pem_x509_certificate(pem.encode('utf-8') if isinstance(pem, str) else pem)
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        alt_names, alt_names_critical = _alt_names(cert, x509)
        key = cert.public_key()
        not_before, not_after = _utc(cert, 'not_valid_before'), _utc(cert, 'not_valid_after')
    except ValueError:
        return True
    now = now or datetime.datetime.now(datetime.timezone.utc)
    renewal = now + datetime.timedelta(days=int(renew_days))
    wanted_alt_names = sorted(str(name) for name in subject_alt_names)
    # x509 writes IPv6 addresses in their short form; so do the settings (IP:::1).
    return (not not_before <= renewal <= not_after
            # An empty common_name wants a certificate without one (SAN only).
            or [name.value for name in names][:1] != ([common_name] if common_name else [])
            or alt_names != wanted_alt_names
            # RFC 5280 4.2.1.6: without a subject the SAN must be critical; Python 3.13's ssl
            # (VERIFY_X509_STRICT) refuses the certificate otherwise.
            or (len(cert.subject) == 0 and not alt_names_critical)
            or not isinstance(key, ec.EllipticCurvePublicKey)
            or key.curve.name != curve)


class FilterModule(object):
    def filters(self):
        return {'certificate_outdated': certificate_outdated}
