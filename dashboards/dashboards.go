package dashboards

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqljson"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/dashboard"
	"github.com/portico-dev/portico/ent/dashboardposition"
	"github.com/portico-dev/portico/ent/predicate"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/paging"
	"github.com/portico-dev/portico/policy"
)

// Dashboard is a stored dashboard with its document.
type Dashboard struct {
	ID        int
	OwnerID   int
	Public    bool
	UpdatedAt time.Time
	Doc       Document
}

// Service manages dashboards.
type Service struct {
	client *ent.Client
	policy *policy.Policy
}

// New returns the dashboard service.
func New(client *ent.Client, p *policy.Policy) *Service { return &Service{client: client, policy: p} }

// viewer is the subject and name of the request's user.
func (s *Service) viewer(ctx context.Context) (*policy.Subject, string, error) {
	sub, err := s.policy.SubjectFrom(ctx)
	if err != nil {
		return nil, "", err
	}
	return sub, auth.FromContext(ctx).Name, nil
}

// visible is the predicate of the dashboards a viewer sees: its own, and public ones
// whose permissions are empty or name one of its roles or #itself.
func (s *Service) visible(ctx context.Context, sub *policy.Subject, name string) (predicate.Dashboard, error) {
	names, err := s.client.Role.Query().Where(role.IDIn(sub.RoleIDs...)).Select(role.FieldName).Strings(ctx)
	if err != nil {
		return nil, fmt.Errorf("role names: %w", err)
	}
	audience := append(names, "#"+name)
	return func(sel *sql.Selector) {
		col := sel.C(dashboard.FieldPermissions)
		anyOf := []*sql.Predicate{sql.IsNull(col), sqljson.LenEQ(col, 0)}
		for _, a := range audience {
			anyOf = append(anyOf, sqljson.ValueContains(col, a))
		}
		sel.Where(sql.Or(sql.EQ(sel.C(dashboard.FieldOwnerID), sub.UserID),
			sql.And(sql.EQ(sel.C(dashboard.FieldPublic), true), sql.Or(anyOf...))))
	}, nil
}

// List returns the dashboards the viewer sees, in its order: those it placed first, by
// position, then the rest by creation.
func (s *Service) List(ctx context.Context) ([]*Dashboard, error) {
	out, _, err := s.ordered(ctx)
	return out, err
}

// PageWidth is the number of parts of a dashboard cursor's key.
const PageWidth = 3

// Page pages List: a dashboard's key is its place in the viewer's order (placed ones by
// position, then the rest by id), so a cursor survives other dashboards coming and going.
func (s *Service) Page(ctx context.Context, args paging.Args) (*paging.Page[*Dashboard], error) {
	all, key, err := s.ordered(ctx)
	if err != nil {
		return nil, err
	}
	return paging.Slice(all, key, PageWidth, args)
}

// ordered returns the dashboards the viewer sees, in its order, and their keys in it.
func (s *Service) ordered(ctx context.Context) ([]*Dashboard, func(*Dashboard) paging.Key, error) {
	sub, name, err := s.viewer(ctx)
	if err != nil {
		return nil, nil, err
	}
	vis, err := s.visible(ctx, sub, name)
	if err != nil {
		return nil, nil, err
	}
	rows, err := database.Reader(ctx, s.client).Dashboard.Query().Where(vis).Order(ent.Asc(dashboard.FieldID)).All(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list dashboards: %w", err)
	}
	pos, err := database.Reader(ctx, s.client).DashboardPosition.Query().Where(dashboardposition.UserID(sub.UserID)).All(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("dashboard order: %w", err)
	}
	at := map[int]int{}
	for _, p := range pos {
		at[p.DashboardID] = p.Position
	}
	out := make([]*Dashboard, 0, len(rows))
	for _, r := range rows {
		d, err := fromRow(r)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, d)
	}
	key := func(d *Dashboard) paging.Key {
		if p, ok := at[d.ID]; ok {
			return paging.Key{0, int64(p), int64(d.ID)}
		}
		return paging.Key{1, 0, int64(d.ID)}
	}
	paging.Sort(out, key)
	return out, key, nil
}

