package inbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/maildock/maildock/mailstore"
)

// Replies, in one place. go-smtp checks the type of a session method's
// error (not errors.As), so these are returned as they are, never wrapped.
var (
	errTLSRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	errTooBig      = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message exceeds the maximum size"}
	errRelay       = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relaying denied: this server only accepts mail for its own domains"}
	errUnknownUser = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	errBadAddress  = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Bad recipient address syntax"}
	errTooMany     = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 5, 3}, Message: "Too many recipients"}
	errStorage     = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary local problem storing the message, try again later"}
	errNoRcpt      = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "No valid recipients"}
	errQuota       = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full, try again later"}
	errTooManyErrs = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many errors, closing the connection"}
)

type session struct {
	s   *Server
	c   *smtp.Conn
	id  string
	log *slog.Logger

	// mu guards the transaction: with BDAT, go-smtp runs Data in a
	// goroutine of its own and may call Reset while Data still runs.
	mu   sync.Mutex
	tx   transaction
	errs int  // refused MAIL and RCPT commands, guarded by mu
	inTx bool // guarded by s.mu

	ended func() // ends the session in the sessions gauge
}

// refuse counts a refused MAIL or RCPT. Past Options.MaxErrors the session
// ends with 421 4.7.0: an address harvester (or a client in a loop) gets
// no more answers. Unknown commands and syntax errors are go-smtp's: it
// closes the connection after its own small limit. Called with ss.mu held.
func (ss *session) refuse(err *smtp.SMTPError) error {
	ss.errs++
	if ss.errs < ss.s.opt.MaxErrors {
		return err
	}
	ss.log.Warn("too many errors; closing the connection", "errors", ss.errs, "last", err.Error())
	ss.s.opt.Metrics.ConnectionRefused("smtp", "too_many_errors")
	if ic := idleConnOf(ss.c.Conn()); ic != nil {
		ic.hangUp.Store(true)
	}
	return errTooManyErrs
}

// transaction is the envelope collected by MAIL and RCPT.
type transaction struct {
	from  string
	rcpts []string
	// accounts in the order first named, with their recipients
	accounts []string
	byAcct   map[string][]string
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	id := fmt.Sprintf("s%06d", s.ids.Add(1))
	sess := &session{s: s, c: c, id: id, log: s.log.With("conn", id, "remote", c.Conn().RemoteAddr().String()),
		ended: s.opt.Metrics.SessionStarted("smtp")}
	s.mu.Lock()
	s.sessions[sess] = struct{}{}
	s.mu.Unlock()
	sess.log.Debug("session", "helo", c.Hostname())
	return sess, nil
}

func (ss *session) tlsState() (tls.ConnectionState, bool) {
	return ss.c.TLSConnectionState()
}

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if err := ss.admitMail(opts); err != nil {
		return ss.refuse(err)
	}
	ss.tx = transaction{from: from}
	ss.s.mu.Lock()
	ss.inTx = true
	ss.s.mu.Unlock()
	return nil
}

// admitMail returns the reply refusing a MAIL command, or nil.
func (ss *session) admitMail(opts *smtp.MailOptions) *smtp.SMTPError {
	state, isTLS := ss.tlsState()
	if (ss.s.opt.RequireTLS || len(ss.s.opt.ClientCertNames) > 0) && !isTLS {
		return errTLSRequired
	}
	if len(ss.s.opt.ClientCertNames) > 0 {
		name, err := ss.s.checkClientCert(state)
		if err != nil {
			ss.log.Warn("client certificate not accepted", "err", err.Error())
			return errClientCert
		}
		ss.log.Debug("client certificate accepted", "name", name)
	}
	if opts != nil && opts.Size > ss.s.opt.MaxMessageSize {
		return errTooBig
	}
	return nil
}

