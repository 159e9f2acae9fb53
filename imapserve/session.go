package imapserve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"log/slog"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-sasl"

	"github.com/maildock/maildock/auth"
	"github.com/maildock/maildock/mailstore"
)

// session is one IMAP connection. go-imap calls its methods one at a time
// from the connection's goroutine (Idle from a second goroutine while the
// first waits for DONE); the hub and Shutdown reach it only through
// view.note* and bye.
type session struct {
	srv  *Server
	conn *imapserver.Conn
	nc   *netConn
	id   uint64
	log  *slog.Logger

	account string // "" until logged in
	sel     *view  // the selected mailbox, or nil
	ended   func() // ends the session in the sessions gauge

	// A FETCH response being written; a panic or a failed body read while
	// it is open closes the connection (the response cannot be finished).
	openRW  *imapserver.FetchResponseWriter
	openLit io.WriteCloser

	structs structCache

	// upd is the UpdateWriter go-imap handed to the last Poll. go-imap
	// gives one only to Poll and Idle, but STORE and FETCH must send FLAGS
	// (see view.announceKeywords) before their FETCH responses; the writer
	// only wraps the connection, so it stays usable for the session's life.
	upd *imapserver.UpdateWriter

	byeOnce sync.Once
}

var (
	_ imapserver.Session          = (*session)(nil)
	_ imapserver.SessionIMAP4rev2 = (*session)(nil)
	_ imapserver.SessionSASL      = (*session)(nil)
)

// Errors the client sees. Texts follow Dovecot's where it has one.
var (
	errInternal = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug,
		Text: "Internal error occurred. Refer to server log for more information."}
	errUnavailable = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable,
		Text: "Server is shutting down or busy, try again later"}
	errBadName = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
		Text: "Invalid mailbox name"}
	errReadOnly = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
		Text: "Mailbox is read-only"}
	errTooBig = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig,
		Text: "Message is larger than the APPENDLIMIT"}
	errSelectedGone = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent,
		Text: "Selected mailbox was deleted or renamed"}
)

func errNoMailbox(name string) error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent,
		Text: "Mailbox doesn't exist: " + name}
}

func errTryCreate(name string) error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate,
		Text: "Mailbox doesn't exist: " + name}
}

// storeErr maps a store error to what the client sees; unexpected ones are
// logged with the connection id and reported as a server bug.
func (s *session) storeErr(op string, err error) error {
	var imapErr *imap.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &imapErr):
		return err
	case errors.Is(err, mailstore.ErrInvalidName):
		return errBadName
	case errors.Is(err, mailstore.ErrMailboxExists):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Mailbox already exists"}
	case errors.Is(err, mailstore.ErrTooLarge):
		return errTooBig
	case errors.Is(err, mailstore.ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errUnavailable
	}
	s.log.Error("imap: store", "op", op, "account", s.account, "err", err)
	return errInternal
}

