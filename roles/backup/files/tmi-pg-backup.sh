#!/usr/bin/env bash
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# tmi-pg-backup: one verified logical backup of TMI's database.
#
# pg_dump -Fc writes BACKUP_DIR/.NAME.dump.partial; the file is read back
# (pg_restore --list, then a full read that catches a truncated data section)
# and only then renamed to NAME.dump, where NAME is
#   PREFIX_YYYYmmdd_HHMMSS.DATABASE.CLUSTER   (UTC time)
# DATABASE and CLUSTER are encoded: a-z, 0-9, '_' and '-' stay, every other
# byte becomes %XX (so '.' never occurs in them and the name parses back).
# Retention runs after a successful backup only, counts the backups of this
# database and cluster only, and always keeps the newest KEEP_MIN backups
# that pass a full read, however old they are: while fewer than KEEP_MIN
# pass, it removes nothing. Files named PREFIX_YYYYmmdd_HHMMSS.dump (before
# the database was in the name) belong to no series: never counted, never
# removed.
# A lock (flock) keeps two runs from ever writing at the same time.
# One log line per run: syslog (logger), optionally a file, and stdout on
# success or stderr on failure.
#
# Settings: built-in defaults < the config file (shell assignments of the
# TMI_BACKUP_* variables, written by the tmi.postgresql.backup role) <
# command-line options. No password is ever passed: libpq logs in by peer
# over the socket, or reads the pgpass file given with --pgpass.
#
# Exit status: 0 backup made and verified; 1 failure (nothing changed but a
# removed temporary file); 2 usage error (or run as root); 75 another run
# holds the lock and --lock-wait ran out.
set -euo pipefail
umask 077

readonly PROG=tmi-pg-backup
readonly EXIT_FAILED=1
readonly EXIT_USAGE=2
readonly EXIT_LOCKED=75

TMI_BACKUP_CONFIG=${TMI_BACKUP_CONFIG:-/etc/tmi-postgresql/backup.conf}
TMI_BACKUP_DIR=/var/backups/tmi-postgresql
TMI_BACKUP_PREFIX=tmi
TMI_BACKUP_DATABASE=tmi
TMI_BACKUP_CLUSTER=
TMI_BACKUP_HOST=/var/run/postgresql
TMI_BACKUP_PORT=5432
TMI_BACKUP_USER=
TMI_BACKUP_PGPASSFILE=
# TLS of a connection over the network (libpq's sslmode and sslrootcert);
# empty = libpq's defaults. The role sets verify-full for a remote server.
TMI_BACKUP_SSLMODE=
TMI_BACKUP_SSLROOTCERT=
# Folder of pg_dump and pg_restore; empty = the ones on PATH (Debian's pg_wrapper
# picks the newest installed version). The role writes its backup_bindir here.
TMI_BACKUP_BINDIR=
TMI_BACKUP_COMPRESS=6
TMI_BACKUP_VERIFY=full
TMI_BACKUP_SCHEMA_ONLY=false
TMI_BACKUP_RETENTION_DAYS=7
TMI_BACKUP_KEEP_MIN=3
TMI_BACKUP_LOCK_WAIT=600
TMI_BACKUP_LOG_FILE=
TMI_BACKUP_SYSLOG=true

OUTPUT_JSON=false
STARTED_US=${EPOCHREALTIME/./}
TEMP_FILES=()
CHILD_PID=
ERR_TEXT=
STEP=start
SERIES_DB=
SERIES_CLUSTER=
RESULT_FILE=
RESULT_SCHEMA_FILE=
RESULT_SIZE=0
RESULT_REMOVED=()
RESULT_UNREADABLE=()

# Ranges of the numeric settings: variable, option, lowest, highest.
readonly NUMBERS=(
    "TMI_BACKUP_PORT --port 1 65535"
    "TMI_BACKUP_COMPRESS --compress 0 9"
    "TMI_BACKUP_RETENTION_DAYS --retention-days 0 36500"
    "TMI_BACKUP_KEEP_MIN --keep-min 1 100"
    "TMI_BACKUP_LOCK_WAIT --lock-wait 0 86400"
    "PGCONNECT_TIMEOUT PGCONNECT_TIMEOUT 1 3600"
)