func fromRow(r *ent.Dashboard) (*Dashboard, error) {
	d := &Dashboard{ID: r.ID, OwnerID: r.OwnerID, Public: r.Public, UpdatedAt: r.UpdatedAt}
	if err := json.Unmarshal([]byte(r.Document), &d.Doc); err != nil {
		return nil, fmt.Errorf("stored dashboard %d: %w", r.ID, err)
	}
	d.Doc.IsPublic = r.Public
	return d, nil
}

// Get returns a dashboard the viewer sees, or NOT_FOUND.
func (s *Service) Get(ctx context.Context, id int) (*Dashboard, error) {
	sub, name, err := s.viewer(ctx)
	if err != nil {
		return nil, err
	}
	vis, err := s.visible(ctx, sub, name)
	if err != nil {
		return nil, err
	}
	r, err := database.Reader(ctx, s.client).Dashboard.Query().Where(dashboard.ID(id), vis).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.NotFound("no dashboard %d that you can see", id)
	}
	if err != nil {
		return nil, fmt.Errorf("dashboard %d: %w", id, err)
	}
	return fromRow(r)
}

// encode validates a document at the current version and returns its stored JSON.
func encode(doc *Document) ([]byte, error) {
	doc.Version = CurrentVersion
	if err := doc.Validate(); err != nil {
		return nil, apperr.BadInput("dashboard: %v", err)
	}
	return json.Marshal(doc)
}

// audience is the permissions column: never JSON null, which array functions refuse.
func audience(doc Document) []string {
	if doc.Permissions == nil {
		return []string{}
	}
	return doc.Permissions
}

// writePermission is the permission to write a private or a public dashboard.
func writePermission(public bool) policy.Permission {
	if public {
		return policy.DashboardWritePublic
	}
	return policy.DashboardWriteOwn
}

// checkWrite refuses what the viewer may not store: the Dashboard* permission of its
// kind, and StatisticAddDashboardChart for statistic widgets it adds.
func (s *Service) checkWrite(sub *policy.Subject, doc Document, before *Document) error {
	if !sub.Has(writePermission(doc.IsPublic)) {
		return apperr.Forbidden("this needs the permission %s", writePermission(doc.IsPublic))
	}
	had := map[string]bool{}
	if before != nil {
		for _, w := range before.Widgets {
			if w.Type == "statistic" {
				had[w.ChartID] = true
			}
		}
	}
	for _, w := range doc.Widgets {
		if w.Type == "statistic" && !had[w.ChartID] && !sub.Has(policy.StatisticAddDashboardChart) {
			return apperr.Forbidden("adding the statistic widget %q needs the permission %s", w.ID, policy.StatisticAddDashboardChart)
		}
	}
	return nil
}

// checkSavedFilters refuses a widget whose saved filter the viewer cannot read (another
// user's private one, or none), of the other list, or private on a public dashboard:
// the dashboard's audience could not read it, and the widget would fail for them.
func (s *Service) checkSavedFilters(ctx context.Context, doc Document) error {
	for _, w := range doc.Widgets {
		if w.SavedFilterID == 0 {
			continue
		}
		f, err := s.client.SavedFilter.Get(ctx, w.SavedFilterID) // the read rule: own or public
		if ent.IsNotFound(err) {
			return apperr.BadInput("widget %q: no saved filter with id %d that you may use", w.ID, w.SavedFilterID)
		}
		if err != nil {
			return fmt.Errorf("saved filter %d: %w", w.SavedFilterID, err)
		}
		if want := strings.ToUpper(w.Type); string(f.Kind) != want {
			return apperr.BadInput("widget %q is a %s widget; saved filter %d filters %s lists", w.ID, w.Type, f.ID, strings.ToLower(string(f.Kind)))
		}
		if doc.IsPublic && !f.Public {
			return apperr.BadInput("widget %q: a public dashboard may use public saved filters only; %d is private", w.ID, f.ID)
		}
	}
	return nil
}

