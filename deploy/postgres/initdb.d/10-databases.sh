#!/usr/bin/env bash
# Runs once, when the bundled PostgreSQL initialises an empty data volume (the postgres image
# runs /docker-entrypoint-initdb.d/*). Creates the roles and their databases:
#   TEMPORAL_DB_USER owns TEMPORAL_DB and TEMPORAL_VISIBILITY_DB (schemas: deploy/admin/setup.sh)
#   APP_DB_OWNER     owns APP_DB (schema: the application's migrations, `python -m db migrate`,
#                    run by the setup job only, which then grants APP_DB_USER: db.grant_app)
#   APP_DB_USER      the application's role (worker, api): may connect, owns nothing, so it
#                    cannot ALTER a table or disable a trigger (docs/security.md, issue 13)
# On an external PostgreSQL, a DBA runs the same statements (docs/deployment.md).
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v temporal_user="$TEMPORAL_DB_USER" -v temporal_password="$TEMPORAL_DB_PASSWORD" \
    -v temporal_db="$TEMPORAL_DB" -v visibility_db="$TEMPORAL_VISIBILITY_DB" \
    -v app_user="$APP_DB_USER" -v app_password="$APP_DB_PASSWORD" -v app_db="$APP_DB" \
    -v owner_user="$APP_DB_OWNER" -v owner_password="$APP_DB_OWNER_PASSWORD" <<'SQL'
CREATE ROLE :"temporal_user" LOGIN PASSWORD :'temporal_password';
CREATE DATABASE :"temporal_db" OWNER :"temporal_user";
CREATE DATABASE :"visibility_db" OWNER :"temporal_user";

CREATE ROLE :"owner_user" LOGIN PASSWORD :'owner_password';
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password';
CREATE DATABASE :"app_db" OWNER :"owner_user";
REVOKE ALL ON DATABASE :"app_db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"app_db" TO :"app_user";

-- Temporal's visibility schema uses btree_gin; create it here, as the superuser, so the
-- schema job never needs more than database ownership.
\connect :"visibility_db"
CREATE EXTENSION IF NOT EXISTS btree_gin;
SQL
