// Package playground serves a GraphiQL playground whose JavaScript and CSS are
// embedded in the binary, so it works on networks without internet access.
package playground

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// AssetPrefix is the URL path under which Handler serves the embedded assets.
const AssetPrefix = "/playground/assets/"

//go:embed assets
var assets embed.FS

//go:embed page.html
var pageHTML string

var page = template.Must(template.New("page").Funcs(template.FuncMap{"asset": assetURL}).Parse(pageHTML))

// contentTypes maps asset extensions to content types; anything else (LICENSE, VERSIONS) is plain text.
var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
}

// assetURL returns the URL of the named asset, versioned by a hash of its
// content so that it can be cached for a long time.
func assetURL(name string) (string, error) {
	data, err := assets.ReadFile("assets/" + name)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return AssetPrefix + name + "?v=" + hex.EncodeToString(sum[:6]), nil
}

// Handler serves the GraphiQL page at "/" and its assets under "/playground/assets/".
// Queries and mutations are POSTed to endpoint; subscriptions use the graphql-ws
// protocol over a websocket to the same path. The title and endpoint are escaped.
func Handler(title, endpoint string) http.Handler {
	var buf bytes.Buffer
	if err := page.Execute(&buf, struct{ Title, Endpoint string }{title, endpoint}); err != nil {
		panic("playground: " + err.Error())
	}
	body := buf.Bytes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		switch {
		case r.URL.Path == "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			w.Write(body)
		case strings.HasPrefix(r.URL.Path, AssetPrefix):
			serveAsset(w, r, strings.TrimPrefix(r.URL.Path, AssetPrefix))
		default:
			http.NotFound(w, r)
		}
	})
}

// serveAsset writes the embedded file assets/name, or 404 if there is none.
func serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	if !fs.ValidPath(name) {
		http.NotFound(w, r)
		return
	}
	f, err := assets.Open("assets/" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	ctype, ok := contentTypes[path.Ext(name)]
	if !ok {
		ctype = "text/plain; charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, time.Time{}, f.(io.ReadSeeker))
}
