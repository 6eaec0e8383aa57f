#!/usr/bin/env bash
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# tmi-pg-backup: one verified logical backup of TMI's database.
#
# pg_dump -Fc writes BACKUP_DIR/.PREFIX_YYYYmmdd_HHMMSS.dump.partial; the file
# is read back (pg_restore --list, then a full read that catches a truncated
# data section) and only then renamed to PREFIX_YYYYmmdd_HHMMSS.dump (UTC).
# Retention runs after a successful backup only, and always keeps the newest
# KEEP_MIN backups that pass pg_restore --list, however old they are.
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
TMI_BACKUP_HOST=/var/run/postgresql
TMI_BACKUP_PORT=5432
TMI_BACKUP_USER=
TMI_BACKUP_PGPASSFILE=
TMI_BACKUP_BINDIR=/usr/lib/postgresql/15/bin
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
ERR_FILE=/dev/null
STEP=start
RESULT_FILE=
RESULT_SCHEMA_FILE=
RESULT_SIZE=0
RESULT_REMOVED=()

usage() {
    cat <<EOF
Usage: $PROG [options]
  --config FILE          settings file to read first (default $TMI_BACKUP_CONFIG; "" = none)
  --backup-dir DIR       folder of the backups
  --prefix NAME          file name prefix (files are PREFIX_YYYYmmdd_HHMMSS.dump)
  --database NAME        database to dump
  --host HOST_OR_DIR     host name or socket folder
  --port PORT            server port
  --user NAME            login role (default: the operating system user, by peer)
  --pgpass FILE          pgpass file for password logins (mode 0600)
  --bindir DIR           folder of pg_dump and pg_restore
  --compress 0-9         compression level of the custom format
  --verify full|list     read the whole file back, or only its table of contents
  --schema-only          also write PREFIX_YYYYmmdd_HHMMSS_schema.sql
  --retention-days N     remove backups older than N days (0 = never)
  --keep-min N           always keep the newest N good backups
  --lock-wait SECONDS    wait that long for a running backup (0 = do not wait)
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

print_json() {
    local status=$1 error=$2 removed="" name
    for name in "${RESULT_REMOVED[@]}"; do
        removed+="${removed:+,}$(json_string "$name")"
    done
    printf '{"status":%s,"database":%s,"file":%s,"schema_file":%s,"size_bytes":%d,"duration_seconds":%s,' \
        "$(json_string "$status")" "$(json_string "$TMI_BACKUP_DATABASE")" "$(json_string "$RESULT_FILE")" \
        "$(json_string "$RESULT_SCHEMA_FILE")" "$RESULT_SIZE" "$(elapsed_seconds)"
    printf '"removed":[%s],"step":%s,"error":%s}\n' "$removed" "$(json_string "$STEP")" "$(json_string "$error")"
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
            --host) need_value "$@"; TMI_BACKUP_HOST=$2; shift ;;
            --port) need_value "$@"; TMI_BACKUP_PORT=$2; shift ;;
            --user) need_value "$@"; TMI_BACKUP_USER=$2; shift ;;
            --pgpass) need_value "$@"; TMI_BACKUP_PGPASSFILE=$2; shift ;;
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

check_settings() {
    local n
    for n in TMI_BACKUP_PORT TMI_BACKUP_COMPRESS TMI_BACKUP_RETENTION_DAYS TMI_BACKUP_KEEP_MIN TMI_BACKUP_LOCK_WAIT; do
        if [[ ! ${!n} =~ ^[0-9]+$ ]]; then
            echo "$PROG: $n must be a whole number, not '${!n}'" >&2
            exit "$EXIT_USAGE"
        fi
    done
    if ((TMI_BACKUP_KEEP_MIN < 1)); then
        echo "$PROG: --keep-min must be at least 1" >&2
        exit "$EXIT_USAGE"
    fi
    if [[ ! $TMI_BACKUP_PREFIX =~ ^[A-Za-z0-9_.-]+$ ]]; then
        echo "$PROG: --prefix may hold letters, digits, '_', '.' and '-' only" >&2
        exit "$EXIT_USAGE"
    fi
    case $TMI_BACKUP_VERIFY in
        full | list) ;;
        *) echo "$PROG: --verify must be full or list" >&2; exit "$EXIT_USAGE" ;;
    esac
}

# libpq reads these; nothing secret is on a command line.
export_connection() {
    export PGHOST=$TMI_BACKUP_HOST PGPORT=$TMI_BACKUP_PORT PGDATABASE=$TMI_BACKUP_DATABASE
    export PGAPPNAME=$PROG PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-30}
    if [[ -n $TMI_BACKUP_USER ]]; then
        export PGUSER=$TMI_BACKUP_USER
    fi
    if [[ -n $TMI_BACKUP_PGPASSFILE ]]; then
        export PGPASSFILE=$TMI_BACKUP_PGPASSFILE
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

