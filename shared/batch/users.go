package batch

import (
	"github.com/tokenim/tokenim/shared/users"
)

// UserRow is one user to create. JSON rows use these field names; CSV files
// use them as column names, with metadata as metadata.<key> columns.
type UserRow struct {
	UserID    string            `json:"user_id"`
	Nickname  string            `json:"nickname,omitempty"`
	AvatarURL string            `json:"avatar_url,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

// Validate applies the same rules as POST /v1/users (users.CreateInput's).
func (u *UserRow) Validate() error {
	return u.input().Validate()
}

// input is the row as the users package's creation input.
func (u *UserRow) input() users.CreateInput {
	return users.CreateInput{UserID: u.UserID, Profile: users.Profile{Nickname: u.Nickname, AvatarURL: u.AvatarURL, Metadata: u.Metadata}}
}

var userSchema = schema[UserRow]{
	kind:      KindUsers,
	idColumn:  "user_id",
	required:  []string{"user_id"},
	columns:   []string{"user_id", "nickname", "avatar_url"},
	chunkRows: ChunkMaxRows,
	fromCSV: func(c map[string]string, meta map[string]string) UserRow {
		return UserRow{UserID: c["user_id"], Nickname: c["nickname"], AvatarURL: c["avatar_url"], Metadata: meta}
	},
	validate: (*UserRow).Validate,
	id:       func(u UserRow) string { return u.UserID },
	validID:  validID,
}

func validID(id string) bool { return users.ValidateID("id", id) == nil }

// ParseUsers reads and validates a users file.
func ParseUsers(contentType string, body []byte) (*Parsed[UserRow], error) {
	return parse(userSchema, contentType, body)
}
