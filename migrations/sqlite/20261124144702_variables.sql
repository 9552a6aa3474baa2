-- Create "variables" table
CREATE TABLE `variables` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `value` text NOT NULL);
-- Set sequence for "variables" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("variables", 55834574848);
-- Create index "variables_name_key" to table: "variables"
CREATE UNIQUE INDEX `variables_name_key` ON `variables` (`name`);
