package main

import (
	"context"
	"testing"

	"github.com/tokenim/tokenim/shared/testenv"
	"github.com/tokenim/tokenim/shared/users"
)

// TestRequestCounts pins the DynamoDB requests of each user operation
// (docs/data-model.md quotes these). Only DynamoDB can count them.
func TestRequestCounts(t *testing.T) {
	testenv.NeedAWS(t)
	env := testenv.Get(t)
	cfg, counter := env.Counted()
	svc := users.NewService(env.DB(cfg).Users, env.Cursors, nil)
	ctx := context.Background()
	admin := *testenv.Admin()
	id := testenv.ID("cost")
	tests := []struct {
		name string
		op   func() error
		want map[string]int
	}{
		{"create", func() error { _, _, err := svc.Create(ctx, admin, users.CreateInput{UserID: id}, ""); return err },
			map[string]int{"DynamoDB.PutItem": 1}},
		{"create with idempotency key", func() error {
			_, _, err := svc.Create(ctx, admin, users.CreateInput{UserID: id + "-i"}, testenv.ID("k"))
			return err
		}, map[string]int{"DynamoDB.PutItem": 2}},
		{"get", func() error { _, err := svc.Get(ctx, admin, id); return err }, map[string]int{"DynamoDB.GetItem": 1}},
		{"update", func() error {
			n := "x"
			_, err := svc.Update(ctx, admin, id, users.Patch{Nickname: &n})
			return err
		}, map[string]int{"DynamoDB.UpdateItem": 1}},
		{"upsert (update)", func() error {
			n := "y"
			_, err := svc.Upsert(ctx, admin, id, users.Patch{Nickname: &n}, testenv.ID("k"))
			return err
		}, map[string]int{"DynamoDB.UpdateItem": 1}},
		{"upsert (create)", func() error { _, err := svc.Upsert(ctx, admin, id+"-u", users.Patch{}, ""); return err },
			map[string]int{"DynamoDB.UpdateItem": 1}},
		{"ensure (sign-up)", func() error {
			_, _, err := svc.Ensure(ctx, users.CreateInput{UserID: id + "-s", Source: "cognito:pool:sub"})
			return err
		}, map[string]int{"DynamoDB.PutItem": 1}},
		{"delete", func() error { return svc.Delete(ctx, admin, id) }, map[string]int{"DynamoDB.DeleteItem": 1}},
		{"invalid id costs nothing", func() error { _, err := svc.Get(ctx, admin, "a#b"); _ = err; return nil }, map[string]int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			counter.Reset()
			if err := tc.op(); err != nil {
				t.Fatal(err)
			}
			s := counter.Snapshot()
			if len(s.Requests) != len(tc.want) {
				t.Fatalf("requests %v, want %v", s.Requests, tc.want)
			}
			for op, n := range tc.want {
				if s.Count(op) != n {
					t.Fatalf("requests %v, want %v", s.Requests, tc.want)
				}
			}
			if s.Total("DynamoDB") > 0 && s.ReadUnits+s.WriteUnits == 0 {
				t.Logf("emulator reported no consumed capacity: %s", s)
			}
		})
	}
}
