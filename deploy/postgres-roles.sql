-- Two database roles for sopflow (run once as a superuser: psql -f postgres-roles.sql).
--
-- sopflow_owner owns the database and its tables and runs the migrations; nothing else uses it.
-- sopflow_app is what the web server, the workers and the scheduler connect as: it may read and
-- write rows, but as it owns no table it cannot disable the event log's triggers, truncate a
-- table or change the schema. Replace the passwords; put sopflow_app's URL in DATABASE_URL and
-- sopflow_owner's in MIGRATE_DATABASE_URL (deploy/env.example).

CREATE ROLE sopflow_owner LOGIN PASSWORD 'change-me-owner';
CREATE ROLE sopflow_app LOGIN PASSWORD 'change-me-app';
CREATE DATABASE sopflow OWNER sopflow_owner;

\connect sopflow

-- Only the owner creates objects in the schema; the app uses what is there.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO sopflow_owner;
GRANT USAGE ON SCHEMA public TO sopflow_app;

-- What exists now (an installation migrated before the roles were split) ...
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO sopflow_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO sopflow_app;
-- ... and every table and sequence the owner's migrations create from now on.
ALTER DEFAULT PRIVILEGES FOR ROLE sopflow_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO sopflow_app;
ALTER DEFAULT PRIVILEGES FOR ROLE sopflow_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO sopflow_app;
