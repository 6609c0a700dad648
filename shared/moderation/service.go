package moderation

// The moderation use cases behind functions/moderation. Who may call each
// is the rule table's (shared/permissions, checked before the handler);
// the rules here are the finer ones: a user acts on their own blocklist,
// a moderator cannot ban a user whose role may ban too, nobody bans
// themselves, and bad input is refused before anything is written.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/auth"
	"github.com/tokenim/tokenim/shared/permissions"
	"github.com/tokenim/tokenim/shared/ratelimit"
	"github.com/tokenim/tokenim/shared/users"
)

// MessageReader reads one message as a principal would (so a report can
// only name a message its reporter may read), for the report's snapshot.
type MessageReader interface {
	ReadMessage(ctx context.Context, p auth.Principal, conversationID string, seq int64) (senderID, text string, err error)
}

// Service holds the moderation use cases.
type Service struct {
	store    Store
	roles    *permissions.RoleBook
	messages MessageReader
	onBan    []func(ctx context.Context, userID string)
	reports  *ratelimit.Limiter
	now      func() time.Time
}

// ReportLimits bound how fast one user files reports (per sandbox).
var ReportLimits = []ratelimit.Limit{{N: 10, Per: time.Minute}, {N: 100, Per: 24 * time.Hour}}

// NewService builds the use cases.
func NewService(s Store, roles *permissions.RoleBook, m MessageReader, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, roles: roles, messages: m, reports: ratelimit.New(now, ReportLimits...), now: now}
}

// OnBan registers what runs after a ban is stored (closing the user's
// sockets, so a banned user is gone within seconds).
func (s *Service) OnBan(f func(ctx context.Context, userID string)) { s.onBan = append(s.onBan, f) }

// Limits on free text.
const (
	MaxReasonRunes     = 500
	MaxBanDuration     = 10 * 365 * 24 * time.Hour
	MaxResolutionRunes = 500
)

func text(field, v string, max int, required bool) error {
	n := utf8.RuneCountInString(v)
	if (required && strings.TrimSpace(v) == "") || n > max {
		return apierror.New(apierror.ValidationFailed, "%s must be 1 to %d characters.", field, max).WithDetails(map[string]any{"field": field})
	}
	return nil
}

func notFoundUser(id string) error {
	return apierror.New(apierror.NotFound, "User %q was not found.", id)
}

// BanInput is a ban's reason and optional expiry.
type BanInput struct {
	Reason    string
	ExpiresAt *time.Time
}

// Ban bans a user app-wide: their tokens are refused from the next
// request and their sockets closed. It returns the ban and the one it
// replaced (nil: none in force), read just before the write for the audit
// log.
func (s *Service) Ban(ctx context.Context, p auth.Principal, userID string, in BanInput) (auth.Ban, *auth.Ban, error) {
	if err := users.ValidateID("user_id", userID); err != nil {
		return auth.Ban{}, nil, err
	}
	if err := text("reason", in.Reason, MaxReasonRunes, true); err != nil {
		return auth.Ban{}, nil, err
	}
	now := s.now()
	b := auth.Ban{Reason: in.Reason, By: p.Actor(), At: now.UnixMilli()}
	if in.ExpiresAt != nil {
		if !in.ExpiresAt.After(now) || in.ExpiresAt.Sub(now) > MaxBanDuration {
			return auth.Ban{}, nil, apierror.New(apierror.ValidationFailed, "expires_at must be in the future and within 10 years (omit it for a ban until lifted).").
				WithDetails(map[string]any{"field": "expires_at"})
		}
		b.Until = in.ExpiresAt.UnixMilli()
	}
	before, err := s.mayModerate(ctx, p, userID, "ban")
	if err != nil {
		return auth.Ban{}, nil, err
	}
	ok, err := s.store.SetBan(ctx, userID, b)
	if err != nil {
		return auth.Ban{}, nil, err
	}
	if !ok {
		return auth.Ban{}, nil, notFoundUser(userID)
	}
	for _, f := range s.onBan {
		f(ctx, userID)
	}
	return b, s.inForce(before.Ban), nil
}

func (s *Service) inForce(b *auth.Ban) *auth.Ban {
	if !b.Active(s.now()) {
		return nil
	}
	return b
}

