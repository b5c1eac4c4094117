// Package web serves the portal. Until the portal lands it serves a small
// landing page that says what Vigil is and where its API is.
package web

import (
	"embed"
	"html/template"
	"net/http"
)

//go:embed static/index.html
var files embed.FS

var index = template.Must(template.ParseFS(files, "static/index.html"))

// Page is what the landing page shows.
type Page struct {
	Version string
	Dev     bool // links GraphiQL
}

// Handler serves GET / and HEAD /.
func Handler(p Page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = index.Execute(w, p)
	})
}
