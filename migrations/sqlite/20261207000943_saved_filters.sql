-- Create "saved_filters" table
CREATE TABLE `saved_filters` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `kind` text NOT NULL, `public` bool NOT NULL DEFAULT (false), `names` text NOT NULL, `where_input` text NOT NULL, `owner_id` integer NOT NULL, CONSTRAINT `saved_filters_users_owner` FOREIGN KEY (`owner_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION);
-- Set sequence for "saved_filters" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("saved_filters", 85899345920);
-- Create index "savedfilter_owner_id" to table: "saved_filters"
CREATE INDEX `savedfilter_owner_id` ON `saved_filters` (`owner_id`);
-- Create index "savedfilter_public" to table: "saved_filters"
CREATE INDEX `savedfilter_public` ON `saved_filters` (`public`);
