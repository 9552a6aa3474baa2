-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_task_responsibles" table
CREATE TABLE `new_task_responsibles` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `expiry` bool NOT NULL DEFAULT (false), `delayed` bool NOT NULL DEFAULT (false), `system` bool NOT NULL DEFAULT (false), `task_created_at` datetime NOT NULL, `task_id` integer NOT NULL, `user_id` integer NULL, `role_id` integer NULL, CONSTRAINT `task_responsibles_tasks_responsibles` FOREIGN KEY (`task_id`) REFERENCES `tasks` (`id`) ON DELETE CASCADE, CONSTRAINT `task_responsibles_users_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE SET NULL, CONSTRAINT `task_responsibles_roles_role` FOREIGN KEY (`role_id`) REFERENCES `roles` (`id`) ON DELETE SET NULL);
-- Set sequence for "new_task_responsibles" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("new_task_responsibles", 30064771072);
-- Copy rows from old table "task_responsibles" to new temporary table "new_task_responsibles"
-- (hand-written) with each task's creation time
INSERT INTO `new_task_responsibles` (`id`, `expiry`, `delayed`, `system`, `task_created_at`, `task_id`, `user_id`, `role_id`) SELECT r.`id`, r.`expiry`, r.`delayed`, r.`system`, t.`created_at`, r.`task_id`, r.`user_id`, r.`role_id` FROM `task_responsibles` AS r JOIN `tasks` AS t ON t.`id` = r.`task_id`;
-- Drop "task_responsibles" table after copying rows
DROP TABLE `task_responsibles`;
-- Rename temporary table "new_task_responsibles" to "task_responsibles"
ALTER TABLE `new_task_responsibles` RENAME TO `task_responsibles`;
-- Create index "taskresponsible_role_id_task_id" to table: "task_responsibles"
CREATE INDEX `taskresponsible_role_id_task_id` ON `task_responsibles` (`role_id`, `task_id`);
-- Create index "taskresponsible_user_id_task_id" to table: "task_responsibles"
CREATE INDEX `taskresponsible_user_id_task_id` ON `task_responsibles` (`user_id`, `task_id`);
-- Create index "taskresponsible_task_id" to table: "task_responsibles"
CREATE INDEX `taskresponsible_task_id` ON `task_responsibles` (`task_id`);
-- Create index "taskresponsible_visible_role" to table: "task_responsibles"
CREATE INDEX `taskresponsible_visible_role` ON `task_responsibles` (`role_id`, `task_created_at`, `task_id`) WHERE (NOT expiry) AND (NOT delayed) AND (NOT system);
-- Create index "taskresponsible_visible_user" to table: "task_responsibles"
CREATE INDEX `taskresponsible_visible_user` ON `task_responsibles` (`user_id`, `task_created_at`, `task_id`) WHERE (NOT expiry) AND (NOT delayed) AND (NOT system);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
