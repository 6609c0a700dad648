package push

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tokenim/tokenim/shared/apierror"
	"github.com/tokenim/tokenim/shared/strictjson"
	"github.com/tokenim/tokenim/shared/users"
)

// Platform is where a device's pushes go.
type Platform string

// Platforms (docs/push.md). apns_sandbox is APNs' development
// environment: a token from a debug build is valid only there.
const (
	APNs        Platform = "apns"
	APNsSandbox Platform = "apns_sandbox"
	FCM         Platform = "fcm"
	Web         Platform = "web"
)

// Platforms lists the platforms in the order docs/openapi.yaml does.
func Platforms() []Platform { return []Platform{APNs, APNsSandbox, FCM, Web} }

// Mobile reports whether p goes through SNS mobile push.
func (p Platform) Mobile() bool { return p == APNs || p == APNsSandbox || p == FCM }

// Limits (docs/openapi.yaml, docs/push.md).
const (
	// MaxDevicesPerUser bounds what one message costs: every offline
	// recipient's devices are pushed, one publish each.
	MaxDevicesPerUser  = 10
	MaxFCMTokenLength  = 4096
	MinFCMTokenLength  = 32
	MinAPNsTokenLength = 64 // 32 bytes, hex
	MaxAPNsTokenLength = 200
	MaxWebEndpointLen  = 2048
	MaxLocaleLength    = 35
	MaxAppVersionRunes = 64
)

// WebKeys are a PushSubscription's keys (RFC 8291): the browser's P-256
// public key and the authentication secret, base64url as the browser
// gives them.
type WebKeys struct {
	P256dh string `json:"p256dh"`
	Auth   string `json:"auth"`
}

