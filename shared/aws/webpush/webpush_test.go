package webpush_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenim/tokenim/shared/aws/webpush"
	"github.com/tokenim/tokenim/shared/push"
)

// pushService is a browser's push service on 127.0.0.1 that keeps the
// browser's side of the subscription: it checks the VAPID header and
// decrypts every push (RFC 8291), as the browser would.
type pushService struct {
	t       *testing.T
	priv    *ecdh.PrivateKey
	auth    []byte
	status  int
	mu      sync.Mutex
	got     []webpush.Payload
	headers []http.Header
}

func newPushService(t *testing.T) (*pushService, *httptest.Server) {
	t.Helper()
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &pushService{t: t, priv: priv, auth: make([]byte, 16), status: http.StatusCreated}
	rand.Read(s.auth)
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *pushService) device(endpoint string) push.Device {
	return push.Device{UserID: "bob", DeviceID: "chrome", Platform: push.Web, Token: endpoint,
		Keys: &push.WebKeys{P256dh: base64.RawURLEncoding.EncodeToString(s.priv.PublicKey().Bytes()), Auth: base64.RawURLEncoding.EncodeToString(s.auth)}}
}

func (s *pushService) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.headers = append(s.headers, r.Header.Clone())
	if s.status == http.StatusCreated {
		p, err := s.decrypt(body)
		if err != nil {
			s.t.Errorf("decrypt: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var pl webpush.Payload
		if err := json.Unmarshal(p, &pl); err != nil {
			s.t.Errorf("payload %q: %v", p, err)
		}
		s.got = append(s.got, pl)
	}
	w.WriteHeader(s.status)
}

// decrypt undoes RFC 8291's aes128gcm encoding with the browser's keys.
func (s *pushService) decrypt(body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("short body")
	}
	salt, idlen := body[:16], int(body[20])
	rs := binary.BigEndian.Uint32(body[16:20])
	asPublic, ct := body[21:21+idlen], body[21+idlen:]
	if rs < 18 || len(ct) > int(rs) {
		return nil, errors.New("record size")
	}
	as, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, err
	}
	secret, err := s.priv.ECDH(as)
	if err != nil {
		return nil, err
	}
	prkKey, _ := hkdf.Extract(sha256.New, secret, s.auth)
	info := append(append([]byte("WebPush: info\x00"), s.priv.PublicKey().Bytes()...), asPublic...)
	ikm, _ := hkdf.Expand(sha256.New, prkKey, string(info), 32)
	prk, _ := hkdf.Extract(sha256.New, ikm, salt)
	cek, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	nonce, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, ct, nil)
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(plain, 2) // the last record's delimiter, then padding
	if i < 0 {
		return nil, errors.New("no delimiter")
	}
	return plain[:i], nil
}

// checkVAPID verifies the Authorization header: a JWT signed with the
// public key it names, for the push service's origin, from the subject.
func checkVAPID(t *testing.T, h http.Header, origin, publicKey string) {
	t.Helper()
	v := h.Get("Authorization")
	if !strings.HasPrefix(v, "vapid t=") || !strings.HasSuffix(v, ", k="+publicKey) {
		t.Fatalf("Authorization %q", v)
	}
	raw := strings.TrimSuffix(strings.TrimPrefix(v, "vapid t="), ", k="+publicKey)
	pub, _ := base64.RawURLEncoding.DecodeString(publicKey)
	x, y := elliptic.Unmarshal(elliptic.P256(), pub) //nolint:staticcheck // jwt verifies with an ecdsa key
	key := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).Set(x), Y: new(big.Int).Set(y)}
	tok, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return key, nil }, jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience(origin))
	if err != nil || !tok.Valid {
		t.Fatalf("VAPID JWT: %v", err)
	}
	if sub, _ := tok.Claims.GetSubject(); sub != "mailto:push@example.com" {
		t.Fatalf("sub %q", sub)
	}
}

func seed() []byte { return []byte(strings.Repeat("s3cr3t", 11)) }

// TestSendDecrypts: the push service can decrypt what is sent, with the
// alert's text, badge and data, a valid VAPID signature, a TTL and the
// collapse topic.
func TestSendDecrypts(t *testing.T) {
	svc, srv := newPushService(t)
	s, err := webpush.New(seed(), "mailto:push@example.com", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	a := push.Alert{Title: "alice", Body: "hello über", Badge: 4, ThreadID: "dm:alice:bob", CollapseID: push.CollapseID("dm:alice:bob", 9), Data: map[string]string{"seq": "9"}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Send(ctx, svc.device(srv.URL+"/push/abc"), a); err != nil {
		t.Fatal(err)
	}
	if len(svc.got) != 1 || svc.got[0].Body != "hello über" || svc.got[0].Title != "alice" || *svc.got[0].Badge != 4 || svc.got[0].Data["seq"] != "9" || svc.got[0].Tag != "dm:alice:bob" {
		t.Fatalf("decrypted %+v", svc.got)
	}
	h := svc.headers[0]
	if h.Get("TTL") != "3600" || h.Get("Topic") != a.CollapseID || h.Get("Content-Encoding") != "aes128gcm" || h.Get("Urgency") != "high" {
		t.Fatalf("headers %v", h)
	}
	checkVAPID(t, h, srv.URL, s.PublicKey())
}

// TestSendStatuses: what each push-service answer means.
func TestSendStatuses(t *testing.T) {
	tests := []struct {
		status          int
		gone, rejected  bool
		retryable, okay bool
	}{
		{http.StatusCreated, false, false, false, true},
		{http.StatusGone, true, false, false, false},
		{http.StatusNotFound, true, false, false, false},
		{http.StatusRequestEntityTooLarge, false, true, false, false},
		{http.StatusTooManyRequests, false, false, true, false},
		{http.StatusServiceUnavailable, false, false, true, false},
	}
	for _, tc := range tests {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			svc, srv := newPushService(t)
			svc.status = tc.status
			s, _ := webpush.New(seed(), "mailto:push@example.com", srv.Client())
			_, err := s.Send(context.Background(), svc.device(srv.URL+"/p"), push.Alert{Body: "x", Badge: -1})
			if (err == nil) != tc.okay || errors.Is(err, push.ErrDeviceGone) != tc.gone || errors.Is(err, push.ErrRejected) != tc.rejected || push.Retryable(err) != tc.retryable {
				t.Fatalf("err %v", err)
			}
		})
	}
}

// TestKeysAreStable: the same seed gives the same key pair (every worker
// signs with the key browsers subscribed with); another seed another.
func TestKeysAreStable(t *testing.T) {
	p1, k1, err := webpush.Keys(seed())
	p2, k2, _ := webpush.Keys(seed())
	p3, _, _ := webpush.Keys([]byte(strings.Repeat("x", 64)))
	if err != nil || p1 != p2 || k1 != k2 || p1 == p3 {
		t.Fatalf("keys %s %s %s %v", p1, p2, p3, err)
	}
	if raw, _ := base64.RawURLEncoding.DecodeString(p1); len(raw) != 65 || raw[0] != 4 {
		t.Fatalf("public key %d bytes", len(raw))
	}
	if _, _, err := webpush.Keys([]byte("short")); err == nil {
		t.Fatal("a short seed was accepted")
	}
}
