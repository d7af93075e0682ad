-- lexprep's store on Supabase, Alembic revision 0004 -> 0005 (lexprep/store/migrations/versions/
-- 0005_facts.py): structured facts per document with verbatim evidence (lexprep.facts), and the role
-- of a typed graph edge (relationships.role).
--
-- Same columns, types, constraint names as Alembic creates. Idempotent (IF NOT EXISTS, DROP POLICY
-- IF EXISTS), so it also applies cleanly to a database Alembic already migrated to 0005, and a
-- second time. Row level security as in 20261122000000_lexprep_schema.sql: signed-in members of a
-- matter can SELECT its facts; nobody but the owner/service_role writes.

-- ---------------------------------------------------------------------------- facts

CREATE TABLE IF NOT EXISTS facts (
    id VARCHAR(32) NOT NULL,
    matter_id VARCHAR(32) NOT NULL,
    document_id VARCHAR(32) NOT NULL,
    chunk_id VARCHAR(32),
    kind VARCHAR(32) NOT NULL,
    value TEXT NOT NULL,
    normalized TEXT,
    role TEXT,
    mention_id VARCHAR(32),
    entity_id VARCHAR(32),
    evidence_start INTEGER NOT NULL,
    evidence_end INTEGER NOT NULL,
    evidence_text TEXT NOT NULL,
    evidence_source VARCHAR(16) NOT NULL,
    page INTEGER,
    start_s FLOAT,
    end_s FLOAT,
    extractor TEXT NOT NULL,
    confidence FLOAT NOT NULL,
    attrs JSON,
    quarantined BOOLEAN DEFAULT false NOT NULL,
    CONSTRAINT pk_facts PRIMARY KEY (id),
    CONSTRAINT fk_facts_document_id_documents FOREIGN KEY (document_id) REFERENCES documents (id) ON DELETE CASCADE,
    CONSTRAINT fk_facts_entity_id_entities FOREIGN KEY (entity_id) REFERENCES entities (id) ON DELETE SET NULL,
    CONSTRAINT fk_facts_matter_id_matters FOREIGN KEY (matter_id) REFERENCES matters (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ix_facts_document_id ON facts (document_id);
CREATE INDEX IF NOT EXISTS ix_facts_entity_id ON facts (entity_id);
CREATE INDEX IF NOT EXISTS ix_facts_matter_id_kind ON facts (matter_id, kind);

-- ---------------------------------------------------------------------------- columns

ALTER TABLE relationships ADD COLUMN IF NOT EXISTS role TEXT;

-- ---------------------------------------------------------------------------- the Alembic revision

-- 0004 -> 0005 only: a fresh database stamped by the file before, or one Alembic left at 0004;
-- never downgrade a newer stamp
UPDATE alembic_version SET version_num = '0005' WHERE version_num = '0004';
INSERT INTO alembic_version (version_num)
SELECT '0005' WHERE NOT EXISTS (SELECT 1 FROM alembic_version);

-- ---------------------------------------------------------------------------- row level security

ALTER TABLE facts ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS facts_member ON facts;
CREATE POLICY facts_member ON facts FOR SELECT TO authenticated
    USING (matter_id IN (SELECT mm.matter_id FROM matter_members mm WHERE mm.user_id = (SELECT auth.uid())));
