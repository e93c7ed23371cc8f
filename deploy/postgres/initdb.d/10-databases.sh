#!/usr/bin/env bash
# Runs once, when the bundled PostgreSQL initialises an empty data volume (the postgres image
# runs /docker-entrypoint-initdb.d/*). Creates one role per tenant and its databases:
#   TEMPORAL_DB_USER owns TEMPORAL_DB and TEMPORAL_VISIBILITY_DB (schemas: deploy/admin/setup.sh)
#   APP_DB_USER      owns APP_DB (schema: the application's migrations, `python -m db migrate`)
# On an external PostgreSQL, a DBA runs the same statements (docs/deployment.md).
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v temporal_user="$TEMPORAL_DB_USER" -v temporal_password="$TEMPORAL_DB_PASSWORD" \
    -v temporal_db="$TEMPORAL_DB" -v visibility_db="$TEMPORAL_VISIBILITY_DB" \
    -v app_user="$APP_DB_USER" -v app_password="$APP_DB_PASSWORD" -v app_db="$APP_DB" <<'SQL'
CREATE ROLE :"temporal_user" LOGIN PASSWORD :'temporal_password';
CREATE DATABASE :"temporal_db" OWNER :"temporal_user";
CREATE DATABASE :"visibility_db" OWNER :"temporal_user";

CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password';
CREATE DATABASE :"app_db" OWNER :"app_user";

-- Temporal's visibility schema uses btree_gin; create it here, as the superuser, so the
-- schema job never needs more than database ownership.
\connect :"visibility_db"
CREATE EXTENSION IF NOT EXISTS btree_gin;
SQL
