package kafka

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawConn speaks the Kafka protocol to the broker request by request, so a
// test can leave a request unanswered and drop the connection, as a client
// killed mid-rebalance does.
type rawConn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	fmt  *kmsg.RequestFormatter
	corr int32
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, conn: c, r: bufio.NewReader(c), fmt: kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw"))}
}

// send writes req without waiting for its answer.
func (c *rawConn) send(req kmsg.Request) {
	c.t.Helper()
	c.corr++
	if _, err := c.conn.Write(c.fmt.AppendRequest(nil, req, c.corr)); err != nil {
		c.t.Fatal(err)
	}
}

// recv reads the answer to the last request sent into resp.
func (c *rawConn) recv(req kmsg.Request) kmsg.Response {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var size [4]byte
	if _, err := io.ReadFull(c.r, size[:]); err != nil {
		c.t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c.r, body); err != nil {
		c.t.Fatal(err)
	}
	resp := req.ResponseKind()
	body = body[4:] // correlation id
	if resp.IsFlexible() {
		body = body[1:] // empty tagged fields of the header
	}
	if err := resp.ReadFrom(body); err != nil {
		c.t.Fatal(err)
	}
	return resp
}

func (c *rawConn) do(req kmsg.Request) kmsg.Response {
	c.t.Helper()
	c.send(req)
	return c.recv(req)
}

// join runs JoinGroup to its answer, taking a member id first if it has
// none.
func (c *rawConn) join(group, member string) *kmsg.JoinGroupResponse {
	c.t.Helper()
	resp := c.do(joinReq(group, member)).(*kmsg.JoinGroupResponse)
	if errors.Is(kerr.ErrorForCode(resp.ErrorCode), kerr.MemberIDRequired) {
		resp = c.do(joinReq(group, resp.MemberID)).(*kmsg.JoinGroupResponse)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		c.t.Fatalf("join %s: %v", group, err)
	}
	return resp
}

// joinSession is the session timeout of the raw members' joins.
const joinSession = time.Second

func joinReq(group, member string) *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 5
	req.Group, req.MemberID = group, member
	req.SessionTimeoutMillis = int32(joinSession / time.Millisecond)
	req.RebalanceTimeoutMillis = 20000
	req.ProtocolType = "consumer"
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name = "range"
	req.Protocols = append(req.Protocols, p)
	return req
}

func (c *rawConn) sync(group, member string, gen int32) {
	c.t.Helper()
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version = 3
	req.Group, req.MemberID, req.Generation = group, member, gen
	resp := c.do(req).(*kmsg.SyncGroupResponse)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		c.t.Fatalf("sync %s: %v", group, err)
	}
}

func (c *rawConn) heartbeat(group, member string, gen int32) error {
	c.t.Helper()
	req := kmsg.NewPtrHeartbeatRequest()
	req.Version = 3
	req.Group, req.MemberID, req.Generation = group, member, gen
	return kerr.ErrorForCode(c.do(req).(*kmsg.HeartbeatResponse).ErrorCode)
}

func (c *rawConn) describe(group string) kmsg.DescribeGroupsResponseGroup {
	c.t.Helper()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Version = 3
	req.Groups = []string{group}
	return c.do(req).(*kmsg.DescribeGroupsResponse).Groups[0]
}

