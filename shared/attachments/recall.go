package attachments

import (
	"context"

	"github.com/tokenim/tokenim/shared/chat"
)

// RecallStore wraps the chat store of the send paths so that recalling a
// message deletes its files: the recall path, through the store port,
// rather than a stream reader, because the recall erases the message's
// attachments in the same write (the stream's new image no longer names
// them) and the Messages stream already has its two readers.
//
// Cost: a recall reads the message first (one GetItem); one with
// attachments then sends one DeleteObjects and one BatchWriteItem (the
// records). The recall is stored before anything is deleted; a deletion
// that fails is logged and leaves the files (no longer listed by any
// message) in the bucket.
func (s *Service) RecallStore(inner chat.Store) chat.Store { return recallStore{Store: inner, s: s} }

type recallStore struct {
	chat.Store
	s *Service
}

func (r recallStore) ChangeMessage(ctx context.Context, ch chat.MessageChange) (chat.Message, *chat.Message, error) {
	if !ch.Recall {
		return r.Store.ChangeMessage(ctx, ch)
	}
	before, err := r.Store.GetMessage(ctx, ch.ConversationID, ch.Seq)
	if err != nil {
		return chat.Message{}, nil, err
	}
	m, old, err := r.Store.ChangeMessage(ctx, ch)
	if err != nil || old != nil || before == nil || len(before.Attachments) == 0 {
		return m, old, err
	}
	r.s.deleteFiles(ctx, ch.ConversationID, before.Attachments)
	return m, old, nil
}

// deleteFiles removes a recalled message's objects and upload records.
func (s *Service) deleteFiles(ctx context.Context, conv chat.ConversationID, as []chat.Attachment) {
	keys, ids := make([]string, len(as)), make([]string, len(as))
	for i, a := range as {
		keys[i], ids[i] = objectKey(conv, a.UploadID), a.UploadID
	}
	if err := s.objects.Delete(ctx, keys); err != nil {
		s.log.WarnContext(ctx, "message recalled, its files not deleted", "conversation_id", conv, "files", len(keys), "error", err)
		return
	}
	if err := s.store.DeleteUploads(ctx, ids); err != nil {
		s.log.WarnContext(ctx, "message recalled and its files deleted, upload records left", "conversation_id", conv, "error", err)
	}
}
