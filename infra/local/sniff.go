package local

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// API Gateway limits WebSocket frames to 32 KB, separately from the 128 KB
// message limit. WebSocket libraries hide frames, so the gateway's
// listener wraps each connection in a frameSniffer: once the handshake is
// done it parses the frame headers of the bytes read and fails the read
// when a frame is too large (the gateway then closes with 1009).

type sniffListener struct {
	net.Listener
	max int
}

func (l *sniffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &frameSniffer{Conn: c, max: uint64(l.max)}, nil
}

var errFrameTooLarge = errors.New("local: websocket frame too large")

type frameSniffer struct {
	net.Conn
	max    uint64
	active atomic.Bool
	over   atomic.Bool

	mu     sync.Mutex
	hdr    []byte // header bytes of the frame being read
	remain uint64 // payload bytes left in the current frame
}

func (s *frameSniffer) activate()      { s.active.Store(true) }
func (s *frameSniffer) tooLarge() bool { return s.over.Load() }

func (s *frameSniffer) Read(b []byte) (int, error) {
	n, err := s.Conn.Read(b)
	if n > 0 && s.active.Load() {
		if !s.scan(b[:n]) {
			s.over.Store(true)
			return 0, errFrameTooLarge
		}
	}
	return n, err
}

// scan feeds bytes through the frame parser; false on an oversized frame.
func (s *frameSniffer) scan(b []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(b) > 0 {
		if s.remain > 0 {
			k := min(uint64(len(b)), s.remain)
			s.remain -= k
			b = b[k:]
			continue
		}
		s.hdr = append(s.hdr, b[0])
		b = b[1:]
		if len(s.hdr) < 2 {
			continue
		}
		need := 2
		l7 := s.hdr[1] & 0x7f
		switch l7 {
		case 126:
			need += 2
		case 127:
			need += 8
		}
		if s.hdr[1]&0x80 != 0 {
			need += 4 // masking key
		}
		if len(s.hdr) < need {
			continue
		}
		var length uint64
		switch l7 {
		case 126:
			length = uint64(s.hdr[2])<<8 | uint64(s.hdr[3])
		case 127:
			for i := 2; i < 10; i++ {
				length = length<<8 | uint64(s.hdr[i])
			}
		default:
			length = uint64(l7)
		}
		s.hdr = s.hdr[:0]
		if length > s.max {
			return false
		}
		s.remain = length
	}
	return true
}
