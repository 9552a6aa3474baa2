package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/customfield"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/process"
	"github.com/portico-dev/portico/ent/processstarter"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/mail"
	"github.com/portico-dev/portico/policy"
)

// ExpressProcess is the seed's Portal.Processes.ExpressProcesses model.
type ExpressProcess struct {
	ID                 string           `json:"id"`
	ProcessName        string           `json:"processName"`
	ProcessDescription string           `json:"processDescription"`
	ProcessType        string           `json:"processType"`
	ProcessPermissions []string         `json:"processPermissions"`
	ProcessOwner       string           `json:"processOwner"`
	ProcessFolder      string           `json:"processFolder"`
	ReadyToExecute     bool             `json:"readyToExecute"`
	ProcessCoOwners    []string         `json:"processCoOwners"`
	Icon               string           `json:"icon"`
	TaskDefinitions    []TaskDefinition `json:"taskDefinitions"`
	AbleToEdit         bool             `json:"ableToEdit"`
	UseDefaultUI       bool             `json:"useDefaultUI"`
	// Hide (Portico's addition to the model): the cases it starts and their tasks carry
	// the seed's HIDE property.
	Hide bool `json:"hide,omitempty"`
}

// TaskDefinition is one step of an express process.
type TaskDefinition struct {
	Type         string        `json:"type"`
	Responsibles []string      `json:"responsibles"`
	Subject      string        `json:"subject"`
	Description  string        `json:"description"`
	TaskPosition int           `json:"taskPosition"`
	UntilDays    int           `json:"untilDays"`
	FormElements []FormElement `json:"formElements"`
	Email        *Email        `json:"email,omitempty"`
}

// FormElement is one field of a step's form.
type FormElement struct {
	ElementID       string   `json:"elementID"`
	Label           string   `json:"label"`
	Required        bool     `json:"required"`
	IntSetting      int      `json:"intSetting"`
	ElementType     string   `json:"elementType"`
	OptionStrs      []string `json:"optionStrs"`
	ElementPosition string   `json:"elementPosition"`
	IndexInPanel    int      `json:"indexInPanel"`
}

// Email is an EMAIL step's message.
type Email struct {
	Recipients  string   `json:"recipients"`
	ResponseTo  string   `json:"responseTo"`
	Subject     string   `json:"subject"`
	Content     string   `json:"content"`
	Attachments []string `json:"attachments"`
	Empty       bool     `json:"empty"`
}

// Step types of express processes.
const (
	StepUserTask          = "USER_TASK"
	StepUserTaskWithEmail = "USER_TASK_WITH_EMAIL"
	StepApproval          = "APPROVAL"
	StepEmail             = "EMAIL"
)

// validate checks a definition and says what is wrong where.
func (p *ExpressProcess) validate() error {
	if len(p.ID) > 100 {
		return apperr.BadInput("id: %d characters; at most 100", len(p.ID))
	}
	if strings.TrimSpace(p.ProcessName) == "" {
		return apperr.BadInput("processName is empty")
	}
	if len(p.TaskDefinitions) == 0 {
		return apperr.BadInput("taskDefinitions is empty; an express process needs at least one step")
	}
	for i, d := range p.TaskDefinitions {
		where := fmt.Sprintf("taskDefinitions[%d]", i)
		if !slices.Contains([]string{StepUserTask, StepUserTaskWithEmail, StepApproval, StepEmail}, d.Type) {
			return apperr.BadInput("%s.type %q: use USER_TASK, USER_TASK_WITH_EMAIL, APPROVAL or EMAIL", where, d.Type)
		}
		if d.Type != StepEmail && len(d.Responsibles) == 0 {
			return apperr.BadInput("%s.responsibles is empty; a %s step needs someone to work it", where, d.Type)
		}
		if (d.Type == StepEmail || d.Type == StepUserTaskWithEmail) && d.Email == nil {
			return apperr.BadInput("%s.email is missing for an %s step", where, d.Type)
		}
		if d.UntilDays < 0 {
			return apperr.BadInput("%s.untilDays is negative", where)
		}
	}
	return nil
}

