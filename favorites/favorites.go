// Package favorites keeps each user's favorite processes, in its order. Only processes
// the user may see can be favorites; reads go through the process visibility rules.
package favorites

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/favoriteprocess"
	"github.com/portico-dev/portico/ent/process"
	"github.com/portico-dev/portico/paging"
	"github.com/portico-dev/portico/policy"
)

// Service manages favorites.
type Service struct {
	client *ent.Client
	policy *policy.Policy
}

// New returns the favorites service.
func New(client *ent.Client, p *policy.Policy) *Service { return &Service{client: client, policy: p} }

// List returns the viewer's favorite processes that it may still see, in its order.
func (s *Service) List(ctx context.Context) ([]*ent.Process, error) {
	out, _, err := s.ordered(ctx)
	return out, err
}

// PageWidth is the number of parts of a favorite cursor's key.
const PageWidth = 2

// Page pages List; a favorite's key is its place in the viewer's order (position, then
// the favorite's id). Only the viewer's own favorites count (the FavoriteProcess read
// rule), and only processes it may still see.
func (s *Service) Page(ctx context.Context, args paging.Args) (*paging.Page[*ent.Process], error) {
	all, key, err := s.ordered(ctx)
	if err != nil {
		return nil, err
	}
	return paging.Slice(all, key, PageWidth, args)
}

// ordered returns the viewer's favorite processes it may still see, in its order, and
// their keys in it.
func (s *Service) ordered(ctx context.Context) ([]*ent.Process, func(*ent.Process) paging.Key, error) {
	sub, err := s.policy.SubjectFrom(ctx)
	if err != nil {
		return nil, nil, err
	}
	favs, err := database.Reader(ctx, s.client).FavoriteProcess.Query().Where(favoriteprocess.UserID(sub.UserID)).
		Order(ent.Asc(favoriteprocess.FieldPosition), ent.Asc(favoriteprocess.FieldID)).All(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("favorites: %w", err)
	}
	ids := make([]int, len(favs))
	keys := make(map[int]paging.Key, len(favs))
	for i, f := range favs {
		ids[i] = f.ProcessID
		keys[f.ProcessID] = paging.Key{int64(f.Position), int64(f.ID)}
	}
	// The viewer's context: processes it can no longer see drop out.
	procs, err := s.client.Process.Query().Where(process.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("favorite processes: %w", err)
	}
	byID := map[int]*ent.Process{}
	for _, p := range procs {
		byID[p.ID] = p
	}
	out := make([]*ent.Process, 0, len(procs))
	for _, id := range ids {
		if p, ok := byID[id]; ok {
			out = append(out, p)
		}
	}
	return out, func(p *ent.Process) paging.Key { return keys[p.ID] }, nil
}

// Add makes a process the viewer sees its favorite, at the end of its order.
func (s *Service) Add(ctx context.Context, processID int) ([]*ent.Process, error) {
	sub, err := s.policy.SubjectFrom(ctx)
	if err != nil {
		return nil, err
	}
	if n, err := s.client.Process.Query().Where(process.ID(processID)).Count(ctx); err != nil || n == 0 {
		if err != nil {
			return nil, err
		}
		return nil, apperr.NotFound("no process %d that you may start", processID)
	}
	err = database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		n, err := tx.FavoriteProcess.Query().Where(favoriteprocess.UserID(sub.UserID)).Count(ctx)
		if err != nil {
			return err
		}
		err = tx.FavoriteProcess.Create().SetUserID(sub.UserID).SetProcessID(processID).SetPosition(n).
			OnConflictColumns(favoriteprocess.FieldUserID, favoriteprocess.FieldProcessID).DoNothing().Exec(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // a favorite already
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("add favorite: %w", err)
	}
	return s.List(ctx)
}

// Remove drops a process from the viewer's favorites.
func (s *Service) Remove(ctx context.Context, processID int) ([]*ent.Process, error) {
	sub, err := s.policy.SubjectFrom(ctx)
	if err != nil {
		return nil, err
	}
	err = database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		_, err := tx.FavoriteProcess.Delete().Where(favoriteprocess.UserID(sub.UserID), favoriteprocess.ProcessID(processID)).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("remove favorite: %w", err)
	}
	return s.List(ctx)
}

// Reorder puts the viewer's favorites in the order of processIDs (each must be one).
func (s *Service) Reorder(ctx context.Context, processIDs []int) ([]*ent.Process, error) {
	sub, err := s.policy.SubjectFrom(ctx)
	if err != nil {
		return nil, err
	}
	err = database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		for i, id := range processIDs {
			n, err := tx.FavoriteProcess.Update().Where(favoriteprocess.UserID(sub.UserID), favoriteprocess.ProcessID(id)).
				SetPosition(i).Save(ctx)
			if err != nil {
				return err
			}
			if n == 0 {
				return apperr.BadInput("process %d is not among your favorites", id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.List(ctx)
}
