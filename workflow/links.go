package workflow

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/process"
	"github.com/portico-dev/portico/policy"
)

// ExternalLink is a link in the process list (seed 001): the creator's own, or, public,
// everybody's (CreatePublicExternalLink). Users start it by opening it, and add it to
// their favorites like any process.
type ExternalLink struct {
	Name, Link, Description, Icon, Category string
	Public                                  bool
}

func (l ExternalLink) validate() error {
	switch n := utf8.RuneCountInString(strings.TrimSpace(l.Name)); {
	case n == 0:
		return apperr.BadInput("name: give the link a name")
	case n > 500:
		return apperr.BadInput("name: %d characters; at most 500", n)
	}
	if len(l.Link) > 2000 {
		return apperr.BadInput("link: %d bytes; at most 2000", len(l.Link))
	}
	u, err := url.Parse(l.Link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return apperr.BadInput("link: %q is no http or https address (for example https://example.com/page)", l.Link)
	}
	if len(l.Description) > 10000 || len(l.Icon) > 200 || len(l.Category) > 200 {
		return apperr.BadInput("description (10,000), icon (200) or category (200) is too long")
	}
	return nil
}

// CreateExternalLink adds an external link to the process list.
func (e *Engine) CreateExternalLink(ctx context.Context, l ExternalLink) (*ent.Process, error) {
	if err := l.validate(); err != nil {
		return nil, err
	}
	a, err := e.actor(ctx)
	if err != nil {
		return nil, err
	}
	if l.Public && !a.sub.Has(policy.CreatePublicExternalLink) {
		return nil, apperr.Forbidden("a public external link needs %s; without it, create a private one", policy.CreatePublicExternalLink)
	}
	var out *ent.Process
	err = e.write(ctx, func(ctx context.Context, c *ent.Client) ([]int, []int, error) {
		out, err = c.Process.Create().SetName(strings.TrimSpace(l.Name)).SetLink(l.Link).SetDescription(l.Description).
			SetIcon(l.Icon).SetCategory(l.Category).SetKind(process.KindEXTERNAL_LINK).SetOwnerID(a.userID).Save(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("create external link: %w", err)
		}
		if !l.Public {
			return nil, nil, nil // its owner sees it (ProcessVisible), nobody else
		}
		return nil, nil, setStarters(ctx, c, out.ID, nil) // Everybody
	})
	return out, err
}

// DeleteExternalLink deletes an external link: its owner, an administrator, or, for a
// public one, a holder of CreatePublicExternalLink.
func (e *Engine) DeleteExternalLink(ctx context.Context, id int) error {
	a, err := e.actor(ctx)
	if err != nil {
		return err
	}
	return e.write(ctx, func(ctx context.Context, c *ent.Client) ([]int, []int, error) {
		p, err := c.Process.Get(ctx, id) // under the viewer's visibility: no other user's private links
		if ent.IsNotFound(err) {
			return nil, nil, apperr.NotFound("no external link with id %d", id)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("load process %d: %w", id, err)
		}
		if p.Kind != process.KindEXTERNAL_LINK {
			return nil, nil, apperr.BadInput("process %q is not an external link", p.Name)
		}
		owner := p.OwnerID != nil && *p.OwnerID == a.userID
		admin := a.sub.Has(policy.TaskReadAll) && a.sub.Has(policy.CaseReadAll)
		public, err := p.QueryStarters().Exist(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("starters of process %d: %w", id, err)
		}
		if !owner && !admin && !(public && a.sub.Has(policy.CreatePublicExternalLink)) {
			return nil, nil, apperr.Forbidden("only the owner of the link %q, an administrator, or for a public link a holder of %s may delete it",
				p.Name, policy.CreatePublicExternalLink)
		}
		return nil, nil, c.Process.DeleteOneID(id).Exec(ctx)
	})
}
