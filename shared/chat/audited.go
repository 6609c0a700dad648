package chat

// App-wide grants (shared/permissions) as chat applies them, and the audit
// entries of what they and admin tokens change. A grant only adds rights:
// group roles keep working inside their group.

import (
	"context"
	"maps"
	"slices"
	"strconv"

	"github.com/tokenim/tokenim/shared/audit"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/permissions"
)

// hasGrant reports whether p is a user whose app-wide role holds grant.
// Admin tokens never hold grants: their scopes were checked by the route.
func hasGrant(p auth.Principal, grant string) bool {
	return p.Kind == auth.KindUser && slices.Contains(permissions.GrantsOf(p), grant)
}

// record writes one audit entry for p's action on target, with the
// request's origin from ctx (audit.WithMeta, set by the handler). Without
// a recorder nothing is written.
func (s *Service) record(ctx context.Context, p auth.Principal, action, target string, changes map[string]audit.Change) {
	if s.audit == nil {
		return
	}
	s.audit.Record(ctx, audit.MetaFrom(ctx), audit.Entry{Actor: p.Actor(), Action: action, Target: target, Changes: changes})
}

func groupTarget(gid string) string { return "group:" + gid }
func userTarget(uid string) string  { return "user:" + uid }

// messageRef names a message in audit entries: "<conversation id>/<seq>".
func messageRef(conv ConversationID, seq int64) string {
	return string(conv) + "/" + strconv.FormatInt(seq, 10)
}

// memberChanges are the audited fields of a membership change.
func memberChanges(uid string, before, after Member) map[string]audit.Change {
	c := map[string]audit.Change{"member": {After: uid}}
	if before.Role != after.Role {
		c["role"] = audit.Change{Before: string(before.Role), After: string(after.Role)}
	}
	if before.Muted != after.Muted {
		c["muted"] = audit.Change{Before: before.Muted, After: after.Muted}
	}
	return c
}

// groupChanges are the fields an update changed (metadata as a whole).
func groupChanges(before, after Group) map[string]audit.Change {
	c := map[string]audit.Change{}
	if before.Name != after.Name {
		c["name"] = audit.Change{Before: before.Name, After: after.Name}
	}
	if before.AvatarURL != after.AvatarURL {
		c["avatar_url"] = audit.Change{Before: before.AvatarURL, After: after.AvatarURL}
	}
	if before.MutedAll != after.MutedAll {
		c["muted_all"] = audit.Change{Before: before.MutedAll, After: after.MutedAll}
	}
	if !maps.Equal(before.Metadata, after.Metadata) {
		c["metadata"] = audit.Change{Before: before.Metadata, After: after.Metadata}
	}
	return c
}
