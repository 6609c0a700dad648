package main

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenim/tokenim/shared/testenv"
)

// TestFailedRowsCSV holds GET /v1/jobs/{id}/errors to docs/batch.md ("The
// failed rows: JSON and CSV"): the JSON list gives each id as written (a
// long one cut to 128 bytes with its marker), the CSV prefixes one ' to a
// cell starting with = + - @ ' tab or CR, and dropping that one ' gives
// the JSON value back.
func TestFailedRowsCSV(t *testing.T) {
	f := newFixture(t, roomy)
	long := strings.Repeat("x", 165)
	tests := []struct {
		name, id  string // id: the cell as written in the submitted file
		json, csv string // the id in the JSON list and in the CSV
	}{
		{"leading minus", "-x", "-x", "'-x"},
		{"formula", "=1+1", "=1+1", "'=1+1"},
		{"leading plus", "+1", "+1", "'+1"},
		{"leading at", "@a", "@a", "'@a"},
		{"leading quote", "'q", "'q", "''q"},
		{"leading tab", "\tt", "\tt", "'\tt"},
		{"invalid but unguarded", "a#b", "a#b", "a#b"},
		{"165 bytes", long, long[:125] + "...", long[:125] + "..."},
	}
	var file strings.Builder
	file.WriteString("user_id\n" + testenv.ID("ok") + "\n")
	for _, tc := range tests {
		file.WriteString(tc.id + "\n")
	}
	r := f.submit(t, "users", "text/csv", file.String())
	id := r.JSON["job_id"].(string)
	f.wait(t, id)

	get := func(accept string) testenv.Reply {
		t.Helper()
		rep := testenv.Call(t, f.handler, testenv.REST{Method: "GET", Resource: "/v1/jobs/{job_id}/errors", Path: "/v1/jobs/" + id + "/errors",
			PathParams: map[string]string{"job_id": id}, Headers: map[string]string{"Accept": accept}, Principal: testenv.Admin()})
		if rep.Status != http.StatusOK {
			t.Fatalf("errors (%s): %d %s", accept, rep.Status, rep.Body)
		}
		return rep
	}
	list := get("application/json").JSON["errors"].([]any)
	recs, err := csv.NewReader(strings.NewReader(get("text/csv").Body)).ReadAll()
	if err != nil || len(list) != len(tests) || len(recs) != len(tests)+1 {
		t.Fatalf("%d JSON errors, CSV %q (%v); want %d rows", len(list), recs, err, len(tests))
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, rec := list[i].(map[string]any), recs[i+1]
			if e["id"] != tc.json || rec[1] != tc.csv {
				t.Fatalf("JSON id %q, CSV id %q; want %q, %q", e["id"], rec[1], tc.json, tc.csv)
			}
			// docs/batch.md's re-import rule restores every cell exactly.
			for col, want := range map[int]any{1: e["id"], 3: e["message"]} {
				if got := unguard(rec[col]); got != want {
					t.Fatalf("column %d: unguarded %q, JSON %q", col, got, want)
				}
			}
		})
	}
}

// unguard is docs/batch.md's rule for re-importing the failed-rows CSV:
// drop one leading ' from a cell that starts with one.
func unguard(cell string) string { return strings.TrimPrefix(cell, "'") }
