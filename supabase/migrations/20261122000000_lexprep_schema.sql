-- lexprep's store on Supabase: the schema of the Alembic migrations (lexprep/store/migrations,
-- revision 0002) plus row level security that scopes every row to a matter.
--
-- * Same tables, columns, types, constraint and index names as Alembic creates, so lexprep's
--   Store works on the database unchanged. alembic_version is stamped with the revision this file
--   matches: `lexprep` (Store.open) then sees an up-to-date schema and migrates nothing. Applying
--   this file to a database that Alembic already migrated is also fine: every statement is
--   idempotent (IF NOT EXISTS, DROP POLICY IF EXISTS), so it only adds matter_members and RLS.
-- * A schema change in lexprep needs a new Alembic revision AND a new file here (never edit an
--   applied migration); tests/integration/test_supabase_schema.py fails until both agree.
-- * Access: the pipeline connects as the table owner (postgres) or service_role, which bypass RLS.
--   Signed-in users (role `authenticated`, auth.uid() from the JWT) can SELECT the rows of the
--   matters they are members of (matter_members) and nothing else; no policy allows them to write,
--   and `anon` gets no rows at all.
-- * Plain PostgreSQL (tests, self-hosting): create the role `authenticated` first
--   (CREATE ROLE authenticated NOLOGIN). auth.uid() is created below only if it does not exist
--   (Supabase has its own); the stub reads the JWT subject from request.jwt.claim.sub or
--   request.jwt.claims, as Supabase's does.

-- ---------------------------------------------------------------------------- auth.uid() stub

DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'auth' AND p.proname = 'uid' AND p.pronargs = 0
    ) THEN
        IF to_regnamespace('auth') IS NULL THEN
            CREATE SCHEMA auth;
        END IF;
        CREATE FUNCTION auth.uid() RETURNS uuid
            LANGUAGE sql STABLE
            AS $f$
                SELECT coalesce(
                    nullif(current_setting('request.jwt.claim.sub', true), ''),
                    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
                )::uuid
            $f$;
        GRANT USAGE ON SCHEMA auth TO PUBLIC;
        GRANT EXECUTE ON FUNCTION auth.uid() TO PUBLIC;
    END IF;
END
$$;

-- ---------------------------------------------------------------------------- tables (Alembic 0001 + 0002)

CREATE TABLE IF NOT EXISTS alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

CREATE TABLE IF NOT EXISTS matters (
    id VARCHAR(32) NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_matters PRIMARY KEY (id),
    CONSTRAINT uq_matters_name UNIQUE (name)
);

CREATE TABLE IF NOT EXISTS documents (
    id VARCHAR(32) NOT NULL,
    matter_id VARCHAR(32) NOT NULL,
    sha256 VARCHAR(64) NOT NULL,
    parent_id VARCHAR(32),
    source_uri TEXT NOT NULL,
    file_name TEXT NOT NULL,
    size BIGINT NOT NULL,
    kind VARCHAR(32) NOT NULL,
    mime TEXT,
    status VARCHAR(32) NOT NULL,
    error TEXT,
    category VARCHAR(32),
    category_reason TEXT,
    title TEXT,
    meta JSON,
    text TEXT,
    pipeline_version VARCHAR(32),
    settings_fingerprint VARCHAR(64),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    quarantined BOOLEAN DEFAULT false NOT NULL,
    CONSTRAINT pk_documents PRIMARY KEY (id),
    CONSTRAINT fk_documents_matter_id_matters FOREIGN KEY (matter_id) REFERENCES matters (id) ON DELETE CASCADE,
    CONSTRAINT fk_documents_parent_id_documents FOREIGN KEY (parent_id) REFERENCES documents (id) ON DELETE SET NULL,
    CONSTRAINT uq_documents_matter_id_sha256 UNIQUE (matter_id, sha256)
);
CREATE INDEX IF NOT EXISTS ix_documents_matter_id_status ON documents (matter_id, status);
CREATE INDEX IF NOT EXISTS ix_documents_parent_id ON documents (parent_id);

