-- Create "absences" table
CREATE TABLE `absences` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `from` datetime NOT NULL, `until` datetime NOT NULL, `comment` text NOT NULL DEFAULT (''), `user_id` integer NOT NULL, CONSTRAINT `absences_users_absences` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE);
-- Set sequence for "absences" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("absences", 42949672960);
-- Create index "absence_user_id_from" to table: "absences"
CREATE INDEX `absence_user_id_from` ON `absences` (`user_id`, `from`);
-- Create "substitutes" table
CREATE TABLE `substitutes` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `permanent` bool NOT NULL DEFAULT (false), `role_id` integer NULL, `user_id` integer NOT NULL, `substitute_id` integer NOT NULL, CONSTRAINT `substitutes_roles_role` FOREIGN KEY (`role_id`) REFERENCES `roles` (`id`) ON DELETE CASCADE, CONSTRAINT `substitutes_users_substituted_by` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE, CONSTRAINT `substitutes_users_substitutes_for` FOREIGN KEY (`substitute_id`) REFERENCES `users` (`id`) ON DELETE CASCADE);
-- Set sequence for "substitutes" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("substitutes", 47244640256);
-- Create index "substitute_substitute_id" to table: "substitutes"
CREATE INDEX `substitute_substitute_id` ON `substitutes` (`substitute_id`);
-- Create index "substitute_user_id" to table: "substitutes"
CREATE INDEX `substitute_user_id` ON `substitutes` (`user_id`);
