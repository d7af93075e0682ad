-- The Prefect server's own database, beside lexprep's store (POSTGRES_DB), on the same Postgres.
-- Runs once, when the data volume is first initialised.
CREATE DATABASE prefect;
