package listindex

import (
	"slices"

	"github.com/RoaringBitmap/roaring/v2"
)

// TaskReach is what of one task decides who may see it: the sources of visibility it is
// posted in (postTask), and the users involved in its case. Package policy says which
// sources reach a viewer; a live event's audience is every viewer one of them reaches.
type TaskReach struct {
	ID     int
	Roles  []int // current responsible roles while not DELAYED (byRole)
	Users  []int // current responsible users while not DELAYED (byUser)
	Worker int   // 0: none (byWorker)
	CaseID int
	// Involved are the users involved in its case: created or own it, work or started
	// one of its tasks (CaseView.Involved, turned around).
	Involved []int
	System   bool
	Hidden   bool
	// Responsibles are all its responsibles, expiry ones and those of a DELAYED task
	// included (for assignment notifications, not for visibility).
	Responsibles []Responsible
}

// CaseReach is what of one case decides who may see it: the users involved in it and
// the reach of each of its tasks.
type CaseReach struct {
	ID       int
	Hidden   bool
	Involved []int
	Tasks    []TaskReach
}

// responsibleSources returns the roles and users a task is posted under (byRole, byUser):
// its current responsibles, none while it is DELAYED.
func (ix *Index) responsibleSources(r *TaskRow) (roles, users []int) {
	st := &ix.tasks.st
	if st.words[r.state] == "DELAYED" {
		return nil, nil
	}
	st.responsibles(r.resp, func(rs Responsible) {
		switch {
		case rs.Expiry:
		case rs.RoleID != 0:
			roles = append(roles, rs.RoleID)
		case rs.UserID != 0:
			users = append(users, rs.UserID)
		}
	})
	return roles, users
}

// TaskReach returns the reach of a task, false when the index does not hold it.
func (ix *Index) TaskReach(id int) (TaskReach, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	r, _, ok := ix.tasks.row(id)
	if !ok {
		return TaskReach{}, false
	}
	return ix.taskReach(r), true
}

// CaseReach returns the reach of a case, false when the index does not hold it.
func (ix *Index) CaseReach(id int) (CaseReach, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	c, _, ok := ix.cases.row(id)
	if !ok {
		return CaseReach{}, false
	}
	out := CaseReach{ID: id, Hidden: c.Hidden, Involved: ix.involvedIn(id)}
	if tasks := ix.ofCase(id); tasks != nil {
		tasks.Iterate(func(s uint32) bool {
			out.Tasks = append(out.Tasks, ix.taskReach(&ix.tasks.rows[s]))
			return true
		})
	}
	return out, true
}

// taskReach builds a task's reach (the caller holds the lock).
func (ix *Index) taskReach(r *TaskRow) TaskReach {
	roles, users := ix.responsibleSources(r)
	var all []Responsible
	ix.tasks.st.responsibles(r.resp, func(rs Responsible) { all = append(all, rs) })
	return TaskReach{ID: r.ID, Roles: roles, Users: users, Worker: r.WorkerID, CaseID: r.CaseID,
		Involved: ix.involvedIn(r.CaseID), System: r.System, Hidden: r.Hidden, Responsibles: all}
}

// involvedIn returns the users involved in a case: CaseView.Involved turned around
// (creator, owner, starters, and the workers of its tasks). The caller holds the lock.
func (ix *Index) involvedIn(caseID int) []int {
	var users []int
	if c, _, ok := ix.cases.row(caseID); ok {
		users = append(users, c.CreatorID, c.OwnerID)
	}
	users = append(users, ix.starters[caseID]...)
	if tasks := ix.ofCase(caseID); tasks != nil {
		tasks.Iterate(func(s uint32) bool {
			users = append(users, ix.tasks.rows[s].WorkerID)
			return true
		})
	}
	slices.Sort(users)
	users = slices.Compact(users)
	return slices.DeleteFunc(users, func(u int) bool { return u == 0 })
}

// TaskMatches reports whether where is true for the task (false when the index does not
// hold it): a live subscription's filter, evaluated on the event's row in memory.
func (ix *Index) TaskMatches(where *Cond[TaskRow], id int) (bool, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	_, s, ok := ix.tasks.row(id)
	if !ok {
		return false, nil
	}
	one := roaring.BitmapOf(s)
	rows, err := ix.tasks.eval(ix, where, one, false)
	if err != nil {
		return false, err
	}
	return rows.Contains(s), nil
}
