package webhooks

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenim/tokenim/shared/webhooks/webhookstest"
)

// flaky is a receiver on 127.0.0.1 that answers each attempt in turn
// with the given statuses (0: hold the request past the sender's
// timeout), and records the last request.
type flaky struct {
	mu      sync.Mutex
	answers []int
	n       int
	body    []byte
	header  http.Header
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	i := f.n
	f.n++
	f.mu.Unlock()
	status := http.StatusOK
	if i < len(f.answers) {
		status = f.answers[i]
	}
	b, _ := io.ReadAll(r.Body) // read first, so the server notices the sender give up
	if status == 0 {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second): // past the sender's 300 ms timeout
		}
		return
	}
	if status == http.StatusOK {
		f.mu.Lock()
		f.body, f.header = b, r.Header.Clone()
		f.mu.Unlock()
	}
	w.WriteHeader(status)
}

func local(t *testing.T) (*Sender, Policy) {
	t.Helper()
	p := Policy{AllowLoopback: true}
	return &Sender{Client: &http.Client{Transport: &http.Transport{DialContext: p.SafeDialer(time.Second).DialContext}},
		Timeout: 300 * time.Millisecond}, p
}

// TestDeliverFailsThreeTimesAndTimesOut: a receiver answering 500, 503,
// 429 and then timing out gets the event on the fifth attempt, after the
// schedule's waits; every attempt is listed; the signature verifies with
// the Standard Webhooks Python library (not our code), during a rotation
// with both the new and the old secret.
func TestDeliverFailsThreeTimesAndTimesOut(t *testing.T) {
	f := &flaky{answers: []int{500, 503, 429, 0}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s, _ := local(t)
	old, _ := NewSecret()
	next, _ := NewSecret()
	keys := Keys{Current: old}.Rotate(next, time.Now())
	body := []byte(`{"id":"evt_1","type":"message.created","version":1,"time":"2026-12-02T07:00:00Z","data":{"seq":1}}`)
	var waits []time.Duration
	outs, ok := s.Deliver(context.Background(), srv.URL, keys, "evt_1", body, time.Now,
		func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil })
	if !ok || len(outs) != 5 {
		t.Fatalf("delivered %v after %d attempts: %+v", ok, len(outs), outs)
	}
	for i, want := range []struct {
		status int
		err    string
	}{{500, ""}, {503, ""}, {429, ""}, {0, "timeout"}, {200, ""}} {
		if o := outs[i]; o.Status != want.status || o.Error != want.err || o.OK != (i == 4) || o.Retry != (i < 4) {
			t.Errorf("attempt %d: %+v, want status %d error %q", i+1, o, want.status, want.err)
		}
	}
	if len(waits) != 4 || waits[0] != Schedule[0] || waits[3] != Schedule[3] {
		t.Errorf("waits %v, want the schedule's first four", waits)
	}
	if string(f.body) != string(body) || f.header.Get("webhook-id") != "evt_1" || len(strings.Fields(f.header.Get("webhook-signature"))) != 2 {
		t.Fatalf("received %s with %v", f.body, f.header)
	}
	for _, secret := range []string{next, old} {
		webhookstest.Verify(t, secret, f.body, f.header)
	}
}

