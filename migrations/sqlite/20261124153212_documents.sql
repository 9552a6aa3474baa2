-- Create "documents" table
CREATE TABLE `documents` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `content_type` text NOT NULL, `size` integer NOT NULL, `sha256` text NOT NULL, `content` blob NOT NULL, `case_id` integer NOT NULL, `uploader_id` integer NOT NULL, CONSTRAINT `documents_cases_case` FOREIGN KEY (`case_id`) REFERENCES `cases` (`id`) ON DELETE CASCADE, CONSTRAINT `documents_users_uploader` FOREIGN KEY (`uploader_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION);
-- Set sequence for "documents" table
INSERT INTO sqlite_sequence (name, seq) VALUES ("documents", 77309411328);
-- Create index "document_case_id" to table: "documents"
CREATE INDEX `document_case_id` ON `documents` (`case_id`);
