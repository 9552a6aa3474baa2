-- Create "password_resets" table
CREATE TABLE `password_resets` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `token_hash` text NOT NULL, `sent_to` text NOT NULL DEFAULT (''), `created_at` datetime NOT NULL, `expires_at` datetime NOT NULL, `used_at` datetime NULL, `user_id` integer NOT NULL, CONSTRAINT `password_resets_users_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE);
-- Set sequence for "password_resets" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("password_resets", 81604378624);
-- Create index "password_resets_token_hash_key" to table: "password_resets"
CREATE UNIQUE INDEX `password_resets_token_hash_key` ON `password_resets` (`token_hash`);
-- Create index "passwordreset_user_id_created_at" to table: "password_resets"
CREATE INDEX `passwordreset_user_id_created_at` ON `password_resets` (`user_id`, `created_at`);
-- Create index "passwordreset_sent_to_created_at" to table: "password_resets"
CREATE INDEX `passwordreset_sent_to_created_at` ON `password_resets` (`sent_to`, `created_at`);
