-- Create index "workflowevent_user_id_kind" to table: "workflow_events"
CREATE INDEX "workflowevent_user_id_kind" ON "workflow_events" ("user_id", "kind");
