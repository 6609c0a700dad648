package batch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
)

// GroupReader reads a group head (nil if absent); chat.Store has it.
type GroupReader interface {
	GetGroup(ctx context.Context, gid string) (*chat.Group, error)
}

// ChatGroups is the GroupCreator of a deployment: chat.Service.CreateGroup
// with the job's Idempotency-Key "batch:<job id>", so a redelivered chunk
// finds the groups it made (created=false) and finishes adding their
// members, and a group that existed before the job is group_exists.
type ChatGroups struct {
	Chat   *chat.Service
	Groups GroupReader
}

// batchPrincipal is the admin identity batch-created groups are made by.
var batchPrincipal = auth.Principal{Kind: auth.KindAdmin, KeyID: "batch"}

func groupIdemKey(jobID string) string { return "batch:" + jobID }

// CreateGroup implements GroupCreator.
func (c ChatGroups) CreateGroup(ctx context.Context, jobID string, row GroupRow) (Outcome, error) {
	_, created, err := c.Chat.CreateGroup(ctx, batchPrincipal, chat.CreateGroupInput{GroupID: row.GroupID, OwnerID: row.OwnerID,
		Name: row.Name, AvatarURL: row.AvatarURL, Metadata: row.Metadata, Members: row.Members, IdempotencyKey: groupIdemKey(jobID)})
	switch {
	case apierror.Is(err, apierror.GroupExists):
		return Exists, nil
	case apierror.Is(err, apierror.NotFound):
		return 0, missingUsers(err)
	case err != nil:
		return 0, err
	case created:
		return Created, nil
	}
	return CreatedEarlier, nil
}

// missingUsers names the missing owner or members in the row's message
// (a row error has no details).
func missingUsers(err error) error {
	var ae *apierror.Error
	if !errors.As(err, &ae) {
		return err
	}
	d, _ := ae.Details.(map[string]any)
	ids, _ := d["user_ids"].([]string)
	if len(ids) == 0 {
		return err
	}
	list := strings.Join(ids[:min(len(ids), 10)], ", ")
	if len(ids) > 10 {
		list += fmt.Sprintf(" and %d more", len(ids)-10)
	}
	return apierror.New(apierror.NotFound, "These users do not exist: %s.", list)
}

// GroupOutcome implements GroupCreator.
func (c ChatGroups) GroupOutcome(ctx context.Context, jobID, groupID string) (Outcome, error) {
	g, err := c.Groups.GetGroup(ctx, groupID)
	if err != nil {
		return 0, fmt.Errorf("batch: read group: %w", err)
	}
	switch {
	case g == nil:
		return 0, nil
	case jobID != "" && !g.Dissolved && strings.HasPrefix(g.IdempotencyKey, groupIdemKey(jobID)+" "):
		return CreatedEarlier, nil
	}
	return Exists, nil
}
