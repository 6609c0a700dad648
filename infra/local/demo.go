package local

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"sync"
)

//go:embed demo
var demoFiles embed.FS

// Demo serves the demo web client at /demo and, at /demo/local.json, the
// demo users' tokens and the URLs (never the admin secret). It exists only
// in the local gateway.
type Demo struct {
	mu   sync.Mutex
	info Info
}

// SetInfo publishes what /demo/local.json serves.
func (d *Demo) SetInfo(info Info) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.info = info
}

func (d *Demo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/demo/local.json" {
		d.mu.Lock()
		pub := struct {
			RESTURL      string        `json:"rest_url"`
			WebSocketURL string        `json:"websocket_url"`
			DemoUsers    []DemoUser    `json:"demo_users"`
			DemoGroupID  string        `json:"demo_group_id"`
			UserPool     *UserPoolInfo `json:"user_pool,omitempty"`
		}{d.info.RESTURL, d.info.WebSocketURL, d.info.DemoUsers, d.info.DemoGroupID, d.info.UserPool}
		d.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(pub)
		return
	}
	if r.URL.Path == "/demo" {
		http.Redirect(w, r, "/demo/", http.StatusFound)
		return
	}
	sub, _ := fs.Sub(demoFiles, "demo")
	w.Header().Set("Cache-Control", "no-store")
	http.StripPrefix("/demo", http.FileServer(http.FS(sub))).ServeHTTP(w, r)
}