// CreateExpressProcess stores an express process; needs ExpressCreateWorkflow.
func (e *Engine) CreateExpressProcess(ctx context.Context, def ExpressProcess) (*ent.Process, error) {
	if _, err := e.policy.Require(ctx, policy.ExpressCreateWorkflow); err != nil {
		return nil, err
	}
	a, err := e.actor(ctx)
	if err != nil {
		return nil, err
	}
	if def.ID == "" {
		def.ID = newKey() // the seed's id: loading an export finds the process by it
	}
	var out *ent.Process
	err = e.write(ctx, func(ctx context.Context, c *ent.Client) ([]int, []int, error) {
		if err := checkDefinition(ctx, c, def); err != nil {
			return nil, nil, err
		}
		owner, err := ownerOf(ctx, c, a, def)
		if err != nil {
			return nil, nil, err
		}
		raw, _ := json.Marshal(def)
		q := c.Process.Create().SetName(def.ProcessName).SetDescription(def.ProcessDescription).SetIcon(def.Icon).
			SetKind(process.KindEXPRESS_PROCESS).SetPermissions(def.ProcessPermissions).
			SetReadyToExecute(def.ReadyToExecute).SetHideTasksAndCases(def.Hide).SetDefinition(raw).SetOwnerID(owner)
		q.SetKey(def.ID)
		out, err = q.Save(ctx)
		if ent.IsConstraintError(err) {
			return nil, nil, apperr.Conflict("an express process with id %q already exists", def.ID)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("create express process: %w", err)
		}
		return nil, nil, setStarters(ctx, c, out.ID, def.ProcessPermissions)
	})
	return out, err
}

// mayManage loads an express process the viewer may change: its owner, a co-owner
// (processCoOwners), or an administrator (TaskReadAll and CaseReadAll), as seed 001
// says; to edit it, ableToEdit must be true unless the viewer is an administrator.
func (e *Engine) mayManage(ctx context.Context, c *ent.Client, a actor, id int, edit bool) (*ent.Process, error) {
	p, err := c.Process.Get(policy.Elevate(ctx, policy.ReadProcessDefinition), id)
	if ent.IsNotFound(err) {
		return nil, apperr.NotFound("no process with id %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load process %d: %w", id, err)
	}
	if p.Kind != process.KindEXPRESS_PROCESS {
		if _, err := c.Process.Get(ctx, id); err != nil {
			return nil, apperr.NotFound("no process with id %d", id)
		}
		return nil, apperr.BadInput("process %q is not an express process", p.Name)
	}
	def, err := definition(p)
	if err != nil {
		return nil, err
	}
	admin := a.sub.Has(policy.TaskReadAll) && a.sub.Has(policy.CaseReadAll)
	owner := p.OwnerID != nil && *p.OwnerID == a.userID
	coOwner := slices.ContainsFunc(def.ProcessCoOwners, func(n string) bool { return memberName(n) == userName(ctx) })
	if !admin && !owner && !coOwner {
		if _, err := c.Process.Get(ctx, id); err != nil { // not even visible: do not reveal it
			return nil, apperr.NotFound("no process with id %d", id)
		}
		return nil, apperr.Forbidden("only the owner or a co-owner of process %q, or an administrator (TaskReadAll and CaseReadAll), may change it", p.Name)
	}
	if edit && !def.AbleToEdit && !admin {
		return nil, apperr.Forbidden("process %q is not editable (ableToEdit is false); an administrator may change it", p.Name)
	}
	return p, nil
}

// memberName is the user name of a "#name externalId:…" entry, "" for a role.
func memberName(entry string) string {
	n, ok := strings.CutPrefix(entry, "#")
	if !ok {
		return ""
	}
	n, _, _ = strings.Cut(n, " ")
	return n
}