# A name not taken yet: two runs in one second must not share a file.
choose_stamp() {
    local stamp
    while :; do
        stamp=$(date -u +%Y%m%d_%H%M%S)
        if [[ ! -e $TMI_BACKUP_DIR/${TMI_BACKUP_PREFIX}_$stamp.dump ]]; then
            printf '%s' "$stamp"
            return
        fi
        sleep 1
    done
}

# Runs a command in the background and waits for it, so that a signal ends
# the run at once (the trap stops the command) instead of after it.
run_step() {
    local rc=0
    "$@" >/dev/null 2>"$ERR_FILE" &
    CHILD_PID=$!
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=
    if ((rc != 0)); then
        fail "$EXIT_FAILED" "$(tail -n 3 -- "$ERR_FILE" | tr '\n' ' ')"
    fi
}

dump_database() {
    local partial=$1
    STEP=pg_dump
    run_step "$TMI_BACKUP_BINDIR/pg_dump" --format=custom --compress="$TMI_BACKUP_COMPRESS" \
        --file="$partial" --dbname="$TMI_BACKUP_DATABASE"
}

verify_dump() {
    local partial=$1
    STEP=verify_list
    run_step "$TMI_BACKUP_BINDIR/pg_restore" --list "$partial"
    if [[ $TMI_BACKUP_VERIFY == full ]]; then
        STEP=verify_full
        run_step "$TMI_BACKUP_BINDIR/pg_restore" --file=/dev/null "$partial"
    fi
}

dump_schema() {
    local partial=$1
    STEP=schema_dump
    run_step "$TMI_BACKUP_BINDIR/pg_dump" --schema-only --file="$partial" --dbname="$TMI_BACKUP_DATABASE"
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
    local stamp partial final
    stamp=$(choose_stamp)
    final=$TMI_BACKUP_DIR/${TMI_BACKUP_PREFIX}_$stamp.dump
    partial=$TMI_BACKUP_DIR/.${TMI_BACKUP_PREFIX}_$stamp.dump.partial
    local schema_final=$TMI_BACKUP_DIR/${TMI_BACKUP_PREFIX}_${stamp}_schema.sql
    local schema_partial=$TMI_BACKUP_DIR/.${TMI_BACKUP_PREFIX}_${stamp}_schema.sql.partial
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

# Backups of this prefix, newest first (the UTC stamp in the name sorts).
list_backups() {
    local suffix=$1
    find "$TMI_BACKUP_DIR" -maxdepth 1 -type f -regextype posix-extended \
        -regex ".*/${TMI_BACKUP_PREFIX//./\\.}_[0-9]{8}_[0-9]{6}${suffix//./\\.}" -printf '%f\n' | sort -r
}

is_good_dump() {
    "$TMI_BACKUP_BINDIR/pg_restore" --list "$TMI_BACKUP_DIR/$1" >/dev/null 2>&1
}

is_good_schema() {
    grep -q '^-- PostgreSQL database dump complete' "$TMI_BACKUP_DIR/$1"
}

# Keep the newest KEEP_MIN good files and everything younger than the
# retention; remove the rest.
prune() {
    local suffix=$1 good_check=$2 cutoff name stamp epoch kept_good=0
    cutoff=$(($(date -u +%s) - TMI_BACKUP_RETENTION_DAYS * 86400))
    while IFS= read -r name; do
        [[ -n $name ]] || continue
        stamp=${name#"${TMI_BACKUP_PREFIX}"_}
        stamp=${stamp:0:15}
        if ((kept_good < TMI_BACKUP_KEEP_MIN)) && "$good_check" "$name"; then
            kept_good=$((kept_good + 1))
            continue
        fi
        # A name whose time cannot be read is kept: only age removes a file.
        if ! epoch=$(stamp_epoch "$stamp" 2>/dev/null) || ((epoch >= cutoff)); then
            continue
        fi
        rm -f -- "${TMI_BACKUP_DIR:?}/$name" || fail "$EXIT_FAILED" "cannot remove $name"
        RESULT_REMOVED+=("$name")
    done < <(list_backups "$suffix")
}

apply_retention() {
    STEP=retention
    if ((TMI_BACKUP_RETENTION_DAYS == 0)); then
        return
    fi
    prune .dump is_good_dump
    prune _schema.sql is_good_schema
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
    ERR_FILE=$(mktemp "$TMI_BACKUP_DIR/.${TMI_BACKUP_PREFIX}_stderr.XXXXXX.partial") ||
        fail "$EXIT_FAILED" "cannot create a file in $TMI_BACKUP_DIR"
    TEMP_FILES+=("$ERR_FILE")
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
