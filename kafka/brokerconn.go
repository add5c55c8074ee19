package kafka

import (
	"encoding/binary"
	"net"
	"sync"
	"time"
)

// The embedded broker (kfake) starts a group member's session timer only
// when its JoinGroup or SyncGroup answer is handed to a live connection. A
// member whose process dies while that answer is pending (kill -9 during a
// rebalance) is left in the group with no timer at all: a Kafka broker
// expires it one session timeout later, kfake never does. It keeps its
// partitions in a stable group, so nobody consumes them, or holds the next
// rebalance open for the whole rebalance timeout, long enough for the live
// members waiting in it to be expired in turn.
//
// lingerListener hides such deaths from kfake for as long as an answer is
// owed: when a client goes away with requests still unanswered, the
// connection's read side reports the end only once kfake has written those
// answers (into the void) or linger has passed. kfake then treats the dead
// member as Kafka would: its session timer starts and it expires. A
// connection with nothing pending ends at once. The socket itself is closed
// as soon as the peer goes, so a lingering connection holds no descriptor.

// joinLinger bounds how long a connection's end is held back: the longest a
// JoinGroup can wait for a rebalance (Kafka's default max.poll.interval.ms,
// which Java clients send as their rebalance timeout).
const joinLinger = 5 * time.Minute

// lingerListener wraps the broker's listener; see above. When keepAddr is
// set it also keeps members waiting in a join alive (brokerkeep.go).
type lingerListener struct {
	net.Listener
	linger   time.Duration
	keepAddr string // the broker's plain address, "" for no keepalives
}

func (l lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lingerConn{Conn: c, linger: l.linger, keepAddr: l.keepAddr,
		closed: make(chan struct{}), answered: make(chan struct{}, 1)}, nil
}

// lingerConn counts the Kafka requests read from a client (each is a
// size-prefixed frame) and the answers written to it (kfake writes each in
// one Write), and holds back the end of the stream while answers are owed.
type lingerConn struct {
	net.Conn
	linger   time.Duration
	keepAddr string

	mu      sync.Mutex
	reqs    int64   // requests read
	answers int64   // answers written (in request order)
	hdr     [4]byte // the size prefix being read
	hdrN    int
	size    int    // of the frame being read
	got     int    // bytes of it read
	keeping bool   // whether the frame is kept: a small group request
	frame   []byte // the frame being read, when kept
	member  member // the group member speaking on this connection, if any
	keep    *keepalive
	closing sync.Once
	closed  chan struct{} // closed by Close

	answered chan struct{} // a token after every Write
}

func (c *lingerConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.count(p[:n])
	if err != nil && n == 0 {
		c.hold()
	}
	return n, err
}

// count advances the frame parser over b, counting each request whose size
// prefix it completes and handing small ones, whole, to request.
func (c *lingerConn) count(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(b) > 0 {
		if c.hdrN < len(c.hdr) {
			k := copy(c.hdr[c.hdrN:], b)
			c.hdrN += k
			b = b[k:]
			if c.hdrN == len(c.hdr) {
				c.size, c.got, c.frame = int(binary.BigEndian.Uint32(c.hdr[:])), 0, c.frame[:0]
				c.keeping = c.keepAddr != "" && c.size <= maxKeptFrame
				c.reqs++
				if c.size == 0 {
					c.hdrN = 0
				}
			}
			continue
		}
		k := min(c.size-c.got, len(b))
		if c.keeping {
			c.frame = append(c.frame, b[:k]...)
			// The first two bytes are the request's key: keep only
			// the group requests brokerkeep.go reads.
			c.keeping = len(c.frame) < 2 || groupRequest(c.frame)
		}
		c.got += k
		b = b[k:]
		if c.got == c.size {
			if c.keeping {
				c.request(c.frame)
			}
			c.hdrN = 0
		}
	}
}

// hold returns once no answer is owed, linger has passed or the connection
// was closed by the broker.
func (c *lingerConn) hold() {
	if c.pending() == 0 {
		return
	}
	_ = c.Conn.Close() // the peer is gone: free the socket now
	t := time.NewTimer(c.linger)
	defer t.Stop()
	for c.pending() > 0 {
		select {
		case <-c.answered:
		case <-t.C:
			return
		case <-c.closed:
			return
		}
	}
}

// pending is how many requests read are not answered yet.
func (c *lingerConn) pending() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reqs - c.answers
}

func (c *lingerConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	c.answers++
	c.stopKeepaliveIfAnswered()
	c.mu.Unlock()
	select {
	case c.answered <- struct{}{}:
	default:
	}
	return n, err
}

func (c *lingerConn) Close() error {
	c.closing.Do(func() { close(c.closed) })
	c.mu.Lock()
	c.stopKeepalive()
	c.mu.Unlock()
	return c.Conn.Close()
}
