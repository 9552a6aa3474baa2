-- Disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- Create "new_users" table
CREATE TABLE `new_users` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `full_name` text NOT NULL DEFAULT (''), `email` text NOT NULL DEFAULT (''), `language` text NOT NULL DEFAULT (''), `password_hash` text NOT NULL DEFAULT (''), `properties` json NULL, `disabled` bool NOT NULL DEFAULT (false), `token_version` integer NOT NULL DEFAULT (0), `notification_channels` json NULL);
-- Set sequence for "new_users" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("new_users", 34359738368);
-- Copy rows from old table "users" to new temporary table "new_users"
INSERT INTO `new_users` (`id`, `created_at`, `updated_at`, `name`, `full_name`, `email`, `language`, `password_hash`, `properties`, `disabled`, `notification_channels`) SELECT `id`, `created_at`, `updated_at`, `name`, `full_name`, `email`, `language`, `password_hash`, `properties`, `disabled`, `notification_channels` FROM `users`;
-- Drop "users" table after copying rows
DROP TABLE `users`;
-- Rename temporary table "new_users" to "users"
ALTER TABLE `new_users` RENAME TO `users`;
-- Create index "users_name_key" to table: "users"
CREATE UNIQUE INDEX `users_name_key` ON `users` (`name`);
-- Enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;
