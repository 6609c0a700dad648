package local

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"

	"github.com/tokenim/tokenim/shared/push/recorder"
)

// PushPrefix is where the local stack records would-be pushes.
const PushPrefix = "/_local/push"

// maxPushRecords bounds the memory a long dev session uses.
const maxPushRecords = 1000

// PushRecorder keeps the pushes the local push worker would have sent to
// APNs, FCM and Web Push (it runs with PUSH_RECORDER_URL pointing here):
// POST records one, GET lists them oldest first (?user_id= for one user).
type PushRecorder struct {
	mu      sync.Mutex
	records []recorder.Record
}

func (p *PushRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		var rec recorder.Record
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&rec); err != nil {
			http.Error(w, "bad record", http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.records = append(p.records, rec)
		if len(p.records) > maxPushRecords {
			p.records = p.records[len(p.records)-maxPushRecords:]
		}
		p.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	case http.MethodGet:
		user := r.URL.Query().Get("user_id")
		p.mu.Lock()
		out := []recorder.Record{}
		for _, rec := range p.records {
			if user == "" || rec.UserID == user {
				out = append(out, rec)
			}
		}
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		json.NewEncoder(w).Encode(map[string]any{"pushes": out})
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