usage() {
    cat <<EOF
Usage: $PROG [options]
  --config FILE          settings file to read first (default $TMI_BACKUP_CONFIG; "" = none)
  --backup-dir DIR       folder of the backups
  --prefix NAME          file name prefix (files are PREFIX_YYYYmmdd_HHMMSS.DATABASE.CLUSTER.dump)
  --database NAME        database to dump
  --cluster LABEL        cluster label in the file names (default HOST-PORT, local-PORT for a socket)
  --host HOST_OR_DIR     host name or socket folder
  --port 1-65535         server port
  --user NAME            login role (default: the operating system user, by peer)
  --pgpass FILE          pgpass file for password logins (mode 0600)
  --sslmode MODE         libpq sslmode (verify-full for a server over the network)
  --sslrootcert FILE     CA certificate(s) that signed the server's certificate
  --bindir DIR           folder of pg_dump and pg_restore (default: the ones on PATH)
  --compress 0-9         compression level of the custom format
  --verify full|list     read the whole file back, or only its table of contents
  --schema-only          also write PREFIX_YYYYmmdd_HHMMSS.DATABASE.CLUSTER.schema.sql
  --retention-days 0-36500  remove backups older than N days (0 = never)
  --keep-min 1-100       always keep the newest N backups that pass a full read
  --lock-wait 0-86400    seconds to wait for a running backup (0 = do not wait)
  --log-file FILE        also append the log line to FILE
  --no-syslog            do not send the log line to syslog
  --json                 print the result as one JSON object on stdout
EOF
}

# --- logging --------------------------------------------------------------

elapsed_seconds() {
    local now_us=${EPOCHREALTIME/./}
    local ms=$(((now_us - STARTED_US) / 1000))
    printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

log_line() {
    local priority=$1 message=$2
    # Success on stdout, failure on stderr (cron mails only failures when
    # stdout goes to /dev/null); stdout is the JSON result's with --json.
    if [[ $priority == info && $OUTPUT_JSON == false ]]; then
        printf '%s: %s\n' "$PROG" "$message"
    else
        printf '%s: %s\n' "$PROG" "$message" >&2
    fi
    if [[ $TMI_BACKUP_SYSLOG == true ]]; then
        logger -t "$PROG" -p "user.$priority" -- "$message" 2>/dev/null || true
    fi
    if [[ -n $TMI_BACKUP_LOG_FILE ]]; then
        printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$message" >>"$TMI_BACKUP_LOG_FILE" || true
    fi
}

json_string() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\t'/\\t}
    printf '"%s"' "$s"
}

json_list() {
    local list="" item
    for item in "$@"; do
        list+="${list:+,}$(json_string "$item")"
    done
    printf '%s' "$list"
}

print_json() {
    local status=$1 error=$2 removed
    removed=$(json_list "${RESULT_REMOVED[@]}")
    printf '{"status":%s,"database":%s,"cluster":%s,"file":%s,"schema_file":%s,"size_bytes":%d,' \
        "$(json_string "$status")" "$(json_string "$TMI_BACKUP_DATABASE")" "$(json_string "$TMI_BACKUP_CLUSTER")" \
        "$(json_string "$RESULT_FILE")" "$(json_string "$RESULT_SCHEMA_FILE")" "$RESULT_SIZE"
    printf '"duration_seconds":%s,"removed":[%s],"unreadable":[%s],"step":%s,"error":%s}\n' "$(elapsed_seconds)" \
        "$removed" "$(json_list "${RESULT_UNREADABLE[@]}")" "$(json_string "$STEP")" "$(json_string "$error")"
}

fail() {
    local code=$1 message=$2
    log_line err "status=failed database=$TMI_BACKUP_DATABASE step=$STEP duration=$(elapsed_seconds)s error=\"$message\""
    if [[ $OUTPUT_JSON == true ]]; then
        print_json failed "$message"
    fi
    exit "$code"
}

# Runs on every exit: a failed or interrupted run leaves no partial file.
remove_temp_files() {
    local f
    if [[ -n $CHILD_PID ]]; then
        kill "$CHILD_PID" 2>/dev/null || true
        wait "$CHILD_PID" 2>/dev/null || true
    fi
    for f in "${TEMP_FILES[@]}"; do
        rm -f -- "$f"
    done
}

# --- settings -------------------------------------------------------------

