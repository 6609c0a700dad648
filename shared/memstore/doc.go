// Package memstore holds in-memory implementations of the store
// interfaces the use cases declare (users.Store, auth.CredentialStore,
// auth.UserGens, batch.Store, realtime.Store, chat.Store). They reproduce
// the observable semantics of the DynamoDB adapter in shared/aws/dynamo
// (conditional writes and their errors, idempotency claims with TTL,
// transactions, paging order and cursors, TTL filtering) so use-case and
// handler tests run without an emulator. shared/storetest holds the
// contract suites that every fake and the DynamoDB adapter must pass; where
// they differ, DynamoDB is the truth.
//
// Every type is safe for concurrent use and copies values in and out, so a
// caller never shares a map or slice with the store.
//
// Shared state follows the tables, not the interfaces:
//   - Users is the users table: users, idempotency keys, and (through
//     Jobs.CreateUserForJob) the job that created a user. Jobs takes the
//     *Users it writes users into; Credentials is independent.
//   - Connections reads group membership (the groups table, owned by the
//     chat fake) through a MemberIDs func: pass the chat fake's method, or
//     a Members for tests that only need realtime.
//
// Time: methods that take a time use it; those whose DynamoDB adapter reads
// the wall clock (idempotency-key expiry) use the store's Now, which tests
// may replace.
package memstore

import "time"

// Clock returns the current time; nil means time.Now.
type Clock func() time.Time

func (c Clock) now() time.Time {
	if c == nil {
		return time.Now()
	}
	return c()
}
