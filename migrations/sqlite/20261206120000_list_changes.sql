-- atlas:delimiter \n\n

-- (hand-written) The change feed of the task and case lists (package changefeed).
--
-- list_changes records which tasks and cases every committed write touched, whatever
-- wrote it (ent, bulk updates, foreign-key cascades, raw SQL), so that an in-memory
-- read model can ask what changed since it last looked. SQLite has one writer, so seq
-- order is commit order: a reader keeps the highest seq it read. Row triggers (SQLite
-- has no statement triggers) write one row per row written.
--
-- list_changes_pruned holds the highest seq that changefeed's Prune deleted: a reader
-- whose position is below it may have missed rows and reloads.
--
-- ent knows none of these objects: migrations/handmade.go lists them. Mind a later
-- migration that rebuilds tasks, task_responsibles, cases or workflow_events (how SQLite
-- changes a column): dropping the old table drops its triggers, so that migration must
-- create them again.
--
-- Statements are separated by blank lines (the atlas:delimiter above), because the
-- trigger bodies hold semicolons.

CREATE TABLE `list_changes` (`seq` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `task_id` integer NULL, `case_id` integer NULL, `reload` bool NOT NULL DEFAULT false, `at` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP);

CREATE TABLE `list_changes_pruned` (`id` integer NOT NULL PRIMARY KEY CHECK (`id` = 1), `seq` integer NOT NULL);

INSERT INTO `list_changes_pruned` (`id`, `seq`) VALUES (1, 0);

CREATE TRIGGER `list_changes_tasks_insert` AFTER INSERT ON `tasks` BEGIN
  INSERT INTO `list_changes` (`task_id`, `case_id`) VALUES (new.id, new.case_id);
END;

CREATE TRIGGER `list_changes_tasks_update` AFTER UPDATE ON `tasks` BEGIN
  INSERT INTO `list_changes` (`task_id`, `case_id`) VALUES (new.id, new.case_id);
  INSERT INTO `list_changes` (`task_id`, `case_id`) SELECT old.id, old.case_id WHERE old.case_id IS NOT new.case_id OR old.id IS NOT new.id;
END;

CREATE TRIGGER `list_changes_tasks_delete` AFTER DELETE ON `tasks` BEGIN
  INSERT INTO `list_changes` (`task_id`, `case_id`) VALUES (old.id, old.case_id);
END;

CREATE TRIGGER `list_changes_task_responsibles_insert` AFTER INSERT ON `task_responsibles` BEGIN
  INSERT INTO `list_changes` (`task_id`) VALUES (new.task_id);
END;

CREATE TRIGGER `list_changes_task_responsibles_update` AFTER UPDATE ON `task_responsibles` BEGIN
  INSERT INTO `list_changes` (`task_id`) VALUES (new.task_id);
  INSERT INTO `list_changes` (`task_id`) SELECT old.task_id WHERE old.task_id IS NOT new.task_id;
END;

CREATE TRIGGER `list_changes_task_responsibles_delete` AFTER DELETE ON `task_responsibles` BEGIN
  INSERT INTO `list_changes` (`task_id`) VALUES (old.task_id);
END;

CREATE TRIGGER `list_changes_cases_insert` AFTER INSERT ON `cases` BEGIN
  INSERT INTO `list_changes` (`case_id`) VALUES (new.id);
END;

CREATE TRIGGER `list_changes_cases_update` AFTER UPDATE ON `cases` BEGIN
  INSERT INTO `list_changes` (`case_id`) VALUES (new.id);
END;

CREATE TRIGGER `list_changes_cases_delete` AFTER DELETE ON `cases` BEGIN
  INSERT INTO `list_changes` (`case_id`) VALUES (old.id);
END;

CREATE TRIGGER `list_changes_workflow_events_insert` AFTER INSERT ON `workflow_events` WHEN new.task_id IS NOT NULL OR new.case_id IS NOT NULL BEGIN
  INSERT INTO `list_changes` (`task_id`, `case_id`) VALUES (new.task_id, new.case_id);
END;
