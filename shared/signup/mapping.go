// Package signup creates chat accounts when users sign up elsewhere: the
// Cognito PostConfirmation trigger, its retry queue and worker. The
// attribute mapping lives here so that every path names a user the same way.
package signup

import (
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/users"
)

// Mapping says how identity-provider attributes become a chat account.
//
//	user_id    <- the IDAttribute ("sub" by default: unique and immutable)
//	nickname   <- "name", else "preferred_username" (cut to 64 characters)
//	avatar_url <- "picture" if it is an http(s) URL of at most 2 KB
//	metadata   <- each of MetadataAttributes that is set (at most 20)
//
// shared/app fills it from SIGNUP_ID_ATTRIBUTE and SIGNUP_METADATA_ATTRIBUTES
// (the template's CognitoUserIdAttribute and CognitoMetadataAttributes).
type Mapping struct {
	IDAttribute        string
	MetadataAttributes []string
}

func (m Mapping) idAttribute() string {
	if m.IDAttribute == "" {
		return "sub"
	}
	return m.IDAttribute
}

// CognitoSource names a Cognito identity; a chat user created for it
// records this, so a repeated event is recognised as the same sign-up.
func CognitoSource(userPoolID, sub string) string { return "cognito:" + userPoolID + ":" + sub }

// Account maps attributes to a new user. Only the id can make it fail
// (missing or not a valid user id: retrying cannot help, so callers do
// not). Profile values that would not validate are trimmed or dropped
// and named in dropped, so a sloppy attribute never costs a user their
// chat account.
func (m Mapping) Account(source string, attrs map[string]string) (in users.CreateInput, dropped []string, err error) {
	id := attrs[m.idAttribute()]
	if id == "" {
		return users.CreateInput{}, nil, apierror.New(apierror.ValidationFailed, "The sign-up has no %q attribute to use as the user id.", m.idAttribute())
	}
	if err := users.ValidateID("user_id", id); err != nil {
		return users.CreateInput{}, nil, err
	}
	in = users.CreateInput{UserID: id, Source: source}
	nick := attrs["name"]
	if nick == "" {
		nick = attrs["preferred_username"]
	}
	in.Nickname = truncateRunes(strings.ToValidUTF8(nick, ""), users.MaxNicknameRunes)
	// Each value is kept only if users' own rules accept it.
	if pic := attrs["picture"]; pic != "" {
		if (users.Profile{AvatarURL: pic}).Validate() == nil {
			in.AvatarURL = pic
		} else {
			dropped = append(dropped, "picture")
		}
	}
	for _, a := range m.MetadataAttributes {
		v, ok := attrs[a]
		if !ok {
			continue
		}
		if len(in.Metadata) < users.MaxMetadataKeys && users.ValidateMetadata(map[string]string{a: v}) == nil {
			if in.Metadata == nil {
				in.Metadata = map[string]string{}
			}
			in.Metadata[a] = v
		} else {
			dropped = append(dropped, a)
		}
	}
	sort.Strings(dropped)
	return in, dropped, nil
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
