package webhooks

// Where deliveries may go. In the cloud only https URLs to public
// addresses: no loopback, private (RFC 1918, RFC 4193), link-local
// (169.254/16, fe80::/10, which holds the instance metadata service),
// CGNAT, unspecified, multicast or documentation ranges. Checked twice:
// when an endpoint is registered (its host must resolve only to public
// addresses) and, because DNS can change after that (DNS rebinding), at
// every connection: the delivery client's dialer checks the address it
// actually connects to (SafeDialer), so a name that later resolves to
// 169.254.169.254 or 10.0.0.5 is refused at connect time. Locally
// (AllowLoopback, template parameter LocalHttpTargets) http to 127.0.0.1
// is allowed so tests can run receivers.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// MaxURL is the longest endpoint URL accepted.
const MaxURL = 2048

// Policy says which targets are allowed.
type Policy struct {
	// AllowLoopback admits http:// and 127.0.0.1/::1 (the local stack).
	AllowLoopback bool
	// Resolve looks a host up (nil: net.DefaultResolver).
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Reasons a URL is refused (wrapped in *URLError).
var (
	ErrURLSyntax  = errors.New("not an absolute URL without credentials or fragment")
	ErrURLTooLong = errors.New("longer than 2048 characters")
	ErrURLScheme  = errors.New("not https")
	ErrURLAddress = errors.New("resolves to a private, loopback, link-local or metadata address")
	ErrURLResolve = errors.New("the host does not resolve")
)

// URLError is a refused endpoint URL.
type URLError struct{ Reason error }

func (e *URLError) Error() string { return "webhooks: url " + e.Reason.Error() }
func (e *URLError) Unwrap() error { return e.Reason }

// CheckURL validates an endpoint URL at registration.
func (p Policy) CheckURL(ctx context.Context, raw string) error {
	if len(raw) > MaxURL {
		return &URLError{ErrURLTooLong}
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.Fragment != "" {
		return &URLError{ErrURLSyntax}
	}
	if u.Scheme != "https" && !(p.AllowLoopback && u.Scheme == "http") {
		return &URLError{ErrURLScheme}
	}
	host := u.Hostname()
	addrs, err := p.resolve(ctx, host)
	if err != nil || len(addrs) == 0 {
		return &URLError{ErrURLResolve}
	}
	for _, a := range addrs {
		if !p.Allowed(a) {
			return &URLError{ErrURLAddress}
		}
	}
	return nil
}

func (p Policy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a}, nil
	}
	if p.Resolve != nil {
		return p.Resolve(ctx, host)
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	return ips, err
}

// forbidden are the ranges no delivery may reach (besides what netip
// classifies: loopback, private, link-local, multicast, unspecified).
var forbidden = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // CGNAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64 (could embed a private IPv4)
	netip.MustParsePrefix("fd00:ec2::/32"),   // EC2 IPv6 metadata (also in fc00::/7)
}

// Allowed reports whether a delivery may connect to a.
func (p Policy) Allowed(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() {
		return p.AllowLoopback
	}
	if !a.IsValid() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsUnspecified() {
		return false
	}
	for _, f := range forbidden {
		if f.Contains(a) {
			return false
		}
	}
	return true
}

// SafeDialer is the delivery client's dialer: it refuses to connect to an
// address Allowed rejects, whatever DNS answered (DNS rebinding).
func (p Policy) SafeDialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, Control: func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("webhooks: dial %s: %w", address, err)
		}
		if !p.Allowed(ap.Addr()) {
			return &URLError{ErrURLAddress}
		}
		return nil
	}}
}
