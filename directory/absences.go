package directory

import (
	"context"
	"fmt"
	"time"

	"entgo.io/contrib/entgql"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/absence"
	"github.com/portico-dev/portico/ent/substitute"
	"github.com/portico-dev/portico/policy"
)

// ownOrAll picks the permission for acting on userID's absences or substitutes: the
// Own one for oneself, the general one for anyone else.
func ownOrAll(ctx context.Context, userID int, own, all policy.Permission) policy.Permission {
	if userID == viewerID(ctx) {
		return own
	}
	return all
}

// Absences lists a user's absences, newest first.
func (d *Directory) Absences(ctx context.Context, userID int) ([]*ent.Absence, error) {
	if _, err := d.policy.Require(ctx, ownOrAll(ctx, userID, policy.UserReadOwnAbsences, policy.UserReadAbsences)); err != nil {
		return nil, err
	}
	return d.client.Absence.Query().Where(absence.UserID(userID)).Order(ent.Desc(absence.FieldFrom)).All(ctx)
}

// CreateAbsence records that a user is away from from until until.
func (d *Directory) CreateAbsence(ctx context.Context, userID int, from, until time.Time, comment string) (*ent.Absence, error) {
	var out *ent.Absence
	err := d.write(ctx, ownOrAll(ctx, userID, policy.UserCreateOwnAbsence, policy.UserCreateAbsence), func(ctx context.Context, c *ent.Client) ([]policy.Change, error) {
		if !until.After(from) {
			return nil, apperr.BadInput("until (%s) must be after from (%s)", until.Format(time.RFC3339), from.Format(time.RFC3339))
		}
		if _, err := getUser(ctx, c, userID); err != nil {
			return nil, err
		}
		var err error
		out, err = c.Absence.Create().SetUserID(userID).SetFrom(from.UTC()).SetUntil(until.UTC()).SetComment(comment).Save(ctx)
		return nil, err
	})
	return out, err
}

// DeleteAbsence deletes an absence.
func (d *Directory) DeleteAbsence(ctx context.Context, id int) error {
	a, err := d.client.Absence.Get(ctx, id)
	if ent.IsNotFound(err) {
		return apperr.NotFound("no absence with id %d", id)
	}
	if err != nil {
		return fmt.Errorf("load absence %d: %w", id, err)
	}
	return d.write(ctx, ownOrAll(ctx, a.UserID, policy.UserDeleteOwnAbsence, policy.UserDeleteAbsence), func(ctx context.Context, c *ent.Client) ([]policy.Change, error) {
		return nil, c.Absence.DeleteOneID(id).Exec(ctx)
	})
}

// Substitutes lists who stands in for a user.
func (d *Directory) Substitutes(ctx context.Context, userID int) ([]*ent.Substitute, error) {
	if err := d.maySeeSubstitutes(ctx, userID); err != nil {
		return nil, err
	}
	return d.client.Substitute.Query().Where(substitute.UserID(userID)).All(ctx)
}

// maySeeSubstitutes: one's own substitutes, or anyone's with UserReadSubstitutes.
func (d *Directory) maySeeSubstitutes(ctx context.Context, userID int) error {
	if userID != viewerID(ctx) {
		_, err := d.policy.Require(ctx, policy.UserReadSubstitutes)
		return err
	} else if _, err := d.policy.SubjectFrom(ctx); err != nil && !policy.IsSystem(ctx) {
		return err
	}
	return nil
}

// CreateSubstitute lets substituteID work userID's personal tasks (roleID nil) or the
// tasks of one of userID's roles, permanently or only while userID is absent.
func (d *Directory) CreateSubstitute(ctx context.Context, userID, substituteID int, roleID *int, permanent bool) (*ent.Substitute, error) {
	var out *ent.Substitute
	err := d.write(ctx, ownOrAll(ctx, userID, policy.UserCreateOwnSubstitute, policy.UserCreateSubstitute), func(ctx context.Context, c *ent.Client) ([]policy.Change, error) {
		if userID == substituteID {
			return nil, apperr.BadInput("a user cannot substitute themselves")
		}
		u, err := getUser(ctx, c, userID)
		if err != nil {
			return nil, err
		}
		if _, err := getUser(ctx, c, substituteID); err != nil {
			return nil, err
		}
		if roleID != nil {
			has, err := u.QueryRoles().Exist(ctx)
			if err != nil {
				return nil, err
			}
			if !has || !d.policy.Reaches(policy.UserSubject(userID), policy.RoleSubject(*roleID)) {
				return nil, apperr.BadInput("user %s does not have role %d, so nobody can substitute them in it", u.Name, *roleID)
			}
		}
		out, err = c.Substitute.Create().SetUserID(userID).SetSubstituteID(substituteID).
			SetNillableRoleID(roleID).SetPermanent(permanent).Save(ctx)
		return nil, err
	})
	return out, err
}

// DeleteSubstitute ends a substitution.
func (d *Directory) DeleteSubstitute(ctx context.Context, id int) error {
	s, err := d.client.Substitute.Get(ctx, id)
	if ent.IsNotFound(err) {
		return apperr.NotFound("no substitute with id %d", id)
	}
	if err != nil {
		return fmt.Errorf("load substitute %d: %w", id, err)
	}
	return d.write(ctx, ownOrAll(ctx, s.UserID, policy.UserCreateOwnSubstitute, policy.UserCreateSubstitute), func(ctx context.Context, c *ent.Client) ([]policy.Change, error) {
		return nil, c.Substitute.DeleteOneID(id).Exec(ctx)
	})
}

// AbsencesPage pages a user's absences, newest first, under the same permissions as
// Absences.
func (d *Directory) AbsencesPage(ctx context.Context, userID int, after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int) (*ent.AbsenceConnection, error) {
	if _, err := d.policy.Require(ctx, ownOrAll(ctx, userID, policy.UserReadOwnAbsences, policy.UserReadAbsences)); err != nil {
		return nil, err
	}
	return d.client.Absence.Query().Where(absence.UserID(userID)).Paginate(ctx, after, first, before, last,
		ent.WithAbsenceOrder(&ent.AbsenceOrder{Field: ent.AbsenceOrderFieldFrom, Direction: entgql.OrderDirectionDesc}))
}

// SubstitutesPage pages a user's substitutes in the order they were made, under the
// same permissions as Substitutes.
func (d *Directory) SubstitutesPage(ctx context.Context, userID int, after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int) (*ent.SubstituteConnection, error) {
	if err := d.maySeeSubstitutes(ctx, userID); err != nil {
		return nil, err
	}
	return d.client.Substitute.Query().Where(substitute.UserID(userID)).Paginate(ctx, after, first, before, last)
}