// ownerOf is the owner a definition's processOwner names: the creator when empty; another
// user only when an administrator creates or changes it.
func ownerOf(ctx context.Context, c *ent.Client, a actor, def ExpressProcess) (int, error) {
	name := memberName(def.ProcessOwner)
	if strings.TrimSpace(def.ProcessOwner) == "" || name == userName(ctx) {
		return a.userID, nil
	}
	if name == "" {
		return 0, apperr.BadInput("processOwner %q: name a user as #name", def.ProcessOwner)
	}
	if !(a.sub.Has(policy.TaskReadAll) && a.sub.Has(policy.CaseReadAll)) {
		return 0, apperr.Forbidden("only an administrator (TaskReadAll and CaseReadAll) may make another user (%s) the owner of a process", name)
	}
	u, err := c.User.Query().Where(user.Name(name)).Only(policy.Elevate(ctx, policy.ReadBack))
	if ent.IsNotFound(err) {
		return 0, apperr.BadInput("processOwner %q: no such user", def.ProcessOwner)
	}
	if err != nil {
		return 0, fmt.Errorf("process owner %q: %w", name, err)
	}
	return u.ID, nil
}

// UpdateExpressProcess replaces an express process's definition; running cases keep the
// steps they were started with up to their current task.
func (e *Engine) UpdateExpressProcess(ctx context.Context, id int, def ExpressProcess) (*ent.Process, error) {
	a, err := e.actor(ctx)
	if err != nil {
		return nil, err
	}
	var out *ent.Process
	err = e.write(ctx, func(ctx context.Context, c *ent.Client) ([]int, []int, error) {
		p, err := e.mayManage(ctx, c, a, id, true)
		if err != nil {
			return nil, nil, err
		}
		if err := checkDefinition(ctx, c, def); err != nil {
			return nil, nil, err
		}
		owner := a.userID
		if p.OwnerID != nil {
			owner = *p.OwnerID
		}
		if def.ProcessOwner != "" {
			if owner, err = ownerOf(ctx, c, a, def); err != nil {
				return nil, nil, err
			}
		}
		if def.ID == "" && p.Key != "" {
			def.ID = p.Key
		}
		raw, _ := json.Marshal(def)
		out, err = p.Update().SetName(def.ProcessName).SetDescription(def.ProcessDescription).SetIcon(def.Icon).
			SetPermissions(def.ProcessPermissions).SetReadyToExecute(def.ReadyToExecute).SetHideTasksAndCases(def.Hide).SetDefinition(raw).SetOwnerID(owner).Save(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("update express process %d: %w", id, err)
		}
		if _, err := c.ProcessStarter.Delete().Where(processstarter.ProcessID(id)).Exec(ctx); err != nil {
			return nil, nil, err
		}
		return nil, nil, setStarters(ctx, c, id, def.ProcessPermissions)
	})
	return out, err
}

// DeleteExpressProcess deletes an express process; its cases stay, without a process.
func (e *Engine) DeleteExpressProcess(ctx context.Context, id int) error {
	a, err := e.actor(ctx)
	if err != nil {
		return err
	}
	return e.write(ctx, func(ctx context.Context, c *ent.Client) ([]int, []int, error) {
		if _, err := e.mayManage(ctx, c, a, id, false); err != nil {
			return nil, nil, err
		}
		return nil, nil, c.Process.DeleteOneID(id).Exec(ctx)
	})
}

// checkDefinition validates a definition and checks its roles and #users exist.
func checkDefinition(ctx context.Context, c *ent.Client, def ExpressProcess) error {
	if err := def.validate(); err != nil {
		return err
	}
	if _, err := resolveResponsibles(ctx, c, def.ProcessPermissions); err != nil {
		return apperr.BadInput("processPermissions: %v", err)
	}
	for i, d := range def.TaskDefinitions {
		if _, err := resolveResponsibles(ctx, c, d.Responsibles); err != nil {
			return apperr.BadInput("taskDefinitions[%d].responsibles: %v", i, err)
		}
	}
	return nil
}

// setStarters stores who may start a process: the listed roles and #users, Everybody
// when the list is empty.
func setStarters(ctx context.Context, c *ent.Client, processID int, perms []string) error {
	if len(perms) == 0 {
		perms = []string{policy.EverybodyName}
	}
	rs, err := resolveResponsibles(ctx, c, perms)
	if err != nil {
		return err
	}
	bulk := make([]*ent.ProcessStarterCreate, 0, len(rs.users)+len(rs.roles))
	for _, u := range rs.users {
		bulk = append(bulk, c.ProcessStarter.Create().SetProcessID(processID).SetUserID(u))
	}
	for _, r := range rs.roles {
		bulk = append(bulk, c.ProcessStarter.Create().SetProcessID(processID).SetRoleID(r))
	}
	return c.ProcessStarter.CreateBulk(bulk...).Exec(ctx)
}

