package workflow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/process"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
)

// The variable Portal.Processes.ExpressProcesses (seed 001) holds the standard express
// processes in the seed's model. Setting it loads them (LoadExpressProcesses); reading it
// gives the current ones (ExportExpressProcesses), so an export loads back unchanged.

// Validate checks a definition's shape (not that its roles and users exist, which
// loading checks) and says what is wrong where.
func (p *ExpressProcess) Validate() error { return p.validate() }

// LoadExpressProcesses creates or updates each process in one transaction (the
// request's): an entry whose id is the id (key) of an express process updates it, as
// updateExpressProcess would (its owner, a co-owner or an administrator); any other
// entry creates one, as createExpressProcess would (ExpressCreateWorkflow). Processes
// not listed stay. Any error refuses the whole load and names the entry.
func (e *Engine) LoadExpressProcesses(ctx context.Context, defs []ExpressProcess) error {
	if policy.IsSystem(ctx) {
		return apperr.BadInput("express processes are loaded by a user (setVariable or importVariables over GraphQL): each needs an owner")
	}
	return e.write(ctx, func(ctx context.Context, c *ent.Client) ([]int, []int, error) {
		for i, def := range defs {
			var err error
			existing := 0
			if def.ID != "" {
				p, qerr := c.Process.Query().Where(process.Key(def.ID)).Only(policy.Elevate(ctx, policy.ReadProcessDefinition))
				switch {
				case ent.IsNotFound(qerr):
				case qerr != nil:
					return nil, nil, fmt.Errorf("express process %q: %w", def.ID, qerr)
				case p.Kind != process.KindEXPRESS_PROCESS:
					return nil, nil, apperr.BadInput("[%d]: id %q is a process of kind %s, not an express process", i, def.ID, p.Kind)
				default:
					existing = p.ID
				}
			}
			if existing != 0 {
				_, err = e.UpdateExpressProcess(ctx, existing, def)
			} else {
				_, err = e.CreateExpressProcess(ctx, def)
			}
			if err != nil {
				return nil, nil, entryError(i, def, err)
			}
		}
		return nil, nil, nil
	})
}

// entryError names the entry in an apperr error, keeping its code.
func entryError(i int, def ExpressProcess, err error) error {
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		return err
	}
	out := *ae
	out.Message = fmt.Sprintf("[%d] (%q): %s", i, def.ProcessName, ae.Message)
	return &out
}

// ExportExpressProcesses returns every express process in the seed's model, by id: its
// stored definition with the current id (key), owner (#name), permissions and readiness.
// The caller has checked the reader may see them all (the variable's permission).
func (e *Engine) ExportExpressProcesses(ctx context.Context) ([]ExpressProcess, error) {
	c := ent.FromContext(ctx)
	if c == nil {
		c = e.client
	}
	ps, err := c.Process.Query().Where(process.KindEQ(process.KindEXPRESS_PROCESS)).Order(ent.Asc(process.FieldID)).
		All(policy.Elevate(ctx, policy.ReadProcessDefinition))
	if err != nil {
		return nil, fmt.Errorf("read express processes: %w", err)
	}
	var ownerIDs []int
	for _, p := range ps {
		if p.OwnerID != nil {
			ownerIDs = append(ownerIDs, *p.OwnerID)
		}
	}
	owners := map[int]string{}
	if len(ownerIDs) > 0 {
		us, err := c.User.Query().Where(user.IDIn(ownerIDs...)).Select(user.FieldName).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("owners of express processes: %w", err)
		}
		for _, u := range us {
			owners[u.ID] = u.Name
		}
	}
	out := make([]ExpressProcess, 0, len(ps))
	for _, p := range ps {
		var def ExpressProcess
		if len(p.Definition) > 0 {
			if err := json.Unmarshal(p.Definition, &def); err != nil {
				return nil, fmt.Errorf("stored definition of process %d: %w", p.ID, err)
			}
		}
		def.ID, def.ProcessName, def.ProcessDescription, def.Icon = p.Key, p.Name, p.Description, p.Icon
		def.ProcessPermissions, def.ReadyToExecute = p.Permissions, p.ReadyToExecute
		def.ProcessOwner = ""
		if p.OwnerID != nil && owners[*p.OwnerID] != "" {
			def.ProcessOwner = "#" + owners[*p.OwnerID]
		}
		def.ProcessCoOwners, def.ProcessPermissions = nonNil(def.ProcessCoOwners), nonNil(def.ProcessPermissions)
		if def.TaskDefinitions == nil {
			def.TaskDefinitions = []TaskDefinition{}
		}
		out = append(out, def)
	}
	slices.SortStableFunc(out, func(a, b ExpressProcess) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// newKey is the id of an express process created without one: 32 hex digits, as the
// seed's UUIDs are written.
func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
