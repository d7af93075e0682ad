-- lexprep's store on Supabase, Alembic revision 0005 -> 0006 (lexprep/store/migrations/versions/
-- 0006_entity_overrides.py): a person's split or merge of a matter's entities, replayed by every later
-- resolution (`lexprep entities split|merge`).
--
-- Same columns, types, constraint names as Alembic creates. Idempotent (IF NOT EXISTS, DROP POLICY
-- IF EXISTS), so it also applies cleanly to a database Alembic already migrated to 0006, and a
-- second time. Row level security as in 20261122000000_lexprep_schema.sql: signed-in members of a
-- matter can SELECT its overrides; nobody but the owner/service_role writes.

CREATE TABLE IF NOT EXISTS entity_overrides (
    id VARCHAR(32) NOT NULL,
    matter_id VARCHAR(32) NOT NULL,
    seq INTEGER NOT NULL,
    kind VARCHAR(16) NOT NULL,
    entity_id VARCHAR(32) NOT NULL,
    other_entity_id VARCHAR(32),
    alias TEXT,
    mention_id VARCHAR(32),
    label VARCHAR(32),
    note TEXT,
    author TEXT,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_entity_overrides PRIMARY KEY (id),
    CONSTRAINT fk_entity_overrides_matter_id_matters FOREIGN KEY (matter_id) REFERENCES matters (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ix_entity_overrides_matter_id ON entity_overrides (matter_id);

ALTER TABLE entity_overrides ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS entity_overrides_member ON entity_overrides;
CREATE POLICY entity_overrides_member ON entity_overrides FOR SELECT TO authenticated
    USING (matter_id IN (SELECT mm.matter_id FROM matter_members mm WHERE mm.user_id = (SELECT auth.uid())));

-- 0005 -> 0006 only: a fresh database stamped by the file before, or one Alembic left at 0005;
-- never downgrade a newer stamp
UPDATE alembic_version SET version_num = '0006' WHERE version_num = '0005';
INSERT INTO alembic_version (version_num)
SELECT '0006' WHERE NOT EXISTS (SELECT 1 FROM alembic_version);
