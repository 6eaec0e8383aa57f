# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TMI's .env (tmi.postgresql.app_env): the settings it refuses, and the URL form of its connections.

Pure functions, no Ansible and no database: plugins/filter/app_env.py exposes them.

host_matches_certificate() is libpq's own rule (14 and newer, fe-secure-common.c and fe-secure-openssl.c) for
sslmode=verify-full: a DNS name of the certificate's subject alternative names matches the host, case
insensitive, a leading '*.' standing for exactly one label; an IP address of them matches a host that is the
same address; the common name counts only when the certificate has no alternative name of the host's kind.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress

try:
    from urllib.parse import quote
except ImportError:  # Python 2, for ansible-test's sanity only
    from urllib import quote

VERIFYING = ('verify-ca', 'verify-full')
PROFILES = ('production', 'development')


def _ip(text):
    try:
        return ipaddress.ip_address(text.strip('[]'))
    except ValueError:
        return None


def _dns_matches(pattern, host):
    pattern, host = pattern.lower(), host.lower()
    if pattern == host:
        return True
    # libpq: '*.' then the rest; the wildcard is one label, not the empty one, and never a host starting '.'.
    if not pattern.startswith('*.') or host.startswith('.'):
        return False
    label, dot, rest = host.partition('.')
    return bool(label) and bool(dot) and rest == pattern[2:]


def host_matches_certificate(host, common_name, alt_names):
    """Whether libpq with sslmode=verify-full accepts a certificate with these names for host.

    alt_names are 'DNS:name' or 'IP:address' (the ssl role's ssl_server_subject_alt_names); other kinds are
    ignored, as libpq does.
    """
    host_ip = _ip(host)
    dns = [name[4:] for name in alt_names if name.startswith('DNS:')]
    ips = [_ip(name[3:]) for name in alt_names if name.startswith('IP:')]
    if any(_dns_matches(name, host) for name in dns):
        return True
    if host_ip is not None and host_ip in ips:
        return True
    if (host_ip is None and dns) or (host_ip is not None and ips):
        return False
    return bool(common_name) and _dns_matches(common_name, host)


def certificate_names(pem):
    """(common name, ['DNS:...', 'IP:...']) of the first certificate of a PEM text (cryptography, imported here)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    cert = x509.load_pem_x509_certificate(pem.encode('utf-8') if isinstance(pem, str) else pem)
    common = [attribute.value for attribute in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        alt = []
    names = ['DNS:' + value for value in alt.get_values_for_type(x509.DNSName)] if alt else []
    names += ['IP:' + str(value) for value in alt.get_values_for_type(x509.IPAddress)] if alt else []
    return (common[0] if common else ''), names


def errors(profile, host, sslmode, hostname, production_group, production_hosts, pg_hba_in_play, ha,
           common_name, alt_names, certificate=''):
    """The messages of the settings app_env refuses (empty when none), each naming the variables at fault.

    certificate is the server certificate the operator gave the ssl role (ssl_certificate, PEM); empty when
    the ssl role makes one with common_name and alt_names (ssl_server_common_name, ssl_server_subject_alt_names).
    """
    found = []
    if profile not in PROFILES:
        return ["app_env_profile is '%s': allowed: %s." % (profile, ', '.join(PROFILES))]
    if profile == 'development':
        if hostname in production_hosts:
            found.append("app_env_profile is 'development' on %s, a host of the production group %s"
                         " (app_env_production_group): the development profile (POSTGRES_SSLMODE=disable) is never"
                         " written there; set app_env_profile to production." % (hostname, production_group))
        if pg_hba_in_play and sslmode == 'disable':
            found.append("app_env_profile is 'development' with app_env_sslmode 'disable', but this play runs"
                         " tmi.postgresql.pg_hba, whose pg_hba.conf accepts TCP logins over TLS only: TMI would be"
                         " refused. The development profile is for the app_env role alone, against a developer's"
                         " own PostgreSQL; here set app_env_profile to production.")
    elif sslmode == 'disable':
        found.append("app_env_sslmode is 'disable' with app_env_profile 'production': the pg_hba role accepts"
                     " TCP logins over TLS only; set require, verify-ca or verify-full.")
    if sslmode not in VERIFYING:
        return found
    if ha and not certificate:
        found.append("app_env_sslmode is '%s' with tmi_postgresql_ha_enabled: the proxy sends TMI to any member,"
                     " and each member's generated certificate is signed by its own host's CA"
                     " (docs/high-availability.md); give the members one certificate signed by one CA"
                     " (ssl_certificate, ssl_private_key, ssl_ca_certificate) or set app_env_sslmode to require."
                     % sslmode)
    if sslmode == 'verify-full':
        if certificate:
            common_name, alt_names = certificate_names(certificate)
            source = 'the certificate ssl_certificate gives'
        else:
            source = 'ssl_server_common_name and ssl_server_subject_alt_names'
        if not host_matches_certificate(host, common_name, alt_names):
            names = ([('CN:' + common_name)] if common_name else []) + list(alt_names)
            found.append("app_env_host '%s' (POSTGRES_HOST) is not a name of the server certificate (%s: %s):"
                         " with app_env_sslmode verify-full TMI would refuse the server; connect to one of its"
                         " names or add '%s' to them." % (host, source, ', '.join(names) or 'none', host))
    return found


def _host(host):
    return '[%s]' % host if ':' in host and not host.startswith('[') else host


def _part(value):
    return quote(str(value), safe='')


def database_url(user, password, host, port, database, sslmode, sslrootcert=''):
    """postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=...[&sslrootcert=...], each part percent-encoded."""
    query = 'sslmode=' + _part(sslmode)
    if sslrootcert:
        query += '&sslrootcert=' + _part(sslrootcert)
    return 'postgres://%s:%s@%s:%d/%s?%s' % (_part(user), _part(password), _host(host), int(port),
                                             _part(database), query)


def redis_url(user, password, host, port, db, tls):
    """redis:// (rediss:// with TLS) USER:PASSWORD@HOST:PORT/DB, each part percent-encoded; no user: :PASSWORD@."""
    return '%s://%s:%s@%s:%d/%d' % ('rediss' if tls else 'redis', _part(user or ''), _part(password), _host(host),
                                    int(port), int(db))
