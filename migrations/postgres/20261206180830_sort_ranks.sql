-- Modify "cases" table
ALTER TABLE "cases" ADD COLUMN "state_rank" smallint NOT NULL DEFAULT 0;
-- Modify "tasks" table
ALTER TABLE "tasks" ADD COLUMN "state_rank" smallint NOT NULL DEFAULT 0, ADD COLUMN "priority_rank" smallint NOT NULL DEFAULT 0;
-- (hand-written) Fill the sort ranks of existing rows from their enums (ent/schema/rank.go:
-- a state's position in its declaration from 1, a priority's urgency from 4 down to 1).
UPDATE "tasks" SET "state_rank" = CASE state
  WHEN 'CREATED' THEN 1
  WHEN 'DELAYED' THEN 2
  WHEN 'SUSPENDED' THEN 3
  WHEN 'PARKED' THEN 4
  WHEN 'RESUMED' THEN 5
  WHEN 'READY_FOR_JOIN' THEN 6
  WHEN 'DONE' THEN 7
  WHEN 'FAILED' THEN 8
  WHEN 'DESTROYED' THEN 9
  ELSE 0 END,
"priority_rank" = CASE priority
  WHEN 'EXCEPTION' THEN 4
  WHEN 'HIGH' THEN 3
  WHEN 'NORMAL' THEN 2
  WHEN 'LOW' THEN 1
  ELSE 0 END;
UPDATE "cases" SET "state_rank" = CASE state
  WHEN 'CREATED' THEN 1
  WHEN 'RUNNING' THEN 2
  WHEN 'DONE' THEN 3
  WHEN 'DESTROYED' THEN 4
  ELSE 0 END;
