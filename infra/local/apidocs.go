package local

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// APIDocs serves the API reference at /docs: the static site
// infra/docs/build.sh writes into site (Swagger UI), with /docs/openapi.yaml
// read from spec on every request, so an edit to docs/openapi.yaml shows on
// reload. Without a built site it says how to build one and still serves
// the spec. It exists only in the local gateway.
func APIDocs(site, spec string) http.Handler {
	files := http.StripPrefix("/docs/", http.FileServer(http.Dir(site)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		case r.URL.Path == "/docs":
			http.Redirect(w, r, "/docs/", http.StatusMovedPermanently)
		case r.URL.Path == "/docs/openapi.yaml":
			w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			http.ServeFile(w, r, spec)
		case !strings.HasPrefix(r.URL.Path, "/docs/"):
			http.NotFound(w, r)
		default:
			if _, err := os.Stat(filepath.Join(site, "index.html")); err != nil {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte(`<!doctype html><title>TokenIM API reference</title><p>The API reference viewer is not built here.
Run <code>./infra/docs/build.sh .tokenim/docs</code> (needs npm), then reload.
The spec itself: <a href="/docs/openapi.yaml">openapi.yaml</a>.</p>`))
				return
			}
			w.Header().Set("Cache-Control", "no-cache")
			files.ServeHTTP(w, r)
		}
	})
}
