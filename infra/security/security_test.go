package security

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/infra/template"
)

// TestEveryRouteHasRows: a route added to template.yaml without rows in
// the security table fails here (template only: runs on every tier).
func TestEveryRouteHasRows(t *testing.T) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, r := range rows {
		if have[r.route] {
			t.Errorf("route %s has two rows", r.route)
		}
		have[r.route] = true
	}
	for _, r := range tmpl.RestRoutes() {
		if !have[r.Key()] {
			t.Errorf("REST route %s (%s) has no rows in infra/security/rows_test.go", r.Key(), r.Function)
		}
		delete(have, r.Key())
	}
	for k := range have {
		t.Errorf("row for %s, which template.yaml does not have", k)
	}
	wsHave := map[string]bool{}
	for _, r := range wsRows {
		wsHave[r.action] = true
	}
	for _, api := range tmpl.WebSocketAPIs() {
		for _, r := range api.Routes {
			if !strings.HasPrefix(r.RouteKey, "$") && !wsHave[r.RouteKey] {
				t.Errorf("WebSocket action %q has no rows in infra/security/ws_test.go", r.RouteKey)
			}
		}
	}
}

// TestSecurity runs every row against the local stack, then scans every
// response and log line of the run for tokens, secrets and bob's DM.
func TestSecurity(t *testing.T) {
	w := start(t)
	bad := w.badTokens(t)
	w.bad = bad
	w.mu.Lock()
	w.checkStart = len(w.responses) // the fixture's own calls rightly return tokens
	w.mu.Unlock()
	checked := 0
	for _, r := range rows {
		t.Run(r.route, func(t *testing.T) {
			for _, c := range w.checksFor(r, bad) {
				checked++
				got := w.run(t, r, c)
				if !slices.Contains(c.want, got.status) || !codeOK(c.code, got.code()) {
					t.Errorf("%s as %s: %d %s; want %v %s", c.name, actorName(c.as), got.status, truncate(got.body), c.want, c.code)
				}
			}
		})
	}
	t.Run("websocket", func(t *testing.T) { checked += w.websocketChecks(t, bad) })
	t.Run("nothing written", func(t *testing.T) {
		for _, id := range []string{"mass-" + w.malloryID, "own-" + w.malloryID, "cc-" + w.malloryID} {
			if r := w.call(t, w.admin, "GET", "/v1/users/"+id, "", ""); r.status != 404 {
				t.Errorf("refused create left user %s: %d", id, r.status)
			}
			if r := w.call(t, w.admin, "GET", "/v1/groups/"+id, "", ""); r.status != 404 {
				t.Errorf("refused create left group %s: %d", id, r.status)
			}
		}
	})
	t.Run("leaks", func(t *testing.T) { w.scanLeaks(t, bad) })
	t.Logf("security rows checked: %d requests over %d REST routes and %d WebSocket actions", checked, len(rows), len(wsRows))
}

// checksFor is a row's own checks plus the ones every route gets.
func (w *world) checksFor(r row, bad map[string]string) []check {
	method, path, _ := strings.Cut(r.route, " ")
	var out []check
	public := r.route == "POST /v1/auth/token"
	if !public {
		out = append(out, check{name: "no token", as: none, want: []int{401}, code: "unauthorized"})
		names := make([]string, 0, len(bad))
		for n := range bad {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			out = append(out, check{name: "token " + n, as: actor(-1 - slices.Index(names, n)), want: []int{401}, code: "invalid_token"})
		}
	}
	if r.admin {
		out = append(out, check{name: "user token on an admin route", as: mallory, want: []int{403}, code: "forbidden"})
	}
	switch r.asUser {
	case "query":
		out = append(out, check{name: "admin token without user_id", as: admin, want: []int{400}, code: "validation_failed"})
	case "body":
		out = append(out, check{name: "admin token without user_id/sender_id", as: admin, want: []int{400}, code: "validation_failed"})
	}
	out = append(out, r.checks...)
	if !public {
		params := pathParams(path)
		for _, p := range params {
			names := make([]string, 0, len(hostileIDs))
			for n := range hostileIDs {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				hp := strings.Replace(path, "{"+p+"}", hostileIDs[n], 1)
				if r.asUser == "query" {
					hp += "?user_id={b}"
				}
				out = append(out, check{name: fmt.Sprintf("%s %s in {%s}", method, n, p), as: admin, path: hp,
					want: []int{400, 403, 404}, code: "!ok"})
			}
		}
	}
	return out
}

// codeOK: want "" takes any code, "!ok" any public error code (not
// internal), otherwise one of want's "|"-separated codes.
func codeOK(want, got string) bool {
	switch want {
	case "":
		return true
	case "!ok":
		return got != "" && got != "internal"
	}
	return slices.Contains(strings.Split(want, "|"), got)
}

func pathParams(p string) []string {
	var out []string
	for _, seg := range strings.Split(p, "/") {
		if strings.HasPrefix(seg, "{") {
			out = append(out, strings.Trim(seg, "{}"))
		}
	}
	return out
}

