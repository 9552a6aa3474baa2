-- atlas:delimiter \n\n

-- (hand-written) Full-text search over tasks, cases and processes (package search).
-- One FTS5 table per searched table, over its name and description, with the table as
-- external content (the text is stored once; the FTS table holds the index and the
-- statistics bm25 ranks with). Triggers keep each index in step with inserts, deletes
-- and changes of name or description; 'rebuild' indexes the rows already there.
--
-- ent cannot express virtual tables or triggers, and the drift check only inspects the
-- tables ent knows; migrations/handmade.go names these objects and the check fails when
-- one is missing. Mind it when a later migration rebuilds tasks, cases or processes
-- (how SQLite changes a column): dropping the old table drops its triggers, so that
-- migration must create them again.
--
-- Statements are separated by blank lines (the atlas:delimiter above), because the
-- trigger bodies hold semicolons.

CREATE VIRTUAL TABLE `tasks_fts` USING fts5(name, description, content='tasks', content_rowid='id', tokenize='unicode61 remove_diacritics 2');

INSERT INTO `tasks_fts` (`tasks_fts`) VALUES ('rebuild');

CREATE TRIGGER `tasks_fts_insert` AFTER INSERT ON `tasks` BEGIN
  INSERT INTO `tasks_fts` (rowid, name, description) VALUES (new.id, new.name, new.description);
END;

CREATE TRIGGER `tasks_fts_delete` AFTER DELETE ON `tasks` BEGIN
  INSERT INTO `tasks_fts` (`tasks_fts`, rowid, name, description) VALUES ('delete', old.id, old.name, old.description);
END;

CREATE TRIGGER `tasks_fts_update` AFTER UPDATE OF name, description ON `tasks` BEGIN
  INSERT INTO `tasks_fts` (`tasks_fts`, rowid, name, description) VALUES ('delete', old.id, old.name, old.description);
  INSERT INTO `tasks_fts` (rowid, name, description) VALUES (new.id, new.name, new.description);
END;

CREATE VIRTUAL TABLE `cases_fts` USING fts5(name, description, content='cases', content_rowid='id', tokenize='unicode61 remove_diacritics 2');

INSERT INTO `cases_fts` (`cases_fts`) VALUES ('rebuild');

CREATE TRIGGER `cases_fts_insert` AFTER INSERT ON `cases` BEGIN
  INSERT INTO `cases_fts` (rowid, name, description) VALUES (new.id, new.name, new.description);
END;

CREATE TRIGGER `cases_fts_delete` AFTER DELETE ON `cases` BEGIN
  INSERT INTO `cases_fts` (`cases_fts`, rowid, name, description) VALUES ('delete', old.id, old.name, old.description);
END;

CREATE TRIGGER `cases_fts_update` AFTER UPDATE OF name, description ON `cases` BEGIN
  INSERT INTO `cases_fts` (`cases_fts`, rowid, name, description) VALUES ('delete', old.id, old.name, old.description);
  INSERT INTO `cases_fts` (rowid, name, description) VALUES (new.id, new.name, new.description);
END;

CREATE VIRTUAL TABLE `processes_fts` USING fts5(name, description, content='processes', content_rowid='id', tokenize='unicode61 remove_diacritics 2');

INSERT INTO `processes_fts` (`processes_fts`) VALUES ('rebuild');

CREATE TRIGGER `processes_fts_insert` AFTER INSERT ON `processes` BEGIN
  INSERT INTO `processes_fts` (rowid, name, description) VALUES (new.id, new.name, new.description);
END;

CREATE TRIGGER `processes_fts_delete` AFTER DELETE ON `processes` BEGIN
  INSERT INTO `processes_fts` (`processes_fts`, rowid, name, description) VALUES ('delete', old.id, old.name, old.description);
END;

CREATE TRIGGER `processes_fts_update` AFTER UPDATE OF name, description ON `processes` BEGIN
  INSERT INTO `processes_fts` (`processes_fts`, rowid, name, description) VALUES ('delete', old.id, old.name, old.description);
  INSERT INTO `processes_fts` (rowid, name, description) VALUES (new.id, new.name, new.description);
END;
