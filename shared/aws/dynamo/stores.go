package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/batch"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/realtime"
	"github.com/tokenim/tokenim/shared/users"
)

// Users stores users and idempotency keys (users table): users.go.
type Users struct{ base }

// Credentials stores app credentials (users table): credentials.go.
type Credentials struct{ base }

// Groups stores groups and their members (groups table): groups.go.
type Groups struct{ base }

// Messages stores conversations, messages and read state (messages
// table): conversations.go, messages.go.
type Messages struct{ base }

// Jobs stores batch jobs, their rows and errors, and the users a job
// creates: jobs.go.
type Jobs struct{ base }

// Connections stores WebSocket connections and presence: connections.go.
type Connections struct{ base }

// Chat is chat.Store: the group and the conversation/message adapters.
type Chat struct {
	*Groups
	*Messages
}

var (
	_ users.Store            = (*Users)(nil)
	_ auth.UserGens          = (*Users)(nil)
	_ auth.CredentialStore   = (*Credentials)(nil)
	_ chat.GroupStore        = (*Groups)(nil)
	_ chat.ConversationStore = (*Messages)(nil)
	_ chat.MessageStore      = (*Messages)(nil)
	_ chat.Store             = Chat{}
	_ batch.Store            = (*Jobs)(nil)
	_ realtime.Store         = (*Connections)(nil)
)

// Stores holds every adapter over one client and one set of tables.
type Stores struct {
	Users       *Users
	Credentials *Credentials
	Groups      *Groups
	Messages    *Messages
	Chat        Chat
	Jobs        *Jobs
	Connections *Connections
}

// New returns the adapters over client and tables.
func New(client *dynamodb.Client, t Tables) Stores {
	b := base{client: client, t: t}
	s := Stores{
		Users:       &Users{b},
		Credentials: &Credentials{b},
		Groups:      &Groups{b},
		Messages:    &Messages{b},
		Jobs:        &Jobs{b},
		Connections: &Connections{b},
	}
	s.Chat = Chat{Groups: s.Groups, Messages: s.Messages}
	return s
}

// Client exposes the DynamoDB client (for packages with their own items).
func (s Stores) Client() *dynamodb.Client { return s.Users.client }

// Tables returns the table names.
func (s Stores) Tables() Tables { return s.Users.t }

// ClaimIdempotencyKey is users.go's, for batch.Store: both use cases key
// their Idempotency-Key records in the users table.
func (db *Jobs) ClaimIdempotencyKey(ctx context.Context, scope, k, fp string, ttl time.Duration) (string, error) {
	return (&Users{db.base}).ClaimIdempotencyKey(ctx, scope, k, fp, ttl)
}
