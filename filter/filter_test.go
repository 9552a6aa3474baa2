package filter_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

func TestTaskFilters(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		ctx := policy.SystemContext(context.Background())
		c := srv.DB.Client
		dev := c.Role.Query().Where(role.Name("Development")).OnlyIDX(ctx)
		plan := c.Task.Query().Where(task.Name("Plan handover")).OnlyX(ctx)
		c.Task.UpdateOne(plan).SetCustomFields(map[string]any{"costCenter": "CC-7"}).SetState(task.StateRESUMED).ExecX(ctx)
		admin := srv.Login(t, "admin", "admin")
		tests := []struct {
			name  string
			where string
			want  int
		}{
			{"no filter", `{}`, 3},
			{"business state OPEN", `{businessState: [OPEN]}`, 2},
			{"business state IN_PROGRESS", `{businessState: [IN_PROGRESS]}`, 1},
			{"business states OPEN or DONE", `{businessState: [OPEN, DONE]}`, 2},
			{"text ignores case", `{text: "LEAVE"}`, 1},
			{"text matches nothing", `{text: "zebra"}`, 0},
			{"responsible role", fmt.Sprintf(`{responsibleRoleIds: ["%d"]}`, dev), 1},
			{"custom field equals", `{customFields: [{name: "costCenter", equals: "CC-7"}]}`, 1},
			{"custom field differs", `{customFields: [{name: "costCenter", equals: "CC-8"}]}`, 0},
			{"generated filter combined", `{priority: HIGH, businessState: [OPEN]}`, 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var out struct{ Tasks struct{ TotalCount int } }
				admin.MustDo(t, `{ tasks(where: `+tt.where+`) { totalCount } }`, nil, &out)
				if out.Tasks.TotalCount != tt.want {
					t.Fatalf("totalCount %d, want %d", out.Tasks.TotalCount, tt.want)
				}
			})
		}
	})
}