// TestFinalOutcomes: a 4xx other than 429 is final, and so is a target
// whose address is refused; the schedule ends after 8 attempts, ≥ 24 h.
func TestFinalOutcomes(t *testing.T) {
	f := &flaky{answers: []int{410}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s, _ := local(t)
	secret, _ := NewSecret()
	outs, ok := s.Deliver(context.Background(), srv.URL, Keys{Current: secret}, "evt_2", []byte(`{}`), time.Now,
		func(context.Context, time.Duration) error { t.Fatal("a final outcome was retried"); return nil })
	if ok || len(outs) != 1 || outs[0].Status != 410 || outs[0].Retry {
		t.Fatalf("410: %+v", outs)
	}
	var total time.Duration
	n := 1
	for last := time.Unix(0, 0); ; n++ {
		due, ok := NextAttempt(n, last)
		if !ok {
			break
		}
		total += due.Sub(last)
		last = due
	}
	if n != 8 || total < 24*time.Hour {
		t.Errorf("%d attempts over %v: want 8 over at least 24 h", n, total)
	}
}

// TestCheckURL: https to public addresses only; http and loopback only
// locally; bad input refused with its reason.
func TestCheckURL(t *testing.T) {
	resolve := func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "hooks.example.com":
			return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
		case "rebind.example.com":
			return []netip.Addr{netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("169.254.169.254")}, nil
		case "localhost":
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		return nil, errors.New("no such host")
	}
	cloud, dev := Policy{Resolve: resolve}, Policy{Resolve: resolve, AllowLoopback: true}
	for _, tc := range []struct {
		p    Policy
		url  string
		want error
	}{
		{cloud, "https://hooks.example.com/tokenim", nil},
		{cloud, "http://hooks.example.com/tokenim", ErrURLScheme},
		{cloud, "https://10.0.0.5/x", ErrURLAddress},
		{cloud, "https://172.16.0.1/x", ErrURLAddress},
		{cloud, "https://192.168.1.1/x", ErrURLAddress},
		{cloud, "https://169.254.169.254/latest/meta-data", ErrURLAddress},
		{cloud, "https://[fd00:ec2::254]/", ErrURLAddress},
		{cloud, "https://[::ffff:10.0.0.1]/", ErrURLAddress},
		{cloud, "https://100.64.0.1/", ErrURLAddress},
		{cloud, "https://0.0.0.0/", ErrURLAddress},
		{cloud, "https://127.0.0.1/", ErrURLAddress},
		{cloud, "https://localhost/", ErrURLAddress},
		{cloud, "https://rebind.example.com/", ErrURLAddress},
		{cloud, "https://nowhere.invalid/", ErrURLResolve},
		{cloud, "https://user:pw@hooks.example.com/", ErrURLSyntax},
		{cloud, "hooks.example.com/x", ErrURLSyntax},
		{cloud, "https://hooks.example.com/" + strings.Repeat("a", MaxURL), ErrURLTooLong},
		{dev, "http://127.0.0.1:9000/hook", nil},
		{dev, "http://10.0.0.5/hook", ErrURLAddress},
	} {
		err := tc.p.CheckURL(context.Background(), tc.url)
		if !errors.Is(err, tc.want) || tc.want == nil && err != nil {
			t.Errorf("%.60s (loopback %v): %v, want %v", tc.url, tc.p.AllowLoopback, err, tc.want)
		}
	}
}

// TestSafeDialerRefusesRebinding: a name that resolves to a refused
// address when the delivery connects (after passing registration) is not
// connected to: the dialer checks the address itself.
func TestSafeDialerRefusesRebinding(t *testing.T) {
	f := &flaky{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	cloud := Policy{}
	s := &Sender{Client: &http.Client{Transport: &http.Transport{DialContext: cloud.SafeDialer(time.Second).DialContext}}}
	secret, _ := NewSecret()
	o := s.Attempt(context.Background(), "http://localhost:"+port+"/", Keys{Current: secret}, "evt_3", []byte(`{}`), time.Now())
	if o.OK || o.Retry || o.Error != "refused_address" || f.n != 0 {
		t.Fatalf("outcome %+v, %d requests reached the receiver: want refused_address and none", o, f.n)
	}
}

// TestSecrets: generated secrets are valid; chosen ones are checked.
func TestSecrets(t *testing.T) {
	s, err := NewSecret()
	if err != nil || CheckSecret(s) != nil {
		t.Fatalf("generated %q: %v", s, err)
	}
	for _, bad := range []string{"", "abc", "whsec_", "whsec_!!!", "whsec_" + strings.Repeat("A", 200), "whsec_c2hvcnQ="} {
		if CheckSecret(bad) == nil {
			t.Errorf("%.30q accepted", bad)
		}
	}
	k := Keys{Current: "whsec_" + strings.Repeat("QUFB", 11)}.Rotate(s, time.Now())
	if sig, _ := k.Sign("evt", time.Now().Add(RotationOverlap+time.Minute), []byte(`{}`)); len(strings.Fields(sig)) != 1 {
		t.Errorf("after the overlap: %d signatures, want 1", len(strings.Fields(sig)))
	}
}