type members struct{ users, roles []int }

// assignNew gives a task just created its responsibles, resolved from their names
// already: unlike setResponsibles it has none to clear and no ids to check again, and
// it gives each row the task's flags, which the hook would read back from the task.
// Three round trips fewer for every task a process step creates.
func assignNew(ctx context.Context, c *ent.Client, t *ent.Task, rs members) error {
	users, roles := uniq(rs.users), uniq(rs.roles)
	bulk := make([]*ent.TaskResponsibleCreate, 0, len(users)+len(roles))
	row := func() *ent.TaskResponsibleCreate {
		return c.TaskResponsible.Create().SetTaskID(t.ID).SetExpiry(false).
			SetDelayed(t.State == task.StateDELAYED).SetSystem(t.System).SetTaskCreatedAt(t.CreatedAt)
	}
	for _, u := range users {
		bulk = append(bulk, row().SetUserID(u))
	}
	for _, r := range roles {
		bulk = append(bulk, row().SetRoleID(r))
	}
	if len(bulk) == 0 {
		return nil
	}
	if err := c.TaskResponsible.CreateBulk(bulk...).Exec(context.WithValue(ctx, flagsGiven{}, true)); err != nil {
		return fmt.Errorf("set responsibles of task %d: %w", t.ID, err)
	}
	return nil
}

// resolveResponsibles turns role names and #user names into ids.
func resolveResponsibles(ctx context.Context, c *ent.Client, names []string) (members, error) {
	var m members
	for _, n := range names {
		if un, ok := strings.CutPrefix(n, "#"); ok {
			un, _, _ = strings.Cut(un, " ") // the seed writes "#name externalId:…"
			id, err := c.User.Query().Where(user.Name(un)).OnlyID(ctx)
			if err != nil {
				return m, apperr.BadInput("unknown user %q", n)
			}
			m.users = append(m.users, id)
			continue
		}
		id, err := c.Role.Query().Where(role.Name(n)).OnlyID(ctx)
		if err != nil {
			return m, apperr.BadInput("unknown role %q", n)
		}
		m.roles = append(m.roles, id)
	}
	return m, nil
}

// StartProcess starts a process the viewer may start: a RUNNING case and its first
// step's tasks. It returns the case and the first task created.
// Start is what startProcess may give besides the process: the case's name (the
// process's by default) and start data, kept as the case's custom fields.
type Start struct {
	CaseName string
	Data     map[string]any
}

// validate checks the start and returns its data as custom fields are stored
// (customfield's rule: texts, numbers and dates).
func (st Start) validate() (map[string]any, error) {
	if n := utf8.RuneCountInString(st.CaseName); n > 500 {
		return nil, apperr.BadInput("caseName: %d characters; at most 500", n)
	}
	if len(st.Data) == 0 {
		return nil, nil
	}
	return customfield.Check("data", st.Data, false)
}

func (e *Engine) StartProcess(ctx context.Context, processID int, start Start) (*ent.BusinessCase, *ent.Task, error) {
	data, err := start.validate()
	if err != nil {
		return nil, nil, err
	}
	a, err := e.actor(ctx)
	if err != nil {
		return nil, nil, err
	}
	var cs *ent.BusinessCase
	var first *ent.Task
	err = e.write(ctx, func(ctx context.Context, c *ent.Client) ([]int, []int, error) {
		p, err := c.Process.Get(ctx, processID) // the process interceptor hides what the viewer may not start
		if ent.IsNotFound(err) {
			return nil, nil, apperr.NotFound("no process with id %d that you may start", processID)
		}
		if err != nil {
			return nil, nil, err
		}
		def, err := definition(p)
		if err != nil {
			return nil, nil, err
		}
		if !p.ReadyToExecute {
			return nil, nil, apperr.Conflict("process %q is not ready to execute", p.Name)
		}
		name := strings.TrimSpace(start.CaseName)
		if name == "" {
			name = p.Name
		}
		q := c.BusinessCase.Create().SetName(name).SetDescription(p.Description).SetCategory(p.Category).
			SetState(businesscase.StateRUNNING).SetProcessID(p.ID).SetCreatorID(a.userID).SetOwnerID(a.userID).
			SetHidden(p.HideTasksAndCases).SetPortalCreated(true) // express processes are the portal's own
		if len(data) > 0 {
			q.SetCustomFields(data)
		}
		cs, err = q.Save(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("create case: %w", err)
		}
		tasks, err := e.advance(ctx, c, cs, def, 0)
		if err != nil {
			return nil, nil, err
		}
		ids := make([]int, len(tasks))
		for i, t := range tasks {
			ids[i] = t.ID
		}
		if len(tasks) > 0 {
			first = tasks[0]
		}
		cs, err = c.BusinessCase.Get(policy.Elevate(ctx, policy.ReadBack), cs.ID)
		return ids, []int{cs.ID}, err
	})
	return cs, first, err
}

