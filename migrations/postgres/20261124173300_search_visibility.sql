-- (hand-written) Search as a user who sees part of the tasks (package search, through
-- policy.SearchTasks and policy.SearchCases).
--
-- A restricted user's visible tasks come from task_responsibles (by role and by user).
-- Checking the text of each of them is a primary key probe into tasks per visible task:
-- about 42 ms for 12,000 tasks at a million, whatever the text. And filtering the
-- matches of the text index by visibility costs in proportion to all the matches.
-- Instead each responsible row gets the search documents of its task and of the task's
-- case with every lexeme keyed by the responsible ("r<role id>." or "u<user id>."
-- before a task's lexeme, ":" instead of "." for a case's), in a GIN index: the text
-- search of a role's tasks or cases is then a lookup of that role's own lexemes
-- ("invoice" typed as a prefix is the keys from r42.invoice to r42.invoicf), in
-- proportion to the role's matches only. Each row also gets its task's case, the case
-- a case match stands for.
--
-- The copies are data, not rules: which rows make a task visible stays in package policy
-- (taskSources). Triggers keep them in step whatever writes the tables (ent, imports,
-- COPY of the benchmark data): a new responsible, or one moved to another task, role or
-- user, copies its task's and case's documents and its task's case; a task whose name,
-- description or case changes passes them on, and so does a case whose name or
-- description changes. ent knows neither the columns, the indexes, the functions nor
-- the triggers: migrations/handmade.go lists them.

-- responsible_search_key is the key of a responsible's lexemes: those of its task's
-- text after "r<role id>." or "u<user id>.", those of its task's case's text after
-- "r<role id>:" or "u<user id>:". (NULL for a row of no user and no role, whose role or
-- user was deleted.)
CREATE FUNCTION "responsible_search_key"("by_role" boolean, "id" bigint, "of_case" boolean) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN "by_role" THEN 'r' ELSE 'u' END || "id" || CASE WHEN "of_case" THEN ':' ELSE '.' END;

-- responsible_search_document is the search document of a responsible row: the
-- documents of its task (task_doc) and of the task's case (case_doc) with each lexeme
-- keyed by the row's role or user (positions and weights dropped: the rank comes from
-- the task's or case's own document).
CREATE FUNCTION "responsible_search_document"("role_id" bigint, "user_id" bigint, "task_doc" tsvector, "case_doc" tsvector) RETURNS tsvector
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN array_to_tsvector(ARRAY(
    SELECT "responsible_search_key"("role_id" IS NOT NULL, coalesce("role_id", "user_id"), "d"."of_case") || "l"."lexeme"
    FROM (VALUES (false, "task_doc"), (true, "case_doc")) AS "d"("of_case", "doc"), unnest("d"."doc") AS "l"
    WHERE coalesce("role_id", "user_id") IS NOT NULL));

-- responsible_search_query is q (a to_tsquery) for the rows of the given roles (by_role)
-- or users, on their tasks' text or (of_case) their cases': q with its lexemes keyed,
-- once for each id, joined by OR. Lexemes are quoted in a tsquery's text, with a quote
-- in them doubled.
CREATE FUNCTION "responsible_search_query"("ids" bigint[], "by_role" boolean, "of_case" boolean, "q" tsquery) RETURNS tsquery
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (SELECT coalesce(string_agg('(' || regexp_replace("q"::text, '''((?:[^'']|'''')*)''',
      '''' || "responsible_search_key"("by_role", "i", "of_case") || '\1''', 'g') || ')', ' | '), '')::tsquery
    FROM unnest("ids") AS "i");

ALTER TABLE "task_responsibles" ADD COLUMN "search_document" tsvector, ADD COLUMN "case_id" bigint;
CREATE FUNCTION "task_responsibles_copy_task"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT "responsible_search_document"(NEW."role_id", NEW."user_id", "t"."search_document", "c"."search_document"), "t"."case_id"
    INTO NEW."search_document", NEW."case_id" FROM "tasks" AS "t" JOIN "cases" AS "c" ON "c"."id" = "t"."case_id" WHERE "t"."id" = NEW."task_id";
  RETURN NEW;
END
$$;
CREATE TRIGGER "task_responsibles_copy_task" BEFORE INSERT OR UPDATE OF "task_id", "role_id", "user_id" ON "task_responsibles"
  FOR EACH ROW EXECUTE FUNCTION "task_responsibles_copy_task"();
CREATE FUNCTION "tasks_copy_to_responsibles"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "task_responsibles" SET "search_document" = "responsible_search_document"("role_id", "user_id", NEW."search_document",
      (SELECT "search_document" FROM "cases" WHERE "id" = NEW."case_id")),
    "case_id" = NEW."case_id" WHERE "task_id" = NEW."id";
  RETURN NULL;
END
$$;
CREATE TRIGGER "tasks_copy_to_responsibles" AFTER UPDATE OF "name", "description", "case_id" ON "tasks"
  FOR EACH ROW WHEN (OLD."name" IS DISTINCT FROM NEW."name" OR OLD."description" IS DISTINCT FROM NEW."description"
    OR OLD."case_id" IS DISTINCT FROM NEW."case_id")
  EXECUTE FUNCTION "tasks_copy_to_responsibles"();
CREATE FUNCTION "cases_copy_to_responsibles"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "task_responsibles" AS "r"
    SET "search_document" = "responsible_search_document"("r"."role_id", "r"."user_id", "t"."search_document", NEW."search_document")
    FROM "tasks" AS "t" WHERE "t"."case_id" = NEW."id" AND "r"."task_id" = "t"."id";
  RETURN NULL;
END
$$;
CREATE TRIGGER "cases_copy_to_responsibles" AFTER UPDATE OF "name", "description" ON "cases"
  FOR EACH ROW WHEN (OLD."name" IS DISTINCT FROM NEW."name" OR OLD."description" IS DISTINCT FROM NEW."description")
  EXECUTE FUNCTION "cases_copy_to_responsibles"();
-- The existing rows.
UPDATE "task_responsibles" AS "r"
  SET "search_document" = "responsible_search_document"("r"."role_id", "r"."user_id", "t"."search_document", "c"."search_document"),
    "case_id" = "t"."case_id"
  FROM "tasks" AS "t" JOIN "cases" AS "c" ON "c"."id" = "t"."case_id" WHERE "t"."id" = "r"."task_id";
-- Only the rows that make a task visible to its responsibles (policy's responsibleWhere
-- for users without SystemTaskReadAll), like taskresponsible_visible_role.
CREATE INDEX "taskresponsible_search" ON "task_responsibles" USING gin ("search_document")
  WHERE (NOT expiry) AND (NOT delayed) AND (NOT system);
