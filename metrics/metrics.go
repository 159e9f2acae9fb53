// Package metrics holds the Prometheus metrics the servers report: what
// an admin watches (mail accepted and refused, logins by TLS version,
// lockouts, sessions). The servers take a *Metrics in their Options; a nil
// *Metrics records nothing, so packages and tests need no registry.
//
// Label values are bounded: protocols, reasons and TLS versions are fixed
// sets, and accounts are the configured ones (a login fails before an
// unknown name could become a label).
package metrics

import (
	"crypto/tls"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics is the set of maildock's own metrics.
type Metrics struct {
	messages   *prometheus.CounterVec
	bytes      prometheus.Counter
	latency    prometheus.Histogram
	rcptRefuse *prometheus.CounterVec
	connRefuse *prometheus.CounterVec
	sessions   *prometheus.GaugeVec
	logins     *prometheus.CounterVec
	authFail   *prometheus.CounterVec
	lockouts   prometheus.Counter
	expired    *prometheus.CounterVec

	// Logins not yet handed to Logins' caller, which keeps them (the
	// counters above cannot be read back, and do not survive a restart).
	mu      sync.Mutex
	pending map[LoginKind]LoginCount
}

// LoginKind is how an account's client logged in.
type LoginKind struct {
	Account string
	Proto   string // imap, pop3
	TLS     string // "TLS 1.2", or "none"
}

// LoginCount counts logins of one kind.
type LoginCount struct {
	N           int64
	First, Last time.Time
}

// New creates the metrics and registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "maildock_smtp_messages_total",
			Help: "Messages at the end of DATA/BDAT, by result (accepted, or the reason refused: too_big, storage, no_recipients).",
		}, []string{"result"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "maildock_smtp_received_bytes_total",
			Help: "Bytes of accepted messages, as stored.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "maildock_smtp_delivery_seconds",
			Help:    "From the start of DATA/BDAT to the 250 (reading the message and the durable commit).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		rcptRefuse: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "maildock_smtp_recipients_refused_total",
			Help: "RCPT TO refused, by reason (unknown_user, relay, bad_address, too_many, quota).",
		}, []string{"reason"}),
		connRefuse: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "maildock_connections_refused_total",
			Help: "Connections refused before a session, by protocol and reason (network, cap, too_many_errors).",
		}, []string{"proto", "reason"}),
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "maildock_sessions",
			Help: "Open sessions by protocol (smtp, imap, pop3).",
		}, []string{"proto"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "maildock_logins_total",
			Help: "Successful logins by account, protocol and TLS version (\"none\" for plaintext): which apps still use weak protocols.",
		}, []string{"account", "proto", "tls"}),
		authFail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "maildock_auth_failures_total",
			Help: "Failed logins by protocol (wrong credentials, or refused during a lockout).",
		}, []string{"proto"}),
		lockouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "maildock_auth_lockouts_total",
			Help: "Remote addresses locked out after [auth] max_failures.",
		}),
		expired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "maildock_retention_removed_total",
			Help: "Messages removed by the account's retention.",
		}, []string{"account"}),
	}
	reg.MustRegister(m.messages, m.bytes, m.latency, m.rcptRefuse, m.connRefuse, m.sessions, m.logins, m.authFail, m.lockouts, m.expired)
	return m
}

// Delivered records a message accepted with 250.
func (m *Metrics) Delivered(size int64, took time.Duration) {
	if m == nil {
		return
	}
	m.messages.WithLabelValues("accepted").Inc()
	m.bytes.Add(float64(size))
	m.latency.Observe(took.Seconds())
}

// MessageRefused records a message refused at the end of DATA/BDAT.
func (m *Metrics) MessageRefused(reason string) {
	if m == nil {
		return
	}
	m.messages.WithLabelValues(reason).Inc()
}

// RecipientRefused records a refused RCPT TO.
func (m *Metrics) RecipientRefused(reason string) {
	if m == nil {
		return
	}
	m.rcptRefuse.WithLabelValues(reason).Inc()
}

// ConnectionRefused records a connection turned away.
func (m *Metrics) ConnectionRefused(proto, reason string) {
	if m == nil {
		return
	}
	m.connRefuse.WithLabelValues(proto, reason).Inc()
}

// SessionStarted counts a session of proto as open until the returned
// func is called.
func (m *Metrics) SessionStarted(proto string) (ended func()) {
	if m == nil {
		return func() {}
	}
	g := m.sessions.WithLabelValues(proto)
	g.Inc()
	return g.Dec
}

// Login records a successful login; state is nil for plaintext.
func (m *Metrics) Login(account, proto string, state *tls.ConnectionState) {
	if m == nil {
		return
	}
	k := LoginKind{account, proto, TLSVersion(state)}
	m.logins.WithLabelValues(account, k.Proto, k.TLS).Inc()
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending == nil {
		m.pending = map[LoginKind]LoginCount{}
	}
	c := m.pending[k]
	if c.N == 0 {
		c.First = now
	}
	c.N++
	c.Last = now
	m.pending[k] = c
}

// Logins returns the logins recorded since the last call, and forgets
// them.
func (m *Metrics) Logins() map[LoginKind]LoginCount {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pending
	m.pending = nil
	return p
}

// AuthFailed records a failed login.
func (m *Metrics) AuthFailed(proto string) {
	if m == nil {
		return
	}
	m.authFail.WithLabelValues(proto).Inc()
}

// LockedOut records a remote address locked out.
func (m *Metrics) LockedOut() {
	if m == nil {
		return
	}
	m.lockouts.Inc()
}

// Expired records messages removed by retention.
func (m *Metrics) Expired(account string, n int) {
	if m == nil {
		return
	}
	m.expired.WithLabelValues(account).Add(float64(n))
}

// TLSVersion names a connection's TLS version as logs and metrics show
// it: "TLS 1.2", or "none" without TLS.
func TLSVersion(state *tls.ConnectionState) string {
	if state == nil {
		return "none"
	}
	return tls.VersionName(state.Version)
}
