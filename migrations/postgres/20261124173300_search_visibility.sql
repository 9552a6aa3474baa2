-- (hand-written) Search as a user who sees part of the tasks (package search, through
-- policy.SearchTasks and policy.SearchCases).
--
-- A restricted user's visible tasks come from task_responsibles (by role and by user).
-- Checking the text of each of them is a primary key probe into tasks per visible task:
-- about 42 ms for 12,000 tasks at a million, whatever the text. With a copy of each
-- task's search document here and a GIN index over it, the matches of the user's roles
-- are one BitmapAnd of two indexes of this table (the roles' rows and the text's rows),
-- and only the rows in both are read. With a copy of the task's case, the cases of the
-- visible tasks are an index-only scan, not a probe into tasks per visible task.
--
-- The copies are data, not rules: which rows make a task visible stays in package policy
-- (taskSources). Triggers keep them in step whatever writes the tables (ent, imports,
-- COPY of the benchmark data): a new or moved responsible copies its task's document
-- and case; a task whose name, description or case changes passes them on. ent knows
-- neither the columns, the indexes nor the triggers: migrations/handmade.go lists them.
ALTER TABLE "task_responsibles" ADD COLUMN "search_document" tsvector, ADD COLUMN "case_id" bigint;
CREATE FUNCTION "task_responsibles_copy_task"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT "search_document", "case_id" INTO NEW."search_document", NEW."case_id" FROM "tasks" WHERE "id" = NEW."task_id";
  RETURN NEW;
END
$$;
CREATE TRIGGER "task_responsibles_copy_task" BEFORE INSERT OR UPDATE OF "task_id" ON "task_responsibles"
  FOR EACH ROW EXECUTE FUNCTION "task_responsibles_copy_task"();
CREATE FUNCTION "tasks_copy_to_responsibles"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "task_responsibles" SET "search_document" = NEW."search_document", "case_id" = NEW."case_id" WHERE "task_id" = NEW."id";
  RETURN NULL;
END
$$;
CREATE TRIGGER "tasks_copy_to_responsibles" AFTER UPDATE OF "name", "description", "case_id" ON "tasks"
  FOR EACH ROW WHEN (OLD."name" IS DISTINCT FROM NEW."name" OR OLD."description" IS DISTINCT FROM NEW."description"
    OR OLD."case_id" IS DISTINCT FROM NEW."case_id")
  EXECUTE FUNCTION "tasks_copy_to_responsibles"();
-- The existing rows (about 75 s for 1.5 million responsibles on a loaded machine).
UPDATE "task_responsibles" AS "r" SET "search_document" = "t"."search_document", "case_id" = "t"."case_id"
  FROM "tasks" AS "t" WHERE "t"."id" = "r"."task_id";
-- Only the rows that make a task visible to its responsibles (policy's responsibleWhere
-- for users without SystemTaskReadAll), like taskresponsible_visible_role.
CREATE INDEX "taskresponsible_search" ON "task_responsibles" USING gin ("search_document")
  WHERE (NOT expiry) AND (NOT delayed) AND (NOT system);
CREATE INDEX "taskresponsible_visible_role_case" ON "task_responsibles" ("role_id", "case_id")
  WHERE (NOT expiry) AND (NOT delayed) AND (NOT system);
CREATE INDEX "taskresponsible_visible_user_case" ON "task_responsibles" ("user_id", "case_id")
  WHERE (NOT expiry) AND (NOT delayed) AND (NOT system);
