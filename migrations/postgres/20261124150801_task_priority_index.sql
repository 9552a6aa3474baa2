-- Create index "task_priority" to table: "tasks"
CREATE INDEX "task_priority" ON "tasks" ("priority");
