package moderation

// The send guard (chat.SendGuard): every message a user sends passes, in
// order of cost, the per-user rate limits (no request), the ban check (a
// read of the sender's status, cached per sandbox for StatusTTL), the DM
// blocklist (one read per DM, cached for BlockTTL) and the word filter
// (loaded once per sandbox, refreshed every FilterTTL). System messages
// and messages an admin token sends as the system are not screened. Edits
// pass it as sends do (chat.SendCheck.Edit); reactions pass the ban and
// the blocklist (CheckReaction).

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/chat"
	"github.com/tokenim/tokenim/shared/permissions"
	"github.com/tokenim/tokenim/shared/ratelimit"
)

// How stale a sandbox's view may be: a ban, a block or a word list change
// reaches every sandbox within these (docs/permissions.md).
const (
	StatusTTL = 5 * time.Second
	BlockTTL  = 5 * time.Second
	FilterTTL = 30 * time.Second
	cacheKeys = 10_000
)

// SendLimits are the per-user send limits (both apply): 10 a second with
// bursts of 30 (a client flushing its outbox after a reconnect), and 120
// a minute.
var SendLimits = []ratelimit.Limit{{N: 10, Per: time.Second, Burst: 30}, {N: 120, Per: time.Minute}}

// Guard screens messages before they are stored.
type Guard struct {
	status  auth.UserStatuses
	blocks  BlockStore
	words   *FilterCache
	limiter *ratelimit.Limiter
	roles   *permissions.RoleBook // nil: Standing keeps the principal's grants
	now     func() time.Time

	statusCache *expirable.LRU[string, cached[auth.UserStatus]]
	blockCache  *expirable.LRU[string, cached[bool]]
}

// cached is a cache entry with the time it was read (by the guard's clock).
type cached[T any] struct {
	v  T
	at time.Time
}

var (
	_ chat.SendGuard     = (*Guard)(nil)
	_ chat.ReactionGuard = (*Guard)(nil)
)

// NewGuard builds the guard over the moderation store. Pass it to
// chat.Options{Guard: ...}.
func NewGuard(s Store, log *slog.Logger) *Guard {
	return NewGuardAt(s, log, time.Now)
}

// NewGuardAt is NewGuard with a clock (tests move time to expire caches
// and refill buckets). The caches' own expiry runs on the real clock, so
// the guard also checks their age against now.
func NewGuardAt(s Store, log *slog.Logger, now func() time.Time) *Guard {
	return &Guard{status: s, blocks: s, words: NewFilterCache(s, log, now), limiter: ratelimit.New(now, SendLimits...), now: now,
		statusCache: expirable.NewLRU[string, cached[auth.UserStatus]](cacheKeys, nil, StatusTTL),
		blockCache:  expirable.NewLRU[string, cached[bool]](cacheKeys, nil, BlockTTL)}
}

// CheckSend implements chat.SendGuard.
func (g *Guard) CheckSend(ctx context.Context, c chat.SendCheck) (chat.SendContent, error) {
	if c.System || c.SenderID == "" {
		return c.Content, nil
	}
	if c.Principal.Kind == auth.KindUser {
		if ok, wait := g.limiter.Allow(c.SenderID); !ok {
			return chat.SendContent{}, ratelimit.Error("messages", wait)
		}
	}
	if err := g.checkBan(ctx, c.SenderID); err != nil {
		return chat.SendContent{}, err
	}
	if err := g.checkBlock(ctx, c.Peer(), c.SenderID); err != nil {
		return chat.SendContent{}, err
	}
	return g.words.Screen(ctx, c.Content)
}

// CheckReaction implements chat.ReactionGuard: a banned user cannot
// react, nor can a user react in a DM with someone who blocked them
// (the answer is the blocked send's). Reactions are not rate limited
// here and carry no text to filter.
func (g *Guard) CheckReaction(ctx context.Context, c chat.ReactionCheck) error {
	if c.UserID == "" {
		return nil
	}
	if err := g.checkBan(ctx, c.UserID); err != nil {
		return err
	}
	return g.checkBlock(ctx, c.Peer(), c.UserID)
}

// checkBlock refuses user's message or reaction in a DM with peer when
// peer blocked them ("" peer: not a DM).
func (g *Guard) checkBlock(ctx context.Context, peer, user string) error {
	if peer == "" {
		return nil
	}
	blocked, err := g.isBlocked(ctx, peer, user)
	if err != nil {
		return err
	}
	if blocked {
		// Word for word what a DM to a user that does not exist gets
		// (shared/chat), so the sender cannot tell a block from that.
		return apierror.New(apierror.NotFound, "User %q was not found.", peer)
	}
	return nil
}

func (g *Guard) checkBan(ctx context.Context, userID string) error {
	st, err := g.userStatus(ctx, userID)
	if err != nil {
		return err
	}
	if st.Ban.Active(g.now()) {
		return auth.BannedError(st.Ban)
	}
	return nil
}

