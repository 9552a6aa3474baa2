-- Add column "notification_channels" to table: "users"
ALTER TABLE `users` ADD COLUMN `notification_channels` json NULL;
-- Create "dashboards" table
CREATE TABLE `dashboards` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `public` bool NOT NULL DEFAULT (false), `version` integer NOT NULL DEFAULT (1), `permissions` json NULL, `document` text NOT NULL, `owner_id` integer NOT NULL, CONSTRAINT `dashboards_users_owner` FOREIGN KEY (`owner_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION);
-- Set sequence for "dashboards" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("dashboards", 60129542144);
-- Create index "dashboard_owner_id" to table: "dashboards"
CREATE INDEX `dashboard_owner_id` ON `dashboards` (`owner_id`);
-- Create index "dashboard_public" to table: "dashboards"
CREATE INDEX `dashboard_public` ON `dashboards` (`public`);
-- Create "dashboard_positions" table
CREATE TABLE `dashboard_positions` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `position` integer NOT NULL, `dashboard_id` integer NOT NULL, `user_id` integer NOT NULL, CONSTRAINT `dashboard_positions_dashboards_positions` FOREIGN KEY (`dashboard_id`) REFERENCES `dashboards` (`id`) ON DELETE CASCADE, CONSTRAINT `dashboard_positions_users_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION);
-- Set sequence for "dashboard_positions" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("dashboard_positions", 64424509440);
-- Create index "dashboardposition_user_id_dashboard_id" to table: "dashboard_positions"
CREATE UNIQUE INDEX `dashboardposition_user_id_dashboard_id` ON `dashboard_positions` (`user_id`, `dashboard_id`);
-- Create "favorite_processes" table
CREATE TABLE `favorite_processes` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `position` integer NOT NULL DEFAULT (0), `user_id` integer NOT NULL, `process_id` integer NOT NULL, CONSTRAINT `favorite_processes_users_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION, CONSTRAINT `favorite_processes_processes_process` FOREIGN KEY (`process_id`) REFERENCES `processes` (`id`) ON DELETE CASCADE);
-- Set sequence for "favorite_processes" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("favorite_processes", 68719476736);
-- Create index "favoriteprocess_user_id_process_id" to table: "favorite_processes"
CREATE UNIQUE INDEX `favoriteprocess_user_id_process_id` ON `favorite_processes` (`user_id`, `process_id`);
-- Create "news_items" table
CREATE TABLE `news_items` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `translations` text NOT NULL, `icon` text NOT NULL DEFAULT (''), `author_id` integer NOT NULL, CONSTRAINT `news_items_users_author` FOREIGN KEY (`author_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION);
-- Set sequence for "news_items" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("news_items", 73014444032);
