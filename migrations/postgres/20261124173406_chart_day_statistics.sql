-- (hand-written) Statistics on the UTC day of each task's and case's creation and end,
-- for the time-bucket charts (package statistics, dayBin). Charts group rows by
-- date_bin('1 day', column, 2000-01-01 UTC); without statistics on that expression the
-- planner takes every row for its own group (as many days as rows) and aggregates a
-- million tasks in one process. With them it expects the few hundred days there are
-- and aggregates in parallel workers. A statistics object is used only for a query
-- expression equal to its own, so these must match dayBin's text (the statistics tests
-- check the planner's estimate). ent cannot express them: migrations/handmade.go lists
-- them, and the drift check fails when one is missing.
CREATE STATISTICS "task_created_at_day" ON (date_bin('1 day'::interval, "created_at", '2000-01-01 00:00:00+00'::timestamptz)) FROM "tasks";
CREATE STATISTICS "task_ended_at_day" ON (date_bin('1 day'::interval, "ended_at", '2000-01-01 00:00:00+00'::timestamptz)) FROM "tasks";
CREATE STATISTICS "case_created_at_day" ON (date_bin('1 day'::interval, "created_at", '2000-01-01 00:00:00+00'::timestamptz)) FROM "cases";
CREATE STATISTICS "case_ended_at_day" ON (date_bin('1 day'::interval, "ended_at", '2000-01-01 00:00:00+00'::timestamptz)) FROM "cases";
-- Statistics objects are filled by ANALYZE; autovacuum would analyze a large, quiet
-- table only after a tenth of it changed, so fill them now (about a second for a
-- million tasks: ANALYZE reads a sample of 30,000 rows).
ANALYZE "tasks";
ANALYZE "cases";
