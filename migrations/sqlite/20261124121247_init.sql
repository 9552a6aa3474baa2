-- Create "cases" table
CREATE TABLE `cases` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL DEFAULT (''), `description` text NOT NULL DEFAULT (''), `category` text NOT NULL DEFAULT (''), `state` text NOT NULL DEFAULT ('CREATED'), `ended_at` datetime NULL, `custom_fields` json NULL, `creator_id` integer NULL, `owner_id` integer NULL, `process_id` integer NULL, CONSTRAINT `cases_users_creator` FOREIGN KEY (`creator_id`) REFERENCES `users` (`id`) ON DELETE SET NULL, CONSTRAINT `cases_users_owner` FOREIGN KEY (`owner_id`) REFERENCES `users` (`id`) ON DELETE SET NULL, CONSTRAINT `cases_processes_cases` FOREIGN KEY (`process_id`) REFERENCES `processes` (`id`) ON DELETE SET NULL);
-- Create index "businesscase_created_at" to table: "cases"
CREATE INDEX `businesscase_created_at` ON `cases` (`created_at`);
-- Create index "businesscase_state_created_at" to table: "cases"
CREATE INDEX `businesscase_state_created_at` ON `cases` (`state`, `created_at`);
-- Create index "businesscase_creator_id" to table: "cases"
CREATE INDEX `businesscase_creator_id` ON `cases` (`creator_id`);
-- Create index "businesscase_owner_id" to table: "cases"
CREATE INDEX `businesscase_owner_id` ON `cases` (`owner_id`);
-- Create "grants" table
CREATE TABLE `grants` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `permission` text NOT NULL, `effect` text NOT NULL DEFAULT ('ALLOW'), `role_id` integer NULL, `user_id` integer NULL, CONSTRAINT `grants_roles_grants` FOREIGN KEY (`role_id`) REFERENCES `roles` (`id`) ON DELETE CASCADE, CONSTRAINT `grants_users_grants` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE);
-- Set sequence for "grants" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("grants", 4294967296);
-- Create index "grant_permission_role_id" to table: "grants"
CREATE UNIQUE INDEX `grant_permission_role_id` ON `grants` (`permission`, `role_id`);
-- Create index "grant_permission_user_id" to table: "grants"
CREATE UNIQUE INDEX `grant_permission_user_id` ON `grants` (`permission`, `user_id`);
-- Create index "grant_user_id" to table: "grants"
CREATE INDEX `grant_user_id` ON `grants` (`user_id`);
-- Create index "grant_role_id" to table: "grants"
CREATE INDEX `grant_role_id` ON `grants` (`role_id`);
-- Create "notes" table
CREATE TABLE `notes` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `content` text NOT NULL, `system` bool NOT NULL DEFAULT (false), `case_id` integer NULL, `author_id` integer NULL, `task_id` integer NULL, CONSTRAINT `notes_cases_notes` FOREIGN KEY (`case_id`) REFERENCES `cases` (`id`) ON DELETE SET NULL, CONSTRAINT `notes_users_author` FOREIGN KEY (`author_id`) REFERENCES `users` (`id`) ON DELETE SET NULL, CONSTRAINT `notes_tasks_notes` FOREIGN KEY (`task_id`) REFERENCES `tasks` (`id`) ON DELETE SET NULL);
-- Set sequence for "notes" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("notes", 8589934592);
-- Create index "note_task_id" to table: "notes"
CREATE INDEX `note_task_id` ON `notes` (`task_id`);
-- Create index "note_case_id" to table: "notes"
CREATE INDEX `note_case_id` ON `notes` (`case_id`);
-- Create "processes" table
CREATE TABLE `processes` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `key` text NULL, `name` text NOT NULL, `description` text NOT NULL DEFAULT (''), `category` text NOT NULL DEFAULT (''), `icon` text NOT NULL DEFAULT (''), `kind` text NOT NULL DEFAULT ('EXPRESS_PROCESS'), `link` text NOT NULL DEFAULT (''), `permissions` json NULL, `ready_to_execute` bool NOT NULL DEFAULT (true), `definition` json NULL, `owner_id` integer NULL, CONSTRAINT `processes_users_owner` FOREIGN KEY (`owner_id`) REFERENCES `users` (`id`) ON DELETE SET NULL);
-- Set sequence for "processes" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("processes", 12884901888);
-- Create index "processes_key_key" to table: "processes"
CREATE UNIQUE INDEX `processes_key_key` ON `processes` (`key`);
-- Create "roles" table
CREATE TABLE `roles` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `display_name` text NOT NULL DEFAULT (''), `parent_id` integer NULL, CONSTRAINT `roles_roles_children` FOREIGN KEY (`parent_id`) REFERENCES `roles` (`id`) ON DELETE CASCADE);
-- Set sequence for "roles" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("roles", 17179869184);
-- Create index "roles_name_key" to table: "roles"
CREATE UNIQUE INDEX `roles_name_key` ON `roles` (`name`);
-- Create "server_secrets" table
CREATE TABLE `server_secrets` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `name` text NOT NULL, `value` blob NOT NULL);
-- Set sequence for "server_secrets" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("server_secrets", 21474836480);
-- Create index "server_secrets_name_key" to table: "server_secrets"
CREATE UNIQUE INDEX `server_secrets_name_key` ON `server_secrets` (`name`);
-- Create "tasks" table
CREATE TABLE `tasks` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL DEFAULT (''), `description` text NOT NULL DEFAULT (''), `category` text NOT NULL DEFAULT (''), `state` text NOT NULL DEFAULT ('SUSPENDED'), `priority` text NOT NULL DEFAULT ('NORMAL'), `kind` text NOT NULL DEFAULT ('USER_TASK'), `position` integer NOT NULL DEFAULT (0), `system` bool NOT NULL DEFAULT (false), `expiry_timestamp` datetime NULL, `expiry_priority` text NULL, `delay_timestamp` datetime NULL, `started_at` datetime NULL, `ended_at` datetime NULL, `custom_fields` json NULL, `data` json NULL, `case_id` integer NOT NULL, `worker_id` integer NULL, `creator_id` integer NULL, CONSTRAINT `tasks_cases_tasks` FOREIGN KEY (`case_id`) REFERENCES `cases` (`id`) ON DELETE NO ACTION, CONSTRAINT `tasks_users_worker` FOREIGN KEY (`worker_id`) REFERENCES `users` (`id`) ON DELETE SET NULL, CONSTRAINT `tasks_users_creator` FOREIGN KEY (`creator_id`) REFERENCES `users` (`id`) ON DELETE SET NULL);
-- Set sequence for "tasks" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("tasks", 25769803776);
-- Create index "task_created_at" to table: "tasks"
CREATE INDEX `task_created_at` ON `tasks` (`created_at`);
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
-- Create "task_responsibles" table
CREATE TABLE `task_responsibles` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `expiry` bool NOT NULL DEFAULT (false), `task_id` integer NOT NULL, `user_id` integer NULL, `role_id` integer NULL, CONSTRAINT `task_responsibles_tasks_responsibles` FOREIGN KEY (`task_id`) REFERENCES `tasks` (`id`) ON DELETE CASCADE, CONSTRAINT `task_responsibles_users_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE SET NULL, CONSTRAINT `task_responsibles_roles_role` FOREIGN KEY (`role_id`) REFERENCES `roles` (`id`) ON DELETE SET NULL);
-- Set sequence for "task_responsibles" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("task_responsibles", 30064771072);
-- Create index "taskresponsible_role_id_task_id" to table: "task_responsibles"
CREATE INDEX `taskresponsible_role_id_task_id` ON `task_responsibles` (`role_id`, `task_id`);
-- Create index "taskresponsible_user_id_task_id" to table: "task_responsibles"
CREATE INDEX `taskresponsible_user_id_task_id` ON `task_responsibles` (`user_id`, `task_id`);
-- Create index "taskresponsible_task_id" to table: "task_responsibles"
CREATE INDEX `taskresponsible_task_id` ON `task_responsibles` (`task_id`);
-- Create "users" table
CREATE TABLE `users` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `full_name` text NOT NULL DEFAULT (''), `email` text NOT NULL DEFAULT (''), `language` text NOT NULL DEFAULT (''), `password_hash` text NOT NULL DEFAULT (''), `properties` json NULL, `disabled` bool NOT NULL DEFAULT (false));
-- Set sequence for "users" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("users", 34359738368);
-- Create index "users_name_key" to table: "users"
CREATE UNIQUE INDEX `users_name_key` ON `users` (`name`);
-- Create "workflow_events" table
CREATE TABLE `workflow_events` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `kind` text NOT NULL, `state_before` text NOT NULL DEFAULT (''), `state_after` text NOT NULL DEFAULT (''), `details` json NULL, `case_id` integer NULL, `task_id` integer NULL, `user_id` integer NULL, CONSTRAINT `workflow_events_cases_events` FOREIGN KEY (`case_id`) REFERENCES `cases` (`id`) ON DELETE SET NULL, CONSTRAINT `workflow_events_tasks_events` FOREIGN KEY (`task_id`) REFERENCES `tasks` (`id`) ON DELETE SET NULL, CONSTRAINT `workflow_events_users_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE SET NULL);
-- Set sequence for "workflow_events" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("workflow_events", 38654705664);
-- Create index "workflowevent_task_id" to table: "workflow_events"
CREATE INDEX `workflowevent_task_id` ON `workflow_events` (`task_id`);
-- Create index "workflowevent_case_id" to table: "workflow_events"
CREATE INDEX `workflowevent_case_id` ON `workflow_events` (`case_id`);
-- Create "role_members" table
CREATE TABLE `role_members` (`role_id` integer NOT NULL, `member_of_id` integer NOT NULL, PRIMARY KEY (`role_id`, `member_of_id`), CONSTRAINT `role_members_role_id` FOREIGN KEY (`role_id`) REFERENCES `roles` (`id`) ON DELETE CASCADE, CONSTRAINT `role_members_member_of_id` FOREIGN KEY (`member_of_id`) REFERENCES `roles` (`id`) ON DELETE CASCADE);
-- Create "user_roles" table
CREATE TABLE `user_roles` (`user_id` integer NOT NULL, `role_id` integer NOT NULL, PRIMARY KEY (`user_id`, `role_id`), CONSTRAINT `user_roles_user_id` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE, CONSTRAINT `user_roles_role_id` FOREIGN KEY (`role_id`) REFERENCES `roles` (`id`) ON DELETE CASCADE);
