-- Create index "task_state_ended_at" to table: "tasks"
CREATE INDEX "task_state_ended_at" ON "tasks" ("state", "ended_at");