// awaitState waits until the group is in state (as DescribeGroups names it).
func (c *rawConn) awaitState(group, state string) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for c.describe(group).State != state {
		if time.Now().After(deadline) {
			c.t.Fatalf("group %s never reached %s", group, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBrokerExpiresMemberKilledInJoin kills a member while its JoinGroup is
// waiting for a rebalance. The rebalance completes with it (its join was in),
// and the broker must then expire it one session timeout later, as Kafka
// does, or it keeps its share of the partitions in a stable group forever.
func TestBrokerExpiresMemberKilledInJoin(t *testing.T) {
	b := startBroker(t, BrokerOptions{})
	const group = "g"

	a := dialRaw(t, b.Addr())
	ja := a.join(group, "")
	a.sync(group, ja.MemberID, ja.Generation)

	// The victim joins: the group starts a rebalance and waits for a.
	v := dialRaw(t, b.Addr())
	jv := v.do(joinReq(group, "")).(*kmsg.JoinGroupResponse)
	v.send(joinReq(group, jv.MemberID))
	a.awaitState(group, "PreparingRebalance")
	v.conn.Close() // kill -9: its join is still unanswered
	// A few round trips on a's connection, so the broker has read the
	// victim's end of stream before a's join completes the rebalance.
	for range 3 {
		a.describe(group)
	}

	if err := a.heartbeat(group, ja.MemberID, ja.Generation); !errors.Is(err, kerr.RebalanceInProgress) {
		t.Fatalf("heartbeat during the rebalance: %v, want REBALANCE_IN_PROGRESS", err)
	}
	ja2 := a.join(group, ja.MemberID)
	if len(ja2.Members) != 2 {
		t.Fatalf("generation %d has %d members, want a and the victim", ja2.Generation, len(ja2.Members))
	}
	a.sync(group, ja.MemberID, ja2.Generation)

	// The victim's session timeout is 1 s: it must be gone, and a told
	// to rejoin, well within the 20 s rebalance timeout.
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := a.heartbeat(group, ja.MemberID, ja2.Generation)
		if errors.Is(err, kerr.RebalanceInProgress) {
			break
		}
		if err != nil {
			t.Fatalf("heartbeat: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed member was never expired: group %+v", a.describe(group).Members)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ja3 := a.join(group, ja.MemberID)
	if len(ja3.Members) != 1 {
		t.Fatalf("after the expiry generation %d has %d members, want 1", ja3.Generation, len(ja3.Members))
	}
}

// TestBrokerKeepsAMemberWaitingInAJoin has one member rejoin at once and
// another take three session timeouts to hand its partitions over
// (still heartbeating, as a member finishing a transaction does). Kafka keeps the
// first member alive while its join waits; kfake alone expired it after one
// session timeout and never answered its join.
func TestBrokerKeepsAMemberWaitingInAJoin(t *testing.T) {
	b := startBroker(t, BrokerOptions{})
	const group = "g"

	// a, then s (slow), form the group.
	a, s := dialRaw(t, b.Addr()), dialRaw(t, b.Addr())
	ja1 := a.join(group, "")
	a.sync(group, ja1.MemberID, ja1.Generation)
	js0 := s.do(joinReq(group, "")).(*kmsg.JoinGroupResponse)
	s.send(joinReq(group, js0.MemberID))
	a.awaitState(group, "PreparingRebalance")
	if err := a.heartbeat(group, ja1.MemberID, ja1.Generation); !errors.Is(err, kerr.RebalanceInProgress) {
		t.Fatalf("a's heartbeat after s joined: %v, want REBALANCE_IN_PROGRESS", err)
	}
	ja := a.join(group, ja1.MemberID)
	js := s.recv(joinReq(group, js0.MemberID)).(*kmsg.JoinGroupResponse)
	gen := ja.Generation
	if js.Generation != gen || len(ja.Members) != 2 {
		t.Fatalf("generation %d/%d with %d members, want both in one", gen, js.Generation, len(ja.Members))
	}
	a.sync(group, ja.MemberID, gen) // the leader's sync answers s's too
	s.sync(group, js.MemberID, gen)
	if err := a.heartbeat(group, ja.MemberID, gen); err != nil {
		t.Fatalf("a's heartbeat in a stable group: %v", err)
	}

	// A third member starts a rebalance.
	c := dialRaw(t, b.Addr())
	jc0 := c.do(joinReq(group, "")).(*kmsg.JoinGroupResponse)
	c.send(joinReq(group, jc0.MemberID))
	a.awaitState(group, "PreparingRebalance")
	if err := a.heartbeat(group, ja.MemberID, gen); !errors.Is(err, kerr.RebalanceInProgress) {
		t.Fatalf("a's heartbeat after c joined: %v, want REBALANCE_IN_PROGRESS", err)
	}
	a.send(joinReq(group, ja.MemberID)) // a rejoins at once

	// s heartbeats through three session timeouts before it
	// rejoins.
	for deadline := time.Now().Add(3 * joinSession); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if err := s.heartbeat(group, js.MemberID, gen); !errors.Is(err, kerr.RebalanceInProgress) {
			t.Fatalf("s's heartbeat during the rebalance: %v", err)
		}
	}
	js2 := s.join(group, js.MemberID)
	ja2 := a.recv(joinReq(group, ja.MemberID)).(*kmsg.JoinGroupResponse)
	if err := kerr.ErrorForCode(ja2.ErrorCode); err != nil || ja2.Generation != js2.Generation {
		t.Fatalf("a's join: %v, generation %d (s's %d)", err, ja2.Generation, js2.Generation)
	}
	c.recv(joinReq(group, jc0.MemberID))
	members := max(len(ja2.Members), len(js2.Members))
	if members != 3 {
		t.Fatalf("generation %d has %d members, want a, s and c", ja2.Generation, members)
	}
}
