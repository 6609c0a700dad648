package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/users"
)

// Group row limits: the same as POST /v1/groups (shared/chat).
const (
	MaxGroupNameRunes = chat.MaxGroupNameRunes
	// MaxGroupMembersPerRow bounds a row's member list (the deployment's
	// MAX_GROUP_MEMBERS may be lower; CreateGroup then refuses the row with
	// member_limit).
	MaxGroupMembersPerRow = chat.DefaultMaxGroupMembers
	// GroupChunkMaxRows is smaller than users' because one group is one
	// transaction per 49 members.
	GroupChunkMaxRows = 25
)

// GroupRow is one group to create. CSV files use these column names;
// members is one cell of user ids separated by spaces, semicolons or commas
// (quote the cell if you use commas).
type GroupRow struct {
	GroupID   string            `json:"group_id"`
	OwnerID   string            `json:"owner_id"`
	Name      string            `json:"name,omitempty"`
	AvatarURL string            `json:"avatar_url,omitempty"`
	Members   []string          `json:"members,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

// Validate checks what can be checked without reading the table; that the
// owner and members exist is checked when the group is created.
func (g *GroupRow) Validate() error {
	if err := users.ValidateID("group_id", g.GroupID); err != nil {
		return err
	}
	if err := users.ValidateID("owner_id", g.OwnerID); err != nil {
		return err
	}
	if !utf8.ValidString(g.Name) || utf8.RuneCountInString(g.Name) > MaxGroupNameRunes {
		return apierror.New(apierror.ValidationFailed, "name must be valid UTF-8 of at most %d characters.", MaxGroupNameRunes).
			WithDetails(map[string]string{"field": "name"})
	}
	if len(g.Members) > MaxGroupMembersPerRow {
		return apierror.New(apierror.MemberLimit, "A group row may list at most %d members.", MaxGroupMembersPerRow)
	}
	for _, m := range g.Members {
		if err := users.ValidateID("members", m); err != nil {
			return err
		}
	}
	return users.Profile{AvatarURL: g.AvatarURL, Metadata: g.Metadata}.Validate()
}

// splitMembers reads a CSV members cell.
func splitMembers(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
	if len(f) == 0 {
		return nil
	}
	return f
}

var groupSchema = schema[GroupRow]{
	kind:      KindGroups,
	idColumn:  "group_id",
	required:  []string{"group_id", "owner_id"},
	columns:   []string{"group_id", "owner_id", "name", "avatar_url", "members"},
	chunkRows: GroupChunkMaxRows,
	fromCSV: func(c map[string]string, meta map[string]string) GroupRow {
		return GroupRow{GroupID: c["group_id"], OwnerID: c["owner_id"], Name: c["name"], AvatarURL: c["avatar_url"],
			Members: splitMembers(c["members"]), Metadata: meta}
	},
	validate: (*GroupRow).Validate,
	id:       func(g GroupRow) string { return g.GroupID },
	validID:  validID,
}

// ParseGroups reads and validates a groups file.
func ParseGroups(contentType string, body []byte) (*Parsed[GroupRow], error) {
	return parse(groupSchema, contentType, body)
}

// GroupCreator creates groups for batch jobs. The chat package's CreateGroup
// use case sits behind it (ChatGroups), so a batch-created group obeys every
// rule of POST /v1/groups.
type GroupCreator interface {
	// CreateGroup creates row's group for jobID: Created, CreatedEarlier (an
	// earlier delivery of this job made it) or Exists. A rule the row breaks
	// (unknown owner or member, member limit) is an *apierror.Error.
	CreateGroup(ctx context.Context, jobID string, row GroupRow) (Outcome, error)
	// GroupOutcome reports, without writing, what CreateGroup would have
	// found: 0 if the group does not exist.
	GroupOutcome(ctx context.Context, jobID, groupID string) (Outcome, error)
}

func (p *Processor) groupRows(m Message) ([]Item[GroupRow], error) {
	if p.groups == nil {
		return nil, fmt.Errorf("batch: chunk %s/%d: no group creator configured", m.JobID, m.Chunk)
	}
	var items []Item[GroupRow]
	if err := json.Unmarshal(m.Rows, &items); err != nil {
		return nil, fmt.Errorf("batch: chunk %s/%d rows: %w", m.JobID, m.Chunk, err)
	}
	return items, nil
}

func (p *Processor) createGroups(ctx context.Context, m Message) (int, []RowError, error) {
	items, err := p.groupRows(m)
	if err != nil {
		return 0, nil, err
	}
	res := p.eachRow(ctx, len(items), func(i int) (Outcome, *RowError, error) {
		it := items[i]
		if err := it.Data.Validate(); err != nil {
			e := rowError(it.Row, it.Data.GroupID, err)
			return 0, &e, nil
		}
		out, err := p.groups.CreateGroup(ctx, m.JobID, it.Data)
		// A rule the row breaks is final for that row; a conflict (a
		// concurrent change) is retried like any transient error.
		var ae *apierror.Error
		if errors.As(err, &ae) && ae.Code != apierror.Conflict && ae.Code != apierror.Internal {
			e := rowError(it.Row, it.Data.GroupID, ae)
			return 0, &e, nil
		}
		if err != nil {
			return 0, nil, err
		}
		if out == Exists {
			e := rowError(it.Row, it.Data.GroupID, apierror.New(apierror.GroupExists, "Group %q already exists.", it.Data.GroupID))
			return out, &e, nil
		}
		return out, nil, nil
	})
	return tally(m.JobID, m.Chunk, res)
}

func (p *Processor) classifyGroups(ctx context.Context, m Message, reason string) (int, []RowError, error) {
	items, err := p.groupRows(m)
	if err != nil {
		return 0, nil, err
	}
	res := p.eachRow(ctx, len(items), func(i int) (Outcome, *RowError, error) {
		it := items[i]
		out, err := p.groups.GroupOutcome(ctx, m.JobID, it.Data.GroupID)
		if err != nil {
			return 0, nil, err
		}
		switch out {
		case Created, CreatedEarlier:
			return CreatedEarlier, nil, nil
		case Exists:
			e := rowError(it.Row, it.Data.GroupID, apierror.New(apierror.GroupExists, "Group %q already exists.", it.Data.GroupID))
			return out, &e, nil
		}
		e := rowError(it.Row, it.Data.GroupID, apierror.New(apierror.NotProcessed, "%s", reason))
		return 0, &e, nil
	})
	return tally(m.JobID, m.Chunk, res)
}
