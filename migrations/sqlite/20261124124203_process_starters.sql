-- Create "process_starters" table
CREATE TABLE `process_starters` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `process_id` integer NOT NULL, `role_id` integer NULL, `user_id` integer NULL, CONSTRAINT `process_starters_processes_starters` FOREIGN KEY (`process_id`) REFERENCES `processes` (`id`) ON DELETE CASCADE, CONSTRAINT `process_starters_roles_role` FOREIGN KEY (`role_id`) REFERENCES `roles` (`id`) ON DELETE CASCADE, CONSTRAINT `process_starters_users_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE);
-- Set sequence for "process_starters" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("process_starters", 51539607552);
-- Create index "processstarter_role_id_process_id" to table: "process_starters"
CREATE INDEX `processstarter_role_id_process_id` ON `process_starters` (`role_id`, `process_id`);
-- Create index "processstarter_user_id_process_id" to table: "process_starters"
CREATE INDEX `processstarter_user_id_process_id` ON `process_starters` (`user_id`, `process_id`);
-- Create index "processstarter_process_id" to table: "process_starters"
CREATE INDEX `processstarter_process_id` ON `process_starters` (`process_id`);
