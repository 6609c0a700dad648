package app

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/logging"
)

type testEnv struct {
	Base
	Keys
	Chat   Chat
	Batch  BatchLimits
	Signup SignupMapping
}

func goodEnv() map[string]string {
	return map[string]string{"USERS_TABLE": "u", "GROUPS_TABLE": "g", "MESSAGES_TABLE": "m", "JOBS_TABLE": "j", "CONNECTIONS_TABLE": "c",
		"SIGNING_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:k"}
}

// TestReadEnv: unset optional variables keep the defaults, set ones are
// parsed, and a missing, empty or malformed one is named, without its value.
func TestReadEnv(t *testing.T) {
	cases := []struct {
		name    string
		set     map[string]string
		unset   string
		wantVar string
		wantWhy string
	}{
		{name: "defaults kept"},
		{name: "values read", set: map[string]string{"BATCH_MAX_ACTIVE_JOBS": "7", "SIGNUP_METADATA_ATTRIBUTES": "locale, ,custom:plan", "SIGNUP_ID_ATTRIBUTE": " email "}},
		{name: "malformed int", set: map[string]string{"BATCH_MAX_ACTIVE_JOBS": "seven-secret"}, wantVar: "BATCH_MAX_ACTIVE_JOBS", wantWhy: "malformed int"},
		{name: "malformed chat int", set: map[string]string{"RECALL_WINDOW_SECONDS": "2m"}, wantVar: "RECALL_WINDOW_SECONDS", wantWhy: "malformed int"},
		{name: "required unset", unset: "USERS_TABLE", wantVar: "USERS_TABLE", wantWhy: "not set"},
		{name: "required empty", set: map[string]string{"SIGNING_KEY_SECRET_ARN": ""}, wantVar: "SIGNING_KEY_SECRET_ARN", wantWhy: "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			environ := goodEnv()
			for k, v := range c.set {
				environ[k] = v
			}
			delete(environ, c.unset)
			cfg := testEnv{Batch: DefaultBatchLimits()}
			err := readEnv(&cfg, environ)
			if c.wantVar == "" {
				if err != nil {
					t.Fatalf("readEnv: %v", err)
				}
				want := DefaultBatchLimits()
				if v, ok := c.set["BATCH_MAX_ACTIVE_JOBS"]; ok && v == "7" {
					want.MaxActiveJobs = 7
				}
				if cfg.Batch != want || cfg.Tables.Users != "u" || cfg.issuer() != "tokenim" {
					t.Errorf("cfg = %+v", cfg)
				}
				if c.set["SIGNUP_ID_ATTRIBUTE"] != "" {
					m := cfg.Signup.Mapping()
					if m.IDAttribute != "email" || !reflect.DeepEqual(m.MetadataAttributes, []string{"locale", "custom:plan"}) {
						t.Errorf("mapping = %+v", m)
					}
				}
				return
			}
			ve, ok := errors.AsType[*VarError](err)
			if !ok || ve.Var != c.wantVar || ve.Reason != c.wantWhy {
				t.Fatalf("readEnv error = %v, want %s: %s", err, c.wantVar, c.wantWhy)
			}
			var logs bytes.Buffer
			logEnvFailure(logging.NewTo(&logs, "jobs"), err)
			out := logs.String()
			if strings.Count(out, "\n") != 1 || !strings.Contains(out, `"var":"`+c.wantVar+`"`) || !strings.Contains(out, `"msg":"init failed"`) {
				t.Errorf("log = %s", out)
			}
			for _, v := range c.set {
				if v != "" && strings.Contains(out, v) {
					t.Errorf("log carries the value %q: %s", v, out)
				}
			}
		})
	}
}

func TestVars(t *testing.T) {
	got := map[string]bool{}
	for _, v := range Vars(&testEnv{}) {
		got[v.Name] = v.Required
	}
	for name, req := range map[string]bool{"USERS_TABLE": true, "LOG_LEVEL": false, "SIGNING_KEY_SECRET_ARN": true, "MAX_GROUP_MEMBERS": false, "SIGNUP_METADATA_ATTRIBUTES": false} {
		if r, ok := got[name]; !ok || r != req {
			t.Errorf("Vars: %s required=%v present=%v, want required=%v", name, r, ok, req)
		}
	}
}
