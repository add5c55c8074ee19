package kafka

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"
)

// BrokerOptions configure the embedded broker started by [StartBroker].
type BrokerOptions struct {
	// Listen is the host:port to listen on; port 0 picks a free port,
	// which [Broker.Addr] reports. An empty Listen means "127.0.0.1:0".
	// A wildcard host ("", "0.0.0.0", "::") listens on all interfaces but
	// advertises 127.0.0.1 to clients, since the broker cannot know which
	// of its addresses a remote client can reach.
	Listen string
	// DataDir persists topics, records, committed group offsets and
	// producer ids; a restart on the same directory picks them up.
	// "" keeps everything in memory.
	DataDir string
	// SyncWrites fsyncs every write (durable across a machine crash, much
	// slower). Without it writes reach the page cache and are synced on
	// segment roll and on Close, as with Kafka's defaults.
	SyncWrites bool
	// TLS, when non-nil, makes the broker speak TLS only. It must hold a
	// server certificate.
	TLS *tls.Config
	// SASL, when non-nil, makes the broker require SASL authentication
	// with exactly this mechanism, user and password.
	SASL *SASLOptions
	// Logger receives the broker's own logs: its errors and warnings at
	// their level, its per-request chatter at debug. The zero value
	// discards.
	Logger zerolog.Logger
}

// Broker is a running embedded single-node Kafka-protocol broker.
type Broker struct {
	cluster *kfake.Cluster
	addr    string
	once    sync.Once
}

// StartBroker starts an embedded broker listening on o.Listen. Topics are
// never created implicitly: create them with [SetupTopics] or
// [EnsureTopics]. The broker is ready for clients when StartBroker returns.
func StartBroker(o BrokerOptions) (*Broker, error) {
	listen := o.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	opts, err := brokerAuthOpts(o)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		// net's error already reads "listen tcp 127.0.0.1:9092: bind:
		// address already in use".
		return nil, fmt.Errorf("kafka: embedded broker: %w", err)
	}
	ln = advertisedListener{Listener: ln, addr: advertise(ln.Addr())}
	// Members waiting in a join are kept alive over plain connections of
	// the broker's own (brokerkeep.go); with TLS or SASL there are none.
	keepAddr := ln.Addr().String()
	if o.TLS != nil {
		// TLS here rather than by kfake.TLS, so that lingerListener
		// sees the Kafka frames inside it.
		ln = tls.NewListener(ln, o.TLS)
		keepAddr = ""
	}
	if o.SASL != nil {
		keepAddr = ""
	}
	ln = lingerListener{Listener: ln, linger: joinLinger, keepAddr: keepAddr}
	// kfake always asks its ListenFn for 127.0.0.1:<port>; we hand it the
	// listener opened above instead, so any host:port works and a taken
	// port is reported before the cluster is built.
	var handed bool
	opts = append(opts,
		kfake.NumBrokers(1),
		kfake.ListenFn(func(string, string) (net.Listener, error) {
			if handed {
				return nil, errors.New("kafka: embedded broker: listener already used")
			}
			handed = true
			return ln, nil
		}),
		kfake.WithLogger(zerologAdapter{o.Logger}),
		// Kafka's 6 s minimum session timeout suits clusters; a local
		// broker lets a crashed member be replaced within a second or two.
		kfake.GroupMinSessionTimeout(minSessionTimeout),
	)
	if o.DataDir != "" {
		if err := repairDataDir(o.DataDir, o.Logger); err != nil {
			ln.Close()
			return nil, err
		}
		opts = append(opts, kfake.DataDir(o.DataDir))
	}
	if o.SyncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		ln.Close() // kfake closes it too if it got it; a second Close is harmless
		return nil, fmt.Errorf("kafka: embedded broker: %w", err)
	}
	return &Broker{cluster: c, addr: ln.Addr().String()}, nil
}

// minSessionTimeout is the smallest consumer session timeout the embedded
// broker accepts.
const minSessionTimeout = time.Second

func brokerAuthOpts(o BrokerOptions) ([]kfake.Opt, error) {
	if o.SASL == nil {
		return nil, nil
	}
	mech, err := o.SASL.mechanism()
	if err != nil {
		return nil, fmt.Errorf("kafka: embedded broker: %w", err)
	}
	if mech == "" || o.SASL.Username == "" {
		return nil, errors.New("kafka: embedded broker: SASL needs a mechanism and a username")
	}
	return []kfake.Opt{
		kfake.EnableSASL(),
		kfake.Superuser(mech, o.SASL.Username, o.SASL.Password),
	}, nil
}

// Addr returns the host:port clients connect to.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker, closing client connections, and with a DataDir
// writes its state to disk. It is safe to call more than once.
func (b *Broker) Close() {
	b.once.Do(b.cluster.Close)
}

// advertisedListener reports a dialable address: kfake advertises its
// listener's address in metadata, and a wildcard one is not dialable from
// everywhere.
type advertisedListener struct {
	net.Listener
	addr net.Addr
}

func (l advertisedListener) Addr() net.Addr { return l.addr }

func advertise(a net.Addr) net.Addr {
	ta, ok := a.(*net.TCPAddr)
	if !ok || !ta.IP.IsUnspecified() {
		return a
	}
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ta.Port}
}

// kfakeSlowEndTxn starts kfake's warning for any EndTxn over 5 ms, which on
// a loaded machine or with a data dir is most of them: it is not something
// an operator can act on, so it goes to debug.
const kfakeSlowEndTxn = "txn: EndTxn slow"

// zerologAdapter routes kfake's logs into zerolog.
type zerologAdapter struct{ log zerolog.Logger }

func (z zerologAdapter) Logf(level kfake.LogLevel, format string, args ...any) {
	var ev *zerolog.Event
	switch level {
	case kfake.LogLevelError:
		ev = z.log.Error()
	case kfake.LogLevelWarn:
		ev = z.log.Warn()
		if strings.HasPrefix(format, kfakeSlowEndTxn) {
			ev = z.log.Debug()
		}
	default:
		ev = z.log.Debug()
	}
	if ev == nil { // level disabled: skip formatting
		return
	}
	ev.Str("component", "embedded-broker").Msg(strings.TrimSpace(fmt.Sprintf(format, args...)))
}

// embeddedClusterID is the cluster id the embedded broker (kfake) reports.
const embeddedClusterID = "kfake"

// IsEmbeddedBroker says whether client is connected to the embedded broker
// (in this process or `wasmhost broker`), by the cluster id it reports.
func IsEmbeddedBroker(client sarama.Client) bool {
	for _, b := range client.Brokers() {
		if ok, _ := b.Connected(); !ok {
			if err := b.Open(client.Config()); err != nil && !errors.Is(err, sarama.ErrAlreadyConnected) {
				continue
			}
		}
		resp, err := b.GetMetadata(&sarama.MetadataRequest{Version: 5})
		if err != nil {
			continue
		}
		return resp.ClusterID != nil && *resp.ClusterID == embeddedClusterID
	}
	return false
}