// Create stores a new dashboard of the viewer.
func (s *Service) Create(ctx context.Context, doc Document) (*Dashboard, error) {
	sub, _, err := s.viewer(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.checkWrite(sub, doc, nil); err != nil {
		return nil, err
	}
	return s.insert(ctx, sub.UserID, doc)
}

func (s *Service) insert(ctx context.Context, owner int, doc Document) (*Dashboard, error) {
	if doc.ID == "" {
		doc.ID = NewID()
	}
	if err := s.checkSavedFilters(ctx, doc); err != nil {
		return nil, err
	}
	text, err := encode(&doc)
	if err != nil {
		return nil, err
	}
	var row *ent.Dashboard
	err = database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		row, err = tx.Dashboard.Create().SetOwnerID(owner).SetPublic(doc.IsPublic).SetPermissions(audience(doc)).
			SetVersion(doc.Version).SetDocument(string(text)).Save(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store dashboard: %w", err)
	}
	return fromRow(row)
}

// Update replaces a dashboard's document. Private dashboards are their owner's to
// change (DashboardWriteOwn); public ones need DashboardWritePublic, before and after.
func (s *Service) Update(ctx context.Context, id int, doc Document) (*Dashboard, error) {
	sub, _, err := s.viewer(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.mayChange(sub, cur); err != nil {
		return nil, err
	}
	if err := s.checkWrite(sub, doc, &cur.Doc); err != nil {
		return nil, err
	}
	if err := s.checkSavedFilters(ctx, doc); err != nil {
		return nil, err
	}
	doc.ID = cur.Doc.ID
	text, err := encode(&doc)
	if err != nil {
		return nil, err
	}
	var row *ent.Dashboard
	err = database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		row, err = tx.Dashboard.UpdateOneID(id).SetPublic(doc.IsPublic).SetPermissions(audience(doc)).
			SetVersion(doc.Version).SetDocument(string(text)).Save(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update dashboard %d: %w", id, err)
	}
	return fromRow(row)
}

func (s *Service) mayChange(sub *policy.Subject, d *Dashboard) error {
	if d.Public {
		if !sub.Has(policy.DashboardWritePublic) {
			return apperr.Forbidden("changing a public dashboard needs the permission %s", policy.DashboardWritePublic)
		}
		return nil
	}
	if d.OwnerID != sub.UserID {
		return apperr.Forbidden("a private dashboard is its owner's alone")
	}
	if !sub.Has(policy.DashboardWriteOwn) {
		return apperr.Forbidden("this needs the permission %s", policy.DashboardWriteOwn)
	}
	return nil
}

// Delete removes a dashboard the viewer may change.
func (s *Service) Delete(ctx context.Context, id int) error {
	sub, _, err := s.viewer(ctx)
	if err != nil {
		return err
	}
	d, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := s.mayChange(sub, d); err != nil {
		return err
	}
	return database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		return tx.Dashboard.DeleteOneID(id).Exec(ctx)
	})
}

