// Package news keeps the news items of the news widget: a title and content per
// language, written by holders of NewsManagement, read by everyone.
package news

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/newsitem"
	"github.com/portico-dev/portico/paging"
	"github.com/portico-dev/portico/policy"
)

// Translation is a news item in one language.
type Translation struct {
	Language string `json:"language"`
	Title    string `json:"title"`
	Content  string `json:"content"`
}

// Item is a news item.
type Item struct {
	*ent.NewsItem
	Translations []Translation
}

// Service manages news.
type Service struct {
	client *ent.Client
	policy *policy.Policy
}

// New returns the news service.
func New(client *ent.Client, p *policy.Policy) *Service { return &Service{client: client, policy: p} }

// List returns the newest news first, at most first (default 20, at most 100).
func (s *Service) List(ctx context.Context, first int) ([]*Item, error) {
	if _, err := s.policy.SubjectFrom(ctx); err != nil {
		return nil, err
	}
	if first <= 0 || first > 100 {
		first = 20
	}
	rows, err := s.client.NewsItem.Query().Order(ent.Desc(newsitem.FieldCreatedAt), ent.Desc(newsitem.FieldID)).
		Limit(first).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("news: %w", err)
	}
	out := make([]*Item, 0, len(rows))
	for _, r := range rows {
		it, err := item(r)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

func item(r *ent.NewsItem) (*Item, error) {
	it := &Item{NewsItem: r}
	if err := json.Unmarshal([]byte(r.Translations), &it.Translations); err != nil {
		return nil, fmt.Errorf("stored news %d: %w", r.ID, err)
	}
	return it, nil
}

func check(ts []Translation) (string, error) {
	if len(ts) == 0 {
		return "", apperr.BadInput("translations: give at least one {language, title, content}")
	}
	seen := map[string]bool{}
	for i, t := range ts {
		switch {
		case t.Language == "":
			return "", apperr.BadInput("translations[%d]: language is empty; use a code such as en", i)
		case seen[t.Language]:
			return "", apperr.BadInput("translations[%d]: language %q comes twice", i, t.Language)
		case strings.TrimSpace(t.Title) == "":
			return "", apperr.BadInput("translations[%d]: the title is empty", i)
		case len(t.Content) > 20000:
			return "", apperr.BadInput("translations[%d]: the content has %d bytes; at most 20000", i, len(t.Content))
		}
		seen[t.Language] = true
	}
	b, err := json.Marshal(ts)
	return string(b), err
}

// Create adds a news item (NewsManagement).
func (s *Service) Create(ctx context.Context, ts []Translation, icon string) (*Item, error) {
	sub, err := s.policy.Require(ctx, policy.NewsManagement)
	if err != nil {
		return nil, err
	}
	text, err := check(ts)
	if err != nil {
		return nil, err
	}
	var row *ent.NewsItem
	err = database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		row, err = tx.NewsItem.Create().SetAuthorID(sub.UserID).SetTranslations(text).SetIcon(icon).Save(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create news: %w", err)
	}
	return item(row)
}

// Update changes a news item (NewsManagement); nil leaves a part as it is.
func (s *Service) Update(ctx context.Context, id int, ts []Translation, icon *string) (*Item, error) {
	if _, err := s.policy.Require(ctx, policy.NewsManagement); err != nil {
		return nil, err
	}
	var row *ent.NewsItem
	err := database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		q := tx.NewsItem.UpdateOneID(id).SetNillableIcon(icon)
		if ts != nil {
			text, err := check(ts)
			if err != nil {
				return err
			}
			q.SetTranslations(text)
		}
		var err error
		row, err = q.Save(ctx)
		if ent.IsNotFound(err) {
			return apperr.NotFound("no news item %d", id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return item(row)
}

// Delete removes a news item (NewsManagement).
func (s *Service) Delete(ctx context.Context, id int) error {
	if _, err := s.policy.Require(ctx, policy.NewsManagement); err != nil {
		return err
	}
	return database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		err := tx.NewsItem.DeleteOneID(id).Exec(ctx)
		if ent.IsNotFound(err) {
			return apperr.NotFound("no news item %d", id)
		}
		return err
	})
}

// pageEntry is the id and time of a news item.
type pageEntry struct {
	ID        int       `json:"id"`
	CreatedAt time.Time `json:"created_at"`
}

func (x pageEntry) key() paging.Key { return paging.Key{-x.CreatedAt.UnixNano(), -int64(x.ID)} }

// PageWidth is the number of parts of a news cursor's key.
const PageWidth = 2

// Page pages the news, newest first (the order of List): the ids and times of all
// items, then the page's rows.
func (s *Service) Page(ctx context.Context, args paging.Args) (*paging.Page[*Item], error) {
	if _, err := s.policy.SubjectFrom(ctx); err != nil {
		return nil, err
	}
	var all []pageEntry
	if err := s.client.NewsItem.Query().Select(newsitem.FieldID, newsitem.FieldCreatedAt).Scan(ctx, &all); err != nil {
		return nil, fmt.Errorf("news: %w", err)
	}
	paging.Sort(all, pageEntry.key)
	page, err := paging.Slice(all, pageEntry.key, PageWidth, args)
	if err != nil {
		return nil, err
	}
	ids := make([]int, len(page.Items))
	for i, x := range page.Items {
		ids[i] = x.ID
	}
	rows, err := s.client.NewsItem.Query().Where(newsitem.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("news: %w", err)
	}
	byID := map[int]*ent.NewsItem{}
	for _, r := range rows {
		byID[r.ID] = r
	}
	out := &paging.Page[*Item]{HasNextPage: page.HasNextPage, HasPreviousPage: page.HasPreviousPage, TotalCount: page.TotalCount}
	for i, x := range page.Items {
		if r, ok := byID[x.ID]; ok {
			it, err := item(r)
			if err != nil {
				return nil, err
			}
			out.Items = append(out.Items, it)
			out.Keys = append(out.Keys, page.Keys[i])
		}
	}
	return out, nil
}
