package signup

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/users"
)

func TestAccount(t *testing.T) {
	base := func(extra map[string]string) map[string]string {
		m := map[string]string{"sub": "5b1e-77", "email": "dana@example.com"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	long := strings.Repeat("é", 70)
	tests := []struct {
		name    string
		mapping Mapping
		attrs   map[string]string
		want    users.CreateInput
		dropped []string
		code    apierror.Code
	}{
		{"sub by default, name as nickname", Mapping{}, base(map[string]string{"name": "Dana", "preferred_username": "dd"}),
			users.CreateInput{UserID: "5b1e-77", Profile: users.Profile{Nickname: "Dana"}}, nil, ""},
		{"preferred_username when no name", Mapping{}, base(map[string]string{"preferred_username": "dd"}),
			users.CreateInput{UserID: "5b1e-77", Profile: users.Profile{Nickname: "dd"}}, nil, ""},
		{"chosen id attribute", Mapping{IDAttribute: "email"}, base(nil),
			users.CreateInput{UserID: "dana@example.com"}, nil, ""},
		{"long nickname cut to 64 characters", Mapping{}, base(map[string]string{"name": long}),
			users.CreateInput{UserID: "5b1e-77", Profile: users.Profile{Nickname: long[:64*2]}}, nil, ""},
		{"picture kept if http(s)", Mapping{}, base(map[string]string{"picture": "https://cdn.example.com/d.png"}),
			users.CreateInput{UserID: "5b1e-77", Profile: users.Profile{AvatarURL: "https://cdn.example.com/d.png"}}, nil, ""},
		{"other picture dropped, not fatal", Mapping{}, base(map[string]string{"picture": "javascript:alert(1)"}),
			users.CreateInput{UserID: "5b1e-77"}, []string{"picture"}, ""},
		{"metadata attributes copied when set", Mapping{MetadataAttributes: []string{"locale", "custom:plan", "zoneinfo"}},
			base(map[string]string{"locale": "de", "custom:plan": "pro"}),
			users.CreateInput{UserID: "5b1e-77", Profile: users.Profile{Metadata: map[string]string{"locale": "de", "custom:plan": "pro"}}}, nil, ""},
		{"oversized metadata value dropped", Mapping{MetadataAttributes: []string{"custom:bio"}}, base(map[string]string{"custom:bio": strings.Repeat("x", 2000)}),
			users.CreateInput{UserID: "5b1e-77"}, []string{"custom:bio"}, ""},
		{"missing id attribute", Mapping{IDAttribute: "custom:chat_id"}, base(nil), users.CreateInput{}, nil, apierror.ValidationFailed},
		{"id attribute not a valid id", Mapping{IDAttribute: "name"}, base(map[string]string{"name": "Dana Scully"}), users.CreateInput{}, nil, apierror.InvalidID},
		{"id with # refused", Mapping{IDAttribute: "custom:id"}, base(map[string]string{"custom:id": "US#1"}), users.CreateInput{}, nil, apierror.InvalidID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, dropped, err := tc.mapping.Account("cognito:p:s", tc.attrs)
			if apierror.CodeOf(err) != tc.code {
				t.Fatalf("err %v, want code %q", err, tc.code)
			}
			if err != nil {
				return
			}
			tc.want.Source = "cognito:p:s"
			if !reflect.DeepEqual(got, tc.want) || !reflect.DeepEqual(dropped, tc.dropped) {
				t.Fatalf("got %+v dropped %v, want %+v dropped %v", got, dropped, tc.want, tc.dropped)
			}
			if err := got.Profile.Validate(); err != nil {
				t.Fatalf("mapped profile does not validate: %v", err)
			}
		})
	}
}