// Unban lifts a ban (lifting none is not an error: the user is unbanned).
// It returns the ban it lifted (nil: none was in force).
func (s *Service) Unban(ctx context.Context, p auth.Principal, userID string) (*auth.Ban, error) {
	if err := users.ValidateID("user_id", userID); err != nil {
		return nil, err
	}
	before, err := s.mayModerate(ctx, p, userID, "unban")
	if err != nil {
		return nil, err
	}
	ok, err := s.store.ClearBan(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFoundUser(userID)
	}
	return s.inForce(before.Ban), nil
}

// mayModerate refuses a user acting on themselves, or on a user whose
// role may ban as well (moderators do not ban each other: an admin does).
// It returns the target's status as read (one GetItem, for every caller:
// the audit log records the ban it replaces).
func (s *Service) mayModerate(ctx context.Context, p auth.Principal, target, verb string) (auth.UserStatus, error) {
	if p.Kind == auth.KindUser && target == p.UserID {
		return auth.UserStatus{}, apierror.New(apierror.Forbidden, "A user cannot %s themselves.", verb)
	}
	st, err := s.store.UserStatus(ctx, target)
	if err != nil {
		return st, err
	}
	if st.Gen == 0 {
		return st, notFoundUser(target)
	}
	if p.Kind != auth.KindUser {
		return st, nil
	}
	g, err := s.roles.GrantsOf(ctx, st.Role)
	if err != nil {
		return st, err
	}
	if slices.Contains(g, permissions.GrantBan) {
		return st, apierror.New(apierror.Forbidden, "A moderator cannot %s a user whose role may ban; an admin token can.", verb)
	}
	return st, nil
}

// SetRole gives a user an app-wide role ("user" is the default one) and
// returns the role it replaced, read just before the write (one GetItem,
// for the audit log).
func (s *Service) SetRole(ctx context.Context, userID, role string) (string, error) {
	if err := users.ValidateID("user_id", userID); err != nil {
		return "", err
	}
	ok, err := s.roles.Exists(ctx, role)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", apierror.New(apierror.ValidationFailed, "role %q is not defined (GET /v1/roles).", truncate(role, 64)).WithDetails(map[string]any{"field": "role"})
	}
	if role == permissions.RoleUser {
		role = ""
	}
	st, err := s.store.UserStatus(ctx, userID)
	if err != nil {
		return "", err
	}
	if st.Gen == 0 {
		return "", notFoundUser(userID)
	}
	if ok, err = s.store.SetRole(ctx, userID, role); err != nil {
		return "", err
	}
	if !ok {
		return "", notFoundUser(userID)
	}
	if st.Role == "" {
		return permissions.RoleUser, nil
	}
	return st.Role, nil
}

// Role is a role and its grants, for GET /v1/roles.
type Role struct {
	Name    string   `json:"name"`
	Grants  []string `json:"grants"`
	BuiltIn bool     `json:"built_in"`
}