// Device is one push target of a user.
type Device struct {
	UserID   string
	DeviceID string
	Platform Platform
	// Token is the APNs device token (lower-case hex), the FCM
	// registration token, or a Web Push subscription's endpoint URL.
	Token string
	Keys  *WebKeys // web only
	// EndpointARN is the SNS platform endpoint (apns, fcm), created on the
	// first push and kept.
	EndpointARN string
	Locale      string
	AppVersion  string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TokenHash identifies a token across users: one token, one user. It is
// what the store keys the token's owner by (a token may be 4 KB).
func (d Device) TokenHash() string { return TokenHash(d.Platform, d.Token) }

// TokenHash hashes a platform and token.
func TokenHash(p Platform, token string) string {
	sum := sha256.Sum256([]byte(string(p) + "\x00" + token))
	return hex.EncodeToString(sum[:])
}

// DeviceView is a device as the API returns it: the token is not echoed
// (a web subscription's keys are secrets), only its last characters.
type DeviceView struct {
	DeviceID   string    `json:"device_id"`
	Platform   Platform  `json:"platform"`
	TokenHint  string    `json:"token_hint"`
	Locale     string    `json:"locale,omitempty"`
	AppVersion string    `json:"app_version,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// View is the API's view of d.
func (d Device) View() DeviceView {
	hint := d.Token
	if len(hint) > 6 {
		hint = "…" + hint[len(hint)-6:]
	}
	return DeviceView{DeviceID: d.DeviceID, Platform: d.Platform, TokenHint: hint, Locale: d.Locale, AppVersion: d.AppVersion,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

// Subscription is a browser's PushSubscription as PushSubscription.toJSON()
// gives it.
type Subscription struct {
	Endpoint string `json:"endpoint"`
	// ExpirationTime is what the browser sends (usually null); it is not
	// kept: an expired subscription answers 404/410 and is removed then.
	ExpirationTime strictjson.Optional[float64] `json:"expirationTime"`
	Keys           WebKeys                      `json:"keys"`
}

// Registration is what a client sends to register a device.
type Registration struct {
	Platform     Platform
	Token        string        // apns, apns_sandbox, fcm
	Subscription *Subscription // web
	Locale       string
	AppVersion   string
}

var (
	hexToken = regexp.MustCompile(`^[0-9A-Fa-f]+$`)
	fcmToken = regexp.MustCompile(`^[A-Za-z0-9_:.-]+$`)
	locale   = regexp.MustCompile(`^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$`)
)

// Validate checks a registration and returns the device it makes (ids,
// token normalised; times and endpoint left to the service).
func (r Registration) Validate(userID, deviceID string) (Device, error) {
	if err := users.ValidateID("device_id", deviceID); err != nil {
		return Device{}, err
	}
	d := Device{UserID: userID, DeviceID: deviceID, Platform: r.Platform, Locale: r.Locale, AppVersion: r.AppVersion}
	switch r.Platform {
	case APNs, APNsSandbox:
		if r.Subscription != nil {
			return Device{}, tokenErr("subscription", "subscription is for platform web only.")
		}
		if len(r.Token) < MinAPNsTokenLength || len(r.Token) > MaxAPNsTokenLength || len(r.Token)%2 != 0 || !hexToken.MatchString(r.Token) {
			return Device{}, tokenErr("token", "An APNs token is %d to %d hexadecimal characters.", MinAPNsTokenLength, MaxAPNsTokenLength)
		}
		d.Token = strings.ToLower(r.Token)
	case FCM:
		if r.Subscription != nil {
			return Device{}, tokenErr("subscription", "subscription is for platform web only.")
		}
		if len(r.Token) < MinFCMTokenLength || len(r.Token) > MaxFCMTokenLength || !fcmToken.MatchString(r.Token) {
			return Device{}, tokenErr("token", "An FCM registration token is %d to %d characters of A-Z a-z 0-9 _ : . -.", MinFCMTokenLength, MaxFCMTokenLength)
		}
		d.Token = r.Token
	case Web:
		if r.Token != "" {
			return Device{}, tokenErr("token", "A web device sends its PushSubscription as subscription, not token.")
		}
		if err := r.Subscription.validate(); err != nil {
			return Device{}, err
		}
		d.Token, d.Keys = r.Subscription.Endpoint, &WebKeys{P256dh: r.Subscription.Keys.P256dh, Auth: r.Subscription.Keys.Auth}
	default:
		return Device{}, apierror.New(apierror.UnknownPlatform, "platform must be one of apns, apns_sandbox, fcm, web.").
			WithDetails(map[string]string{"field": "platform"})
	}
	if r.Locale != "" && (len(r.Locale) > MaxLocaleLength || !locale.MatchString(r.Locale)) {
		return Device{}, apierror.New(apierror.ValidationFailed, "locale must be a BCP 47 language tag of at most %d characters.", MaxLocaleLength).
			WithDetails(map[string]string{"field": "locale"})
	}
	if utf8.RuneCountInString(r.AppVersion) > MaxAppVersionRunes || !utf8.ValidString(r.AppVersion) || strings.ContainsFunc(r.AppVersion, isControl) {
		return Device{}, apierror.New(apierror.ValidationFailed, "app_version must be at most %d printable characters.", MaxAppVersionRunes).
			WithDetails(map[string]string{"field": "app_version"})
	}
	return d, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// validate checks a PushSubscription: an https endpoint, a P-256 public
// key (65 bytes, uncompressed) and a 16-byte auth secret, as RFC 8291
// requires; anything else could never be encrypted to.
func (s *Subscription) validate() error {
	if s == nil {
		return tokenErr("subscription", "A web device needs subscription (the browser's PushSubscription JSON).")
	}
	u, err := url.Parse(s.Endpoint)
	// A URI is ASCII (RFC 3986): url.Parse alone takes "https://\u0084".
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || len(s.Endpoint) > MaxWebEndpointLen ||
		strings.ContainsFunc(s.Endpoint, func(r rune) bool { return r > unicode.MaxASCII || r <= ' ' || r == 0x7f }) {
		return tokenErr("subscription.endpoint", "subscription.endpoint must be an https URL of at most %d characters.", MaxWebEndpointLen)
	}
	if k, err := decodeB64URL(s.Keys.P256dh); err != nil || len(k) != 65 || k[0] != 4 {
		return tokenErr("subscription.keys.p256dh", "subscription.keys.p256dh must be an uncompressed P-256 public key (65 bytes), base64url.")
	}
	if a, err := decodeB64URL(s.Keys.Auth); err != nil || len(a) != 16 {
		return tokenErr("subscription.keys.auth", "subscription.keys.auth must be 16 bytes, base64url.")
	}
	return nil
}

// decodeB64URL accepts base64url with or without padding (browsers omit it).
func decodeB64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func tokenErr(field, format string, args ...any) error {
	return apierror.New(apierror.InvalidPushToken, format, args...).WithDetails(map[string]string{"field": field})
}
