-- lexprep's store on Supabase, Alembic revision 0003 -> 0004 (lexprep/store/migrations/versions/
-- 0004_entity_layer.py): one mention per document span with its in-document link (defined term,
-- role word, surname, "Id."), its scope and attributes; document-scoped entities; merge evidence.
--
-- Same columns and types as Alembic creates. Idempotent (IF NOT EXISTS), so it also applies cleanly
-- to a database Alembic already migrated to 0004, and a second time. No new table: the row level
-- security of 20261122000000_lexprep_schema.sql (members of a matter read its rows) covers the columns.

ALTER TABLE mentions ADD COLUMN IF NOT EXISTS link_id VARCHAR(32);
ALTER TABLE mentions ADD COLUMN IF NOT EXISTS link_method VARCHAR(32);
ALTER TABLE mentions ADD COLUMN IF NOT EXISTS scope VARCHAR(16);
ALTER TABLE mentions ADD COLUMN IF NOT EXISTS attrs JSON;

ALTER TABLE entities ADD COLUMN IF NOT EXISTS document_id VARCHAR(32);

ALTER TABLE entity_merges ADD COLUMN IF NOT EXISTS evidence TEXT;

-- 0003 -> 0004 only: a fresh database stamped by the file before, or one Alembic left at 0003;
-- never downgrade a newer stamp
UPDATE alembic_version SET version_num = '0004' WHERE version_num = '0003';
INSERT INTO alembic_version (version_num)
SELECT '0004' WHERE NOT EXISTS (SELECT 1 FROM alembic_version);
