package local

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAPIDocs(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "openapi.yaml")
	os.WriteFile(spec, []byte("openapi: 3.1.0\n"), 0o644)
	built := filepath.Join(dir, "site")
	os.MkdirAll(built, 0o755)
	os.WriteFile(filepath.Join(built, "index.html"), []byte("<title>viewer</title>"), 0o644)
	os.WriteFile(filepath.Join(built, "openapi.yaml"), []byte("stale copy"), 0o644)
	tests := []struct {
		name, site, method, path string
		status                   int
		body                     string
	}{
		{"no slash", built, "GET", "/docs", http.StatusMovedPermanently, ""},
		{"viewer", built, "GET", "/docs/", http.StatusOK, "<title>viewer</title>"},
		{"the spec is read live, not the site's copy", built, "GET", "/docs/openapi.yaml", http.StatusOK, "openapi: 3.1.0"},
		{"missing file", built, "GET", "/docs/nope.js", http.StatusNotFound, ""},
		{"not built: says how", filepath.Join(dir, "none"), "GET", "/docs/", http.StatusServiceUnavailable, "infra/docs/build.sh"},
		{"not built: the spec still served", filepath.Join(dir, "none"), "GET", "/docs/openapi.yaml", http.StatusOK, "openapi: 3.1.0"},
		{"read only", built, "POST", "/docs/", http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(APIDocs(tt.site, spec))
			defer srv.Close()
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.body) {
				t.Errorf("%s %s: %d %q, want %d containing %q", tt.method, tt.path, resp.StatusCode, b, tt.status, tt.body)
			}
		})
	}
}
