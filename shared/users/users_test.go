package users

import (
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
)

// TestProfileLimitsCountCharacters: every string limit counts Unicode code
// points, the unit of the spec's maxLength (issue 12, defect 7), so a value
// of N multi-byte characters is accepted where N is the limit.
func TestProfileLimitsCountCharacters(t *testing.T) {
	many := func(s string, n int) string { t.Helper(); return strings.Repeat(s, n) }
	tests := []struct {
		name string
		p    Profile
		want apierror.Code
	}{
		{"nickname 64 é", Profile{Nickname: many("é", 64)}, ""},
		{"nickname 65 é", Profile{Nickname: many("é", 65)}, apierror.ValidationFailed},
		{"avatar 2048 characters", Profile{AvatarURL: "https://a.b/" + many("%C3%A9", 2036/6) + many("a", 2036%6)}, ""},
		// Issue 12, defect 11: the spec's format: uri, held by the server too.
		{"avatar with é", Profile{AvatarURL: "https://a.b/café"}, apierror.ValidationFailed},
		{"avatar with a space", Profile{AvatarURL: "https://a.b/x y"}, apierror.ValidationFailed},
		{"avatar with a quote", Profile{AvatarURL: `https://a.b/x"y`}, apierror.ValidationFailed},
		{"avatar without host", Profile{AvatarURL: "https:///x"}, apierror.ValidationFailed},
		{"avatar ftp", Profile{AvatarURL: "ftp://a.b/x"}, apierror.ValidationFailed},
		{"avatar with every RFC 3986 character", Profile{AvatarURL: "https://a.b/-._~:/@!$&'()*+,;=%41?/?#/?@"}, ""},
		{"avatar with a port", Profile{AvatarURL: "https://cdn.example.com:8443/a.png"}, ""},
		{"avatar with an IP literal", Profile{AvatarURL: "https://[2001:db8::1]/a.png"}, apierror.ValidationFailed},
		{"avatar with a bad IP literal (contract test)", Profile{AvatarURL: "HTTP://[0]"}, apierror.ValidationFailed},
		{"avatar with user@", Profile{AvatarURL: "https://u@a.b/x.png"}, apierror.ValidationFailed},
		{"avatar with two @ (contract test)", Profile{AvatarURL: "HttPs://c+eJ@G=NkAp@07"}, apierror.ValidationFailed},
		{"avatar with a bad escape", Profile{AvatarURL: "https://a.b/x?q=%zz"}, apierror.ValidationFailed},
		{"avatar with brackets in the path", Profile{AvatarURL: "https://a.b/x[1].png"}, apierror.ValidationFailed},
		{"avatar with two fragments", Profile{AvatarURL: "https://a.b/x#y#z"}, apierror.ValidationFailed},
		{"avatar 2049 characters", Profile{AvatarURL: "https://a.b/" + many("a", 2049-len("https://a.b/"))}, apierror.ValidationFailed},
		{"metadata key 64 é", Profile{Metadata: map[string]string{many("é", 64): "v"}}, ""},
		{"metadata key 65 é", Profile{Metadata: map[string]string{many("é", 65): "v"}}, apierror.ValidationFailed},
		{"metadata value 1024 😀", Profile{Metadata: map[string]string{"k": many("😀", 1024)}}, ""},
		{"metadata value 1025 é", Profile{Metadata: map[string]string{"k": many("é", 1025)}}, apierror.ValidationFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := apierror.CodeOf(tc.p.Validate()); got != tc.want {
				t.Errorf("Validate() code = %q, want %q", got, tc.want)
			}
		})
	}
}