// guard turns a panic in a command into a logged server error. If the
// panic left a FETCH response half written, the connection cannot go on:
// it is closed (and logged) rather than left to hang.
func (s *session) guard(op string, err *error) {
	v := recover()
	if v == nil {
		return
	}
	s.log.Error("imap: panic", "op", op, "account", s.account, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	if s.openRW != nil {
		s.abortResponse()
	}
	*err = errInternal
}

// abortResponse closes a half-written FETCH response: go-imap's encoder
// stays locked while one is open, so it must be closed even though its
// literal is short; the connection is closed first, since the client
// cannot make sense of what follows.
func (s *session) abortResponse() {
	s.nc.Close()
	if s.openLit != nil {
		s.openLit.Close()
		s.openLit = nil
	}
	if s.openRW != nil {
		s.openRW.Close()
		s.openRW = nil
	}
}

// bye sends an untagged BYE and closes the connection (Shutdown,
// autologout, selected mailbox deleted). It is safe from any goroutine.
func (s *session) bye(text string) {
	s.byeOnce.Do(func() {
		// Not s.account: this may run on another goroutine than the
		// session's (Shutdown).
		s.log.Info("imap: bye", "text", text)
		s.conn.Bye(text)
	})
}

func (s *session) ctx() context.Context { return s.srv.ctx }

// Close is called by go-imap when the connection ends.
// It only reads the session: an Idle goroutine may still be running.
func (s *session) Close() error {
	if s.sel != nil {
		s.sel.close()
	}
	s.srv.endSession(s)
	s.log.Debug("imap: connection closed", "account", s.account)
	return nil
}

// ---- Not authenticated state

func (s *session) Login(username, password string) (err error) {
	defer s.guard("LOGIN", &err)
	return s.login(username, password, "LOGIN")
}

func (s *session) login(username, password, mech string) error {
	acct, err := s.srv.auth.Authenticate(s.ctx(), s.nc.ip, username, password)
	if errors.Is(err, auth.ErrFailed) {
		s.log.Info("imap: login failed", "user", username, "mech", mech)
		s.srv.opt.Metrics.AuthFailed("imap")
		return imapserver.ErrAuthFailed
	}
	if err != nil {
		return errUnavailable
	}
	if !s.srv.claimAccount(acct) {
		s.log.Warn("imap: login refused: too many connections for the account", "account", acct, "max", s.srv.opt.MaxConnsPerAccount)
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeLimit,
			Text: fmt.Sprintf("Maximum number of connections for this account exceeded (%d)", s.srv.opt.MaxConnsPerAccount)}
	}
	s.account = acct
	attrs := []any{"account", acct, "mech", mech}
	var state *tls.ConnectionState
	if tc, ok := s.conn.NetConn().(*tls.Conn); ok {
		cs := tc.ConnectionState()
		state = &cs
		attrs = append(attrs, "tls", tls.VersionName(cs.Version), "cipher", tls.CipherSuiteName(cs.CipherSuite))
	} else {
		attrs = append(attrs, "tls", "none")
	}
	s.log.Info("imap: login", attrs...)
	s.srv.opt.Metrics.Login(acct, "imap", state)
	return nil
}

// AuthenticateMechanisms lists the SASL mechanisms offered when login is
// allowed.
func (s *session) AuthenticateMechanisms() []string { return []string{"PLAIN", "LOGIN"} }

// Authenticate returns a SASL server for mech.
func (s *session) Authenticate(mech string) (sasl.Server, error) {
	switch strings.ToUpper(mech) {
	case "PLAIN":
		return &plainServer{login: s.saslLogin("PLAIN")}, nil
	case "LOGIN":
		return &loginServer{login: s.saslLogin("LOGIN")}, nil
	}
	return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Unsupported authentication mechanism"}
}

func (s *session) saslLogin(mech string) func(user, pass string) error {
	return func(user, pass string) (err error) {
		defer s.guard("AUTHENTICATE", &err)
		return s.login(user, pass, mech)
	}
}

// ---- Authenticated state

// mailboxName validates a mailbox name the client gave.
func mailboxName(name string) (string, error) {
	n, err := mailstore.CanonicalMailbox(name)
	if err != nil {
		return "", errBadName
	}
	return n, nil
}

func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: '/'}}}, nil
}

// exists reports whether an account's mailbox exists. INBOX always does.
func (s *session) exists(name string) (bool, error) {
	if name == "INBOX" {
		return true, nil
	}
	boxes, err := s.srv.store.Mailboxes(s.account)
	if err != nil {
		return false, err
	}
	for _, b := range boxes {
		if b.Name == name {
			return true, nil
		}
	}
	return false, nil
}

func (s *session) Create(mailbox string, options *imap.CreateOptions) (err error) {
	defer s.guard("CREATE", &err)
	// A trailing separator says the client means to make children under
	// it (RFC 3501 section 6.3.3): make the name without it.
	mailbox = strings.TrimSuffix(mailbox, mailstore.Separator)
	name, err := mailboxName(mailbox)
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Mailbox already exists"}
	}
	return s.storeErr("create", s.srv.store.CreateMailbox(s.ctx(), s.account, name))
}

func (s *session) Delete(mailbox string) (err error) {
	defer s.guard("DELETE", &err)
	name, err := mailboxName(mailbox)
	if err != nil {
		return err
	}
	if name == "INBOX" {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "INBOX can't be deleted."}
	}
	// A mailbox with children may go, as in Dovecot: the children stay,
	// and LIST shows the name as a \Noselect parent (RFC 3501 section
	// 6.3.4). A name that is only such a parent is not a mailbox.
	err = s.srv.store.DeleteMailbox(s.ctx(), s.account, name)
	if errors.Is(err, mailstore.ErrNotFound) {
		return errNoMailbox(mailbox)
	}
	if err == nil && s.sel != nil && s.sel.name == name {
		// As Dovecot does: OK, then BYE.
		s.sel.noteGoneAfterThisCommand()
	}
	return s.storeErr("delete", err)
}

