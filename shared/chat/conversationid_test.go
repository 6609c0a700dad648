package chat_test

import (
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
)

// TestParseConversationIDSaysWhy: a refused id's message names the rule it
// broke, so a client can fix it (issue 12, defect 11: dm:a:a was refused with
// the generic format message, which it matches).
func TestParseConversationIDSaysWhy(t *testing.T) {
	tests := []struct {
		in, wantInMessage string
	}{
		{"dm:alice:alice", "same user twice"},
		{"dm:alice", `"dm:<user_id>:<user_id>" or "g:<group_id>"`},
		{"g:a#b", `"dm:<user_id>:<user_id>" or "g:<group_id>"`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := chat.ParseConversationID(tc.in)
			if apierror.CodeOf(err) != apierror.InvalidID || !strings.Contains(err.Error(), tc.wantInMessage) {
				t.Errorf("ParseConversationID(%q) = %v, want invalid_id saying %q", tc.in, err, tc.wantInMessage)
			}
		})
	}
}