// run sends one check. A negative actor is the bad token of that index.
func (w *world) run(t *testing.T, r row, c check) reply {
	t.Helper()
	method, path, _ := strings.Cut(r.route, " ")
	if c.path != "" {
		path = c.path
	}
	body := r.body
	if c.body != "" {
		body = c.body
	}
	ct := r.ct
	if c.ct != "" {
		ct = c.ct
	}
	got := w.call(t, w.token(t, c.as), method, w.fill(path, true), ct, w.fill(body, false))
	if c.as != admin && c.as != alice && c.as != bob {
		w.mu.Lock()
		w.foreign = append(w.foreign, got.body)
		w.mu.Unlock()
	}
	return got
}

func (w *world) token(t *testing.T, a actor) string {
	switch a {
	case none:
		return ""
	case admin:
		return w.admin
	case alice:
		return w.alice
	case bob:
		return w.bob
	case mallory:
		return w.mallory
	}
	names := make([]string, 0, len(w.bad))
	for n := range w.bad {
		names = append(names, n)
	}
	sort.Strings(names)
	return w.bad[names[-1-int(a)]]
}

func actorName(a actor) string {
	switch a {
	case none:
		return "nobody"
	case admin:
		return "admin"
	case alice:
		return "alice"
	case bob:
		return "bob"
	case mallory:
		return "mallory"
	}
	return "a bad token"
}

// fill replaces the placeholders; in a path, ids are path-escaped.
func (w *world) fill(s string, inPath bool) string {
	esc := func(v string) string {
		if inPath {
			return url.PathEscape(v)
		}
		return v
	}
	return strings.NewReplacer(
		"{user_id}", esc(w.aliceID), "{group_id}", esc(w.groupID), "{conversation_id}", esc(w.dmID), "{seq}", "1", "{job_id}", esc(w.jobID), "{device_id}", "phone-1", "{notification_id}", "n-none",
		"{key_id}", w.adminKeyID, "{role}", "helper", "{blocked_id}", esc(w.bobID), "{report_id}", "rep-none", "{attachment_id}", "up_aaaaaaaaaaaaaaaaaaaaaaaaaa",
		"{webhook_id}", "wh_0000000000000000000a", "{delivery_id}", "0000000000000_evt_00000000000000000000000000000000",
		"{a}", esc(w.aliceID), "{b}", esc(w.bobID), "{m}", esc(w.malloryID), "{g}", esc(w.groupID),
		"{dm}", esc(w.dmID), "{gc}", esc(w.groupConvID), "{job}", esc(w.jobID),
		"{key}", w.adminKeyID, "{secret}", url.QueryEscape(w.adminSecret), "{alicetoken}", w.alice,
		"{forged}", w.badForged(),
	).Replace(s)
}

// badForged is an ID-token-shaped JWT no identity provider signed.
func (w *world) badForged() string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"k1"}`))
	p := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x","token_use":"id","aud":"c","exp":9999999999,"iat":1}`))
	return h + "." + p + ".c2ln"
}

// scanLeaks: no response to a check and no log line of the whole run
// holds a token, the client secret, the signing key, or bob's DM text
// outside the responses that rightly carry it (none of the checks do).
func (w *world) scanLeaks(t *testing.T, bad map[string]string) {
	t.Helper()
	secrets := map[string]string{
		"admin token": w.admin, "alice's token": w.alice, "bob's token": w.bob, "mallory's token": w.mallory,
		"client secret": w.adminSecret, "signing key (hex)": hex.EncodeToString(w.key),
		"signing key (base64)": base64.StdEncoding.EncodeToString(w.key), "bob's DM": w.secretText,
	}
	for n, tok := range bad {
		if len(tok) > 20 {
			secrets["bad token "+n] = tok
		}
	}
	// A JWT's signature alone is as good as a leak of the token.
	for n, tok := range map[string]string{"admin": w.admin, "alice": w.alice, "bob": w.bob, "mallory": w.mallory} {
		secrets[n+"'s token signature"] = tok[strings.LastIndex(tok, ".")+1:]
	}
	w.mu.Lock()
	responses := strings.Join(w.responses[w.checkStart:], "\n")
	foreign := strings.Join(w.foreign, "\n")
	w.mu.Unlock()
	// bob's DM rightly reaches alice, bob and admins: only the responses to
	// everyone else are scanned for it.
	for where, text := range map[string]string{"functions' logs": w.out.String(), "gateway log": w.gwLog.String(),
		"responses to the checks": responses, "responses to mallory and bad tokens": foreign} {
		if where == "responses to the checks" {
			text = strings.ReplaceAll(text, w.secretText, "")
		}
		if text == "" && !strings.HasPrefix(where, "responses") {
			t.Errorf("%s is empty: nothing was scanned", where)
		}
		for n, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("%s contain %s", where, n)
			}
		}
	}
	t.Logf("scanned %d bytes of function logs, %d of gateway log, %d responses (%d to mallory and bad tokens)",
		len(w.out.String()), len(w.gwLog.String()), len(w.responses)-w.checkStart, len(w.foreign))
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