func (s *session) Rename(mailbox, newName string, options *imap.RenameOptions) (err error) {
	defer s.guard("RENAME", &err)
	from, err := mailboxName(mailbox)
	if err != nil {
		return err
	}
	to, err := mailboxName(strings.TrimSuffix(newName, mailstore.Separator))
	if err != nil {
		return err
	}
	if to == "INBOX" {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Mailbox already exists"}
	}
	if from != "INBOX" {
		if ok, err := s.exists(from); err != nil {
			return s.storeErr("rename", err)
		} else if !ok {
			return errNoMailbox(mailbox)
		}
	}
	if from == to || strings.HasPrefix(to, from+mailstore.Separator) {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Can't rename mailbox under itself"}
	}
	err = s.srv.store.RenameMailbox(s.ctx(), s.account, from, to)
	if errors.Is(err, mailstore.ErrNotFound) {
		return errNoMailbox(mailbox)
	}
	if err == nil && s.sel != nil && from != "INBOX" && (s.sel.name == from || strings.HasPrefix(s.sel.name, from+mailstore.Separator)) {
		// Its UIDVALIDITY changed: the client has to select it anew.
		s.sel.noteGoneAfterThisCommand()
	}
	return s.storeErr("rename", err)
}

func (s *session) Subscribe(mailbox string) (err error) {
	defer s.guard("SUBSCRIBE", &err)
	name, err := mailboxName(mailbox)
	if err != nil {
		return err
	}
	err = s.srv.store.SetSubscribed(s.ctx(), s.account, name, true)
	if errors.Is(err, mailstore.ErrNotFound) {
		return errNoMailbox(mailbox)
	}
	return s.storeErr("subscribe", err)
}

func (s *session) Unsubscribe(mailbox string) (err error) {
	defer s.guard("UNSUBSCRIBE", &err)
	name, err := mailboxName(mailbox)
	if err != nil {
		return err
	}
	err = s.srv.store.SetSubscribed(s.ctx(), s.account, name, false)
	if errors.Is(err, mailstore.ErrNotFound) {
		// A name that is gone is not subscribed either.
		return nil
	}
	return s.storeErr("unsubscribe", err)
}

// ensureInbox gives INBOX its UIDVALIDITY before its first message, so the
// one a client sees first stays.
func (s *session) ensureInbox(snap *mailstore.Snapshot) (*mailstore.Snapshot, error) {
	if snap.UIDValidity != 0 {
		return snap, nil
	}
	if _, err := s.srv.store.EnsureInbox(s.ctx(), s.account); err != nil {
		return nil, err
	}
	return s.srv.store.Messages(s.account, "INBOX")
}

// snapshot reads a mailbox; ErrNotFound becomes NO [NONEXISTENT].
func (s *session) snapshot(name, asked string) (*mailstore.Snapshot, error) {
	snap, err := s.srv.store.Messages(s.account, name)
	if errors.Is(err, mailstore.ErrNotFound) {
		return nil, errNoMailbox(asked)
	}
	if err != nil {
		return nil, s.storeErr("read mailbox", err)
	}
	if name == "INBOX" {
		if snap, err = s.ensureInbox(snap); err != nil {
			return nil, s.storeErr("inbox", err)
		}
	}
	return snap, nil
}

func (s *session) Status(mailbox string, options *imap.StatusOptions) (_ *imap.StatusData, err error) {
	defer s.guard("STATUS", &err)
	name, err := mailboxName(mailbox)
	if err != nil {
		return nil, err
	}
	snap, err := s.snapshot(name, mailbox)
	if err != nil {
		return nil, err
	}
	return s.statusData(name, snap, options), nil
}

