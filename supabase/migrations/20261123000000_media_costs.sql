-- lexprep's store on Supabase, Alembic revision 0002 -> 0003 (lexprep/store/migrations/versions/
-- 0003_media_costs.py): transcript segments, a page's OCR record (dpi, attempts), a chunk's time
-- range and speakers, and a document's cost ledger.
--
-- Same columns, types, constraint names as Alembic creates. Idempotent (IF NOT EXISTS, DROP POLICY
-- IF EXISTS), so it also applies cleanly to a database Alembic already migrated to 0003, and a
-- second time. Row level security as in 20261122000000_lexprep_schema.sql: signed-in members of a
-- matter can SELECT its segments (through their document); nobody but the owner/service_role writes.

-- ---------------------------------------------------------------------------- columns

ALTER TABLE documents ADD COLUMN IF NOT EXISTS costs JSON;

ALTER TABLE pages ADD COLUMN IF NOT EXISTS dpi INTEGER;
ALTER TABLE pages ADD COLUMN IF NOT EXISTS attempts JSON;

ALTER TABLE chunks ADD COLUMN IF NOT EXISTS start_s FLOAT;
ALTER TABLE chunks ADD COLUMN IF NOT EXISTS end_s FLOAT;
ALTER TABLE chunks ADD COLUMN IF NOT EXISTS speakers JSON;

-- ---------------------------------------------------------------------------- segments

CREATE TABLE IF NOT EXISTS segments (
    document_id VARCHAR(32) NOT NULL,
    idx INTEGER NOT NULL,
    start_s FLOAT NOT NULL,
    end_s FLOAT NOT NULL,
    text TEXT NOT NULL,
    speaker TEXT,
    confidence FLOAT,
    channel INTEGER,
    char_start INTEGER,
    char_end INTEGER,
    CONSTRAINT pk_segments PRIMARY KEY (document_id, idx),
    CONSTRAINT fk_segments_document_id_documents FOREIGN KEY (document_id) REFERENCES documents (id) ON DELETE CASCADE
);

-- ---------------------------------------------------------------------------- the Alembic revision

-- 0002 -> 0003 only: a fresh database stamped by the file before, or one Alembic left at 0002;
-- never downgrade a newer stamp
UPDATE alembic_version SET version_num = '0003' WHERE version_num = '0002';
INSERT INTO alembic_version (version_num)
SELECT '0003' WHERE NOT EXISTS (SELECT 1 FROM alembic_version);

-- ---------------------------------------------------------------------------- row level security

ALTER TABLE segments ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS segments_member ON segments;
CREATE POLICY segments_member ON segments FOR SELECT TO authenticated
    USING (document_id IN (
        SELECT d.id FROM documents d
        WHERE d.matter_id IN (SELECT mm.matter_id FROM matter_members mm WHERE mm.user_id = (SELECT auth.uid()))
    ));
