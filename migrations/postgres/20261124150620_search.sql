-- (hand-written) Full-text search over tasks, cases and processes (package search).
-- One GIN index per table over an expression: the weighted document of a row, its name
-- (weight A, ranked above) and description (weight B), split by the 'simple' parser and
-- lower-cased, no stemming or stop words. search builds the very same expression in its
-- queries (search/query.go): change both together or the planner stops using the index.
--
-- Why an expression index and not a stored tsvector column: ent can express neither,
-- but the index leaves the tables and the ent schema untouched (no column that every
-- ent insert and select would have to skip, no rewrite of a million-row table), and
-- ranking only ever looks at the capped candidates (search.MaxCandidates). The drift
-- check (TestMigrationsMatchSchema) would want to drop indexes ent does not know:
-- migrations/handmade.go names these three, the diff ignores exactly them and fails
-- when one is missing.
--
-- CREATE INDEX indexes the existing rows (about 3 s for a million tasks), holding off
-- writes to the table meanwhile; CONCURRENTLY is not possible inside the migration's
-- transaction.
CREATE INDEX "tasks_search" ON "tasks" USING gin ((setweight(to_tsvector('simple'::regconfig, coalesce("name", '')), 'A') || setweight(to_tsvector('simple'::regconfig, coalesce("description", '')), 'B')));
CREATE INDEX "cases_search" ON "cases" USING gin ((setweight(to_tsvector('simple'::regconfig, coalesce("name", '')), 'A') || setweight(to_tsvector('simple'::regconfig, coalesce("description", '')), 'B')));
CREATE INDEX "processes_search" ON "processes" USING gin ((setweight(to_tsvector('simple'::regconfig, coalesce("name", '')), 'A') || setweight(to_tsvector('simple'::regconfig, coalesce("description", '')), 'B')));