func definition(p *ent.Process) (*ExpressProcess, error) {
	var def ExpressProcess
	if p.Kind != process.KindEXPRESS_PROCESS || len(p.Definition) == 0 {
		return nil, apperr.BadInput("process %q is not an express process; it cannot be started here", p.Name)
	}
	if err := json.Unmarshal(p.Definition, &def); err != nil {
		return nil, fmt.Errorf("stored definition of process %d: %w", p.ID, err)
	}
	slices.SortStableFunc(def.TaskDefinitions, func(a, b TaskDefinition) int { return a.TaskPosition - b.TaskPosition })
	return &def, nil
}

// advance creates the tasks of the first step positioned after `after`. EMAIL steps are
// sent (logged when no SMTP is set) and passed at once; with no step left the case is DONE.
func (e *Engine) advance(ctx context.Context, c *ent.Client, cs *ent.BusinessCase, def *ExpressProcess, after int) ([]*ent.Task, error) {
	for _, d := range def.TaskDefinitions {
		if d.TaskPosition <= after {
			continue
		}
		if d.Type == StepEmail {
			e.sendAfterCommit(ctx, cs.ID, *d.Email)
			after = d.TaskPosition
			continue
		}
		t, err := e.createTask(ctx, c, cs, d)
		if err != nil {
			return nil, err
		}
		if d.Type == StepUserTaskWithEmail {
			e.sendAfterCommit(ctx, cs.ID, *d.Email) // the task and its message, as seed 001's step says
		}
		return []*ent.Task{t}, nil
	}
	now := e.now()
	if err := c.BusinessCase.UpdateOneID(cs.ID).SetState(businesscase.StateDONE).SetEndedAt(now).Exec(ctx); err != nil {
		return nil, fmt.Errorf("finish case %d: %w", cs.ID, err)
	}
	return nil, nil
}

// sendAfterCommit sends an EMAIL step's message once the case's transaction commits (a
// rolled-back step sends nothing), or logs it when no SMTP server is configured.
func (e *Engine) sendAfterCommit(ctx context.Context, caseID int, m Email) {
	if e.Mailer == nil {
		e.log.InfoContext(ctx, "express email step (no SMTP configured; logged only)",
			"case", caseID, "to", m.Recipients, "subject", m.Subject)
		return
	}
	to := mail.Recipients(m.Recipients)
	database.AfterCommit(ent.TxFromContext(ctx), func() {
		go func() {
			sendCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := e.Mailer.Send(sendCtx, to, m.ResponseTo, m.Subject, m.Content); err != nil {
				e.log.Error("express email step not sent", "case", caseID, "err", err)
				return
			}
			e.log.Info("express email step sent", "case", caseID, "to", to)
		}()
	})
}

