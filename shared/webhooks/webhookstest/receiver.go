package webhookstest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Hang is an answer that holds the request until the sender gives up
// (its timeout), at most a second.
const Hang = 0

// Request is one request a Receiver got.
type Request struct {
	Header http.Header
	Body   []byte
	Status int // what the receiver answered (Hang: none)
}

// Receiver is a webhook receiver on 127.0.0.1 that answers each request
// in turn with the given statuses (then 200), and records them all.
type Receiver struct {
	URL string

	mu      sync.Mutex
	answers []int
	got     []Request
}

// NewReceiver starts a receiver; the test's cleanup stops it.
func NewReceiver(t testing.TB, answers ...int) *Receiver {
	t.Helper()
	r := &Receiver{answers: answers}
	srv := httptest.NewServer(r) // binds 127.0.0.1
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/hook"
	return r
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	status := http.StatusOK
	if n := len(r.got); n < len(r.answers) {
		status = r.answers[n]
	}
	r.got = append(r.got, Request{Header: req.Header.Clone(), Body: b, Status: status})
	r.mu.Unlock()
	if status == Hang {
		select {
		case <-req.Context().Done():
		case <-time.After(time.Second):
		}
		return
	}
	w.WriteHeader(status)
}

// SetAnswers replaces the answers still to come (then 200).
func (r *Receiver) SetAnswers(answers ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers = append(make([]int, len(r.got)), answers...)
	for i := range r.got {
		r.answers[i] = http.StatusOK
	}
}

// Requests returns what the receiver got, oldest first.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.got...)
}

// Delivered returns the requests answered 2xx.
func (r *Receiver) Delivered() []Request {
	var out []Request
	for _, q := range r.Requests() {
		if q.Status/100 == 2 {
			out = append(out, q)
		}
	}
	return out
}