func (ss *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	tx := &ss.tx
	if len(tx.rcpts) >= ss.s.opt.MaxRecipients {
		// Not an error of the client's: RFC 5321 3.3 has it send the
		// rest in a later transaction, so this is not counted.
		ss.s.opt.Metrics.RecipientRefused("too_many")
		return errTooMany
	}
	account, err := ss.s.lookup(to)
	if err != nil {
		ss.log.Info("recipient refused", "rcpt", to, "reply", err.Error())
		ss.s.opt.Metrics.RecipientRefused(refusalReason(err))
		return ss.refuse(err)
	}
	// Over quota is the account's state, not the client's error: not
	// counted towards MaxErrors.
	if ss.s.overQuota(account, 0) {
		ss.log.Info("recipient refused: over quota", "rcpt", to, "account", account)
		ss.s.opt.Metrics.RecipientRefused("quota")
		return errQuota
	}
	tx.rcpts = append(tx.rcpts, to)
	if tx.byAcct == nil {
		tx.byAcct = map[string][]string{}
	}
	if _, ok := tx.byAcct[account]; !ok {
		tx.accounts = append(tx.accounts, account)
	}
	tx.byAcct[account] = append(tx.byAcct[account], to)
	return nil
}

// lookup maps a recipient to its account, or returns the reply refusing
// it. Nothing here ever leads to relaying: an address is ours or refused.
func (s *Server) lookup(addr string) (string, *smtp.SMTPError) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", errBadAddress
	}
	local, domain := addr[:at], addr[at+1:]
	dir := s.dir.Load()
	if !dir.ours(domain) {
		return "", errRelay
	}
	// Source routes, percent hacks, bang paths and quoted local parts
	// holding an @ are how relays were once abused: refuse them as relaying
	// rather than guess (RFC 5321 3.6.1, 3.6.2).
	if strings.ContainsAny(local, "%!@:,") || strings.HasPrefix(local, "\"") {
		return "", errRelay
	}
	if acct, ok := dir.Exact[addr]; ok {
		return acct, nil
	}
	if acct, ok := dir.CatchAll[domain]; ok {
		return acct, nil
	}
	return "", errUnknownUser
}

func (ss *session) Data(r io.Reader) (err error) {
	start := time.Now()
	ss.mu.Lock()
	tx := ss.tx
	ss.mu.Unlock()
	defer func() {
		if v := recover(); v != nil {
			ss.log.Error("panic while receiving data", "panic", fmt.Sprint(v))
			io.Copy(io.Discard, r)
			err = errStorage
		}
	}()
	if len(tx.accounts) == 0 {
		io.Copy(io.Discard, r)
		return errNoRcpt
	}
	received := ss.received(&tx)
	msg, err := mailstore.ReadMessage(io.MultiReader(strings.NewReader(received), r), ss.s.opt.MaxMessageSize+int64(len(received)))
	if err != nil {
		io.Copy(io.Discard, r)
		var se *smtp.SMTPError
		switch {
		case errors.As(err, &se):
			err = se // go-smtp's own, e.g. 552 from its size limit: unwrapped
		case errors.Is(err, mailstore.ErrTooLarge):
			err = errTooBig
		default:
			ss.log.Error("reading message", "err", err)
			err = errStorage
		}
		ss.logResult(&tx, start, nil, 0, err)
		return err
	}
	for _, a := range tx.accounts {
		if ss.s.overQuota(a, msg.Size()) {
			ss.log.Info("message refused: over quota", "account", a, "size", msg.Size())
			ss.logResult(&tx, start, msg, 0, errQuota)
			return errQuota
		}
	}
	dir := ss.s.dir.Load()
	targets := make([]mailstore.Target, 0, len(tx.accounts))
	for _, a := range tx.accounts {
		t := mailstore.Target{Account: a, EnvFrom: tx.from, EnvTo: tx.byAcct[a]}
		if p := dir.Pickup[a]; p.Enabled {
			t.Pickup, t.PickupOnly = true, !p.Keep
		}
		targets = append(targets, t)
	}
	delivered, err := ss.s.opt.Store.Deliver(context.Background(), msg, targets)
	if err != nil {
		ss.log.Error("storing message", "err", err)
		ss.logResult(&tx, start, msg, 0, errStorage)
		return errStorage
	}
	ss.logResult(&tx, start, msg, len(delivered), nil)
	return nil
}