read_config() {
    local config=$TMI_BACKUP_CONFIG arg
    # --config must be known before the other options override the file.
    for ((arg = 1; arg <= $#; arg++)); do
        if [[ ${!arg} == --config ]]; then
            local next=$((arg + 1))
            config=${!next:-}
        fi
    done
    if [[ -n $config && -e $config ]]; then
        # shellcheck source=/dev/null
        . "$config"
    elif [[ -n $config && $config != "$TMI_BACKUP_CONFIG" ]]; then
        echo "$PROG: config file $config does not exist" >&2
        exit "$EXIT_USAGE"
    fi
}

need_value() {
    if (($# < 2)); then
        echo "$PROG: option $1 needs a value" >&2
        exit "$EXIT_USAGE"
    fi
}

parse_options() {
    while (($#)); do
        case $1 in
            --config) need_value "$@"; shift ;;
            --backup-dir) need_value "$@"; TMI_BACKUP_DIR=$2; shift ;;
            --prefix) need_value "$@"; TMI_BACKUP_PREFIX=$2; shift ;;
            --database) need_value "$@"; TMI_BACKUP_DATABASE=$2; shift ;;
            --cluster) need_value "$@"; TMI_BACKUP_CLUSTER=$2; shift ;;
            --host) need_value "$@"; TMI_BACKUP_HOST=$2; shift ;;
            --port) need_value "$@"; TMI_BACKUP_PORT=$2; shift ;;
            --user) need_value "$@"; TMI_BACKUP_USER=$2; shift ;;
            --pgpass) need_value "$@"; TMI_BACKUP_PGPASSFILE=$2; shift ;;
            --sslmode) need_value "$@"; TMI_BACKUP_SSLMODE=$2; shift ;;
            --sslrootcert) need_value "$@"; TMI_BACKUP_SSLROOTCERT=$2; shift ;;
            --bindir) need_value "$@"; TMI_BACKUP_BINDIR=$2; shift ;;
            --compress) need_value "$@"; TMI_BACKUP_COMPRESS=$2; shift ;;
            --verify) need_value "$@"; TMI_BACKUP_VERIFY=$2; shift ;;
            --schema-only) TMI_BACKUP_SCHEMA_ONLY=true ;;
            --retention-days) need_value "$@"; TMI_BACKUP_RETENTION_DAYS=$2; shift ;;
            --keep-min) need_value "$@"; TMI_BACKUP_KEEP_MIN=$2; shift ;;
            --lock-wait) need_value "$@"; TMI_BACKUP_LOCK_WAIT=$2; shift ;;
            --log-file) need_value "$@"; TMI_BACKUP_LOG_FILE=$2; shift ;;
            --no-syslog) TMI_BACKUP_SYSLOG=false ;;
            --json) OUTPUT_JSON=true ;;
            -h | --help) usage; exit 0 ;;
            *) echo "$PROG: unknown option $1" >&2; usage >&2; exit "$EXIT_USAGE" ;;
        esac
        shift
    done
}

usage_error() {
    echo "$PROG: $1" >&2
    exit "$EXIT_USAGE"
}

# A whole number within its range, read as decimal (a leading 0 is not
# octal); at most 18 digits, so bash arithmetic cannot overflow on it.
check_number() {
    local var=$1 option=$2 min=$3 max=$4
    local value=${!var}
    if [[ ! $value =~ ^[0-9]{1,18}$ ]] || ((10#$value < min || 10#$value > max)); then
        usage_error "$option ($var) must be a whole number from $min to $max, not '$value'"
    fi
    printf -v "$var" '%d' "$((10#$value))"
}

# File-name-safe form of a database name or cluster label: a-z, 0-9, '_' and
# '-' stay, every other byte (capitals too, for case-insensitive file
# systems) becomes %XX. No '.', so the parts of a name never run together.
encode_name() {
    local LC_ALL=C
    local s=$1 out="" c i hex
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
            [a-z0-9_-]) out+=$c ;;
            *)
                printf -v hex '%%%02X' "'$c"
                out+=$hex
                ;;
        esac
    done
    printf '%s' "$out"
}