CREATE TABLE IF NOT EXISTS entities (
    id VARCHAR(32) NOT NULL,
    matter_id VARCHAR(32) NOT NULL,
    label VARCHAR(32) NOT NULL,
    name TEXT NOT NULL,
    aliases JSON NOT NULL,
    mention_count INTEGER NOT NULL,
    CONSTRAINT pk_entities PRIMARY KEY (id),
    CONSTRAINT fk_entities_matter_id_matters FOREIGN KEY (matter_id) REFERENCES matters (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ix_entities_matter_id_label ON entities (matter_id, label);

CREATE TABLE IF NOT EXISTS relationships (
    id VARCHAR(32) NOT NULL,
    matter_id VARCHAR(32) NOT NULL,
    source_kind VARCHAR(32) NOT NULL,
    source_id VARCHAR(32) NOT NULL,
    target_kind VARCHAR(32) NOT NULL,
    target_id VARCHAR(32) NOT NULL,
    type VARCHAR(32) NOT NULL,
    weight FLOAT NOT NULL,
    evidence_chunk_id VARCHAR(32),
    CONSTRAINT pk_relationships PRIMARY KEY (id),
    CONSTRAINT fk_relationships_matter_id_matters FOREIGN KEY (matter_id) REFERENCES matters (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ix_relationships_matter_id_type ON relationships (matter_id, type);

CREATE TABLE IF NOT EXISTS runs (
    id VARCHAR(32) NOT NULL,
    matter_id VARCHAR(32) NOT NULL,
    started_at TIMESTAMP WITH TIME ZONE NOT NULL,
    finished_at TIMESTAMP WITH TIME ZONE,
    summary JSON,
    CONSTRAINT pk_runs PRIMARY KEY (id),
    CONSTRAINT fk_runs_matter_id_matters FOREIGN KEY (matter_id) REFERENCES matters (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ix_runs_matter_id ON runs (matter_id);

CREATE TABLE IF NOT EXISTS chunks (
    id VARCHAR(32) NOT NULL,
    document_id VARCHAR(32) NOT NULL,
    matter_id VARCHAR(32) NOT NULL,
    chunk_index INTEGER NOT NULL,
    text TEXT NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    page_start INTEGER,
    page_end INTEGER,
    token_count INTEGER NOT NULL,
    quarantined BOOLEAN DEFAULT false NOT NULL,
    CONSTRAINT pk_chunks PRIMARY KEY (id),
    CONSTRAINT fk_chunks_document_id_documents FOREIGN KEY (document_id) REFERENCES documents (id) ON DELETE CASCADE,
    CONSTRAINT fk_chunks_matter_id_matters FOREIGN KEY (matter_id) REFERENCES matters (id) ON DELETE CASCADE,
    CONSTRAINT uq_chunks_document_id_chunk_index UNIQUE (document_id, chunk_index)
);
CREATE INDEX IF NOT EXISTS ix_chunks_matter_id ON chunks (matter_id);

CREATE TABLE IF NOT EXISTS entity_merges (
    id VARCHAR(32) NOT NULL,
    matter_id VARCHAR(32) NOT NULL,
    entity_id VARCHAR(32) NOT NULL,
    seq INTEGER NOT NULL,
    label VARCHAR(32) NOT NULL,
    alias TEXT NOT NULL,
    canonical TEXT NOT NULL,
    method VARCHAR(32) NOT NULL,
    score FLOAT NOT NULL,
    CONSTRAINT pk_entity_merges PRIMARY KEY (id),
    CONSTRAINT fk_entity_merges_entity_id_entities FOREIGN KEY (entity_id) REFERENCES entities (id) ON DELETE CASCADE,
    CONSTRAINT fk_entity_merges_matter_id_matters FOREIGN KEY (matter_id) REFERENCES matters (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ix_entity_merges_entity_id ON entity_merges (entity_id);
CREATE INDEX IF NOT EXISTS ix_entity_merges_matter_id ON entity_merges (matter_id);

CREATE TABLE IF NOT EXISTS pages (
    document_id VARCHAR(32) NOT NULL,
    number INTEGER NOT NULL,
    method VARCHAR(32) NOT NULL,
    confidence FLOAT,
    text TEXT NOT NULL,
    error TEXT,
    char_start INTEGER,
    char_end INTEGER,
    CONSTRAINT pk_pages PRIMARY KEY (document_id, number),
    CONSTRAINT fk_pages_document_id_documents FOREIGN KEY (document_id) REFERENCES documents (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS mentions (
    id VARCHAR(32) NOT NULL,
    chunk_id VARCHAR(32) NOT NULL,
    document_id VARCHAR(32) NOT NULL,
    matter_id VARCHAR(32) NOT NULL,
    label VARCHAR(32) NOT NULL,
    text TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    doc_start INTEGER NOT NULL,
    doc_end INTEGER NOT NULL,
    score FLOAT NOT NULL,
    extractor TEXT NOT NULL,
    source_label TEXT,
    normalized TEXT,
    entity_id VARCHAR(32),
    quarantined BOOLEAN DEFAULT false NOT NULL,
    CONSTRAINT pk_mentions PRIMARY KEY (id),
    CONSTRAINT fk_mentions_chunk_id_chunks FOREIGN KEY (chunk_id) REFERENCES chunks (id) ON DELETE CASCADE,
    CONSTRAINT fk_mentions_document_id_documents FOREIGN KEY (document_id) REFERENCES documents (id) ON DELETE CASCADE,
    CONSTRAINT fk_mentions_entity_id_entities FOREIGN KEY (entity_id) REFERENCES entities (id) ON DELETE SET NULL,
    CONSTRAINT fk_mentions_matter_id_matters FOREIGN KEY (matter_id) REFERENCES matters (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ix_mentions_chunk_id ON mentions (chunk_id);
CREATE INDEX IF NOT EXISTS ix_mentions_document_id ON mentions (document_id);
CREATE INDEX IF NOT EXISTS ix_mentions_entity_id ON mentions (entity_id);
CREATE INDEX IF NOT EXISTS ix_mentions_matter_id ON mentions (matter_id);

CREATE TABLE IF NOT EXISTS quality_results (
    id VARCHAR(32) NOT NULL,
    matter_id VARCHAR(32) NOT NULL,
    run_id VARCHAR(32),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    success BOOLEAN NOT NULL,
    report JSON NOT NULL,
    CONSTRAINT pk_quality_results PRIMARY KEY (id),
    CONSTRAINT fk_quality_results_matter_id_matters FOREIGN KEY (matter_id) REFERENCES matters (id) ON DELETE CASCADE,
    CONSTRAINT fk_quality_results_run_id_runs FOREIGN KEY (run_id) REFERENCES runs (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS ix_quality_results_matter_id ON quality_results (matter_id);
CREATE INDEX IF NOT EXISTS ix_quality_results_run_id ON quality_results (run_id);

-- the Alembic revision this schema is (only on a fresh database: never downgrade a newer stamp)
INSERT INTO alembic_version (version_num)
SELECT '0002' WHERE NOT EXISTS (SELECT 1 FROM alembic_version);

-- ---------------------------------------------------------------------------- membership (Supabase only)

CREATE TABLE IF NOT EXISTS matter_members (
    matter_id VARCHAR(32) NOT NULL,
    user_id UUID NOT NULL,
    role VARCHAR(32) DEFAULT 'member' NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_matter_members PRIMARY KEY (matter_id, user_id),
    CONSTRAINT fk_matter_members_matter_id_matters FOREIGN KEY (matter_id) REFERENCES matters (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ix_matter_members_user_id ON matter_members (user_id);

-- on Supabase, a member row goes with its user
DO $$
BEGIN
    IF to_regclass('auth.users') IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM pg_constraint WHERE conname = 'fk_matter_members_user_id_users'
    ) THEN
        ALTER TABLE matter_members ADD CONSTRAINT fk_matter_members_user_id_users
            FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE CASCADE;
    END IF;
END
$$;

-- ---------------------------------------------------------------------------- row level security
--
-- Every policy has the form `matter_id IN (SELECT matter_id FROM matter_members WHERE user_id =
-- (SELECT auth.uid()))`: Postgres evaluates the sub-select once per query (a hashed subplan), not
-- once per row, and the matter_id indexes serve it. pages has no matter_id and goes through its
-- document. No INSERT/UPDATE/DELETE policies: only roles that bypass RLS write.

ALTER TABLE alembic_version ENABLE ROW LEVEL SECURITY;   -- no policy: invisible to API users
ALTER TABLE matters ENABLE ROW LEVEL SECURITY;
ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE pages ENABLE ROW LEVEL SECURITY;
ALTER TABLE chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE mentions ENABLE ROW LEVEL SECURITY;
ALTER TABLE entities ENABLE ROW LEVEL SECURITY;
ALTER TABLE entity_merges ENABLE ROW LEVEL SECURITY;
ALTER TABLE relationships ENABLE ROW LEVEL SECURITY;
ALTER TABLE runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE quality_results ENABLE ROW LEVEL SECURITY;
ALTER TABLE matter_members ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS matter_members_own ON matter_members;
CREATE POLICY matter_members_own ON matter_members FOR SELECT TO authenticated
    USING (user_id = (SELECT auth.uid()));

DROP POLICY IF EXISTS matters_member ON matters;
CREATE POLICY matters_member ON matters FOR SELECT TO authenticated
    USING (id IN (SELECT mm.matter_id FROM matter_members mm WHERE mm.user_id = (SELECT auth.uid())));

DROP POLICY IF EXISTS documents_member ON documents;
CREATE POLICY documents_member ON documents FOR SELECT TO authenticated
    USING (matter_id IN (SELECT mm.matter_id FROM matter_members mm WHERE mm.user_id = (SELECT auth.uid())));

DROP POLICY IF EXISTS pages_member ON pages;
CREATE POLICY pages_member ON pages FOR SELECT TO authenticated
    USING (document_id IN (
        SELECT d.id FROM documents d
        WHERE d.matter_id IN (SELECT mm.matter_id FROM matter_members mm WHERE mm.user_id = (SELECT auth.uid()))
    ));

DROP POLICY IF EXISTS chunks_member ON chunks;
CREATE POLICY chunks_member ON chunks FOR SELECT TO authenticated
    USING (matter_id IN (SELECT mm.matter_id FROM matter_members mm WHERE mm.user_id = (SELECT auth.uid())));

DROP POLICY IF EXISTS mentions_member ON mentions;
CREATE POLICY mentions_member ON mentions FOR SELECT TO authenticated
    USING (matter_id IN (SELECT mm.matter_id FROM matter_members mm WHERE mm.user_id = (SELECT auth.uid())));

DROP POLICY IF EXISTS entities_member ON entities;
CREATE POLICY entities_member ON entities FOR SELECT TO authenticated
    USING (matter_id IN (SELECT mm.matter_id FROM matter_members mm WHERE mm.user_id = (SELECT auth.uid())));

DROP POLICY IF EXISTS entity_merges_member ON entity_merges;
CREATE POLICY entity_merges_member ON entity_merges FOR SELECT TO authenticated
    USING (matter_id IN (SELECT mm.matter_id FROM matter_members mm WHERE mm.user_id = (SELECT auth.uid())));

DROP POLICY IF EXISTS relationships_member ON relationships;
CREATE POLICY relationships_member ON relationships FOR SELECT TO authenticated
    USING (matter_id IN (SELECT mm.matter_id FROM matter_members mm WHERE mm.user_id = (SELECT auth.uid())));

DROP POLICY IF EXISTS runs_member ON runs;
CREATE POLICY runs_member ON runs FOR SELECT TO authenticated
    USING (matter_id IN (SELECT mm.matter_id FROM matter_members mm WHERE mm.user_id = (SELECT auth.uid())));

DROP POLICY IF EXISTS quality_results_member ON quality_results;
CREATE POLICY quality_results_member ON quality_results FOR SELECT TO authenticated
    USING (matter_id IN (SELECT mm.matter_id FROM matter_members mm WHERE mm.user_id = (SELECT auth.uid())));
