-- Drop index "taskresponsible_visible_role" from table: "task_responsibles"
DROP INDEX "taskresponsible_visible_role";
-- Drop index "taskresponsible_visible_user" from table: "task_responsibles"
DROP INDEX "taskresponsible_visible_user";
-- Modify "task_responsibles" table
-- (hand-written) add it empty, copy each task's creation time, then require it
ALTER TABLE "task_responsibles" ADD COLUMN "task_created_at" timestamptz NULL;
UPDATE "task_responsibles" SET "task_created_at" = "tasks"."created_at" FROM "tasks" WHERE "tasks"."id" = "task_responsibles"."task_id";
ALTER TABLE "task_responsibles" ALTER COLUMN "task_created_at" SET NOT NULL;
-- Create index "taskresponsible_visible_role" to table: "task_responsibles"
CREATE INDEX "taskresponsible_visible_role" ON "task_responsibles" ("role_id", "task_created_at", "task_id") WHERE (NOT expiry) AND (NOT delayed) AND (NOT system);
-- Create index "taskresponsible_visible_user" to table: "task_responsibles"
CREATE INDEX "taskresponsible_visible_user" ON "task_responsibles" ("user_id", "task_created_at", "task_id") WHERE (NOT expiry) AND (NOT delayed) AND (NOT system);
