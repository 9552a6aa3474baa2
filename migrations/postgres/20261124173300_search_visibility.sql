-- (hand-written) Search as a user who sees part of the tasks (package search, through
-- policy.SearchTasks and policy.SearchCases).
--
-- A restricted user's visible tasks come from task_responsibles (by role and by user).
-- Checking the text of each of them is a primary key probe into tasks per visible task:
-- about 42 ms for 12,000 tasks at a million, whatever the text. And filtering the
-- matches of the text index by visibility costs in proportion to all the matches.
-- Instead each responsible row gets its task's search document with every lexeme keyed
-- by the responsible ("r<role id>." or "u<user id>." before it), in a GIN index: the
-- text search of a role's tasks is then a lookup of that role's own lexemes ("invoice"
-- typed as a prefix is the keys from r42.invoice to r42.invoicf), in proportion to the
-- role's matches only. Each row also gets its task's case, so the cases of the visible
-- tasks are an index-only scan, not a probe into tasks per visible task.
--
-- The copies are data, not rules: which rows make a task visible stays in package policy
-- (taskSources). Triggers keep them in step whatever writes the tables (ent, imports,
-- COPY of the benchmark data): a new responsible, or one moved to another task, role or
-- user, copies its task's document and case; a task whose name, description or case
-- changes passes them on. ent knows neither the columns, the indexes, the functions nor
-- the triggers: migrations/handmade.go lists them.

-- responsible_search_key is the key of a responsible's lexemes (NULL for a row of no
-- user and no role, whose role or user was deleted).
CREATE FUNCTION "responsible_search_key"("by_role" boolean, "id" bigint) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN "by_role" THEN 'r' ELSE 'u' END || "id" || '.';

-- responsible_search_document is the document d of the task of a responsible row with
-- each lexeme keyed by the row's role or user (positions and weights dropped: the rank
-- comes from the task's own document).
CREATE FUNCTION "responsible_search_document"("role_id" bigint, "user_id" bigint, "d" tsvector) RETURNS tsvector
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN array_to_tsvector(ARRAY(
    SELECT "responsible_search_key"("role_id" IS NOT NULL, coalesce("role_id", "user_id")) || "l"."lexeme"
    FROM unnest("d") AS "l" WHERE coalesce("role_id", "user_id") IS NOT NULL));

-- responsible_search_query is q (a to_tsquery) for the rows of the given roles (by_role)
-- or users: q with its lexemes keyed, once for each id, joined by OR. Lexemes are quoted
-- in a tsquery's text, with a quote in them doubled.
CREATE FUNCTION "responsible_search_query"("ids" bigint[], "by_role" boolean, "q" tsquery) RETURNS tsquery
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (SELECT coalesce(string_agg('(' || regexp_replace("q"::text, '''((?:[^'']|'''')*)''',
      '''' || "responsible_search_key"("by_role", "i") || '\1''', 'g') || ')', ' | '), '')::tsquery
    FROM unnest("ids") AS "i");

ALTER TABLE "task_responsibles" ADD COLUMN "search_document" tsvector, ADD COLUMN "case_id" bigint;
CREATE FUNCTION "task_responsibles_copy_task"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT "responsible_search_document"(NEW."role_id", NEW."user_id", "search_document"), "case_id"
    INTO NEW."search_document", NEW."case_id" FROM "tasks" WHERE "id" = NEW."task_id";
  RETURN NEW;
END
$$;
CREATE TRIGGER "task_responsibles_copy_task" BEFORE INSERT OR UPDATE OF "task_id", "role_id", "user_id" ON "task_responsibles"
  FOR EACH ROW EXECUTE FUNCTION "task_responsibles_copy_task"();
CREATE FUNCTION "tasks_copy_to_responsibles"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "task_responsibles" SET "search_document" = "responsible_search_document"("role_id", "user_id", NEW."search_document"),
    "case_id" = NEW."case_id" WHERE "task_id" = NEW."id";
  RETURN NULL;
END
$$;
CREATE TRIGGER "tasks_copy_to_responsibles" AFTER UPDATE OF "name", "description", "case_id" ON "tasks"
  FOR EACH ROW WHEN (OLD."name" IS DISTINCT FROM NEW."name" OR OLD."description" IS DISTINCT FROM NEW."description"
    OR OLD."case_id" IS DISTINCT FROM NEW."case_id")
  EXECUTE FUNCTION "tasks_copy_to_responsibles"();
-- The existing rows.
UPDATE "task_responsibles" AS "r" SET "search_document" = "responsible_search_document"("r"."role_id", "r"."user_id", "t"."search_document"),
  "case_id" = "t"."case_id" FROM "tasks" AS "t" WHERE "t"."id" = "r"."task_id";
-- Only the rows that make a task visible to its responsibles (policy's responsibleWhere
-- for users without SystemTaskReadAll), like taskresponsible_visible_role.
CREATE INDEX "taskresponsible_search" ON "task_responsibles" USING gin ("search_document")
  WHERE (NOT expiry) AND (NOT delayed) AND (NOT system);
CREATE INDEX "taskresponsible_visible_role_case" ON "task_responsibles" ("role_id", "case_id")
  WHERE (NOT expiry) AND (NOT delayed) AND (NOT system);
CREATE INDEX "taskresponsible_visible_user_case" ON "task_responsibles" ("user_id", "case_id")
  WHERE (NOT expiry) AND (NOT delayed) AND (NOT system);
