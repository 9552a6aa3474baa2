-- Create index "task_creator_id" to table: "tasks"
CREATE INDEX `task_creator_id` ON `tasks` (`creator_id`);