// logResult writes the one line per message an admin greps for.
func (ss *session) logResult(tx *transaction, start time.Time, msg *mailstore.Message, stored int, err error) {
	attrs := []any{"from", tx.from, "rcpts", tx.rcpts, "accounts", tx.accounts, "helo", ss.c.Hostname(),
		"duration", time.Since(start).Round(time.Millisecond)}
	if st, ok := ss.tlsState(); ok {
		attrs = append(attrs, "tls", tls.VersionName(st.Version), "cipher", tls.CipherSuiteName(st.CipherSuite))
	} else {
		attrs = append(attrs, "tls", "none")
	}
	if msg != nil {
		attrs = append(attrs, "size", msg.Size(), "message_id", msg.Structure().Envelope.MessageID)
	}
	if err != nil {
		ss.log.Warn("message refused", append(attrs, "result", err.Error())...)
		ss.s.opt.Metrics.MessageRefused(refusalReason(err))
		return
	}
	ss.log.Info("message stored", append(attrs, "result", "250", "copies", stored)...)
	ss.s.opt.Metrics.Delivered(msg.Size(), time.Since(start))
}

// overQuota reports whether an account with a quota would be over it
// after taking size more bytes. The check is not in the delivery's
// transaction: concurrent deliveries may overshoot by a message each, a
// soft limit that never refuses mail already accepted.
func (s *Server) overQuota(account string, size int64) bool {
	quota := s.dir.Load().Quota[account]
	if quota <= 0 {
		return false
	}
	u, err := s.opt.Store.Usage(account)
	if err != nil {
		s.log.Error("reading an account's usage; quota not enforced", "account", account, "err", err)
		return false
	}
	if size == 0 { // at RCPT: is there room left at all?
		return u.Bytes >= quota
	}
	return u.Bytes+size > quota
}

// refusalReason names a refusal in metrics.
func refusalReason(err error) string {
	switch err {
	case errUnknownUser:
		return "unknown_user"
	case errRelay:
		return "relay"
	case errBadAddress:
		return "bad_address"
	case errTooBig:
		return "too_big"
	case errStorage:
		return "storage"
	case errNoRcpt:
		return "no_recipients"
	case errQuota:
		return "quota"
	}
	return "other"
}

// received is the Received: field prepended to every message (RFC 5321
// 4.4, protocol names from RFC 3848). No reverse DNS: the peer is named by
// its address and the name it gave in EHLO.
func (ss *session) received(tx *transaction) string {
	proto := "ESMTP"
	tlsInfo := ""
	if st, ok := ss.tlsState(); ok {
		proto = "ESMTPS"
		tlsInfo = fmt.Sprintf("\r\n\t(using %s with cipher %s)", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
	}
	ip := remoteIP(ss.c.Conn().RemoteAddr())
	forClause := ""
	if len(tx.rcpts) == 1 {
		forClause = "\r\n\tfor <" + clean(tx.rcpts[0]) + ">"
	}
	return fmt.Sprintf("Received: from %s (%s)\r\n\tby %s (maildock) with %s id %s%s%s;\r\n\t%s\r\n",
		clean(ss.c.Hostname()), ip, ss.s.opt.Hostname, proto, ss.id, tlsInfo, forClause, time.Now().Format(time.RFC1123Z))
}

// clean keeps what a peer said printable and short before it goes into a
// header.
func clean(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < 255; i++ {
		if c := s[i]; c > ' ' && c < 0x7f && c != '(' && c != ')' && c != '<' && c != '>' && c != ';' {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return "unknown"
	}
	return string(b)
}

// Reset ends a transaction (go-smtp calls it after the reply to DATA or
// BDAT LAST has been written, and on RSET). During shutdown, that is when
// the connection is closed: the transaction got its answer.
func (ss *session) Reset() {
	ss.mu.Lock()
	ss.tx = transaction{}
	ss.mu.Unlock()
	ss.s.mu.Lock()
	ss.inTx = false
	closing := ss.s.closed
	ss.s.mu.Unlock()
	if closing {
		ss.s.goodbye(ss.c.Conn())
	}
}

func (ss *session) Logout() error {
	ss.ended()
	ss.s.mu.Lock()
	delete(ss.s.sessions, ss)
	ss.s.mu.Unlock()
	return nil
}

// goodbye tells a client the server is going away and closes its
// connection.
func (s *Server) goodbye(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	io.WriteString(c, "421 4.3.2 "+s.opt.Hostname+" shutting down, try again later\r\n")
	c.Close()
}
