// Package audittest checks what a handler wrote to the audit log.
package audittest

import (
	"encoding/json"
	"testing"

	"github.com/tokenim/tokenim/shared/audit"
)

// Want fails step unless got (the entries one request wrote) is exactly
// want: none for nil, else one entry with want's actor, action and target
// and a request id.
func Want(t testing.TB, step string, got []audit.Entry, want *audit.Entry) {
	t.Helper()
	if want == nil {
		if len(got) != 0 {
			t.Errorf("%s: wrote %+v, want no entry", step, got)
		}
		return
	}
	if len(got) != 1 {
		t.Fatalf("%s: %d entries %+v, want 1", step, len(got), got)
	}
	if e := got[0]; e.Actor != want.Actor || e.Action != want.Action || e.Target != want.Target || e.RequestID == "" {
		t.Errorf("%s: entry %+v, want %s %s %s with a request id", step, e, want.Actor, want.Action, want.Target)
	}
}

// WantChanges fails step unless e's changes are want, compared as the
// JSON the log stores (so a value read back from the table compares
// equal to the one recorded).
func WantChanges(t testing.TB, step string, e audit.Entry, want map[string]audit.Change) {
	t.Helper()
	got, err := json.Marshal(e.Changes)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(w) {
		t.Errorf("%s: changes %s, want %s", step, got, w)
	}
}