check_settings() {
    local spec
    PG_DUMP=${TMI_BACKUP_BINDIR:+$TMI_BACKUP_BINDIR/}pg_dump
    PG_RESTORE=${TMI_BACKUP_BINDIR:+$TMI_BACKUP_BINDIR/}pg_restore
    PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-30}
    for spec in "${NUMBERS[@]}"; do
        # shellcheck disable=SC2086 # the spec is four words
        check_number $spec
    done
    if [[ ! $TMI_BACKUP_PREFIX =~ ^[A-Za-z0-9_.-]{1,32}$ ]]; then
        usage_error "--prefix may hold up to 32 letters, digits, '_', '.' and '-' only"
    fi
    [[ -n $TMI_BACKUP_DATABASE ]] || usage_error "--database must not be empty"
    if [[ -z $TMI_BACKUP_CLUSTER ]]; then
        if [[ $TMI_BACKUP_HOST == /* || -z $TMI_BACKUP_HOST ]]; then
            TMI_BACKUP_CLUSTER=local-$TMI_BACKUP_PORT
        else
            TMI_BACKUP_CLUSTER=$TMI_BACKUP_HOST-$TMI_BACKUP_PORT
        fi
    fi
    SERIES_DB=$(encode_name "$TMI_BACKUP_DATABASE")
    SERIES_CLUSTER=$(encode_name "$TMI_BACKUP_CLUSTER")
    # The longest file is .NAME.schema.sql.partial; a file name has 255 bytes.
    local longest=$((${#TMI_BACKUP_PREFIX} + 17 + ${#SERIES_DB} + 1 + ${#SERIES_CLUSTER} + 20))
    if ((longest > 255)); then
        usage_error "the file names of database '$TMI_BACKUP_DATABASE' and cluster '$TMI_BACKUP_CLUSTER' would be $longest bytes long (255 at most): use a shorter --cluster or --prefix"
    fi
    case $TMI_BACKUP_VERIFY in
        full | list) ;;
        *) usage_error "--verify must be full or list" ;;
    esac
    case $TMI_BACKUP_SSLMODE in
        '' | disable | allow | prefer | require | verify-ca | verify-full) ;;
        *) usage_error "--sslmode must be one of libpq's: disable, allow, prefer, require, verify-ca, verify-full" ;;
    esac
}

# libpq reads these; nothing secret is on a command line.
export_connection() {
    export PGHOST=$TMI_BACKUP_HOST PGPORT=$TMI_BACKUP_PORT PGDATABASE=$TMI_BACKUP_DATABASE
    export PGAPPNAME=$PROG PGCONNECT_TIMEOUT
    if [[ -n $TMI_BACKUP_USER ]]; then
        export PGUSER=$TMI_BACKUP_USER
    fi
    if [[ -n $TMI_BACKUP_PGPASSFILE ]]; then
        export PGPASSFILE=$TMI_BACKUP_PGPASSFILE
    fi
    if [[ -n $TMI_BACKUP_SSLMODE ]]; then
        export PGSSLMODE=$TMI_BACKUP_SSLMODE
    fi
    if [[ -n $TMI_BACKUP_SSLROOTCERT ]]; then
        export PGSSLROOTCERT=$TMI_BACKUP_SSLROOTCERT
    fi
}

# --- the backup -----------------------------------------------------------

take_lock() {
    STEP=lock
    [[ -d $TMI_BACKUP_DIR ]] || fail "$EXIT_FAILED" "backup folder $TMI_BACKUP_DIR does not exist"
    exec 9>>"$TMI_BACKUP_DIR/.$PROG.lock" || fail "$EXIT_FAILED" "cannot open the lock file in $TMI_BACKUP_DIR"
    if ! flock -w "$TMI_BACKUP_LOCK_WAIT" 9; then
        fail "$EXIT_LOCKED" "another backup holds $TMI_BACKUP_DIR/.$PROG.lock (waited ${TMI_BACKUP_LOCK_WAIT}s)"
    fi
}

# Only a run holding the lock gets here, so any partial file is a leftover
# of a run that was killed.
remove_stale_partials() {
    find "$TMI_BACKUP_DIR" -maxdepth 1 -type f -name ".${TMI_BACKUP_PREFIX}_*.partial" -delete
}

# NAME of a backup of this database and cluster taken at STAMP.
series_name() {
    printf '%s_%s.%s.%s' "$TMI_BACKUP_PREFIX" "$1" "$SERIES_DB" "$SERIES_CLUSTER"
}

# A name not taken yet: two runs in one second must not share a file.
choose_stamp() {
    local stamp
    while :; do
        stamp=$(date -u +%Y%m%d_%H%M%S)
        if [[ ! -e $TMI_BACKUP_DIR/$(series_name "$stamp").dump ]]; then
            printf '%s' "$stamp"
            return
        fi
        sleep 1
    done
}

# Runs a command in the background and waits for it, so that a signal ends
# the run at once (the trap stops the command) instead of after it. Its
# stderr goes through a pipe into memory (tail keeps the last 2000 bytes),
# never to a file: on a full backup disk the reason would be lost.
# Returns the command's exit status; its stderr is in ERR_TEXT.
run_captured() {
    local rc=0 rfd wfd tail_pid tail_r tail_w
    coproc ERR_TAIL { tail -c 2000; }
    tail_pid=$ERR_TAIL_PID tail_r=${ERR_TAIL[0]} tail_w=${ERR_TAIL[1]}
    # Copies: bash closes the coproc's own descriptors when it reaps it.
    exec {rfd}<&"$tail_r" {wfd}>&"$tail_w" {tail_r}<&- {tail_w}>&-
    "$@" >/dev/null 2>&"$wfd" {wfd}>&- {rfd}<&- &
    CHILD_PID=$!
    exec {wfd}>&-
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=
    ERR_TEXT=
    IFS= read -r -d '' -u "$rfd" ERR_TEXT || true
    exec {rfd}<&-
    wait "$tail_pid" 2>/dev/null || true
    return "$rc"
}

# run_captured, and a failed run with the command's last lines and, when it
# wrote a file, which file on which folder.
run_step() {
    local writes=$1
    shift
    if ! run_captured "$@"; then
        local message
        message=$(printf '%s' "$ERR_TEXT" | tail -n 3 | tr '\n' ' ')
        message=${message% }
        if [[ -n $writes ]]; then
            message+=" (writing $writes; free in $TMI_BACKUP_DIR: $(df -Ph -- "$TMI_BACKUP_DIR" 2>/dev/null | awk 'NR == 2 {print $4}'))"
        fi
        fail "$EXIT_FAILED" "$message"
    fi
}

dump_database() {
    local partial=$1
    STEP=pg_dump
    run_step "$partial" "$PG_DUMP" --format=custom --compress="$TMI_BACKUP_COMPRESS" \
        --file="$partial" --dbname="$TMI_BACKUP_DATABASE"
}

verify_dump() {
    local partial=$1
    STEP=verify_list
    run_step "" "$PG_RESTORE" --list "$partial"
    if [[ $TMI_BACKUP_VERIFY == full ]]; then
        STEP=verify_full
        run_step "" "$PG_RESTORE" --file=/dev/null "$partial"
    fi
}

dump_schema() {
    local partial=$1
    STEP=schema_dump
    run_step "$partial" "$PG_DUMP" --schema-only --file="$partial" --dbname="$TMI_BACKUP_DATABASE"
    STEP=verify_schema
    if ! grep -q '^-- PostgreSQL database dump complete' "$partial"; then
        fail "$EXIT_FAILED" "the schema dump is incomplete"
    fi
}

# fsync the file, rename it into place, fsync the folder.
publish() {
    local partial=$1 final=$2
    STEP=rename
    if ! { sync -- "$partial" && mv -- "$partial" "$final" && sync -- "$TMI_BACKUP_DIR"; }; then
        fail "$EXIT_FAILED" "cannot rename $partial to $final"
    fi
}

make_backup() {
    local name
    name=$(series_name "$(choose_stamp)")
    local final=$TMI_BACKUP_DIR/$name.dump partial=$TMI_BACKUP_DIR/.$name.dump.partial
    local schema_final=$TMI_BACKUP_DIR/$name.schema.sql schema_partial=$TMI_BACKUP_DIR/.$name.schema.sql.partial
    TEMP_FILES+=("$partial" "$schema_partial")
    dump_database "$partial"
    verify_dump "$partial"
    # Both files are complete before either gets its final name.
    if [[ $TMI_BACKUP_SCHEMA_ONLY == true ]]; then
        dump_schema "$schema_partial"
    fi
    publish "$partial" "$final"
    RESULT_FILE=$final
    RESULT_SIZE=$(stat -c %s -- "$final")
    if [[ $TMI_BACKUP_SCHEMA_ONLY == true ]]; then
        publish "$schema_partial" "$schema_final"
        RESULT_SCHEMA_FILE=$schema_final
    fi
}

# --- retention ------------------------------------------------------------

stamp_epoch() {
    local s=$1
    date -u -d "${s:0:4}-${s:4:2}-${s:6:2} ${s:9:2}:${s:11:2}:${s:13:2}" +%s
}

# Backups of this database and cluster, newest first (the UTC stamp in the
# name sorts). Other databases' and clusters' files and the files named
# before the database was in the name do not match.
list_backups() {
    local suffix=$1
    find "$TMI_BACKUP_DIR" -maxdepth 1 -type f -regextype posix-extended \
        -regex ".*/${TMI_BACKUP_PREFIX//./\\.}_[0-9]{8}_[0-9]{6}\\.$SERIES_DB\\.$SERIES_CLUSTER${suffix//./\\.}" \
        -printf '%f\n' | sort -r
}

# The same full read as before a new file is published. The file this run
# has just read in full is not read again.
is_good_dump() {
    local path=$TMI_BACKUP_DIR/$1
    if [[ $path == "$RESULT_FILE" && $TMI_BACKUP_VERIFY == full ]]; then
        return 0
    fi
    run_captured "$PG_RESTORE" --file=/dev/null "$path"
}

is_good_schema() {
    grep -q '^-- PostgreSQL database dump complete' "$TMI_BACKUP_DIR/$1"
}

# Keep the newest KEEP_MIN files that pass GOOD_CHECK and every file younger
# than the retention; remove the rest, but only when KEEP_MIN files passed.
prune() {
    local suffix=$1 good_check=$2 cutoff name epoch verified=0
    local -a names=()
    local -A kept=()
    mapfile -t names < <(list_backups "$suffix")
    for name in "${names[@]}"; do
        ((verified < TMI_BACKUP_KEEP_MIN)) || break
        if "$good_check" "$name"; then
            kept[$name]=1
            verified=$((verified + 1))
        else
            RESULT_UNREADABLE+=("$name")
        fi
    done
    if ((verified < TMI_BACKUP_KEEP_MIN)); then
        return
    fi
    # Both numbers are checked, so the cut-off is never in the future.
    cutoff=$(($(date -u +%s) - TMI_BACKUP_RETENTION_DAYS * 86400))
    for name in "${names[@]}"; do
        [[ -z ${kept[$name]:-} ]] || continue
        # A name whose time cannot be read is kept: only age removes a file.
        if ! epoch=$(stamp_epoch "${name:${#TMI_BACKUP_PREFIX}+1:15}" 2>/dev/null) || ((epoch >= cutoff)); then
            continue
        fi
        rm -f -- "${TMI_BACKUP_DIR:?}/$name" || fail "$EXIT_FAILED" "cannot remove $name"
        RESULT_REMOVED+=("$name")
    done
}

apply_retention() {
    STEP=retention
    if ((TMI_BACKUP_RETENTION_DAYS == 0)); then
        return
    fi
    prune .dump is_good_dump
    prune .schema.sql is_good_schema
    if ((${#RESULT_UNREADABLE[@]})); then
        log_line warning "database=$TMI_BACKUP_DATABASE unreadable backups (failed a full read): ${RESULT_UNREADABLE[*]}"
    fi
}

# Files and the lock made by root would be out of reach of the postgres cron run.
refuse_root() {
    if ((EUID == 0)); then
        echo "$PROG: run it as the backup user, e.g. runuser -u postgres -- $PROG" >&2
        exit "$EXIT_USAGE"
    fi
}

main() {
    read_config "$@"
    parse_options "$@"
    refuse_root
    check_settings
    export_connection
    trap remove_temp_files EXIT
    # A signal ends the run through exit, so the EXIT trap cleans up.
    trap 'exit 130' INT
    trap 'exit 143' TERM HUP
    take_lock
    remove_stale_partials
    STEP=start
    make_backup
    apply_retention
    STEP=finished
    local removed_count=${#RESULT_REMOVED[@]}
    log_line info "status=ok database=$TMI_BACKUP_DATABASE file=$RESULT_FILE size=$RESULT_SIZE duration=$(elapsed_seconds)s removed=$removed_count"
    if [[ $OUTPUT_JSON == true ]]; then
        print_json ok ""
    fi
}

main "$@"
