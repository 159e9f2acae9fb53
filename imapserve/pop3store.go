package imapserve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"

	"github.com/maildock/maildock/auth"
	"github.com/maildock/maildock/imapserve/pop3"
	"github.com/maildock/maildock/mailstore"
	"github.com/maildock/maildock/metrics"
)

// POP3Backend logs POP3 users in against the shared Authenticator and hands
// out their INBOX, one session per account at a time.
type POP3Backend struct {
	store   *mailstore.Store
	auth    *auth.Authenticator
	metrics *metrics.Metrics
	log     *slog.Logger

	mu     sync.Mutex
	locked map[string]bool
}

var _ pop3.Backend = (*POP3Backend)(nil)

// NewPOP3Backend returns a backend for pop3.Options.
func NewPOP3Backend(store *mailstore.Store, a *auth.Authenticator, m *metrics.Metrics, log *slog.Logger) *POP3Backend {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &POP3Backend{store: store, auth: a, metrics: m, log: log, locked: map[string]bool{}}
}

func remoteAddr(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap.Addr().Unmap()
}

// Login implements pop3.Backend.
func (b *POP3Backend) Login(ctx context.Context, c pop3.ConnInfo, user, pass string) (pop3.Maildrop, error) {
	acct, err := b.auth.Authenticate(ctx, remoteAddr(c.Remote), user, pass)
	if errors.Is(err, auth.ErrFailed) {
		b.log.Info("login failed", "conn", c.ID, "proto", "pop3", "user", user, "remote", c.Remote.String(), "mech", c.Mechanism)
		b.metrics.AuthFailed("pop3")
		return nil, pop3.ErrAuthFailed
	}
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.locked[acct] {
		b.mu.Unlock()
		return nil, pop3.ErrInUse
	}
	b.locked[acct] = true
	b.mu.Unlock()
	d := &maildrop{b: b, account: acct}
	if err := d.load(ctx); err != nil {
		d.Close()
		return nil, err
	}
	tlsInfo := []any{"tls", "none"}
	if c.TLS != nil {
		tlsInfo = []any{"tls", tls.VersionName(c.TLS.Version), "cipher", tls.CipherSuiteName(c.TLS.CipherSuite)}
	}
	b.metrics.Login(acct, "pop3", c.TLS)
	b.log.Info("login", append([]any{"conn", c.ID, "proto", "pop3", "account", acct, "remote", c.Remote.String(), "mech", c.Mechanism, "messages", len(d.msgs)}, tlsInfo...)...)
	return d, nil
}

// maildrop is an account's INBOX as it was at login.
type maildrop struct {
	b       *POP3Backend
	account string
	infos   []mailstore.MessageInfo
	msgs    []pop3.Message
	once    sync.Once
}

func (d *maildrop) load(ctx context.Context) error {
	// A stable UIDVALIDITY before the first message keeps UIDLs stable.
	if _, err := d.b.store.EnsureInbox(ctx, d.account); err != nil {
		return err
	}
	snap, err := d.b.store.Messages(d.account, "INBOX")
	if err != nil {
		return err
	}
	d.infos = snap.Messages
	d.msgs = make([]pop3.Message, len(snap.Messages))
	for i, m := range snap.Messages {
		// UIDs are never reused within a UIDVALIDITY, so this never names
		// two messages, even across restarts.
		d.msgs[i] = pop3.Message{Size: m.CRLFSize, UIDL: fmt.Sprintf("%d.%d", snap.UIDValidity, m.UID)}
	}
	return nil
}

func (d *maildrop) Messages() []pop3.Message { return d.msgs }

func (d *maildrop) Open(n int) (io.ReadCloser, error) {
	info := d.infos[n-1]
	// Expunged by IMAP (or another path) since login: gone, even if the
	// body is still shared by a copy elsewhere.
	if _, err := d.b.store.Message(d.account, "INBOX", info.UID); errors.Is(err, mailstore.ErrNotFound) {
		return nil, pop3.ErrGone
	} else if err != nil {
		return nil, err
	}
	r, err := d.b.store.OpenBlob(info.Blob)
	if errors.Is(err, mailstore.ErrNotFound) {
		return nil, pop3.ErrGone
	}
	return r, err
}

func (d *maildrop) Commit(deleted []int) error {
	uids := make([]uint32, len(deleted))
	for i, n := range deleted {
		uids[i] = d.infos[n-1].UID
	}
	// One store transaction: all or nothing; IMAP sessions see EXPUNGE.
	_, err := d.b.store.Expunge(context.Background(), d.account, "INBOX", uids)
	return err
}

func (d *maildrop) Close() {
	d.once.Do(func() {
		d.b.mu.Lock()
		delete(d.b.locked, d.account)
		d.b.mu.Unlock()
	})
}