// userStatus is the user's ban and role, read at most once per StatusTTL
// per sandbox.
func (g *Guard) userStatus(ctx context.Context, userID string) (auth.UserStatus, error) {
	c, ok := g.statusCache.Get(userID)
	if ok && g.now().Sub(c.at) < StatusTTL {
		return c.v, nil
	}
	st, err := g.status.UserStatus(ctx, userID)
	if err != nil {
		return auth.UserStatus{}, err
	}
	g.statusCache.Add(userID, cached[auth.UserStatus]{st, g.now()})
	return st, nil
}

// WithRoles lets Standing resolve a user's current role to its grants.
func (g *Guard) WithRoles(b *permissions.RoleBook) *Guard {
	g.roles = b
	return g
}

// Standing is a user principal as it stands now rather than as its token
// (or its socket's $connect) saw it: a banned user is refused (banned), a
// deleted one too (unauthorized), and the role and grants are the current
// ones. The user's status is the send guard's cached read (at most
// StatusTTL old), app roles the RoleBook's (at most 30 s old). A
// WebSocket frame passes it before its action runs
// (docs/permissions.md, "Open WebSockets").
func (g *Guard) Standing(ctx context.Context, p auth.Principal) (auth.Principal, error) {
	if p.Kind != auth.KindUser {
		return p, nil
	}
	st, err := g.userStatus(ctx, p.UserID)
	if err != nil {
		return auth.Principal{}, err
	}
	if st.Gen == 0 {
		return auth.Principal{}, apierror.New(apierror.Unauthorized, "The user no longer exists.")
	}
	if st.Ban.Active(g.now()) {
		return auth.Principal{}, auth.BannedError(st.Ban)
	}
	if g.roles != nil {
		grants, err := g.roles.GrantsOf(ctx, st.Role)
		if err != nil {
			return auth.Principal{}, err
		}
		p.Role, p.Grants = st.Role, grants
	}
	p.Ban = nil
	return p, nil
}

func (g *Guard) isBlocked(ctx context.Context, owner, other string) (bool, error) {
	k := blockKey(owner, other)
	if c, ok := g.blockCache.Get(k); ok && g.now().Sub(c.at) < BlockTTL {
		return c.v, nil
	}
	v, err := g.blocks.IsBlocked(ctx, owner, other)
	if err != nil {
		return false, err
	}
	g.blockCache.Add(k, cached[bool]{v, g.now()})
	return v, nil
}

// FilterCache holds the compiled word filter of a sandbox.
type FilterCache struct {
	store WordStore
	log   *slog.Logger
	now   func() time.Time

	mu      sync.Mutex
	m       *Matcher
	fetched time.Time
}

// NewFilterCache builds an empty cache (loaded on first use).
func NewFilterCache(s WordStore, log *slog.Logger, now func() time.Time) *FilterCache {
	return &FilterCache{store: s, log: log, now: now}
}

// matcher returns the filter, reloading it when older than FilterTTL. If a
// reload fails the previous filter keeps serving (logged); with none yet,
// the error fails the send (a filter is never silently skipped).
func (f *FilterCache) matcher(ctx context.Context) (*Matcher, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m != nil && f.now().Sub(f.fetched) < FilterTTL {
		return f.m, nil
	}
	wf, err := f.store.GetWordFilter(ctx)
	if err == nil {
		var m *Matcher
		if m, err = Compile(wf); err == nil {
			f.m, f.fetched = m, f.now()
			return m, nil
		}
	}
	if f.m != nil {
		f.log.WarnContext(ctx, "word filter reload failed; keeping the loaded one", "err", err.Error())
		f.fetched = f.now() // retry after another TTL, not on every send
		return f.m, nil
	}
	return nil, err
}

// Forget drops the loaded filter (after this sandbox changed it).
func (f *FilterCache) Forget() {
	f.mu.Lock()
	f.m = nil
	f.mu.Unlock()
}

// Screen applies the filter to a message's text and payload strings.
func (f *FilterCache) Screen(ctx context.Context, c chat.SendContent) (chat.SendContent, error) {
	m, err := f.matcher(ctx)
	if err != nil {
		return chat.SendContent{}, err
	}
	text, hitText := m.Apply(c.Text)
	var payload *chat.Payload
	hitPayload := false
	if c.Payload != nil {
		p := *c.Payload
		p.Type, hitPayload = m.Apply(p.Type)
		data, hit, err := screenJSON(m, p.Data)
		if err != nil {
			return chat.SendContent{}, err
		}
		hitPayload = hitPayload || hit
		p.Data = data
		payload = &p
	}
	if !hitText && !hitPayload {
		return c, nil
	}
	if m.Action() == FilterReject {
		field := "text"
		if !hitText {
			field = "payload"
		}
		return chat.SendContent{}, apierror.New(apierror.ContentRejected, "The message contains words this app does not allow.").
			WithDetails(map[string]any{"field": field})
	}
	return chat.SendContent{Text: text, Payload: payload}, nil
}
