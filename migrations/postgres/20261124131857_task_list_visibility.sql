-- Modify "task_responsibles" table
ALTER TABLE "task_responsibles" ADD COLUMN "delayed" boolean NOT NULL DEFAULT false, ADD COLUMN "system" boolean NOT NULL DEFAULT false;
-- Create index "taskresponsible_visible_role" to table: "task_responsibles"
CREATE INDEX "taskresponsible_visible_role" ON "task_responsibles" ("role_id", "task_id") WHERE (NOT expiry) AND (NOT delayed) AND (NOT system);
-- Create index "taskresponsible_visible_user" to table: "task_responsibles"
CREATE INDEX "taskresponsible_visible_user" ON "task_responsibles" ("user_id", "task_id") WHERE (NOT expiry) AND (NOT delayed) AND (NOT system);
-- Drop index "task_created_at" from table: "tasks"
DROP INDEX "task_created_at";
-- Create index "task_created_at_id" to table: "tasks"
CREATE INDEX "task_created_at_id" ON "tasks" ("created_at", "id");
-- Backfill (hand-written): copy each task's DELAYED state and system flag to its responsibles
UPDATE "task_responsibles" AS r SET "delayed" = (t."state" = 'DELAYED'), "system" = t."system" FROM "tasks" AS t WHERE t."id" = r."task_id" AND (t."state" = 'DELAYED' OR t."system");
