-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_tasks" table
CREATE TABLE `new_tasks` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL DEFAULT (''), `description` text NOT NULL DEFAULT (''), `category` text NOT NULL DEFAULT (''), `state` text NOT NULL DEFAULT ('SUSPENDED'), `priority` text NOT NULL DEFAULT ('NORMAL'), `kind` text NOT NULL DEFAULT ('USER_TASK'), `position` integer NOT NULL DEFAULT (0), `system` bool NOT NULL DEFAULT (false), `expiry_timestamp` datetime NULL, `expiry_priority` text NULL, `expiry_warned` bool NOT NULL DEFAULT (false), `delay_timestamp` datetime NULL, `started_at` datetime NULL, `ended_at` datetime NULL, `custom_fields` json NULL, `data` json NULL, `case_id` integer NOT NULL, `worker_id` integer NULL, `creator_id` integer NULL, CONSTRAINT `tasks_cases_tasks` FOREIGN KEY (`case_id`) REFERENCES `cases` (`id`) ON DELETE NO ACTION, CONSTRAINT `tasks_users_worker` FOREIGN KEY (`worker_id`) REFERENCES `users` (`id`) ON DELETE SET NULL, CONSTRAINT `tasks_users_creator` FOREIGN KEY (`creator_id`) REFERENCES `users` (`id`) ON DELETE SET NULL);
-- Set sequence for "new_tasks" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("new_tasks", 25769803776);
-- Copy rows from old table "tasks" to new temporary table "new_tasks"
INSERT INTO `new_tasks` (`id`, `created_at`, `updated_at`, `name`, `description`, `category`, `state`, `priority`, `kind`, `position`, `system`, `expiry_timestamp`, `expiry_priority`, `delay_timestamp`, `started_at`, `ended_at`, `custom_fields`, `data`, `case_id`, `worker_id`, `creator_id`) SELECT `id`, `created_at`, `updated_at`, `name`, `description`, `category`, `state`, `priority`, `kind`, `position`, `system`, `expiry_timestamp`, `expiry_priority`, `delay_timestamp`, `started_at`, `ended_at`, `custom_fields`, `data`, `case_id`, `worker_id`, `creator_id` FROM `tasks`;
-- Drop "tasks" table after copying rows
DROP TABLE `tasks`;
-- Rename temporary table "new_tasks" to "tasks"
ALTER TABLE `new_tasks` RENAME TO `tasks`;
-- Create index "task_created_at_id" to table: "tasks"
CREATE INDEX `task_created_at_id` ON `tasks` (`created_at`, `id`);
-- Create index "task_state_created_at" to table: "tasks"
CREATE INDEX `task_state_created_at` ON `tasks` (`state`, `created_at`);
-- Create index "task_case_id" to table: "tasks"
CREATE INDEX `task_case_id` ON `tasks` (`case_id`);
-- Create index "task_worker_id" to table: "tasks"
CREATE INDEX `task_worker_id` ON `tasks` (`worker_id`);
-- Create index "task_expiry_timestamp" to table: "tasks"
CREATE INDEX `task_expiry_timestamp` ON `tasks` (`expiry_timestamp`);
-- Create index "task_delay_timestamp" to table: "tasks"
CREATE INDEX `task_delay_timestamp` ON `tasks` (`delay_timestamp`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
