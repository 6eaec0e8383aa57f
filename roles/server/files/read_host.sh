# shellcheck shell=sh
# What the server role needs to know about the host, in one round trip; the
# tmi.postgresql.host_read filter parses the output.
# Arguments: VERSION CLUSTER PACKAGES PATH... (PACKAGES: the names the roles
# install, separated by spaces; the data directory of the cluster is added to
# the PATHs). One line each, fields separated by tabs:
#   clusters  the output of pg_lsclusters --json ([] before PostgreSQL is installed)
#   package   dpkg status (e.g. "ii "), name: each of PACKAGES that dpkg knows
#             (only those: a host has hundreds, and every task would carry them)
#   home      the postgres user's home folder (none before the user exists)
#   path      type, owner, group, octal mode, path: each PATH that exists, and
#             the postgres user's .profile, .bash_profile and .bash_login
#   sha1      checksum, path: each of those that is a regular file
#   umask     path, the last line that sets a umask (empty when none): the login files
#   fqdn      the host's fully qualified name, as Ansible's fqdn fact has it
#   init      systemd when the host runs systemd (sd_booted's test), service otherwise
set -eu
version=$1
cluster=$2
packages=$3
shift 3
if command -v pg_lsclusters >/dev/null 2>&1; then
  clusters=$(pg_lsclusters --json)
  datadir=$(pg_lsclusters -h "$version" "$cluster" 2>/dev/null | awk '{print $6}')
else
  clusters='[]'
  datadir=
fi
printf 'clusters\t%s\n' "$clusters"
# shellcheck disable=SC2086  # one name per word
dpkg-query -W -f='package\t${db:Status-Abbrev}\t${Package}\n' $packages 2>/dev/null || true
home=$(getent passwd postgres | cut -d: -f6) || home=
logins=
if [ -n "$home" ]; then
  printf 'home\t%s\n' "$home"
  logins="$home/.profile $home/.bash_profile $home/.bash_login"
fi
for path in "$@" $datadir $logins; do
  [ -e "$path" ] || continue
  stat -L --printf 'path\t%F\t%U\t%G\t%a\t%n\n' "$path"
  if [ -f "$path" ]; then
    printf 'sha1\t%s\t%s\n' "$(sha1sum < "$path" | cut -d' ' -f1)" "$path"
  fi
done
for path in $logins; do
  [ -f "$path" ] || continue
  printf 'umask\t%s\t%s\n' "$path" "$(grep -E '^[[:space:]]*umask[[:space:]]' "$path" | tail -n 1)"
done
printf 'fqdn\t%s\n' "$(python3 -c 'import socket; print(socket.getfqdn())')"
if [ -d /run/systemd/system ]; then
  printf 'init\tsystemd\n'
else
  printf 'init\tservice\n'
fi
