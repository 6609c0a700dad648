package storetest

import (
	"reflect"
	"testing"

	"github.com/tokenim/tokenim/shared/chat"
)

// chatAttachmentCases: a message's attachments round-trip as sent, and a
// recall erases them with the rest of its content.
func chatAttachmentCases() []chatCase {
	return []chatCase{
		{"PutMessage/attachments round-trip; recall erases them", func(t *testing.T, s chat.Store) {
			conv := newConv()
			m := msg(conv, 1, "a")
			m.Text = ""
			m.Attachments = []chat.Attachment{
				{UploadID: "up_aaaaaaaaaaaaaaaaaaaaaaaa", Name: "cat.png", ContentType: "image/png", Size: 1234, Width: 640, Height: 480},
				{UploadID: "up_bbbbbbbbbbbbbbbbbbbbbbbb", Name: "talk.ogg", ContentType: "audio/ogg", Size: 99, Duration: 2.5},
			}
			put(t, s, m)
			if got := getMessage(t, s, conv, 1); !reflect.DeepEqual(*got, m) {
				t.Fatalf("stored = %+v\nwant %+v", got.Attachments, m.Attachments)
			}
			got, _, err := s.ChangeMessage(ctxOf(t), chat.MessageChange{ConversationID: conv, Seq: 1, Recall: true, At: at(5), EventSeq: 2})
			must(t, err)
			if got.Attachments != nil || getMessage(t, s, conv, 1).Attachments != nil {
				t.Fatalf("recalled message keeps attachments %+v", got.Attachments)
			}
		}},
	}
}
