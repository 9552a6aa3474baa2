// Package graph is Portico's GraphQL layer: the schema files, thin resolvers that call
// ent and the domain packages, the error presenter and the websocket adapter.
package graph

import (
	"log/slog"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/cleanup"
	"github.com/portico-dev/portico/dashboards"
	"github.com/portico-dev/portico/directory"
	"github.com/portico-dev/portico/documents"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/favorites"
	"github.com/portico-dev/portico/lists"
	"github.com/portico-dev/portico/live"
	"github.com/portico-dev/portico/news"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/savedfilters"
	"github.com/portico-dev/portico/search"
	"github.com/portico-dev/portico/settings"
	"github.com/portico-dev/portico/sso"
	"github.com/portico-dev/portico/statistics"
	"github.com/portico-dev/portico/workflow"
)

// Resolver is the dependency root of the resolvers.
type Resolver struct {
	Client    *ent.Client
	Auth      *auth.Service
	Policy    *policy.Policy
	Dir       *directory.Directory
	Work      *workflow.Engine
	Lists     *lists.Lists
	Hub       *live.Hub
	Settings  *settings.Service
	Boards    *dashboards.Service // named apart from the dashboards query field
	Favorites *favorites.Service
	Cleanup   *cleanup.Job
	Files     *documents.Service // named apart from the documents query field
	Bulletin  *news.Service      // named apart from the news query field
	Charts    *statistics.Service
	Feeds     *statistics.Feeds
	Finder    *search.Service       // named apart from the search query field
	Filters   *savedfilters.Service // named apart from the savedFilters query field
	SSO       *sso.Service          // nil without single sign-on
	Log       *slog.Logger
}
