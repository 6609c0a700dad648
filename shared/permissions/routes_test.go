package permissions_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tokenim/tokenim/infra/template"
	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/httpapi"
	"github.com/tokenim/tokenim/shared/logging"
	"github.com/tokenim/tokenim/shared/permissions"
	"github.com/tokenim/tokenim/shared/testenv"
)

func repoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(template.RepoRoot(), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEveryTemplateRouteHasARule: a route added to template.yaml without
// a row (or a row left behind by a removed route) fails here.
func TestEveryTemplateRouteHasARule(t *testing.T) {
	tmpl, err := template.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	inTemplate := map[string]bool{}
	for _, r := range tmpl.RestRoutes() {
		inTemplate[r.Key()] = true
		rule, ok := permissions.ForRoute(r.Key())
		if !ok {
			t.Errorf("%s (%s) has no row in the rule table", r.Key(), r.Function)
			continue
		}
		if r.Public != (rule.Users == permissions.UsersPublic) {
			t.Errorf("%s: template public=%v, rule users=%s", r.Key(), r.Public, rule.Users)
		}
	}
	for _, rule := range permissions.Rules {
		if !inTemplate[rule.Route] {
			t.Errorf("rule for %s names no template route", rule.Route)
		}
		if rule.Users != permissions.UsersPublic && !slices.Contains(auth.AllScopes(), rule.Scope) {
			t.Errorf("%s: scope %q is not a scope", rule.Route, rule.Scope)
		}
	}
}

// TestRulesDocumented: docs/permissions.md's route table is the rule
// table, row for row, and lists every scope.
func TestRulesDocumented(t *testing.T) {
	doc := repoFile(t, "docs/permissions.md")
	users := map[permissions.Users]string{permissions.UsersNone: "no", permissions.UsersSelf: "own user only",
		permissions.UsersMember: "by membership and group role", permissions.UsersPublic: "public (no token)", permissions.UsersAny: "any user"}
	row := regexp.MustCompile("(?m)^\\| `([A-Z]+ /[^`]+)` \\| (?:`([a-z:]+)`|—) \\| ([^|]+) \\| (?:`([a-z_]+)`|—) \\|$")
	var got []string
	for _, m := range row.FindAllStringSubmatch(doc, -1) {
		got = append(got, m[1]+" "+m[2]+" "+strings.TrimSpace(m[3])+" "+m[4])
	}
	var want []string
	for _, r := range permissions.Rules {
		want = append(want, r.Route+" "+string(r.Scope)+" "+users[r.Users]+" "+r.Grant)
	}
	if !slices.Equal(got, want) {
		t.Errorf("docs/permissions.md routes:\n%s\nrule table:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, s := range auth.AllScopes() {
		if !strings.Contains(doc, "| `"+string(s)+"` |") {
			t.Errorf("scope %s is not in docs/permissions.md", s)
		}
	}
	for _, g := range permissions.AllGrants() {
		if !strings.Contains(doc, "| `"+g+"` |") {
			t.Errorf("grant %s is not in docs/permissions.md", g)
		}
	}
}

// TestOpenAPISecurityMatchesRules: each operation's security names its
// row's scope (adminToken) and offers bearer (user tokens) exactly when
// users may call it; the adminToken scheme lists every scope.
func TestOpenAPISecurityMatchesRules(t *testing.T) {
	var spec struct {
		Paths      map[string]map[string]yaml.Node `yaml:"paths"`
		Components struct {
			SecuritySchemes struct {
				AdminToken struct {
					Flows struct {
						ClientCredentials struct {
							Scopes map[string]string `yaml:"scopes"`
						} `yaml:"clientCredentials"`
					} `yaml:"flows"`
				} `yaml:"adminToken"`
			} `yaml:"securitySchemes"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal([]byte(repoFile(t, "docs/openapi.yaml")), &spec); err != nil {
		t.Fatal(err)
	}
	for _, s := range auth.AllScopes() {
		if _, ok := spec.Components.SecuritySchemes.AdminToken.Flows.ClientCredentials.Scopes[string(s)]; !ok {
			t.Errorf("adminToken scheme does not list scope %s", s)
		}
	}
	seen := 0
	for path, ops := range spec.Paths {
		for method, node := range ops {
			if method == "parameters" {
				continue
			}
			var op struct {
				Security []map[string][]string `yaml:"security"`
			}
			if err := node.Decode(&op); err != nil {
				t.Fatal(err)
			}
			route := strings.ToUpper(method) + " " + path
			rule, ok := permissions.ForRoute(route)
			if !ok {
				t.Errorf("%s is in the spec but not in the rule table", route)
				continue
			}
			seen++
			if rule.Users == permissions.UsersPublic {
				continue
			}
			var want []map[string][]string
			if rule.Users != permissions.UsersNone {
				want = append(want, map[string][]string{"bearer": {}})
			}
			want = append(want, map[string][]string{"adminToken": {string(rule.Scope)}})
			if !equalSecurity(op.Security, want) {
				t.Errorf("%s: security %v, want %v", route, op.Security, want)
			}
		}
	}
	if seen != len(permissions.Rules) {
		t.Errorf("spec has %d of the %d routes in the rule table", seen, len(permissions.Rules))
	}
}

func equalSecurity(a, b []map[string][]string) bool {
	return slices.EqualFunc(a, b, func(x, y map[string][]string) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !slices.Equal(v, w) {
				return false
			}
		}
		return true
	})
}

// TestEveryRuleRefusesWhatItMust tries to break every row through the
// real edge (httpapi's check, Lambda's invoke): the handler behind a
// route must run exactly when the row says so.
func TestEveryRuleRefusesWhatItMust(t *testing.T) {
	var routes []httpapi.Route
	reached := map[string]int{}
	for _, r := range permissions.Rules {
		routes = append(routes, httpapi.Route{Method: strings.Fields(r.Route)[0], Resource: strings.Fields(r.Route)[1],
			Public: r.Users == permissions.UsersPublic,
			Handler: func(context.Context, *httpapi.Request) (httpapi.Response, error) {
				reached[r.Route]++
				return httpapi.JSON(200, map[string]string{"ok": "yes"}), nil
			}})
	}
	h := httpapi.New(logging.NewTo(io.Discard, "test"), routes...).Handle
	admin := func(scopes ...auth.Scope) *auth.Principal {
		return &auth.Principal{Kind: auth.KindAdmin, KeyID: "tk_test", Scopes: append(auth.Scopes{}, scopes...)}
	}
	allBut := func(s auth.Scope) *auth.Principal {
		var keep []auth.Scope
		for _, x := range auth.AllScopes() {
			if x != s && x != auth.ScopeAdmin {
				keep = append(keep, x)
			}
		}
		return admin(keep...)
	}
	for _, r := range permissions.Rules {
		if r.Users == permissions.UsersPublic {
			continue
		}
		method, path := strings.Fields(r.Route)[0], strings.Fields(r.Route)[1]
		call := func(p *auth.Principal) testenv.Reply {
			return testenv.Call(t, h, testenv.REST{Method: method, Resource: path, Path: path, Principal: p})
		}
		t.Run(r.Route, func(t *testing.T) {
			cases := []struct {
				name  string
				p     *auth.Principal
				code  string // "" = reaches the handler
				scope string // details.required_scope on scope_required
			}{
				{"admin token with every other scope", allBut(r.Scope), "scope_required", string(r.Scope)},
				{"admin token with no scope", admin(), "scope_required", string(r.Scope)},
				{"admin token with exactly the scope", admin(r.Scope), "", ""},
				{"admin token with admin", admin(auth.ScopeAdmin), "", ""},
				{"legacy admin token (no scopes in the context)", testenv.Admin(), "", ""},
			}
			userCode := func(grants []string) string {
				g := permissions.GrantsOf(auth.Principal{Kind: auth.KindUser, Grants: grants})
				switch {
				case r.Grant != "" && !slices.Contains(g, r.Grant), r.Grant == "" && r.Users == permissions.UsersNone:
					return "forbidden"
				}
				return ""
			}
			withGrants := func(g ...string) *auth.Principal {
				return &auth.Principal{Kind: auth.KindUser, UserID: "alice", Grants: append([]string{}, g...)}
			}
			var allButRow []string
			for _, g := range permissions.AllGrants() {
				if g != r.Grant {
					allButRow = append(allButRow, g)
				}
			}
			cases = append(cases, []struct {
				name  string
				p     *auth.Principal
				code  string
				scope string
			}{
				{"user token (no role resolved: the user role)", testenv.User("alice"), userCode(nil), ""},
				{"user token with no grants", withGrants(), userCode([]string{}), ""},
				{"user token with every other grant", withGrants(allButRow...), userCode(allButRow), ""},
				{"moderator", withGrants(permissions.BuiltinRoles[permissions.RoleModerator]...), userCode(permissions.BuiltinRoles[permissions.RoleModerator]), ""},
				{"user token with every grant", withGrants(permissions.AllGrants()...), userCode(permissions.AllGrants()), ""},
				{"banned moderator", &auth.Principal{Kind: auth.KindUser, UserID: "alice", Grants: permissions.AllGrants(), Ban: &auth.Ban{Reason: "spam"}}, "banned", ""},
			}...)
			for _, tc := range cases {
				before := reached[r.Route]
				rep := call(tc.p)
				ran := reached[r.Route] > before
				if tc.code == "" {
					if !ran || rep.Status != 200 {
						t.Errorf("%s: %d %s, want the handler to run", tc.name, rep.Status, rep.Body)
					}
					continue
				}
				if ran || rep.ErrorCode() != tc.code || rep.Status != 403 {
					t.Errorf("%s: ran=%v %d %s, want 403 %s", tc.name, ran, rep.Status, rep.Body, tc.code)
				}
				if tc.scope != "" {
					e, _ := rep.JSON["error"].(map[string]any)
					d, _ := e["details"].(map[string]any)
					if d["required_scope"] != tc.scope {
						t.Errorf("%s: details %v, want required_scope %s", tc.name, d, tc.scope)
					}
				}
			}
		})
	}
}

// TestUnlistedRouteNeedsAdmin: a route without a row is closed to scoped
// admin tokens (an omission never opens a route).
func TestUnlistedRouteNeedsAdmin(t *testing.T) {
	const route = "POST /v1/not-in-the-table"
	if _, ok := permissions.ForRoute(route); ok {
		t.Fatal("test route has a row")
	}
	tests := []struct {
		p    auth.Principal
		want string
	}{
		{auth.Principal{Kind: auth.KindAdmin, KeyID: "tk_x", Scopes: auth.Scopes{auth.ScopeUsersWrite, auth.ScopeGroupsWrite}}, "scope_required"},
		{auth.Principal{Kind: auth.KindAdmin, KeyID: "tk_x", Scopes: auth.Scopes{auth.ScopeAdmin}}, ""},
		{auth.Principal{Kind: auth.KindUser, UserID: "u"}, ""},
	}
	for _, tc := range tests {
		err := permissions.CheckRoute(tc.p, route)
		if got := string(apierror.CodeOf(err)); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.p, got, tc.want)
		}
	}
}