func (e *Engine) createTask(ctx context.Context, c *ent.Client, cs *ent.BusinessCase, d TaskDefinition) (*ent.Task, error) {
	q := c.Task.Create().SetName(d.Subject).SetDescription(d.Description).SetKind(d.Type).SetPosition(d.TaskPosition).
		SetCaseID(cs.ID).SetCategory(cs.Category).SetState(task.StateSUSPENDED).SetNillableCreatorID(cs.CreatorID).
		SetHidden(cs.Hidden)
	if d.UntilDays > 0 {
		q.SetExpiryTimestamp(e.now().Add(time.Duration(d.UntilDays) * 24 * time.Hour))
	}
	t, err := q.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create task %q: %w", d.Subject, err)
	}
	rs, err := resolveResponsibles(ctx, c, d.Responsibles)
	if err != nil {
		return nil, err
	}
	if err := assignNew(ctx, c, t, rs); err != nil {
		return nil, err
	}
	e.afterAssign(ctx, AssignedNew, t.ID)
	return t, event(ctx, c, 0, t, "CREATED", "", task.StateSUSPENDED, nil)
}

// Complete finishes the viewer's RESUMED task with form data, checked against the step's
// form; the case moves on to its next step. An APPROVAL step needs data.approved
// (true or false); a rejection ends the case.
func (e *Engine) Complete(ctx context.Context, id int, data map[string]any) (*ent.Task, *ent.BusinessCase, error) {
	var out *ent.Task
	var cs *ent.BusinessCase
	err := e.onTask(ctx, id, policy.TaskComplete, func(ctx context.Context, c *ent.Client, a actor, t *ent.Task, f policy.TaskFacts) ([]int, []int, error) {
		var err error
		cs, err = c.BusinessCase.Get(policy.Elevate(ctx, policy.ReadBack), t.CaseID)
		if err != nil {
			return nil, nil, err
		}
		step, def, err := stepOf(ctx, c, cs, t)
		if err != nil {
			return nil, nil, err
		}
		if err := checkForm(step, data); err != nil {
			return nil, nil, err
		}
		now := e.now()
		n, err := c.Task.Update().Where(task.ID(t.ID), task.StateEQ(task.StateRESUMED)).
			SetState(task.StateDONE).SetEndedAt(now).SetData(data).Save(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("complete task %d: %w", t.ID, err)
		}
		if n == 0 {
			return nil, nil, apperr.Conflict("task %d changed while you completed it; reload it", t.ID)
		}
		if err := event(ctx, c, a.userID, t, "COMPLETED", t.State, task.StateDONE, nil); err != nil {
			return nil, nil, err
		}
		if step.Type == StepApproval {
			if err := recordDecision(ctx, c, a, t, data); err != nil {
				return nil, nil, err
			}
		}
		if err := e.applyFormFields(ctx, c, t, cs, formFields(step, data)); err != nil {
			return nil, nil, err
		}
		ids := []int{t.ID}
		if def != nil {
			if step.Type == StepApproval && data["approved"] == false {
				err = c.BusinessCase.UpdateOneID(cs.ID).SetState(businesscase.StateDONE).SetEndedAt(now).Exec(ctx)
			} else {
				var next []*ent.Task
				next, err = e.advance(ctx, c, cs, def, t.Position)
				for _, nt := range next {
					ids = append(ids, nt.ID)
				}
			}
			if err != nil {
				return nil, nil, err
			}
		}
		if out, err = c.Task.Get(policy.Elevate(ctx, policy.ReadBack), t.ID); err != nil {
			return nil, nil, err
		}
		cs, err = c.BusinessCase.Get(policy.Elevate(ctx, policy.ReadBack), cs.ID)
		return ids, []int{cs.ID}, err
	})
	return out, cs, err
}

// stepOf finds the express step a task was created from (nil definition for tasks of
// other processes, which complete without moving anything on).
func stepOf(ctx context.Context, c *ent.Client, cs *ent.BusinessCase, t *ent.Task) (TaskDefinition, *ExpressProcess, error) {
	if cs.ProcessID == nil {
		return TaskDefinition{}, nil, nil
	}
	p, err := c.Process.Get(policy.Elevate(ctx, policy.ReadProcessDefinition), *cs.ProcessID)
	if err != nil || p.Kind != process.KindEXPRESS_PROCESS || len(p.Definition) == 0 {
		return TaskDefinition{}, nil, nil
	}
	def, err := definition(p)
	if err != nil {
		return TaskDefinition{}, nil, err
	}
	for _, d := range def.TaskDefinitions {
		if d.TaskPosition == t.Position {
			return d, def, nil
		}
	}
	return TaskDefinition{}, nil, nil
}
