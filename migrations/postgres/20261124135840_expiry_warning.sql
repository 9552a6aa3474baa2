-- Modify "tasks" table
ALTER TABLE "tasks" ADD COLUMN "expiry_warned" boolean NOT NULL DEFAULT false;
