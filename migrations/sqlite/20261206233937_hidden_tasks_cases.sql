-- (hand-edited) ADD COLUMN instead of atlas' rebuild of cases, processes and tasks: the
-- same columns without copying the tables or dropping their search and change triggers.
-- Modify "cases" table
ALTER TABLE `cases` ADD COLUMN `hidden` bool NOT NULL DEFAULT (false);
ALTER TABLE `cases` ADD COLUMN `portal_created` bool NOT NULL DEFAULT (false);
-- Create index "businesscase_hidden" to table: "cases"
CREATE INDEX `businesscase_hidden` ON `cases` (`hidden`);
-- Modify "processes" table
ALTER TABLE `processes` ADD COLUMN `hide_tasks_and_cases` bool NOT NULL DEFAULT (false);
-- Modify "tasks" table
ALTER TABLE `tasks` ADD COLUMN `hidden` bool NOT NULL DEFAULT (false);
-- Create index "task_hidden" to table: "tasks"
CREATE INDEX `task_hidden` ON `tasks` (`hidden`);
-- (hand-written) Cases of express processes are the portal's own.
UPDATE `cases` SET `portal_created` = true WHERE `process_id` IN (SELECT `id` FROM `processes` WHERE `kind` = 'EXPRESS_PROCESS');
