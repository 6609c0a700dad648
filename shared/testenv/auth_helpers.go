package testenv

import "testing"

// Revoke marks an app credential revoked on the backend, as an operator
// does (there is no API for it): the memory store's credential, or the
// revoked attribute of its DynamoDB item (RevokeCredential).
func (e *Env) Revoke(t testing.TB, keyID string) {
	t.Helper()
	if e.Memory != nil {
		if err := e.Memory.Credentials.Revoke(keyID); err != nil {
			t.Fatal(err)
		}
		return
	}
	RevokeCredential(t, e.Cfg, e.Tables.Users, keyID)
}
