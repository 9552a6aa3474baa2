-- Modify "cases" table
ALTER TABLE "cases" ADD COLUMN "hidden" boolean NOT NULL DEFAULT false, ADD COLUMN "portal_created" boolean NOT NULL DEFAULT false;
-- Create index "businesscase_hidden" to table: "cases"
CREATE INDEX "businesscase_hidden" ON "cases" ("hidden");
-- Modify "processes" table
ALTER TABLE "processes" ADD COLUMN "hide_tasks_and_cases" boolean NOT NULL DEFAULT false;
-- Modify "tasks" table
ALTER TABLE "tasks" ADD COLUMN "hidden" boolean NOT NULL DEFAULT false;
-- Create index "task_hidden" to table: "tasks"
CREATE INDEX "task_hidden" ON "tasks" ("hidden");
-- (hand-written) Cases of express processes are the portal's own.
UPDATE "cases" SET "portal_created" = true WHERE "process_id" IN (SELECT "id" FROM "processes" WHERE "kind" = 'EXPRESS_PROCESS');
