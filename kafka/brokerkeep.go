package kafka

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kfake also expires a member that is waiting in a JoinGroup once its
// session timeout has passed since its last heartbeat, without answering
// the join: the member hangs until its read timeout and rejoins as a new
// member, a new rebalance. Apache Kafka keeps a member awaiting a join alive
// until the rebalance ends. A rebalance that waits for a slower member (one
// finishing a transaction before it hands its partitions over) longer than
// the session timeout therefore lost the members that had rejoined first.
//
// The listener keeps them alive as Kafka does: it reads the group, member
// id and generation of the heartbeats and syncs a member sends, and while a
// JoinGroup of that member is unanswered it heartbeats for it, over a
// connection of its own, every third of the session timeout. A heartbeat
// during a rebalance changes nothing in the group but the member's session
// timer. The keepalive stops when the join is answered, the connection
// closes, or the group answers anything but REBALANCE_IN_PROGRESS.

// maxKeptFrame is the largest request frame the parser keeps whole to read
// group requests from; larger ones (produce requests) are only counted.
const maxKeptFrame = 64 << 10

// member is what a connection's heartbeats and syncs say of its member.
type member struct {
	group, id  string
	generation int32
}

// keepalive is a running heartbeat for a member waiting in a join.
type keepalive struct {
	join int64 // the join's number among the connection's requests
	stop chan struct{}
}

// groupRequest says whether a request frame (from its first two bytes, the
// key) is one request reads.
func groupRequest(frame []byte) bool {
	key := kmsg.Key(binary.BigEndian.Uint16(frame))
	return key == kmsg.JoinGroup || key == kmsg.Heartbeat || key == kmsg.SyncGroup
}

// request reads a whole JoinGroup, Heartbeat or SyncGroup request frame.
// c.mu is held.
func (c *lingerConn) request(frame []byte) {
	if len(frame) < 8 {
		return
	}
	req := kmsg.RequestForKey(int16(binary.BigEndian.Uint16(frame)))
	req.SetVersion(int16(binary.BigEndian.Uint16(frame[2:])))
	r := kbin.Reader{Src: frame[8:]} // after the key, version and correlation id
	r.NullableString()               // client id
	if req.IsFlexible() {
		kmsg.SkipTags(&r)
	}
	if !r.Ok() || req.ReadFrom(r.Src) != nil {
		return
	}
	switch q := req.(type) {
	case *kmsg.HeartbeatRequest:
		c.member = member{q.Group, q.MemberID, q.Generation}
	case *kmsg.SyncGroupRequest:
		c.member = member{q.Group, q.MemberID, q.Generation}
	case *kmsg.JoinGroupRequest:
		m := c.member
		if q.MemberID == "" || q.MemberID != m.id || q.Group != m.group || c.keep != nil {
			return // a new member: kfake sets it no session timer while it waits
		}
		every := max(time.Duration(q.SessionTimeoutMillis)*time.Millisecond/3, 100*time.Millisecond)
		c.keep = &keepalive{join: c.reqs, stop: make(chan struct{})}
		go heartbeatWhileJoining(c.keepAddr, m, every, c.keep.stop)
	}
}

// stopKeepaliveIfAnswered stops the keepalive once the join is answered
// (answers go out in request order). c.mu is held.
func (c *lingerConn) stopKeepaliveIfAnswered() {
	if c.keep != nil && c.answers >= c.keep.join {
		c.stopKeepalive()
	}
}

func (c *lingerConn) stopKeepalive() {
	if c.keep != nil {
		close(c.keep.stop)
		c.keep = nil
	}
}

// heartbeatWhileJoining heartbeats for m every interval until stop closes
// or the group stops answering REBALANCE_IN_PROGRESS.
func heartbeatWhileJoining(addr string, m member, every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	var conn net.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	var rd *bufio.Reader
	for corr := int32(1); ; corr++ {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if conn == nil {
			var err error
			if conn, err = net.DialTimeout("tcp", addr, every); err != nil {
				return
			}
			rd = bufio.NewReader(conn)
		}
		req := kmsg.NewPtrHeartbeatRequest()
		req.Version = 3
		req.Group, req.MemberID, req.Generation = m.group, m.id, m.generation
		_ = conn.SetDeadline(time.Now().Add(2 * every))
		code, err := roundTrip(conn, rd, req, corr)
		if err != nil || !errors.Is(kerr.ErrorForCode(code), kerr.RebalanceInProgress) {
			return
		}
	}
}

// roundTrip sends one heartbeat and returns its error code.
func roundTrip(conn net.Conn, rd *bufio.Reader, req *kmsg.HeartbeatRequest, corr int32) (int16, error) {
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("wasmhost-broker-keepalive"))
	if _, err := conn.Write(f.AppendRequest(nil, req, corr)); err != nil {
		return 0, err
	}
	var size [4]byte
	if _, err := io.ReadFull(rd, size[:]); err != nil {
		return 0, err
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(rd, body); err != nil {
		return 0, err
	}
	if len(body) < 4 {
		return 0, errors.New("short heartbeat answer")
	}
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	if err := resp.ReadFrom(body[4:]); err != nil { // after the correlation id (v3 is not flexible)
		return 0, err
	}
	return resp.ErrorCode, nil
}
