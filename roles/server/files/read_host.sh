# shellcheck shell=sh
# What the server role needs to know about the host, in one round trip; the
# tmi.postgresql.host_read filter parses the output.
# Arguments: VERSION CLUSTER PACKAGES ROLES_SQL PATH... -- PSQL_ARGUMENT...
# PACKAGES: the names the roles install, separated by spaces. The data
# directory of the cluster is added to the PATHs. When the cluster runs,
# ROLES_SQL goes to psql, run as postgres with the PSQL_ARGUMENTs. One line
# each, fields separated by tabs:
#   clusters  the output of pg_lsclusters --json ([] before PostgreSQL is installed)
#   clusters_error  instead of clusters, when pg_lsclusters --json failed: its
#             exit status and error (Debian 11's postgresql-common prints JSON
#             only with libjson-perl, which the role installs; it reads again)
#   package   dpkg status (e.g. "ii "), name: each of PACKAGES that dpkg knows
#             (only those: a host has hundreds, and every task would carry them)
#   home      the postgres user's home folder (none before the user exists)
#   path      type, owner, group, octal mode, path: each PATH that exists, and
#             the postgres user's .profile, .bash_profile and .bash_login
#   sha1      checksum, path: each of those that is a regular file
#   umask     path, the last line that sets a umask (empty when none): the login files
#   fqdn      the host's fully qualified name, as Ansible's fqdn fact has it
#   init      systemd when the host runs systemd (sd_booted's test), service otherwise
#   unit      systemctl is-enabled, is-active of the cluster's unit (systemd only)
#   roles     the one line ROLES_SQL printed (none when the cluster is not
#             running or psql failed: the role then asks again later)
set -eu
# No file name globbing: PACKAGES is split into words, never expanded.
set -f
version=$1
cluster=$2
packages=$3
roles_sql=$4
shift 4

describe() {
  [ -e "$1" ] || return 0
  stat -L --printf 'path\t%F\t%U\t%G\t%a\t%n\n' "$1"
  if [ -f "$1" ]; then
    printf 'sha1\t%s\t%s\n' "$(sha1sum < "$1" | cut -d' ' -f1)" "$1"
  fi
}

datadir=
status=
if command -v pg_lsclusters >/dev/null 2>&1; then
  if clusters=$(pg_lsclusters --json 2>/dev/null); then
    printf 'clusters\t%s\n' "$clusters"
  else
    rc=$?
    printf 'clusters_error\tpg_lsclusters --json exited with %s: %s\n' "$rc" \
      "$(pg_lsclusters --json 2>&1 >/dev/null | tr '\t\n' '  ' | cut -c1-300)"
  fi
  cluster_line=$(pg_lsclusters -h "$version" "$cluster" 2>/dev/null) || cluster_line=
  datadir=$(printf '%s\n' "$cluster_line" | awk '{print $6}')
  status=$(printf '%s\n' "$cluster_line" | awk '{print $4}')
else
  printf 'clusters\t[]\n'
fi
# shellcheck disable=SC2086  # one name per word
dpkg-query -W -f='package\t${db:Status-Abbrev}\t${Package}\n' $packages 2>/dev/null || true
home=$(getent passwd postgres | cut -d: -f6) || home=
logins=
if [ -n "$home" ]; then
  printf 'home\t%s\n' "$home"
  logins="$home/.profile $home/.bash_profile $home/.bash_login"
fi
# The PATHs, up to the --; "$@" is then the psql arguments.
while [ $# -gt 0 ]; do
  path=$1
  shift
  if [ "$path" = -- ]; then
    break
  fi
  describe "$path"
done
if [ -n "$datadir" ]; then
  describe "$datadir"
fi
for path in $logins; do
  describe "$path"
done
for path in $logins; do
  [ -f "$path" ] || continue
  printf 'umask\t%s\t%s\n' "$path" "$(grep -E '^[[:space:]]*umask[[:space:]]' "$path" | tail -n 1)"
done
printf 'fqdn\t%s\n' "$(python3 -c 'import socket; print(socket.getfqdn())')"
if [ -d /run/systemd/system ]; then
  printf 'init\tsystemd\n'
  unit="postgresql@$version-$cluster"
  printf 'unit\t%s\t%s\n' "$(systemctl is-enabled "$unit" 2>/dev/null || true)" \
    "$(systemctl is-active "$unit" 2>/dev/null || true)"
else
  printf 'init\tservice\n'
fi
case $status in
  online*)
    roles=$(printf '%s\n' "$roles_sql" | runuser -u postgres -- psql "$@" 2>/dev/null) || roles=
    if [ -n "$roles" ]; then
      printf 'roles\t%s\n' "$roles"
    fi
    ;;
esac