// Reorder sets the viewer's order: ids first, in this order, then the rest.
func (s *Service) Reorder(ctx context.Context, ids []int) ([]*Dashboard, error) {
	sub, _, err := s.viewer(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, err := s.Get(ctx, id); err != nil {
			return nil, err
		}
	}
	err = database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		if _, err := tx.DashboardPosition.Delete().Where(dashboardposition.UserID(sub.UserID)).Exec(ctx); err != nil {
			return err
		}
		for i, id := range ids {
			if err := tx.DashboardPosition.Create().SetUserID(sub.UserID).SetDashboardID(id).SetPosition(i).Exec(ctx); err != nil {
				return apperr.BadInput("dashboard %d is listed twice", id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.List(ctx)
}

// Export returns a dashboard as the JSON array of domain.md (one element, the current
// version): DashboardExportOwn for one's own private dashboards, DashboardExportPublic
// for public ones.
func (s *Service) Export(ctx context.Context, id int) (string, error) {
	sub, _, err := s.viewer(ctx)
	if err != nil {
		return "", err
	}
	d, err := s.Get(ctx, id)
	if err != nil {
		return "", err
	}
	need := policy.DashboardExportOwn
	if d.Public {
		need = policy.DashboardExportPublic
	}
	if !sub.Has(need) {
		return "", apperr.Forbidden("exporting this dashboard needs the permission %s", need)
	}
	b, err := json.MarshalIndent([]Document{d.Doc}, "", "  ")
	return string(b), err
}

// Import stores the dashboard of an exported JSON array as a new dashboard of the
// viewer: new ids for it and its widgets; permission roles that do not exist are dropped
// and reported. DashboardImportOwn or DashboardImportPublic.
func (s *Service) Import(ctx context.Context, text string, public bool) (*Dashboard, []string, error) {
	sub, _, err := s.viewer(ctx)
	if err != nil {
		return nil, nil, err
	}
	need := policy.DashboardImportOwn
	if public {
		need = policy.DashboardImportPublic
	}
	if !sub.Has(need) {
		return nil, nil, apperr.Forbidden("this import needs the permission %s", need)
	}
	var docs []Document
	if err := decode([]byte(text), &docs); err != nil {
		return nil, nil, apperr.BadInput("dashboard JSON: %v", err)
	}
	if len(docs) != 1 {
		return nil, nil, apperr.BadInput("dashboard JSON: expected an array of one dashboard, got %d", len(docs))
	}
	doc := docs[0]
	if doc.Version > CurrentVersion {
		return nil, nil, apperr.BadInput("dashboard JSON: version %d is newer than this server's %d", doc.Version, CurrentVersion)
	}
	doc.ID, doc.IsPublic = NewID(), public
	for i := range doc.Widgets {
		doc.Widgets[i].ID = NewID()
	}
	var warnings []string
	var kept []string
	for _, p := range doc.Permissions {
		if len(p) > 0 && p[0] == '#' {
			kept = append(kept, p)
			continue
		}
		n, err := s.client.Role.Query().Where(role.Name(p)).Count(ctx)
		if err != nil {
			return nil, nil, err
		}
		if n == 0 {
			warnings = append(warnings, fmt.Sprintf("role %q does not exist; its permission was left out", p))
			continue
		}
		kept = append(kept, p)
	}
	doc.Permissions = kept
	if err := s.checkWrite(sub, doc, nil); err != nil {
		return nil, nil, err
	}
	d, err := s.insert(ctx, sub.UserID, doc)
	if warnings == nil {
		warnings = []string{}
	}
	return d, warnings, err
}

// NewID returns a random id in the seed's style (32 hex digits).
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Widget returns a widget of a dashboard the viewer sees.
func (s *Service) Widget(ctx context.Context, dashboardID int, widgetID string) (*Widget, error) {
	d, err := s.Get(ctx, dashboardID)
	if err != nil {
		return nil, err
	}
	for i := range d.Doc.Widgets {
		if d.Doc.Widgets[i].ID == widgetID {
			return &d.Doc.Widgets[i], nil
		}
	}
	return nil, apperr.NotFound("dashboard %d has no widget %q", dashboardID, widgetID)
}

// ViewerOf returns the filter viewer (for current_user) of the request.
func (s *Service) ViewerOf(ctx context.Context) (Viewer, error) {
	sub, err := s.policy.SubjectFrom(ctx)
	if err != nil {
		return Viewer{}, err
	}
	return Viewer{UserID: sub.UserID, RoleIDs: sub.RoleIDs}, nil
}