// statusData fills every item options asks for (go-imap dereferences
// them).
func (s *session) statusData(name string, snap *mailstore.Snapshot, options *imap.StatusOptions) *imap.StatusData {
	var unseen, deleted, recent uint32
	var size, deletedSize int64
	s.srv.hub.catchUp()
	recentFrom := s.srv.hub.unclaimedFrom(mbKey{s.account, name})
	for i := range snap.Messages {
		m := &snap.Messages[i]
		size += m.Size
		if !m.HasFlag(mailstore.FlagSeen) {
			unseen++
		}
		if m.HasFlag(mailstore.FlagDeleted) {
			deleted++
			deletedSize += m.Size
		}
		if recentFrom != 0 && m.UID >= recentFrom {
			recent++
		}
	}
	n := uint32(len(snap.Messages))
	limit := uint32(min(s.srv.opt.AppendLimit, 1<<32-1))
	return &imap.StatusData{
		Mailbox:        name,
		NumMessages:    &n,
		UIDNext:        imap.UID(snap.UIDNext),
		UIDValidity:    snap.UIDValidity,
		NumUnseen:      &unseen,
		NumDeleted:     &deleted,
		Size:           &size,
		AppendLimit:    &limit,
		DeletedStorage: &deletedSize,
		NumRecent:      &recent,
	}
}

func (s *session) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (_ *imap.AppendData, err error) {
	defer s.guard("APPEND", &err)
	name, err := mailboxName(mailbox)
	if err != nil {
		return nil, err
	}
	if ok, err := s.exists(name); err != nil {
		return nil, s.storeErr("append", err)
	} else if !ok {
		return nil, errTryCreate(mailbox)
	}
	if r.Size() > s.srv.opt.AppendLimit {
		// go-imap reads and drops the literal after we return.
		return nil, errTooBig
	}
	if r.Size() == 0 {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Can't save a zero byte message."}
	}
	flags, err := storeFlags(options.Flags)
	if err != nil {
		return nil, err
	}
	msg, err := mailstore.ReadMessage(r, s.srv.opt.AppendLimit)
	if err != nil {
		if errors.Is(err, mailstore.ErrTooLarge) {
			return nil, errTooBig
		}
		// The client stopped sending; it will not read this.
		s.log.Info("imap: append: reading the message failed", "err", err)
		return nil, &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Failed to read the message"}
	}
	d, err := s.srv.store.Deliver(s.ctx(), msg, []mailstore.Target{{Account: s.account, Mailbox: name, Flags: flags, Date: options.Time}})
	if errors.Is(err, mailstore.ErrNotFound) {
		return nil, errTryCreate(mailbox)
	}
	if err != nil {
		return nil, s.storeErr("append", err)
	}
	s.log.Info("imap: append", "account", s.account, "mailbox", name, "uid", d[0].UID, "size", msg.Size())
	if s.sel != nil && s.sel.name == name {
		s.sel.noteAdded(d[0].UID)
	}
	return &imap.AppendData{UIDValidity: d[0].UIDValidity, UID: imap.UID(d[0].UID)}, nil
}

// ---- Updates

// writeMailboxFlags sends an untagged FLAGS in the middle of a command.
// go-imap hands out its UpdateWriter only to Poll, which runs after the
// command; the session keeps the last one. Before the first Poll (STORE or
// FETCH right after SELECT) it writes the line itself: go-imap flushes
// every response as it ends, so between responses nothing of its output
// is buffered, and the line lands in order.
func (s *session) writeMailboxFlags(flags []imap.Flag) error {
	if s.upd != nil {
		return s.upd.WriteMailboxFlags(flags)
	}
	var b strings.Builder
	b.WriteString("* FLAGS (")
	for i, f := range flags {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(string(f))
	}
	b.WriteString(")\r\n")
	nc := s.conn.NetConn()
	nc.SetWriteDeadline(time.Now().Add(flagsWriteTimeout))
	defer nc.SetWriteDeadline(time.Time{})
	_, err := io.WriteString(nc, b.String())
	return err
}

// flagsWriteTimeout bounds writeMailboxFlags's own write, as go-imap bounds
// its responses.
const flagsWriteTimeout = time.Minute

func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) (err error) {
	defer s.guard("poll", &err)
	s.upd = w
	if s.sel == nil {
		return nil
	}
	s.srv.hub.catchUp()
	return s.sel.sync(w, allowExpunge)
}

// Idle runs in a goroutine of its own while go-imap waits for DONE. If the
// connection fails meanwhile, go-imap closes the session without waiting
// for it: so it reads s.sel once, and touches only the view after that.
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) (err error) {
	defer s.guard("IDLE", &err)
	v := s.sel
	if v == nil {
		<-stop
		return nil
	}
	if err := v.sync(w, true); err != nil {
		return err
	}
	for {
		select {
		case <-v.poke:
			if err := v.sync(w, true); err != nil {
				return err
			}
		case <-stop:
			return nil
		}
	}
}