// Roles lists the built-in and app-defined roles, by name.
func (s *Service) Roles(ctx context.Context) ([]Role, error) {
	app, err := s.store.GetRoles(ctx)
	if err != nil {
		return nil, err
	}
	var out []Role
	for n, g := range permissions.BuiltinRoles {
		out = append(out, Role{Name: n, Grants: g, BuiltIn: true})
	}
	for n, g := range app {
		out = append(out, Role{Name: n, Grants: g})
	}
	slices.SortFunc(out, func(a, b Role) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// PutRole defines or redefines an app role (at most permissions.MaxRoles).
// It returns the role's grants before (nil: a new role), read just before
// the write (one GetItem, for the audit log).
func (s *Service) PutRole(ctx context.Context, name string, grants []string) (Role, []string, error) {
	if grants == nil {
		grants = []string{}
	}
	if err := permissions.ValidateRole(name, grants); err != nil {
		return Role{}, nil, err
	}
	app, err := s.store.GetRoles(ctx)
	if err != nil {
		return Role{}, nil, err
	}
	ok, err := s.store.PutRole(ctx, name, grants, permissions.MaxRoles)
	if err != nil {
		return Role{}, nil, err
	}
	if !ok {
		return Role{}, nil, apierror.New(apierror.ValidationFailed, "An app may define at most %d roles.", permissions.MaxRoles).WithDetails(map[string]any{"field": "role"})
	}
	s.roles.Forget()
	before, had := app[name]
	if had && before == nil {
		before = []string{}
	}
	return Role{Name: name, Grants: grants}, before, nil
}

// DeleteRole removes an app role; users holding it fall back to "user".
// It returns the grants the role had.
func (s *Service) DeleteRole(ctx context.Context, name string) ([]string, error) {
	if err := permissions.ValidateRole(name, nil); err != nil {
		return nil, err
	}
	app, err := s.store.GetRoles(ctx)
	if err != nil {
		return nil, err
	}
	before, ok := app[name]
	if !ok {
		return nil, apierror.New(apierror.NotFound, "Role %q was not found.", name)
	}
	if _, err := s.store.PutRole(ctx, name, nil, permissions.MaxRoles); err != nil {
		return nil, err
	}
	s.roles.Forget()
	if before == nil {
		before = []string{}
	}
	return before, nil
}

// Block adds blockedID to userID's blocklist (idempotent).
func (s *Service) Block(ctx context.Context, p auth.Principal, userID, blockedID string) (Block, error) {
	if err := s.blockArgs(p, userID, blockedID); err != nil {
		return Block{}, err
	}
	st, err := s.store.UserStatus(ctx, blockedID)
	if err != nil {
		return Block{}, err
	}
	if st.Gen == 0 {
		return Block{}, notFoundUser(blockedID)
	}
	b := Block{UserID: userID, BlockedID: blockedID, At: s.now().UnixMilli()}
	return b, s.store.PutBlock(ctx, b)
}

// Unblock removes an entry (404 if there was none).
func (s *Service) Unblock(ctx context.Context, p auth.Principal, userID, blockedID string) error {
	if err := s.blockArgs(p, userID, blockedID); err != nil {
		return err
	}
	ok, err := s.store.DeleteBlock(ctx, userID, blockedID)
	if err != nil {
		return err
	}
	if !ok {
		return apierror.New(apierror.NotFound, "User %q is not on the blocklist.", blockedID)
	}
	return nil
}

func (s *Service) blockArgs(p auth.Principal, userID, blockedID string) error {
	if err := p.SelfOrAdmin(userID); err != nil {
		return err
	}
	if err := users.ValidateID("user_id", userID); err != nil {
		return err
	}
	if err := users.ValidateID("blocked_id", blockedID); err != nil {
		return err
	}
	if userID == blockedID {
		return apierror.New(apierror.ValidationFailed, "A user cannot block themselves.").WithDetails(map[string]any{"field": "blocked_id"})
	}
	return nil
}

// Page limits of the listings.
const (
	DefaultPage = 50
	MaxPage     = 100
)

func pageLimit(limit int) (int, error) {
	if limit == 0 {
		return DefaultPage, nil
	}
	if limit < 1 || limit > MaxPage {
		return 0, apierror.New(apierror.LimitOutOfRange, "limit must be between 1 and %d.", MaxPage)
	}
	return limit, nil
}

// cursor encodes the last key of a page; decodeCursor checks it with valid.
func cursor(last string) string { return base64.RawURLEncoding.EncodeToString([]byte(last)) }

func decodeCursor(c string, valid func(string) bool) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !valid(string(b)) {
		return "", apierror.New(apierror.InvalidCursor, "cursor is not one this API returned.")
	}
	return string(b), nil
}

// BlockPage is one page of a blocklist.
type BlockPage struct {
	Blocks     []Block `json:"blocks"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// ListBlocks pages through userID's blocklist.
func (s *Service) ListBlocks(ctx context.Context, p auth.Principal, userID string, limit int, c string) (BlockPage, error) {
	if err := p.SelfOrAdmin(userID); err != nil {
		return BlockPage{}, err
	}
	if err := users.ValidateID("user_id", userID); err != nil {
		return BlockPage{}, err
	}
	limit, err := pageLimit(limit)
	if err != nil {
		return BlockPage{}, err
	}
	after, err := decodeCursor(c, func(s string) bool { return users.ValidateID("blocked_id", s) == nil })
	if err != nil {
		return BlockPage{}, err
	}
	list, more, err := s.store.ListBlocks(ctx, userID, after, limit)
	if err != nil {
		return BlockPage{}, err
	}
	out := BlockPage{Blocks: append([]Block{}, list...)}
	if more && len(list) > 0 {
		out.NextCursor = cursor(list[len(list)-1].BlockedID)
	}
	return out, nil
}

// WordFilter returns the word filter (action mask and no words if never set).
func (s *Service) WordFilter(ctx context.Context) (WordFilter, error) {
	f, err := s.store.GetWordFilter(ctx)
	if err != nil {
		return WordFilter{}, err
	}
	if f.Action == "" {
		f.Action = FilterMask
	}
	if f.Words == nil {
		f.Words = []string{}
	}
	return f, nil
}

// SetWordFilter replaces the word filter; every sandbox picks it up
// within FilterTTL. It returns the new filter and the one it replaced,
// read just before the write (one GetItem, for the audit log).
func (s *Service) SetWordFilter(ctx context.Context, p auth.Principal, f WordFilter) (WordFilter, WordFilter, error) {
	if f.Words == nil {
		f.Words = []string{}
	}
	if err := ValidateWordFilter(f); err != nil {
		return WordFilter{}, WordFilter{}, err
	}
	before, err := s.WordFilter(ctx)
	if err != nil {
		return WordFilter{}, WordFilter{}, err
	}
	f.UpdatedAt, f.UpdatedBy = s.now().UnixMilli(), p.Actor()
	return f, before, s.store.PutWordFilter(ctx, f)
}

// ReportInput names a message and why it is reported.
type ReportInput struct {
	ConversationID string
	Seq            int64
	Reason         string
}

// CreateReport files a user's report of a message they can read; the
// report keeps the message's sender and text as they were.
func (s *Service) CreateReport(ctx context.Context, p auth.Principal, in ReportInput) (Report, error) {
	uid, err := p.User()
	if err != nil {
		return Report{}, err
	}
	if err := text("reason", in.Reason, MaxReasonRunes, true); err != nil {
		return Report{}, err
	}
	if in.Seq < 1 {
		return Report{}, apierror.New(apierror.ValidationFailed, "seq must be a message's seq (1 or more).").WithDetails(map[string]any{"field": "seq"})
	}
	if ok, wait := s.reports.Allow(uid); !ok {
		return Report{}, ratelimit.Error("reports", wait)
	}
	sender, txt, err := s.messages.ReadMessage(ctx, p, in.ConversationID, in.Seq)
	if err != nil {
		return Report{}, err
	}
	now := s.now()
	r := Report{ReportID: newReportID(now), ReporterID: uid, ConversationID: in.ConversationID, Seq: in.Seq, SenderID: sender, Text: txt,
		Reason: in.Reason, Status: ReportOpen, CreatedAt: now.UnixMilli()}
	return r, s.store.PutReport(ctx, r)
}

// newReportID sorts by time: "rp_", 12 hex digits of ms, 8 random hex.
func newReportID(now time.Time) string {
	b := make([]byte, 4)
	rand.Read(b) // never fails (crypto/rand)
	return fmt.Sprintf("rp_%012x%s", now.UnixMilli(), hex.EncodeToString(b))
}

func validReportID(s string) bool {
	if len(s) != 23 || !strings.HasPrefix(s, "rp_") {
		return false
	}
	_, err := hex.DecodeString(s[3:])
	return err == nil
}

// ReportPage is one page of reports, newest first.
type ReportPage struct {
	Reports    []Report
	NextCursor string
}

// ListReports pages through reports, newest first; status "" is any.
func (s *Service) ListReports(ctx context.Context, status string, limit int, c string) (ReportPage, error) {
	if status != "" && status != ReportOpen && status != ReportResolved {
		return ReportPage{}, apierror.New(apierror.ValidationFailed, "status must be %q or %q.", ReportOpen, ReportResolved).WithDetails(map[string]any{"field": "status"})
	}
	limit, err := pageLimit(limit)
	if err != nil {
		return ReportPage{}, err
	}
	before, err := decodeCursor(c, validReportID)
	if err != nil {
		return ReportPage{}, err
	}
	list, more, err := s.store.ListReports(ctx, status, before, limit)
	if err != nil {
		return ReportPage{}, err
	}
	out := ReportPage{Reports: append([]Report{}, list...)}
	if more && len(list) > 0 {
		out.NextCursor = cursor(list[len(list)-1].ReportID)
	}
	return out, nil
}

// ResolveReport closes an open report (409 conflict if it is closed).
func (s *Service) ResolveReport(ctx context.Context, p auth.Principal, id, resolution string) (Report, error) {
	if !validReportID(id) {
		return Report{}, apierror.New(apierror.InvalidID, "report_id is not a report id.").WithDetails(map[string]any{"field": "report_id"})
	}
	if err := text("resolution", resolution, MaxResolutionRunes, true); err != nil {
		return Report{}, err
	}
	r, ok, err := s.store.ResolveReport(ctx, id, p.Actor(), resolution, s.now().UnixMilli())
	if err != nil {
		return Report{}, err
	}
	if r == nil {
		return Report{}, apierror.New(apierror.NotFound, "Report %q was not found.", id)
	}
	if !ok {
		return Report{}, apierror.New(apierror.Conflict, "Report %q is resolved already.", id)
	}
	return *r, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
