#!/bin/sh
# One-shot jobs run in the temporalio/admin-tools image (docker-compose.yml):
#
#   setup.sh schema      create or upgrade the Temporal schemas in PostgreSQL (before the server)
#   setup.sh namespace   create the namespace (or reset its retention) and register the search
#                        attributes of DESIGN.md (after the server is up)
#
# Both are idempotent: they run on every `docker compose up` and on an existing cluster.
# Settings come from the environment (docker-compose.yml passes them):
#   schema:    POSTGRES_SEEDS, DB_PORT, POSTGRES_USER, POSTGRES_PWD, DBNAME, VISIBILITY_DBNAME
#   namespace: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_NAMESPACE_RETENTION
set -eu

# Name=Type, exactly the list in DESIGN.md ("Search attributes") and scripts/run_stack.py.
SEARCH_ATTRIBUTES="
ComplaintStatus=Keyword
ComplaintCategory=Keyword
ComplaintGrade=Keyword
HandlingUnit=Keyword
RespondentUnit=Keyword
ComplaintChannel=Keyword
DueAt=Datetime
Overdue=Bool
Supervised=Bool
"

# The schemas shipped in the admin-tools image; they match its server version, so upgrade
# admin-tools and server together.
SCHEMA_ROOT=/etc/temporal/schema/postgresql/v12

log() { echo "setup.sh: $*"; }

wait_for() {  # wait_for <what> <command...>: retry for up to 120 s
    what=$1
    shift
    tries=0
    until "$@" >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -ge 60 ]; then
            log "gave up waiting for $what"
            return 1
        fi
        sleep 2
    done
}

sql_tool() {  # sql_tool <database> <command...>
    db=$1
    shift
    temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" \
        -u "$POSTGRES_USER" --db "$db" "$@"
}

schema() {
    : "${POSTGRES_SEEDS:?}" "${DB_PORT:=5432}" "${POSTGRES_USER:?}" "${POSTGRES_PWD:?}"
    : "${DBNAME:=temporal}" "${VISIBILITY_DBNAME:=temporal_visibility}"
    export SQL_PASSWORD="$POSTGRES_PWD"  # read by temporal-sql-tool; kept off the command line
    wait_for "PostgreSQL at $POSTGRES_SEEDS:$DB_PORT" nc -z "$POSTGRES_SEEDS" "$DB_PORT"
    # The databases themselves exist already: deploy/postgres/initdb.d creates them in the
    # bundled PostgreSQL; on an external server the DBA creates them (docs/deployment.md).
    # `setup-schema -v 0.0` only creates the version table when missing; `update-schema`
    # applies the versioned scripts not applied yet.
    log "schema of $DBNAME"
    sql_tool "$DBNAME" setup-schema -v 0.0
    sql_tool "$DBNAME" update-schema -d "$SCHEMA_ROOT/temporal/versioned"
    log "schema of $VISIBILITY_DBNAME"
    sql_tool "$VISIBILITY_DBNAME" setup-schema -v 0.0
    sql_tool "$VISIBILITY_DBNAME" update-schema -d "$SCHEMA_ROOT/visibility/versioned"
    log "Temporal schemas up to date"
}

namespace() {
    : "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}" "${TEMPORAL_NAMESPACE_RETENTION:=90d}"
    export TEMPORAL_ADDRESS TEMPORAL_NAMESPACE  # the `temporal` CLI reads both
    wait_for "Temporal at $TEMPORAL_ADDRESS" temporal operator cluster health
    ns=$TEMPORAL_NAMESPACE
    # Retention counts from the day a case's workflow closes, i.e. after its archive step
    # has copied the history into PostgreSQL; it keeps the history readable in the Web
    # UI and by `temporal workflow show` for that long. Re-applied on every run, so changing
    # TEMPORAL_NAMESPACE_RETENTION and re-running this job is how it is changed.
    if temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1; then
        log "namespace $ns exists; retention set to $TEMPORAL_NAMESPACE_RETENTION"
        temporal operator namespace update --namespace "$ns" \
            --retention "$TEMPORAL_NAMESPACE_RETENTION"
    else
        log "creating namespace $ns (retention $TEMPORAL_NAMESPACE_RETENTION)"
        temporal operator namespace create --namespace "$ns" \
            --retention "$TEMPORAL_NAMESPACE_RETENTION" \
            --description "Administrative-efficiency complaints: one workflow per case"
    fi
    # A new namespace takes a few seconds to reach every frontend's cache.
    wait_for "namespace $ns" temporal operator search-attribute list --namespace "$ns"
    existing=$(temporal operator search-attribute list --namespace "$ns")
    for pair in $SEARCH_ATTRIBUTES; do
        name=${pair%%=*}
        kind=${pair#*=}
        line=$(printf '%s\n' "$existing" | grep -w "$name" || true)
        if [ -n "$line" ]; then
            if ! printf '%s\n' "$line" | grep -qw "$kind"; then
                log "search attribute $name exists with another type: $line (wanted $kind)"
                exit 1
            fi
            log "search attribute $name already registered"
        else
            log "registering search attribute $name ($kind)"
            temporal operator search-attribute create --namespace "$ns" \
                --name "$name" --type "$kind"
        fi
    done
    log "namespace $ns ready"
}

case "${1:-}" in
    schema) schema ;;
    namespace) namespace ;;
    *)
        echo "usage: $0 schema|namespace" >&2
        exit 2
        ;;
esac
