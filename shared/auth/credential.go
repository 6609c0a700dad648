package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// An app credential is a key id (public, like a username) and a secret
// shown once. Only SHA-256 of the secret is stored: the secret is 256 random
// bits, so a slow password hash would add Lambda time without adding safety.

// Credential is the stored form of an app credential. Revoked is the
// API's "disabled" (the attribute kept its first name, so operators'
// scripts and existing items still work).
type Credential struct {
	KeyID      string `dynamodbav:"key_id" json:"key_id"`
	SecretHash string `dynamodbav:"secret_hash" json:"-"`
	Name       string `dynamodbav:"name" json:"name,omitempty"`
	CreatedAt  int64  `dynamodbav:"created_at" json:"created_at"`
	Revoked    bool   `dynamodbav:"revoked,omitempty" json:"revoked,omitempty"`
	// Scopes are the credential's rights; nil (a credential made before
	// scopes existed, or by the bootstrap tool) is full rights.
	Scopes    Scopes `dynamodbav:"scopes,omitempty" json:"scopes,omitempty"`
	CreatedBy string `dynamodbav:"created_by,omitempty" json:"created_by,omitempty"` // key id of the creator
	UpdatedAt int64  `dynamodbav:"updated_at,omitempty" json:"updated_at,omitempty"`
}

// Rights are the scopes the credential grants (FullRights when it has no list).
func (c Credential) Rights() Scopes {
	if c.Scopes == nil {
		return FullRights
	}
	return c.Scopes
}

// NewCredential creates a key id and secret; it returns the stored form and
// the plain secret, which the caller shows once and never stores.
func NewCredential(name string, now int64) (Credential, string, error) {
	id := make([]byte, 10)
	sec := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		return Credential{}, "", err
	}
	if _, err := rand.Read(sec); err != nil {
		return Credential{}, "", err
	}
	keyID := "tk_" + strings.ToLower(hex.EncodeToString(id))
	secret := "tks_" + base64.RawURLEncoding.EncodeToString(sec)
	return Credential{KeyID: keyID, SecretHash: HashSecret(secret), Name: name, CreatedAt: now}, secret, nil
}

// HashSecret is the stored form of a secret.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// dummyHash is compared against when a key id is unknown, so an unknown key
// id and a wrong secret take the same path and the same time.
var dummyHash = HashSecret("tokenim-dummy-secret-for-constant-time-compare")

// CheckSecret reports whether secret matches c in constant time. Pass a nil
// credential for an unknown key id: the comparison still runs.
func CheckSecret(c *Credential, secret string) bool {
	want := dummyHash
	if c != nil {
		want = c.SecretHash
	}
	got := HashSecret(secret)
	ok := subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
	return ok && c != nil && !c.Revoked
}
