-- (hand-written) The change feed of the task and case lists (package changefeed).
--
-- list_changes records which tasks and cases every committed statement touched,
-- whatever wrote it (ent, bulk updates, foreign-key cascades, COPY, raw SQL), so that
-- an in-memory read model on any server can ask what changed since it last looked.
-- Rows carry the writing transaction's id (tx): commits are not in seq order, so a
-- reader keeps as its position the xmin of the snapshot of its last read (every
-- transaction below it had ended) and next reads the rows with tx >= that xmin.
--
-- The triggers are FOR EACH STATEMENT with transition tables (which PostgreSQL allows
-- for one event per trigger, hence three triggers per table): one row per distinct
-- task or case a statement touched, or, for a statement of more than 10,000 rows (the
-- benchmark seeder's COPY), one row with reload = true that makes every reader reload.
--
-- list_changes_pruned holds the highest tx and seq that changefeed's Prune deleted: a
-- reader whose position is at or below it may have missed rows and reloads.
--
-- ent knows none of these objects: migrations/handmade.go lists them.

CREATE TABLE "list_changes" (
  "seq" bigserial PRIMARY KEY,
  "task_id" bigint NULL,
  "case_id" bigint NULL,
  "reload" boolean NOT NULL DEFAULT false,
  "at" timestamptz NOT NULL DEFAULT now(),
  "tx" xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX "list_changes_tx" ON "list_changes" ("tx");

CREATE TABLE "list_changes_pruned" (
  "id" integer PRIMARY KEY CHECK ("id" = 1),
  "tx" xid8 NOT NULL,
  "seq" bigint NOT NULL
);
INSERT INTO "list_changes_pruned" ("id", "tx", "seq") VALUES (1, '0', 0);

-- list_changes_tasks records the tasks (with their cases) of a statement on tasks: the
-- new rows of an insert, the old ones of a delete, both of an update (a task moved to
-- another case changes both cases' lists).
CREATE FUNCTION "list_changes_tasks"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  IF TG_OP = 'DELETE' THEN
    SELECT count(*) INTO n FROM "old_rows";
  ELSE
    SELECT count(*) INTO n FROM "new_rows";
  END IF;
  IF n > 10000 THEN
    INSERT INTO "list_changes" ("reload") VALUES (true);
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO "list_changes" ("task_id", "case_id") SELECT DISTINCT "id", "case_id" FROM "new_rows";
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "list_changes" ("task_id", "case_id") SELECT DISTINCT "id", "case_id" FROM "old_rows";
  ELSE
    INSERT INTO "list_changes" ("task_id", "case_id")
      SELECT "id", "case_id" FROM "new_rows" UNION SELECT "id", "case_id" FROM "old_rows";
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER "list_changes_tasks_insert" AFTER INSERT ON "tasks"
  REFERENCING NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "list_changes_tasks"();
CREATE TRIGGER "list_changes_tasks_update" AFTER UPDATE ON "tasks"
  REFERENCING OLD TABLE AS "old_rows" NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "list_changes_tasks"();
CREATE TRIGGER "list_changes_tasks_delete" AFTER DELETE ON "tasks"
  REFERENCING OLD TABLE AS "old_rows" FOR EACH STATEMENT EXECUTE FUNCTION "list_changes_tasks"();

-- list_changes_task_responsibles records the tasks of a statement on task_responsibles.
CREATE FUNCTION "list_changes_task_responsibles"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  IF TG_OP = 'DELETE' THEN
    SELECT count(*) INTO n FROM "old_rows";
  ELSE
    SELECT count(*) INTO n FROM "new_rows";
  END IF;
  IF n > 10000 THEN
    INSERT INTO "list_changes" ("reload") VALUES (true);
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO "list_changes" ("task_id") SELECT DISTINCT "task_id" FROM "new_rows";
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "list_changes" ("task_id") SELECT DISTINCT "task_id" FROM "old_rows";
  ELSE
    INSERT INTO "list_changes" ("task_id")
      SELECT "task_id" FROM "new_rows" UNION SELECT "task_id" FROM "old_rows";
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER "list_changes_task_responsibles_insert" AFTER INSERT ON "task_responsibles"
  REFERENCING NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "list_changes_task_responsibles"();
CREATE TRIGGER "list_changes_task_responsibles_update" AFTER UPDATE ON "task_responsibles"
  REFERENCING OLD TABLE AS "old_rows" NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "list_changes_task_responsibles"();
CREATE TRIGGER "list_changes_task_responsibles_delete" AFTER DELETE ON "task_responsibles"
  REFERENCING OLD TABLE AS "old_rows" FOR EACH STATEMENT EXECUTE FUNCTION "list_changes_task_responsibles"();

-- list_changes_cases records the cases of a statement on cases.
CREATE FUNCTION "list_changes_cases"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  IF TG_OP = 'DELETE' THEN
    SELECT count(*) INTO n FROM "old_rows";
  ELSE
    SELECT count(*) INTO n FROM "new_rows";
  END IF;
  IF n > 10000 THEN
    INSERT INTO "list_changes" ("reload") VALUES (true);
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "list_changes" ("case_id") SELECT DISTINCT "id" FROM "old_rows";
  ELSE
    INSERT INTO "list_changes" ("case_id") SELECT DISTINCT "id" FROM "new_rows";
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER "list_changes_cases_insert" AFTER INSERT ON "cases"
  REFERENCING NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "list_changes_cases"();
CREATE TRIGGER "list_changes_cases_update" AFTER UPDATE ON "cases"
  REFERENCING NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "list_changes_cases"();
CREATE TRIGGER "list_changes_cases_delete" AFTER DELETE ON "cases"
  REFERENCING OLD TABLE AS "old_rows" FOR EACH STATEMENT EXECUTE FUNCTION "list_changes_cases"();

-- list_changes_workflow_events records the task and case of new workflow events: a
-- STARTED event makes its user one who worked on the case, which changes what they see.
CREATE FUNCTION "list_changes_workflow_events"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  SELECT count(*) INTO n FROM "new_rows";
  IF n > 10000 THEN
    INSERT INTO "list_changes" ("reload") VALUES (true);
  ELSE
    INSERT INTO "list_changes" ("task_id", "case_id") SELECT DISTINCT "task_id", "case_id" FROM "new_rows"
      WHERE "task_id" IS NOT NULL OR "case_id" IS NOT NULL;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER "list_changes_workflow_events_insert" AFTER INSERT ON "workflow_events"
  REFERENCING NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "list_changes_workflow_events"();
